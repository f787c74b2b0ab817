"""What run_xnli.py, run_qa.py and run_pos.py share: cross-lingual fine-tuning experiments and their result tables.

An experiment fine-tunes a model once per seed (zero-shot: on `--train_language`, evaluated on every
`--eval_languages` language) or once per seed and language (translate-train: on each evaluation
language's own, translated, training data) and reports one table, WEAM paper layout:

    | metric   | en          | de          | ... | avg         | avg w/o en  |
    | accuracy | 81.2 ± 0.3  | 70.1 ± 0.5  | ... | 68.0 ± 0.2  | 66.9 ± 0.2  |

printed, and written to `results.json` and `results.md` in `--output_dir` (per-seed scores in the JSON).

Also here: argument dataclasses common to the scripts, where each language's data come from (local
files or the Hub), bad input (`InputError`: one line naming what is wrong, or counted skips with
--skip_invalid), model loading (optionally LoRA, or frozen word embeddings), and code-switching
augmentation (PPA) with a batch sampler that keeps each translated item and its variants in one batch.
Languages are ISO 639-1 codes (en, de, zh) everywhere; a Hub dataset that names them otherwise maps them
in its script.
"""

import argparse
import dataclasses
import json
import logging
import math
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import datasets
import torch
import transformers
from torch.utils.data import DataLoader
from transformers import AutoConfig, Trainer, TrainingArguments, set_seed

from weam import cli
from weam.cli import (
    ArgumentParser, InputError, check_language_codes, check_model_path, command_with, earlier_run, first_line,
    listing, other_language_codes_field, training_problems,
)
from weam.trainer import FiniteLossTrainer

logger = logging.getLogger(__name__)

ENGLISH = "en"
# The column that marks a translated item and its code-switched variants (see `code_switch`).
CODE_SWITCH_GROUP = "code_switch_group"
# An item plus its two variants (X, en) and (en, X): the batch size is counted in these groups.
CODE_SWITCH_GROUP_SIZE = 3


# ----------------------------------------------------------------------------- arguments


