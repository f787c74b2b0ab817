"""Reading parallel corpora, word links -> subword positions, and every kind of bad input."""

import functools
import json
import math
import os
import re
import subprocess
import sys

import datasets
import pytest
from transformers import AutoTokenizer

from test_words import E5, xlm_r_tokenizer
import run_pretrain
from weam.corpora import (
    CorpusSpec, MonolingualSpec, ParallelDataError, hold_out_pairs, load_monolingual_corpus, load_parallel_corpus,
    read_corpus, subword_alignment, tokenizing_processes,
)
from weam.word_alignment import split_words
from weam.words import words_and_text

ROOT = os.path.join(os.path.dirname(__file__), "..")
TOKENIZER_DIR = os.path.join(ROOT, "data", "sample", "mbert-tokenizer")


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TOKENIZER_DIR)


def write(path, lines, mode="w"):
    """Lines of text, or (mode "wb") bytes written as given; returns the path."""
    if mode == "wb":
        path.write_bytes(b"".join(lines))
    else:
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def write_lines(path, lines):
    """Each line (text, or bytes as they are) and a newline."""
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
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


def test_tokenizing_processes_share_the_cores_and_spare_small_corpora(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # two launch processes on this machine: 4 cores each
    assert [tokenizing_processes(pairs) for pairs in (500, 19_999, 20_000, 35_000, 2_000_000)] == [1, 1, 2, 3, 4]
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "16")  # more launch processes than cores: one each
    assert tokenizing_processes(2_000_000) == 1
    assert tokenizing_processes(500, requested=3) == 3


def test_two_tokenizing_processes_give_the_same_examples_and_errors(tokenizer, tmp_path):
    sentences = [f"word{k} and the {k % 7} others" for k in range(60)]
    src, tgt = write(tmp_path / "p.en", sentences), write(tmp_path / "p.de", sentences)
    links = ["0-0 1-1 2-2"] * 60
    spec = f"en-de={src},{tgt},{write(tmp_path / 'p.align', links)}"
    (one, _), (two, _) = (load(tokenizer, spec, tmp_path, num_proc=n) for n in (1, 2))
    assert one.to_list() == two.to_list()
    links[45] = "0-0 9-9"  # in the second process' half
    spec = f"en-de={src},{tgt},{write(tmp_path / 'bad.align', links)}"
    with pytest.raises(ParallelDataError, match=r"line 46: alignment link 9-9 out of range \(5 x 5 words\)"):
        load(tokenizer, spec, tmp_path, num_proc=2)
    dataset, report = load(tokenizer, spec, tmp_path, num_proc=2, skip_invalid=True)
    assert (report.read, report.used, len(dataset)) == (60, 59, 59)


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


def test_a_monolingual_file_gives_the_examples_of_the_sentences_unit(tokenizer, tmp_path):
    """--monolingual_data: each line as `[CLS] S [SEP]`, exactly as MLM reads a side of a pair, so both mix in a batch."""
    english = ["a house", "the cat sleeps"]
    mono, report = load_monolingual_corpus(MonolingualSpec.parse(f"en={write(tmp_path / 'm.en', english)}"), tokenizer,
                                           cache_dir=str(tmp_path / "cache"))
    src, tgt = write(tmp_path / "p.en", english), write(tmp_path / "p.de", ["ein Haus", "die Katze schläft"])
    pairs, _ = load(tokenizer, f"en-de={src},{tgt}", tmp_path, unit="sentences", aligner="none")
    assert mono.column_names == pairs.column_names
    for column in mono.column_names:
        assert mono[column] == pairs[column][::2], column
    assert (report.name, report.unit, report.read, report.used) == ("en (monolingual)", "sentences", 2, 2)
    assert str(report) == "en (monolingual): 2 sentences read, 2 used, 0 skipped (none)"


