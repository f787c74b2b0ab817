"""What a user meets on the way: no run destroys earlier work, and no setting ends in a traceback.

One parametrised test per part of the issue: each case, its exit status and its one-line message; for the
earlier runs, their files unchanged by hash. Scripts run in-process as their command runs them
(`run_as_command`), except where the exit path itself is the point (Ctrl-C: a subprocess and a signal).
"""

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import align_words
import export_bert
import run_alignment_eval
import run_pos
import run_pretrain
import run_qa
import run_xnli
from weam import finetuning
from weam.cli import command_with, run_as_command
from weam.corpus_alignment import aligner_settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
TINY = "hidden_size=32,num_hidden_layers=1,num_attention_heads=2,intermediate_size=64"
QUICK = ["--config_overrides", TINY, "--report_to", "none", "--per_device_train_batch_size", "8", "--max_steps", "2"]


def sample_pairs(folder, first, count, links=False):
    """Pairs `first`..`first + count` of the shipped en-es sample as a `--train_data` corpus (with given links:
    no aligner runs)."""
    sides = [(SAMPLE / f"tico19.en-es.{language}").read_text(encoding="utf-8").splitlines()[first:first + count]
             for language in ("en", "es")]
    paths = []
    for language, lines in zip(("en", "es"), sides):
        paths.append(folder / f"pairs-{first}-{count}.{language}")
        paths[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    if links:
        paths.append(folder / f"pairs-{first}-{count}.align")
        paths[-1].write_text("0-0 1-1 2-2\n" * count)
    return "en-es=" + ",".join(map(str, paths))


def outcome(main, argv, capsys):
    """(exit status, the message it ended with) of a script's main run as its command runs it, in-process;
    the message is the last line on stderr (argparse's) or of SystemExit."""
    try:
        run_as_command(lambda: main(argv))
    except SystemExit as stop:
        error = capsys.readouterr().err
        assert "Traceback" not in error
        if isinstance(stop.code, str):
            return 1, stop.code
        return stop.code, (error.strip().splitlines() or [""])[-1]
    return 0, ""


def hashes(folder):
    """SHA-256 of every file under `folder` (or of the file), by path."""
    paths = [Path(folder)] if Path(folder).is_file() else sorted(p for p in Path(folder).rglob("*") if p.is_file())
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A finished run_pretrain run (eflomal on 50 sample pairs, a checkpoint at each of its 2 steps), its
    command line."""
    folder = tmp_path_factory.mktemp("user-paths")
    data = sample_pairs(folder, 0, 50)
    argv = ["--train_data", data, *QUICK, "--save_steps", "1", "--cache_dir", str(folder / "cache")]
    run_pretrain.main([*argv, "--output_dir", str(folder / "run")])
    return {"folder": folder, "run": folder / "run", "argv": argv}


def earlier_run(work, tmp_path, keep):
    """A copy of the finished run with only `keep` (names) in it: how an interrupted or finished run leaves its
    folder."""
    folder = tmp_path / "earlier"
    folder.mkdir()
    for name in keep:
        (shutil.copytree if (work["run"] / name).is_dir() else shutil.copy)(work["run"] / name, folder / name)
    return folder


# ----------------------------------------------------------------------------- 1. nothing lost

EVERYTHING = ["alignments", "checkpoint-1", "checkpoint-2", "config.json", "model.safetensors", "README.md"]


EARLIER_RUNS = {  # case: (what the earlier run left, this run's arguments, its message)
    "a finished run": (EVERYTHING, [],
     r"--output_dir .*/earlier holds an earlier run \(alignments, config.json, model.safetensors, checkpoint-1 and 1 "
     r"more\): give another --output_dir, or --overwrite_output_dir to train over it \(or --resume_from_checkpoint "
     r".*checkpoint-2 to train it further\)"),
    "alignments of other pairs": (["alignments"], ["--train_data", "OTHER"],
     r".*/alignments/en-es.json: saved word alignments of other pairs .* an earlier run's: give another --output_dir, "
     r"or --overwrite_output_dir to align en-es=pairs-50-40.en,pairs-50-40.es again over them"),
    "a checkpoint of another objective": (["alignments", "checkpoint-1"], ["--objective", "tlm"],
     r".*/checkpoint-1 was trained with --objective weam, not tlm: resume it with --objective weam, or for a new run "
     r"give another --output_dir, or --overwrite_output_dir to start over"),
    "an explicit checkpoint of another objective": (EVERYTHING, ["--objective", "mlm", "--resume_from_checkpoint",
                                                                 "CHECKPOINT"],
     r".*/checkpoint-2 was trained with --objective weam, not mlm: .* for a new run leave out --resume_from_checkpoint"),
    "another run's checkpoint resumed into it": (EVERYTHING, ["--resume_from_checkpoint", "RUN_CHECKPOINT"],
     r"--output_dir .*/earlier holds an earlier run \(.*\), not .*/run/checkpoint-1's: give another --output_dir to "
     r"resume it into, or --overwrite_output_dir to train over it"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(EARLIER_RUNS))
def test_a_run_does_not_write_over_an_earlier_one(work, tmp_path, capsys, case):
    keep, extra, message = EARLIER_RUNS[case]
    earlier = earlier_run(work, tmp_path, keep)
    before = hashes(earlier)
    other = sample_pairs(tmp_path, 50, 40)
    words = {"OTHER": other, "CHECKPOINT": str(earlier / "checkpoint-2"), "RUN_CHECKPOINT": str(work["run"] / "checkpoint-1")}
    extra = [words.get(word, word) for word in extra]
    status, said = outcome(run_pretrain.main, [*work["argv"], *extra, "--output_dir", str(earlier)], capsys)
    assert status == 1 and re.fullmatch(f"error: {message}", said), said
    assert hashes(earlier) == before


def test_the_same_command_after_an_interruption_resumes_from_the_last_checkpoint(work, tmp_path, caplog, monkeypatch):
    # the run stopped after its first checkpoint: the folder holds it and the word alignments, no model yet
    earlier = earlier_run(work, tmp_path, ["alignments", "checkpoint-1"])
    before = hashes(earlier)
    monkeypatch.setattr("weam.corpus_alignment.align_words", None)  # the saved links are used: no aligner runs
    with caplog.at_level("WARNING"):
        run_pretrain.main([*work["argv"], "--output_dir", str(earlier)])
    assert f"{earlier} holds an unfinished run: resuming from {earlier / 'checkpoint-1'}" in caplog.text
    assert json.loads((earlier / "trainer_state.json").read_text())["global_step"] == 2
    assert {path: digest for path, digest in hashes(earlier).items() if path in before} == before


def test_overwrite_output_dir_trains_over_an_earlier_run_and_removes_its_checkpoints(work, tmp_path, capsys):
    earlier = earlier_run(work, tmp_path, EVERYTHING)
    status, _ = outcome(run_pretrain.main, [*work["argv"], "--output_dir", str(earlier), "--max_steps", "1",
                                            "--overwrite_output_dir"], capsys)  # fmt: skip
    assert status == 0
    assert not (earlier / "checkpoint-2").exists() and (earlier / "checkpoint-1").exists()  # this run's only
    assert json.loads((earlier / "trainer_state.json").read_text())["global_step"] == 1


def test_overwrite_output_dir_keeps_the_earlier_checkpoints_when_the_data_stops_the_run(work, tmp_path, capsys):
    earlier = earlier_run(work, tmp_path, EVERYTHING)
    checkpoints = {path: digest for path, digest in hashes(earlier).items() if "/checkpoint-" in path}
    assert checkpoints
    bad = tmp_path / "bad.en"
    bad.write_text("a sentence\n\n", encoding="utf-8")  # an empty line: an error unless --skip_invalid
    status, said = outcome(run_pretrain.main, [*work["argv"], "--train_data", f"en-es={bad},{bad}", "--output_dir",
                                               str(earlier), "--overwrite_output_dir"], capsys)  # fmt: skip
    assert status == 1 and "bad.en:2" in said
    assert {path: digest for path, digest in hashes(earlier).items() if path in checkpoints} == checkpoints


@pytest.mark.parametrize("case", ["its own --model", "another model folder", "a file"])
def test_export_writes_over_no_model_and_into_no_file(work, tmp_path, capsys, case):
    model = tmp_path / "weam"
    shutil.copytree(work["run"], model)
    output = {"its own --model": model, "another model folder": tmp_path / "other", "a file": tmp_path / "file"}[case]
    if case == "another model folder":
        shutil.copytree(work["run"] / "checkpoint-1", output)
    if case == "a file":
        output.write_text("notes\n")
    before = hashes(model) | hashes(output)
    status, said = outcome(export_bert.main, ["--model", str(model), "--output", str(output)], capsys)
    assert status == 1
    assert said == {
        "its own --model": f"error: --output {output} is --model: the export would replace the WEAM checkpoint; give "
                           "a new folder (the export writes over no model)",
        "another model folder": f"error: --output {output} holds a model already; give a new folder (the export "
                                "writes over no model)",
        "a file": f"error: --output {output} is a file: give a folder for the checkpoint",
    }[case]  # fmt: skip
    assert hashes(model) | hashes(output) == before


@pytest.mark.parametrize("script", [run_xnli, run_qa, run_pos])
def test_an_experiment_does_not_write_over_an_earlier_one(script, tiny_bert, tmp_path, capsys):
    output = tmp_path / "out"
    (output / "seed-1").mkdir(parents=True)
    (output / "results.json").write_text("{}")
    (output / "seed-1" / "predictions-en.txt").write_text("neutral\n")
    before = hashes(output)
    data = tmp_path / "dev-en.tsv"
    data.write_text("a\n")
    argv = ["--model_name_or_path", str(tiny_bert), "--eval_files", str(data), "--eval_languages", "en", "--do_eval",
            "--output_dir", str(output)]
    status, said = outcome(script.main, argv, capsys)
    assert status == 1 and said == (f"error: --output_dir {output} holds an earlier run (results.json, seed-1): give "
                                    "another --output_dir, or --overwrite_output_dir to write over it")
    assert hashes(output) == before


# ----------------------------------------------------------------------------- 2. small corpora


@pytest.mark.parametrize("pairs, validation, status, said", [
    (50, [], 0, "on en-es (45 pairs trained on, 5 held out for evaluation)"),
    (8, [], 0, "on en-es (8 pairs trained on)"),
    (50, ["--validation_pairs", "50"], 1, "error: --validation_pairs 50 leaves no pair of en-es (50 pairs) to train "
                                          "on: give fewer (leave it out: a tenth, 5), or 0 for no evaluation"),
])  # fmt: skip
def test_a_small_corpus_works_with_the_defaults(tmp_path, capsys, pairs, validation, status, said):
    argv = ["--train_data", sample_pairs(tmp_path, 0, pairs, links=True), *QUICK, "--save_strategy", "no",
            "--cache_dir", str(tmp_path / "cache"), "--output_dir", str(tmp_path / "out"), *validation]
    result = outcome(run_pretrain.main, argv, capsys)
    assert result[0] == status
    assert said in (result[1] if status else capsys.readouterr().out)


# ----------------------------------------------------------------------------- 3. settings


# (script, arguments, the message): settings that cannot train. TMP is the test's folder, TINY_BERT a model that
# reads 512 positions, EMPTY a data file with no item, `YAML` a file of these lines (with output_dir).
MISSING_DATA = ["--train_data", "en-es=TMP/none.en,TMP/none.es"]  # read after every check
FINE_TUNING = ["--model_name_or_path", "TINY_BERT", "--train_file", "EMPTY", "--train_rows", ":1", "--eval_files",
               "EMPTY", "--eval_rows", "1:", "--eval_languages", "en", "--do_train", "--do_eval"]
SETTINGS = [
    (run_pretrain, [*MISSING_DATA, *QUICK, "--max_seq_length", "1024"],
     "error: --max_seq_length 1024 is more than the model reads (512 positions): give at most that"),
    (run_pretrain, [*MISSING_DATA, *QUICK, "--learning_rate", "0"], "error: --learning_rate must be > 0, got 0"),
    (run_pretrain, [*MISSING_DATA, *QUICK, "--learning_rate", "-0.001"], "error: --learning_rate must be > 0, got -0.001"),
    (run_pretrain, [*MISSING_DATA, *QUICK, "--per_device_train_batch_size", "0"],
     "error: --per_device_train_batch_size must be at least 1, got 0"),
    (run_pretrain, [*MISSING_DATA, "--config_overrides", "hidden_size=big"],
     "error: --config_overrides hidden_size=big: invalid literal for int() with base 10: 'big'"),
    (run_pretrain, [*MISSING_DATA, "--config_overrides", "hiden_size=64"],
     "error: --config_overrides hiden_size=64: key hiden_size isn't in the original config dict"),
    (run_pretrain, [*MISSING_DATA, "--config_overrides", "hidden_size=30,num_attention_heads=4"],
     "error: the WEAM model cannot be built: The hidden size (30) is not a multiple of the number of attention "
     "heads (4)"),
    (run_pretrain, ["YAML", "train_data: [en-es=a.en,a.es"], "is not valid YAML: while parsing a flow sequence"),
    (run_pretrain, ["YAML", "learning_rat: 0.1"], "error: unrecognized arguments: --learning_rat 0.1 (see --help)"),
    (run_pretrain, ["YAML", "learning_rate: fast"], "invalid float value: 'fast' (see --help)"),
    (run_pretrain, ["YAML", "train_data: en-es=a.en,a.es"], "train_data takes a list: [a, b], or one `- item` a line"),
    (run_pretrain, ["TMP/none.json"], "error: TMP/none.json: No such file or directory (see --help)"),
    (run_pretrain, [*MISSING_DATA, "--resume_from_checkpoint", "true"],
     "error: --resume_from_checkpoint true: TMP/out holds no checkpoint-N folder to resume from"),
    (run_pretrain, [*MISSING_DATA, "--resume_from_checkpoint", "TMP/gone"],
     "error: --resume_from_checkpoint TMP/gone: no such folder"),
    (run_pretrain, [*MISSING_DATA, "--resume_from_checkpoint", "TMP"],
     "error: --resume_from_checkpoint TMP is not a checkpoint (no trainer_state.json): give a checkpoint-N folder "
     "of a run"),
    *[(script, [*FINE_TUNING, "--per_device_train_batch_size", "0"],
       "error: --per_device_train_batch_size must be at least 1, got 0") for script in (run_xnli, run_qa, run_pos)],
    *[(script, [*FINE_TUNING, "--learning_rate", "0"], "error: --learning_rate must be > 0, got 0")
      for script in (run_xnli, run_qa, run_pos)],
    *[(script, [*FINE_TUNING, "--max_seq_length", "600"], "error: --max_seq_length 600 is more than TINY_BERT reads "
       "(512 positions): give at most that") for script in (run_xnli, run_qa, run_pos)],
    (run_alignment_eval, ["--model", "TINY_BERT", "--tatoeba_dir", "TMP", "--batch_size", "0"],
     "error: --batch_size must be at least 1, got 0 (see --help)"),
]  # fmt: skip


@pytest.mark.parametrize("script, argv, message", SETTINGS, ids=lambda value: getattr(value, "__name__", None))
def test_a_setting_that_cannot_train_stops_before_the_data(script, argv, message, tiny_bert, tmp_path, capsys):
    (tmp_path / "empty.tsv").write_text("")  # reading it would be an error of its own
    if argv[0] == "YAML":
        (tmp_path / "args.yaml").write_text(f"output_dir: {tmp_path / 'out'}\n{argv[1]}\n")
        argv = [str(tmp_path / "args.yaml")]
    elif not argv[0].endswith(".json"):
        argv = [*argv, "--output_dir", str(tmp_path / "out")]
    words = {"TINY_BERT": str(tiny_bert), "EMPTY": str(tmp_path / "empty.tsv"), "TMP": str(tmp_path)}
    argv = [re.sub("|".join(words), lambda found: words[found.group()], word) for word in argv]
    status, said = outcome(script.main, argv, capsys)
    assert status in (1, 2) and re.sub("|".join(words), lambda found: words[found.group()], message) in said, said
    assert not (tmp_path / "out").exists()  # nothing written, nothing aligned


def test_a_loss_that_becomes_nan_stops_the_run_without_a_model_or_card(tmp_path, capsys):
    output = tmp_path / "out"
    argv = ["--train_data", sample_pairs(tmp_path, 0, 40, links=True), *QUICK, "--max_steps", "4", "--save_steps", "1",
            "--learning_rate", "1e30", "--cache_dir", str(tmp_path / "cache"), "--output_dir", str(output)]
    status, said = outcome(run_pretrain.main, argv, capsys)
    assert status == 1 and said == (
        "error: the training loss became nan at step 2: stopped, saving nothing more (checkpoints before it may hold "
        "the diverging weights already). Lower --learning_rate (it is 1e+30)")
    assert sorted(os.listdir(output)) == ["checkpoint-1"]  # no model, no card, no checkpoint of the NaN step


def test_numbers_in_a_yaml_file_are_read_as_the_command_line_reads_them(tmp_path):
    arguments = tmp_path / "args.yaml"
    arguments.write_text(f"learning_rate: 5e-5\noutput_dir: {tmp_path}\nsave_steps: 10\n")  # YAML: '5e-5' a string
    *_, training_args, _, given = run_pretrain.parse_arguments([str(arguments)])
    assert training_args.learning_rate == 5e-5 and given == {"learning_rate", "output_dir", "save_steps"}


# ----------------------------------------------------------------------------- 4. models and tokenizers


def model_cases(tmp_path, tiny_bert):
    """(case, the model argument): a local path that does not exist, a model saved without its tokenizer, a
    tokenizer folder given as the model."""
    alone = tmp_path / "model-alone"
    alone.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_bert / name, alone / name)
    return {"missing": tmp_path / "no-model", "no tokenizer": alone, "a tokenizer": SAMPLE / "mbert-tokenizer"}


MODEL_ARGUMENTS = {
    run_pretrain: ["--model_name_or_path", "MODEL", *QUICK, "--train_data", "en-es=none.en,none.es"],
    run_xnli: ["--model_name_or_path", "MODEL", "--eval_files", "DATA", "--eval_languages", "en", "--do_eval"],
    run_qa: ["--model_name_or_path", "MODEL", "--eval_files", "DATA", "--eval_languages", "en", "--do_eval"],
    run_pos: ["--model_name_or_path", "MODEL", "--eval_files", "DATA", "--eval_languages", "en", "--do_eval"],
    run_alignment_eval: ["--model", "MODEL", "--dictionary", "DICTIONARY", "--dictionary_test_size", "0.5"],
    align_words: ["--model", "MODEL", "--aligner", "neural", "--src", "DATA", "--tgt", "DATA"],
    export_bert: ["--model", "MODEL"],
}
MODEL_OPTION = {script: argv[0] for script, argv in MODEL_ARGUMENTS.items()}
MODEL_MESSAGES = {
    "missing": "{option} {model}: no such folder",
    "no tokenizer": "{option} {model} holds no tokenizer (no vocabulary beyond the special tokens): ",
    "a tokenizer": "{option} {model} holds a tokenizer, not a model (no config.json): give ",
}


@pytest.mark.parametrize("case", list(MODEL_MESSAGES))
@pytest.mark.parametrize("script", list(MODEL_ARGUMENTS), ids=lambda script: script.__name__)
def test_a_model_argument_that_cannot_work_is_one_line_in_every_script(script, case, tiny_bert, tmp_path, capsys):
    model = model_cases(tmp_path, tiny_bert)[case]
    data = tmp_path / "data.txt"
    data.write_text("a b\n")
    (tmp_path / "en-es.dict").write_text("casa @ house\nperro @ dog\ngato @ cat\nagua @ water\n")
    words = {"MODEL": str(model), "DATA": str(data), "DICTIONARY": str(tmp_path / "en-es.dict")}
    output = ["--output", str(tmp_path / "out")] if script in (align_words, export_bert) else [
        "--output_dir", str(tmp_path / "out")]
    status, said = outcome(script.main, [words.get(word, word) for word in MODEL_ARGUMENTS[script]] + output, capsys)
    option = "model" if case == "no tokenizer" and script in (run_alignment_eval, align_words) else MODEL_OPTION[script]
    assert status in (1, 2) and MODEL_MESSAGES[case].format(option=option, model=model) in said, said


# ----------------------------------------------------------------------------- 5. interrupts


def interrupted_run(argv, tmp_path, until):
    """Runs run_pretrain.py as a user would, sends Ctrl-C (SIGINT to its process group, as a terminal does) once
    `until(stderr so far)` holds; (exit status, stderr, processes left in its session)."""
    process = subprocess.Popen(
        [sys.executable, str(REPO / "run_pretrain.py"), *argv], cwd=REPO, text=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env={**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "cache")},
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip  (a shell's background job would ignore SIGINT, and its children with it)
    seen = ""
    for line in process.stderr:
        seen += line
        if until(seen):
            break
    os.killpg(process.pid, signal.SIGINT)
    seen += process.stderr.read()
    process.wait(timeout=60)
    left = subprocess.run(["ps", "-o", "comm=", "-s", str(process.pid)], capture_output=True, text=True).stdout
    return process.returncode, seen, left.split()


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["training", "eflomal"])
def test_ctrl_c_ends_with_what_was_saved_and_the_command_that_goes_on(stage, tmp_path):
    output = tmp_path / "out"
    data = sample_pairs(tmp_path, 0, 400 if stage == "eflomal" else 200, links=stage == "training")
    argv = ["--train_data", data, *QUICK, "--max_steps", "500", "--save_steps", "1", "--output_dir", str(output)]
    if stage == "training":  # once a second checkpoint is complete (its trainer state is written last)
        saved = (output / "checkpoint-2" / "trainer_state.json").exists
        status, stderr, left = interrupted_run(argv, tmp_path, lambda _: saved())
    else:
        status, stderr, left = interrupted_run(argv, tmp_path, lambda seen: "Aligning with model" in seen)
    assert status == 130 and "Traceback" not in stderr and left == []  # no eflomal process outlives the run
    said = [line for line in stderr.splitlines() if line.startswith("interrupted: ")]
    assert len(said) == 1
    if stage == "eflomal":
        assert said[0] == "interrupted: nothing was saved; run the same command again"
        return
    found = re.fullmatch(r"interrupted: the last checkpoint is (\S+); go on from it with: (.*)", said[0])
    checkpoint, command = found.groups()
    assert (Path(checkpoint) / "trainer_state.json").exists()
    words = shlex.split(command)
    assert words[:2] == ["python", "run_pretrain.py"]
    *_, training_args, _, _ = run_pretrain.parse_command_line(words[2:])
    assert training_args.resume_from_checkpoint == checkpoint


def test_an_interrupted_experiment_says_how_to_run_it_again(tmp_path):
    output = tmp_path / "out"
    (output / "seed-1").mkdir(parents=True)
    argv = ["--model_name_or_path", "m", "--dataset_name", "xnli", "--eval_languages", "de", "--do_eval",
            "--output_dir", str(output)]
    said = finetuning.interrupted_message(run_xnli.parse_command_line, argv)
    assert said.startswith(f"{output} holds the runs begun (seed-1); the table is written at the end. Run the "
                           "experiment again with: python ")
    assert said.endswith(shlex.join(argv) + " --overwrite_output_dir")
    assert command_with(["args.yaml"], "resume_from_checkpoint", "out/checkpoint-9").endswith(
        " args.yaml with `resume_from_checkpoint: out/checkpoint-9` in it")
    assert command_with(["--resume_from_checkpoint", "a", "--seed", "3"], "resume_from_checkpoint", "b").endswith(
        " --seed 3 --resume_from_checkpoint b")


# ----------------------------------------------------------------------------- 6. metadata


@pytest.mark.parametrize("script, argv, message", [
    (run_pretrain, ["--train_data", "english-spanish=a.en,a.es"], "--train_data english-spanish=a.en,a.es: 'english', "
     "'spanish' are not ISO 639-1 codes (two lower-case letters, e.g. en, de, zh); for a language without one, add "
     "--other_language_codes english spanish"),
    (run_pretrain, ["--train_data", "a.txt,b.txt"], "--train_data a.txt,b.txt: 'txt' is not an ISO 639-1 code"),
    (run_pretrain, ["--train_data", "en-yue=a.en,a.yue", "--other_language_codes", "yue"], None),
    (run_xnli, ["--eval_languages", "EN"], "--eval_languages: 'EN' is not an ISO 639-1 code"),
    (run_xnli, ["--eval_languages", "de", "--train_language", "english"], "--train_language: 'english' is not"),
    (run_xnli, ["--eval_languages", "yue", "--other_language_codes", "yue"], None),
])  # fmt: skip
def test_language_codes_are_iso_639_1_or_declared(script, argv, message, tmp_path):
    if script is run_xnli:
        argv = ["--model_name_or_path", "m", "--dataset_name", "xnli", "--do_eval", *argv]
    argv = [*argv, "--output_dir", str(tmp_path / "out")]
    if message is None:
        script.parse_command_line(argv)
        return
    with pytest.raises((SystemExit, finetuning.InputError), match=re.escape(message)):
        script.parse_command_line(argv)


def test_alignment_records_and_cards_carry_no_local_paths(work, tiny_bert):
    pushed = [path for path in work["run"].rglob("*") if path.name == "README.md" or path.parent.name == "alignments"]
    assert len(pushed) == 9  # the card and the records of the run and its two checkpoints
    for path in pushed:
        assert str(work["folder"]) not in path.read_text(encoding="utf-8"), path
    record = json.loads((work["run"] / "alignments" / "en-es.json").read_text())
    assert record["corpus"] == "en-es=pairs-0-50.en,pairs-0-50.es"
    assert [file["name"] for file in record["files"]] == ["pairs-0-50.en", "pairs-0-50.es"]
    # a local aligner model: by its name and the hash of its files, which tell two models apart as a path did
    settings = aligner_settings("neural", {"model_name_or_path": str(tiny_bert), "layer": 1}, False)
    assert re.fullmatch(rf"{tiny_bert.name} sha256:[0-9a-f]{{64}}", settings["model_name_or_path"])


# ----------------------------------------------------------------------------- 7. smaller


def test_the_next_steps_run_as_printed_on_the_demo_model(work, tmp_path, capsys):
    run = work["run"]
    config = json.loads((run / "config.json").read_text())
    model_args, _, _, _, objective, _ = run_pretrain.parse_arguments([])
    message = run_pretrain.finished_message(model_args, objective, [], 2, str(run), config["num_hidden_layers"])
    commands = [shlex.split(line.split("python ", 1)[1]) for line in message.splitlines() if "python " in line]
    assert [words[0] for words in commands] == ["run_xnli.py", "run_qa.py", "run_alignment_eval.py"]
    # the "..." filled with the shipped sample and a dictionary of its words
    (tmp_path / "en-es.dict").write_text("".join(f"{es} @ {en}\n" for en, es in [
        ("patients", "pacientes"), ("virus", "virus"), ("health", "salud"), ("hospital", "hospital"),
        ("fever", "fiebre"), ("disease", "enfermedad"), ("cases", "casos"), ("people", "personas")]))
    fills = iter([str(tmp_path / "en-es.dict"), str(tmp_path / "diagnostics")])
    argv = [next(fills) if word == "..." else word for word in commands[2][1:]]
    status, said = outcome(run_alignment_eval.main, [*argv, "--dictionary_test_size", "0.5"], capsys)
    assert status == 0, said
    assert (tmp_path / "diagnostics" / "alignment_eval.json").exists()
    for words in commands[:2]:  # the fine-tuning commands start on this model (the rest is the user's data)
        argv = [*words[1:-1], "--dataset_name", "xnli" if words[0] == "run_xnli.py" else "mlqa", "--eval_languages",
                "es", "--do_eval", "--output_dir", str(tmp_path / words[0])]
        model_args, _, task_args, training_args = {"run_xnli.py": run_xnli, "run_qa.py": run_qa}[
            words[0]].parse_command_line(argv)
        finetuning.start_experiment(model_args, training_args, task_args.max_seq_length)


def test_save_steps_given_alone_take_effect_and_cpu_runs_pin_no_memory(tmp_path, caplog):
    *_, training_args, _, _ = run_pretrain.parse_arguments(["--save_steps", "5", "--eval_steps", "7",
                                                            "--output_dir", str(tmp_path)])
    assert (training_args.save_strategy, training_args.save_steps) == ("steps", 5)
    assert (training_args.eval_strategy, training_args.eval_steps) == ("steps", 7)
    assert training_args.dataloader_pin_memory is False  # no accelerator here: torch would warn at every loader
    *_, xnli_training_args = run_xnli.parse_command_line(["--model_name_or_path", "m", "--dataset_name", "xnli",
                                                          "--eval_languages", "de", "--do_eval", "--output_dir", "o"])
    assert xnli_training_args.dataloader_pin_memory is False
    with caplog.at_level("WARNING"), pytest.raises(finetuning.InputError):  # (stopped by the missing model)
        run_pretrain.main(["--save_steps", "5", "--save_strategy", "no", "--model_name_or_path", str(tmp_path / "m"),
                           "--output_dir", str(tmp_path / "out")])
    assert "--save_steps has no effect with --save_strategy no" in caplog.text


@pytest.mark.slow
def test_the_readme_counts_the_collected_suite_and_pytest_q_keeps_its_summary():
    """pytest -q (with the ini's options) still closes with its counts; the README states the suite's."""
    collected = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only", "-m", "not slow"],
                               cwd=REPO, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    fast, total, slow = map(int, re.fullmatch(r"(\d+)/(\d+) tests collected \((\d+) deselected\) in .*", collected)
                            .groups())
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert f"offline: {total} tests" in readme and f"runs the {fast} fast ones" in readme
    assert f"the {slow} marked `slow`" in readme


SCRIPTS = sorted(path.relative_to(REPO).as_posix() for folder in (REPO, REPO / "study", REPO / "benchmarks")
                 for path in folder.glob("*.py") if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_explains_itself_with_help(script):
    """`--help` of every script exits 0 with its options (argparse formats each help text with %: a bare % in
    one ends in a traceback)."""
    done = subprocess.run([sys.executable, script, "--help"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0 and "usage:" in done.stdout and "--" in done.stdout, done.stderr[-2000:]
