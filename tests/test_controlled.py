"""The controlled study (study/synthetic.py, study/run_controlled.py): the derived languages, the tokenizer that
shares only its special tokens, the alignment score, and the structure of the result files."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))
import run_controlled  # noqa: E402
import synthetic  # noqa: E402

SENTENCE = ["the", "cat", "sat", "."]
TAGS = ["DET", "NOUN", "VERB", "PUNCT"]


@pytest.fixture
def transliteration():
    return synthetic.Transliteration.of_texts([SENTENCE, ["a", "dog", "!"]])


def test_english_words_are_lowercased_and_split_like_mbert():
    assert synthetic.english_words("The cat's mat, 2019.") == ["the", "cat", "'", "s", "mat", ",", "2019", "."]


def test_trans_inv_moves_tags_with_their_words_and_links_each_word_to_where_it_went(transliteration):
    letter = transliteration.table
    # characters in code-point order: ! . a c d e g h o s t -> the first Yi letters, in that order
    assert [letter[c] for c in "!.acdeghost"] == synthetic.LETTERS[:11]
    words, tags, links = synthetic.derive(SENTENCE, "trans+inv", transliteration, TAGS)
    assert words == [letter["."], letter["s"] + letter["a"] + letter["t"], letter["c"] + letter["a"] + letter["t"],
                     letter["t"] + letter["h"] + letter["e"]]
    assert tags == ["PUNCT", "VERB", "NOUN", "DET"]
    assert links == [(0, 3), (1, 2), (2, 1), (3, 0)] == synthetic.gold_links("trans+inv", 4)


def test_trans_keeps_the_order_and_trans_perm_applies_one_fixed_order_per_length(transliteration):
    words, tags, links = synthetic.derive(SENTENCE, "trans", transliteration, TAGS)
    assert [transliteration.word(w) for w in SENTENCE] == words and tags == TAGS and links == [(k, k) for k in range(4)]
    _, tags, links = synthetic.derive(SENTENCE, "trans+perm", transliteration, TAGS)
    order = synthetic.word_order("trans+perm", 4)
    assert sorted(order) == [0, 1, 2, 3] and order == synthetic.word_order("trans+perm", 4)
    assert tags == [TAGS[i] for i in order] and sorted(links) == sorted((i, p) for p, i in enumerate(order))


def test_transliteration_is_one_to_one_round_trips_and_refuses_unknown_characters(transliteration):
    assert len(set(transliteration.table.values())) == len(transliteration.table)
    assert synthetic.Transliteration.from_json(transliteration.to_json()).table == transliteration.table
    with pytest.raises(ValueError, match="'z' is not in the transliteration map"):
        transliteration.word("zebra")
    with pytest.raises(ValueError, match="already uses the target script"):
        synthetic.Transliteration({"a", synthetic.LETTERS[0]})


def test_the_trained_tokenizer_shares_nothing_but_its_special_tokens(tmp_path, transliteration):
    english = [["the", "cat", "sat", "."], ["a", "dog", "sat", "!"], ["the", "dog", "!"]] * 20
    derived = [[transliteration.word(w) for w in words] for words in english]
    counts = run_controlled.train_tokenizer(english + derived, vocab_size=60, folder=tmp_path / "tokenizer")
    assert counts["both"] == 0 and counts["special"] == 5 and counts["english"] > 0 and counts["derived"] > 0
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "tokenizer")
    pieces = [set(tokenizer.tokenize(" ".join(words))) for words in (english[0], derived[0])]
    assert pieces[0] and pieces[1] and not pieces[0] & pieces[1]
    # on a fresh machine the folder is rebuilt from the kept vocabulary: the same files, the same pieces
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "vocab.txt").write_bytes((tmp_path / "tokenizer" / "vocab.txt").read_bytes())
    run_controlled.save_tokenizer(tmp_path / "kept" / "vocab.txt", tmp_path / "rebuilt")
    assert (tmp_path / "rebuilt" / "vocab.txt").read_bytes() == (tmp_path / "kept" / "vocab.txt").read_bytes()
    rebuilt = AutoTokenizer.from_pretrained(tmp_path / "rebuilt")
    assert [rebuilt.tokenize(" ".join(words)) for words in (english[0], derived[0])] == [
        tokenizer.tokenize(" ".join(words)) for words in (english[0], derived[0])]
    assert run_controlled.vocabulary_scripts(["[CLS]", "ab", "##" + synthetic.LETTERS[3], "a" + synthetic.LETTERS[0]],
                                             ["[CLS]"]) == {"special": 1, "english": 1, "derived": 1, "both": 1}


def save_embedding_model(folder, vocabulary, vectors):
    """A BERT folder whose input embeddings are `vectors` (one per vocabulary entry), with its tokenizer."""
    from transformers import BertConfig, BertModel

    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    run_controlled.save_tokenizer(folder / "vocab.txt", folder)
    model = BertModel(BertConfig(vocab_size=len(vocabulary), hidden_size=4, num_hidden_layers=1, num_attention_heads=1,
                                 intermediate_size=8))
    with torch.no_grad():
        model.get_input_embeddings().weight.copy_(torch.tensor(vectors, dtype=torch.float))
    model.save_pretrained(folder)


def test_alignment_score_is_the_share_of_words_whose_nearest_derived_word_is_their_own(tmp_path):
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocabulary = special + ["cat", "dog", "sun", "CAT", "DOG", "SUN"]
    vectors = [[0.0, 0, 0, 1]] * 5 + [
        [1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0],  # cat, dog, sun
        [0.9, 0.1, 0, 0], [0.1, 0, 1.0, 0], [0, 0.2, 0.9, 0],  # CAT near cat; DOG and SUN both nearer sun than dog
    ]
    save_embedding_model(tmp_path / "model", vocabulary, vectors)
    pairs = [("cat", "CAT"), ("dog", "DOG"), ("sun", "SUN")]
    # cat -> CAT (right); dog -> SUN (cosines 0.0 DOG, 0.22 SUN: wrong); sun -> DOG (0.995 vs 0.976: wrong)
    score, words = run_controlled.alignment_score(tmp_path / "model", pairs)
    assert (score, words) == (pytest.approx(100 / 3), 3)
    # a word the vocabulary lacks (its token would be [UNK]) is not scored
    assert run_controlled.alignment_score(tmp_path / "model", pairs[:2] + [("owl", "OWL")])[1] == 2
    # scoring some words only, still among every derived word: sun's nearest is DOG, among DOG and SUN both
    assert run_controlled.alignment_score(tmp_path / "model", pairs, scored=pairs[2:]) == (0.0, 1)
    assert run_controlled.alignment_score(tmp_path / "model", pairs[1:], scored=pairs[2:]) == (0.0, 1)
    assert run_controlled.alignment_score(tmp_path / "model", pairs[2:]) == (100.0, 1)  # alone, SUN is its only one


def fake_records(args, names_and_accuracy, items=40):
    """Stage results of finished POS runs: every sentence 10 words, `correct` drawn around each accuracy."""
    rng = np.random.default_rng(0)
    records = {}
    for name, (zs, sup) in names_and_accuracy.items():
        record = {}
        for measure, accuracy in (("zs", zs), ("sup", sup), ("en", 0.9)):
            record[measure] = {"words": [10] * items, "correct": {
                str(seed): rng.binomial(10, accuracy, size=items).tolist() for seed in args.finetune_seeds}}
        records[f"pos-{name}"] = record
        records[f"alignment-{name}"] = {"all": {"score": 100 * zs, "words": 50},
                                        "outside the dictionary": {"score": 90 * zs, "words": 40}}
    return records


def test_result_files_hold_the_rows_comparisons_and_correlation_the_issue_asks_for(tmp_path):
    args = run_controlled.parse_command_line([
        "--transformations", "trans+inv", "--rows", "mlm", "tlm", "weam-gold", "weam-noisy", "align_mlm", "--tasks", "pos",
        "--pretrain_seeds", "1", "2", "--finetune_seeds", "1", "2", "--scaling_fractions", "0.01", "0.25",
        "--scaling_rows", "tlm", "--scaling_seeds", "1", "--bootstrap_samples", "200",
        "--results_dir", str(tmp_path / "results"), "--docs_dir", str(tmp_path / "docs")])
    accuracy = {"mlm": (0.1, 0.8), "tlm": (0.2, 0.8), "weam-gold": (0.6, 0.8), "weam-noisy": (0.3, 0.8),
                "align_mlm": (0.7, 0.8)}
    names = {run_controlled.model_name(t, row, fraction, seed): accuracy[row]
             for t, row, fraction, seed in run_controlled.design(args)}
    assert "trans+inv-tlm-1-seed1" in names and "trans+inv-mlm-0-seed2" in names
    records = fake_records(args, names)
    run_controlled.write_report(args, "python study/run_controlled.py", records)
    report = json.loads((tmp_path / "docs" / "controlled.json").read_text())
    rows = {(row["row"], row["parallel_fraction"]): row for row in report["rows"]}
    assert set(rows) == {("mlm", 0.0), ("tlm", 0.25), ("weam-gold", 0.25), ("weam-noisy", 0.25), ("align_mlm", 0.0),
                         ("tlm", 0.01)}
    weam = rows["weam-gold", 0.25]
    assert weam["transformation"] == "trans+inv" and weam["objective"] == "weam" and weam["alignments"] == "gold"
    assert weam["n_pretrain_seeds"] == 2 and weam["n_finetune_seeds"] == 2 and "alignments" not in rows["tlm", 0.25]
    assert set(weam["pos"]) >= {"zs", "sup", "delta", "zs_ci95"}
    assert weam["pos"]["zs"] == pytest.approx(60, abs=4) and weam["pos"]["delta"] == pytest.approx(20, abs=5)
    assert weam["pos"]["zs_ci95"][0] < weam["pos"]["zs"] < weam["pos"]["zs_ci95"][1]
    assert rows["tlm", 0.01]["n_pretrain_seeds"] == 1
    entries = {(c["objective"], c["baseline"], c["parallel_fraction"], c["metric"]): c for c in report["comparisons"]}
    versus_mlm = entries["weam-gold", "mlm", 0.25, "zero-shot word accuracy"]
    assert versus_mlm["ci95"][0] > 10 and versus_mlm["task"] == "pos" and versus_mlm["n_pretrain_seeds"] == [2, 2]
    assert set(versus_mlm) >= {"transformation", "objective", "baseline", "task", "metric", "delta", "ci95",
                               "minimum_detectable_effect", "n_pretrain_seeds", "n_finetune_seeds"}
    assert ("tlm", "mlm", 0.01, "zero-shot word accuracy") not in entries  # a scaling row meets TLM only
    assert ("weam-gold", "tlm", 0.25, "Δ = SUP − ZS") in entries
    assert ("align_mlm", "tlm", 0.0, "zero-shot word accuracy") in entries  # without pairs: TLM at the table's 25%
    assert ("tlm", "tlm at 1%", 0.25, "zero-shot word accuracy") in entries  # more parallel data, the same row
    noisy = entries["weam-noisy", "weam-gold", 0.25, "zero-shot word accuracy"]  # alignment quality: worse links
    assert noisy["delta"] == pytest.approx(-30, abs=4) and noisy["ci95"][1] < 0
    assert ("weam-gold", "weam-gold", 0.25, "zero-shot word accuracy") not in entries
    data = {"eflomal AER": {"trans+inv 25%": 0.01}, "noisy AER": {"trans+inv 25%": 29.92}}
    quality = [line for line in run_controlled.findings(args, report["rows"], report["comparisons"], None, data)
               if line.startswith("- **Alignment quality**")]
    assert quality == [f"- **Alignment quality** (WEAM's links against the gold links, AER: eflomal's 0.01%, the noisy "
                       f"links' 29.92%): zero-shot against weam-gold weam-noisy {run_controlled.interval_text(noisy)}."]
    text = (tmp_path / "docs" / "controlled.md").read_text()
    assert "- **The goal**, an objective whose POS zero-shot interval on trans+inv lies 10+ points above MLM's: met by " \
           "weam-gold" in text and "align_mlm (" in text
    assert "- **ALIGN-MLM far above MLM**" in text and text.count(": reproduced.") == 1  # +60 points; TLM's +10 is not
    assert report["alignment_correlation"]["models"] == 11 and report["alignment_correlation"]["spearman_rho"] < 0
    assert (tmp_path / "docs" / "controlled.md").read_text().startswith("# Controlled evidence")
    assert (tmp_path / "docs" / "controlled.png").stat().st_size > 0


@pytest.mark.parametrize("ci95, said", [
    ([10.0, 16.0], "reproduced."), ([9.2, 16.0], "the direction reproduced, not the size"),
    ([-7.1, -1.3], "not reproduced: the opposite direction."), ([-1.4, 7.8], "not reproduced: the interval holds no")])
def test_a_papers_far_above_claim_is_judged_by_the_whole_interval(ci95, said):
    assert run_controlled.verdict({"ci95": ci95}).startswith(said)


def test_pretraining_commands_differ_only_where_the_objectives_do(tmp_path):
    args = run_controlled.parse_command_line(["--work_dir", str(tmp_path)])
    commands = {row: [str(a) for a in run_controlled.pretrain_argv(args, "trans+inv", row, 0.25, 1)]
                for row in run_controlled.ROWS}

    def value(argv, flag):
        return argv[argv.index(flag) + 1]

    for flag in ("--max_steps", "--per_device_train_batch_size", "--learning_rate", "--mlm_probability", "--seed"):
        assert len({value(argv, flag) for argv in commands.values()}) == 1, flag
    assert value(commands["weam-gold"], "--train_data").endswith("pairs-25.gold")
    assert value(commands["weam-eflomal"], "--train_data").endswith("pairs-25.eflomal")
    assert "--monolingual_data" in commands["tlm"] and "--monolingual_data" not in commands["mlm"]
    assert value(commands["tlm"], "--sampling_weights") == "0.5"  # half the examples pairs, a quarter each language
    assert "--dictionaries" in commands["align_mlm"] and "ppa_queue_size" in value(commands["ppa"], "--config_overrides")


def test_noisy_links_move_the_stated_share_to_other_words_and_are_seeded():
    gold = [set(synthetic.gold_links("trans+inv", n)) for n in (1, 5, 12, 30)] * 50
    noisy = run_controlled.noisy_links(gold, share=0.3, seed=7)
    assert noisy == run_controlled.noisy_links(gold, share=0.3, seed=7)
    moved = sum(len(g - n) for g, n in zip(gold, noisy)) / sum(map(len, gold))
    assert moved == pytest.approx(0.3, abs=0.03)
    for g, n in zip(gold, noisy):
        assert sorted(i for i, _ in n) == sorted(i for i, _ in g)  # every source word keeps one link
        assert all(0 <= j < len(g) for _, j in n)
    assert noisy[0] == gold[0]  # a one-word sentence has nowhere else to go
    aer = run_controlled.alignment_error_rate(noisy, [(g, g) for g in gold])["aer"]
    assert aer == pytest.approx(moved)


def test_a_fresh_machine_gets_the_kept_links_its_rows_need_whatever_rows_built_its_data(tmp_path, monkeypatch):
    """The data stage, finished, is rebuilt on a new machine from the kept vocabulary and links; a later command whose
    rows need links an earlier one on that machine did not write gets them from the kept file, under the same key."""
    words = "the cat sat on a mat and a dog ran to the red house by the sea".split()
    sample = [[words[(i + k) % len(words)] for k in range(3 + i % 5)] for i in range(40)]
    monkeypatch.setattr(run_controlled, "corpus_sentences", lambda args: (sample, {"sampled": len(sample)}))
    monkeypatch.setattr(run_controlled, "pos_sentences", lambda split: [(sample[0], ["X"] * len(sample[0]))])
    monkeypatch.setattr(run_controlled, "xnli_dev_items", lambda: [(sample[1], sample[2], "entailment")])
    aligned = []

    def align_words(source, target, **kwargs):
        aligned.append(len(source))
        return [[(i, len(s) - 1 - i) for i in range(len(s))] for s in source]

    monkeypatch.setattr(run_controlled, "align_words", align_words)
    common = ["--results_dir", str(tmp_path / "results"), "--sentences", "40", "--vocab_size", "200",
              "--scaling_fractions", "0.25"]

    def prepare(machine, *rows):
        args = run_controlled.parse_command_line(common + ["--work_dir", str(tmp_path / machine), *rows])
        return run_controlled.prepare_data(args)[0], run_controlled.data_paths(args, "trans", 0.25)["eflomal"]

    key, trans_links = prepare("first")
    assert trans_links.exists() and len(aligned) == 2  # trans+inv and trans, at 25%
    second_key, second_links = prepare("second", "--other_rows", "mlm")  # a new machine, trans without WEAM
    assert second_key == key and not second_links.exists()
    second_key, second_links = prepare("second")  # the study's rows again: trans's links are written from the kept file
    assert second_key == key and second_links.read_text() == trans_links.read_text() and len(aligned) == 2
    (tmp_path / "results" / "data" / "trans-25.eflomal.gz").unlink()
    with pytest.raises(SystemExit, match="trans at 25% needs eflomal's links"):
        prepare("third")
