"""study/run_study.py's own logic: the data filter, the resumable stages, the POS counts and the paired
bootstrap behind every interval of docs/study.json."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))
import run_study  # noqa: E402

LANGUAGES = run_study.TRANSFER_LANGUAGES


class WordTokenizer:
    """Stands in for e5's tokenizer: one subword per space-separated word."""

    def __call__(self, texts, add_special_tokens=False):
        return {"input_ids": [[1] * len(text.split()) for text in texts]}


def test_sentence_key_matches_tokenized_copies_only():
    key = run_study.sentence_key
    assert key("Where's the station?") == key("where ' s the station ?") == "wheresthestation"
    assert key("Wo ist der Bahnhof?") != key("Wo ist der Bahnhof 2?")
    assert key("我们走吧。") == key("我们 走 吧 。")
    assert key(" ... ") == ""


def test_clean_pairs_removes_held_out_sentences_and_keeps_pairs_every_objective_can_train_on(tmp_path, monkeypatch):
    corpus = tmp_path / "xx-en"
    corpus.mkdir()
    long_side = "one two three four five six seven eight nine ten"  # 10 subwords: PPA's shortest side
    english = [long_side, "A test sentence.", "A test sentence.", "", "Held out here.", long_side + " eleven twelve"]
    other = [long_side + " zehn", "Ein Testsatz.", "Ein Testsatz.", "Leer.", "Zurückgehalten.", long_side]
    (corpus / "news.eng").write_text("".join(f"{line}\n" for line in english), encoding="utf-8")
    (corpus / "news.deu").write_text("".join(f"{line}\n" for line in other), encoding="utf-8")
    monkeypatch.setattr(run_study, "PARALLEL", tmp_path)
    monkeypatch.setattr(run_study, "SOURCES", {"en-de": ("xx-en", ["news"], "deu")})
    held_out = {"XNLI dev": {run_study.sentence_key("held out here .")}}  # a tokenized copy of one English side
    pool, fits, counts = run_study.clean_pairs("en-de", held_out, WordTokenizer(), max_seq_length=24)
    assert counts == {"read": 6, "duplicate": 1, "empty or over 400 characters": 1, "in XNLI dev": 1, "clean": 3,
                      "of them 10+ subwords a side, <= 24 a pair": 1}
    assert len(pool) == 3 and ("A test sentence.", "Ein Testsatz.") in pool
    # the short pair is too short for PPA; 12 + 10 + 3 special tokens = 25 > 24 does not fit
    assert fits == [(long_side, long_side + " zehn")]


def test_correct_tags_counts_per_sentence_and_refuses_predictions_that_do_not_line_up(tmp_path):
    predictions = tmp_path / "predictions-de.tsv"
    predictions.write_text("Das Haus\tDET NOUN\nEs regnet .\tPRON NOUN PUNCT\n", encoding="utf-8")
    gold = [["DET", "NOUN"], ["PRON", "VERB", "PUNCT"]]
    assert run_study.correct_tags(predictions, gold) == [2, 2]
    with pytest.raises(SystemExit, match="do not line up"):
        run_study.correct_tags(predictions, gold + [["X"]])


def runs_from(per_sentence):
    """(post seeds, fine-tuning seeds, sentences) correct counts; words: 4 per sentence, 2 sentences a language."""
    return np.array(per_sentence, dtype=float)


WORDS = np.full(6, 4.0)
LANGUAGE_OF = np.array([0, 0, 1, 1, 2, 2])


def test_paired_comparison_point_estimate_against_a_hand_computation():
    baseline = runs_from([[[4, 2, 3, 3, 1, 1]]])  # de 6/8, es 6/8, zh 2/8: mean 58.33
    objective = runs_from([[[4, 3, 3, 3, 2, 1], [4, 4, 3, 3, 2, 1]],   # post seed 1: 66.67, 70.83
                           [[4, 2, 3, 3, 1, 1], [4, 2, 3, 3, 1, 1]]])  # post seed 2: 58.33, 58.33
    baseline = np.repeat(baseline, 2, axis=1)  # the untouched encoder under the same two fine-tuning seeds
    delta, _, _ = run_study.paired_comparison(objective, baseline, WORDS, LANGUAGE_OF, samples=200, seed=0)
    assert delta == pytest.approx((66.6667 + 70.8333 + 58.3333 + 58.3333) / 4 - 58.3333, abs=1e-3)


def test_the_interval_collapses_without_noise_and_pairing_cancels_shared_fine_tuning_noise():
    baseline = runs_from([[[2, 2, 2, 2, 2, 2], [3, 3, 3, 3, 3, 3]]])  # fine-tuning seed 2 is better for both
    objective = runs_from([[[3, 3, 3, 3, 3, 3], [4, 4, 4, 4, 4, 4]]] * 3)  # one more word right in every sentence
    delta, (low, high), error = run_study.paired_comparison(objective, baseline, WORDS, LANGUAGE_OF, 500, seed=0)
    assert delta == pytest.approx(25.0) and low == pytest.approx(25.0) and high == pytest.approx(25.0)
    assert error == pytest.approx(0.0, abs=1e-9)


