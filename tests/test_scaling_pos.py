"""study/run_scaling_pos.py: nested data at fixed exposure, the study's WEAM reused where it is the same run, the
rows and paired differences of docs/scaling-pos.json against hand computations, and the committed report and
stage keys as the code makes them today."""

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "study"))
import run_scaling_pos  # noqa: E402
import run_study  # noqa: E402
from test_study import pos_record  # noqa: E402

THREE = "+".join(run_scaling_pos.ALL_PAIRS)


def write_pairs(folder, pair, count, tag=""):
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("en", pair[3:], "align"):
        (folder / f"{pair}.{suffix}").write_text("".join(f"{tag}{suffix} {i}\n" for i in range(count)), encoding="utf-8")


def design(tmp_path, argv=(), script=run_scaling_pos):
    """A scaling script's arguments and its study's, everything under `tmp_path`, one fine-tuning seed."""
    args, study = script.parse_command_line(["--results_dir", str(tmp_path / "scaling"), "--docs_dir",
                                             str(tmp_path / "docs"), *argv])
    study = replace(study, results_dir=tmp_path / "study", work_dir=tmp_path / "work", finetune_seeds=[1],
                    bootstrap_samples=200)
    return args, study


def test_a_run_takes_the_first_lines_of_each_pair_and_is_keyed_by_their_content(tmp_path):
    args, study = design(tmp_path)
    for pair in run_scaling_pos.ALL_PAIRS:
        write_pairs(study.results_dir / "data", pair, 6)
    sources = {pair: study.results_dir / "data" for pair in run_scaling_pos.ALL_PAIRS}
    specs, key = run_scaling_pos.run_corpora(study, sources, ("en-de", "en-zh"), 4)
    assert [spec.split("=")[0] for spec in specs] == ["en-de", "en-zh"]
    files = specs[1].split("=")[1].split(",")
    assert [Path(f).name for f in files] == ["en-zh.en", "en-zh.zh", "en-zh.align"]
    assert Path(files[1]).read_text() == "zh 0\nzh 1\n"  # 4 pairs over 2 language pairs: the first 2 of each
    assert run_scaling_pos.run_corpora(study, sources, ("en-de", "en-zh"), 4)[1] == key
    write_pairs(study.results_dir / "data", "en-zh", 6, tag="new ")
    assert run_scaling_pos.run_corpora(study, sources, ("en-de", "en-zh"), 4)[1] != key  # new links: a new run
    with pytest.raises(SystemExit, match="6 lines, fewer than the 8 asked for"):
        run_scaling_pos.run_corpora(study, sources, ("en-zh",), 8)


def test_the_larger_sample_starts_with_the_studys_pairs_and_aligns_once(tmp_path, monkeypatch):
    args, study = design(tmp_path)
    write_pairs(study.results_dir / "data", "en-zh", 3)
    study_sample = [(f"en {i}", f"zh {i}") for i in range(3)]
    others = [(f"other en {i}", f"other zh {i}") for i in range(10)]
    pool = study_sample + others + [("short en", "short zh")]  # clean but too short to train on: extra text only
    monkeypatch.setattr(run_study, "clean_pairs", lambda *a: (pool, study_sample + others, {"read": 14}))
    monkeypatch.setattr(run_study, "evaluation_sentences", dict)
    aligned = []

    def fake_align(study_args, name, script, argv):
        aligned.append(name)
        lines = len(Path(argv[argv.index("--src") + 1]).read_text().splitlines())
        Path(argv[argv.index("--output") + 1]).write_text("0-0\n" * lines)
        extra = Path(argv[argv.index("--extra_src") + 1]).read_text().splitlines()
        assert extra == [p[0] for p in pool if p not in sample_of(argv)]

    def sample_of(argv):
        src, tgt = (Path(argv[argv.index(flag) + 1]).read_text().splitlines() for flag in ("--src", "--tgt"))
        return set(zip(src, tgt))

    monkeypatch.setattr(run_study, "run_script", fake_align)
    folder = run_scaling_pos.extended_sample(args, study, "en-zh", 8, tokenizer=None)
    english = (folder / "en-zh.en").read_text().splitlines()
    assert len(english) == 8 == len(set(english)) and english[:3] == ["en 0", "en 1", "en 2"]
    assert set(english[3:]) <= {p[0] for p in others}
    assert (folder / "en-zh.align").read_text() == "0-0\n" * 8
    run_scaling_pos.extended_sample(args, study, "en-zh", 8, tokenizer=None)
    assert aligned == ["align-en-zh-8"]  # finished: not again
    record = json.loads((args.results_dir / "data-en-zh.json").read_text())
    assert record["result"]["sampled"] == 8 and record["result"]["extra text for eflomal"] == 6


