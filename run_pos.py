#!/usr/bin/env python
"""Fine-tune a multilingual encoder for part-of-speech tagging and measure cross-lingual transfer (XTREME's udpos).

After transformers' examples/pytorch/token-classification/run_ner.py, in the family of run_xnli.py and run_qa.py
(same options, seeds and result tables). Each word is tagged from its first subword. Sentences are tokenized as
written (weam/words.py maps tokens to words by character offsets: an XLM-R tokenizer then reads Chinese without
a bare "▁" before every word), and a sentence longer than --max_seq_length is cut into windows between words:
every word is tagged, none truncated away. Result: word accuracy per language with the average over all
languages and over all but English, printed and written to OUTPUT_DIR/results.{json,md} (mean ± std over
--seeds); each run's model, metrics and predicted tags are in OUTPUT_DIR/seed-S[/train-X], the tags as
predictions-X.tsv in the input format (one sentence a line, in input order).

Zero-shot, offline, on UD treebanks (train on English EWT, evaluate on the test sets):

  python run_pos.py --model_name_or_path WEAM_OUTPUT_DIR --trust_remote_code \\
      --train_file data/udpos/en.train.tsv --eval_files 'data/udpos/{lang}.test.tsv' \\
      --train_language en --eval_languages en de es zh --seeds 1 2 3 --freeze_word_embeddings \\
      --do_train --do_eval --output_dir out/udpos --save_strategy no

The Hub benchmark: --dataset_name xtreme (google/xtreme, configs udpos.English, udpos.German, ...; test split).
All options in one file: python run_pos.py args.json (or args.yaml).

Local files are TSV, one sentence a line: the words joined by single spaces, a TAB, the UPOS tags joined by
single spaces, one per word (words are split on " " only). A malformed line is an error naming it, or with
--skip_invalid a counted skip. Languages are ISO 639-1 codes.
"""

import functools
import logging
import os
from dataclasses import dataclass, field

from datasets import ClassLabel, Dataset, Features, List, Value
from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

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
from weam.words import encode_words

logger = logging.getLogger(__name__)

# The 17 universal POS tags, in the order of google/xtreme's udpos ClassLabel.
UPOS_TAGS = [
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
]  # fmt: skip
TAG_IDS = {tag: i for i, tag in enumerate(UPOS_TAGS)}
POS_FEATURES = Features({"words": List(Value("string")), "tags": List(Value("string"))})
XTREME_HUB_NAMES = ("xtreme", "google/xtreme")
# google/xtreme names each udpos configuration after the treebanks' language in English.
UDPOS_LANGUAGE_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "kk": "Kazakh", "ko": "Korean", "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian",
    "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu",
    "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese",
}  # fmt: skip
# Tokens that are not a word's own first token learn nothing (the loss ignores this label).
IGNORED = -100


@dataclass
class PosArguments:
    max_seq_length: int = field(
        default=128,
        metadata={
            "help": "Tokens per window, special tokens included: a longer sentence is cut into several windows "
            "between words (every word is still tagged)."
        },
    )


def read_udpos_tsv(path, language=None, skip_invalid=False):
    """A words<TAB>tags file as a dataset of sentences; a malformed line is an error naming its file and line
    (or, with `skip_invalid`, skipped and counted)."""
    rows = {"words": [], "tags": []}
    invalid = InvalidItems(path, skip_invalid)
    try:
        lines = read_lines(path)
    except ValueError as error:  # invalid UTF-8: the file, the line and the byte
        raise InputError(str(error)) from error
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            invalid.add(line_number, f"expected 2 tab-separated columns (words, tags), found {len(fields)}")
            continue
        words, tags = fields[0].split(" "), fields[1].split(" ")
        unknown = sorted(set(tags) - set(UPOS_TAGS))
        if len(words) != len(tags):
            invalid.add(line_number, f"{len(words)} words but {len(tags)} tags; each word needs one tag")
        elif "" in words:
            invalid.add(line_number, "an empty word: words are separated by single spaces")
        elif unknown:
            invalid.add(line_number, f"unknown tag(s) {' '.join(map(repr, unknown))}; UPOS tags are {' '.join(UPOS_TAGS)}")
        else:
            rows["words"].append(words)
            rows["tags"].append(tags)
    invalid.report(len(rows["words"]), unit="sentences")
    return Dataset.from_dict(rows, features=POS_FEATURES)


