"""The alignment stage: shards of a corpus over the processes of a launch, links exchanged with
torch.distributed (no shared filesystem), saved with the run and reused; align_words.py --shard/--merge."""

import json
import os
import shutil
import subprocess
import sys

import datasets
import pytest
import torch.multiprocessing

import align_words as align_words_script
import weam.corpus_alignment as stage
from weam.corpora import CorpusSpec, ParallelDataError, load_parallel_corpus
from weam.corpus_alignment import (
    CorpusAlignment, RunAlignments, shard_aligner_options, shard_bounds, shard_count,
)
from weam.word_alignment import align_eflomal, read_pharaoh

ROOT = os.path.join(os.path.dirname(__file__), "..")
SAMPLE = os.path.join(ROOT, "data", "sample")
TINY = "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64"


def diagonal(src_words, tgt_words, aligner, **options):
    """A deterministic stand-in for eflomal: word i links word i."""
    return [[(i, i) for i in range(min(len(s), len(t)))] for s, t in zip(src_words, tgt_words)]


def rows_of(pairs, lines=None):
    return datasets.Dataset.from_dict({
        "source": [s for s, _ in pairs], "target": [t for _, t in pairs],
        "line": lines or list(range(1, len(pairs) + 1)), "problem": [""] * len(pairs),
    })


PAIRS = [("a b c", "x y"), ("d e", "z w v"), ("f", "u"), ("g h", "t s"), ("i j k l", "r q p"), ("m", "o n")]
SPEC = CorpusSpec("en", "de", "corpus.en,corpus.de")


