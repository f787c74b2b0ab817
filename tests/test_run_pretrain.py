"""run_pretrain.py end to end: train, save, reload in a fresh process; exact resume; gradient
accumulation; the Hub path up to the upload."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from transformers import AutoTokenizer, TrainingArguments

import run_pretrain
from weam.objectives.align_mlm import DictionaryAlignmentLoss
from weam.trainer import AlignmentTrainer
from configuration_weam import WeamConfig
from modeling_weam import WeamForPreTraining

ROOT = os.path.join(os.path.dirname(__file__), "..")
SAMPLE = os.path.join(ROOT, "data", "sample")
SHARED = os.path.join(ROOT, "..", "shared", "data", "parallel")
TINY = "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64"


def slice_corpus(tmp_path, source, target, pairs=64, name="slice", words=None):
    """The first `pairs` pairs of two line-aligned files (with `words=(fewest, most)`: of those whose sides
    have that many words, e.g. to keep clear of PPA's length filter)."""
    with open(source, encoding="utf-8") as s, open(target, encoding="utf-8") as t:
        chosen = [(a, b) for a, b in zip(s, t)
                  if words is None or all(words[0] <= len(side.split()) <= words[1] for side in (a, b))][:pairs]
    paths = []
    for k, language in enumerate(("src", "tgt")):
        out = tmp_path / f"{name}.{language}"
        out.write_text("".join(pair[k] for pair in chosen), encoding="utf-8")
        paths.append(str(out))
    return ",".join(paths)


def train(tmp_path, output, data, *extra):
    args = ["--train_data", *data, "--config_overrides", TINY, "--output_dir", str(output),
            "--per_device_train_batch_size", "8", "--validation_pairs", "8", "--logging_steps", "1",
            "--eval_strategy", "no", "--save_strategy", "steps", "--save_steps", "3", "--max_steps", "6", *extra]
    os.environ["HF_DATASETS_CACHE"] = str(tmp_path / "datasets-cache")
    run_pretrain.main(args)
    with open(os.path.join(output, "trainer_state.json")) as f:
        return json.load(f)["log_history"]


RELOAD = """
import sys, torch, transformers
folder = sys.argv[1]
tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
encoder = transformers.AutoModel.from_pretrained(folder)
classifier = transformers.AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3)
pretraining = transformers.AutoModelForPreTraining.from_pretrained(folder, trust_remote_code=True)
batch = tokenizer(["the patient has a fever"], ["el paciente tiene fiebre"], return_tensors="pt")
print(type(pretraining).__name__, type(encoder).__name__, tuple(encoder(**batch).last_hidden_state.shape),
      tuple(classifier(**batch).logits.shape))
"""


def check_hub_ready(folder):
    for name in ("config.json", "model.safetensors", "modeling_weam.py", "configuration_weam.py",
                 "tokenizer_config.json", "README.md"):
        assert os.path.exists(os.path.join(folder, name)), f"{folder} lacks {name}"
    result = subprocess.run([sys.executable, "-c", RELOAD, folder], capture_output=True, text=True, cwd="/",
                            env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].split(" BertModel (1, ")[0] in (
        "WeamForPreTraining", "PpaForPreTraining", "AwesomeAlignForPreTraining")
    assert "(1, 3)" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["weam", "tlm", "mlm", "ppa", "awesome_align"])
