"""WEAM's losses against a dense hand computation, gradients, and round trips through disk."""

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForMaskedLM, BertForPreTraining, BertModel

from configuration_weam import WEAM_AUTO_MAP, WeamConfig
from modeling_weam import (
    WeamForMaskedLM,
    WeamForPreTraining,
    WeamForQuestionAnswering,
    WeamForSequenceClassification,
    WeamForTokenClassification,
    WeamModel,
    save_as_bert,
)

TINY = dict(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)

# Two examples of `[CLS] S [SEP] T [SEP]` (length 10, the second padded after 9).
#   example 0: S = positions 1-3, T = 5-8; links 1-5, 2-6, 2-7 (one-to-many), 3-8
#   example 1: S = positions 1-3, T = 5-7; links 1-6, 3-5
INPUT_IDS = torch.tensor([[2, 11, 12, 13, 3, 21, 22, 23, 24, 3], [2, 31, 32, 33, 3, 41, 42, 43, 3, 0]])
ATTENTION = torch.tensor([[1] * 10, [1] * 9 + [0]])
TYPES = torch.tensor([[0] * 5 + [1] * 5, [0] * 5 + [1] * 5])
PAIRS = torch.tensor([[[1, 5], [2, 6], [2, 7], [3, 8]], [[1, 6], [3, 5], [-1, -1], [-1, -1]]])
LABELS = torch.full((2, 10), -100)
LABELS[0, 2] = 50  # a masked source token with two partners (6 and 7)
LABELS[0, 8] = 51  # a masked target token predicted from source position 3
LABELS[1, 2] = 52  # a masked token with no partner
LABELS[1, 6] = 53  # a masked target token whose partner (1) is a source token


def dense_reference(model, mode):
    """L_mp, L_cp and the total with a dense alignment matrix, as the paper writes it."""
    hidden = model.bert(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES).last_hidden_state
    mp_sum, cp_sum, count = 0.0, 0.0, 0
    for b in range(2):
        A = torch.zeros(10, 10)
        for i, j in PAIRS[b].tolist():
            if i >= 0:
                A[i, j] = A[j, i] = 1.0
        degree = A.sum(1, keepdim=True)
        exchanged = (A / degree.clamp(min=1)) @ hidden[b]  # H' = AᵀH, one-to-many links averaged
        for position in (LABELS[b] != -100).nonzero().flatten().tolist():
            label = LABELS[b, position].unsqueeze(0)
            count += 1
            mp_sum = mp_sum + F.cross_entropy(model.cls(hidden[b, position]).unsqueeze(0), label, reduction="sum")
            source = exchanged[position]
            if degree[position] == 0:
                if mode == "ignore":
                    continue
                if mode == "self":
                    source = hidden[b, position]
            logits = model.cross_lingual_head(model.cross_lingual_transform(source))
            cp_sum = cp_sum + F.cross_entropy(logits.unsqueeze(0), label, reduction="sum")
    return mp_sum / count, cp_sum / count


@pytest.mark.parametrize("mode", ["ignore", "self", "zero"])
def test_losses_match_dense_reference(mode):
    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**TINY, cross_lingual_weight=0.7, unaligned_tokens=mode)).eval()
    out = model(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES, labels=LABELS,
                alignment_pairs=PAIRS)
    mp, cp = dense_reference(model, mode)
    torch.testing.assert_close(out.mlm_loss, mp.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.cross_lingual_loss, cp.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.loss, (mp + 0.7 * cp).detach(), rtol=1e-5, atol=1e-6)
    assert out.mlm_logits.shape == (4, 60)  # logits at the 4 masked positions only
    assert out.cross_lingual_logits.shape[0] == (3 if mode == "ignore" else 4)


def test_num_items_in_batch_sets_the_denominator():
    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**TINY)).eval()
    inputs = dict(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES, labels=LABELS,
                  alignment_pairs=PAIRS)
    mean = model(**inputs).loss
    torch.testing.assert_close(model(**inputs, num_items_in_batch=8).loss, mean * 4 / 8)


def test_gradients_reach_the_embeddings_through_both_heads():
    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**TINY))
    embeddings = model.bert.embeddings.word_embeddings(INPUT_IDS).detach().requires_grad_(True)
    out = model(inputs_embeds=embeddings, attention_mask=ATTENTION, token_type_ids=TYPES, labels=LABELS,
                alignment_pairs=PAIRS)
    for logits, labels in ((out.mlm_logits, out.mlm_labels), (out.cross_lingual_logits, out.cross_lingual_labels)):
        (grad,) = torch.autograd.grad(F.cross_entropy(logits, labels), embeddings, retain_graph=True)
        assert grad.abs().sum() > 0
    # and the cross-lingual head's gradient flows through the exchanged (partner) positions:
    (grad,) = torch.autograd.grad(
        F.cross_entropy(out.cross_lingual_logits, out.cross_lingual_labels), embeddings, retain_graph=True
    )
    assert grad[0, 3].abs().sum() > 0  # source position 3 is the partner of masked target 8


def test_tlm_has_no_cross_lingual_layers_and_needs_no_alignment():
    model = WeamForPreTraining(WeamConfig(**TINY, cross_lingual_weight=0.0))
    assert not any(name.startswith("cross_lingual") for name, _ in model.named_parameters())
    out = model(input_ids=INPUT_IDS, attention_mask=ATTENTION, labels=LABELS)
    assert out.cross_lingual_loss is None and torch.isfinite(out.loss)


