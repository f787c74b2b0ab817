#!/usr/bin/env python
"""Fine-tune a multilingual encoder on XNLI and measure cross-lingual transfer (zero-shot or translate-train).

After transformers' examples/pytorch/text-classification/run_xnli.py. Result: accuracy per language with the
average over all languages and over all but English, printed and written to OUTPUT_DIR/results.{json,md}
(mean ± std over --seeds); each run's model, metrics and predicted labels (predictions-X.txt, one a line, in
input order) are in OUTPUT_DIR/seed-S[/train-X].

Zero-shot, offline, on the XNLI dev files (row i is the same item in all 15 languages, so train and evaluate
on disjoint rows; overlapping rows of the same files are an error):

  python run_xnli.py --model_name_or_path WEAM_OUTPUT_DIR --trust_remote_code \\
      --train_file 'data/xnli/dev-{lang}.tsv' --train_rows :2000 \\
      --eval_files 'data/xnli/dev-{lang}.tsv' --eval_rows 2000: \\
      --train_language en --eval_languages en de es zh --seeds 1 2 3 \\
      --do_train --do_eval --output_dir out/xnli --save_strategy no

Translate-train (fine-tune on each language's own data), code-switched (PPA): add --translate_train --code_switch.
The Hub benchmark (test split; MNLI and its translations for training): --dataset_name xnli instead of the files.
All options in one file: python run_xnli.py args.json (or args.yaml).

Local files are TSV, one item a line: premise<TAB>hypothesis<TAB>label, label one of entailment, neutral,
contradiction; an optional first line premise<TAB>hypothesis<TAB>label is a header. A malformed line is an
error naming it, or with --skip_invalid a counted skip. Languages are ISO 639-1 codes.
"""

import functools
import os
from dataclasses import dataclass, field

import numpy as np
from datasets import ClassLabel, Dataset, Features, Value
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

from weam import metrics
from weam.cli import RunArguments, run_as_command
from weam.finetuning import (
    CrossLingualArguments,
    CrossLingualTrainer,
    HubSplit,
    InputError,
    InvalidItems,
    ModelArguments,
    check_arguments,
    interrupted_message,
    load_hub_split,
    load_model,
    load_training_set,
    parse_arguments,
    run_experiment,
    start_experiment,
)
from weam.word_alignment import read_lines

# The label order of facebook/xnli's ClassLabel, so local files and the Hub dataset agree.
XNLI_LABELS = ["entailment", "neutral", "contradiction"]
XNLI_FEATURES = Features(
    {"premise": Value("string"), "hypothesis": Value("string"), "label": ClassLabel(names=XNLI_LABELS)}
)
XNLI_HUB_NAMES = ("xnli", "facebook/xnli")
XNLI_LANGUAGES = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")


@dataclass
class XnliArguments:
    max_seq_length: int = field(
        default=128,
        metadata={
            "help": "Premise and hypothesis together are truncated to this many tokens (batches are padded "
            "dynamically)."
        },
    )


def read_xnli_tsv(path, language=None, skip_invalid=False):
    """An XNLI TSV file as a dataset; a malformed line is an error naming its file and line (or, with
    `skip_invalid`, skipped and counted)."""
    columns = {"premise": [], "hypothesis": [], "label": []}
    invalid = InvalidItems(path, skip_invalid)
    try:
        lines = read_lines(path)
    except ValueError as error:  # invalid UTF-8: the file, the line and the byte
        raise InputError(str(error)) from error
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if line_number == 1 and fields == list(columns):
            continue
        if len(fields) != 3:
            invalid.add(
                line_number,
                f"expected 3 tab-separated columns (premise, hypothesis, label), found {len(fields)}: {line[:80]!r}",
            )
            continue
        premise, hypothesis, label = fields
        if label not in XNLI_LABELS:
            invalid.add(line_number, f"unknown label {label!r}; XNLI labels are {', '.join(XNLI_LABELS)}")
            continue
        columns["premise"].append(premise)
        columns["hypothesis"].append(hypothesis)
        columns["label"].append(XNLI_LABELS.index(label))
    invalid.report(len(columns["label"]))
    return Dataset.from_dict(columns, features=XNLI_FEATURES)


