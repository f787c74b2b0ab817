"""WEAM's losses against a dense hand computation, gradients, and round trips through disk."""

import json
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from huggingface_hub.errors import StrictDataclassClassValidationError, StrictDataclassFieldValidationError
from transformers import BertConfig, BertForMaskedLM, BertForPreTraining, BertModel

import export_bert
from configuration_weam import WeamConfig
from modeling_weam import PpaForPreTraining, WeamForPreTraining, save_as_bert

TOKENIZER_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "sample", "mbert-tokenizer")
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
    # the sums a trainer adds up: each term is loss_sum / loss_count (per masked token, both heads)
    mlm, cross = out.head_sums["mlm"], out.head_sums["cross_lingual"]
    assert mlm["loss_count"] == mlm["predictions"] == cross["loss_count"] == 4
    assert cross["predictions"] == (3 if mode == "ignore" else 4)
    torch.testing.assert_close(mlm["loss_sum"], 4 * mp.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(cross["loss_sum"], 4 * cp.detach(), rtol=1e-5, atol=1e-6)
    for sums, logits, labels in ((mlm, out.mlm_logits, out.mlm_labels),
                                 (cross, out.cross_lingual_logits, out.cross_lingual_labels)):
        assert sums["correct"] == sum(int(row.argmax()) == int(label) for row, label in zip(logits, labels))


def restricted_reference(model, token_ids):
    """Each head's loss with its softmax over `token_ids` only: the full logits' columns, targets renumbered."""
    full = model(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES, labels=LABELS,
                 alignment_pairs=PAIRS)
    renumber = {token: index for index, token in enumerate(token_ids)}
    losses = []
    for logits, labels in ((full.mlm_logits, full.mlm_labels), (full.cross_lingual_logits, full.cross_lingual_labels)):
        targets = torch.tensor([renumber[int(label)] for label in labels])
        losses.append(F.cross_entropy(logits[:, token_ids], targets, reduction="sum") / 4)  # per masked token
    return losses


def test_restricted_predictions_are_the_full_logits_columns():
    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**TINY, unaligned_tokens="self")).eval()
    token_ids = [5, 50, 51, 52, 53, 57]
    mp, cp = restricted_reference(model, token_ids)
    model.restrict_predictions(reversed(token_ids))  # any order: the logits' columns ascend
    out = model(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES, labels=LABELS,
                alignment_pairs=PAIRS)
    assert out.mlm_logits.shape == out.cross_lingual_logits.shape == (4, 6)
    assert out.mlm_labels.tolist() == [1, 2, 3, 4]  # 50, 51, 52, 53 among token_ids
    torch.testing.assert_close(out.mlm_loss, mp.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.cross_lingual_loss, cp.detach(), rtol=1e-5, atol=1e-6)
    # the whole vocabulary as the restriction is no restriction; None lifts it
    model.restrict_predictions(range(60))
    restricted_everywhere = model(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES, labels=LABELS,
                                  alignment_pairs=PAIRS).loss
    model.restrict_predictions(None)
    unrestricted = model(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES, labels=LABELS,
                         alignment_pairs=PAIRS)
    torch.testing.assert_close(restricted_everywhere, unrestricted.loss)
    assert unrestricted.mlm_logits.shape == (4, 60)


def test_restricted_predictions_refuse_a_target_outside_them_and_are_not_saved(tmp_path):
    model = WeamForPreTraining(WeamConfig(**TINY)).eval()
    model.restrict_predictions([50, 51, 52])
    with pytest.raises(ValueError, match=r"\[53\] are outside the restricted prediction vocabulary"):
        model(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES, labels=LABELS, alignment_pairs=PAIRS)
    with pytest.raises(ValueError, match="ids in \\[0, 60\\)"):
        model.restrict_predictions([3, 60])
    assert not any(name.startswith("prediction_") for name in model.state_dict())
    model.save_pretrained(tmp_path)
    assert WeamForPreTraining.from_pretrained(tmp_path).prediction_ids is None


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
    assert config.model_type == "bert" and config.hidden_size == 16 and config.cross_lingual_weight == 1.0
    with pytest.raises(StrictDataclassFieldValidationError, match="unaligned_tokens"):
        WeamConfig(unaligned_tokens="drop")
    with pytest.raises(StrictDataclassFieldValidationError, match="ppa_queue_size"):
        WeamConfig(ppa_queue_size="large")
    for setting, value in (("cross_lingual_weight", -1.0), ("ppa_momentum", 1.0), ("ppa_temperature", 0.0),
                           ("align_loss_weight", -0.5), ("ppa_queue_size", 0), ("alignment_layer", 0),
                           ("alignment_threshold", 1.0), ("alignment_threshold", 0.0)):
        with pytest.raises(StrictDataclassClassValidationError, match=setting):
            WeamConfig(**{setting: value})