def test_trains_saves_and_reloads_on_the_shipped_sample(tmp_path, capsys, objective):
    data = slice_corpus(tmp_path, f"{SAMPLE}/tico19.en-es.en", f"{SAMPLE}/tico19.en-es.es")
    output = tmp_path / "out"
    layer = ["--alignment_layer", "1"] if objective == "awesome_align" else []  # the tiny encoder has one layer
    log = train(tmp_path, output, [f"en-es={data}"], "--objective", objective, *layer)
    printed = capsys.readouterr().out
    # pairs trained on and held out are counted apart; what to do next
    report = json.loads((output / "data_report.json").read_text())[0]
    assert report["read"] == 64 and report["read"] == report["used"] + sum(report["skipped"].values())
    if objective == "ppa":  # its paper's filter drops the pairs with under 10 subwords on a side, counted
        assert set(report["skipped"]) <= {"fewer than 10 subwords on a side", "more than 128 subwords in the pair"}
        assert report["skipped"]
    assert f"on en-es ({report['used'] - 8} pairs trained on, 8 held out for evaluation)" in printed
    assert f"hf upload ORG/NAME {output} --exclude 'checkpoint-*'" in printed  # the folder as it is, not run again
    if objective == "awesome_align":  # its result is an aligner's encoder: what to align with it, at its layer
        assert f"python align_words.py --aligner neural+eflomal --model {output} --layer 1" in printed
    else:
        assert "run_xnli.py" in printed
    losses = [entry for entry in log if "loss" in entry]
    assert len(losses) == 6 and all(entry["loss"] > 0 for entry in losses)
    if objective == "weam":
        assert all("mlm_loss" in entry and "cross_lingual_loss" in entry for entry in losses)
        # the total is L_mp + λ·L_cp with λ = 1
        assert losses[0]["loss"] == pytest.approx(losses[0]["mlm_loss"] + losses[0]["cross_lingual_loss"], rel=1e-4)
    if objective == "ppa":
        assert all("contrastive_loss" in entry for entry in losses)
        assert losses[0]["loss"] == pytest.approx(losses[0]["mlm_loss"] + losses[0]["contrastive_loss"], rel=1e-4)
        # checkpoints hold the key encoder and queue (for resuming); the result is the query encoder
        assert any(k.startswith("key_bert.") for k in safe_open(str(output / "checkpoint-3" / "model.safetensors"), "pt").keys())
        assert not any(k.startswith(("key_bert.", "queue.")) for k in safe_open(str(output / "model.safetensors"), "pt").keys())
    if objective == "awesome_align":
        assert all(entry["self_training_loss"] < 0 for entry in losses)  # −(Σ A∘P→/m + Σ A∘P←/n), a guide found
        assert losses[0]["loss"] == pytest.approx(losses[0]["mlm_loss"] + losses[0]["self_training_loss"], rel=1e-4)
    evaluation = [entry for entry in log if "eval_loss" in entry][-1]
    assert 0 <= evaluation["eval_mlm_accuracy"] <= 1
    assert ("eval_cross_lingual_accuracy" in evaluation) == (objective == "weam")
    with open(output / "config.json") as f:
        config = json.load(f)
    assert config["cross_lingual_weight"] == (1.0 if objective == "weam" else 0.0)
    card = (output / "README.md").read_text()
    assert objective in card and "trust_remote_code=True" in card and "- es" in card
    # the settings used, printed at the start and in the card, each with where its value came from
    title = run_pretrain.OBJECTIVES[objective].title
    learning_rate = f"{run_pretrain.OBJECTIVES[objective].defaults['learning_rate']:g}"
    assert f"| learning rate | {learning_rate} | paper ({title}) |" in card
    assert "| batch size per device | 8 | run |" in card
    assert re.search(rf"learning rate +{learning_rate}  \[paper \({title}\)\]", printed)
    if objective == "ppa":
        assert "| weight decay | 0.01 | paper (PPA) |" in card and "| warm-up | 0.1 of the steps | paper (PPA) |" in card
    report = json.loads((output / "data_report.json").read_text())
    if objective != "ppa":  # PPA's filter skips some (checked above)
        assert report == [{"corpus": "en-es", "unit": "pairs", "read": 64, "used": 64, "skipped": {}}]
    check_hub_ready(str(output))
    check_hub_ready(str(output / "checkpoint-3"))


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data/parallel is not beside the repo")
def test_trains_on_real_shared_data_in_two_language_pairs(tmp_path):
    de = slice_corpus(tmp_path, f"{SHARED}/de-en/newstest2014.eng", f"{SHARED}/de-en/newstest2014.deu", name="de")
    zh = slice_corpus(tmp_path, f"{SHARED}/zh-en/newstest2019.eng", f"{SHARED}/zh-en/newstest2019.zho", name="zh")
    output = tmp_path / "out"
    train(tmp_path, output, [f"en-de={de}", f"en-zh={zh}"], "--sampling_weights", "1", "3")
    check_hub_ready(str(output))
    assert "- zh" in (output / "README.md").read_text()


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path):
    data = [f"en-es={slice_corpus(tmp_path, f'{SAMPLE}/tico19.en-es.en', f'{SAMPLE}/tico19.en-es.es')}"]
    uninterrupted = train(tmp_path, tmp_path / "a", data)
    # A run stopped after step 3: its folder holds checkpoint-3 only.
    stopped = tmp_path / "b"
    stopped.mkdir()
    shutil.copytree(tmp_path / "a" / "checkpoint-3", stopped / "checkpoint-3")
    resumed = train(tmp_path, stopped, data, "--resume_from_checkpoint", str(stopped / "checkpoint-3"))
    losses = {entry["step"]: entry["loss"] for entry in uninterrupted if "loss" in entry}
    resumed_losses = {entry["step"]: entry["loss"] for entry in resumed if "loss" in entry}
    assert [resumed_losses[step] for step in (4, 5, 6)] == [losses[step] for step in (4, 5, 6)]