@dataclass
class ModelArguments:
    """Which model to fine-tune, and how: all weights, all but the word embeddings, or LoRA adapters."""

    model_name_or_path: str = field(
        metadata={
            "help": "Model to fine-tune: a Hub id (e.g. google-bert/bert-base-multilingual-cased) or a local "
            "folder, such as the output of WEAM post-training."
        }
    )
    tokenizer_name: str | None = field(
        default=None, metadata={"help": "Tokenizer (Hub id or folder) if not the model's own."}
    )
    cache_dir: str | None = field(
        default=None, metadata={"help": "Where to store models and datasets downloaded from the Hub."}
    )
    trust_remote_code: bool = field(
        default=False,
        metadata={
            "help": "Run the modeling code that ships with the checkpoint. Needed for WEAM checkpoints "
            "(model_type 'weam'); plain BERT checkpoints load either way."
        },
    )
    freeze_word_embeddings: bool = field(
        default=False,
        metadata={
            "help": "Keep the word embedding matrix fixed while the rest is fine-tuned: words seen only in the "
            "training language then keep vectors aligned with their translations' (often better zero-shot "
            "transfer), and with a large vocabulary (XLM-R: 250k) most of the optimizer's work disappears."
        },
    )
    lora_r: int = field(
        default=0,
        metadata={
            "help": "LoRA rank. 0 (default) fine-tunes every weight; > 0 freezes the encoder and trains LoRA "
            "adapters (peft) plus the task head (and BERT's pooler for XNLI). Saved models are then adapters."
        },
    )
    lora_alpha: float = field(
        default=16.0, metadata={"help": "LoRA scaling alpha (the update is scaled by alpha / r)."}
    )
    lora_dropout: float = field(default=0.1, metadata={"help": "Dropout on the LoRA adapters' input."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["query", "value"],
        metadata={"help": "Names of the linear layers that get adapters, separated by spaces (BERT names)."},
    )

    def __post_init__(self):
        if self.lora_r < 0:
            raise InputError(f"--lora_r must be >= 0, got {self.lora_r}")


@dataclass
class CrossLingualArguments:
    """Languages, experiment mode, seeds, and where each language's training and evaluation data come from."""

    eval_languages: list[str] = field(
        metadata={"help": "Languages to evaluate on, ISO 639-1 codes separated by spaces, e.g. en de es zh."}
    )
    train_language: str = field(
        default=ENGLISH,
        metadata={
            "help": "Zero-shot: the one language fine-tuned on. Translate-train: the source language of the "
            "translations (the other side of the code-switched pairs)."
        },
    )
    translate_train: bool = field(
        default=False,
        metadata={
            "help": "Translate-train mode: for each evaluation language X, fine-tune on the training data in X "
            "and evaluate on X (default: zero-shot, fine-tune on --train_language only)."
        },
    )
    code_switch: bool = field(
        default=False,
        metadata={
            "help": "Translate-train only: with each training item (a_X, b_X) also train on (a_X, b_en) and "
            "(a_en, b_X), taken from the parallel --train_language item, in the same batch (PPA). A batch then "
            "holds per_device_train_batch_size // 3 items with their variants."
        },
    )
    seeds: list[int] | None = field(
        default=None,
        metadata={
            "help": "Seeds separated by spaces, e.g. 1 2 3: one fine-tuning per seed, reported as mean ± std. "
            "Default: --seed."
        },
    )
    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Hub dataset to evaluate on, and to train on unless --train_dataset_name says otherwise: "
            "xnli (facebook/xnli) for run_xnli.py; mlqa, xquad, tydiqa (GoldP) or squad for run_qa.py; "
            "xtreme (google/xtreme, udpos) for run_pos.py."
        },
    )
    train_dataset_name: str | None = field(
        default=None,
        metadata={"help": "Hub dataset to train on, if not --dataset_name (e.g. squad to evaluate on xquad)."},
    )
    eval_split: str | None = field(
        default=None,
        metadata={
            "help": "Split of the Hub dataset to evaluate on. Default: test for xnli, mlqa and xtreme, validation "
            "for xquad, tydiqa and squad (the splits they have)."
        },
    )
    train_file: list[str] | None = field(
        default=None,
        metadata={
            "help": "Local training data, instead of a Hub dataset: one path (zero-shot), a path template with "
            "{lang} (e.g. data/xnli/dev-{lang}.tsv), or lang=path entries separated by spaces."
        },
    )
    eval_files: list[str] | None = field(
        default=None,
        metadata={
            "help": "Local evaluation data: a path template with {lang} filled in for each --eval_languages "
            "language, or lang=path entries separated by spaces (e.g. de=dev-de.tsv es=dev-es.tsv)."
        },
    )
    train_rows: str | None = field(
        default=None,
        metadata={
            "help": "Train on these rows of each training set only, as a Python slice START:END (e.g. :2000). "
            "Parallel data (XNLI: row i is the same item in every language) must be split by rows, never by "
            "language: train on :2000 and evaluate on 2000: of the same files (overlapping rows are an error)."
        },
    )
    eval_rows: str | None = field(
        default=None, metadata={"help": "Evaluate on these rows of each evaluation set only (START:END, e.g. 2000:)."}
    )
    skip_invalid: bool = field(
        default=False,
        metadata={
            "help": "Skip malformed items of local files (and questions too long for a QA window), counting "
            "them in the log, instead of stopping at the first with its file and place. Rows are counted after "
            "skipping: files parallel across languages (XNLI) should be fixed instead."
        },
    )
    save_fine_tuned_model: bool = field(
        default=True,
        metadata={
            "help": "Save each fine-tuned model (or LoRA adapter) in its run folder (default; turn off with "
            "--no_save_fine_tuned_model)."
        },
    )

    other_language_codes: list[str] = other_language_codes_field()

    def __post_init__(self):
        if not self.eval_languages:
            raise InputError("--eval_languages names no language")
        check_language_codes(self.eval_languages, "--eval_languages", self.other_language_codes)
        check_language_codes([self.train_language], "--train_language", self.other_language_codes)
        if len(set(self.eval_languages)) != len(self.eval_languages):
            raise InputError(f"--eval_languages repeats a language: {' '.join(self.eval_languages)}")
        if self.code_switch and not self.translate_train:
            raise InputError("--code_switch augments translated training data: it needs --translate_train")
        if self.seeds is not None and len(set(self.seeds)) != len(self.seeds):
            raise InputError(f"--seeds must name distinct seeds, got {self.seeds}")
        for option in ("train_rows", "eval_rows"):
            parse_rows(getattr(self, option), option)  # fail at start, not after fine-tuning

    @property
    def fine_tuning_languages(self):
        """The languages fine-tuned on, one model each: every evaluation language in translate-train mode."""
        return list(self.eval_languages) if self.translate_train else [self.train_language]

    @property
    def training_languages(self):
        """Languages whose training data the experiment reads (with the code-switching source)."""
        languages = self.fine_tuning_languages
        if self.code_switch and self.train_language not in languages:
            languages.append(self.train_language)
        return languages

    def train_source(self):
        return DataSource(
            "train",
            files=files_by_language(self.train_file, self.training_languages, "train_file")
            if self.train_file
            else None,
            dataset_name=self.train_dataset_name or self.dataset_name,
            rows=self.train_rows,
        )

    def eval_source(self):
        return DataSource(
            "eval",
            files=files_by_language(self.eval_files, self.eval_languages, "eval_files") if self.eval_files else None,
            dataset_name=self.dataset_name,
            rows=self.eval_rows,
        )


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The script's description as written, and each option's default after its help."""

    def _get_help_string(self, action):
        return action.help if action.required else super()._get_help_string(action)


def parse_arguments(dataclass_types, description, argv=None):
    """Command-line options, or one .json/.yaml file holding them all."""
    parser = ArgumentParser(dataclass_types, description=description, formatter_class=HelpFormatter)
    return parser.parse(argv)


def check_arguments(xl_args, training_args):
    """Errors no single dataclass can see: they need the training arguments too."""
    if training_args.output_dir is None:
        raise InputError("--output_dir is required: the result tables are written there")
    problems = training_problems(training_args)
    if problems:
        raise InputError("; ".join(problems))
    if training_args.resume_from_checkpoint is not None:
        raise InputError("--resume_from_checkpoint: each fine-tuning starts from the model; an experiment does not "
                         "resume (run it again with --overwrite_output_dir)")
    if not training_args.do_train and not training_args.do_eval:
        raise InputError("nothing to do: pass --do_train and/or --do_eval")
    if (
        training_args.do_train
        and xl_args.train_file is None
        and (xl_args.train_dataset_name or xl_args.dataset_name) is None
    ):
        raise InputError("--do_train needs training data: --train_file, or --dataset_name / --train_dataset_name")
    if training_args.do_eval and xl_args.eval_files is None and xl_args.dataset_name is None:
        raise InputError("--do_eval needs evaluation data: --eval_files or --dataset_name")
    if not training_args.do_train and (xl_args.translate_train or len(xl_args.seeds or []) > 1):
        raise InputError("--translate_train and several --seeds fine-tune models: they need --do_train")
    # Resolving the sources checks that every file exists, before any model is loaded.
    train_source = xl_args.train_source() if training_args.do_train else None
    eval_source = xl_args.eval_source() if training_args.do_eval else None
    if train_source and eval_source and train_source.files and eval_source.files:
        check_no_leakage(xl_args, train_source.files, eval_source.files)


def check_no_leakage(xl_args, train_files, eval_files):
    """Training on evaluation items measures memory, not transfer: the rows of files read on both sides (or of
    the same template, whose files are parallel across languages, as XNLI's) must not overlap."""
    shared = sorted(
        {path for path in train_files.values() if any(os.path.samefile(path, other) for other in eval_files.values())}
    )
    if xl_args.train_file != xl_args.eval_files and not shared:
        return
    train_rows, eval_rows = parse_rows(xl_args.train_rows, "train_rows"), parse_rows(xl_args.eval_rows, "eval_rows")
    overlap = rows_overlap(train_rows, eval_rows)
    if overlap is not None:
        start, stop = overlap
        where = ", ".join(shared) if shared else f"{' '.join(xl_args.train_file)} (files parallel across languages)"
        raise InputError(
            f"training and evaluation both read rows {start} to {'the end' if stop is None else stop - 1} of "
            f"{where}: the scores would measure memory, not transfer. Give disjoint rows, e.g. "
            "--train_rows :2000 --eval_rows 2000:"
        )


def rows_overlap(first, second):
    """The rows two row ranges (slices; None: every row) share, as `(start, stop)` (stop None: to the end),
    or None if they share none."""
    start = max((rows.start or 0) if rows else 0 for rows in (first, second))
    stops = [rows.stop for rows in (first, second) if rows and rows.stop is not None]
    stop = min(stops) if stops else None
    return (start, stop) if stop is None or start < stop else None


def start_experiment(model_args, training_args, max_seq_length):
    """What every script does first, before the data: logging, the output folder (an earlier experiment there is
    not written over unasked), the model (its path, its tokenizer, how many tokens it reads). Returns the
    tokenizer."""
    setup_logging(training_args)
    earlier = earlier_run(training_args.output_dir)
    if earlier and not training_args.overwrite_output_dir:
        raise InputError(f"--output_dir {training_args.output_dir} holds an earlier run ({listing(earlier)}): give "
                         "another --output_dir, or --overwrite_output_dir to write over it")
    check_model_path(model_args.model_name_or_path, "--model_name_or_path", "--tokenizer_name")
    tokenizer = load_tokenizer(model_args)
    try:
        config = AutoConfig.from_pretrained(model_args.model_name_or_path, cache_dir=model_args.cache_dir,
                                            trust_remote_code=model_args.trust_remote_code)
    except (OSError, ValueError) as error:
        raise InputError(f"--model_name_or_path {model_args.model_name_or_path}: {first_line(error)}") from error
    if max_seq_length > config.max_position_embeddings:
        raise InputError(f"--max_seq_length {max_seq_length} is more than {model_args.model_name_or_path} reads "
                         f"({config.max_position_embeddings} positions): give at most that")
    return tokenizer


def interrupted_message(parse_command_line, argv):
    """What an interrupted experiment left in its folder, and the command that runs it again over them."""
    *_, training_args = parse_command_line(argv)
    runs = [name for name in earlier_run(training_args.output_dir) if name.startswith("seed-")]
    if not runs:
        return None
    return (f"{training_args.output_dir} holds the runs begun ({listing(runs)}); the table is written at the end. "
            f"Run the experiment again with: {command_with(argv, 'overwrite_output_dir')}")


def setup_logging(training_args):
    log_level = training_args.get_process_log_level()
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    logging.getLogger().setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)