def test_shards_cover_every_row_once_and_are_never_too_small():
    assert shard_bounds(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert shard_bounds(2, 1) == [(0, 2)]
    assert shard_count(50_000, processes=8, aligner="eflomal", min_shard_pairs=20_000) == 2
    assert shard_count(10, processes=4, aligner="neural+eflomal", min_shard_pairs=20_000) == 1
    assert shard_count(10, processes=4, aligner="neural", min_shard_pairs=20_000) == 4  # each pair alone
    assert shard_count(3, processes=8, aligner="neural") == 3


def test_a_shard_gets_the_iterations_of_the_whole_corpus():
    # eflomal's default: round(rel_iterations * 5000 / sqrt(pairs)) iterations; the whole 40,000 pairs: 25
    options = shard_aligner_options("eflomal", {"symmetrization": "union"}, shard_pairs=10_000, corpus_pairs=40_000)
    assert options == {"symmetrization": "union", "rel_iterations": 0.5}
    assert round(options["rel_iterations"] * 5000 / 10_000 ** 0.5) == round(5000 / 40_000 ** 0.5) == 25
    both = shard_aligner_options("neural+eflomal", {"layer": 7}, shard_pairs=10_000, corpus_pairs=40_000)
    assert both == {"layer": 7, "eflomal_options": {"rel_iterations": 0.5}}
    assert shard_aligner_options("eflomal", {}, 40_000, 40_000) == {}
    assert shard_aligner_options("eflomal", {"n_iterations": (1, 1, 2)}, 10, 40) == {"n_iterations": (1, 1, 2)}
    assert shard_aligner_options("neural", {"layer": 7}, 10, 40) == {"layer": 7}


def test_eflomal_takes_the_shard_options(monkeypatch):
    seen = {}

    class Aligner:
        def __init__(self, **options):
            seen.update(options)

        def align(self, src, tgt, links_filename_fwd, links_filename_rev, quiet):
            for path in (links_filename_fwd, links_filename_rev):
                with open(path, "w") as f:
                    f.writelines("0-0\n" for _ in src)

    monkeypatch.setattr("eflomal.Aligner", Aligner)
    assert align_eflomal([["a"]], [["b"]], rel_iterations=0.5) == [[(0, 0)]]
    assert seen == {"rel_iterations": 0.5}


def test_neural_eflomal_passes_the_shard_options_to_eflomal(monkeypatch):
    import weam.word_alignment as wa

    seen = {}
    monkeypatch.setattr(wa, "eflomal_directional", lambda *args, **options: seen.update(options) or ([[]], [[]]))
    monkeypatch.setattr(wa, "align_neural", lambda *args, **options: [[(0, 0)]])
    assert wa.align_neural_eflomal([["a"]], [["b"]], "model", eflomal_options={"rel_iterations": 0.5}) == [[(0, 0)]]
    assert seen == {"rel_iterations": 0.5}


@pytest.fixture
def recorded(monkeypatch):
    calls = []

    def aligner(src_words, tgt_words, aligner, **options):
        calls.append((len(src_words), aligner, options))
        return diagonal(src_words, tgt_words, aligner)

    monkeypatch.setattr(stage, "align_words", aligner)
    return calls


def test_links_are_saved_line_by_line_and_reused(tmp_path, recorded):
    # line 3 of the corpus was skipped before the stage: its line in the file is blank
    rows = rows_of(PAIRS[:2] + PAIRS[3:], lines=[1, 2, 4, 5, 6])
    run = RunAlignments(str(tmp_path / "out"))
    aligned = CorpusAlignment("eflomal", {"symmetrization": "union"}, False, run)(rows, SPEC)
    assert aligned["alignment"] == ["0-0 1-1", "0-0 1-1", "0-0 1-1", "0-0 1-1 2-2", "0-0"]
    assert len(recorded) == 1
    saved = tmp_path / "out" / "alignments"
    assert (saved / "en-de.align").read_text() == "0-0 1-1\n0-0 1-1\n\n0-0 1-1\n0-0 1-1 2-2\n0-0\n"
    record = json.loads((saved / "en-de.json").read_text())
    assert record["pairs"] == 5 and record["lines"] == 6 and record["processes"] == 1
    assert record["settings"] == {"aligner": "eflomal", "pretokenized": False, "symmetrization": "union"}
    assert record["shards"][0]["rows"] == [0, 5]

    # another run (a resume, another node with a copy of the folder) on the same pairs: no aligning
    again = CorpusAlignment("eflomal", {"symmetrization": "union"}, False, RunAlignments(str(tmp_path / "out")))
    assert again(rows, SPEC)["alignment"] == aligned["alignment"]
    assert len(recorded) == 1


def test_other_pairs_or_settings_stop_the_run_or_with_overwrite_are_aligned_again(tmp_path, recorded, caplog):
    rows = rows_of(PAIRS)
    CorpusAlignment("eflomal", {"symmetrization": "union"}, False, RunAlignments(str(tmp_path)))(rows, SPEC)
    saved = (tmp_path / "alignments" / "en-de.align").read_text()
    for aligner_options, corpus in (({"symmetrization": "intersection"}, rows), ({"symmetrization": "union"},
                                                                                  rows_of(PAIRS[::-1]))):
        # an earlier run's links, which eflomal cannot give again: kept, unless --overwrite_output_dir
        with pytest.raises(ParallelDataError, match="an earlier run's: give another --output_dir, or "
                           "--overwrite_output_dir to align en-de=corpus.en,corpus.de again over them"):
            CorpusAlignment("eflomal", aligner_options, False, RunAlignments(str(tmp_path)))(corpus, SPEC)
        assert (tmp_path / "alignments" / "en-de.align").read_text() == saved
    for aligner_options, corpus in (({"symmetrization": "intersection"}, rows), ({"symmetrization": "union"},
                                                                                  rows_of(PAIRS[::-1]))):
        caplog.clear()
        CorpusAlignment("eflomal", aligner_options, False, RunAlignments(str(tmp_path), overwrite=True))(corpus, SPEC)
        assert "aligning en-de=corpus.en,corpus.de again" in caplog.text
    assert len(recorded) == 3


def test_a_damaged_link_file_is_not_used(tmp_path, recorded, caplog):
    rows = rows_of(PAIRS)
    CorpusAlignment("eflomal", {}, False, RunAlignments(str(tmp_path)))(rows, SPEC)
    links = tmp_path / "alignments" / "en-de.align"
    links.write_text(links.read_text().replace("0-0 1-1", "0-1 1-0", 1))
    again = CorpusAlignment("eflomal", {}, False, RunAlignments(str(tmp_path)))(rows, SPEC)
    assert "does not hold the links it records" in caplog.text
    assert len(recorded) == 2 and again["alignment"][0] == "0-0 1-1"


def test_a_resume_finds_the_links_in_its_checkpoint_and_checkpoints_get_them(tmp_path, recorded):
    rows = rows_of(PAIRS)
    first = RunAlignments(str(tmp_path / "a"))
    CorpusAlignment("eflomal", {}, False, first)(rows, SPEC)
    checkpoint = tmp_path / "a" / "checkpoint-3"
    checkpoint.mkdir()
    args = type("Args", (), {"output_dir": str(tmp_path / "a"), "should_save": True})()
    first.on_save(args, type("State", (), {"global_step": 3})(), None)
    saved = (tmp_path / "a" / "alignments" / "en-de.align").read_text()
    assert (checkpoint / "alignments" / "en-de.align").read_text() == saved
    # the checkpoint alone, resumed into another folder
    shutil.copytree(checkpoint, tmp_path / "b" / "checkpoint-3")
    resumed = RunAlignments(str(tmp_path / "b"), resume_from_checkpoint=str(tmp_path / "b" / "checkpoint-3"))
    CorpusAlignment("eflomal", {}, False, resumed)(rows, SPEC)
    assert len(recorded) == 1
    assert (tmp_path / "b" / "alignments" / "en-de.json").exists()


def test_the_stage_feeds_prepare_corpus(tmp_path, recorded):
    from transformers import AutoTokenizer

    source = tmp_path / "c.en"
    target = tmp_path / "c.de"
    source.write_text("".join(s + "\n" for s, _ in PAIRS))
    target.write_text("".join(t + "\n" for _, t in PAIRS))
    spec = CorpusSpec.parse(f"en-de={source},{target}")
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(SAMPLE, "mbert-tokenizer"))
    alignment = CorpusAlignment("eflomal", {}, False, RunAlignments(str(tmp_path / "out")))
    dataset, report = load_parallel_corpus(spec, tokenizer, cache_dir=str(tmp_path / "cache"),
                                           alignment_stage=alignment)
    assert report.used == len(PAIRS) and len(recorded) == 1
    # pair 0: "a b c" / "x y", links 0-0 1-1: [CLS] a b c [SEP] x y [SEP]
    assert sorted(dataset[0]["alignment"]) == [[1, 5], [2, 6]]