class FixedBatches(torch.utils.data.Dataset):
    """Pre-masked examples of one length, so both runs see exactly the same tokens and masks."""

    def __init__(self, count=8, length=12):
        generator = torch.Generator().manual_seed(0)
        self.items = []
        for k in range(count):
            ids = torch.randint(5, 60, (length,), generator=generator)
            labels = torch.full((length,), -100)
            masked = torch.randperm(length - 2, generator=generator)[: 1 + k % 5] + 1  # 1 to 5 masked tokens
            labels[masked] = ids[masked]
            pairs = torch.tensor([[1, 7], [2, 8], [3, 9], [4, 10]])
            self.items.append(dict(input_ids=ids, labels=labels, alignment_pairs=pairs,
                                   token_type_ids=torch.tensor([0] * 6 + [1] * 6)))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, k):
        return self.items[k]


class FixedDictionary:
    """A DictionaryIndex's tensors, written out: word 1 = ids (5, 6), its translation = id 7; and so on."""

    source_ids, source_lengths = torch.tensor([[5, 6], [8, 0]]), torch.tensor([2, 1])
    target_ids, target_lengths = torch.tensor([[7, 0], [9, 10]]), torch.tensor([1, 2])
    pairs = [("a", "b"), ("c", "d")]

    def __len__(self):
        return 2


def one_step(tmp_path, batch_size, accumulation):
    torch.manual_seed(0)
    config = WeamConfig(vocab_size=60, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    model = WeamForPreTraining(config)
    args = TrainingArguments(output_dir=str(tmp_path / f"ga{accumulation}"), per_device_train_batch_size=batch_size,
                             gradient_accumulation_steps=accumulation, max_steps=1, learning_rate=0.1,
                             optim="sgd", logging_steps=1, save_strategy="no", report_to="none",
                             dataloader_drop_last=True, seed=0)
    trainer = AlignmentTrainer(model=model, args=args, train_dataset=FixedBatches(),
                               align_loss=DictionaryAlignmentLoss(FixedDictionary(), weight=3.0))
    trainer.train()
    loss = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry][0]
    return loss, {name: p.detach().clone() for name, p in model.named_parameters()}


def test_gradient_accumulation_equals_the_larger_batch(tmp_path):
    # WEAM's two heads plus ALIGN-MLM's dictionary loss. The micro-batches have different numbers of
    # masked tokens, so a mean of per-batch means would differ.
    counts = [int((item["labels"] != -100).sum()) for item in FixedBatches().items]
    assert sum(counts[:4]) != sum(counts[4:])
    big_loss, big_weights = one_step(tmp_path, batch_size=8, accumulation=1)
    accumulated_loss, accumulated_weights = one_step(tmp_path, batch_size=4, accumulation=2)
    assert accumulated_loss == pytest.approx(big_loss, rel=1e-5)
    for name, value in big_weights.items():
        torch.testing.assert_close(accumulated_weights[name], value, rtol=1e-5, atol=1e-6)