def test_post_training_and_test_sentence_noise_widen_the_interval():
    rng = np.random.default_rng(1)
    baseline = rng.integers(0, 5, size=(1, 3, 6)).astype(float)
    objective = baseline + rng.integers(-1, 2, size=(3, 3, 6))  # each post seed moves other sentences
    delta, (low, high), error = run_study.paired_comparison(np.clip(objective, 0, 4), baseline, WORDS, LANGUAGE_OF,
                                                            2000, seed=0)
    assert low < delta < high and error > 0
    # same seed, same replicates: the interval is reproducible
    assert run_study.paired_comparison(np.clip(objective, 0, 4), baseline, WORDS, LANGUAGE_OF, 2000, seed=0)[1] == (low, high)


def pos_record(correct_by_seed):
    """A udpos stage's result: 2 sentences of 4 words a language; `correct_by_seed`: {seed: 6 counts}."""
    return {lang: {"words": [4, 4], "correct": {str(seed): counts[2 * i:2 * i + 2] for seed, counts in
                                                 correct_by_seed.items()}} for i, lang in enumerate(LANGUAGES)}


def test_comparisons_and_scores_cover_the_finished_runs_only(tmp_path):
    args = run_study.StudyArguments(objectives=["mlm", "weam"], post_seeds=[1, 2], finetune_seeds=[1, 2],
                                    bootstrap_samples=300, results_dir=tmp_path)
    records = {
        "untouched": pos_record({1: [2, 2, 2, 2, 2, 2], 2: [2, 2, 2, 2, 2, 2]}),
        "mlm-seed1": pos_record({1: [2, 2, 2, 2, 2, 2], 2: [2, 2, 2, 2, 2, 2]}),
        "weam-seed1": pos_record({1: [3, 3, 3, 3, 3, 3], 2: [3, 3, 3, 3, 3, 3]}),
        "weam-seed2": pos_record({1: [4, 4, 4, 4, 4, 4], 2: [4, 4, 4, 4, 4, 4]}),
    }
    entries = run_study.comparisons(args, {"udpos": records})
    assert [(e["objective"], e["baseline"]) for e in entries] == [("mlm", "untouched"), ("weam", "untouched"),
                                                                  ("weam", "mlm")]
    weam = entries[1]
    assert set(weam) == {"objective", "baseline", "task", "metric", "delta", "ci95", "minimum_detectable_effect",
                         "n_post_seeds", "n_finetune_seeds"}
    assert weam["task"] == "udpos" and weam["delta"] == pytest.approx(37.5)  # (75 + 100) / 2 - 50
    assert weam["n_post_seeds"] == 2 and entries[2]["n_post_seeds"] == 2 and entries[0]["n_post_seeds"] == 1
    assert weam["ci95"][0] == pytest.approx(25.0) and weam["ci95"][1] == pytest.approx(50.0)  # post seeds resampled
    assert run_study.verdict(weam) == "above" and run_study.verdict(entries[0]) == "not distinguishable"
    scores = run_study.model_scores(args, "udpos", records)
    assert scores["weam"]["avg"] == (pytest.approx(87.5), pytest.approx(14.4338, abs=1e-3)) and scores["weam"]["runs"] == 4
    assert "tlm" not in scores


def test_report_only_writes_the_comparisons_from_the_result_files(tmp_path):
    results, docs = tmp_path / "results", tmp_path / "docs"
    results.mkdir()
    for name, counts in (("untouched", [2] * 6), ("mlm-seed1", [2] * 6), ("weam-seed1", [3] * 6)):
        record = {"stage": f"udpos-{name}", "key": "k", "seconds": 60, "settings": {},
                  "result": pos_record({1: counts})}
        (results / f"udpos-{name}.json").write_text(json.dumps(record))
    run_study.main(["--report_only", "--results_dir", str(results), "--docs_dir", str(docs), "--objectives", "mlm",
                    "weam", "--post_seeds", "1", "--finetune_seeds", "1", "--bootstrap_samples", "200"])
    # XNLI and TyDiQA-GoldP have not run: their models are missing, their comparisons absent
    report = json.loads((docs / "study.json").read_text())
    assert report["wall_seconds"] == 180
    assert [(c["task"], c["objective"], c["baseline"], c["delta"]) for c in report["comparisons"]] == [
        ("udpos", "mlm", "untouched", 0.0), ("udpos", "weam", "untouched", 25.0), ("udpos", "weam", "mlm", 25.0)]
    text = (docs / "study.md").read_text()
    assert "| udpos | weam | untouched | +25.00 | [+25.00, +25.00] |" in text and (docs / "study.png").exists()
    assert ("Finished: udpos for 3 of the 3 models, xnli for 0 of the 3 models, tydiqa for 0 of the 3 models (the rest "
            "have not run yet") in text


