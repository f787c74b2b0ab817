"""study/run_scaling.py: the TyDiQA-GoldP design (sizes, one epoch each, nested samples, the controls' steps), its
data stage, the language groups, and the rows and paired differences of docs/scaling.json against hand
computations."""

import functools
import gzip
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))
import run_scaling  # noqa: E402
import run_study  # noqa: E402
import test_scaling_pos  # noqa: E402
from test_study import tydiqa_record  # noqa: E402

EIGHT = run_scaling.TYDIQA_PAIRS
ALL_EIGHT = "+".join(EIGHT)


design = functools.partial(test_scaling_pos.design, script=run_scaling)


def write_pairs(folder, pair, count):
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("en", pair[3:], "align"):
        (folder / f"{pair}.{suffix}").write_text("".join(f"{suffix} {i}\n" for i in range(count)), encoding="utf-8")


def test_the_design_one_epoch_per_size_and_controls_that_repeat_the_smallest_set_for_the_largest_runs_steps(tmp_path):
    args, study = design(tmp_path)
    runs = run_scaling.design(args)
    assert [(run.pairs, run.total, run.pairs_seen) for run in runs] == [
        (("en-ru",), 960, 960), (("en-ru",), 4000, 4000), (("en-ru",), 16000, 16000), (("en-ru",), 960, 16000),
        (EIGHT, 960, 960), (EIGHT, 4000, 4000), (EIGHT, 16000, 16000), (EIGHT, 960, 16000)]
    assert [run.control for run in runs] == [False, False, False, True] * 2
    assert runs[3].name(1) == "weam-en-ru-960-16000seen-seed1" and runs[0].name(2) == "weam-en-ru-960-seed2"
    # en-ru's largest run takes 16,000 distinct pairs; the 8 language pairs' largest 16,000 / 8 = 2,000 each
    assert run_scaling.samples_needed(args) == {"en-ru": 16000, **{pair: 2000 for pair in EIGHT if pair != "en-ru"}}


def test_every_run_is_one_epoch_of_a_nested_sample_and_a_control_the_largest_runs_steps(tmp_path):
    args, study = design(tmp_path)
    sources = {pair: tmp_path / "data" for pair in EIGHT}
    for pair, count in run_scaling.samples_needed(args).items():
        write_pairs(tmp_path / "data", pair, count)
    warm, _ = run_study.study_models(study, data_key="d")
    models = run_scaling.scaling_models(args, study, warm, sources)
    assert len(models) == 8 * 2  # runs x post seeds
    assert list(models)[:4] == ["weam-en-ru-16000-seed1", "weam-en-ru-960-16000seen-seed1",
                                f"weam-{ALL_EIGHT}-16000-seed1", f"weam-{ALL_EIGHT}-960-16000seen-seed1"]  # longest first
    for run in run_scaling.design(args):
        for seed in args.post_seeds:
            argv = models[run.name(seed)].script_argv

            def setting(flag):
                return argv[argv.index(flag) + 1]

            assert setting("--max_steps") == run.pairs_seen // 16 and setting("--per_device_train_batch_size") == 16
            assert setting("--max_seq_length") == 128 and setting("--learning_rate") == study.learning_rate
            assert setting("--mlm_probability") == 0.3 and setting("--prediction_vocabulary") == "corpus"
            assert setting("--seed") == seed and models[run.name(seed)].needs == [warm]
            specs = argv[argv.index("--train_data") + 1:argv.index("--max_seq_length")]
            assert [spec.split("=")[0] for spec in specs] == list(run.pairs)
            for spec in specs:
                english, _, links = (Path(path).read_text().splitlines() for path in spec.split("=")[1].split(","))
                per_pair = run.total // len(run.pairs)  # 120, 500, 2000 each of the 8; en-ru: all
                assert english == [f"en {i}" for i in range(per_pair)] and len(links) == per_pair  # nested: the first lines
    assert models["weam-en-ru-960-16000seen-seed1"].settings["argv"] != models["weam-en-ru-960-seed1"].settings["argv"]
    keys = [model.key for model in models.values()]
    assert len(set(keys)) == len(keys)


def test_language_groups_with_and_without_parallel_data():
    languages = run_study.TYDIQA_LANGUAGES
    assert run_scaling.language_groups(("en-ru",), languages) == {
        "all": list(languages), "with parallel data": ["ru"],
        "without parallel data": ["ar", "bn", "fi", "id", "ko", "sw", "te"]}
    assert run_scaling.language_groups(EIGHT, languages) == {"all": list(languages),
                                                             "with parallel data": list(languages)}