def test_push_to_hub_uploads_a_complete_folder(tmp_path, monkeypatch):
    calls = {}

    class FakeHub:
        def create_repo(self, repo_id, **kwargs):
            calls["create_repo"] = repo_id
            return type("RepoUrl", (), {"repo_id": repo_id})()

        def upload_folder(self, repo_id, folder_path, **kwargs):
            calls["upload"] = (repo_id, sorted(os.listdir(folder_path)))
            calls["card"] = open(os.path.join(folder_path, "README.md")).read()

    import transformers.trainer

    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: FakeHub())
    data = slice_corpus(tmp_path, f"{SAMPLE}/tico19.en-zh.en", f"{SAMPLE}/tico19.en-zh.zh", pairs=32)
    train(tmp_path, tmp_path / "out", [f"en-zh={data}"], "--push_to_hub", "--hub_model_id", "org/mbert-weam-en-zh",
          "--hub_strategy", "end", "--max_steps", "2")
    repo, files = calls["upload"]
    assert calls["create_repo"] == repo == "org/mbert-weam-en-zh"
    assert {"config.json", "model.safetensors", "modeling_weam.py", "configuration_weam.py", "README.md",
            "tokenizer_config.json"} <= set(files)
    assert 'model_id = "org/mbert-weam-en-zh"' in calls["card"]


# objective: the head terms its logged loss is made of (λ = 1 for WEAM)
LOSS_TERMS = {"weam": ("mlm_loss", "cross_lingual_loss"), "tlm": ("mlm_loss",), "ppa": ("mlm_loss", "contrastive_loss")}


@pytest.mark.slow
@pytest.mark.parametrize("objective", list(LOSS_TERMS))
def test_two_processes_log_the_loss_of_one_process_accumulating(tmp_path, objective, free_port):
    """DDP on CPU (gloo): 2 processes x 4 pairs must train and log exactly like 1 process x 2 micro-batches of 4
    (PPA: the keys of both processes enter the queue once per step); the logged head terms add up to the loss."""
    data = slice_corpus(tmp_path, f"{SAMPLE}/tico19.en-es.en", f"{SAMPLE}/tico19.en-es.es", pairs=40, words=(12, 40))
    links = tmp_path / "slice.align"  # given alignments: eflomal's are not reproducible across runs
    links.write_text("0-0 1-1 2-2\n" * 40)
    common = ["--train_data", f"en-es={data},{links}", "--config_overrides", TINY + ",hidden_dropout_prob=0,attention_probs_dropout_prob=0",
              "--per_device_train_batch_size", "4", "--validation_pairs", "0", "--logging_steps", "1",
              "--eval_strategy", "no", "--save_strategy", "no", "--max_steps", "3", "--dataloader_drop_last",
              "--train_sampling_strategy", "sequential", "--objective", objective]  # the same pairs in the same micro-batches
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    script = os.path.join(ROOT, "run_pretrain.py")
    for output, launcher, extra in (
        # --use_cpu: without it, transformers on a GPU-less machine trains 2 independent copies
        ("ddp", [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port)],
         ["--use_cpu"]),
        ("single", [sys.executable], ["--gradient_accumulation_steps", "2"]),
    ):
        result = subprocess.run([*launcher, script, *common, *extra, "--output_dir", str(tmp_path / output)],
                                capture_output=True, text=True, env=env, cwd=ROOT)
        assert result.returncode == 0, result.stderr[-3000:]
    logs = {}
    for output in ("ddp", "single"):
        with open(tmp_path / output / "trainer_state.json") as f:
            logs[output] = [entry for entry in json.load(f)["log_history"] if "loss" in entry]
    assert len(logs["ddp"]) == len(logs["single"]) == 3
    for ddp, single in zip(logs["ddp"], logs["single"]):
        for key in ("loss", *LOSS_TERMS[objective]):
            assert ddp[key] == pytest.approx(single[key], rel=1e-5), key
        for log in (ddp, single):
            assert log["loss"] == pytest.approx(sum(log[key] for key in LOSS_TERMS[objective]), rel=1e-5)


