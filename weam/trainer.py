"""The stock `Trainer`, extended with what alignment post-training needs to report and to leave behind.

* Each prediction head's loss term and accuracy (`mlm_*`, `cross_lingual_*`, `contrastive_*`), from the
  sums the model returns (`head_sums`), added up over micro-batches and processes: in the training logs
  the mean over the logged optimizer steps (as the Trainer's `loss`), at evaluation over the whole set.
* ALIGN-MLM's dictionary loss α·L_align (`align_loss`) as an add-on to any objective, once per optimizer step.
* The model's `after_optimizer_step` once per optimizer step, before that step's checkpoint is saved
  (PPA: the key encoder and the queue).
* Quick alignment diagnostics (dictionary P@k, Tatoeba retrieval) at every evaluation: a callback.
* A loss that becomes NaN or inf stops the run (`FiniteLossTrainer`), before a broken model is saved.
* The objective, recorded in every checkpoint (`ObjectiveRecord`): a resume with another one is refused.
* Every saved folder has a model card. A checkpoint holds everything needed to resume; the result holds
  what the model publishes (PPA: the query encoder, not the key encoder and queue).
"""

import os

import torch
from transformers import Trainer, TrainerCallback, TrainerState
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_callback import ExportableState
from transformers.trainer_utils import sort_checkpoints

from weam import model_card
from weam.cli import InputError


class NonFiniteLoss(InputError):
    """The loss became NaN or inf: the weights are lost to it, and nothing more is worth saving."""


class FiniteLossTrainer(Trainer):
    """A `Trainer` that stops at the first step whose loss is NaN or inf, saying where and what to try, before
    that step's update, checkpoint, model or card (the Trainer would log the mean of the finite steps and go on
    to save a broken model)."""

    def training_step(self, model, inputs, num_items_in_batch=None):
        loss = super().training_step(model, inputs, num_items_in_batch)
        if not torch.isfinite(loss).all():
            precision = " or train in fp32 (without --bf16/--fp16)" if self.args.bf16 or self.args.fp16 else ""
            raise NonFiniteLoss(
                f"the training loss became {loss.float().mean().item()} at step {self.state.global_step + 1}: stopped, "
                f"saving nothing more (checkpoints before it may hold the diverging weights already). Lower "
                f"--learning_rate (it is {self.args.learning_rate:g}){precision}"
            )
        return loss


class ObjectiveRecord(TrainerCallback, ExportableState):
    """The run's objective, in the Trainer state of every checkpoint (`TrainerState.stateful_callbacks`), so
    that a resume can tell a checkpoint of another objective (`checkpoint_objective`)."""

    def __init__(self, objective: str):
        self.objective = objective

    def state(self) -> dict:
        return {"args": {"objective": self.objective}, "attributes": {}}


def last_checkpoint(folder):
    """The last complete checkpoint-N of `folder` (the Trainer writes its trainer_state.json last), or None."""
    complete = [path for path in sort_checkpoints(folder) if os.path.isfile(os.path.join(path, TRAINER_STATE_NAME))]
    return complete[-1] if complete else None


def checkpoint_objective(checkpoint):
    """The objective a checkpoint was trained with (None: a checkpoint from before the record was kept)."""
    callbacks = TrainerState.load_from_json(os.path.join(checkpoint, TRAINER_STATE_NAME)).stateful_callbacks
    record = (callbacks or {}).get(ObjectiveRecord.__name__)
    return ObjectiveRecord.from_state(record).objective if record else None


class EpochToCollator(TrainerCallback):
    """Tells the collator the epoch, so that its masks differ between epochs yet survive a resume."""

    def __init__(self, collator):
        self.collator = collator

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.collator.epoch = int(state.epoch or 0)


class OptimizerStepToModel(TrainerCallback):
    """Calls the model's `after_optimizer_step` after every optimizer step (`on_step_end` runs before the
    step's logging, evaluation and checkpoint)."""

    def on_step_end(self, args, state, control, model=None, **kwargs):
        model.after_optimizer_step()


def head_figures(sums):
    """`{HEAD_loss, HEAD_accuracy}` from added-up `head_sums`, keyed `HEAD/FIELD`."""
    figures = {}
    for key, value in sums.items():
        head, field = key.split("/")
        if field == "loss_sum":
            figures[f"{head}_loss"] = (value / sums[f"{head}/loss_count"].clamp(min=1)).item()
        elif field == "correct":
            figures[f"{head}_accuracy"] = (value / sums[f"{head}/predictions"].clamp(min=1)).item()
    return figures