def test_the_data_stage_samples_aligns_once_and_unpacks_the_committed_files(tmp_path, monkeypatch):
    args, study = design(tmp_path, ["--language_pair_sets", "en-sw", "--total_pairs", "16", "32", "--no_controls"])
    pool = [(f"en {i}", f"sw {i}") for i in range(40)]
    fits = pool[:36]  # the last 4: too long for a run, extra text for eflomal only
    monkeypatch.setattr(run_study, "clean_pairs", lambda *a: (pool, fits, {"read": 41, "clean": 40}))
    monkeypatch.setattr(run_scaling, "held_out_sentences", dict)
    monkeypatch.setattr(run_scaling, "tydiqa_sources", dict)
    aligned = []

    def fake_align(where, name, script, argv):
        aligned.append(name)
        source = Path(argv[argv.index("--src") + 1]).read_text().splitlines()
        Path(argv[argv.index("--output") + 1]).write_text("0-0\n" * len(source))
        extra = Path(argv[argv.index("--extra_src") + 1]).read_text().splitlines()
        assert sorted(extra + source) == sorted(p[0] for p in pool)

    monkeypatch.setattr(run_study, "run_script", fake_align)
    here = replace(study, results_dir=args.results_dir)
    sources = run_scaling.prepare_data(args, here, tokenizer=None)
    english = gzip.decompress((args.results_dir / "data" / "en-sw.en.gz").read_bytes()).decode().splitlines()
    assert len(english) == 32 == len(set(english)) and set(english) <= {p[0] for p in fits}
    assert (sources["en-sw"] / "en-sw.en").read_text().splitlines() == english
    assert (sources["en-sw"] / "en-sw.align").read_text() == "0-0\n" * 32
    packed = (args.results_dir / "data" / "en-sw.en.gz").read_bytes()
    (sources["en-sw"] / "en-sw.en").unlink()  # a fresh machine: unpacked again, not aligned again
    run_scaling.prepare_data(args, here, tokenizer=None)
    assert aligned == ["align-en-sw"] and (sources["en-sw"] / "en-sw.en").read_text().splitlines() == english
    assert (args.results_dir / "data" / "en-sw.en.gz").read_bytes() == packed
    record = json.loads((args.results_dir / "data-en-sw.json").read_text())
    assert record["result"] == {"read": 41, "clean": 40, "sampled": 32, "extra text for eflomal": 8}
    args, _ = design(tmp_path / "more", ["--language_pair_sets", "en-sw", "--total_pairs", "48", "--no_controls"])
    with pytest.raises(SystemExit, match="only 36 pairs fit, fewer than the 48"):
        run_scaling.prepare_data(args, replace(here, results_dir=args.results_dir), tokenizer=None)


def write_record(folder, name, record):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"tydiqa-{name}.json").write_text(json.dumps({"stage": f"tydiqa-{name}", "key": "k", "seconds": 60,
                                                           "settings": {}, "result": record}))


