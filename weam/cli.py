"""What the command lines share: how they read arguments, end on a mistake or on Ctrl-C, and check what they
are given before the long stages.

* `CommandParser`, `ArgumentParser`: a mistake is one line, not the usage and not a traceback; a JSON/YAML file
  of arguments is read as the command line it stands for, so its values are checked as typed ones are.
* `run_as_command`: bad input (`InputError`) ends a script with its one-line message (exit status 1), Ctrl-C
  with one line saying what was saved and how to go on (exit status 130).
* `RunArguments`: `TrainingArguments` with the HF examples' `--overwrite_output_dir`; `earlier_run` finds what
  an earlier run left in an output folder, which a new run must not write over unasked.
* `check_model_path`, `load_tokenizer`: a model argument that cannot work (a local path that does not exist,
  a tokenizer folder, a model folder without a tokenizer) is one line naming it and the fix.
* `check_language_codes`: languages are ISO 639-1 codes (the Hub's metadata, the tables' "avg w/o en").
"""

import argparse
import json
import os
import shlex
import sys
from dataclasses import dataclass, field

import torch
import yaml
from huggingface_hub.utils import HFValidationError, validate_repo_id
from transformers import AutoTokenizer, HfArgumentParser, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

# The exit status of a command ended by Ctrl-C (SIGINT), as a shell reports it.
INTERRUPTED = 130


class InputError(ValueError):
    """Bad input (an option, a file, an item) or a run that cannot go on: the message names it and says what
    to do."""


def first_line(error):
    """An exception's message, its first line only (a library's may run to a paragraph)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def command_with(argv, name, value=None):
    """How to run the command of `argv` again with `--name value` (a flag when `value` is None) in place of its
    own: the command line, or for a file of arguments the key to set in it."""
    script = os.path.basename(sys.argv[0])
    if is_argument_file(argv):
        return f"python {script} {argv[0]} with `{name}: {'true' if value is None else value}` in it"
    option, kept, skipping = f"--{name}", [], False
    for word in argv:
        if skipping and not word.startswith("--"):
            continue
        skipping = word == option
        if not skipping and not word.startswith(f"{option}="):
            kept.append(word)
    return shlex.join(["python", script, *kept, option, *([] if value is None else [value])])


def run_as_command(main, interrupted=None):
    """Run a script's `main()`, as its command: bad input ends it with its one-line message (exit status 1),
    Ctrl-C with one line (exit status 130), neither with a traceback.

    `interrupted(argv)`: what the run saved and the command that goes on from it (default: nothing saved)."""
    try:
        main()
    except InputError as error:
        sys.exit(f"error: {error}")
    except KeyboardInterrupt:
        try:
            said = interrupted(sys.argv[1:]) if interrupted else None
        except (Exception, SystemExit):  # noqa: BLE001 - the arguments went wrong: say the least, not a traceback
            said = None
        print(f"\ninterrupted: {said or 'nothing was saved; run the same command again'}", file=sys.stderr)
        sys.exit(INTERRUPTED)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """`--help` keeps the line breaks of the script's docstring and shows every argument's default."""


def is_argument_file(argv):
    """Whether the command line is one JSON/YAML file of arguments (`python run_x.py args.yaml`)."""
    return len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml"))


def command_line_word(value):
    """A JSON/YAML value as the command line gives it: true/false, a dict as JSON (TrainingArguments' dicts)."""
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value) if isinstance(value, dict) else str(value)