def read_udpos_hub(dataset_name, language, purpose, eval_split, cache_dir):
    if dataset_name not in XTREME_HUB_NAMES:
        raise InputError(
            f"unknown POS dataset {dataset_name!r}: use xtreme (google/xtreme, udpos), or local files "
            "(--train_file/--eval_files)"
        )
    if language not in UDPOS_LANGUAGE_NAMES:
        raise InputError(f"XTREME's udpos has no language {language!r}; it has {' '.join(UDPOS_LANGUAGE_NAMES)}")
    split = "train" if purpose == "train" else eval_split or "test"
    hub_split = HubSplit("google/xtreme", f"udpos.{UDPOS_LANGUAGE_NAMES[language]}", split)
    data = load_hub_split(hub_split, cache_dir)
    tag_feature = data.features["pos_tags"].feature
    tags = data["pos_tags"]
    if isinstance(tag_feature, ClassLabel):
        tags = [[tag_feature.int2str(tag) for tag in sentence] for sentence in tags]
    return Dataset.from_dict({"words": data["tokens"], "tags": tags}, features=POS_FEATURES)


def tag_windows(batch, indices, tokenizer, max_seq_length):
    """Each sentence as windows of at most `max_seq_length` tokens, cut between words, so that every word's
    first token lies in exactly one window.

    A window holds the sentence's own tokens (tokenized once, as written), framed by the special tokens.
    `labels` marks each word's own first token with its tag; a word without a token of its own (its first
    character lies in a token that starts in the word before, see weam/words.py) is read from that token but
    not trained on. `word_positions` are the positions of the window's words `first_word`, `first_word` + 1, ...
    """
    encoding, mapped_sentences = encode_words(tokenizer, batch["words"], return_special_tokens_mask=True)
    windows = {"input_ids": [], "attention_mask": [], "labels": [], "sentence": [], "first_word": [], "word_positions": []}
    for sentence, words, tags, ids, special, mapped in zip(
        indices, batch["words"], batch["tags"], encoding["input_ids"], encoding["special_tokens_mask"], mapped_sentences
    ):
        content = [position for position, is_special in enumerate(special) if not is_special]
        if not content:
            raise InputError(f"sentence {sentence} ({' '.join(words[:8])}) has no token: the tokenizer drops it all")
        start, stop = content[0], content[-1] + 1
        prefix, suffix = ids[:start], ids[stop:]
        budget = max_seq_length - len(prefix) - len(suffix)
        first = reading_positions(mapped.first_tokens())
        labels = [IGNORED] * len(ids)
        for word, position in enumerate(first):
            if mapped.token_words[position] == word:  # the word's own first token
                labels[position] = TAG_IDS[tags[word]]
        cuts = [position for position, label in enumerate(labels) if label != IGNORED]  # where a word begins
        word = 0
        while start < stop:
            end = stop if stop - start <= budget else max((p for p in cuts if start < p <= start + budget), default=start + budget)
            words_here = []
            while word < len(first) and first[word] < end:
                words_here.append(len(prefix) + first[word] - start)
                word += 1
            if words_here:  # (a window holding only the rest of one overlong word has nothing to tag)
                windows["input_ids"].append(prefix + ids[start:end] + suffix)
                windows["attention_mask"].append([1] * (len(prefix) + end - start + len(suffix)))
                windows["labels"].append([IGNORED] * len(prefix) + labels[start:end] + [IGNORED] * len(suffix))
                windows["sentence"].append(sentence)
                windows["first_word"].append(word - len(words_here))
                windows["word_positions"].append(words_here)
            start = end
    return windows


def reading_positions(first_tokens):
    """Each word's first token; a word with no token at all (-1) is read where the word before is read (or the
    word after, at the start of a sentence)."""
    known = [position for position in first_tokens if position >= 0]
    positions, previous = [], known[0]
    for position in first_tokens:
        previous = position if position >= 0 else previous
        positions.append(previous)
    return positions


def predicted_tags(predictions, windows, sentence_lengths):
    """Each sentence's predicted tags, word by word, from the predicted label of each window position."""
    tags = [[None] * length for length in sentence_lengths]
    for row, (sentence, first_word, positions) in enumerate(
        zip(windows["sentence"], windows["first_word"], windows["word_positions"])
    ):
        for offset, position in enumerate(positions):
            tags[sentence][first_word + offset] = UPOS_TAGS[predictions[row][position]]
    return tags


