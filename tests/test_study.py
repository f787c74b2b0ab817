"""study/run_study.py's own logic: the data filter, the resumable stages, the POS counts and the paired
bootstrap behind every interval of docs/study.json."""

import json
import shutil
import sys
import threading
import time
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
    # built again from the same settings: the record of the first build (whose models made the finished stages)
    # stays, and the new build is added to it
    shutil.rmtree(tmp_path / "work" / "models" / "weam-seed1")
    model.path(args)
    record = json.loads((tmp_path / "results" / "weam-seed1.json").read_text())
    assert record["key"] == "key1" and len(record["rebuilds"]) == 1
    assert record["rebuilds"][0]["losses"] == [{"step": 5, "loss": 9.0}] and "device" in record["rebuilds"][0]


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


def write_squad(path, questions):
    """A SQuAD-format file of one paragraph; `questions`: [(id, [answers])], each answer in the context."""
    context = " ".join(answer for _, answers in questions for answer in answers)
    qas = [{"id": question, "question": f"Question {question}?",
            "answers": [{"text": answer, "answer_start": context.index(answer)} for answer in answers]}
           for question, answers in questions]
    path.write_text(json.dumps({"data": [{"paragraphs": [{"context": context, "qas": qas}]}]}), encoding="utf-8")


def test_tydiqa_items_are_each_questions_f1_and_exact_match_against_its_best_gold_answer(tmp_path, monkeypatch):
    monkeypatch.setattr(run_study, "TYDIQA", tmp_path)
    write_squad(tmp_path / "tydiqa.goldp.fi.dev.json", [("q1", ["the Helsinki city", "Turku"]), ("q2", ["in 1917"]),
                                                       ("q3", ["unused"])])
    run_dir = tmp_path / "seed-1"
    run_dir.mkdir()
    # q1: "helsinki city" against "helsinki city" (SQuAD drops the article): exact; q2: "1917 and 1918" against
    # "in 1917": 1 shared token, precision 1/3, recall 1/2, F1 0.4
    (run_dir / "eval_fi_predictions.json").write_text(json.dumps({"q1": "Helsinki city.", "q2": "1917 and 1918"}))
    (run_dir / "eval_fi_results.json").write_text(json.dumps({"eval_fi_f1": 70.0, "eval_fi_exact_match": 50.0}))
    args = run_study.StudyArguments(tydiqa_eval_questions=2, finetune_seeds=[1])
    argv, items = run_study.tydiqa_run(args, "MODEL", tmp_path)
    assert items(run_dir, "fi") == {"words": [1, 1], "correct": [1.0, 0.4], "exact_match": [1, 0]}
    words = [str(word) for word in argv]
    assert words[words.index("--eval_rows") + 1] == ":2" and "--train_rows" not in words  # every training question
    evaluated = words[words.index("--eval_languages") + 1:words.index("--answer_normalization")]
    assert evaluated == ["en", *run_study.TYDIQA_LANGUAGES]
    # the last value of a repeated option counts: 2 epochs and batches of 128, not FINE_TUNING's and QUIET's
    assert words[len(words) - 1 - words[::-1].index("--num_train_epochs") + 1] == "2"
    assert words[len(words) - 1 - words[::-1].index("--per_device_eval_batch_size") + 1] == "128"
    (run_dir / "eval_fi_results.json").write_text(json.dumps({"eval_fi_f1": 71.0}))
    with pytest.raises(SystemExit, match="run_qa.py reported 71.000"):
        items(run_dir, "fi")
    (run_dir / "eval_fi_predictions.json").write_text(json.dumps({"q1": "Helsinki"}))
    with pytest.raises(SystemExit, match="not those of the 2 dev questions"):
        items(run_dir, "fi")


def tydiqa_record(f1_by_language, seeds=(1,)):
    """A tydiqa stage's result: 2 questions a language, `f1_by_language`: {language: [F1, F1]} (exact: F1 == 1)."""
    return {lang: {"words": [1, 1], "correct": {str(s): f1 for s in seeds},
                   "exact_match": {str(s): [int(v == 1) for v in f1] for s in seeds}}
            for lang, f1 in f1_by_language.items()}


