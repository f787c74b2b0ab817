"""Reading parallel corpora, word links -> subword positions, and every kind of bad input."""

import json
import os
import subprocess
import sys

import datasets
import pytest
from transformers import AutoTokenizer

from weam.corpora import CorpusSpec, ParallelDataError, load_parallel_corpus, subword_alignment

ROOT = os.path.join(os.path.dirname(__file__), "..")
TOKENIZER_DIR = os.path.join(ROOT, "data", "sample", "mbert-tokenizer")


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TOKENIZER_DIR)


def write(path, lines, mode="w"):
    if mode == "wb":
        path.write_bytes(b"".join(lines))
    else:
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def load(tokenizer, spec, tmp_path, **options):
    options.setdefault("aligner", "eflomal")
    return load_parallel_corpus(CorpusSpec.parse(spec), tokenizer, cache_dir=str(tmp_path / "cache"), **options)


def tokens(tokenizer, example, positions):
    return [tokenizer.convert_ids_to_tokens(example["input_ids"][p]) for p in positions]


def test_spec_parsing():
    assert CorpusSpec.parse("corpus.en,corpus.de") == CorpusSpec("en", "de", "corpus.en,corpus.de")
    assert CorpusSpec.parse("en-de=Helsinki-NLP/europarl:de-en").location == "Helsinki-NLP/europarl:de-en"
    with pytest.raises(ParallelDataError, match="say which languages"):
        CorpusSpec.parse("pairs.tsv")


def test_given_alignments_become_subword_pairs(tokenizer, tmp_path):
    # "Bundesregierung" is several word pieces; the link 1-1 must join every piece with "government".
    src = write(tmp_path / "c.de", ["die Bundesregierung sagt"])
    tgt = write(tmp_path / "c.en", ["the government says"])
    links = write(tmp_path / "c.align", ["0-0 1-1 2-2"])
    dataset, report = load(tokenizer, f"de-en={src},{tgt},{links}", tmp_path)
    example = dataset[0]
    pieces = tokenizer.tokenize("Bundesregierung")
    assert len(pieces) > 1
    by_target = {}
    for i, j in example["alignment"]:
        by_target.setdefault(tokenizer.convert_ids_to_tokens(example["input_ids"][j]), []).append(i)
    assert tokens(tokenizer, example, by_target["government"]) == pieces
    assert tokens(tokenizer, example, by_target["the"]) == ["die"]
    assert all(example["token_type_ids"][j] == 1 and example["token_type_ids"][i] == 0 for i, j in example["alignment"])
    first, _ = load(tokenizer, f"de-en={src},{tgt},{links}", tmp_path, first_subword_only=True)
    assert len(first[0]["alignment"]) == 3
    assert (report.read, report.used, sum(report.skipped.values())) == (1, 1, 0)


def test_subword_alignment_drops_truncated_words_and_never_moves_a_link():
    source_positions = {0: [1], 1: [2, 3]}  # word 2 was cut off
    target_positions = {0: [5], 1: [6]}
    assert subword_alignment([(0, 0), (1, 1), (2, 1)], source_positions, target_positions) == [[1, 5], [2, 6], [3, 6]]
    assert subword_alignment([(1, 1)], source_positions, target_positions, first_subword_only=True) == [[2, 6]]


def test_truncation_keeps_every_link_on_its_words(tokenizer, tmp_path):
    vocabulary = tokenizer.convert_ids_to_tokens(list(range(20000, 21000)))
    words = [w for w in vocabulary if w.isalpha() and w.isascii() and len(w) > 3][:40]  # one piece each, distinct
    src = write(tmp_path / "t.en", [" ".join(words)])
    tgt = write(tmp_path / "t.de", [" ".join(words)])
    links = write(tmp_path / "t.align", [" ".join(f"{k}-{k}" for k in range(40))])
    dataset, _ = load(tokenizer, f"en-de={src},{tgt},{links}", tmp_path, max_seq_length=32)
    example = dataset[0]
    assert len(example["input_ids"]) == 32
    assert len(example["alignment"]) == 14  # 32 = [CLS] + 15 + [SEP] + 14 + [SEP]: words past the cut lose their links
    for i, j in example["alignment"]:  # each surviving link joins the same word on both sides
        assert example["input_ids"][i] == example["input_ids"][j]


def test_eflomal_aligns_a_real_sample(tokenizer, tmp_path):
    sample = os.path.join(ROOT, "data", "sample", "tico19.en-es")
    dataset, report = load(tokenizer, f"en-es={sample}.en,{sample}.es", tmp_path)
    assert report.read == report.used == 2100
    linked = sum(len(a) > 0 for a in dataset["alignment"])
    assert linked / len(dataset) > 0.95


def test_tables_and_translation_column(tokenizer, tmp_path):
    tsv = write(tmp_path / "p.tsv", ["en\tde\talignment", "the house\tdas Haus\t0-0 1-1"])
    dataset, _ = load(tokenizer, f"en-de={tsv}", tmp_path)
    assert len(dataset[0]["alignment"]) == 2
    jsonl = write(tmp_path / "p.jsonl", [json.dumps({"translation": {"en": "a house", "de": "ein Haus"}})])
    dataset, report = load(tokenizer, f"en-de={jsonl}", tmp_path)
    assert report.used == 1 and len(dataset[0]["alignment"]) > 0
    folder = tmp_path / "saved"
    datasets.Dataset.from_dict({"source": ["a house"], "target": ["ein Haus"]}).save_to_disk(str(folder))
    dataset, report = load(tokenizer, f"en-de={folder}", tmp_path)
    assert report.used == 1


def test_hub_dataset_name_config_and_split(tokenizer, tmp_path, monkeypatch):
    """The Hub path (offline here): NAME:CONFIG@SPLIT reaches `datasets.load_dataset` as it should."""
    calls = []

    def load_dataset(name, config, split, **kwargs):
        calls.append((name, config, split))
        pairs = [{"en": "a house", "fi": "talo"}, {"en": "the cat", "fi": "kissa"}]
        return datasets.Dataset.from_dict({"translation": pairs})

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    dataset, report = load(tokenizer, "en-fi=Helsinki-NLP/opus-100:en-fi@train[:2]", tmp_path)
    assert calls == [("Helsinki-NLP/opus-100", "en-fi", "train[:2]")]
    assert report.used == 2 and len(dataset) == 2
    with pytest.raises(ParallelDataError, match=r"holds \['en', 'fi'\], not both en and de"):
        load(tokenizer, "en-de=Helsinki-NLP/opus-100:en-fi", tmp_path)
    assert calls[-1] == ("Helsinki-NLP/opus-100", "en-fi", "train")


BAD_INPUTS = {
    # name: (files to write, the error it must give, skippable)
    "empty side": ({"x.en": ["a b", "c d"], "x.de": ["a b", "  "]}, r"x.de:2: empty target side", True),
    "over-long line": ({"x.en": ["a " * 30, "c"], "x.de": ["b", "d"]}, r"x.en:1: line longer than --max_line_chars \(60 characters, the limit is 40\)", True),
    "unequal line counts": ({"x.en": ["a", "b", "c"], "x.de": ["a", "b"]}, r"x.de: ends at line 2", False),
    "alignment out of range": (
        {"x.en": ["a b", "c"], "x.de": ["a b", "c"], "x.align": ["0-0 1-5", "0-0"]},
        r"line 1: alignment link 1-5 out of range \(2 x 2 words\)", True),
    "alignment line count": (
        {"x.en": ["a", "b"], "x.de": ["a", "b"], "x.align": ["0-0"]}, r"x.align: ends at line 1", False),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_names_file_and_line(tokenizer, tmp_path, case):
    files, message, skippable = BAD_INPUTS[case]
    paths = [write(tmp_path / name, lines) for name, lines in files.items()]
    spec = "en-de=" + ",".join(paths)
    with pytest.raises(ParallelDataError, match=message):
        load(tokenizer, spec, tmp_path, max_line_chars=40)
    if skippable:
        dataset, report = load(tokenizer, spec, tmp_path, max_line_chars=40, skip_invalid=True)
        assert report.read == 2 and report.used == len(dataset) == 1 and sum(report.skipped.values()) == 1


def test_invalid_utf8_names_the_line(tokenizer, tmp_path):
    src = write(tmp_path / "u.en", [b"fine\n", b"caf\xe9\n"], mode="wb")
    tgt = write(tmp_path / "u.de", ["gut", "Kaffee"])
    with pytest.raises(ParallelDataError, match=r"u.en:2: not valid UTF-8"):
        load(tokenizer, f"en-de={src},{tgt}", tmp_path)
    tsv = write(tmp_path / "u.tsv", [b"en\tde\n", b"a\tb\n", b"caf\xe9\tc\n"], mode="wb")
    with pytest.raises(ParallelDataError, match=r"u.tsv:3: not valid UTF-8"):
        load(tokenizer, f"en-de={tsv}", tmp_path)


def test_missing_column_lists_what_is_there(tokenizer, tmp_path):
    tsv = write(tmp_path / "m.tsv", ["english\tgerman", "a\tb"])
    with pytest.raises(ParallelDataError, match=r"no text columns for en-de; it has \['english', 'german'\]"):
        load(tokenizer, f"en-de={tsv}", tmp_path)


def test_run_pretrain_reports_bad_data_without_a_traceback(tmp_path):
    src = write(tmp_path / "b.en", ["a", "b"])
    tgt = write(tmp_path / "b.de", ["a"])
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "run_pretrain.py"), "--train_data", f"en-de={src},{tgt}",
         "--output_dir", str(tmp_path / "out")],
        capture_output=True, text=True, env={**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "cache")},
    )
    assert result.returncode != 0
    assert "error: " in result.stderr and "b.de: ends at line 1" in result.stderr
    assert "Traceback" not in result.stderr