class CommandParser(argparse.ArgumentParser):
    """argparse's parser whose mistakes end in one line (the usage of a hundred options would hide it), and which
    takes no abbreviation of an option (a misspelt option is an error, not another option)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{"allow_abbrev": False, **kwargs})

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class ArgumentParser(HfArgumentParser, CommandParser):
    """`HfArgumentParser`, a `CommandParser`, which reads a JSON/YAML file of arguments as the command line it
    stands for: its values are checked and converted as typed ones are (YAML reads `5e-5` as a string), and a
    key no dataclass takes is an error."""

    def command_line(self, argv):
        """`argv` (None: the command's), or the arguments in its one JSON/YAML file written as a command line."""
        argv = sys.argv[1:] if argv is None else list(argv)
        if not is_argument_file(argv):
            return argv
        path = argv[0]
        try:
            with open(path, encoding="utf-8") as file:
                values = json.load(file) if path.endswith(".json") else yaml.safe_load(file)
        except OSError as error:
            self.error(f"{path}: {error.strerror}")
        except (ValueError, yaml.YAMLError) as error:
            self.error(f"{path} is not valid {'JSON' if path.endswith('.json') else 'YAML'}: "
                       + " ".join(str(error).split()))
        if values is None:
            values = {}
        if not isinstance(values, dict):
            self.error(f"{path} holds a {type(values).__name__}; write one `name: value` per argument")
        names = {action.dest for action in self._actions}
        lists = {action.dest for action in self._actions if action.nargs in ("+", "*")}
        command_line = []
        for name, value in values.items():
            if value is None and name in names and self.get_default(name) is None:
                continue  # the default
            if value is None:
                self.error(f"{path}: {name}: null is no value; leave {name} out for its default")
            if isinstance(value, list) != (name in lists):
                takes = "a list: [a, b], or one `- item` a line" if name in lists else "one value"
                self.error(f"{path}: {name} takes {takes}")
            command_line += [f"--{name}", *map(command_line_word, value if isinstance(value, list) else [value])]
        return command_line

    def parse(self, argv):
        """The dataclasses of `argv` (or of its one JSON/YAML file). An argument that no dataclass takes, or
        that a dataclass refuses, is a one-line error; `InputError` (the toolkit's own checks) passes through."""
        try:
            *arguments, unused = self.parse_args_into_dataclasses(self.command_line(argv),
                                                                  return_remaining_strings=True)
        except InputError:
            raise
        except ValueError as error:  # TrainingArguments' own checks
            self.error(" ".join(str(error).split()))
        if unused:
            self.error(f"unrecognized arguments: {' '.join(unused)}")
        return arguments


# ----------------------------------------------------------------------------- output folders


@dataclass
class RunArguments(TrainingArguments):
    """`TrainingArguments` with the HF examples' `--overwrite_output_dir` (transformers 5 dropped it)."""

    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Write over an earlier run in --output_dir (a model, checkpoints, word alignments, result "
                  "tables); without it a run stops rather than replace one."},
    )

    def __post_init__(self):
        super().__post_init__()
        if not torch.accelerator.is_available():  # pinned memory only serves an accelerator (torch warns)
            self.dataloader_pin_memory = False


def training_problems(training_args):
    """What in the training arguments cannot train (every script checks these before its data)."""
    problems = []
    if training_args.learning_rate <= 0:
        problems.append(f"--learning_rate must be > 0, got {training_args.learning_rate:g}")
    for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
        if getattr(training_args, name) < 1:
            problems.append(f"--{name} must be at least 1, got {getattr(training_args, name)}")
    if training_args.max_steps == 0 or training_args.max_steps < -1:
        problems.append(f"--max_steps must be positive (or -1: train --num_train_epochs), got "
                        f"{training_args.max_steps}")
    if training_args.max_steps == -1 and training_args.num_train_epochs <= 0:
        problems.append(f"--num_train_epochs must be positive, got {training_args.num_train_epochs:g}")
    return problems


# What a run leaves in its output folder: a model, its checkpoints, word alignments, result tables.
RUN_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "adapter_config.json", "trainer_state.json",
             "alignments", "results.json")
RUN_FOLDERS = (f"{PREFIX_CHECKPOINT_DIR}-", "seed-")


def earlier_run(folder):
    """What an earlier run left in `folder`: names, its files first ([] if nothing, or no folder)."""
    if not os.path.isdir(folder):
        return []
    names = [name for name in os.listdir(folder) if name in RUN_FILES or name.startswith(RUN_FOLDERS)]
    return sorted(names, key=lambda name: (name.startswith(RUN_FOLDERS), name))