def test_config_round_trips_every_setting(tmp_path):
    settings = dict(cross_lingual_weight=0.5, unaligned_tokens="self", ppa_projection_dim=8, ppa_queue_size=64,
                    ppa_momentum=0.99, ppa_temperature=0.1, align_loss_weight=10.0, alignment_layer=2,
                    alignment_threshold=0.1)
    WeamConfig(**TINY, **settings).save_pretrained(tmp_path)
    with open(tmp_path / "config.json") as f:
        saved = json.load(f)
    assert {key: saved[key] for key in settings} == settings and "subword_links" not in saved
    reloaded = WeamConfig.from_pretrained(tmp_path)
    assert {key: getattr(reloaded, key) for key in settings} == settings


def test_ppa_init_weights_reset_the_queue_of_a_loaded_encoder(tmp_path):
    torch.manual_seed(0)
    config = WeamConfig(**TINY, ppa_projection_dim=4, ppa_queue_size=6)
    WeamForPreTraining(config).save_pretrained(tmp_path)  # no queue in this checkpoint
    model = PpaForPreTraining.from_pretrained(tmp_path)
    torch.testing.assert_close(model.queue.keys.norm(dim=1), torch.ones(6))  # random unit vectors, not meta/zeros
    assert model.queue.pointer.item() == model.queue.filled.item() == model.queue.key_encoder_ready.item() == 0


# Every auto class, on one saved pre-training folder in a fresh process (this checkout is not importable
# there): with remote code, AutoModelForPreTraining rebuilds the WEAM model; the encoder, the task heads and
# the tokenizer are stock BERT classes, with or without remote code, and the tokenizer asks nothing.
FRESH_PROCESS_CHECK = """
import builtins, json, sys, torch, transformers
from safetensors.torch import load_file
prompts = []
builtins.input = lambda *args: prompts.append(args) or "n"  # transformers' "run custom code? [y/N]"
folder = sys.argv[1]
inputs = torch.load(folder + "/inputs.pt")
saved = load_file(folder + "/model.safetensors")
report = {}
for auto_class in sys.argv[2:]:
    for trust in (True, False):
        kwargs = {"num_labels": 3} if "Classification" in auto_class else {}
        model = getattr(transformers, auto_class).from_pretrained(folder, trust_remote_code=trust, **kwargs).eval()
        prefix = "bert." if auto_class == "AutoModel" else ""  # a bare encoder's weights have no `bert.`
        state = model.state_dict()
        same = all(torch.equal(state[k[len(prefix):]], v) for k, v in saved.items()
                   if k.startswith(prefix) and k[len(prefix):] in state)
        out = model(**inputs)
        first = out.last_hidden_state if auto_class == "AutoModel" else out[0]
        torch.save(first.detach(), f"{folder}/{auto_class}-{trust}.pt")
        report[f"{auto_class}-{trust}"] = [type(model).__name__, type(model).__module__, same]
tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
report["tokenizer"] = [type(tokenizer).__name__, tokenizer("the house")["input_ids"]]
report["prompts"] = len(prompts)
print(json.dumps(report))
"""

AUTO_CLASSES = {  # the class each one gives with trust_remote_code=True
    "AutoModel": "BertModel",
    "AutoModelForPreTraining": "WeamForPreTraining",
    "AutoModelForMaskedLM": "BertForMaskedLM",
    "AutoModelForSequenceClassification": "BertForSequenceClassification",
    "AutoModelForQuestionAnswering": "BertForQuestionAnswering",
    "AutoModelForTokenClassification": "BertForTokenClassification",
}


