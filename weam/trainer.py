"""The stock `Trainer`, extended with what alignment post-training needs to report and to leave behind.

* Each loss term (`mlm_*`, `cross_lingual_*`, `contrastive_*`, `align_*`) and masked-token accuracy,
  in the training logs and at evaluation, summed over every process before they are logged.
* ALIGN-MLM's dictionary loss α·L_align as an add-on to any objective, once per optimizer step.
* Quick alignment diagnostics (dictionary P@k, Tatoeba retrieval) at every evaluation.
* Every saved folder (`checkpoint-N` and the final one) is Hub-ready: config with `auto_map`, the
  remote-code `.py` files, the tokenizer, and a model card.
"""

import os
import shutil

import torch
from transformers import Trainer, TrainerCallback

from weam import model_card

REMOTE_CODE_FILES = ("configuration_weam.py", "modeling_weam.py")
HEADS = ("mlm", "cross_lingual", "contrastive")


class EpochToCollator(TrainerCallback):
    """Tells the collator the epoch, so that its masks differ between epochs yet survive a resume."""

    def __init__(self, collator):
        self.collator = collator

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.collator.epoch = int(state.epoch or 0)


class AlignmentTrainer(Trainer):
    def __init__(self, *args, card_info: dict | None = None, align_loss=None, alignment_eval=None, **kwargs):
        """`align_loss`: an `align_mlm.DictionaryAlignmentLoss` (α·L_align) or None;
        `alignment_eval`: a `run_alignment_eval.AlignmentEvalCallback` whose figures join each evaluation."""
        super().__init__(*args, **kwargs)
        self.align_loss, self.alignment_eval = align_loss, alignment_eval
        if hasattr(self.data_collator, "epoch"):
            self.add_callback(EpochToCollator(self.data_collator))
        self.card_info = card_info or {}
        self._train_head_losses = {}
        self._train_micro_batches = 0
        self._eval_sums = {}

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """Also counts the pairs of the whole optimizer step, for per-pair losses (PPA's InfoNCE)."""
        batch_samples, num_items_in_batch = super().get_batch_samples(epoch_iterator, num_batches, device)
        pairs = torch.tensor(sum(len(batch["input_ids"]) for batch in batch_samples), device=device)
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            pairs = self.accelerator.gather(pairs).sum()
        self._pairs_in_step = pairs
        return batch_samples, num_items_in_batch

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training and "query_input_ids" in inputs:
            inputs = {**inputs, "num_pairs_in_batch": self._pairs_in_step}
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        if model.training and self.align_loss is not None:
            loss = loss + self._align_loss_share(inputs)
        with torch.no_grad():
            for head in HEADS:
                if outputs.get(f"{head}_loss") is None:
                    continue
                if head == "contrastive":  # a loss without per-token predictions
                    sums = self._train_head_losses if model.training else self._eval_sums
                    self._add(sums, "contrastive_loss" if model.training else "contrastive_loss_sum",
                              outputs["contrastive_loss"] * (1 if model.training else len(inputs["input_ids"])))
                    if not model.training:
                        self._add(sums, "contrastive_count", torch.tensor(len(inputs["input_ids"])))
                    continue
                if model.training:  # already a share of the step's mean: summing gives the mean
                    self._add(self._train_head_losses, f"{head}_loss", outputs[f"{head}_loss"])
                    self._train_micro_batches += head == "mlm"
                else:
                    logits, labels = outputs[f"{head}_logits"], outputs[f"{head}_labels"]
                    self._add(self._eval_sums, f"{head}_loss_sum", torch.nn.functional.cross_entropy(
                        logits.float(), labels, reduction="sum"))
                    self._add(self._eval_sums, f"{head}_correct", (logits.argmax(-1) == labels).sum())
                    self._add(self._eval_sums, f"{head}_count", torch.tensor(labels.numel(), device=labels.device))
        return (loss, outputs) if return_outputs else loss

    def _align_loss_share(self, inputs):
        """This micro-batch's share of the step's α·L_align: over all micro-batches and processes the
        shares add up to one α·L_align per optimizer step (scaled like the model's loss, which the
        Trainer multiplies by the process count before DDP averages the gradients)."""
        scale = self.accelerator.num_processes if (
            self.args.average_tokens_across_devices and self.args.world_size > 1) else 1
        share = len(inputs["input_ids"]) / self._pairs_in_step
        term = self.align_loss(self.accelerator.unwrap_model(self.model), self.state.global_step) * share
        self._add(self._train_head_losses, "align_loss", term)
        return term * scale

    @staticmethod
    def _add(sums, key, value):
        value = value.detach().double()
        sums[key] = sums[key] + value if key in sums else value

    def _reduced(self, sums):
        """Sums over all processes, as Python floats."""
        return {key: self.accelerator.reduce(value.reshape(1), reduction="sum").item() for key, value in sums.items()}

    def evaluate(self, *args, **kwargs):
        self._eval_sums = {}
        return super().evaluate(*args, **kwargs)

    def log(self, logs, *args, **kwargs):
        if "loss" in logs and self._train_head_losses:
            steps = max(self._train_micro_batches / self.args.gradient_accumulation_steps, 1)
            for key, value in self._reduced(self._train_head_losses).items():
                logs[key] = value / steps
            self._train_head_losses, self._train_micro_batches = {}, 0
        prefix = next((k[: -len("loss")] for k in logs if k.endswith("_loss") and k.startswith("eval")), None)
        if prefix is not None and self._eval_sums:
            sums = self._reduced(self._eval_sums)
            for head in HEADS:
                count = sums.get(f"{head}_count", 0)
                if count:
                    logs[f"{prefix}{head}_loss"] = sums[f"{head}_loss_sum"] / count
                    if f"{head}_correct" in sums:
                        logs[f"{prefix}{head}_accuracy"] = sums[f"{head}_correct"] / count
            self._eval_sums = {}
        if prefix is not None and self.alignment_eval is not None:
            logs.update({prefix + key: value for key, value in self.alignment_eval.compute(self.model).items()})
        super().log(logs, *args, **kwargs)

    def _save(self, output_dir=None, state_dict=None):
        output_dir = output_dir or self.args.output_dir
        is_checkpoint = os.path.basename(os.path.normpath(output_dir)).startswith("checkpoint-")
        if not is_checkpoint and hasattr(self.model, "published_state_dict"):
            state_dict = self.model.published_state_dict()  # PPA: the query encoder, not the key encoder
        super()._save(output_dir, state_dict)
        if self.args.should_save:
            self.make_hub_ready(output_dir)

    def make_hub_ready(self, folder):
        """Remote code files next to the weights (save_pretrained may leave them out) and a model card."""
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository root
        for name in REMOTE_CODE_FILES:
            if not os.path.exists(os.path.join(folder, name)):
                shutil.copy(os.path.join(here, name), folder)
        model_card.write(folder, trainer_state=self.state, **self.card_info)

    def create_model_card(self, *args, **kwargs):
        # push_to_hub calls this; our card replaces the generic one.
        if self.is_world_process_zero():
            model_card.write(self.args.output_dir, trainer_state=self.state, **self.card_info)