# ----------------------------------------------------------------------------- data sources


def files_by_language(spec, languages, option):
    """Map each language to its file. `spec`: [path], [template with {lang}], or [lang=path, lang=path, ...]."""
    if any("=" in entry for entry in spec):
        files = {}
        for entry in spec:
            language, _, path = entry.partition("=")
            if not language or not path:
                raise InputError(
                    f"--{option}: cannot read {entry!r}; write lang=path entries separated by spaces, "
                    "e.g. de=data/dev-de.tsv es=data/dev-es.tsv"
                )
            files[language] = path
        missing = [language for language in languages if language not in files]
        if missing:
            raise InputError(f"--{option} gives no file for {', '.join(missing)} (it has {', '.join(files)})")
    elif len(spec) == 1 and "{lang}" in spec[0]:
        files = {language: spec[0].replace("{lang}", language) for language in languages}
    elif len(spec) == 1 and len(languages) == 1:
        files = {languages[0]: spec[0]}
    else:
        raise InputError(
            f"--{option} names {len(spec)} file(s) for {len(languages)} language(s) ({', '.join(languages)}): "
            "give one file, a template with {lang} (e.g. data/dev-{lang}.tsv) or lang=path entries"
        )
    files = {language: files[language] for language in languages}
    for language, path in files.items():
        if not os.path.isfile(path):
            raise InputError(f"--{option}: the {language} file {path} does not exist")
    return files