def test_rows_and_differences_against_a_hand_computation(tmp_path):
    args, study = design(tmp_path, ["--total_pairs", "960", "16000", "--post_seeds", "1"])
    others = [lang for lang in run_study.TYDIQA_LANGUAGES if lang != "ru"]

    def f1(ru, rest, en=0.5):  # 2 questions a language, each with this F1
        return tydiqa_record({"en": [en, en], "ru": [ru, ru], **{lang: [rest, rest] for lang in others}})

    write_record(study.results_dir, "untouched", f1(0.5, 0.5, en=1))
    for name, record in {"weam-en-ru-960-seed1": f1(0.75, 0.5), "weam-en-ru-16000-seed1": f1(1, 0.5),
                         "weam-en-ru-960-16000seen-seed1": f1(0.5, 0.5), f"weam-{ALL_EIGHT}-960-seed1": f1(0.5, 0.5),
                         f"weam-{ALL_EIGHT}-16000-seed1": f1(1, 1)}.items():
        write_record(args.results_dir, name, record)
    run_scaling.write_report(args, study, "python study/run_scaling.py", run_scaling.load_records(args, study))
    report = json.loads((args.docs_dir / "scaling.json").read_text())
    rows = report["rows"]
    assert [set(row) for row in rows] == [{
        "language_pairs", "pairs_per_language_pair", "total_pairs", "pairs_seen", "steps", "epochs", "control",
        "n_post_seeds", "n_finetune_seeds", "tydiqa_f1", "tydiqa_em", "delta_vs_untouched", "ci95",
        "by_language_group"}] * 6
    untouched, ru_960, ru_16000, ru_control, eight_960, eight_16000 = rows
    assert untouched["pairs_per_language_pair"] == 0 and untouched["tydiqa_f1"]["avg"] == 50.0
    assert untouched["tydiqa_f1"]["en"] == 100.0 and untouched["tydiqa_em"]["en"] == 100.0
    assert ru_960["tydiqa_f1"] == {"en": 50.0, "ar": 50.0, "bn": 50.0, "fi": 50.0, "id": 50.0, "ko": 50.0, "ru": 75.0,
                                   "sw": 50.0, "te": 50.0, "avg": 53.12}
    assert (ru_960["pairs_seen"], ru_960["steps"], ru_960["epochs"]) == (960, 60, 1)
    assert (ru_control["total_pairs"], ru_control["pairs_seen"], ru_control["steps"], ru_control["control"]) == (
        960, 16000, 1000, True) and ru_control["epochs"] == pytest.approx(16.67)
    assert eight_16000["pairs_per_language_pair"] == 2000 and eight_16000["language_pairs"] == list(EIGHT)
    assert ru_16000["delta_vs_untouched"] == 6.25 and ru_16000["ci95"] == [6.25, 6.25]  # no noise: no width
    groups = ru_16000["by_language_group"]
    assert (groups["with parallel data"]["languages"], groups["with parallel data"]["delta"]) == (["ru"], 50.0)
    assert (groups["without parallel data"]["languages"], groups["without parallel data"]["delta"]) == (others, 0.0)
    assert set(eight_16000["by_language_group"]) == {"all", "with parallel data"} and eight_16000["delta_vs_untouched"] == 50
    found = {(c["comparison"], c["group"]): c["delta"] for c in report["comparisons"]}
    assert found == {
        ("en-ru: 16000 pairs vs 960 (one epoch each)", "all"): 3.12,
        ("en-ru: 16000 pairs vs 960 (one epoch each)", "with parallel data"): 25.0,
        ("en-ru: 16000 pairs vs 960 (one epoch each)", "without parallel data"): 0.0,
        ("en-ru: 16000 distinct pairs vs 960 repeated, both 1000 steps (the data)", "all"): 6.25,
        ("en-ru: 16000 distinct pairs vs 960 repeated, both 1000 steps (the data)", "with parallel data"): 50.0,
        ("en-ru: 16000 distinct pairs vs 960 repeated, both 1000 steps (the data)", "without parallel data"): 0.0,
        ("en-ru: 960 pairs for 1000 steps vs 60 (the steps)", "all"): -3.12,
        ("en-ru: 960 pairs for 1000 steps vs 60 (the steps)", "with parallel data"): -25.0,
        ("en-ru: 960 pairs for 1000 steps vs 60 (the steps)", "without parallel data"): 0.0,
        ("8 language pairs: 16000 pairs vs 960 (one epoch each)", "all"): 50.0,
        ("8 language pairs: 16000 pairs vs 960 (one epoch each)", "with parallel data"): 50.0,
        ("960 pairs: 8 language pairs vs en-ru", "all"): -3.12,
        ("960 pairs: 8 language pairs vs en-ru", "with parallel data"): -25.0,
        ("960 pairs: 8 language pairs vs en-ru", "without parallel data"): 0.0,
        ("16000 pairs: 8 language pairs vs en-ru", "all"): 43.75,
        ("16000 pairs: 8 language pairs vs en-ru", "with parallel data"): 0.0,
        ("16000 pairs: 8 language pairs vs en-ru", "without parallel data"): 50.0,
    }
    assert all(set(c) == {"comparison", "group", "languages", "delta", "ci95", "minimum_detectable_effect"}
               for c in report["comparisons"])
    text = (args.docs_dir / "scaling.md").read_text()
    assert "Finished: 5 of the 6 post-training runs (`python study/run_scaling.py` resumes)." in text
    assert ("| en-ru | 960 | 960 | 60 | 1 | 1 | 50.00 | 50.00 | 50.00 | 50.00 | 50.00 | 50.00 | 75.00 | 50.00 | 50.00 | "
            "53.12 | 0.00 | +3.12 [+3.12, +3.12] | ru: +25.00 [+25.00, +25.00] | ar, bn, fi, id, ko, sw, te: +0.00") in text
    # 13 intervals of the rows against the untouched encoder and 17 between runs
    assert "These are 30 intervals at the 5% level" in text and "about 1.5 would exclude zero by chance" in text
    assert "- **en-ru** (en-ru), Δ F1 from the untouched encoder: 960 pairs: +3.12 [+3.12, +3.12], with parallel " in text
    assert (args.docs_dir / "scaling.png").exists()


def test_bad_designs_are_refused(tmp_path):
    with pytest.raises(SystemExit, match=r"\[1004\]: each must split evenly over 8 language pair"):
        design(tmp_path, ["--language_pair_sets", ALL_EIGHT, "--total_pairs", "1004"])
    with pytest.raises(SystemExit, match="multiple of the study's 16 pairs a step"):
        design(tmp_path, ["--language_pair_sets", "en-ru", "--total_pairs", "1000"])  # 62.5 steps
    with pytest.raises(SystemExit, match="unknown en-de"):
        design(tmp_path, ["--language_pair_sets", "en-de"])


def test_a_run_built_first_records_the_warm_up_with_the_studys_stages(tmp_path, monkeypatch):
    args, study = design(tmp_path, ["--language_pair_sets", "en-sw", "--total_pairs", "16", "--no_controls",
                                    "--post_seeds", "1"])
    write_pairs(tmp_path / "data", "en-sw", 16)

    def fake_pretrain(where, name, script, argv):
        folder = Path(argv[argv.index("--output_dir") + 1])
        folder.mkdir(parents=True)
        (folder / "trainer_state.json").write_text(json.dumps({"log_history": []}))

    monkeypatch.setattr(run_study, "run_script", fake_pretrain)
    warm, _ = run_study.study_models(study, data_key="d")
    (model,) = run_scaling.scaling_models(args, study, warm, {"en-sw": tmp_path / "data"}).values()
    model.path(replace(study, results_dir=args.results_dir))
    assert (study.results_dir / "warm-up.json").exists() and not (args.results_dir / "warm-up.json").exists()
    assert (args.results_dir / "weam-en-sw-16-seed1.json").exists()