def test_every_run_sees_the_same_pairs_and_the_studys_weam_is_reused(tmp_path):
    args, study = design(tmp_path)
    study_data = study.results_dir / "data"
    for pair in run_scaling_pos.ALL_PAIRS:
        write_pairs(study_data, pair, study.pairs_per_language)
    sources = {**{pair: study_data for pair in run_scaling_pos.ALL_PAIRS}, "en-zh": tmp_path / "scaling" / "data"}
    write_pairs(sources["en-zh"], "en-zh", 960)
    warm, study_models = run_study.study_models(study, data_key="d")
    models = run_scaling_pos.scaling_models(args, study, warm, sources)
    assert len(models) == 2 * 3 * 2  # series x sizes x post seeds
    for (pairs, total, seed), (name, model, home) in models.items():
        argv = model.script_argv
        assert argv[argv.index("--max_steps") + 1] == 60 and argv[argv.index("--per_device_train_batch_size") + 1] == 16
        assert model.needs == [warm] and argv[argv.index("--seed") + 1] == seed
        if (pairs, total) == (tuple(run_scaling_pos.ALL_PAIRS), 960):  # the study's own WEAM run
            assert (name, model.key, home) == (f"weam-seed{seed}", study_models[f"weam-seed{seed}"].key, study.results_dir)
            continue
        assert home == args.results_dir and name == f"weam-{'+'.join(pairs)}-{total}-seed{seed}"
        specs = argv[argv.index("--train_data") + 1:argv.index("--max_seq_length")]
        assert [spec.split("=")[0] for spec in specs] == list(pairs)
        for spec in specs:
            assert all(len(Path(f).read_text().splitlines()) == total // len(pairs) for f in spec.split("=")[1].split(","))
    keys = [model.key for _, model, _ in models.values()]
    assert len(set(keys)) == len(keys)


def test_rows_and_differences_against_a_hand_computation(tmp_path):
    args, study = design(tmp_path, ["--total_pairs", "120", "960", "--post_seeds", "1"])
    runs = {  # 2 sentences of 4 words in each of de, es, zh; untouched: 2 of 4 right everywhere (50%)
        (study.results_dir, "untouched"): [2, 2, 2, 2, 2, 2],
        (args.results_dir, "weam-en-zh-120-seed1"): [2, 2, 2, 2, 3, 3],  # zh 75
        (args.results_dir, "weam-en-zh-960-seed1"): [2, 2, 2, 2, 4, 4],  # zh 100
        (args.results_dir, f"weam-{THREE}-120-seed1"): [3, 3, 3, 3, 3, 3],  # 75 everywhere
        (study.results_dir, "weam-seed1"): [4, 4, 4, 4, 4, 4],  # the study's WEAM: 100 everywhere
    }
    for (folder, name), counts in runs.items():
        folder.mkdir(parents=True, exist_ok=True)
        record = {"stage": f"udpos-{name}", "key": "k", "seconds": 60, "settings": {}, "result": pos_record({1: counts})}
        (folder / f"udpos-{name}.json").write_text(json.dumps(record))
    run_scaling_pos.write_report(args, study, "python study/run_scaling_pos.py", run_scaling_pos.load_records(args, study))
    report = json.loads((args.docs_dir / "scaling-pos.json").read_text())
    rows = report["rows"]
    assert rows[0]["pairs_per_language_pair"] == 0 and rows[0]["udpos_accuracy"]["avg"] == 50.0
    zh_120, zh_960, three_120, three_960 = rows[1:]
    assert zh_120["language_pairs"] == ["en-zh"] and zh_120["pairs_per_language_pair"] == 120 and zh_120["epochs"] == 8
    assert three_120["pairs_per_language_pair"] == 40 and three_960["epochs"] == 1 and three_960["pairs_seen"] == 960
    assert zh_120["udpos_accuracy"] == {"de": 50.0, "es": 50.0, "zh": 75.0, "avg": 58.33}
    assert zh_120["delta_vs_untouched"] == 8.33 and zh_120["ci95"] == [8.33, 8.33]  # no noise: the interval collapses
    groups = zh_120["by_language_group"]
    assert (groups["with parallel data"]["languages"], groups["with parallel data"]["delta"]) == (["zh"], 25.0)
    assert (groups["without parallel data"]["languages"], groups["without parallel data"]["delta"]) == (["de", "es"], 0.0)
    assert "without parallel data" not in three_960["by_language_group"] and three_960["delta_vs_untouched"] == 50.0
    found = {(c["comparison"], c["group"]): c["delta"] for c in report["comparisons"]}
    assert found == {
        ("en-zh: 960 pairs vs 120", "all"): 8.33, ("en-zh: 960 pairs vs 120", "with parallel data"): 25.0,
        ("en-zh: 960 pairs vs 120", "without parallel data"): 0.0,
        (f"{THREE}: 960 pairs vs 120", "all"): 25.0, (f"{THREE}: 960 pairs vs 120", "with parallel data"): 25.0,
        (f"120 pairs: {THREE} vs en-zh", "all"): 16.67, (f"120 pairs: {THREE} vs en-zh", "with parallel data"): 0.0,
        (f"120 pairs: {THREE} vs en-zh", "without parallel data"): 25.0,
        (f"960 pairs: {THREE} vs en-zh", "all"): 33.33, (f"960 pairs: {THREE} vs en-zh", "with parallel data"): 0.0,
        (f"960 pairs: {THREE} vs en-zh", "without parallel data"): 50.0,
    }
    text = (args.docs_dir / "scaling-pos.md").read_text()
    assert "| en-zh | 120 | 8 | 1 | 50.00 | 50.00 | 75.00 | 58.33 | +8.33 [+8.33, +8.33] | zh: +25.00" in text
    assert "Finished: 4 of the 4 post-training runs." in text and (args.docs_dir / "scaling-pos.png").exists()
    # every noiseless difference excludes zero but the ones that are exactly 0; 15 intervals, rows included
    assert f"exclude zero: en-zh at 120 pairs: +8.33; en-zh at 960 pairs: +16.67; {THREE} at 120 pairs: +25.00" in text
    assert "These are 15 intervals at the 5% level" in text and "about 0.8 would exclude zero by chance" in text


def test_bad_designs_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="must split evenly over 3 language pair"):
        design(tmp_path, ["--total_pairs", "100"])
    with pytest.raises(SystemExit, match="at most the 960 pairs every run sees"):
        design(tmp_path, ["--total_pairs", "1920"])
    with pytest.raises(SystemExit, match="unknown en-fr"):
        design(tmp_path, ["--language_pair_sets", "en-fr"])