@pytest.mark.parametrize("lines, message", [
    (["a house", "   ", "the cat"], r"m\.en:2: empty line\. Remove the line"),
    ([b"a house", b"caf\xe9"], r"m\.en:2: not valid UTF-8 \(byte 0xE9 at character 4\)"),
    (["a house", "x" * 30], r"m\.en:2: line longer than --max_line_chars \(30 characters, the limit is 20\)"),
])
def test_a_bad_monolingual_line_is_named_or_skipped_and_counted(tokenizer, tmp_path, lines, message):
    spec = MonolingualSpec.parse(f"en={write_lines(tmp_path / 'm.en', lines)}")
    with pytest.raises(ParallelDataError, match=message):
        load_monolingual_corpus(spec, tokenizer, max_line_chars=20, cache_dir=str(tmp_path / "cache"))
    dataset, report = load_monolingual_corpus(spec, tokenizer, max_line_chars=20, skip_invalid=True,
                                              cache_dir=str(tmp_path / "cache"))
    read = len(lines)
    assert (report.read, report.used, sum(report.skipped.values()), len(dataset)) == (read, read - 1, 1, read - 1)


def test_an_empty_monolingual_file_is_one_line(tokenizer, tmp_path):
    (tmp_path / "m.en").write_bytes(b"")
    with pytest.raises(ParallelDataError, match=r"m\.en: empty, hence no sentences to read"):
        load_monolingual_corpus(MonolingualSpec.parse(f"en={tmp_path / 'm.en'}"), tokenizer, cache_dir=str(tmp_path))


def test_a_monolingual_spec_names_one_language_and_one_file():
    assert MonolingualSpec.parse("en=wiki.en") == MonolingualSpec("en", "wiki.en")
    for spec in ("wiki.en", "en-de=a.en,a.de", "en=a.en,b.en"):
        with pytest.raises(ParallelDataError, match="a monolingual corpus is `LANG=FILE`"):
            MonolingualSpec.parse(spec)


@pytest.mark.slow
def test_monolingual_sentences_train_beside_the_pairs_and_are_reported(tmp_path):
    src = f"{ROOT}/data/sample/tico19.en-es.en"
    mono = write(tmp_path / "mono.es", [line.strip() for line in open(f"{ROOT}/data/sample/tico19.en-es.es")][:40])
    output = tmp_path / "out"
    run_pretrain.main(["--objective", "weam", "--train_data", f"en-es={src},{ROOT}/data/sample/tico19.en-es.es",
                       "--monolingual_data", f"es={mono}", "--sampling_weights", "1", "1", "--config_overrides", TINY,
                       "--per_device_train_batch_size", "8", "--max_steps", "3", "--validation_pairs", "8",
                       "--logging_steps", "1", "--save_strategy", "no", "--output_dir", str(output)])
    report = json.loads((output / "data_report.json").read_text())
    assert report[1] == {"corpus": "es (monolingual)", "unit": "sentences", "read": 40, "used": 40, "skipped": {}}
    card = (output / "README.md").read_text()
    assert "| es (monolingual sentences) | mono.es | 40 |" in card
    assert len(logged_losses(output)) == 3