class InvalidItems:
    """The malformed items of one file: an `InputError` at the first one, or with `skip` (--skip_invalid)
    skipped and counted; `report` then logs read = used + skipped, with the first few reasons."""

    def __init__(self, path, skip):
        self.path, self.skip, self.problems = path, skip, []

    def add(self, where, problem):
        if not self.skip:
            raise InputError(f"{self.path}:{where}: {problem} (fix it, or pass --skip_invalid to skip such items)")
        self.problems.append(f"{where}: {problem}")

    def report(self, used, unit="items"):
        if self.problems:
            logger.warning(
                f"{self.path}: read {used + len(self.problems)} {unit}, used {used}, skipped "
                f"{len(self.problems)} invalid (--skip_invalid), e.g. " + "; ".join(self.problems[:3])
            )
        if used == 0:
            raise InputError(f"{self.path} holds no valid {unit}")


def parse_rows(spec, option):
    """'START:END' (either may be empty) as a slice; None stays None."""
    if spec is None:
        return None
    start, colon, end = spec.partition(":")
    try:
        bounds = [int(bound) if bound.strip() else None for bound in (start, end)]
    except ValueError:
        bounds = None
    if not colon or bounds is None or any(bound is not None and bound < 0 for bound in bounds):
        raise InputError(f"--{option} must be START:END with non-negative integers, e.g. :2000 or 2000:, got {spec!r}")
    return slice(*bounds)