def read_xnli_hub(dataset_name, language, purpose, eval_split, cache_dir):
    if dataset_name not in XNLI_HUB_NAMES:
        raise InputError(
            f"unknown XNLI dataset {dataset_name!r}: use xnli (facebook/xnli), or local files "
            "(--train_file/--eval_files)"
        )
    if language not in XNLI_LANGUAGES:
        raise InputError(f"facebook/xnli has no language {language!r}; it has {', '.join(XNLI_LANGUAGES)}")
    # The non-English training splits are MNLI machine-translated: the translate-train data.
    split = "train" if purpose == "train" else eval_split or "test"
    return load_hub_split(HubSplit("facebook/xnli", language, split), cache_dir).cast(XNLI_FEATURES)


def parse_command_line(argv=None):
    """The arguments, checked: every mistake a command line can hold stops here, before anything is downloaded."""
    model_args, xl_args, xnli_args, training_args = parse_arguments(
        (ModelArguments, CrossLingualArguments, XnliArguments, RunArguments), __doc__, argv
    )
    check_arguments(xl_args, training_args)
    return model_args, xl_args, xnli_args, training_args


def main(argv=None):
    model_args, xl_args, xnli_args, training_args = parse_command_line(argv)
    tokenizer = start_experiment(model_args, training_args, xnli_args.max_seq_length)
    accuracy = metrics.load("accuracy", "xnli")
    read_file = functools.partial(read_xnli_tsv, skip_invalid=xl_args.skip_invalid)

    def read_hub(dataset_name, language, purpose):
        return read_xnli_hub(dataset_name, language, purpose, xl_args.eval_split, model_args.cache_dir)

    def tokenize(batch):
        return tokenizer(batch["premise"], batch["hypothesis"], truncation=True, max_length=xnli_args.max_seq_length)

    train_sets, eval_sets = {}, {}
    if training_args.do_train:
        for language in xl_args.fine_tuning_languages:
            # XNLI items carry no id: code-switching pairs them with English by row.
            data = load_training_set(xl_args, language, read_file, read_hub, [("premise",), ("hypothesis",)])
            train_sets[language] = data.map(tokenize, batched=True, desc=f"Tokenizing {language} training data")
    if training_args.do_eval:
        source = xl_args.eval_source()
        for language in xl_args.eval_languages:
            data = source.load(language, read_file, read_hub)
            eval_sets[language] = data.map(tokenize, batched=True, desc=f"Tokenizing {language} evaluation data")

    def compute_accuracy(eval_prediction):
        logits = eval_prediction.predictions
        logits = logits[0] if isinstance(logits, tuple) else logits
        return accuracy.compute(predictions=np.argmax(logits, axis=1), references=eval_prediction.label_ids)

    def make_trainer(run):
        model = load_model(
            model_args,
            AutoModelForSequenceClassification,
            "SEQ_CLS",
            run.seed,
            num_labels=len(XNLI_LABELS),
            id2label=dict(enumerate(XNLI_LABELS)),
            label2id={label: i for i, label in enumerate(XNLI_LABELS)},
            finetuning_task="xnli",
        )
        return CrossLingualTrainer(
            model=model,
            args=run.training_args,
            train_dataset=train_sets.get(run.train_language),
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
            compute_metrics=compute_accuracy,
        )

    def evaluate_language(trainer, language, prefix):
        output = trainer.predict(eval_sets[language], metric_key_prefix=prefix)
        logits = output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
        # one predicted label a line, in input order: per-item analyses (paired bootstraps) start here
        with open(os.path.join(trainer.args.output_dir, f"predictions-{language}.txt"), "w") as f:
            f.writelines(f"{XNLI_LABELS[label]}\n" for label in np.argmax(logits, axis=1))
        return output.metrics

    return run_experiment("XNLI", ["accuracy"], model_args, xl_args, training_args, make_trainer, evaluate_language)


if __name__ == "__main__":
    run_as_command(main, functools.partial(interrupted_message, parse_command_line))