@pytest.mark.slow
def test_ppa_on_two_processes_gathers_keys_also_in_a_step_where_one_process_has_no_pair(tmp_path, free_port):
    """41 pairs, then single sentences, in order, 4 a batch on each of 2 processes: in a step where one process
    holds a pair and the other only sentences, the second must still join the gather of the step's keys (it used to
    skip it: the two processes' collectives then fell out of step, and a gather read garbage sizes)."""
    source = [line.strip() for line in open(f"{ROOT}/data/sample/tico19.en-es.en", encoding="utf-8")][:41]
    target = [line.strip() for line in open(f"{ROOT}/data/sample/tico19.en-es.es", encoding="utf-8")][:41]
    pairs = f"{write(tmp_path / 'p.en', source)},{write(tmp_path / 'p.es', target)}"
    mono = write(tmp_path / "mono.es", ["uno dos tres", "cuatro cinco", "seis"] * 10)
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port),
         os.path.join(ROOT, "run_pretrain.py"), "--objective", "ppa", "--train_data", f"en-es={pairs}",
         "--monolingual_data", f"es={mono}", "--config_overrides", TINY, "--train_sampling_strategy", "sequential",
         "--per_device_train_batch_size", "4", "--max_steps", "8", "--validation_pairs", "0", "--save_strategy", "no",
         "--logging_steps", "1", "--use_cpu", "--output_dir", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
        env={**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    losses = logged_losses(tmp_path / "out")
    assert len(losses) == 8 and all(math.isfinite(entry["loss"]) for entry in losses)


@pytest.mark.parametrize("argv, message", [
    (["--objective", "awesome_align", "--monolingual_data", "en=m.en"], "trains an aligner on pairs only"),
    (["--monolingual_data", "en=m.en", "--sampling_weights", "1", "1"], r"one weight per --train_data corpus and "
                                                                        r"--monolingual_data file \(3\), got 2"),
    (["--monolingual_data", "m.en"], "a monolingual corpus is `LANG=FILE`"),
])
def test_monolingual_settings_that_cannot_work_stop_before_the_data(argv, message, capsys):
    with pytest.raises(SystemExit, match=message):
        run_pretrain.parse_command_line(argv)


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


@pytest.mark.slow
def test_eflomal_aligns_a_real_sample(tokenizer, tmp_path):
    sample = os.path.join(ROOT, "data", "sample", "tico19.en-es")
    dataset, report = load(tokenizer, f"en-es={sample}.en,{sample}.es", tmp_path)
    assert report.read == report.used == 2100
    linked = sum(len(a) > 0 for a in dataset["alignment"])
    assert linked / len(dataset) > 0.95


def test_tables_and_translation_column(tokenizer, tmp_path):
    tsv = write(tmp_path / "p.tsv", ["\ufeffen\tde\talignment", "the house\tdas Haus\t0-0 1-1"])  # a BOM first
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
    # name: (files to write, the error it must give, skippable); every skippable case has one good pair of two
    "empty side": ({"x.en": ["a b", "c d"], "x.de": ["a b", "  "]}, r"x.de:2: empty target side", True),
    "over-long line": ({"x.en": ["a " * 30, "c"], "x.de": ["b", "d"]},
                       r"x.en:1: line longer than --max_line_chars \(60 characters, the limit is 40\)", True),
    "invalid UTF-8": ({"x.en": ["fine", b"caf\xe9"], "x.de": ["gut", "Kaffee"]},
                      r"x.en:2: not valid UTF-8 \(byte 0xE9 at character 4\). Convert the file to UTF-8", True),
    "invalid UTF-8 in a table": ({"x.tsv": ["en\tde", b"caf\xe9\tKaffee", "a\tb"]}, r"x.tsv:2: not valid UTF-8", True),
    "TSV row with an extra field": ({"x.tsv": ["en\tde", "a\tb\tc", "d\te"]},
                                    r"x.tsv:2: wrong number of fields \(3; the header has 2\)", True),
    "CSV row with an extra field": ({"x.csv": ["en,de", '"a, b",c', "d,e,f"]},
                                    r"x.csv:3: wrong number of fields \(3; the header has 2\)", True),
    "empty line in a table": ({"x.tsv": ["en\tde", "", "d\te"]}, r"x.tsv:2: empty line. Remove the line", True),
    "broken JSON line": ({"x.jsonl": ['{"en": "a", "de": "b"}', '{"en": "c", "de": ']},
                         r"x.jsonl:2: not valid JSON \(Expecting value at character 19\)", True),
    "a number for a sentence": ({"x.jsonl": ['{"en": 5, "de": "b"}', '{"en": "c", "de": "d"}']},
                                r"x.jsonl:1: not text \(the source side is the int 5\)", True),
    "a JSON line without the languages": (
        {"x.jsonl": ['{"translation": {"en": "a", "fr": "b"}}', '{"translation": {"en": "a", "de": "b"}}']},
        r"x.jsonl:1: no text fields for en-de \(it has \['en', 'fr'\]\)", True),
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
    paths = [write_lines(tmp_path / name, lines) for name, lines in files.items()]
    spec = "en-de=" + ",".join(paths)
    with pytest.raises(ParallelDataError, match=message):
        load(tokenizer, spec, tmp_path, max_line_chars=40)
    if skippable:
        dataset, report = load(tokenizer, spec, tmp_path, max_line_chars=40, skip_invalid=True)
        assert report.read == 2 and report.used == len(dataset) == 1 and sum(report.skipped.values()) == 1


def test_missing_column_lists_what_is_there(tokenizer, tmp_path):
    tsv = write(tmp_path / "m.tsv", ["english\tgerman", "a\tb"])
    with pytest.raises(ParallelDataError, match=r"no text columns for en-de; it has \['english', 'german'\]"):
        load(tokenizer, f"en-de={tsv}", tmp_path)


@pytest.mark.slow
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


RUN_PRETRAIN_BAD_DATA = {
    # name: (files to write, the corpus LOCATION, the one-line error)
    "empty files": ({"e.en": [], "e.de": []}, "e.en,e.de", r"e.en and .*e.de: empty, hence no sentence pairs to read"),
    "empty table": ({"e.tsv": []}, "e.tsv", r"e.tsv: empty, hence no sentence pairs"),
    "a header and no rows": ({"h.tsv": ["en\tde"]}, "h.tsv", r"h.tsv: no sentence pairs in it"),
    "a folder as location": ({}, "folder", r"folder: a folder, but not one written by `Dataset.save_to_disk`"),
    "a folder among the files": ({"x.de": ["b"]}, "folder,x.de", r"folder: a folder, not a file"),
    "a table that does not exist": ({}, "missing.tsv", r"missing.tsv: no such file"),
    "TSV row with an extra field": ({"x.tsv": ["en\tde", "a\tb", "c\td\te"]}, "x.tsv",
                                    r"x.tsv:3: wrong number of fields \(3; the header has 2\)"),
    "broken JSONL row": ({"x.jsonl": ['{"en": "a", "de": "b"}', '{"en": "c", "de": ']}, "x.jsonl",
                         r"x.jsonl:2: not valid JSON"),
    "an integer value": ({"x.jsonl": ['{"en": "a", "de": 7}']}, "x.jsonl",
                         r"x.jsonl:1: not text \(the target side is the int 7\)"),
    "offline Hub id": ({}, "nobody/no-such-corpus:de-en", r"nobody/no-such-corpus:de-en: offline \(HF_HUB_OFFLINE or "
                       r"HF_DATASETS_OFFLINE is set\), and not in the datasets cache"),
}


@pytest.mark.parametrize("case", list(RUN_PRETRAIN_BAD_DATA))
def test_run_pretrain_stops_on_bad_data_with_one_line(tmp_path, monkeypatch, case):
    files, location, message = RUN_PRETRAIN_BAD_DATA[case]
    for name, lines in files.items():
        write_lines(tmp_path / name, lines)
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        run_pretrain.main(["--train_data", f"en-de={location}", "--output_dir", str(tmp_path / "out"),
                           "--cache_dir", str(tmp_path / "cache")])
    assert re.fullmatch(f"error: .*{message}.*", str(exit_info.value)), str(exit_info.value)
    assert "\n" not in str(exit_info.value)


# ----------------------------------------------------------------------------------------------
# Streaming


def stream_formats(tmp_path):
    """The same two pairs (with alignments) in every file format and as a saved dataset."""
    pairs = [("the house", "das Haus", "0-0 1-1"), ("a small cat", "eine kleine Katze", "0-0 1-1 2-2")]
    write(tmp_path / "x.en", [s for s, _, _ in pairs])
    write(tmp_path / "x.de", [t for _, t, _ in pairs])
    write(tmp_path / "x.align", [a for _, _, a in pairs])
    write(tmp_path / "x.tsv", ["en\tde\talignment"] + ["\t".join(pair) for pair in pairs])
    write(tmp_path / "x.csv", ["source,target,alignment"] + [",".join(pair) for pair in pairs])
    write(tmp_path / "x.jsonl", [json.dumps({"translation": {"en": s, "de": t}, "alignment": a}) for s, t, a in pairs])
    (tmp_path / "x.json").write_text(json.dumps([{"en": s, "de": t, "alignment": a} for s, t, a in pairs]))
    datasets.Dataset.from_dict({"en": [s for s, _, _ in pairs], "de": [t for _, t, _ in pairs],
                                "alignment": [a for _, _, a in pairs]}).save_to_disk(str(tmp_path / "saved"))
    files = [["x.en", "x.de", "x.align"], ["x.tsv"], ["x.csv"], ["x.jsonl"], ["x.json"], ["saved"]]
    return ["en-de=" + ",".join(str(tmp_path / name) for name in names) for names in files]


def test_a_stream_reads_every_format_as_the_whole_corpus(tmp_path):
    for spec in stream_formats(tmp_path):
        whole = read_corpus(CorpusSpec.parse(spec), cache_dir=str(tmp_path / "cache"))
        stream = read_corpus(CorpusSpec.parse(spec), streaming=True)
        assert stream.column_names == whole.column_names == ["source", "target", "alignment", "line", "problem"], spec
        assert list(stream) == whole.to_list(), spec


@pytest.mark.parametrize("aligner", ["none", "given"])
def test_a_streamed_corpus_is_prepared_as_the_whole_corpus(tokenizer, tmp_path, aligner):
    spec = stream_formats(tmp_path)[3]  # JSON Lines
    if aligner == "none":  # the objectives without word links
        write(tmp_path / "x.jsonl", [json.dumps({"en": "the house", "de": "das Haus"})] * 3)
    whole, report = load(tokenizer, spec, tmp_path, aligner=aligner)
    stream, no_report = load(tokenizer, spec, tmp_path, aligner=aligner, streaming=True)
    assert no_report is None and report.used == len(whole)
    assert list(stream) == whole.to_list()
    assert (aligner == "given") == all(example["alignment"] for example in stream)
    with pytest.raises(ParallelDataError, match="--skip_invalid cannot be combined with --streaming"):
        load(tokenizer, spec, tmp_path, aligner=aligner, streaming=True, skip_invalid=True)


def test_a_sharded_hub_stream_is_read_as_one_shard(monkeypatch):
    """Split by shards, the training processes could get unequal numbers of batches and wait forever."""
    pairs = [{"en": f"house {k}", "fi": f"talo {k}"} for k in range(6)]

    def load_dataset(name, config, split, streaming, **kwargs):
        assert streaming
        return datasets.Dataset.from_dict({"translation": pairs}).to_iterable_dataset(num_shards=3)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    stream = read_corpus(CorpusSpec.parse("en-fi=Helsinki-NLP/opus-100:en-fi"), streaming=True)
    assert stream.num_shards == 1
    assert [(row["source"], row["target"]) for row in stream] == [(p["en"], p["fi"]) for p in pairs]


SAMPLE = os.path.join(ROOT, "data", "sample")
TINY = "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64"


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    """A random BERT with the demo tokenizer: an encoder for the neural aligner."""
    import torch
    from transformers import BertConfig, BertModel

    demo_tokenizer = AutoTokenizer.from_pretrained(os.path.join(SAMPLE, "demo-tokenizer"))
    torch.manual_seed(0)
    folder = str(tmp_path_factory.mktemp("encoder"))
    BertModel(BertConfig(vocab_size=len(demo_tokenizer), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=32)).save_pretrained(folder)
    demo_tokenizer.save_pretrained(folder)
    return folder


def stream_corpora(tmp_path, pairs=24):
    """en-es: two files of the shipped sample with given Pharaoh links; en-zh: JSON Lines, for an aligner."""
    def lines(name):
        with open(os.path.join(SAMPLE, name), encoding="utf-8") as f:
            return [next(f).rstrip("\n") for _ in range(pairs)]

    en_es = [write(tmp_path / "s.en", lines("tico19.en-es.en")), write(tmp_path / "s.es", lines("tico19.en-es.es")),
             write(tmp_path / "s.align", ["0-0 1-1 2-2"] * pairs)]
    write(tmp_path / "z.jsonl", [json.dumps({"en": en, "zh": zh}, ensure_ascii=False)
                                 for en, zh in zip(lines("tico19.en-zh.en"), lines("tico19.en-zh.zh"))])
    return [f"en-es={','.join(en_es)}", f"en-zh={tmp_path / 'z.jsonl'}"]


def logged_losses(output):
    with open(os.path.join(output, "trainer_state.json")) as f:
        return [entry for entry in json.load(f)["log_history"] if "loss" in entry]


@pytest.mark.slow
def test_streaming_trains_mlm_on_two_corpora(tmp_path):
    en_es, en_zh = stream_corpora(tmp_path)
    output = tmp_path / "out"
    run_pretrain.main(["--train_data", en_es.rsplit(",", 1)[0], en_zh, "--streaming", "--objective", "mlm",
                       "--config_overrides", TINY, "--per_device_train_batch_size", "8", "--max_steps", "4",
                       "--validation_pairs", "4", "--logging_steps", "1", "--save_strategy", "no",
                       "--output_dir", str(output)])
    losses = logged_losses(output)
    assert len(losses) == 4 and all(entry["mlm_loss"] > 0 for entry in losses)
    assert os.path.exists(output / "model.safetensors") and os.path.exists(output / "eval_results.json")


@pytest.mark.slow
def test_streaming_on_two_processes_trains_as_one_process_accumulating(tmp_path, tiny_encoder, free_port):
    """The README's CPU launch with --streaming, WEAM with given links (en-es) and the neural aligner (en-zh):
    2 processes x 4 pairs log exactly what 1 process logs with 2 micro-batches of 4, across an epoch's end."""
    common = ["--train_data", *stream_corpora(tmp_path), "--streaming", "--aligner", "neural",
              "--aligner_model", tiny_encoder, "--aligner_layer", "1",
              "--config_overrides", TINY + ",hidden_dropout_prob=0,attention_probs_dropout_prob=0",
              "--per_device_train_batch_size", "4", "--validation_pairs", "4", "--logging_steps", "1",
              "--max_steps", "7", "--eval_strategy", "epoch", "--save_strategy", "no"]  # 40 pairs: 5 steps an epoch
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    script = os.path.join(ROOT, "run_pretrain.py")
    for output, launcher, extra in (
        ("ddp", [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(free_port)],
         ["--use_cpu"]),
        ("single", [sys.executable], ["--gradient_accumulation_steps", "2"]),
    ):
        result = subprocess.run([*launcher, script, *common, *extra, "--output_dir", str(tmp_path / output)],
                                capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    ddp, single = logged_losses(tmp_path / "ddp"), logged_losses(tmp_path / "single")
    assert len(ddp) == len(single) == 7
    for two_processes, one_process in zip(ddp, single):
        assert two_processes["cross_lingual_loss"] > 0
        for key in ("loss", "mlm_loss", "cross_lingual_loss"):
            assert two_processes[key] == pytest.approx(one_process[key], rel=1e-5), key


def test_pair_length_limits_drop_and_count_pairs_outside_whatever_skip_invalid_says(tmp_path):
    """PPA's filter: pairs with fewer than N subwords on a side, or more than M in all, are dropped and counted."""
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    source = ["a b c d e", "a b", "a b c d e f g h"]
    target = ["f g h i j", "c d e f g", "a b c d e f g h"]
    lengths = [(len(tokenizer(s, add_special_tokens=False)["input_ids"]), len(tokenizer(t, add_special_tokens=False)["input_ids"]))
               for s, t in zip(source, target)]
    assert lengths == [(5, 5), (2, 5), (8, 8)]  # the hand count the limits below are set against
    (tmp_path / "c.en").write_text("\n".join(source) + "\n")
    (tmp_path / "c.de").write_text("\n".join(target) + "\n")
    dataset, report = load_parallel_corpus(CorpusSpec.parse(f"en-de={tmp_path}/c.en,{tmp_path}/c.de"), tokenizer,
                                           aligner="none", pair_length_limits=(3, 12))
    assert len(dataset) == report.used == 1
    assert dict(report.skipped) == {"fewer than 3 subwords on a side": 1, "more than 12 subwords in the pair": 1}


def test_streaming_needs_max_steps(tmp_path):
    with pytest.raises(SystemExit, match=r"^error: --streaming needs --max_steps"):  # not the Trainer's traceback
        run_pretrain.main(["--streaming", "--objective", "tlm", "--output_dir", str(tmp_path / "out")])