def select_rows(dataset, spec, option, source):
    rows = parse_rows(spec, option)
    if rows is None:
        return dataset
    indices = range(*rows.indices(len(dataset)))
    if len(indices) == 0:
        raise InputError(f"--{option} {spec} selects no row of {source}, which has {len(dataset)} rows")
    return dataset.select(indices)


@dataclass(frozen=True)
class HubSplit:
    """One language's data on the Hub: the arguments of `datasets.load_dataset`."""

    path: str
    name: str | None
    split: str
    # TyDiQA keeps every language in one config; its ids start with the language's name.
    id_prefix: str | None = None


def load_hub_split(hub_split, cache_dir=None):
    try:
        dataset = datasets.load_dataset(hub_split.path, hub_split.name, split=hub_split.split, cache_dir=cache_dir)
    except Exception as error:
        raise InputError(
            f"cannot load {hub_split.path} ({hub_split.name}, split {hub_split.split}) from the Hub: {error}. "
            "Offline, pass local files with --train_file / --eval_files instead."
        ) from error
    if hub_split.id_prefix is not None:
        dataset = dataset.filter(lambda example: example["id"].startswith(hub_split.id_prefix))
    return dataset


@dataclass
class DataSource:
    """Where one side of an experiment ("train" or "eval") reads each language: local files or a Hub dataset."""

    purpose: str
    files: dict[str, str] | None
    dataset_name: str | None
    rows: str | None

    def describe(self, language):
        """Where `language`'s data are read: its file, or the Hub dataset."""
        return self.files[language] if self.files is not None else f"{self.dataset_name} ({language})"

    def load(self, language, read_file, read_hub, apply_rows=True):
        """`language`'s data: `read_file(path, language)` or `read_hub(dataset_name, language, purpose)`."""
        source = self.describe(language)
        if self.files is not None:
            dataset = read_file(self.files[language], language)
        else:
            dataset = read_hub(self.dataset_name, language, self.purpose)
        if apply_rows:
            dataset = select_rows(dataset, self.rows, f"{self.purpose}_rows", source)
        logger.info(f"{self.purpose} data for {language}: {len(dataset)} rows of {source}")
        return dataset


def load_training_set(xl_args, language, read_file, read_hub, english_fields, key=None):
    """`language`'s training data; with --code_switch, each item followed by its code-switched variants
    built from the parallel --train_language item (see `code_switch`: `key` None pairs rows by position)."""
    source = xl_args.train_source()
    data = source.load(language, read_file, read_hub)
    if xl_args.code_switch and language != xl_args.train_language:
        # Rows paired by position need the same rows of the English data; rows paired by key, all of them.
        english = source.load(xl_args.train_language, read_file, read_hub, apply_rows=key is None)
        data = code_switch(data, english, english_fields, key)
    return data