def test_a_model_is_trained_once_and_again_only_when_missing_or_changed(tmp_path, monkeypatch):
    ran = []

    def fake_run_script(args, name, script, argv):
        ran.append(name)
        folder = Path(argv[argv.index("--output_dir") + 1])
        folder.mkdir(parents=True)
        (folder / "trainer_state.json").write_text(json.dumps({"log_history": [{"step": 5, "loss": 9.0}]}))

    monkeypatch.setattr(run_study, "run_script", fake_run_script)
    args = run_study.StudyArguments(results_dir=tmp_path / "results", work_dir=tmp_path / "work")
    model = run_study.Model("weam-seed1", "key1", {"argv": ["--seed", "1"]}, ["--seed", "1"])
    assert model.path(args) == tmp_path / "work" / "models" / "weam-seed1"
    model.path(args)
    assert ran == ["weam-seed1"]  # built once
    record = json.loads((tmp_path / "results" / "weam-seed1.json").read_text())
    assert record["key"] == "key1" and record["result"] == {"losses": [{"step": 5, "loss": 9.0}]}
    assert run_study.finished(args, "weam-seed1", "key1") is not None
    assert run_study.finished(args, "weam-seed1", "key2") is None  # other settings: not finished
    run_study.Model("weam-seed1", "key2", {}, []).path(args)  # other settings: trained again
    (tmp_path / "work" / "models" / "weam-seed1" / "stage_key").unlink()  # a fresh machine: no model folder
    model.path(args)
    assert ran == ["weam-seed1"] * 3


def test_every_objective_trains_on_the_same_pairs_tokens_and_masking():
    args = run_study.StudyArguments()
    warm, models = run_study.study_models(args, data_key="d")
    assert len(models) == len(args.objectives) * len(args.post_seeds)

    def setting(argv, flag):
        return argv[argv.index(flag) + 1]

    for name, model in models.items():
        argv, objective = model.script_argv, name.split("-seed")[0]
        assert setting(argv, "--mlm_probability") == 0.3 and setting(argv, "--max_steps") == args.post_steps == 60
        pairs_per_step = setting(argv, "--per_device_train_batch_size") / (2 if objective in ("mlm", "align_mlm") else 1)
        assert pairs_per_step == args.batch_size
        assert (".align" in " ".join(map(str, argv))) == (objective == "weam")  # links for WEAM only
        assert model.needs == [warm] and model.settings["start"] == warm.key
    assert f"ppa_queue_size={args.ppa_queue_size}" in models["ppa-seed1"].script_argv
    assert "--dictionaries" in models["align_mlm-seed1"].script_argv
    assert models["weam-seed1"].key != models["weam-seed2"].key
    assert "--train_heads_only" in warm.script_argv


def test_help_keeps_the_line_breaks_and_lists_the_objectives(capsys):
    with pytest.raises(SystemExit) as stop:
        run_study.main(["--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0 and "\n1. data       Parallel en-de" in text and "\n2. warm-up    The encoder" in text
    assert "(of weam, tlm, mlm, ppa, align_mlm, awesome_align)" in " ".join(text.split())


def test_bad_designs_are_refused():
    with pytest.raises(SystemExit, match="must include mlm"):
        run_study.parse_command_line(["--objectives", "weam"])
    with pytest.raises(SystemExit, match="multiple of --batch_size"):
        run_study.parse_command_line(["--pairs_per_language", "100"])


@pytest.mark.skipif(not (run_study.SHARED / "data" / "xnli").is_dir(), reason="needs ../shared/data/xnli")
def test_xnli_items_are_read_against_the_dev_labels_of_the_evaluated_rows(tmp_path):
    args = run_study.StudyArguments(finetune_seeds=[1])
    argv, items = run_study.xnli_run(args, "MODEL", tmp_path)
    assert argv[argv.index("--eval_rows") + 1] == "2000:" and argv[argv.index("--seeds") + 1] == "1"
    gold = [line.split("\t")[2] for line in run_study.read_lines(run_study.SHARED / "data" / "xnli" / "dev-de.tsv")][2000:]
    predicted = ["neutral" if k < 10 and label != "neutral" else label for k, label in enumerate(gold)]
    (tmp_path / "predictions-de.txt").write_text("".join(f"{label}\n" for label in predicted))
    found = items(tmp_path, "de")
    assert found["words"] == [1] * 490 and sum(found["correct"]) == 490 - sum(label != "neutral" for label in gold[:10])
    (tmp_path / "predictions-de.txt").write_text("neutral\n")
    with pytest.raises(SystemExit, match="1 predictions for 490 items"):
        items(tmp_path, "de")


def test_an_aligner_objective_runs_at_e5s_alignment_layer_and_threshold():
    args = run_study.parse_command_line(["--objectives", "mlm", "awesome_align"])
    argv = [str(a) for a in run_study.pretrain_argv(args, "awesome_align", 60, 16, 1e-4, 1)]
    assert argv[argv.index("--alignment_layer") + 1] == "7" and argv[argv.index("--alignment_threshold") + 1] == "0.1"
    assert "--alignment_layer" not in [str(a) for a in run_study.pretrain_argv(args, "weam", 60, 16, 1e-4, 1)]
