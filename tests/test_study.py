"""study/run_study.py's own logic: what counts as the same sentence, the held-out filter with its
report, and reading the evaluation outputs into the table."""

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))
import run_study  # noqa: E402
from weam.finetuning import summarize  # noqa: E402


def test_sentence_key_matches_tokenized_copies_only():
    key = run_study.sentence_key
    assert key("Where's the station?") == key("where ' s the station ?") == "wheresthestation"
    assert key("Wo ist der Bahnhof?") != key("Wo ist der Bahnhof 2?")
    assert key("我们走吧。") == key("我们 走 吧 。")
    assert key(" ... ") == ""


def test_prepare_data_removes_held_out_sentences_and_reports_every_pair(tmp_path, monkeypatch):
    corpus = tmp_path / "xx-en"
    corpus.mkdir()
    english = ["The house is big.", "A test sentence.", "A test sentence.", "", "Held out here.", "Fine."]
    other = ["Das Haus ist groß.", "Ein Testsatz.", "Ein Testsatz.", "Leer.", "Zurückgehalten.", "Gut."]
    (corpus / "news.eng").write_text("".join(f"{line}\n" for line in english), encoding="utf-8")
    (corpus / "news.deu").write_text("".join(f"{line}\n" for line in other), encoding="utf-8")
    monkeypatch.setattr(run_study, "PARALLEL", tmp_path)
    monkeypatch.setattr(run_study, "SOURCES", {"en-de": ("xx-en", ["news"], "deu")})
    # the evaluation set holds a tokenized copy of one English side
    monkeypatch.setattr(run_study, "evaluation_sentences", lambda: {"XNLI dev": {run_study.sentence_key("held out here .")}})
    args = run_study.StudyArguments(pairs_per_language=3, work_dir=tmp_path / "work")
    specs = run_study.prepare_data(args, tmp_path / "work" / "data")
    assert specs == [f"en-de={tmp_path}/work/data/en-de.en,{tmp_path}/work/data/en-de.de"]
    report = json.loads((tmp_path / "work" / "data" / "overlap.json").read_text())["en-de"]
    assert report == {"read": 6, "duplicate": 1, "empty or over 400 characters": 1, "in XNLI dev": 1,
                      "clean": 3, "sampled": 3}
    assert report["read"] == report["duplicate"] + report["empty or over 400 characters"] + report["in XNLI dev"] + report["clean"]
    sampled = (tmp_path / "work" / "data" / "en-de.en").read_text(encoding="utf-8").splitlines()
    assert sorted(sampled) == ["A test sentence.", "Fine.", "The house is big."]
    german = (tmp_path / "work" / "data" / "en-de.de").read_text(encoding="utf-8").splitlines()
    assert dict(zip(sampled, german))["Fine."] == "Gut."  # the sides stay paired
    args.pairs_per_language = 4
    (tmp_path / "work" / "data" / "overlap.json").unlink()
    with pytest.raises(SystemExit, match="only 3 pairs left"):
        run_study.prepare_data(args, tmp_path / "work" / "data")


def test_read_scores_averages_dictionaries_and_takes_mean_and_std_over_seeds(tmp_path):
    (tmp_path / "alignment").mkdir()
    metrics = {"dictionary/en-de/input/p@1": 60.0, "dictionary/en-es/input/p@1": 70.0,
               "dictionary/en-de/layer8/p@1": 80.0, "dictionary/en-de/input/p@5": 99.0,
               "tatoeba/avg": 90.0, "alignment/test.de-en/aer": 20.0}
    (tmp_path / "alignment" / "alignment_eval.json").write_text(
        json.dumps({"metrics": {name: {"model": value} for name, value in metrics.items()}}))
    (tmp_path / "xnli").mkdir()
    by_seed = {seed: {lang: {"accuracy": acc + shift} for lang, acc in zip(("en", "de", "es", "zh"), (50, 40, 44, 42))}
               for seed, shift in ((1, 0.0), (2, 2.0))}
    (tmp_path / "xnli" / "results.json").write_text(json.dumps(summarize(by_seed, ["en", "de", "es", "zh"], ["accuracy"])))
    scores = run_study.read_scores(tmp_path)
    assert scores["dict input"] == (65.0, None) and scores["dict L8"] == (80.0, None)
    assert scores["Tatoeba"] == (90.0, None) and scores["AER"] == (20.0, None)
    assert scores["XNLI de"] == (41.0, pytest.approx(2 ** 0.5))
    assert scores["XNLI avg"][0] == pytest.approx((40 + 44 + 42) / 3 + 1)  # de, es, zh: not English
    assert not any(name.startswith("MLQA") for name in scores)  # QA was not run