def test_tydiqa_comparisons_average_the_8_languages_other_than_english_and_its_tables_show_english_too(tmp_path):
    args = run_study.StudyArguments(objectives=["mlm", "weam"], post_seeds=[1], finetune_seeds=[1],
                                    bootstrap_samples=200, results_dir=tmp_path)
    assert args.tydiqa_post_seeds == [1]  # default: every post seed
    others = run_study.TYDIQA_LANGUAGES
    records = {"untouched": tydiqa_record({"en": [1, 1], **{lang: [0.5, 0.5] for lang in others}}),
               "mlm-seed1": tydiqa_record({"en": [0, 0], **{lang: [0.5, 0.5] for lang in others}}),
               # weam: ru's two questions right, every other language as the untouched encoder; English far worse
               "weam-seed1": tydiqa_record({"en": [0, 0], **{lang: [1, 1] if lang == "ru" else [0.5, 0.5] for lang in others}})}
    entries = run_study.comparisons(args, {"tydiqa": records})
    weam = next(e for e in entries if (e["objective"], e["baseline"]) == ("weam", "untouched"))
    assert weam["delta"] == pytest.approx(50 / 8) and weam["metric"].startswith("F1, mean of ar, bn, fi, id, ko, ru, sw, te")
    assert next(e for e in entries if e["objective"] == "mlm")["delta"] == 0.0  # English is not averaged
    scores = run_study.model_scores(args, "tydiqa", records)
    assert list(scores["weam"])[:10] == ["en", *others, "avg"] and scores["weam"]["en"][0] == 0.0
    assert scores["weam"]["avg"][0] == pytest.approx(56.25)
    exact = run_study.model_scores(args, "tydiqa", records, "exact_match")
    assert exact["weam"]["ru"][0] == 100.0 and exact["weam"]["avg"][0] == pytest.approx(12.5)
    # POS keeps its own languages
    assert run_study.TASKS["udpos"].languages == run_study.TASKS["udpos"].tabled == ("de", "es", "zh")


def test_every_committed_stage_key_is_the_one_the_code_makes_here():
    """The study's finished stages are skipped by key from any folder: their keys hash paths as if the repository
    were where they ran (KEYED_LOCATIONS), and the settings of the objectives and tasks are unchanged."""
    args = run_study.StudyArguments()
    if not (args.results_dir / "data.json").exists():
        pytest.skip("no committed study results")
    warm, models = run_study.study_models(args, run_study.prepare_data(args, tokenizer=None))
    for model in [warm, *models.values()]:
        assert json.loads((args.results_dir / f"{model.name}.json").read_text())["key"] == model.key, model.name
        for task in ("udpos", "xnli"):
            path = args.results_dir / f"{task}-{model.name}.json"
            if path.exists():
                expected = run_study.stage_key(run_study.task_settings(args, task, model.key))
                assert json.loads(path.read_text())["key"] == expected, path.name


def test_the_device_is_recorded_not_keyed_and_bf16_is_passed_on_a_cuda_device_only(tmp_path, monkeypatch):
    argvs = []

    def fake_run_script(args, name, script, argv):
        argvs.append([str(a) for a in argv])
        folder = Path(argv[argv.index("--output_dir") + 1])
        folder.mkdir(parents=True)
        (folder / "trainer_state.json").write_text(json.dumps({"log_history": []}))

    monkeypatch.setattr(run_study, "run_script", fake_run_script)
    args = run_study.StudyArguments(results_dir=tmp_path / "results", work_dir=tmp_path / "work")
    model = run_study.Model("weam-seed1", "key1", {"argv": ["--seed", "1"]}, ["--seed", "1"])
    model.path(args)
    assert "--bf16" not in argvs[0]
    assert json.loads((tmp_path / "results" / "weam-seed1.json").read_text())["device"].startswith("cpu (")
    monkeypatch.setattr(run_study.torch.cuda, "is_available", lambda: True)
    assert run_study.device_flags() == ["--bf16"]
    (tmp_path / "work" / "models" / "weam-seed1" / "stage_key").unlink()  # a fresh GPU machine: built again
    model.path(args)
    assert "--bf16" in argvs[1] and model.key == "key1"


def test_records_keep_lists_of_numbers_on_one_line():
    record = {"result": {"ru": {"words": [1, 1, 1], "correct": {"1": [0.5, 1.0, 0.0]}}}, "settings": {"argv": ["a [b]"]},
              "losses": [{"step": 5, "loss": 1e-05}], "empty": []}
    text = run_study.to_json(record)
    assert json.loads(text) == record and '"words": [1, 1, 1]' in text and '"1": [0.5, 1.0, 0.0]' in text
    assert '[\n   "a [b]"\n  ]' in text  # strings are left as they are


