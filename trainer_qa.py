"""A Trainer for extractive QA, after transformers' examples/pytorch/question-answering/trainer_qa.py.

Its metrics need answer texts, not logits: `evaluate` gathers the logits of every feature, turns them into
one answer per example with `post_process_function`, and only then calls `compute_metrics`.
"""

import math
import time

from transformers.trainer_utils import speed_metrics

from weam.finetuning import CrossLingualTrainer


class QuestionAnsweringTrainer(CrossLingualTrainer):
    def __init__(self, *args, post_process_function=None, **kwargs):
        """`post_process_function(examples, features, predictions, stage)` returns the `EvalPrediction`
        (answer texts and references) that `compute_metrics` scores; `stage` is the metric key prefix."""
        super().__init__(*args, **kwargs)
        self.post_process_function = post_process_function

    def evaluate(self, eval_dataset=None, eval_examples=None, ignore_keys=None, metric_key_prefix="eval"):
        """Metrics of `eval_dataset` (tokenized features) against `eval_examples` (the examples they come from)."""
        if eval_dataset is None or eval_examples is None:
            raise ValueError("QuestionAnsweringTrainer.evaluate needs eval_dataset (features) and eval_examples")
        eval_dataloader = self.get_eval_dataloader(eval_dataset)

        # The loop would call compute_metrics on logits; hold it back until the answers are extracted.
        compute_metrics, self.compute_metrics = self.compute_metrics, None
        start_time = time.time()
        try:
            output = self.evaluation_loop(
                eval_dataloader, description="Evaluation", ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix
            )
        finally:
            self.compute_metrics = compute_metrics
        total_batch_size = self.args.eval_batch_size * self.args.world_size
        if f"{metric_key_prefix}_model_preparation_time" in output.metrics:
            start_time += output.metrics[f"{metric_key_prefix}_model_preparation_time"]
        output.metrics.update(
            speed_metrics(
                metric_key_prefix,
                start_time,
                num_samples=output.num_samples,
                num_steps=math.ceil(output.num_samples / total_batch_size),
            )
        )

        metrics = output.metrics
        # Only the main process extracts answers and writes them (the predictions are gathered there).
        if self.post_process_function is not None and self.compute_metrics is not None and self.args.should_save:
            eval_prediction = self.post_process_function(
                eval_examples, eval_dataset, output.predictions, metric_key_prefix
            )
            answer_metrics = self.compute_metrics(eval_prediction)
            metrics.update({f"{metric_key_prefix}_{key}": value for key, value in answer_metrics.items()})

        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics
