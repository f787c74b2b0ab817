"""Reading parallel corpora, word links -> subword positions, and every kind of bad input."""

import functools
import json
import os
import subprocess
import sys

import datasets
import pytest
from transformers import AutoTokenizer

from test_words import E5, xlm_r_tokenizer
from weam.corpora import CorpusSpec, ParallelDataError, hold_out_pairs, load_parallel_corpus, subword_alignment
from weam.word_alignment import split_words
from weam.words import words_and_text

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
    source_tokens = [[1], [2, 3], []]  # word 2 was cut off
    target_tokens = [[5], [6]]
    assert subword_alignment([(0, 0), (1, 1), (2, 1)], source_tokens, target_tokens) == [[1, 5], [2, 6], [3, 6]]
    assert subword_alignment([(1, 1)], source_tokens, target_tokens, first_subword_only=True) == [[2, 6]]
    # two words read from one token (这样的 = 这样 + 的) give its pairs once
    assert subword_alignment([(0, 0), (1, 0)], [[3], [3]], [[7, 8]]) == [[3, 7], [3, 8]]


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


# Chinese as written (split into characters for the aligner), and Japanese given as words (as in the
# ja-en gold set; `で あ る` is written `である`): (source, target, links, pretokenized).
CJK_PAIRS = {
    "zh": ("然而，这样的人很多。", "However, many such people.", "0-0 1-0 2-1 3-3 4-3 5-3 6-4 7-2 8-2 9-5", False),
    "ja": ("足利 義満 は 幕府 の 第 3 代 で あ る 。", "Yoshimitsu Ashikaga was the third shogun of the shogunate .",
           "0-1 1-0 2-2 3-8 4-6 5-4 6-4 7-4 8-2 9-2 10-2 11-9", True),
}
# An XLM-R tokenizer over these sentences' pieces: `足利` and `然而` have no `▁` form, so a sentence that
# starts with them starts with a bare `▁`; `这样的` and `である` run across word boundaries.
CJK_PIECES = ["▁", "然而", "，", "这样的", "人", "很多", "。", "▁However", ",", "▁many", "▁such", "▁people", ".",
              "足利", "義満", "は", "幕府", "の", "第", "▁3", "代", "である", "▁Yoshimitsu", "▁Ashikaga", "▁was",
              "▁the", "▁third", "▁shogun", "▁of", "▁shogunate", "▁."]


@functools.lru_cache
def cjk_tokenizer(name):
    if name == "mbert":
        return AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    if name == "e5":
        if not os.path.isdir(E5):
            pytest.skip("multilingual-e5-small not built (python ../shared/tools/get_e5_small.py)")
        return AutoTokenizer.from_pretrained(E5)
    return xlm_r_tokenizer(CJK_PIECES)


def as_written(text, pretokenized):
    """The sentence the encoder must read, and its words' character spans."""
    words = text.split() if pretokenized else split_words(text)
    return words_and_text(words, None if pretokenized else text)


def cjk_corpus(tmp_path, language):
    source, target, links, pretokenized = CJK_PAIRS[language]
    paths = [write(tmp_path / f"p.{name}", [line]) for name, line in (("src", source), ("en", target), ("al", links))]
    return f"{language}-en={','.join(paths)}", pretokenized


@pytest.mark.parametrize("name, language", [("mbert", "ja"), ("xlm-r", "zh"), ("xlm-r", "ja"),
                                            *(pytest.param("e5", language, marks=pytest.mark.slow) for language in "zh ja".split())])
def test_pairs_are_tokenized_as_written_and_links_land_on_their_words(tmp_path, name, language):
    """Issue 13: `is_split_into_words` put a bare `▁` before every Chinese/Japanese word (XLM-R) and cut
    `である` into `で あ る` (BERT); word links and whole-word masks then landed on the wrong pieces."""
    tokenizer = cjk_tokenizer(name)
    spec, pretokenized = cjk_corpus(tmp_path, language)
    dataset, _ = load(tokenizer, spec, tmp_path, pretokenized=pretokenized)
    example = dataset[0]
    (source, source_spans), (target, target_spans) = (as_written(text, pretokenized) for text in CJK_PAIRS[language][:2])
    written = tokenizer(source, target, return_offsets_mapping=True)
    assert example["input_ids"] == written["input_ids"]
    tokens, offsets = written.tokens(), written["offset_mapping"]
    sequences = written.sequence_ids()

    def words_of(position, spans):  # the words a token overlaps
        start, end = offsets[position]
        return {word for word, (word_start, word_end) in enumerate(spans) if start < word_end and word_start < end}

    links = [tuple(map(int, link.split("-"))) for link in CJK_PAIRS[language][2].split()]
    linked = set()
    for i, j in example["alignment"]:
        assert sequences[i] == 0 and sequences[j] == 1 and tokens[i].strip("▁") and tokens[j].strip("▁")
        pairs = {(a, b) for a in words_of(i, source_spans) for b in words_of(j, target_spans)} & set(links)
        assert pairs, f"{tokens[i]}-{tokens[j]} joins no linked words"
        linked |= pairs
    assert linked == set(links)  # every link reached its subwords
    assert len(example["alignment"]) == len({tuple(pair) for pair in example["alignment"]})
    for position, word in enumerate(example["word_ids"]):  # whole-word masking: a bare ▁ goes with the next word
        if sequences[position] is None:
            assert word == -1
        elif tokens[position] == "▁":
            assert word == example["word_ids"][position + 1] >= 0
        else:
            first_word = min(words_of(position, source_spans if sequences[position] == 0 else target_spans))
            assert word == first_word + sequences[position] * len(source_spans)