# ----------------------------------------------------------------------------- models


def load_tokenizer(model_args):
    """The tokenizer, loaded first: a model path or Hub id that cannot be read fails here, in one line."""
    option = "--tokenizer_name" if model_args.tokenizer_name else "--model_name_or_path"
    return cli.load_tokenizer(model_args.tokenizer_name or model_args.model_name_or_path, option, "--tokenizer_name",
                              cache_dir=model_args.cache_dir, trust_remote_code=model_args.trust_remote_code)


def load_model(model_args, auto_class, lora_task_type, seed, **config_overrides):
    """A fresh pretrained model with a new task head (initialized under `seed`), wrapped in LoRA if asked."""
    set_seed(seed)
    config = AutoConfig.from_pretrained(
        model_args.model_name_or_path,
        cache_dir=model_args.cache_dir,
        trust_remote_code=model_args.trust_remote_code,
        **config_overrides,
    )
    model = auto_class.from_pretrained(
        model_args.model_name_or_path,
        config=config,
        cache_dir=model_args.cache_dir,
        trust_remote_code=model_args.trust_remote_code,
    )
    if model_args.freeze_word_embeddings:
        model.get_input_embeddings().requires_grad_(False)
    if model_args.lora_r > 0:
        from peft import LoraConfig, get_peft_model

        lora_config = LoraConfig(
            task_type=lora_task_type,  # makes peft train (and save) the task head with the adapters
            r=model_args.lora_r,
            lora_alpha=model_args.lora_alpha,
            lora_dropout=model_args.lora_dropout,
            target_modules=model_args.lora_target_modules,
            # A sequence classifier reads BERT's pooler: train it as full fine-tuning does (some encoders,
            # e.g. multilingual-e5, ship none, and a frozen random pooler would blur the [CLS] state).
            modules_to_save=["pooler"] if lora_task_type == "SEQ_CLS" else None,
        )
        model = get_peft_model(model, lora_config)
        model.print_trainable_parameters()
    return model


# ----------------------------------------------------------------------------- code-switching


def code_switch(translated, english, english_fields, key=None):
    """Each translated item, followed by its code-switched variants, all tagged with one `CODE_SWITCH_GROUP`.

    Args:
        translated: the items in language X.
        english: the same items in English (the translations' source).
        english_fields: one tuple per variant: the fields it takes from the English item, the rest staying in X.
            XNLI: `[("premise",), ("hypothesis",)]`; QA: `[("context", "answers"), ("question",)]` (an answer
            span belongs to its context).
        key: column that pairs an item with its English one (e.g. "id"); None pairs them by position.
            An item without an English partner is kept alone.
    """
    if key is None:
        if len(english) != len(translated):
            raise InputError(
                f"code-switching pairs rows by position, but the translated data have {len(translated)} rows "
                f"and the English data {len(english)}: they must be parallel"
            )
        partners = list(english)
    else:
        english_by_key = {}
        for item in english:
            if item[key] in english_by_key:
                raise InputError(
                    f"code-switching pairs items by {key!r}, but the English data repeat {key} {item[key]!r}"
                )
            english_by_key[item[key]] = item
        partners = [english_by_key.get(item[key]) for item in translated]

    rows = []
    for group, (item, partner) in enumerate(zip(translated, partners)):
        rows.append({**item, CODE_SWITCH_GROUP: group})
        if partner is not None:
            rows.extend(
                {**item, **{f: partner[f] for f in fields}, CODE_SWITCH_GROUP: group} for fields in english_fields
            )
    unpaired = sum(partner is None for partner in partners)
    if unpaired:
        logger.warning(f"code-switching: {unpaired} of {len(translated)} items have no English partner, kept alone")
    features = translated.features.copy()
    features[CODE_SWITCH_GROUP] = datasets.Value("int64")
    return datasets.Dataset.from_list(rows, features=features)


