"""benchmarks/bench_model.py's FLOP count and time split, the figures behind the README's floor of WEAM's step."""

import sys
from pathlib import Path

import pytest
import torch
from torch.profiler import ProfilerActivity, profile
from transformers import BertConfig, BertForMaskedLM

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_model  # noqa: E402

VOCAB, HIDDEN = 997, 32


def test_flops_by_module_against_a_hand_count():
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2,
                                       intermediate_size=64, max_position_embeddings=32))
    ids = torch.randint(5, VOCAB, (2, 8))
    labels = ids.clone()
    flops = bench_model.count_flops(model, {"input_ids": ids, "labels": labels})
    tokens = ids.numel()
    # stock BERT predicts at every position: its transform (h x h) and decoder (h x V), forward 2 and backward
    # 4 multiply-adds per weight and row (the gradients of the input and of the weight)
    assert flops["by_module"]["cls"] == 6 * tokens * (HIDDEN * HIDDEN + HIDDEN * VOCAB)
    assert flops["total"] == sum(flops["by_module"].values()) and set(flops["by_module"]) == {"bert", "cls"}
    assert all(parameter.grad is None for parameter in model.parameters())  # nothing left for the timed steps


def test_the_time_split_puts_operators_on_vocabulary_sized_tensors_apart():
    wide, narrow = torch.randn(64, VOCAB), torch.randn(64, 64)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as profiler:
        for _ in range(20):
            wide.t() @ narrow
            narrow @ narrow
    seconds = bench_model.vocabulary_share(profiler, VOCAB)
    assert seconds["vocabulary_ops_s"] > 0 and seconds["other_ops_s"] > 0
    everything = bench_model.vocabulary_share(profiler, vocab_size=12345)  # no tensor has that dimension
    assert everything["vocabulary_ops_s"] == 0
    assert everything["other_ops_s"] == pytest.approx(seconds["vocabulary_ops_s"] + seconds["other_ops_s"])
