"""run_pos.py: UD POS files, windows that tag every word, Chinese with an XLM-R tokenizer, result files, the Hub path.

End-to-end runs use a tiny random BERT with the shipped mBERT vocabulary and data written by the tests.
"""

import dataclasses
import json
import logging
import math
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, Features, List, Value
from transformers import AutoTokenizer, XLMRobertaTokenizer

import run_pos
from run_pos import UPOS_TAGS, predicted_tags, read_udpos_tsv, tag_windows, write_predictions
from weam import finetuning
from weam.finetuning import InputError

REPO = Path(__file__).resolve().parents[1]
MBERT_DIR = REPO / "data" / "sample" / "mbert-tokenizer"

SENTENCES = [
    (["The", "dog", "sleeps", "."], ["DET", "NOUN", "VERB", "PUNCT"]),
    (["Unbelievable", "!"], ["ADJ", "PUNCT"]),
    (["She", "reads", "books", "and", "writes", "poems", "every", "day", "."],
     ["PRON", "VERB", "NOUN", "CCONJ", "VERB", "NOUN", "DET", "NOUN", "PUNCT"]),
]  # fmt: skip


def write_tsv(path, sentences):
    path.write_text("".join(" ".join(words) + "\t" + " ".join(tags) + "\n" for words, tags in sentences))
    return path


def as_batch(sentences):
    return {"words": [words for words, _ in sentences], "tags": [tags for _, tags in sentences]}


@pytest.fixture(scope="module")
def mbert_tokenizer():
    return AutoTokenizer.from_pretrained(MBERT_DIR)


# ----------------------------------------------------------------------------- reading data


