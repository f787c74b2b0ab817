"""AlignmentTrainer: PPA's MoCo state per optimizer step (accumulation, exact resume), the head figures from the
model's sums, the published weights, and the alignment diagnostics through the callback hooks."""

import os
import shutil

import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from transformers import AutoTokenizer, TrainingArguments

from configuration_weam import WeamConfig
from modeling_weam import PpaForPreTraining, WeamForPreTraining
from weam.diagnostics import AlignmentEvalCallback
from weam.trainer import AlignmentTrainer

TOKENIZER_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "sample", "mbert-tokenizer")
TINY = dict(vocab_size=60, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def fixed_examples(count, ppa=False, seed=0):
    """Pre-masked pairs `[CLS] S [SEP] T [SEP]` of one length (so any batching sees the same tokens), 1 to 5
    masked tokens each; WEAM's alignment pairs, or PPA's two unmasked sentence views."""
    generator = torch.Generator().manual_seed(seed)
    items = []
    for k in range(count):
        ids = torch.randint(5, 60, (12,), generator=generator)
        ids[0], ids[5], ids[11] = 2, 3, 3
        labels = torch.full((12,), -100)
        masked = torch.tensor([1, 2, 3, 4, 6, 7, 8, 9, 10])[torch.randperm(9, generator=generator)[: 1 + k % 5]]
        labels[masked] = ids[masked]
        item = dict(labels=labels, token_type_ids=torch.tensor([0] * 6 + [1] * 6))
        if ppa:
            item.update(query_input_ids=ids[:6].clone(), key_input_ids=torch.cat([ids[:1], ids[6:]]))
        else:
            item.update(alignment_pairs=torch.tensor([[1, 6], [2, 7], [3, 8], [4, 9]]))
        ids[masked] = 4  # [MASK]
        items.append(dict(input_ids=ids, **item))
    return items


def train(output_dir, model, examples, batch_size, accumulation=1, max_steps=3, **extra):
    settings = dict(logging_steps=1, save_strategy="no", learning_rate=0.1, optim="sgd", report_to="none", seed=0,
                    train_sampling_strategy="sequential", dataloader_drop_last=True)
    args = TrainingArguments(output_dir=str(output_dir), per_device_train_batch_size=batch_size,
                             gradient_accumulation_steps=accumulation, max_steps=max_steps, **{**settings, **extra})
    trainer = AlignmentTrainer(model=model, args=args, train_dataset=examples)
    trainer.train(resume_from_checkpoint=args.resume_from_checkpoint)
    return trainer, [entry for entry in trainer.state.log_history if "loss" in entry]


def ppa_model():
    torch.manual_seed(0)
    return PpaForPreTraining(WeamConfig(**TINY, ppa_projection_dim=4, ppa_queue_size=12, ppa_momentum=0.9,
                                        ppa_temperature=1.0))  # τ = 1: every negative weighs in the loss


def test_ppa_accumulation_equals_the_larger_batch(tmp_path):
    """The key encoder moves and the queue fills once per optimizer step: 4 x 2 micro-batches train like 8 x 1
    (before, the second micro-batch met a moved key encoder and the first one's keys as negatives)."""
    examples = fixed_examples(24, ppa=True)
    big, big_log = train(tmp_path / "big", ppa_model(), examples, batch_size=8)
    accumulated, accumulated_log = train(tmp_path / "acc", ppa_model(), examples, batch_size=4, accumulation=2)
    assert len(big_log) == len(accumulated_log) == 3
    for one, other in zip(big_log, accumulated_log):
        for key in ("loss", "mlm_loss", "contrastive_loss"):
            assert other[key] == pytest.approx(one[key], rel=1e-5), (one["step"], key)
    assert big.model.queue.filled.item() == accumulated.model.queue.filled.item() == 12  # 24 keys, wrapped
    for name, value in big.model.state_dict().items():
        torch.testing.assert_close(accumulated.model.state_dict()[name], value, rtol=1e-5, atol=1e-6)


def test_ppa_resume_continues_exactly_and_publishes_the_query_encoder(tmp_path):
    examples = fixed_examples(24, ppa=True)
    uninterrupted, log = train(tmp_path / "a", ppa_model(), examples, batch_size=8, max_steps=6,
                               save_strategy="steps", save_steps=3)
    uninterrupted.save_model()
    with safe_open(str(tmp_path / "a" / "checkpoint-3" / "model.safetensors"), "pt") as checkpoint:
        assert any(key.startswith("key_bert.") for key in checkpoint.keys())
        assert checkpoint.get_tensor("queue.filled").item() == 12
    with safe_open(str(tmp_path / "a" / "model.safetensors"), "pt") as published:
        moco_state = ("key_bert.", "key_projection.", "queue.", "projection.")
        assert not any(key.startswith(moco_state) for key in published.keys())
    # a run stopped after step 3: its folder holds checkpoint-3 only
    shutil.copytree(tmp_path / "a" / "checkpoint-3", tmp_path / "b" / "checkpoint-3")
    _, resumed = train(tmp_path / "b", ppa_model(), examples, batch_size=8, max_steps=6, save_strategy="steps",
                       save_steps=3, resume_from_checkpoint=str(tmp_path / "b" / "checkpoint-3"))
    losses, resumed_losses = ({entry["step"]: entry["loss"] for entry in run} for run in (log, resumed))
    assert [resumed_losses[step] for step in (4, 5, 6)] == [losses[step] for step in (4, 5, 6)]


def test_logged_head_figures_add_up_to_the_loss(tmp_path):
    """Training logs: each head's term, averaged over the logged steps like `loss`, so loss = mlm + λ·cross."""
    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**TINY, cross_lingual_weight=0.5))
    _, log = train(tmp_path, model, fixed_examples(16), batch_size=4, max_steps=4, logging_steps=2)
    assert len(log) == 2
    for entry in log:
        assert entry["loss"] == pytest.approx(entry["mlm_loss"] + 0.5 * entry["cross_lingual_loss"], rel=1e-6)
        assert "mlm_accuracy" not in entry  # counting correct predictions is left to evaluation