def test_align_mlm_trains_saves_its_dictionary_and_reports_diagnostics(tmp_path):
    data = slice_corpus(tmp_path, f"{SAMPLE}/tico19.en-es.en", f"{SAMPLE}/tico19.en-es.es")
    dictionary = tmp_path / "en-es.dict"  # MUSE order: target @ source
    words = ["casa @ house", "perro @ dog", "gato @ cat", "agua @ water", "fiebre @ fever", "tos @ cough",
             "sol @ sun", "luna @ moon", "pan @ bread", "vino @ wine", "mesa @ table", "libro @ book"]
    dictionary.write_text("\n".join(words) + "\n")
    output = tmp_path / "out"
    log = train(tmp_path, output, [f"en-es={data}"], "--objective", "align_mlm", "--dictionaries", str(dictionary),
                "--dictionary_test_size", "0.3", "--eval_strategy", "steps", "--eval_steps", "3")
    losses = [entry for entry in log if "loss" in entry]
    assert all(-10.0 <= entry["align_loss"] <= 10.0 for entry in losses)  # α·(−mean cosine), α = 10
    assert losses[0]["loss"] == pytest.approx(losses[0]["mlm_loss"] + losses[0]["align_loss"], rel=1e-4)
    saved = json.loads((output / "align_mlm_dictionary.json").read_text())
    # the saved config describes the run: α of the dictionary loss, no cross-lingual head
    config = json.loads((output / "config.json").read_text())
    assert config["align_loss_weight"] == 10.0 and config["cross_lingual_weight"] == 0.0
    held_out = [entry for entry in log if "eval_dict_p@1" in entry]
    assert held_out and 0 <= held_out[-1]["eval_dict_input_p@1"] <= 1
    assert 0 < len(saved["pairs"]) < len(words)  # the held-out source words are not trained on


@pytest.mark.slow
def test_train_heads_only_leaves_the_encoder_and_word_embeddings_unchanged(tmp_path):
    data = [f"en-es={slice_corpus(tmp_path, f'{SAMPLE}/tico19.en-es.en', f'{SAMPLE}/tico19.en-es.es')}"]
    start, warmed = tmp_path / "start", tmp_path / "warmed"
    train(tmp_path, start, data, "--max_steps", "1", "--save_strategy", "no")
    train(tmp_path, warmed, data, "--model_name_or_path", str(start), "--trust_remote_code", "true",
          "--train_heads_only", "true", "--max_steps", "2", "--save_strategy", "no", "--learning_rate", "1e-2")
    with safe_open(str(start / "model.safetensors"), "pt") as before, safe_open(str(warmed / "model.safetensors"), "pt") as after:
        changed = {key for key in before.keys() if not torch.equal(before.get_tensor(key), after.get_tensor(key))}
    assert changed and all(key.startswith(("cls.", "cross_lingual_")) for key in changed), changed
    card = (warmed / "README.md").read_text()  # a local base model, by its folder name only
    assert str(tmp_path) not in card and "| base model | start | run |" in card
    assert "cls.predictions.transform.dense.weight" in changed and "cross_lingual_transform.weight" in changed


def test_corpus_prediction_vocabulary_trains_only_the_output_rows_of_the_corpus_pieces(tmp_path, caplog):
    data = [f"en-es={slice_corpus(tmp_path, f'{SAMPLE}/tico19.en-es.en', f'{SAMPLE}/tico19.en-es.es', pairs=16)}"]
    start, trained = tmp_path / "start", tmp_path / "trained"
    train(tmp_path, start, data, "--objective", "tlm", "--max_steps", "1", "--save_strategy", "no")
    with caplog.at_level("INFO"):
        train(tmp_path, trained, data, "--model_name_or_path", str(start), "--objective", "tlm", "--max_steps", "2",
              "--save_strategy", "no", "--learning_rate", "1e-2", "--prediction_vocabulary", "corpus")
    corpus = set()
    for path in data[0].split("=")[1].split(","):
        corpus.update(token for line in open(path, encoding="utf-8")
                      for token in AutoTokenizer.from_pretrained(start)(line.strip())["input_ids"])
    assert f"Predictions among the {len(corpus)} pieces the corpora hold" in caplog.text
    with safe_open(str(start / "model.safetensors"), "pt") as before, safe_open(str(trained / "model.safetensors"), "pt") as after:
        moved = (before.get_tensor("cls.predictions.bias") != after.get_tensor("cls.predictions.bias")).nonzero().flatten()
    # the output bias moves for corpus pieces only (a softmax over the whole vocabulary moves every row)
    assert 0 < len(moved) and set(moved.tolist()) <= corpus
    assert "| prediction vocabulary | corpus | run |" in (trained / "README.md").read_text()