def test_difference_table_against_a_hand_computation():
    scores = {
        "baseline": {"XNLI avg": (46.0, 1.2), "Tatoeba": (87.4, None), "AER": (22.6, None)},
        "weam": {"XNLI avg": (47.0, 0.5), "Tatoeba": (86.0, None), "AER": (21.0, None)},
    }
    rows = run_study.difference_table(scores, xnli_seed_count=2)
    # sqrt((0.5² + 1.2²) / 2) = 0.919...
    assert rows == ["| objective | XNLI avg | Tatoeba | AER |", "|---|---:|---:|---:|", "| weam | +1.0 ± 0.9 | -1.4 | -1.6 |"]


def test_summary_counts_only_changes_beyond_the_noise():
    scores = {
        "baseline": {"XNLI avg": (46.0, 1.0), "MLQA F1 avg": (20.0, None)},
        "weam": {"XNLI avg": (48.0, 0.0), "MLQA F1 avg": (21.0, None)},  # +2.0, noise sqrt(1/2) = 0.71: above
        "tlm": {"XNLI avg": (45.0, 0.0), "MLQA F1 avg": (19.0, None)},  # -1.0 < 2 x 0.71: noise
    }
    assert run_study.summary(scores, xnli_seed_count=2) == (
        "**In short**: XNLI avg: weam above the untouched encoder, none below it; the best objective is weam (+2.0). "
        "MLQA F1 avg: weam above the untouched encoder (one seed: noise unmeasured), tlm below it; the best "
        "objective is weam (+1.0)."
    )


def test_a_stage_is_skipped_only_with_the_same_settings_and_inputs(tmp_path, monkeypatch):
    done, model = tmp_path / "results.json", tmp_path / "model.safetensors"
    model.write_text("weights")
    ran = []

    def run(command, **kwargs):  # the stage's process: records its arguments, writes its result
        ran.append(command[2:])
        done.write_text("{}")
        return run_study.subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(run_study.subprocess, "run", run)

    def evaluate(steps):
        run_study.run_stage("weam-xnli", "run_xnli.py", ["--max_steps", steps], tmp_path, done, [model])

    evaluate(80)
    evaluate(80)  # same arguments, same input: skipped
    assert ran == [["--max_steps", "80"]]
    evaluate(160)  # other arguments: runs again
    os.utime(model, ns=(0, model.stat().st_mtime_ns + 10**9))  # the model was trained again
    evaluate(160)
    assert ran == [["--max_steps", "80"], ["--max_steps", "160"], ["--max_steps", "160"]]
    record = run_study.read_stages(tmp_path)["weam-xnli"]
    assert record["settings"][:2] == ["--max_steps", "160"] and record["settings"][2].startswith(f"input {model} modified")


def test_help_keeps_the_line_breaks_and_lists_the_objectives(capsys):
    with pytest.raises(SystemExit) as stop:
        run_study.main(["--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0 and "\n1. data      Parallel en-de" in text and "\n2. warm-up   The encoder" in text
    assert "(of weam, tlm, mlm, ppa, align_mlm)" in " ".join(text.split())


def test_objective_specific_arguments_come_from_the_registry():
    args = run_study.StudyArguments()
    ppa = run_study.post_training_arguments(args, ["en-de=a,b"], "ppa", "out", "model", 10)
    align_mlm = run_study.post_training_arguments(args, ["en-de=a,b"], "align_mlm", "out", "model", 10)
    weam = run_study.post_training_arguments(args, ["en-de=a,b"], "weam", "out", "model", 10)
    assert f"ppa_queue_size={args.ppa_queue_size}" in ppa and "--dictionaries" in align_mlm
    assert "--config_overrides" not in weam and "--dictionaries" not in weam
    assert weam[weam.index("--weight_decay") + 1] == 0  # one optimizer for every objective