@pytest.mark.slow
def test_report_only_regenerates_the_committed_report(tmp_path):
    """docs/scaling-pos.* come from the committed stages alone: --report_only writes them again (the date aside)."""
    docs = run_scaling_pos.REPO / "docs"
    run_scaling_pos.main(["--report_only", "--docs_dir", str(tmp_path)])
    dated = re.compile(r"\(\d{4}-\d{2}-\d{2}\)")

    def content(path):  # the command that wrote it names the folder
        return dated.sub("(date)", path.read_text()).replace(f" --docs_dir {tmp_path}", "")

    for name in ("scaling-pos.md", "scaling-pos.json"):
        assert content(tmp_path / name) == content(docs / name), name
    assert np.array_equal(imread(tmp_path / "scaling-pos.png"), imread(docs / "scaling-pos.png"))


def test_every_committed_stage_key_is_the_one_the_code_makes_here(tmp_path, monkeypatch):
    """Nothing of the POS design runs again: its models' and POS stages' keys, made from this folder (its corpora
    written under a temporary work folder, keyed as the default one), are the committed ones."""
    args, study = run_scaling_pos.parse_command_line([])
    work = tmp_path / "work"
    monkeypatch.setattr(run_study, "KEYED_LOCATIONS", ((work, "/work/main/study-runs"), *run_study.KEYED_LOCATIONS))
    study = replace(study, work_dir=work)
    warm, _ = run_study.study_models(study, run_study.prepare_data(study, tokenizer=None))
    sources = run_scaling_pos.data_sources(args, study, tokenizer=None)
    models = run_scaling_pos.scaling_models(args, study, warm, sources)
    assert len(models) == 12
    for name, model, home in models.values():
        assert json.loads((home / f"{name}.json").read_text())["key"] == model.key, name
        expected = run_study.stage_key(run_study.task_settings(study, "udpos", model.key))
        assert json.loads((home / f"udpos-{name}.json").read_text())["key"] == expected, name