def test_evaluation_pools_the_heads_over_the_whole_set(tmp_path):
    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**TINY)).eval()
    examples = fixed_examples(7)  # batches of 3, 3 and 1 with different numbers of masked tokens
    args = TrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=3, report_to="none")
    metrics = AlignmentTrainer(model=model, args=args, eval_dataset=examples).evaluate()
    batch = {key: torch.stack([example[key] for example in examples]) for key in examples[0]}
    with torch.no_grad():
        out = model(**batch)
    for head in ("mlm", "cross_lingual"):
        logits, labels = out[f"{head}_logits"], out[f"{head}_labels"]
        masked = int((batch["labels"] != -100).sum())  # both heads' terms are per masked token
        assert metrics[f"eval_{head}_loss"] == pytest.approx(
            F.cross_entropy(logits, labels, reduction="sum").item() / masked, rel=1e-5)
        assert metrics[f"eval_{head}_accuracy"] == pytest.approx((logits.argmax(-1) == labels).float().mean().item())


def test_alignment_figures_join_the_evaluation_through_the_callback(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**{**TINY, "vocab_size": len(tokenizer)}, cross_lingual_weight=0.0))
    callback = AlignmentEvalCallback(tokenizer, [("dog", "Hund"), ("house", "Haus"), ("water", "Wasser")],
                                     [("Der Hund schläft.", "The dog sleeps."), ("Wasser ist nass.", "Water is wet.")],
                                     layer=1)
    args = TrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=4, report_to="none")
    trainer = AlignmentTrainer(model=model, args=args, eval_dataset=fixed_examples(4), alignment_eval=callback)
    metrics = trainer.evaluate()
    figures = {"eval_dict_p@1", "eval_dict_p@5", "eval_dict_input_p@1", "eval_tatoeba_acc", "eval_mlm_loss"}
    assert figures <= set(metrics)
    assert figures <= set(trainer.state.log_history[-1])  # the evaluation's entry of trainer_state.json