def _process(rank, port, folders, result_dir):
    """One process of a 2-process gloo launch: the stage on PAIRS with output folder `folders[rank]`;
    again after process 1 lost its folder; then with another corpus on process 1."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    calls = []

    def aligner(src_words, tgt_words, aligner, **options):
        calls.append([" ".join(words) for words in src_words])
        return diagonal(src_words, tgt_words, aligner)

    stage.align_words = aligner
    stage.EXCHANGE_LINES = 2  # several messages
    results = []
    for attempt in range(2):
        if attempt == 1 and rank == 1:
            shutil.rmtree(folders[1])
        dist.barrier()
        alignment = CorpusAlignment("eflomal", {}, False, RunAlignments(folders[rank]), min_shard_pairs=2)
        links = list(alignment(rows_of(PAIRS), SPEC)["alignment"])
        results.append({"links": links, "calls": calls[:]})
        calls.clear()
    # process 1's node has another corpus
    try:
        CorpusAlignment("eflomal", {}, False, RunAlignments(folders[rank]))(rows_of(PAIRS[rank:]), SPEC)
    except ParallelDataError as error:
        results.append(str(error))
    with open(os.path.join(result_dir, f"{rank}.json"), "w") as f:
        json.dump(results, f)
    dist.destroy_process_group()


def test_two_processes_align_one_shard_each_and_share_links_without_a_shared_folder(tmp_path, free_port):
    # one folder per process: two nodes without a shared filesystem
    folders = [str(tmp_path / "node0"), str(tmp_path / "node1")]
    # fork: the processes start with the modules loaded (spawn would import them again: 10-50 s)
    torch.multiprocessing.start_processes(_process, args=(free_port, folders, str(tmp_path)), nprocs=2,
                                          start_method="fork")
    first, second, mismatch = zip(*[json.loads((tmp_path / f"{rank}.json").read_text()) for rank in (0, 1)])
    calls = sorted(call for result in first for call in result["calls"])
    assert calls == [["a b c", "d e", "f"], ["g h", "i j k l", "m"]]  # each shard once, one per process
    assert [len(result["calls"]) for result in first] == [1, 1]
    expected = [" ".join(f"{i}-{i}" for i in range(min(len(s.split()), len(t.split())))) for s, t in PAIRS]
    assert first[0]["links"] == first[1]["links"] == expected
    records = [json.loads(open(os.path.join(folder, "alignments", "en-de.json")).read()) for folder in folders]
    assert records[0] == records[1]
    assert [shard["rows"] for shard in records[0]["shards"]] == [[0, 3], [3, 6]]
    assert sorted(shard["process"] for shard in records[0]["shards"]) == [0, 1]
    # process 1 lost its folder: process 0's saved links reach it, nobody aligns, both save them
    assert [result["calls"] for result in second] == [[], []]
    assert second[0]["links"] == second[1]["links"] == expected
    assert open(os.path.join(folders[1], "alignments", "en-de.align")).read().splitlines() == expected
    assert mismatch[0] == mismatch[1] == ("en-de=corpus.en,corpus.de: processes [1] read other pairs than process 0; "
                                          "every node of the launch must have the same corpus (same files, same "
                                          "--skip_invalid and --max_line_chars)")


# ------------------------------------------------------------------------------------------------
# align_words.py --shard K/N and --merge


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    calls = []

    def aligner(src_words, tgt_words, aligner, **options):
        calls.append((len(src_words), options))
        return diagonal(src_words, tgt_words, aligner)

    monkeypatch.setattr(align_words_script, "align_words", aligner)
    source, target = tmp_path / "c.en", tmp_path / "c.de"
    source.write_text("".join(s + "\n" for s, _ in PAIRS))
    target.write_text("".join(t + "\n" for _, t in PAIRS))
    return str(source), str(target), calls


def test_parts_merge_into_the_whole(tmp_path, corpus):
    source, target, calls = corpus
    whole = tmp_path / "whole.align"
    align_words_script.main(["--src", source, "--tgt", target, "--output", str(whole)])
    parts = [str(tmp_path / f"part{k}") for k in (1, 2, 3)]
    for k, part in enumerate(parts, 1):
        align_words_script.main(["--src", source, "--tgt", target, "--shard", f"{k}/3", "--output", part])
    assert [count for count, _ in calls] == [6, 2, 2, 2]
    assert calls[1][1]["rel_iterations"] == pytest.approx((2 / 6) ** 0.5)  # the whole corpus' iterations
    merged = tmp_path / "merged.align"
    align_words_script.main(["--merge", parts[2], parts[0], parts[1], "--output", str(merged)])
    assert merged.read_text() == whole.read_text()
    assert len(read_pharaoh(str(merged))) == len(PAIRS)


def test_merge_refuses_missing_repeated_incomplete_or_foreign_parts(tmp_path, corpus, capsys):
    source, target, _ = corpus
    parts = [str(tmp_path / f"part{k}") for k in (1, 2)]
    for k, part in enumerate(parts, 1):
        align_words_script.main(["--src", source, "--tgt", target, "--shard", f"{k}/2", "--output", part])
    other = tmp_path / "other.en"
    other.write_text("".join(s + " more\n" for s, _ in PAIRS))
    align_words_script.main(["--src", str(other), "--tgt", target, "--shard", "2/2", "--output", str(tmp_path / "o2")])
    truncated = tmp_path / "short2"
    truncated.write_text("0-0\n")
    shutil.copy(parts[1] + ".json", str(truncated) + ".json")
    for given, message in (
        ([parts[0]], "part(s) 2/2 missing"),
        ([parts[0], parts[0]], "part 1/2 is given twice"),
        ([parts[0], str(tmp_path / "o2")], "parts of different corpora or settings (corpus_sha256 differs)"),
        ([parts[0], str(truncated)], "has 1 lines, but part 2/2 holds pairs 4-6: it is incomplete"),
        ([str(tmp_path / "c.en")], "not a part written by --shard"),
    ):
        with pytest.raises(SystemExit):
            align_words_script.main(["--merge", *given, "--output", str(tmp_path / "m.align")])
        assert message in capsys.readouterr().err
    for bad in ("0/2", "3/2", "x"):
        with pytest.raises(SystemExit):
            align_words_script.main(["--src", source, "--tgt", target, "--shard", bad, "--output", "o"])
        assert "give K/N with 1 <= K <= N" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# run_pretrain.py: two processes, and a resume with an empty datasets cache


def slice_corpus(tmp_path, pairs):
    paths = []
    for language in ("en", "es"):
        with open(os.path.join(SAMPLE, f"tico19.en-es.{language}"), encoding="utf-8") as f:
            lines = [next(f) for _ in range(pairs)]
        path = tmp_path / f"slice.{language}"
        path.write_text("".join(lines), encoding="utf-8")
        paths.append(str(path))
    return "en-es=" + ",".join(paths)


def losses(output, key="loss"):
    with open(os.path.join(output, "trainer_state.json")) as f:
        return {entry["step"]: entry[key] for entry in json.load(f)["log_history"] if key in entry}


@pytest.mark.slow
def test_two_processes_align_a_shard_each_and_train_on_the_pairs_of_one(tmp_path, free_port):
    """torchrun, 2 CPU processes (gloo), eflomal: each aligns one shard; both train on the whole corpus,
    so the masked-LM loss (which the links do not enter) equals that of one process accumulating 2 micro-batches."""
    common = ["--train_data", slice_corpus(tmp_path, 40), "--config_overrides",
              TINY + ",hidden_dropout_prob=0,attention_probs_dropout_prob=0", "--per_device_train_batch_size", "4",
              "--validation_pairs", "0", "--logging_steps", "1", "--eval_strategy", "no", "--save_strategy", "no",
              "--max_steps", "3", "--dataloader_drop_last", "--train_sampling_strategy", "sequential",
              "--min_shard_pairs", "20"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    script = os.path.join(ROOT, "run_pretrain.py")
    for output, launcher, extra in (
        ("ddp", [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                 str(free_port)], ["--use_cpu"]),
        ("single", [sys.executable], ["--gradient_accumulation_steps", "2"]),
    ):
        env["HF_DATASETS_CACHE"] = str(tmp_path / f"cache-{output}")
        result = subprocess.run([*launcher, script, *common, *extra, "--output_dir", str(tmp_path / output)],
                                capture_output=True, text=True, env=env, cwd=ROOT)
        assert result.returncode == 0, result.stderr[-3000:]
    records = {output: json.loads((tmp_path / output / "alignments" / "en-es.json").read_text())
               for output in ("ddp", "single")}
    assert [(shard["rows"], shard["process"]) for shard in records["ddp"]["shards"]] in (
        [([0, 20], 0), ([20, 40], 1)], [([0, 20], 1), ([20, 40], 0)])
    assert [shard["rows"] for shard in records["single"]["shards"]] == [[0, 40]]
    assert records["ddp"]["pairs_sha256"] == records["single"]["pairs_sha256"]
    for output in ("ddp", "single"):  # every pair has links
        assert all((tmp_path / output / "alignments" / "en-es.align").read_text().splitlines())
    # the same pairs: the first step's MLM loss is the same; later steps differ a little, as eflomal's links
    # (and so the cross-lingual gradients) differ between the two runs
    ddp, single = losses(tmp_path / "ddp", "mlm_loss"), losses(tmp_path / "single", "mlm_loss")
    assert ddp[min(ddp)] == pytest.approx(single[min(single)], rel=1e-5)
    assert ddp == pytest.approx(single, rel=1e-3)
    assert len(losses(tmp_path / "ddp", "mlm_loss")) == 3


@pytest.mark.slow
def test_a_resume_after_the_datasets_cache_is_cleared_trains_on_the_saved_links(tmp_path, monkeypatch):
    import run_pretrain

    data = [slice_corpus(tmp_path, 64)]
    args = ["--train_data", *data, "--config_overrides", TINY, "--per_device_train_batch_size", "8",
            "--validation_pairs", "8", "--logging_steps", "1", "--eval_strategy", "no", "--save_strategy", "steps",
            "--save_steps", "3", "--max_steps", "6", "--cache_dir", str(tmp_path / "cache")]
    run_pretrain.main([*args, "--output_dir", str(tmp_path / "a")])
    # only checkpoint-3 is left, in another folder (another machine), and the datasets cache is gone
    shutil.copytree(tmp_path / "a" / "checkpoint-3", tmp_path / "b" / "checkpoint-3")
    shutil.rmtree(tmp_path / "cache")
    monkeypatch.setattr(stage, "align_words", lambda *args, **kwargs: pytest.fail("aligned again"))
    run_pretrain.main([*args, "--output_dir", str(tmp_path / "b"),
                       "--resume_from_checkpoint", str(tmp_path / "b" / "checkpoint-3")])
    uninterrupted, resumed = losses(tmp_path / "a"), losses(tmp_path / "b")
    assert [resumed[step] for step in (4, 5, 6)] == [uninterrupted[step] for step in (4, 5, 6)]