def parse(tmp_path, *argv):
    model_args, data_args, alignment_args, training_args, objective, given = run_pretrain.parse_arguments(
        ["--output_dir", str(tmp_path / "out"), "--report_to", "none", *argv])
    return model_args, data_args, alignment_args, training_args, objective, given


def test_paper_defaults_fill_only_what_is_not_given(tmp_path):
    _, data_args, alignment_args, training_args, objective, given = parse(
        tmp_path, "--objective", "ppa", "--learning_rate", "1e-4")
    assert objective.name == "ppa" and {"objective", "learning_rate", "output_dir"} <= given
    assert training_args.learning_rate == 1e-4  # given: kept
    assert (training_args.per_device_train_batch_size, training_args.num_train_epochs, training_args.warmup_steps,
            training_args.weight_decay, data_args.mlm_probability) == (128, 10.0, 0.1, 0.01, 0.15)
    _, data_args, alignment_args, training_args, _, _ = parse(tmp_path)  # weam
    assert (training_args.learning_rate, training_args.per_device_train_batch_size, training_args.num_train_epochs,
            training_args.weight_decay, data_args.mlm_probability) == (5e-5, 32, 2.0, 0.0, 0.3)
    _, _, alignment_args, _, _, _ = parse(tmp_path, "--objective", "align_mlm")
    assert alignment_args.align_loss_weight == 10.0
    # a JSON/YAML file: its keys are what is given
    arguments = tmp_path / "args.yaml"
    arguments.write_text(f"objective: ppa\nweight_decay: 0.0\noutput_dir: {tmp_path / 'out'}\nreport_to: none\n")
    _, _, _, training_args, objective, given = run_pretrain.parse_arguments([str(arguments)])
    assert objective.name == "ppa" and training_args.weight_decay == 0.0 and training_args.learning_rate == 3e-5
    assert given == {"objective", "weight_decay", "output_dir", "report_to"}


@pytest.mark.parametrize("argv, message", [
    (["--objective", "tlm", "--cross_lingual_weight", "0.5"], "--cross_lingual_weight applies to --objective weam only"),
    (["--objective", "ppa", "--unaligned_tokens", "self"], "--unaligned_tokens applies to --objective weam only"),
    (["--objective", "mlm", "--aligner", "neural"], "--aligner: --objective mlm uses no word alignment"),
    (["--objective", "tlm", "--symmetrization", "union"], "--symmetrization: --objective tlm uses no word alignment"),
    (["--aligner", "neural+eflomal", "--aligner_model", "m", "--symmetrization", "union"],
     "--symmetrization applies to --aligner eflomal only"),
    (["--aligner", "neural"], "--aligner neural needs --aligner_model"),
    (["--aligner_model", "m"], "--aligner_model applies to the neural aligners"),
    (["--align_pairs_per_step", "10"], "--align_pairs_per_step applies to the dictionary loss only"),
    (["--objective", "align_mlm"], "the dictionary loss .α = 10. needs --dictionaries"),
    (["--eval_tatoeba_languages", "de"], "--eval_tatoeba_languages applies with --eval_tatoeba_dir only"),
    (["--cross_lingual_weight", "0"], "λ = 0 is --objective tlm"),
    (["--max_steps", "0"], "--max_steps must be positive"),
    (["--mlm_probability", "-0.3"], r"--mlm_probability is the share of tokens masked, in \(0, 1\); got -0.3"),
    (["--mlm_probability", "1.5"], "got 1.5"),
    (["--per_device_train_batch_size", "-4"], "--per_device_train_batch_size must be at least 1, got -4"),
    (["--validation_pairs", "0", "--eval_strategy", "steps"], "--validation_pairs 0 holds nothing out"),
    (["--streaming", "--max_steps", "5", "--prediction_vocabulary", "corpus"],
     "--prediction_vocabulary corpus reads the whole corpus ahead: not with --streaming"),
])
def test_a_setting_that_cannot_apply_or_cannot_work_stops_the_run(tmp_path, argv, message):
    with pytest.raises(SystemExit, match=message):
        run_pretrain.main(["--output_dir", str(tmp_path / "out"), "--report_to", "none", *argv])
    assert not (tmp_path / "out").exists()


