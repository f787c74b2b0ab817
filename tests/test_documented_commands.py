"""Every command of README.md and REPRODUCE.md that runs one of the repository's scripts starts as written.

A shell snippet of the docs (a fenced code block, or an inline `python ...` span) is run by bash with the
launchers (`python`, `python3`, `accelerate`, `torchrun`) replaced by functions that record their arguments
and the line they are called from, and with no program on PATH: bash joins continued lines, fills variables,
loops, functions and quotes exactly as it would for a reader, and nothing else runs. Each recorded command of
a repository script then goes through that script's `parse_command_line(argv)`, the first thing its main()
does (argument parsing and every check that needs no download): a command that would stop at start fails
here, with its file and line. Hub ids are parsed, never downloaded.

Every script that the docs run therefore has a `parse_command_line(argv)`.
"""

import contextlib
import dataclasses
import importlib
import io
import re
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "REPRODUCE.md")
LAUNCHERS = ("python", "python3", "accelerate", "torchrun")
BASH = shutil.which("bash")
# Records a launcher call: the lines of the snippet it was called from (innermost first), then its words.
PRELUDE = """\
command_not_found_handle() { return 0; }
__record() {
  local lines=("${BASH_LINENO[@]:1}")
  printf '%s\\0' "${lines[*]:0:${#lines[@]}-1}" "$#" "$@" >> "$WEAM_COMMANDS"
}
""" + "".join(f'{launcher}() {{ __record {launcher} "$@"; }}\n' for launcher in LAUNCHERS)
FENCE = re.compile(r"^(\s*)```+\s*(\w*)")
SHELL_LANGUAGES = ("", "bash", "sh", "shell", "console")
INLINE_COMMAND = re.compile(r"`((?:\S*/)?(?:%s) [^`]*\.py(?: [^`]*)?)`" % "|".join(LAUNCHERS))
# `.venv/bin/python` and the like: the launcher itself, wherever it is installed.
INSTALLED = re.compile(r"(?<![\w$/])[\w.~-]*(?:/[\w.~-]+)*/bin/(?=(?:python3?|pip3?|accelerate|torchrun)\b)")


@dataclasses.dataclass
class Command:
    document: str
    lines: list[int]  # the command's line, then the lines of the calls that led to it (shell functions)
    words: list[str]  # launcher and arguments, as the shell passes them

    @property
    def where(self):
        called = "".join(f" (called from line {line})" for line in self.lines[1:])
        return f"{self.document}:{self.lines[0]}{called}"


def shell_snippets(text):
    """(first line number, text) of each shell code block and inline launcher command of a Markdown text."""
    snippets, block, fence = [], None, None
    for number, line in enumerate(text.splitlines(), start=1):
        opening = FENCE.match(line)
        if block is None and opening:
            fence = opening.group(2).lower()
            block = (number + 1, [])
        elif block is not None and line.strip().startswith("```"):
            if fence in SHELL_LANGUAGES:
                snippets.append((block[0], "\n".join(block[1])))
            block = None
        elif block is not None:
            block[1].append(line)
        else:
            snippets += [(number, match.group(1)) for match in INLINE_COMMAND.finditer(line)]
    if block is not None:
        raise ValueError(f"line {block[0] - 1}: a code block that is never closed")
    return snippets


def documented_commands(path, tmp_dir):
    """Every launcher call of a Markdown file's shell snippets, expanded by bash as a reader's shell would."""
    commands = []
    for first_line, snippet in shell_snippets(Path(path).read_text(encoding="utf-8")):
        work = Path(tmp_dir) / f"snippet-{first_line}"
        work.mkdir(parents=True)
        (work / "prelude.sh").write_text(PRELUDE)
        (work / "snippet.sh").write_text(INSTALLED.sub("", snippet) + "\n")
        record = work / "commands"
        record.touch()
        subprocess.run(
            [BASH, "--noprofile", "--norc", "-c", "source ./prelude.sh; source ./snippet.sh"],
            cwd=work, env={"PATH": str(work / "no-programs"), "HOME": str(work), "WEAM_COMMANDS": str(record)},
            stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        fields = record.read_bytes().decode().split("\0")[:-1]
        while fields:
            lines, count = fields[0], int(fields[1])
            words, fields = fields[2 : 2 + count], fields[2 + count :]
            commands.append(Command(Path(path).name, [first_line + int(n) - 1 for n in lines.split()], words))
    return commands


def script_and_arguments(words):
    """(script path, its arguments) of a launcher call, or None when it runs no .py file (`python -m pytest`)."""
    launcher, arguments = words[0], words[1:]
    if launcher == "accelerate":
        if arguments[:1] != ["launch"]:
            return None
        arguments = arguments[1:]
    for position, word in enumerate(arguments):
        if word.endswith(".py"):
            return word, arguments[position + 1 :]
        if launcher.startswith("python") and word in ("-m", "-c"):
            return None
    return None


def start_up_error(script, argv):
    """Why the script would stop at start with these arguments, or None if it would go on to work."""
    path = REPO / script
    if not path.is_file():
        return f"no script {script} in the repository"
    module = importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
    if not hasattr(module, "parse_command_line"):
        return f"{script} has no parse_command_line(argv): give it one (main() starts with it), to check its commands"
    output = io.StringIO()
    # The commands are written for GPU machines: bf16 passes here as it would there.
    with mock.patch("transformers.training_args.is_torch_bf16_gpu_available", return_value=True), \
            contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):  # fmt: skip
        try:
            module.parse_command_line(list(argv))
        except SystemExit as stop:
            if stop.code not in (0, None):
                lines = output.getvalue().strip().splitlines() or [str(stop.code)]
                return lines[-1] if stop.code == 2 else str(stop.code)
        except Exception as error:  # noqa: BLE001 - any error at start is what the test reports
            return f"{type(error).__name__}: {error}"
    return None