class GroupedBatchSampler(torch.utils.data.Sampler):
    """Batches made of whole groups, so rows with the same group id always share a batch.

    The groups are shuffled every epoch (with `seed + epoch`) and each batch takes `groups_per_batch` of them,
    so the number of batches is the same every epoch.
    """

    def __init__(self, group_ids, groups_per_batch, seed=0):
        if groups_per_batch < 1:
            raise ValueError(f"groups_per_batch must be >= 1, got {groups_per_batch}")
        rows_by_group = {}
        for row, group in enumerate(group_ids):
            rows_by_group.setdefault(group, []).append(row)
        self.groups = list(rows_by_group.values())
        self.groups_per_batch = groups_per_batch
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return math.ceil(len(self.groups) / self.groups_per_batch)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.groups), generator=generator).tolist()
        for start in range(0, len(order), self.groups_per_batch):
            yield [row for group in order[start : start + self.groups_per_batch] for row in self.groups[group]]


class CrossLingualTrainer(FiniteLossTrainer):
    """A `Trainer` whose training batches keep code-switched variants with their original item (when the
    training set has a `CODE_SWITCH_GROUP` column, batches are drawn by `GroupedBatchSampler`), and whose
    evaluation keeps the rows in order."""

    def _get_eval_sampler(self, eval_dataset):
        # Predictions are paired with their rows by position (QA features, POS windows): evaluation data are
        # never reordered (transformers' group_by_length strategy would sort them by length, in evaluation too).
        # (Several processes: None, as Trainer does, lets accelerate shard them in order.)
        return torch.utils.data.SequentialSampler(eval_dataset) if self.args.world_size <= 1 else None

    def get_train_dataloader(self):
        if self.train_dataset is None or CODE_SWITCH_GROUP not in getattr(self.train_dataset, "column_names", ()):
            return super().get_train_dataloader()
        groups_per_batch = max(1, self._train_batch_size // CODE_SWITCH_GROUP_SIZE)
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        batch_sampler = GroupedBatchSampler(self.train_dataset[CODE_SWITCH_GROUP], groups_per_batch, seed)
        dataset = self._remove_unused_columns(self.train_dataset, description="Training")
        dataloader = DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory,
        )
        return self.accelerator.prepare(dataloader)


# ----------------------------------------------------------------------------- experiments


@dataclass
class Run:
    """One fine-tuning: its seed, training language, evaluation languages and arguments (own output_dir)."""

    seed: int
    train_language: str
    eval_languages: list[str]
    training_args: TrainingArguments


def plan_runs(xl_args, training_args):
    """Zero-shot: one run per seed. Translate-train: one run per seed and evaluation language."""
    for seed in xl_args.seeds or [training_args.seed]:
        seed_dir = os.path.join(training_args.output_dir, f"seed-{seed}")
        if xl_args.translate_train:
            for language in xl_args.eval_languages:
                run_args = dataclasses.replace(
                    training_args, output_dir=os.path.join(seed_dir, f"train-{language}"), seed=seed
                )
                yield Run(seed, language, [language], run_args)
        else:
            yield Run(
                seed,
                xl_args.train_language,
                xl_args.eval_languages,
                dataclasses.replace(training_args, output_dir=seed_dir, seed=seed),
            )


def fine_tune(trainer, save_model):
    result = trainer.train()
    if save_model:
        trainer.save_model()
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)