def test_weam_without_alignment_pairs_is_a_clear_error():
    model = WeamForPreTraining(WeamConfig(**TINY))
    with pytest.raises(ValueError, match="alignment_pairs"):
        model(input_ids=INPUT_IDS, labels=LABELS)


def test_decoders_are_tied_to_the_input_embeddings():
    model = WeamForPreTraining(WeamConfig(**TINY))
    embedding = model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.weight is embedding
    assert model.cross_lingual_head.decoder.weight is embedding


def test_config_accepts_a_bert_config_and_rejects_bad_settings(tmp_path):
    BertConfig(**TINY).save_pretrained(tmp_path)
    config = WeamConfig.from_pretrained(tmp_path)
    assert config.model_type == "weam" and config.hidden_size == 16 and config.cross_lingual_weight == 1.0
    with pytest.raises(ValueError, match="unaligned_tokens"):
        WeamConfig(unaligned_tokens="drop")


AUTO_CLASSES = {
    "AutoModel": WeamModel,
    "AutoModelForPreTraining": WeamForPreTraining,
    "AutoModelForMaskedLM": WeamForMaskedLM,
    "AutoModelForSequenceClassification": WeamForSequenceClassification,
    "AutoModelForQuestionAnswering": WeamForQuestionAnswering,
    "AutoModelForTokenClassification": WeamForTokenClassification,
}

FRESH_PROCESS_CHECK = """
import json, sys, torch, transformers
from safetensors.torch import load_file
folder, auto_class = sys.argv[1], sys.argv[2]
model = getattr(transformers, auto_class).from_pretrained(folder, trust_remote_code=True).eval()
inputs = torch.load(folder + "/inputs.pt")
out = model(**inputs)
first = out[0] if not hasattr(out, "last_hidden_state") else out.last_hidden_state
saved = load_file(folder + "/model.safetensors")
state = model.state_dict()
same = all(torch.equal(state[k], v) for k, v in saved.items())
torch.save(first.detach(), folder + "/reloaded.pt")
print(json.dumps({"class": type(model).__name__, "module": type(model).__module__, "same_weights": same}))
"""


@pytest.mark.parametrize("auto_class", list(AUTO_CLASSES))
def test_save_and_load_in_a_fresh_process(tmp_path, auto_class):
    torch.manual_seed(0)
    num_labels = 2 if auto_class == "AutoModelForQuestionAnswering" else 3  # start and end logits
    model = AUTO_CLASSES[auto_class](WeamConfig(**TINY, num_labels=num_labels)).eval()
    model.save_pretrained(tmp_path)
    inputs = dict(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES)
    torch.save(inputs, tmp_path / "inputs.pt")
    out = model(**inputs)
    expected = out.last_hidden_state if hasattr(out, "last_hidden_state") and out.last_hidden_state is not None else out[0]

    with open(tmp_path / "config.json") as f:
        assert json.load(f)["auto_map"] == WEAM_AUTO_MAP
    assert (tmp_path / "modeling_weam.py").exists() and (tmp_path / "configuration_weam.py").exists()
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS_CHECK, str(tmp_path), auto_class],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["class"] == AUTO_CLASSES[auto_class].__name__
    assert report["module"].startswith("transformers_modules")  # the remote code, not this checkout
    assert report["same_weights"]
    torch.testing.assert_close(torch.load(tmp_path / "reloaded.pt"), expected.detach(), rtol=0, atol=1e-6)


def test_starts_from_a_plain_bert_checkpoint(tmp_path):
    torch.manual_seed(0)
    bert = BertForPreTraining(BertConfig(**TINY))
    bert.save_pretrained(tmp_path)
    model, info = WeamForPreTraining.from_pretrained(tmp_path, output_loading_info=True)
    for name, value in bert.state_dict().items():
        if name in model.state_dict():  # encoder, pooler and MLM head come over unchanged
            assert torch.equal(model.state_dict()[name], value), name
    assert set(info["missing_keys"]) == {
        "cross_lingual_transform.weight", "cross_lingual_transform.bias",
        "cross_lingual_head.bias", "cross_lingual_head.decoder.bias", "cross_lingual_head.transform.dense.weight",
        "cross_lingual_head.transform.dense.bias", "cross_lingual_head.transform.LayerNorm.weight",
        "cross_lingual_head.transform.LayerNorm.bias",
    }
    assert model.cross_lingual_head.decoder.weight is model.bert.embeddings.word_embeddings.weight


def test_plain_bert_export_loads_with_stock_classes(tmp_path):
    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**TINY)).eval()
    save_as_bert(model, tmp_path)
    with open(tmp_path / "config.json") as f:
        config = json.load(f)
    assert config["model_type"] == "bert" and "auto_map" not in config and "cross_lingual_weight" not in config
    inputs = dict(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES)
    expected = model.bert(**inputs)
    encoder = BertModel.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(encoder(**inputs).last_hidden_state, expected.last_hidden_state)
    torch.testing.assert_close(encoder(**inputs).pooler_output, expected.pooler_output)
    mlm = BertForMaskedLM.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(mlm(**inputs).logits, model(**inputs).mlm_logits)