def write_predictions(path, sentences, tags):
    """Predicted tags in the input format: words<TAB>tags, one sentence a line, in input order."""
    with open(path, "w", encoding="utf-8") as f:
        for words, sentence_tags in zip(sentences, tags):
            f.write(" ".join(words) + "\t" + " ".join(sentence_tags) + "\n")


def predicted_labels(logits, labels):
    """Only the best label of each position leaves the model (17 logits each would fill the memory)."""
    logits = logits[0] if isinstance(logits, tuple) else logits
    return logits.argmax(dim=-1)


def parse_command_line(argv=None):
    """The arguments, checked: every mistake a command line can hold stops here, before anything is downloaded."""
    model_args, xl_args, pos_args, training_args = parse_arguments(
        (ModelArguments, CrossLingualArguments, PosArguments, RunArguments), __doc__, argv
    )
    if xl_args.code_switch:
        raise InputError("--code_switch swaps sentences of sentence pairs: POS tagging has none")
    check_arguments(xl_args, training_args)
    return model_args, xl_args, pos_args, training_args


def main(argv=None):
    model_args, xl_args, pos_args, training_args = parse_command_line(argv)
    tokenizer = start_experiment(model_args, training_args, pos_args.max_seq_length)
    max_seq_length = min(pos_args.max_seq_length, tokenizer.model_max_length)
    if max_seq_length <= tokenizer.num_special_tokens_to_add():
        raise InputError(f"--max_seq_length {pos_args.max_seq_length} leaves no room for a word")
    accuracy = metrics.load("accuracy", "udpos")
    read_file = functools.partial(read_udpos_tsv, skip_invalid=xl_args.skip_invalid)

    def read_hub(dataset_name, language, purpose):
        return read_udpos_hub(dataset_name, language, purpose, xl_args.eval_split, model_args.cache_dir)

    def windows_of(sentences, language, purpose):
        windows = sentences.map(
            tag_windows,
            batched=True,
            with_indices=True,
            remove_columns=sentences.column_names,
            fn_kwargs={"tokenizer": tokenizer, "max_seq_length": max_seq_length},
            desc=f"Tokenizing {language} {purpose} data",
        )
        words = sum(len(positions) for positions in windows["word_positions"])
        labelled = sum(label != IGNORED for labels in windows["labels"] for label in labels)
        logger.info(
            f"{language} {purpose} data: {len(sentences)} sentences, {words} words in {len(windows)} windows; "
            f"{words - labelled} words have no token of their own (read from the token they lie in)"
        )
        return windows

    train_sets, eval_sets = {}, {}
    if training_args.do_train:
        for language in xl_args.fine_tuning_languages:
            data = load_training_set(xl_args, language, read_file, read_hub, english_fields=[])
            train_sets[language] = windows_of(data, language, "training")
    if training_args.do_eval:
        source = xl_args.eval_source()
        for language in xl_args.eval_languages:
            sentences = source.load(language, read_file, read_hub)
            eval_sets[language] = (sentences, windows_of(sentences, language, "evaluation"))

    def make_trainer(run):
        model = load_model(
            model_args,
            AutoModelForTokenClassification,
            "TOKEN_CLS",
            run.seed,
            num_labels=len(UPOS_TAGS),
            id2label=dict(enumerate(UPOS_TAGS)),
            label2id=TAG_IDS,
            finetuning_task="pos",
        )
        return CrossLingualTrainer(
            model=model,
            args=run.training_args,
            train_dataset=train_sets.get(run.train_language),
            processing_class=tokenizer,
            data_collator=DataCollatorForTokenClassification(tokenizer, label_pad_token_id=IGNORED),
            preprocess_logits_for_metrics=predicted_labels,
        )

    def evaluate_language(trainer, language, prefix):
        sentences, windows = eval_sets[language]
        output = trainer.predict(windows, metric_key_prefix=prefix)
        tags = predicted_tags(output.predictions, windows, [len(words) for words in sentences["words"]])
        path = os.path.join(trainer.args.output_dir, f"predictions-{language}.tsv")
        write_predictions(path, sentences["words"], tags)
        scores = accuracy.compute(predictions=tags, references=sentences["tags"])
        return {**output.metrics, f"{prefix}_accuracy": scores["accuracy"]}

    return run_experiment(
        "POS (UD)", ["accuracy"], model_args, xl_args, training_args, make_trainer, evaluate_language
    )


if __name__ == "__main__":
    run_as_command(main, functools.partial(interrupted_message, parse_command_line))