def run_experiment(
    task: str,
    metric_names: list[str],
    model_args: ModelArguments,
    xl_args: CrossLingualArguments,
    training_args: TrainingArguments,
    make_trainer: Callable[[Run], Trainer],
    evaluate_language: Callable[[Trainer, str, str], dict[str, float]],
):
    """Fine-tune and evaluate every run, then write and print the table (returned as a dict).

    `make_trainer(run)` builds a fresh model and its trainer for the run; `evaluate_language(trainer,
    language, prefix)` returns the trainer's metrics on `language`, keys starting with `prefix`.
    """
    scores = {}
    for run in plan_runs(xl_args, training_args):
        logger.info(
            f"*** seed {run.seed}: train on {run.train_language}, evaluate on {', '.join(run.eval_languages)} ***"
        )
        trainer = make_trainer(run)
        if training_args.do_train:
            fine_tune(trainer, xl_args.save_fine_tuned_model)
        if training_args.do_eval:
            for language in run.eval_languages:
                prefix = f"eval_{language}"
                metrics = evaluate_language(trainer, language, prefix)
                trainer.log_metrics(prefix, metrics)
                trainer.save_metrics(prefix, metrics)
                scores.setdefault(run.seed, {})[language] = {
                    name: metrics[f"{prefix}_{name}"] for name in metric_names
                }
    if not training_args.do_eval:
        return None
    results = {
        "task": task,
        "model": model_args.model_name_or_path,
        "mode": "translate-train" if xl_args.translate_train else "zero-shot",
        "train_language": xl_args.train_language,
        "code_switch": xl_args.code_switch,
        "lora_r": model_args.lora_r,
        **summarize(scores, xl_args.eval_languages, metric_names),
    }
    write_results(results, training_args.output_dir)
    return results


# ----------------------------------------------------------------------------- result tables


def summarize(scores_by_seed, languages, metric_names):
    """Per-seed scores with their averages, and mean ± sample std over seeds of every column.

    `scores_by_seed`: `{seed: {language: {metric: score}}}`. "avg" averages all languages, "avg_without_en"
    all but English (the zero-shot transfer languages). The std of an average is over the seeds' averages;
    with one seed it is None.
    """
    columns = list(languages) + ["avg"]
    transfer_languages = [language for language in languages if language != ENGLISH]
    if transfer_languages:
        columns.append("avg_without_en")
    per_seed = {}
    for seed, scores in scores_by_seed.items():
        table = {}
        for metric in metric_names:
            row = {language: scores[language][metric] for language in languages}
            row["avg"] = statistics.fmean(row[language] for language in languages)
            if transfer_languages:
                row["avg_without_en"] = statistics.fmean(row[language] for language in transfer_languages)
            table[metric] = row
        per_seed[str(seed)] = table
    seeds = list(per_seed)
    mean = {m: {c: statistics.fmean(per_seed[s][m][c] for s in seeds) for c in columns} for m in metric_names}
    std = {
        m: {c: statistics.stdev(per_seed[s][m][c] for s in seeds) if len(seeds) > 1 else None for c in columns}
        for m in metric_names
    }
    return {
        "seeds": [int(seed) for seed in seeds],
        "languages": list(languages),
        "metrics": list(metric_names),
        "columns": columns,
        "mean": mean,
        "std": std,
        "per_seed": per_seed,
    }


COLUMN_TITLES = {"avg": "avg", "avg_without_en": "avg w/o en"}


def results_markdown(results):
    """The results as a Markdown table: one row per metric, one column per language, then the averages."""
    seeds = results["seeds"]
    training = ["each language" if results["mode"] == "translate-train" else results["train_language"]]
    if results["code_switch"]:
        training.append("code-switched")
    if results["lora_r"]:
        training.append(f"LoRA r={results['lora_r']}")
    title = f"### {results['task']} {results['mode']} (train: {', '.join(training)})"
    summary = f"Model: `{results['model']}`. Seeds: {', '.join(map(str, seeds))}"
    summary += " (mean ± sample std)." if len(seeds) > 1 else "."
    lines = [title, "", summary, ""]
    lines.append("| metric | " + " | ".join(COLUMN_TITLES.get(c, c) for c in results["columns"]) + " |")
    lines.append("|---|" + "---:|" * len(results["columns"]))
    for metric in results["metrics"]:
        cells = []
        for column in results["columns"]:
            mean, std = results["mean"][metric][column], results["std"][metric][column]
            cells.append(f"{mean:.1f}" if std is None else f"{mean:.1f} ± {std:.1f}")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results(results, output_dir):
    os.makedirs(output_dir, exist_ok=True)
    markdown = results_markdown(results)
    with open(os.path.join(output_dir, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, ensure_ascii=False)
    with open(os.path.join(output_dir, "results.md"), "w", encoding="utf-8") as f:
        f.write(markdown)
    print(markdown)