class AlignmentTrainer(FiniteLossTrainer):
    def __init__(self, *args, card_info: dict | None = None, align_loss=None, alignment_eval=None, **kwargs):
        """`align_loss`: an `align_mlm.DictionaryAlignmentLoss` (α·L_align) or None;
        `alignment_eval`: a `diagnostics.AlignmentEvalCallback` whose figures join each evaluation's metrics,
        or None; `card_info`: the model card's fields (see `model_card.write`), or None for no card."""
        super().__init__(*args, **kwargs)
        self.align_loss = align_loss
        self.card_info = card_info or {}
        self.add_callback(OptimizerStepToModel())
        if hasattr(self.data_collator, "epoch"):
            self.add_callback(EpochToCollator(self.data_collator))
        if alignment_eval is not None:
            self.add_callback(alignment_eval)
        self._step_sums = {}  # this optimizer step's head_sums on this process: {"HEAD/FIELD": sum}
        self._figure_sums, self._figure_steps = {}, 0  # the steps' figures since the last training log
        self._eval_sums = {}
        self._examples_in_step = self._pairs_in_step = None
        self._saving_checkpoint = False

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """Starts an optimizer step: counts its examples and its pairs (all micro-batches and processes), for
        per-pair losses (PPA's InfoNCE, awesome-align's self-training) and the dictionary loss's shares. The
        pairs are the rows of the sentence views where the collator makes them (single sentences of
        --monolingual_data have none), else every example."""
        self._close_step()
        batch_samples, num_items_in_batch = super().get_batch_samples(epoch_iterator, num_batches, device)
        counts = torch.tensor([sum(len(batch["input_ids"]) for batch in batch_samples),
                               sum(len(batch.get("query_input_ids", batch["input_ids"])) for batch in batch_samples)],
                              device=device)
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            counts = self.accelerator.gather(counts[None]).sum(dim=0)
        self._examples_in_step, self._pairs_in_step = counts
        return batch_samples, num_items_in_batch

    def _close_step(self):
        """The finished step's figures from its sums over all micro-batches and processes."""
        if self._step_sums:
            for name, value in head_figures(self._reduced(self._step_sums)).items():
                self._figure_sums[name] = self._figure_sums.get(name, 0.0) + value
            self._figure_steps += 1
            self._step_sums = {}

    def _reduced(self, sums):
        """`sums` added up over all processes (one collective)."""
        keys = sorted(sums)
        totals = self.accelerator.reduce(torch.stack([sums[key] for key in keys]), reduction="sum")
        return dict(zip(keys, totals))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            inputs = {**inputs, "num_pairs_in_batch": self._pairs_in_step}
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        sums = self._step_sums if model.training else self._eval_sums
        for head, values in outputs["head_sums"].items():
            for field, value in values.items():
                self._add(sums, f"{head}/{field}", value)
        if model.training and self.align_loss is not None:
            loss = loss + self._align_loss_share(inputs)
        return (loss, outputs) if return_outputs else loss

    def _align_loss_share(self, inputs):
        """This micro-batch's share of the step's α·L_align: over all micro-batches and processes the
        shares add up to one α·L_align per optimizer step (scaled like the model's loss, which the
        Trainer multiplies by the process count before DDP averages the gradients)."""
        scale = self.accelerator.num_processes if (
            self.args.average_tokens_across_devices and self.args.world_size > 1) else 1
        examples = len(inputs["input_ids"])
        term = self.align_loss(self.accelerator.unwrap_model(self.model), self.state.global_step)
        self._add(self._step_sums, "align/loss_sum", term * examples)
        self._add(self._step_sums, "align/loss_count", torch.tensor(examples, device=term.device))
        return term * (examples / self._examples_in_step) * scale

    @staticmethod
    def _add(sums, key, value):
        value = value.detach().double()
        sums[key] = sums[key] + value if key in sums else value

    def log(self, logs, *args, **kwargs):
        if "loss" in logs:  # the Trainer's training log: its `loss` is the mean over the steps since the last one
            self._close_step()
            logs.update({name: value / self._figure_steps for name, value in self._figure_sums.items()})
            self._figure_sums, self._figure_steps = {}, 0
        super().log(logs, *args, **kwargs)

    def evaluation_loop(self, dataloader, description, prediction_loss_only=None, ignore_keys=None,
                        metric_key_prefix="eval"):
        self._eval_sums = {}
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix)
        if self._eval_sums:
            figures = head_figures(self._reduced(self._eval_sums))
            output.metrics.update({f"{metric_key_prefix}_{name}": value for name, value in figures.items()})
        return output

    def _save_checkpoint(self, model, trial):
        self._saving_checkpoint = True  # a checkpoint saves the whole state, to resume from
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._saving_checkpoint = False

    def _save(self, output_dir=None, state_dict=None):
        output_dir = output_dir or self.args.output_dir
        if state_dict is None and not self._saving_checkpoint:
            state_dict = self.accelerator.unwrap_model(self.model).published_state_dict()
        super()._save(output_dir, state_dict)
        if self.args.should_save and self.card_info:
            self.write_model_card(output_dir)

    def write_model_card(self, folder):
        model_card.write(folder, trainer_state=self.state, **self.card_info)

    def create_model_card(self, *args, **kwargs):
        # push_to_hub calls this; our card replaces the generic one.
        if self.is_world_process_zero() and self.card_info:
            self.write_model_card(self.args.output_dir)