@pytest.mark.parametrize("name", ["mbert", "xlm-r"])
def test_sentences_unit_gives_each_side_alone_with_its_template_and_the_whole_length(tmp_path, name):
    """Issue 13: MLM cut pairs into sentences with BERT-only logic (`<s></s>T</s>` for XLM-R), each keeping the pair's budget."""
    tokenizer = cjk_tokenizer(name)
    spec, pretokenized = cjk_corpus(tmp_path, "ja")
    dataset, report = load(tokenizer, spec, tmp_path, pretokenized=True, unit="sentences", aligner="none")
    (source, _), (target, _) = (as_written(text, True) for text in CJK_PAIRS["ja"][:2])
    assert dataset["input_ids"] == [tokenizer(source)["input_ids"], tokenizer(target)["input_ids"]]
    assert dataset["token_type_ids"] == [[0] * len(ids) for ids in dataset["input_ids"]]
    assert dataset["alignment"] == [[], []]
    for example in dataset:
        ids, word_ids = example["input_ids"], example["word_ids"]
        assert example["special_tokens_mask"] == tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
        assert word_ids[0] == word_ids[-1] == -1 and word_ids[1:-1] == sorted(word_ids[1:-1]) and max(word_ids) > 5
    assert (report.read, report.used) == (1, 1)
    # each sentence has the whole length: with room for 10 tokens, S keeps 10 where the pair gave it about 5
    short, _ = load(tokenizer, spec, tmp_path, pretokenized=True, unit="sentences", aligner="none", max_seq_length=10)
    assert [len(ids) for ids in short["input_ids"]] == [10, 10]
    assert short["input_ids"][1][-1] == tokenizer.sep_token_id and short["input_ids"][1][0] == tokenizer.cls_token_id
    with pytest.raises(ValueError, match="single sentences carry no word alignment"):
        load(tokenizer, spec, tmp_path, unit="sentences")


def test_sentences_unit_counts_a_skipped_pair_once(tokenizer, tmp_path):
    src = write(tmp_path / "s.en", ["a house", "  ", "the cat"])
    tgt = write(tmp_path / "s.de", ["ein Haus", "leer", "die Katze"])
    dataset, report = load(tokenizer, f"en-de={src},{tgt}", tmp_path, unit="sentences", aligner="none", skip_invalid=True)
    assert (report.read, report.used, sum(report.skipped.values())) == (3, 2, 1) and len(dataset) == 4
    assert [tokenizer.decode(ids, skip_special_tokens=True) for ids in dataset["input_ids"]] == [
        "a house", "ein Haus", "the cat", "die Katze"]


def test_held_out_pairs_keep_both_sentences_on_one_side():
    sentences = datasets.Dataset.from_dict({"line": [k // 2 for k in range(20)]})  # pair k: rows 2k, 2k + 1
    train, held_out = hold_out_pairs(sentences, 3, seed=0, unit="sentences")
    assert len(held_out) == 6 and len(train) == 14
    assert held_out["line"][::2] == held_out["line"][1::2] and train["line"][::2] == train["line"][1::2]
    assert not set(train["line"]) & set(held_out["line"])
    pairs = datasets.Dataset.from_dict({"line": list(range(10))})
    assert hold_out_pairs(pairs, 3, seed=0)[1]["line"] == held_out["line"][::2]  # the same pairs either way
    stream = sentences.to_iterable_dataset()
    train, held_out = hold_out_pairs(stream, 3, seed=0, unit="sentences")
    assert [row["line"] for row in held_out] == [0, 0, 1, 1, 2, 2] and next(iter(train))["line"] == 3


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
    "over-long line": ({"x.en": ["a " * 30, "c"], "x.de": ["b", "d"]}, r"x.en:1 .* longer than 40", True),
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