def test_a_tokenizer_larger_than_the_model_vocabulary_stops_before_the_data(tmp_path):
    # the data does not exist: an error about it would mean the data was read first
    with pytest.raises(SystemExit, match=r"has \d+ tokens but the model's vocabulary 100"):
        run_pretrain.main(["--train_data", f"en-es={tmp_path}/none.en,{tmp_path}/none.es", "--config_overrides",
                           TINY + ",vocab_size=100", "--output_dir", str(tmp_path / "out"), "--report_to", "none"])


@pytest.mark.slow
def test_no_validation_pairs_trains_without_evaluation_and_warns_of_unknown_tokens(tmp_path, caplog):
    # Greek is not in the demo tokenizer (mBERT's pieces of the shipped en/es/zh sample): mostly [UNK]
    source = tmp_path / "greek.en"
    target = tmp_path / "greek.el"
    source.write_text("the patient has a fever\n" * 16)
    target.write_text("ο ασθενής έχει πυρετό ψψψ ξξξ\n" * 16)
    links = tmp_path / "greek.align"  # given: no aligner run
    links.write_text("0-0 3-3\n" * 16)
    output = tmp_path / "out"
    os.environ["HF_DATASETS_CACHE"] = str(tmp_path / "datasets-cache")
    run_pretrain.main(["--train_data", f"en-el={source},{target},{links}", "--config_overrides", TINY,
                       "--output_dir", str(output), "--per_device_train_batch_size", "8", "--validation_pairs", "0",
                       "--max_steps", "2", "--save_strategy", "no", "--report_to", "none"])
    log = json.loads((output / "trainer_state.json").read_text())["log_history"]
    assert not any(key.startswith("eval_") for entry in log for key in entry)
    warning = next(record.getMessage() for record in caplog.records if "of the training tokens are [UNK]" in record.getMessage())
    assert "the demo tokenizer covers only the shipped sample" in warning
    assert float(warning.split("%")[0]) > 20


@pytest.mark.slow
def test_processes_that_are_not_joined_stop_with_the_fix(tmp_path, free_port):
    """Two processes on a machine without GPUs and without --use_cpu would train two copies into one folder."""
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port),
         os.path.join(ROOT, "run_pretrain.py"), "--output_dir", str(tmp_path / "out"), "--report_to", "none"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert result.returncode != 0
    assert "2 processes were launched" in result.stderr and "--use_cpu" in result.stderr
    # a one-line error from each process (the launcher itself then reports the failed children)
    assert "run_pretrain.py\", line" not in result.stderr and not (tmp_path / "out").exists()


def test_help_keeps_the_line_breaks_of_the_description(capsys):
    with pytest.raises(SystemExit) as stop:
        run_pretrain.parse_arguments(["--objective", "ppa", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "\n    python run_pretrain.py                       # the embedded default" in text
    # each objective's paper value, and the one this objective takes
    assert "(weam 5e-05, tlm 5e-05, mlm 5e-05, ppa 3e-05, align_mlm 5e-05, awesome_align 2e-05). (default: 3e-05)" in " ".join(text.split())


def test_the_demo_tokenizer_script_prints_help_without_rebuilding(capsys):
    sys.path.insert(0, SAMPLE)
    import make_demo_tokenizer

    vocabulary = os.path.join(SAMPLE, "demo-tokenizer", "vocab.txt")
    before = os.stat(vocabulary).st_mtime_ns
    with pytest.raises(SystemExit) as stop:
        make_demo_tokenizer.main(["--help"])
    assert stop.value.code == 0 and "\n    python data/sample/make_demo_tokenizer.py" in capsys.readouterr().out
    assert os.stat(vocabulary).st_mtime_ns == before