def fake_scripts(calls, active, lock):
    """A run_script that writes what each script would, and counts the processes running at once."""

    def run_script(args, name, script, argv):
        with lock:
            active.append(name)
            calls.append((name, max(len(active), calls[-1][1] if calls else 0)))
        time.sleep(0.05)
        words = [str(a) for a in argv]
        output = Path(words[words.index("--output_dir") + 1])
        output.mkdir(parents=True, exist_ok=True)
        if script == "run_pretrain.py":
            (output / "trainer_state.json").write_text(json.dumps({"log_history": [{"step": 1, "loss": 2.0}]}))
        elif script == "run_alignment_eval.py":
            (output / "alignment_eval.json").write_text(json.dumps({"metrics": {
                "dictionary/en-de/input/p@1": {"model": 1.0}, "dictionary/en-de/layer8/p@1": {"model": 2.0},
                "tatoeba/avg": {"model": 3.0}, "alignment/de-en/aer": {"model": 4.0}}}))
        else:  # run_qa.py: every seed's answers, right for the untouched encoder's questions only
            model = words[words.index("--model_name_or_path") + 1]
            for seed in words[words.index("--seeds") + 1:]:
                for language in ("en", *run_study.TYDIQA_LANGUAGES):
                    run_dir = output / f"seed-{seed}"
                    run_dir.mkdir(parents=True, exist_ok=True)
                    right = "e5" in model
                    (run_dir / f"eval_{language}_predictions.json").write_text(json.dumps({"q1": "yes" if right else "no"}))
                    (run_dir / f"eval_{language}_results.json").write_text(json.dumps({f"eval_{language}_f1": 100.0 * right}))
        with lock:
            active.remove(name)

    return run_script


def test_workers_run_units_at_once_and_write_the_same_records_as_one_at_a_time(tmp_path, monkeypatch):
    for language in ("en", *run_study.TYDIQA_LANGUAGES):
        write_squad(tmp_path / f"tydiqa.goldp.{language}.dev.json", [("q1", ["yes"])])
    monkeypatch.setattr(run_study, "TYDIQA", tmp_path)
    monkeypatch.setattr(run_study, "ensure_model", lambda folder: folder)
    monkeypatch.setattr(run_study, "prepare_data", lambda args, tokenizer: "data")
    monkeypatch.setattr(run_study.AutoTokenizer, "from_pretrained", lambda folder: None)
    found = {}
    for workers in (1, 3):
        calls, active, lock = [], [], threading.Lock()
        monkeypatch.setattr(run_study, "run_script", fake_scripts(calls, active, lock))
        args = run_study.parse_command_line([
            "--tasks", "tydiqa", "--objectives", "mlm", "weam", "--post_seeds", "1", "2", "--finetune_seeds", "1", "2",
            "--model_dir", str(tmp_path / "e5"), "--results_dir", str(tmp_path / "results"),
            "--work_dir", str(tmp_path / f"work-{workers}"), "--workers", str(workers)])  # the same paths: the same keys
        run_study.run_all(args)
        names = [name for name, _ in calls]
        assert sorted(names) == sorted([  # every model built once, the warm-up too
            "warm-up", "mlm-seed1", "weam-seed1", "mlm-seed2", "weam-seed2", "tydiqa-untouched", "tydiqa-mlm-seed1",
            "tydiqa-weam-seed1", "tydiqa-mlm-seed2", "tydiqa-weam-seed2", "diagnostics-untouched",
            "diagnostics-mlm-seed1", "diagnostics-weam-seed1"])
        assert max(count for _, count in calls) == 1 if workers == 1 else max(count for _, count in calls) > 1
        found[workers] = {path.name: {k: v for k, v in json.loads(path.read_text()).items() if k != "seconds"}
                          for path in sorted(args.results_dir.glob("*.json"))}
        shutil.rmtree(args.results_dir)
    assert found[1] == found[3] and len(found[1]) == 13
    assert found[3]["tydiqa-untouched.json"]["result"]["ru"] == {"words": [1], "correct": {"1": [1.0], "2": [1.0]},
                                                                 "exact_match": {"1": [1], "2": [1]}}
    assert found[3]["tydiqa-weam-seed2.json"]["result"]["ru"]["correct"] == {"1": [0.0], "2": [0.0]}