def listing(names, shown=4):
    """The first `shown` names, and how many more."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


# ----------------------------------------------------------------------------- models


def check_path_exists(name, option):
    """Stops at a model or tokenizer argument that can only be a local path (written as one, not a valid Hub
    id, or in a folder that exists here) and does not exist: the Hub's own message would be about repo ids."""
    if os.path.exists(name):
        return
    parent = os.path.dirname(name)
    local = name.startswith(("/", "./", "../", "~")) or bool(parent and os.path.isdir(parent))
    try:
        validate_repo_id(name)
    except HFValidationError:
        local = True
    if local:
        raise InputError(f"{option} {name}: no such folder")


def check_model_path(name, option, tokenizer_option=None):
    """Stops, in one line, at a model argument that cannot be a model: a local path that does not exist, a
    file, a folder without config.json (a tokenizer's: `tokenizer_option` is where it belongs). A Hub id
    passes (the loader says whether the Hub has it)."""
    if os.path.isdir(name):
        if os.path.isfile(os.path.join(name, "config.json")):
            return
        if os.path.isfile(os.path.join(name, "tokenizer_config.json")):
            fix = f"give it as {tokenizer_option}, and the model's folder as {option}" if tokenizer_option else (
                f"give the model's folder as {option}")
            raise InputError(f"{option} {name} holds a tokenizer, not a model (no config.json): {fix}")
        raise InputError(f"{option} {name} is not a model folder (no config.json)")
    if os.path.exists(name):
        raise InputError(f"{option} {name} is a file: give the model's folder (or a Hub id)")
    check_path_exists(name, option)


def load_tokenizer(name, option, tokenizer_option=None, **kwargs):
    """`AutoTokenizer.from_pretrained(name, **kwargs)`, or a one-line InputError: a local path that does not
    exist, a name the Hub does not have (or cannot be reached for), or a folder without a tokenizer (a model
    saved alone: AutoTokenizer would make one of special tokens only, reading every word as unknown).
    `tokenizer_option`: the script's option that gives a tokenizer apart from the model, if it has one."""
    check_path_exists(name, option)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as error:
        raise InputError(f"{option} {name}: cannot load a tokenizer: {first_line(error)}") from error
    if len(tokenizer) <= len(set(tokenizer.all_special_ids)):
        elsewhere = tokenizer_option not in (None, option)  # the script takes a tokenizer apart from this folder
        fix = f"give one with {tokenizer_option} (e.g. its base model's)" if elsewhere else (
            "save the tokenizer into it (tokenizer.save_pretrained)")
        raise InputError(f"{option} {name} holds no tokenizer (no vocabulary beyond the special tokens): {fix}")
    return tokenizer


# ----------------------------------------------------------------------------- languages


# ISO 639-1: the two-letter codes (the Hub's model and dataset cards name languages by them).
ISO_639_1 = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en
eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv
ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne
ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st
su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())


def other_language_codes_field():
    """`--other_language_codes`, the documented way past the ISO 639-1 check."""
    return field(
        default_factory=list,
        metadata={"help": "Language codes to accept besides ISO 639-1's two-letter ones (en, de, zh), for a "
                  "language that has none, e.g. yue (ISO 639-3, which the Hub also takes)."},
    )


def check_language_codes(codes, option, other_codes=()):
    """Stops at a language that is not an ISO 639-1 code (nor one of `other_codes`), saying which."""
    unknown = list(dict.fromkeys(code for code in codes if code not in ISO_639_1 and code not in other_codes))
    if unknown:
        verb = "is not an ISO 639-1 code" if len(unknown) == 1 else "are not ISO 639-1 codes"
        raise InputError(
            f"{option}: {', '.join(map(repr, unknown))} {verb} (two lower-case letters, e.g. en, de, zh); for a "
            "language without one, add --other_language_codes " + " ".join(unknown)
        )