@pytest.mark.slow
def test_every_auto_class_loads_a_saved_folder_in_a_fresh_process(tmp_path):
    from transformers import AutoTokenizer

    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**TINY, cross_lingual_weight=0.7)).eval()
    model.save_pretrained(tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    tokenizer.save_pretrained(tmp_path)
    inputs = dict(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES)
    torch.save(inputs, tmp_path / "inputs.pt")
    with open(tmp_path / "config.json") as f:
        config = json.load(f)
    assert config["model_type"] == "bert" and config["cross_lingual_weight"] == 0.7
    assert config["auto_map"] == {"AutoModelForPreTraining": "modeling_weam.WeamForPreTraining"}
    assert (tmp_path / "modeling_weam.py").exists() and (tmp_path / "configuration_weam.py").exists()
    with open(tmp_path / "tokenizer_config.json") as f:
        assert "auto_map" not in json.load(f)

    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS_CHECK, str(tmp_path), *AUTO_CLASSES],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["prompts"] == 0  # nothing asked whether to run remote code
    assert report["tokenizer"] == [type(tokenizer).__name__, tokenizer("the house")["input_ids"]]
    expected = {"AutoModel": model.bert(**inputs).last_hidden_state,
                "AutoModelForPreTraining": model(**inputs).mlm_logits,
                "AutoModelForMaskedLM": model(**inputs).mlm_logits}
    for auto_class, with_remote_code in AUTO_CLASSES.items():
        for trust in (True, False):
            name, module, same_weights = report[f"{auto_class}-{trust}"]
            remote = trust and auto_class == "AutoModelForPreTraining"
            without_remote_code = with_remote_code.replace("Weam", "Bert")
            assert name == (with_remote_code if trust else without_remote_code), (auto_class, trust)
            assert module.startswith("transformers_modules") == remote  # the folder's code, not this checkout's
            assert same_weights, (auto_class, trust)
            if auto_class in expected:
                torch.testing.assert_close(torch.load(tmp_path / f"{auto_class}-{trust}.pt"),
                                           expected[auto_class].detach(), rtol=0, atol=1e-5)


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
    check_plain_bert(tmp_path, model)


def check_plain_bert(folder, model):
    with open(folder / "config.json") as f:
        config = json.load(f)
    assert config["model_type"] == "bert" and "auto_map" not in config and "cross_lingual_weight" not in config
    inputs = dict(input_ids=INPUT_IDS, attention_mask=ATTENTION, token_type_ids=TYPES)
    expected = model.bert(**inputs)
    encoder = BertModel.from_pretrained(folder).eval()
    torch.testing.assert_close(encoder(**inputs).last_hidden_state, expected.last_hidden_state)
    torch.testing.assert_close(encoder(**inputs).pooler_output, expected.pooler_output)
    mlm = BertForMaskedLM.from_pretrained(folder).eval()
    torch.testing.assert_close(mlm(**inputs).logits, model(**inputs).mlm_logits)


def test_export_script_writes_a_plain_bert_with_its_tokenizer(tmp_path):
    from transformers import AutoTokenizer

    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(**TINY)).eval()
    model.save_pretrained(tmp_path / "weam")
    AutoTokenizer.from_pretrained(TOKENIZER_DIR).save_pretrained(tmp_path / "weam")
    export_bert.main(["--model", str(tmp_path / "weam"), "--output", str(tmp_path / "bert")])
    check_plain_bert(tmp_path / "bert", model)
    assert AutoTokenizer.from_pretrained(tmp_path / "bert")("the house")["input_ids"]
    # an encoder without MLM head is exported as an encoder, not with a random head
    model.bert.save_pretrained(tmp_path / "encoder")
    AutoTokenizer.from_pretrained(TOKENIZER_DIR).save_pretrained(tmp_path / "encoder")
    export_bert.main(["--model", str(tmp_path / "encoder"), "--output", str(tmp_path / "encoder-bert")])
    with open(tmp_path / "encoder-bert" / "config.json") as f:
        assert json.load(f)["architectures"] == ["BertModel"]