def test_read_udpos_tsv_splits_on_single_spaces_and_names_the_line_of_bad_input(tmp_path):
    data = read_udpos_tsv(write_tsv(tmp_path / "ok.tsv", SENTENCES[:2]))
    assert data["words"] == [SENTENCES[0][0], SENTENCES[1][0]] and data["tags"][1] == ["ADJ", "PUNCT"]
    # UD words may hold characters that other splitters would split on (a no-break space, a "_" URL).
    (tmp_path / "odd.tsv").write_text("10\u00a0000 ____\tNUM SYM\n")
    assert read_udpos_tsv(tmp_path / "odd.tsv")["words"] == [["10\u00a0000", "____"]]

    cases = {
        "columns.tsv": ("a b\tDET NOUN\tX\n", r"columns.tsv:1: expected 2 tab-separated columns .* found 3"),
        "count.tsv": ("The dog\tDET NOUN\nThe dog\tDET\n", r"count.tsv:2: 2 words but 1 tags"),
        "tag.tsv": ("The dog\tDET NN\n", r"tag.tsv:1: unknown tag\(s\) 'NN'; UPOS tags are ADJ"),
        "space.tsv": ("The  dog\tDET X NOUN\n", r"space.tsv:1: an empty word"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=message + r".*--skip_invalid"):
            read_udpos_tsv(tmp_path / name)
    (tmp_path / "empty.tsv").write_text("\n")
    with pytest.raises(InputError, match="empty.tsv holds no valid sentences"):
        read_udpos_tsv(tmp_path / "empty.tsv")


def test_skip_invalid_counts_what_it_skips(tmp_path, caplog):
    path = tmp_path / "mixed.tsv"
    path.write_text("The dog\tDET NOUN\nThe dog\tDET\nA cat\tDET NOUN\nx\tNN\n")
    with caplog.at_level(logging.WARNING):
        data = read_udpos_tsv(path, skip_invalid=True)
    assert data["words"] == [["The", "dog"], ["A", "cat"]]
    assert "read 4 sentences, used 2, skipped 2 invalid" in caplog.text and "mixed.tsv" in caplog.text


# ----------------------------------------------------------------------------- windows


def check_windows(windows, sentences, tokenizer, max_seq_length):
    """Every word is read from exactly one position, that position is its first subword, and windows fit."""
    tokens_of = tokenizer.convert_ids_to_tokens
    seen = {}
    for row in range(len(windows["input_ids"])):
        ids = windows["input_ids"][row]
        assert len(ids) <= max_seq_length and len(windows["labels"][row]) == len(ids)
        assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
        sentence, first_word = windows["sentence"][row], windows["first_word"][row]
        for offset, position in enumerate(windows["word_positions"][row]):
            word = first_word + offset
            assert (sentence, word) not in seen
            seen[(sentence, word)] = position
            words, tags = sentences[sentence]
            assert tokens_of(ids[position]) == tokenizer.tokenize(words[word])[0]
            assert windows["labels"][row][position] == UPOS_TAGS.index(tags[word])
        labelled = [label for label in windows["labels"][row] if label != -100]
        assert len(labelled) == len(windows["word_positions"][row])
    assert sorted(seen) == [(s, w) for s, (words, _) in enumerate(sentences) for w in range(len(words))]


def test_a_sentence_longer_than_the_windows_is_cut_between_words_and_every_word_tagged(mbert_tokenizer):
    words = ["Unbelievable", "stories", "about", "extraordinary", "circumstances"] * 6
    sentences = [(words, ["ADJ", "NOUN", "ADP", "ADJ", "NOUN"] * 6), SENTENCES[0]]
    full = mbert_tokenizer(" ".join(words))["input_ids"]
    assert len(full) > 3 * 16  # three windows at least
    windows = tag_windows(as_batch(sentences), [0, 1], mbert_tokenizer, max_seq_length=16)
    check_windows(windows, sentences, mbert_tokenizer, 16)
    long_rows = [row for row, sentence in enumerate(windows["sentence"]) if sentence == 0]
    assert len(long_rows) >= 4
    # The windows hold the sentence's tokens once each, in order: nothing truncated, nothing repeated.
    inner = [token for row in long_rows for token in windows["input_ids"][row][1:-1]]
    assert inner == full[1:-1]
    # Each window starts at a word's first subword (never inside a word).
    for row in long_rows:
        assert not mbert_tokenizer.convert_ids_to_tokens(windows["input_ids"][row][1]).startswith("##")


def test_a_word_longer_than_a_window_is_read_from_its_first_subword(mbert_tokenizer):
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 2
    sentences = [(["A", word, "is", "long"], ["DET", "NOUN", "AUX", "ADJ"])]
    assert len(mbert_tokenizer.tokenize(word)) > 2 * 6
    windows = tag_windows(as_batch(sentences), [0], mbert_tokenizer, max_seq_length=8)
    check_windows(windows, sentences, mbert_tokenizer, 8)


def test_a_word_the_tokenizer_drops_is_read_where_the_word_before_is(mbert_tokenizer):
    sentences = [(["\u200b", "A", "\u200b", "dog"], ["X", "DET", "X", "NOUN"])]  # zero-width spaces: no token
    windows = tag_windows(as_batch(sentences), [0], mbert_tokenizer, max_seq_length=16)
    a, dog = (mbert_tokenizer.convert_tokens_to_ids(token) for token in ("A", "dog"))
    assert windows["input_ids"] == [[mbert_tokenizer.cls_token_id, a, dog, mbert_tokenizer.sep_token_id]]
    assert windows["word_positions"] == [[1, 1, 1, 2]]  # the first one is read where the next word is
    assert windows["labels"] == [[-100, UPOS_TAGS.index("DET"), UPOS_TAGS.index("NOUN"), -100]]
    assert predicted_tags([[0, 5, 7, 0]], windows, [4]) == [["DET", "DET", "DET", "NOUN"]]


def xlm_r_tokenizer(pieces):
    """An XLM-R (SentencePiece unigram) tokenizer over `pieces`, longer pieces preferred (as in test_words.py)."""
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = [(piece, 0.0) for piece in specials] + [(piece, -1.0 / len(piece)) for piece in pieces] + [("<mask>", 0.0)]
    return XLMRobertaTokenizer(vocab=vocab)


def test_chinese_with_an_xlm_r_tokenizer_is_never_read_from_a_bare_space_piece():
    tokenizer = xlm_r_tokenizer(["▁", "▁然而", "然而", "，", "这样", "的", "人", "很多", "。"])
    words, tags = ["然而", "，", "这样", "的", "人", "很多", "。"], ["ADV", "PUNCT", "PRON", "PART", "NOUN", "ADJ", "PUNCT"]
    # What is_split_into_words=True does: a bare ▁ before every word, the "first subword" of most of them.
    split = tokenizer(words, is_split_into_words=True)
    assert tokenizer.convert_ids_to_tokens(split["input_ids"]).count("▁") >= 5
    windows = tag_windows({"words": [words], "tags": [tags]}, [0], tokenizer, max_seq_length=6)
    read = [
        tokenizer.convert_ids_to_tokens(windows["input_ids"][row][position])
        for row in range(len(windows["input_ids"]))
        for position in windows["word_positions"][row]
    ]
    assert read == ["▁然而", "，", "这样", "的", "人", "很多", "。"]
    assert len(windows["input_ids"]) > 1  # 9 tokens in windows of 6: cut between words, still one reading each


# ----------------------------------------------------------------------------- predictions and scores


def test_predicted_tags_follow_the_windows_and_the_accuracy_is_the_hand_count(tmp_path):
    windows = {"sentence": [0, 0, 1], "first_word": [0, 2, 0], "word_positions": [[1, 3], [1], [1, 2]]}
    v, n, d, p = (UPOS_TAGS.index(tag) for tag in ("VERB", "NOUN", "DET", "PUNCT"))
    predictions = [[-100, d, 0, n, -100], [-100, v, -100, -100, -100], [-100, n, p, -100, -100]]
    tags = predicted_tags(predictions, windows, [3, 2])
    assert tags == [["DET", "NOUN", "VERB"], ["NOUN", "PUNCT"]]
    from weam import metrics

    gold = [["DET", "NOUN", "NOUN"], ["ADJ", "PUNCT"]]
    # 3 of 5 words right: DET, NOUN (sentence 0), PUNCT (sentence 1)
    assert metrics.load("accuracy", "udpos").compute(predictions=tags, references=gold) == {"accuracy": 60.0}
    path = tmp_path / "predictions-de.tsv"
    write_predictions(path, [["Der", "Hund", "läuft"], ["Toll", "!"]], tags)
    assert path.read_text() == "Der Hund läuft\tDET NOUN VERB\nToll !\tNOUN PUNCT\n"
    assert read_udpos_tsv(path)["tags"] == tags  # the input format: the file reads back


# ----------------------------------------------------------------------------- end to end


QUICK = [
    "--save_strategy", "no", "--report_to", "none", "--disable_tqdm", "true", "--num_train_epochs", "2",
    "--learning_rate", "1e-3", "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "2",
]  # fmt: skip


@pytest.mark.slow
def test_zero_shot_over_two_seeds_writes_results_and_predictions(tiny_bert, tmp_path):
    long_sentence = (["Unbelievable", "stories", "about", "circumstances"] * 5, ["ADJ", "NOUN", "ADP", "NOUN"] * 5)
    train = write_tsv(tmp_path / "en.train.tsv", SENTENCES * 4)
    write_tsv(tmp_path / "en.test.tsv", [SENTENCES[2], long_sentence, SENTENCES[0]])
    write_tsv(tmp_path / "de.test.tsv", [(["Der", "Hund", "schläft", "."], ["DET", "NOUN", "VERB", "PUNCT"])])
    out = tmp_path / "pos"
    results = run_pos.main([
        "--model_name_or_path", str(tiny_bert), "--train_file", str(train),
        "--eval_files", str(tmp_path / "{lang}.test.tsv"), "--eval_languages", "en", "de", "--seeds", "1", "2",
        "--max_seq_length", "16", "--freeze_word_embeddings", "--do_train", "--do_eval", "--output_dir", str(out),
        "--train_sampling_strategy", "group_by_length", *QUICK,  # (it sorted evaluation batches too, once)
    ])  # fmt: skip

    saved = json.loads((out / "results.json").read_text())
    assert saved == results
    assert set(saved) == {
        "task", "model", "mode", "train_language", "code_switch", "lora_r",
        "seeds", "languages", "metrics", "columns", "mean", "std", "per_seed",
    }  # fmt: skip
    assert saved["task"] == "POS (UD)" and saved["mode"] == "zero-shot" and saved["metrics"] == ["accuracy"]
    assert saved["seeds"] == [1, 2] and saved["columns"] == ["en", "de", "avg", "avg_without_en"]
    for seed in ("1", "2"):
        for language, gold_path in (("en", tmp_path / "en.test.tsv"), ("de", tmp_path / "de.test.tsv")):
            gold = read_udpos_tsv(gold_path)
            predicted = read_udpos_tsv(out / f"seed-{seed}" / f"predictions-{language}.tsv")
            assert predicted["words"] == gold["words"]  # every sentence, every word, in input order
            words = [(p, g) for ps, gs in zip(predicted["tags"], gold["tags"]) for p, g in zip(ps, gs)]
            hand = 100 * sum(p == g for p, g in words) / len(words)
            assert saved["per_seed"][seed]["accuracy"][language] == pytest.approx(hand)
    first, second = (saved["per_seed"][seed]["accuracy"]["de"] for seed in ("1", "2"))
    assert saved["std"]["accuracy"]["de"] == pytest.approx(abs(first - second) / math.sqrt(2))
    assert "| metric | en | de | avg | avg w/o en |" in (out / "results.md").read_text()


@pytest.mark.slow
def test_the_hub_path_reads_google_xtreme_udpos(tiny_bert, tmp_path, monkeypatch):
    tag_feature = ClassLabel(names=UPOS_TAGS)
    features = Features({"tokens": List(Value("string")), "pos_tags": List(tag_feature)})

    def table(sentences):
        return Dataset.from_dict(
            {"tokens": [w for w, _ in sentences], "pos_tags": [[tag_feature.str2int(t) for t in ts] for _, ts in sentences]},
            features=features,
        )

    german = [(["Der", "Hund", "schläft", "."], ["DET", "NOUN", "VERB", "PUNCT"])]
    tables = {("google/xtreme", "udpos.English", "train"): table(SENTENCES), ("google/xtreme", "udpos.German", "test"): table(german)}
    calls = []

    def load_dataset(path, name=None, split=None, cache_dir=None):
        calls.append((path, name, split))
        return tables[(path, name, split)]

    monkeypatch.setattr(finetuning.datasets, "load_dataset", load_dataset)
    out = tmp_path / "hub"
    results = run_pos.main([
        "--model_name_or_path", str(tiny_bert), "--dataset_name", "xtreme", "--eval_languages", "de",
        "--do_train", "--do_eval", "--output_dir", str(out), *QUICK,
    ])  # fmt: skip
    assert calls == [("google/xtreme", "udpos.English", "train"), ("google/xtreme", "udpos.German", "test")]
    assert (out / "seed-42" / "predictions-de.tsv").read_text().startswith("Der Hund schläft .\t")
    assert 0 <= results["mean"]["accuracy"]["de"] <= 100
    with pytest.raises(InputError, match="XTREME's udpos has no language 'xx'"):
        run_pos.read_udpos_hub("xtreme", "xx", "eval", None, None)
    with pytest.raises(InputError, match="unknown POS dataset 'conll2003'"):
        run_pos.read_udpos_hub("conll2003", "de", "eval", None, None)


def test_bad_options_fail_before_any_model_is_loaded(tmp_path):
    base = ["--model_name_or_path", str(tmp_path / "no-model"), "--output_dir", str(tmp_path / "out")]
    with pytest.raises(InputError, match="--code_switch .* needs --translate_train"):
        run_pos.main([*base, "--eval_languages", "de", "--code_switch", "--do_train"])
    write_tsv(tmp_path / "en.tsv", SENTENCES)
    with pytest.raises(InputError, match="rows 0 to 1 of .*en.tsv"):
        run_pos.main([*base, "--eval_languages", "en", "--train_file", str(tmp_path / "en.tsv"), "--train_rows", ":2",
                      "--eval_files", str(tmp_path / "en.tsv"), "--do_train", "--do_eval"])  # fmt: skip
    with pytest.raises(InputError, match="--model_name_or_path .*no-model: no such folder"):
        run_pos.main([*base, "--eval_languages", "en", "--eval_files", str(tmp_path / "en.tsv"), "--do_eval"])


def test_pos_arguments_all_have_help():
    for field in dataclasses.fields(run_pos.PosArguments):
        assert len(field.metadata.get("help", "")) > 20