def check(command):
    """None, or a report naming the command's file and line, the command and why it would not start."""
    found = script_and_arguments(command.words)
    if found is None:
        return None
    error = start_up_error(*found)
    return error and f"{command.where}: {' '.join(command.words)}\n    -> {error}"


@pytest.fixture(scope="module")
def commands(tmp_path_factory):
    return {
        document: documented_commands(REPO / document, tmp_path_factory.mktemp(document)) for document in DOCUMENTS
    }


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_documented_commands_start(commands):
    failures = [report for document in DOCUMENTS for command in commands[document] if (report := check(command))]
    assert not failures, "documented commands that stop at start:\n" + "\n".join(failures)


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_the_documents_run_the_main_scripts(commands):
    scripts = {found[0] for cs in commands.values() for c in cs if (found := script_and_arguments(c.words))}
    assert {"run_pretrain.py", "run_xnli.py", "run_qa.py"} <= scripts, scripts


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_commands_are_expanded_as_the_shell_does(tmp_path):
    document = tmp_path / "doc.md"
    document.write_text(
        "Run `.venv/bin/python run_xnli.py --help` first.\n"
        "```python\npython run_xnli.py --not-shell\n```\n"
        "```bash\n"
        "MODEL=bert-base-multilingual-cased  # a comment\n"
        "pretrain() {\n"
        '  accelerate launch --num_processes 4 run_pretrain.py --model_name_or_path $MODEL --output_dir "runs/$1"\n'
        "}\n"
        "pretrain first\n"
        "for SEED in 1 2; do\n"
        "  python run_xnli.py --model_name_or_path $MODEL \\\n"
        '      --output_dir "out $SEED" --train_data "en-fr=o:en-fr@train[:$((700 / 7))]"\n'
        "done\n"
        "pip install x && python -m pytest\n"
        "```\n"
    )
    commands = documented_commands(document, tmp_path / "work")
    assert [(c.where, c.words) for c in commands] == [
        ("doc.md:1", ["python", "run_xnli.py", "--help"]),
        ("doc.md:8 (called from line 10)", ["accelerate", "launch", "--num_processes", "4", "run_pretrain.py",
                                            "--model_name_or_path", "bert-base-multilingual-cased",
                                            "--output_dir", "runs/first"]),
        *[("doc.md:12", ["python", "run_xnli.py", "--model_name_or_path", "bert-base-multilingual-cased",
                          "--output_dir", f"out {seed}", "--train_data", "en-fr=o:en-fr@train[:100]"])
          for seed in (1, 2)],
        ("doc.md:15", ["python", "-m", "pytest"]),
    ]  # fmt: skip
    assert script_and_arguments(commands[1].words) == ("run_pretrain.py", commands[1].words[5:])
    assert script_and_arguments(commands[-1].words) is None


def test_a_command_that_would_not_start_is_reported_with_its_line(tmp_path):
    good = Command("doc.md", [3], ["python", "run_xnli.py", "--model_name_or_path", "m", "--dataset_name", "xnli",
                                   "--eval_languages", "de", "--do_eval", "--output_dir", str(tmp_path / "out")])
    assert check(good) is None
    nothing_to_do = dataclasses.replace(good, lines=[7], words=[w for w in good.words if w != "--do_eval"])
    assert re.fullmatch(r"doc\.md:7: python run_xnli\.py .*\n    -> \w+: nothing to do: pass --do_train.*",
                        check(nothing_to_do))  # fmt: skip
    misspelt = Command("doc.md", [9, 12], ["accelerate", "launch", "run_pretrain.py", "--objetive", "tlm"])
    report = check(misspelt)
    assert report.startswith("doc.md:9 (called from line 12): accelerate launch run_pretrain.py --objetive tlm")
    assert "error: unrecognized arguments: --objetive tlm" in report
    assert "no script run_xnlii.py" in check(Command("doc.md", [1], ["python", "run_xnlii.py"]))
    assert check(Command("doc.md", [1], ["torchrun", "--nproc_per_node", "2", "run_pretrain.py", "--help"])) is None
