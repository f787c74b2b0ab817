"""run_xnli.py and run_qa.py, and what they share in finetuning.py / utils_qa.py / trainer_qa.py (run_pos.py: test_pos.py).

End-to-end runs use tiny random models (BERT, and WEAM loaded as remote code) with the real mBERT
tokenizer and slices of the real XNLI / MLQA / TyDiQA files in ../shared; they are skipped when ../shared
is absent. Everything else runs on data written by the tests.
"""

import dataclasses
import json
import math
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from datasets import Dataset
from transformers import (
    BertConfig,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    Trainer,
    TrainingArguments,
    default_data_collator,
)

import run_pos
import run_qa
import run_xnli
from run_qa import (
    TYDIQA_LANGUAGE_NAMES,
    prepare_eval_features,
    prepare_train_features,
    qa_hub_split,
    read_squad_json,
    tokenize_windows,
)
from run_xnli import read_xnli_tsv
from trainer_qa import QuestionAnsweringTrainer
from utils_qa import postprocess_qa_predictions
from weam import finetuning, metrics
from weam.finetuning import (
    CODE_SWITCH_GROUP,
    CrossLingualArguments,
    CrossLingualTrainer,
    GroupedBatchSampler,
    HubSplit,
    InputError,
    code_switch,
    files_by_language,
    results_markdown,
    select_rows,
    summarize,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TOKENIZER_DIR = SHARED / "tokenizers" / "bert-base-multilingual-cased"
XNLI_FILES = str(SHARED / "data" / "xnli" / "dev-{lang}.tsv")
MLQA_FILES = str(SHARED / "data" / "mlqa" / "dev" / "dev-context-{lang}-question-{lang}.json")
TYDIQA_FILE = str(SHARED / "data" / "tydiqa" / "tydiqa.goldp.en.train.json")
needs_shared = pytest.mark.skipif(
    not (TOKENIZER_DIR.is_dir() and Path(XNLI_FILES.format(lang="en")).is_file() and Path(TYDIQA_FILE).is_file()),
    reason="../shared (mBERT tokenizer, XNLI, MLQA and TyDiQA files) is not present",
)
# Fast, quiet, no checkpoints: every end-to-end run adds these.
QUICK = [
    "--save_strategy", "no", "--report_to", "none", "--disable_tqdm", "true",
    "--num_train_epochs", "1", "--per_device_eval_batch_size", "64", "--learning_rate", "1e-3",
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A tiny random BERT and a tiny random WEAM checkpoint (saved as WEAM saves itself), with mBERT's tokenizer."""
    from transformers import AutoTokenizer, BertModel

    from configuration_weam import WeamConfig
    from modeling_weam import WeamForPreTraining

    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    size = dict(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    folders = {}
    for name, model in (("bert", BertModel(BertConfig(**size))), ("weam", WeamForPreTraining(WeamConfig(**size)))):
        folders[name] = tmp_path_factory.mktemp(name)
        model.save_pretrained(folders[name])
        tokenizer.save_pretrained(folders[name])
    return folders


def run_script(script, *args):
    """Run a script as a user would; its output is shown if it fails."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    process = subprocess.run(
        [sys.executable, str(REPO / script), *map(str, args)], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-5000:]
    return process.stdout


def fake_hub(monkeypatch, tables):
    """Serve `datasets.load_dataset(path, name, split=...)` from `tables`, recording each call."""
    calls = []

    def load_dataset(path, name=None, split=None, cache_dir=None):
        calls.append((path, name, split))
        return tables[(path, name, split)]

    monkeypatch.setattr(finetuning.datasets, "load_dataset", load_dataset)
    return calls


# ----------------------------------------------------------------------------- end to end


@needs_shared
@pytest.mark.slow
def test_xnli_zero_shot_from_a_weam_checkpoint_over_two_seeds(tiny_models, tmp_path):
    out = tmp_path / "xnli"
    stdout = run_script(
        "run_xnli.py",
        "--model_name_or_path", tiny_models["weam"], "--trust_remote_code",
        "--train_file", XNLI_FILES, "--train_rows", ":24",
        "--eval_files", XNLI_FILES, "--eval_rows", "2400:2424",
        "--train_language", "en", "--eval_languages", "en", "de", "zh", "--seeds", "1", "2",
        "--do_train", "--do_eval", "--output_dir", out, "--per_device_train_batch_size", "8", *QUICK,
    )  # fmt: skip

    results = json.loads((out / "results.json").read_text())
    assert results["task"] == "XNLI" and results["mode"] == "zero-shot" and results["train_language"] == "en"
    assert results["seeds"] == [1, 2] and results["metrics"] == ["accuracy"]
    assert results["columns"] == ["en", "de", "zh", "avg", "avg_without_en"]
    per_seed = {seed: results["per_seed"][seed]["accuracy"] for seed in ("1", "2")}
    for seed, row in per_seed.items():
        for language in ("en", "de", "zh"):
            # The table holds what each run measured and saved; 24 items: multiples of 100/24.
            saved = json.loads((out / f"seed-{seed}" / f"eval_{language}_results.json").read_text())
            assert row[language] == saved[f"eval_{language}_accuracy"]
            assert (row[language] * 24 / 100) == pytest.approx(round(row[language] * 24 / 100))
            # the per-item predictions, in input order, give the same accuracy against the file's labels
            predicted = (out / f"seed-{seed}" / f"predictions-{language}.txt").read_text().splitlines()
            gold = [line.split("\t")[2] for line in
                    Path(XNLI_FILES.format(lang=language)).read_text(encoding="utf-8").splitlines()[2400:2424]]
            assert len(predicted) == 24 and 100 * sum(map(str.__eq__, predicted, gold)) / 24 == pytest.approx(row[language])
        assert row["avg"] == pytest.approx((row["en"] + row["de"] + row["zh"]) / 3)
        assert row["avg_without_en"] == pytest.approx((row["de"] + row["zh"]) / 2)
    for column in results["columns"]:
        first, second = per_seed["1"][column], per_seed["2"][column]
        assert results["mean"]["accuracy"][column] == pytest.approx((first + second) / 2)
        assert results["std"]["accuracy"][column] == pytest.approx(abs(first - second) / math.sqrt(2))

    markdown = (out / "results.md").read_text()
    assert "| metric | en | de | zh | avg | avg w/o en |" in markdown
    accuracy_row = next(line for line in markdown.splitlines() if line.startswith("| accuracy |"))
    assert accuracy_row.count(" ± ") == 5
    assert markdown in stdout  # the table is printed too

    # The fine-tuned classifier is a stock BERT classifier (a WEAM folder is a BERT checkpoint).
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(out / "seed-1")
    assert type(model).__name__ == "BertForSequenceClassification" and model.config.num_labels == 3


@needs_shared
@pytest.mark.slow
def test_qa_zero_shot_tydiqa_to_mlqa_with_language_aware_scores_and_frozen_word_embeddings(tiny_models, tmp_path):
    out = tmp_path / "qa"
    run_script(
        "run_qa.py",
        "--model_name_or_path", tiny_models["bert"],
        "--train_file", TYDIQA_FILE, "--train_rows", ":16",
        "--eval_files", MLQA_FILES, "--eval_rows", ":8", "--eval_languages", "en", "de", "zh",
        "--max_seq_length", "64", "--doc_stride", "16", "--max_answer_length", "10", "--freeze_word_embeddings",
        "--train_sampling_strategy", "group_by_length",
        "--do_train", "--do_eval", "--output_dir", out, "--per_device_train_batch_size", "16", *QUICK,
    )  # fmt: skip

    results = json.loads((out / "results.json").read_text())
    assert results["metrics"] == ["f1", "exact_match"] and "mlqa normalization" in results["task"]
    assert results["seeds"] == [42] and all(std is None for std in results["std"]["f1"].values())
    assert "±" not in (out / "results.md").read_text()
    for language in ("en", "de", "zh"):
        examples = read_squad_json(MLQA_FILES.format(lang=language), language).select(range(8))
        predictions = json.loads((out / "seed-42" / f"eval_{language}_predictions.json").read_text())
        assert list(predictions) == examples["id"]
        for example in examples:  # spans of their context ("empty": no valid span among the n best, as upstream)
            assert predictions[example["id"]] in example["context"] or predictions[example["id"]] == "empty"
        # Re-scoring the saved predictions with MLQA's normalization gives the table's numbers.
        scores = metrics.load("qa", "mlqa").compute(
            predictions=[{"id": i, "prediction_text": predictions[i]} for i in examples["id"]],
            references=[{"id": e["id"], "answers": e["answers"]} for e in examples],
            answer_language=language,
        )
        assert results["per_seed"]["42"]["f1"][language] == pytest.approx(scores["f1"])
        assert results["per_seed"]["42"]["exact_match"][language] == pytest.approx(scores["exact_match"])

    # Fine-tuning changed the encoder, never the word embeddings.
    from transformers import AutoModelForQuestionAnswering, BertModel

    pretrained = BertModel.from_pretrained(tiny_models["bert"])
    tuned = AutoModelForQuestionAnswering.from_pretrained(out / "seed-42")
    assert torch.equal(pretrained.embeddings.word_embeddings.weight, tuned.bert.embeddings.word_embeddings.weight)
    query = pretrained.encoder.layer[0].attention.self.query.weight
    assert not torch.equal(query, tuned.bert.encoder.layer[0].attention.self.query.weight)


@needs_shared
@pytest.mark.slow
def test_xnli_translate_train_code_switched_lora_from_the_hub_with_a_json_config(tiny_models, tmp_path, monkeypatch):
    english, german = read_xnli_tsv(XNLI_FILES.format(lang="en")), read_xnli_tsv(XNLI_FILES.format(lang="de"))
    calls = fake_hub(
        monkeypatch,
        {
            ("facebook/xnli", "en", "train"): english,
            ("facebook/xnli", "de", "train"): german,
            ("facebook/xnli", "en", "test"): english,
            ("facebook/xnli", "de", "test"): german,
        },
    )
    out = tmp_path / "xnli-tt"
    config = {
        "model_name_or_path": str(tiny_models["bert"]),
        "dataset_name": "xnli",
        "eval_languages": ["en", "de"],
        "translate_train": True,
        "code_switch": True,
        "lora_r": 4,
        "train_rows": ":12",
        "eval_rows": "2400:2416",
        "seeds": [7],
        "do_train": True,
        "do_eval": True,
        "output_dir": str(out),
        "per_device_train_batch_size": 6,
        "save_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "num_train_epochs": 1,
    }
    (tmp_path / "args.json").write_text(json.dumps(config))
    results = run_xnli.main([str(tmp_path / "args.json")])

    assert results["mode"] == "translate-train" and results["code_switch"] and results["lora_r"] == 4
    assert set(results["per_seed"]["7"]["accuracy"]) == {"en", "de", "avg", "avg_without_en"}
    # German training data and their English partners (for code-switching) come from the train split.
    assert ("facebook/xnli", "de", "train") in calls and ("facebook/xnli", "en", "train") in calls
    assert ("facebook/xnli", "de", "test") in calls
    for language in ("en", "de"):
        run_dir = out / "seed-7" / f"train-{language}"
        assert (run_dir / "adapter_config.json").is_file() and (run_dir / f"eval_{language}_results.json").is_file()
    assert "LoRA r=4" in (out / "results.md").read_text()


@needs_shared
@pytest.mark.slow
def test_qa_translate_train_code_switched_from_the_hub_with_a_yaml_config(tiny_models, tmp_path, monkeypatch):
    def hub_table(language):  # MLQA as the Hub serves it: with a title
        data = read_squad_json(MLQA_FILES.format(lang=language), language)
        return data.add_column("title", ["t"] * len(data))

    calls = fake_hub(
        monkeypatch,
        {
            ("facebook/mlqa", "mlqa-translate-train.de", "train"): hub_table("de"),
            ("rajpurkar/squad", None, "train"): hub_table("en"),  # MLQA's English training data are SQuAD
            ("facebook/mlqa", "mlqa.de.de", "test"): hub_table("de"),
            ("facebook/mlqa", "mlqa.en.en", "test"): hub_table("en"),
        },
    )
    out = tmp_path / "qa-tt"
    config = {
        "model_name_or_path": str(tiny_models["bert"]),
        "dataset_name": "mlqa",
        "eval_languages": ["de", "en"],
        "translate_train": True,
        "code_switch": True,
        "train_rows": ":8",
        "eval_rows": "400:406",
        "max_seq_length": 64,
        "doc_stride": 16,
        "do_train": True,
        "do_eval": True,
        "output_dir": str(out),
        "per_device_train_batch_size": 12,
        "save_strategy": "no",
        "report_to": "none",
        "disable_tqdm": True,
        "num_train_epochs": 1,
        "save_fine_tuned_model": False,
    }
    (tmp_path / "args.yaml").write_text(yaml.safe_dump(config))
    results = run_qa.main([str(tmp_path / "args.yaml")])

    assert results["mode"] == "translate-train" and results["code_switch"]
    assert results["columns"] == ["de", "en", "avg", "avg_without_en"]
    assert results["mean"]["f1"]["avg_without_en"] == results["mean"]["f1"]["de"]
    assert ("facebook/mlqa", "mlqa-translate-train.de", "train") in calls and (
        "rajpurkar/squad",
        None,
        "train",
    ) in calls
    assert not (out / "seed-42" / "train-de" / "model.safetensors").exists()  # --save_fine_tuned_model false
    assert (out / "seed-42" / "train-de" / "eval_de_predictions.json").is_file()


# ----------------------------------------------------------------------------- command line


TASK_ARGUMENTS = {run_xnli: run_xnli.XnliArguments, run_qa: run_qa.QaArguments, run_pos: run_pos.PosArguments}


@pytest.mark.parametrize("module", [run_xnli, run_qa, run_pos])
def test_help_explains_every_option_and_shows_its_default(module, capsys):
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for dataclass in (finetuning.ModelArguments, CrossLingualArguments, TASK_ARGUMENTS[module]):
        for field in dataclasses.fields(dataclass):
            assert f"--{field.name}" in text
            assert len(field.metadata.get("help", "")) > 20, f"--{field.name} has no real help text"
    assert "--per_device_train_batch_size" in text and "Zero-shot" in text
    max_seq_length = next(f for f in dataclasses.fields(TASK_ARGUMENTS[module]) if f.name == "max_seq_length")
    assert f"(default: {max_seq_length.default})" in text
    assert "(default: ['query', 'value'])" in text and "(default: en)" in text  # LoRA layers, --train_language
    assert "--eval_languages EVAL_LANGUAGES [EVAL_LANGUAGES ...]" in text  # a list: values separated by spaces


def test_bad_options_fail_before_any_model_is_loaded(tmp_path, capsys):
    base = ["--model_name_or_path", str(tmp_path / "no-model"), "--output_dir", str(tmp_path / "out")]
    tsv = tmp_path / "dev-en.tsv"
    tsv.write_text("a\tb\tneutral\n")
    with pytest.raises(InputError, match="--code_switch .* needs --translate_train"):
        run_xnli.main([*base, "--eval_languages", "en", "--code_switch", "--do_train"])
    with pytest.raises(InputError, match="the de file .*dev-de.tsv does not exist"):
        run_xnli.main(
            [*base, "--eval_languages", "en", "de", "--eval_files", str(tmp_path / "dev-{lang}.tsv"), "--do_eval"]
        )
    with pytest.raises(InputError, match="nothing to do"):
        run_xnli.main([*base, "--eval_languages", "en", "--eval_files", str(tsv)])
    with pytest.raises(InputError, match="--do_train needs training data"):
        run_qa.main([*base, "--eval_languages", "en", "--do_train"])
    with pytest.raises(InputError, match="--seeds must name distinct seeds"):
        run_xnli.main([*base, "--eval_languages", "en", "--seeds", "1", "1"])
    with pytest.raises(SystemExit):  # argparse: "invalid int value: 'two'"
        run_xnli.main([*base, "--eval_languages", "en", "--seeds", "1", "two"])
    with pytest.raises(InputError, match="--eval_rows must be START:END"):
        run_xnli.main([*base, "--eval_languages", "en", "--eval_rows", "10"])
    with pytest.raises(InputError, match="--eval_languages ru: .*'ru'.*squad"):
        run_qa.main([*base, "--eval_languages", "ru", "--eval_files", str(tsv), "--do_eval"])
    with pytest.raises(InputError, match="--model_name_or_path .*no-model: no such folder"):
        run_xnli.main([*base, "--eval_languages", "en", "--eval_files", str(tsv), "--do_eval"])
    old_syntax = tmp_path / "args.yaml"  # a JSON/YAML file: its lists must be lists
    old_syntax.write_text(f"model_name_or_path: m\noutput_dir: {tmp_path / 'out'}\neval_languages: en,de\n")
    with pytest.raises(SystemExit) as stop:
        run_xnli.main([str(old_syntax)])
    assert stop.value.code == 2 and "eval_languages takes a list" in capsys.readouterr().err


@pytest.mark.parametrize(
    "script, line, message",
    [
        ("run_xnli.py", "a\tb\tcontradictory", ":1: unknown label 'contradictory'; XNLI labels are entailment, neutral, "
         "contradiction"),
        ("run_pos.py", "The dog\tDET", ":1: 2 words but 1 tags; each word needs one tag"),
        ("run_qa.py", "{not json", ": not a JSON file"),
    ],
)  # fmt: skip
def test_bad_input_ends_the_script_with_its_message_only(script, line, message, tiny_bert, tmp_path, monkeypatch):
    """Before: the good message came at the end of a traceback. Run as a user runs it (`__main__`), in-process."""
    path = tmp_path / "data-en.txt"
    path.write_text(line + "\n")
    argv = [script, "--model_name_or_path", str(tiny_bert), "--eval_files", str(path),
            "--eval_languages", "en", "--do_eval", "--output_dir", str(tmp_path / "out")]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPO / script), run_name="__main__")
    # SystemExit with a message: Python prints it alone on stderr and exits with status 1.
    assert exit_info.value.code.startswith(f"error: {path}{message}")
    assert exit_info.value.code.endswith("(fix it, or pass --skip_invalid to skip such items)") or script == "run_qa.py"


@pytest.mark.parametrize(
    "train_rows, eval_rows, overlap",
    [(":100", "50:150", "rows 50 to 99"), (None, None, "rows 0 to the end"), ("20:", ":30", "rows 20 to 29"),
     (":10", "10:", None), ("20:", ":20", None)],
)  # fmt: skip
def test_training_on_evaluation_rows_of_the_same_files_is_an_error(tmp_path, train_rows, eval_rows, overlap):
    """Before: a warning in the log, and the run went on (the issue's `:100` vs `50:150`)."""
    for language in ("en", "de"):
        (tmp_path / f"dev-{language}.tsv").write_text("a\tb\tneutral\n")
    template = [str(tmp_path / "dev-{lang}.tsv")]
    training_args = TrainingArguments(output_dir=str(tmp_path), do_train=True, do_eval=True, report_to="none")
    for train_file, eval_files, eval_languages in (
        (template, template, ["de"]),  # the same template: parallel files, German items are the English ones
        ([str(tmp_path / "dev-en.tsv")], [f"en={tmp_path / 'dev-en.tsv'}"], ["en"]),  # one file, two spellings
    ):
        xl_args = CrossLingualArguments(
            eval_languages=eval_languages, train_file=train_file, eval_files=eval_files,
            train_rows=train_rows, eval_rows=eval_rows,
        )  # fmt: skip
        if overlap is None:
            finetuning.check_arguments(xl_args, training_args)
        else:
            with pytest.raises(InputError, match=f"both read {overlap} of .*measure memory, not transfer"):
                finetuning.check_arguments(xl_args, training_args)
    other = tmp_path / "train-en.tsv"  # a different file may be read whole
    other.write_text("a\tb\tneutral\n")
    xl_args = CrossLingualArguments(eval_languages=["en"], train_file=[str(other)], eval_files=template)
    finetuning.check_arguments(xl_args, training_args)


def test_files_by_language_accepts_a_template_a_list_or_one_path(tmp_path):
    for language in ("de", "es"):
        (tmp_path / f"dev-{language}.tsv").write_text("x")
    template = [str(tmp_path / "dev-{lang}.tsv")]
    assert files_by_language(template, ["de", "es"], "eval_files") == {
        "de": str(tmp_path / "dev-de.tsv"),
        "es": str(tmp_path / "dev-es.tsv"),
    }
    listed = [f"es={tmp_path / 'dev-es.tsv'}", f"de={tmp_path / 'dev-de.tsv'}"]
    assert files_by_language(listed, ["de"], "eval_files") == {"de": str(tmp_path / "dev-de.tsv")}
    assert files_by_language([str(tmp_path / "dev-de.tsv")], ["en"], "train_file") == {
        "en": str(tmp_path / "dev-de.tsv")
    }
    with pytest.raises(InputError, match="gives no file for zh"):
        files_by_language(listed, ["de", "zh"], "eval_files")
    with pytest.raises(InputError, match=r"names 1 file\(s\) for 2 language\(s\)"):
        files_by_language([str(tmp_path / "dev-de.tsv")], ["de", "es"], "eval_files")
    with pytest.raises(InputError, match="cannot read 'de='"):
        files_by_language(["de="], ["de"], "eval_files")
    with pytest.raises(InputError, match="--eval_files: the zh file"):
        files_by_language(template, ["zh"], "eval_files")


def test_rows_select_a_python_slice_and_refuse_an_empty_one():
    data = Dataset.from_dict({"x": list(range(10))})
    assert select_rows(data, "2:5", "train_rows", "f")["x"] == [2, 3, 4]
    assert select_rows(data, "8:", "train_rows", "f")["x"] == [8, 9]
    assert select_rows(data, None, "train_rows", "f") is data
    with pytest.raises(ValueError, match="selects no row of f, which has 10 rows"):
        select_rows(data, "20:", "train_rows", "f")


# ----------------------------------------------------------------------------- reading data


def test_read_xnli_tsv_maps_labels_and_names_the_line_of_bad_input(tmp_path):
    good = tmp_path / "good.tsv"
    good.write_text("premise\thypothesis\tlabel\nA man.\tA person.\tentailment\nX\tY\tcontradiction\n\n")
    data = read_xnli_tsv(good)
    assert data["premise"] == ["A man.", "X"] and data["label"] == [0, 2]
    assert data.features["label"].names == ["entailment", "neutral", "contradiction"]

    columns = tmp_path / "columns.tsv"
    columns.write_text("a\tb\tneutral\na\tb\n")
    with pytest.raises(ValueError, match=r"columns.tsv:2: expected 3 tab-separated columns .* found 2"):
        read_xnli_tsv(columns)
    label = tmp_path / "label.tsv"
    label.write_text("a\tb\tneutral\na\tb\tcontradictory\n")
    with pytest.raises(ValueError, match=r"label.tsv:2: unknown label 'contradictory'; XNLI labels are entailment"):
        read_xnli_tsv(label)
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="empty.tsv holds no valid items"):
        read_xnli_tsv(empty)


def squad_file(path, qas, context="Berlin is the capital of Germany."):
    path.write_text(json.dumps({"version": "1.0", "data": [{"paragraphs": [{"context": context, "qas": qas}]}]}))
    return path


def test_read_squad_json_and_where_it_finds_bad_input(tmp_path):
    qa = {"id": "q1", "question": "Capital?", "answers": [{"text": "Berlin", "answer_start": 0}]}
    data = read_squad_json(squad_file(tmp_path / "ok.json", [qa]), "de")
    assert data[0] == {
        "id": "q1",
        "context": "Berlin is the capital of Germany.",
        "question": "Capital?",
        "answers": {"text": ["Berlin"], "answer_start": [0]},
    }
    no_question = {key: value for key, value in qa.items() if key != "question"}
    with pytest.raises(InputError, match=r"q.json:data\[0\].paragraphs\[0\].qas\[0\] \(id q1\): needs a non-empty 'question'"):
        read_squad_json(squad_file(tmp_path / "q.json", [no_question]), "de")
    misplaced = {**qa, "answers": [{"text": "Berlin", "answer_start": 3}]}
    with pytest.raises(InputError, match="the answer 'Berlin' is not at answer_start 3"):
        read_squad_json(squad_file(tmp_path / "a.json", [misplaced]), "de")
    with pytest.raises(InputError, match="has no answer"):
        read_squad_json(squad_file(tmp_path / "n.json", [{**qa, "answers": []}]), "de")
    blank = {**qa, "answers": [{"text": " ", "answer_start": 6}]}
    with pytest.raises(InputError, match="an answer's text is empty .* without its gold answers"):
        read_squad_json(squad_file(tmp_path / "b.json", [blank]), "de")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="bad.json: not a JSON file"):
        read_squad_json(tmp_path / "bad.json", "de")


def test_one_bad_question_is_skipped_and_counted_with_skip_invalid(tmp_path, caplog):
    """Before: one bad question stopped the run, whatever the other 3000 were."""
    good = {"id": "q1", "question": "Capital?", "answers": [{"text": "Berlin", "answer_start": 0}]}
    bad = [
        {**good, "id": "q2", "answers": [{"text": "Berlin", "answer_start": 5}]},
        {"id": "q3", "answers": [{"text": "Berlin", "answer_start": 0}]},
        "not a question",
    ]
    path = squad_file(tmp_path / "mixed.json", [good, *bad, {**good, "id": "q4"}])
    with caplog.at_level("WARNING"):
        data = read_squad_json(path, "de", skip_invalid=True)
    assert data["id"] == ["q1", "q4"]
    assert "mixed.json: read 5 questions, used 2, skipped 3 invalid" in caplog.text
    assert "qas[1] (id q2): the answer 'Berlin' is not at answer_start 5" in caplog.text


def test_a_question_too_long_for_a_window_is_named_or_skipped_instead_of_crashing_the_tokenizer(tmp_path, caplog):
    """Before: the Rust tokenizer panicked ("`stride` must be strictly less than `max_len`") in the middle of map."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(REPO / "data" / "sample" / "mbert-tokenizer")
    context = " ".join(["word"] * 100)
    examples = Dataset.from_dict(
        {"id": ["short", "long"], "question": ["Where?", " ".join(["why"] * 45)], "context": [context, context]}
    )
    # windows of 64 tokens with 3 special tokens and a stride of 16 leave room for questions of at most 44 tokens
    with pytest.raises(InputError, match="data.json:id long: the question has 45 tokens; .* at most 44"):
        run_qa.drop_long_questions(examples, tokenizer, 64, 16, "data.json", skip_invalid=False)
    with caplog.at_level("WARNING"):
        kept = run_qa.drop_long_questions(examples, tokenizer, 64, 16, "data.json", skip_invalid=True)
    assert kept["id"] == ["short"] and "read 2 questions, used 1, skipped 1" in caplog.text
    windows = tokenize_windows(kept[:], tokenizer, 64, 16)
    assert max(len(ids) for ids in windows["input_ids"]) == 64
    assert run_qa.drop_long_questions(examples, tokenizer, 64, 15, "data.json", False)["id"] == ["short", "long"]


def test_hub_datasets_resolve_to_their_ids_configs_and_splits():
    assert qa_hub_split("mlqa", "de", "eval", None) == HubSplit("facebook/mlqa", "mlqa.de.de", "test")
    assert qa_hub_split("facebook/mlqa", "de", "eval", "validation").split == "validation"
    assert qa_hub_split("mlqa", "de", "train", None) == HubSplit("facebook/mlqa", "mlqa-translate-train.de", "train")
    assert qa_hub_split("mlqa", "en", "train", None) == HubSplit("rajpurkar/squad", None, "train")
    assert qa_hub_split("xquad", "ru", "eval", None) == HubSplit("google/xquad", "xquad.ru", "validation")
    assert qa_hub_split("tydiqa", "fi", "eval", None) == HubSplit(
        "google-research-datasets/tydiqa", "secondary_task", "validation", id_prefix="finnish-"
    )
    with pytest.raises(ValueError, match="XQuAD is an evaluation set only"):
        qa_hub_split("xquad", "de", "train", None)
    with pytest.raises(ValueError, match="mlqa has no language 'ru'"):
        qa_hub_split("mlqa", "ru", "eval", None)
    with pytest.raises(ValueError, match="unknown QA dataset 'squad_v2'"):
        qa_hub_split("squad_v2", "en", "eval", None)
    with pytest.raises(ValueError, match="unknown XNLI dataset 'mnli'"):
        run_xnli.read_xnli_hub("mnli", "de", "eval", None, None)


TYDIQA_DEV_FILES = str(SHARED / "data" / "tydiqa" / "tydiqa.goldp.{lang}.dev.json")
TYDIQA_LANGUAGES = ["en", "ar", "bn", "fi", "id", "ko", "ru", "sw", "te"]


@needs_shared
def test_the_shared_tydiqa_dev_files_hold_their_gold_answers():
    """../shared's TyDiQA-GoldP dev files once held `{"answer_start": 0, "text": ""}` for every question, and were
    refused (a file without its answers is refused still: see above); they now hold GoldP v1.1's answers, every
    one found at its answer_start (read_squad_json checks each): 5,077 questions, 8,754 answers."""
    questions = [read_squad_json(TYDIQA_DEV_FILES.format(lang=language)) for language in TYDIQA_LANGUAGES]
    assert sum(len(found) for found in questions) == 5077
    assert sum(len(answers["text"]) for found in questions for answers in found["answers"]) == 8754


@needs_shared
@pytest.mark.slow
def test_qa_zero_shot_tydiqa_goldp_in_its_nine_languages(tiny_models, tmp_path):
    """The nine languages' questions and contexts, each answer set to its context's first word (a span the first
    window of 64 tokens holds): language selection, tokenization and SQuAD-rule scores in every TyDiQA language."""
    for language in TYDIQA_LANGUAGES:
        data = json.loads(Path(TYDIQA_DEV_FILES.format(lang=language)).read_text())
        paragraphs = [paragraph for article in data["data"][:3] for paragraph in article["paragraphs"]]
        for paragraph in paragraphs:
            for qa in paragraph["qas"]:
                context = paragraph["context"]
                qa["answers"] = [{"text": context.split()[0], "answer_start": len(context) - len(context.lstrip())}]
        (tmp_path / f"{language}.json").write_text(json.dumps({"data": [{"paragraphs": paragraphs}]}))
    out = tmp_path / "tydiqa"
    results = run_qa.main([
        "--model_name_or_path", str(tiny_models["bert"]), "--answer_normalization", "squad",
        "--train_file", TYDIQA_FILE, "--train_rows", ":8",
        "--eval_files", str(tmp_path / "{lang}.json"), "--eval_languages", *TYDIQA_LANGUAGES,
        "--max_seq_length", "64", "--doc_stride", "16", "--max_answer_length", "10",
        "--do_train", "--do_eval", "--output_dir", str(out), "--per_device_train_batch_size", "8", *QUICK,
    ])  # fmt: skip
    assert results["columns"] == [*TYDIQA_LANGUAGES, "avg", "avg_without_en"]
    assert "squad normalization" in results["task"]
    squad = metrics.load("qa", "squad")
    for language in TYDIQA_LANGUAGES:
        examples = read_squad_json(tmp_path / f"{language}.json")
        assert len(examples) == 3
        assert all(question_id.startswith(TYDIQA_LANGUAGE_NAMES[language]) for question_id in examples["id"])
        predictions = json.loads((out / "seed-42" / f"eval_{language}_predictions.json").read_text())
        assert list(predictions) == examples["id"]
        scores = squad.compute(
            predictions=[{"id": i, "prediction_text": predictions[i]} for i in examples["id"]],
            references=[{"id": e["id"], "answers": e["answers"]} for e in examples],
        )
        assert results["per_seed"]["42"]["f1"][language] == pytest.approx(scores["f1"])
    # MLQA's language-aware rules know 7 languages: TyDiQA's others are refused before any training.
    with pytest.raises(InputError, match="--eval_languages bn: .*not 'bn'.*squad"):
        run_qa.main(["--model_name_or_path", str(tiny_models["bert"]), "--eval_files", str(tmp_path / "{lang}.json"),
                     "--eval_languages", *TYDIQA_LANGUAGES, "--do_eval", "--output_dir", str(out)])  # fmt: skip


def test_tydiqa_keeps_only_the_languages_ids(monkeypatch):
    mixed = Dataset.from_dict({"id": ["english-1", "finnish-2", "english-3"]})
    fake_hub(monkeypatch, {("google-research-datasets/tydiqa", "secondary_task", "train"): mixed})
    hub_split = qa_hub_split("tydiqa", "en", "train", None)
    assert finetuning.load_hub_split(hub_split)["id"] == ["english-1", "english-3"]


# ----------------------------------------------------------------------------- code-switching


def test_code_switching_xnli_pairs_rows_by_position():
    german = Dataset.from_dict({"premise": ["P1", "P2"], "hypothesis": ["H1", "H2"], "label": [0, 2]})
    english = Dataset.from_dict({"premise": ["p1", "p2"], "hypothesis": ["h1", "h2"], "label": [0, 2]})
    mixed = code_switch(german, english, [("premise",), ("hypothesis",)])
    assert mixed.to_list() == [
        {"premise": "P1", "hypothesis": "H1", "label": 0, CODE_SWITCH_GROUP: 0},
        {"premise": "p1", "hypothesis": "H1", "label": 0, CODE_SWITCH_GROUP: 0},
        {"premise": "P1", "hypothesis": "h1", "label": 0, CODE_SWITCH_GROUP: 0},
        {"premise": "P2", "hypothesis": "H2", "label": 2, CODE_SWITCH_GROUP: 1},
        {"premise": "p2", "hypothesis": "H2", "label": 2, CODE_SWITCH_GROUP: 1},
        {"premise": "P2", "hypothesis": "h2", "label": 2, CODE_SWITCH_GROUP: 1},
    ]
    with pytest.raises(ValueError, match="parallel"):
        code_switch(german, english.select([0]), [("premise",)])


def answer(text, start):
    return {"text": [text], "answer_start": [start]}


def test_code_switching_qa_pairs_by_id_and_takes_the_answer_with_the_english_context():
    german = Dataset.from_dict(
        {
            "id": ["a", "b"],
            "context": ["Er wohnt in Berlin.", "Sie ist 30."],
            "question": ["Wo?", "Alter?"],
            "answers": [answer("Berlin", 12), answer("30", 8)],
        }
    )
    english = Dataset.from_dict(
        {
            "id": ["a", "c"],
            "context": ["He lives in Berlin.", "x"],
            "question": ["Where?", "y"],
            "answers": [answer("Berlin", 12), answer("x", 0)],
        }
    )
    mixed = code_switch(german, english, [("context", "answers"), ("question",)], key="id").to_list()
    assert [row[CODE_SWITCH_GROUP] for row in mixed] == [0, 0, 0, 1]  # "b" has no English partner: alone
    original, english_context, english_question, unpaired = mixed
    assert (english_context["question"], english_context["context"]) == ("Wo?", "He lives in Berlin.")
    assert english_context["answers"] == answer("Berlin", 12)
    assert (english_question["question"], english_question["context"]) == ("Where?", "Er wohnt in Berlin.")
    assert english_question["answers"] == original["answers"]
    assert unpaired["id"] == "b"
    with pytest.raises(ValueError, match="repeat id 'a'"):
        code_switch(german, Dataset.from_dict({"id": ["a", "a"]}), [("question",)], key="id")


@needs_shared
def test_code_switched_mlqa_items_keep_their_answers_inside_their_contexts():
    german = read_squad_json(MLQA_FILES.format(lang="de"), "de").select(range(20))
    english = read_squad_json(MLQA_FILES.format(lang="en"), "en")
    mixed = code_switch(german, english, [("context", "answers"), ("question",)], key="id")
    assert len(mixed) == 60  # every German MLQA item has its English original
    for row in mixed:
        start, text = row["answers"]["answer_start"][0], row["answers"]["text"][0]
        assert row["context"][start : start + len(text)] == text


def test_grouped_batch_sampler_keeps_groups_whole_and_reshuffles_each_epoch():
    group_ids = [0, 0, 0, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    sampler = GroupedBatchSampler(group_ids, groups_per_batch=2, seed=0)
    assert len(sampler) == 3
    orders = []
    for epoch in range(4):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert sorted(row for batch in batches for row in batch) == list(range(len(group_ids)))
        for batch in batches:
            groups = {group_ids[row] for row in batch}
            assert len(groups) <= 2
            assert all(sum(group_ids[row] == g for row in batch) == group_ids.count(g) for g in groups)
        orders.append(batches)
    assert len({str(order) for order in orders}) > 1  # reshuffled
    sampler.set_epoch(1)
    assert list(sampler) == orders[1]  # deterministic for a seed and epoch


def test_trainer_batches_hold_whole_code_switching_groups(tmp_path):
    sizes = [3] * 9 + [1]  # nine items with two variants each, one item without an English partner
    group_ids = [group for group, size in enumerate(sizes) for _ in range(size)]
    data = Dataset.from_dict(
        {
            "input_ids": [[101, 10 + group, 102] for group in group_ids],  # the group, readable in each batch
            "attention_mask": [[1, 1, 1]] * len(group_ids),
            "label": [0] * len(group_ids),
            CODE_SWITCH_GROUP: group_ids,
        }
    )
    model = BertForSequenceClassification(
        BertConfig(vocab_size=120, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8)
    )
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=6, report_to="none", use_cpu=True)
    trainer = CrossLingualTrainer(model=model, args=args, train_dataset=data, data_collator=default_data_collator)
    dataloader = trainer.get_train_dataloader()
    assert len(dataloader) == 5  # 10 groups, 6 // 3 = 2 per batch
    seen = []
    for batch in dataloader:
        assert CODE_SWITCH_GROUP not in batch  # the model never sees the column
        groups = (batch["input_ids"][:, 1] - 10).tolist()
        assert all(groups.count(group) == sizes[group] for group in groups)
        seen += groups
    assert sorted(seen) == group_ids


# ----------------------------------------------------------------------------- QA features and answers


@needs_shared
def test_qa_training_windows_point_at_the_answer_tokens():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    examples = read_squad_json(MLQA_FILES.format(lang="de"), "de").select(range(6))
    batch = examples[:]
    windows = prepare_train_features(batch, tokenizer, max_seq_length=64, doc_stride=16)
    offsets = tokenize_windows(batch, tokenizer, 64, 16)["offset_mapping"]
    eval_windows = prepare_eval_features(batch, tokenizer, max_seq_length=64, doc_stride=16)
    assert len(windows["input_ids"]) == len(offsets) == len(eval_windows["input_ids"]) > len(examples)  # long contexts
    labelled = set()
    for i, (start, end) in enumerate(zip(windows["start_positions"], windows["end_positions"])):
        example = examples[examples["id"].index(eval_windows["example_id"][i])]
        if start == 0:  # CLS: the answer is not inside this window
            assert end == 0
            continue
        answer_start = example["answers"]["answer_start"][0]
        answer_end = answer_start + len(example["answers"]["text"][0])
        assert offsets[i][start][0] <= answer_start < offsets[i][start][1]
        assert offsets[i][end][0] < answer_end <= offsets[i][end][1]
        assert eval_windows["offset_mapping"][i][start] is not None  # a context token
        labelled.add(example["id"])
    assert labelled == set(examples["id"])  # every answer is inside some window
    question_offsets = eval_windows["offset_mapping"][0][1:4]
    assert question_offsets == [None, None, None]  # only context tokens keep offsets


def test_qa_evaluation_keeps_the_features_in_order_even_when_training_groups_by_length(tmp_path):
    """Answers pair logits with features by position; transformers' group_by_length also sorts evaluation data."""
    lengths = [3, 4, 5, 6, 7, 8]
    features = Dataset.from_dict({"input_ids": [[100 + i] * n for i, n in enumerate(lengths)]})

    def pad(rows):
        longest = max(len(row["input_ids"]) for row in rows)
        return {
            "input_ids": torch.tensor([row["input_ids"] + [0] * (longest - len(row["input_ids"])) for row in rows])
        }

    args = TrainingArguments(
        output_dir=str(tmp_path),
        train_sampling_strategy="group_by_length",
        per_device_eval_batch_size=2,
        report_to="none",
    )
    config = BertConfig(vocab_size=120, hidden_size=8, num_hidden_layers=1, num_attention_heads=1, intermediate_size=8)
    model = BertForQuestionAnswering(config)

    def order(trainer):
        return [
            row for batch in trainer.get_eval_dataloader(features) for row in (batch["input_ids"][:, 0] - 100).tolist()
        ]

    assert order(Trainer(model=model, args=args, data_collator=pad)) != list(range(6))  # why the override exists
    assert order(QuestionAnsweringTrainer(model=model, args=args, data_collator=pad)) == list(range(6))


def test_postprocessing_picks_the_best_valid_span(tmp_path):
    context = "Berlin is the capital of Germany"
    examples = Dataset.from_dict({"id": ["q"], "context": [context]})
    # Token 0 is outside the context (offset None); tokens 1.. cover the words of the context.
    offsets = [None, (0, 6), (7, 9), (10, 13), (14, 21), (22, 24), (25, 32)]
    features = Dataset.from_dict({"example_id": ["q"], "offset_mapping": [offsets]})
    start = np.array([[9.0, 1.0, 0.0, 0.0, 5.0, 0.0, 0.0, -100.0]])  # padded one position beyond the feature
    end = np.array([[9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0, -100.0]])
    answers = postprocess_qa_predictions(
        examples, features, (start, end), n_best_size=3, max_answer_length=3, output_dir=tmp_path, prefix="eval_de"
    )
    # Best start (token 0) is outside the context; "capital of Germany" (4-6) scores 9 and fits 3 tokens.
    assert answers == {"q": "capital of Germany"}
    assert json.loads((tmp_path / "eval_de_predictions.json").read_text()) == {"q": "capital of Germany"}
    nbest = json.loads((tmp_path / "eval_de_nbest_predictions.json").read_text())["q"]
    assert nbest[0]["text"] == "capital of Germany" and sum(c["probability"] for c in nbest) == pytest.approx(1)
    # With answers of at most 2 tokens, the best valid span is "capital" alone (5 + 0 beats 1 + 0).
    short = postprocess_qa_predictions(examples, features, (start, end), n_best_size=3, max_answer_length=2)
    assert short == {"q": "capital"}


# ----------------------------------------------------------------------------- result tables


def test_summary_and_markdown_by_hand():
    scores = {
        1: {"en": {"accuracy": 80.0}, "de": {"accuracy": 70.0}, "zh": {"accuracy": 60.0}},
        2: {"en": {"accuracy": 82.0}, "de": {"accuracy": 74.0}, "zh": {"accuracy": 62.0}},
    }
    summary = summarize(scores, ["en", "de", "zh"], ["accuracy"])
    assert summary["columns"] == ["en", "de", "zh", "avg", "avg_without_en"]
    assert summary["per_seed"]["1"]["accuracy"]["avg"] == pytest.approx(70.0)
    assert summary["per_seed"]["2"]["accuracy"]["avg_without_en"] == pytest.approx(68.0)
    mean, std = summary["mean"]["accuracy"], summary["std"]["accuracy"]
    assert mean == pytest.approx({"en": 81.0, "de": 72.0, "zh": 61.0, "avg": 71.333333, "avg_without_en": 66.5})
    # sample std of two values a, b is |a - b| / sqrt(2)
    assert std["de"] == pytest.approx(4 / math.sqrt(2))
    assert std["avg"] == pytest.approx(((82 + 74 + 62) / 3 - 70) / math.sqrt(2))  # of the seeds' averages
    assert std["avg_without_en"] == pytest.approx((68 - 65) / math.sqrt(2))

    results = {
        "task": "XNLI",
        "model": "m",
        "mode": "zero-shot",
        "train_language": "en",
        "code_switch": False,
        "lora_r": 0,
    }
    markdown = results_markdown({**results, **summary})
    assert "| metric | en | de | zh | avg | avg w/o en |\n|---|---:|---:|---:|---:|---:|\n" in markdown
    assert "| accuracy | 81.0 ± 1.4 | 72.0 ± 2.8 | 61.0 ± 1.4 | 71.3 ± 1.9 | 66.5 ± 2.1 |" in markdown
    assert "Seeds: 1, 2 (mean ± sample std)" in markdown

    single = summarize({3: scores[1]}, ["de", "zh"], ["accuracy"])
    assert single["columns"] == ["de", "zh", "avg", "avg_without_en"] and single["std"]["accuracy"]["de"] is None
    assert "| accuracy | 70.0 | 60.0 | 65.0 | 65.0 |" in results_markdown({**results, **single})
    english_only = summarize({3: {"en": {"accuracy": 50.0}}}, ["en"], ["accuracy"])
    assert english_only["columns"] == ["en", "avg"]


@pytest.mark.slow
def test_result_files_are_utf8_whatever_the_locale(tmp_path):
    """Before: results.md ("±") and the QA predictions (Chinese answers) were written in the locale's encoding."""
    script = tmp_path / "write.py"
    script.write_text(
        "import sys\n"
        "from datasets import Dataset\n"
        "import numpy as np\n"
        "from utils_qa import postprocess_qa_predictions\n"
        "from weam.finetuning import summarize, write_results\n"
        "out = sys.argv[1]\n"
        "examples = Dataset.from_dict({'id': ['q'], 'context': ['\\u5317\\u4eac']})\n"
        "features = Dataset.from_dict({'example_id': ['q'], 'offset_mapping': [[(0, 1), (1, 2)]]})\n"
        "logits = (np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))\n"
        "postprocess_qa_predictions(examples, features, logits, output_dir=out)\n"
        "scores = {1: {'zh': {'f1': 1.0}}, 2: {'zh': {'f1': 2.0}}}\n"
        "info = {'task': 'QA', 'model': 'm', 'mode': 'zero-shot', 'train_language': 'en', 'code_switch': False, 'lora_r': 0}\n"
        "write_results({**info, **summarize(scores, ['zh'], ['f1'])}, out)\n"
    )  # ASCII only: the interpreter below reads and writes ASCII
    # files only: the terminal (stdout) keeps its own encoding
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": "utf-8",
           "PYTHONPATH": str(REPO)}
    process = subprocess.run([sys.executable, str(script), str(tmp_path)], env=env, capture_output=True)
    assert process.returncode == 0, process.stderr.decode(errors="replace")[-2000:]
    assert json.loads((tmp_path / "predictions.json").read_text(encoding="utf-8")) == {"q": "北京"}
    assert "1.5 ± 0.7" in (tmp_path / "results.md").read_text(encoding="utf-8")
