#!/usr/bin/env python
"""Fine-tune a multilingual encoder for extractive QA and measure cross-lingual transfer (MLQA, XQuAD, TyDiQA-GoldP).

After transformers' examples/pytorch/question-answering/run_qa.py (with trainer_qa.py and utils_qa.py): long
contexts are cut into windows of --max_seq_length tokens overlapping by --doc_stride, and the answer is the
best-scoring span of at most --max_answer_length tokens among the --n_best_size best starts and ends.
Result: F1 and exact match per language with the average over all languages and over all but English,
printed and written to OUTPUT_DIR/results.{json,md} (mean ± std over --seeds); each run's model, metrics
and predictions (eval_X_predictions.json, the format the official scripts read) are in OUTPUT_DIR/seed-S[/train-X].

Zero-shot, offline: train on TyDiQA-GoldP English, evaluate on MLQA dev (context and question in one language):

  python run_qa.py --model_name_or_path WEAM_OUTPUT_DIR --trust_remote_code \\
      --train_file data/tydiqa/tydiqa.goldp.en.train.json \\
      --eval_files 'data/mlqa/dev/dev-context-{lang}-question-{lang}.json' \\
      --train_language en --eval_languages en de es zh --seeds 1 2 3 \\
      --do_train --do_eval --output_dir out/mlqa --save_strategy no

Zero-shot TyDiQA-GoldP over its 9 languages, scored with SQuAD's rules as XTREME does:

  python run_qa.py ... --eval_files 'data/tydiqa/tydiqa.goldp.{lang}.dev.json' \\
      --eval_languages en ar bn fi id ko ru sw te --answer_normalization squad ...

Translate-train on MLQA-style files named by language (split their rows with --train_rows/--eval_rows), with
code-switching (the English item is the one with the same id): --translate_train --code_switch
--train_file '.../dev-context-{lang}-question-{lang}.json'.
Hub datasets: --dataset_name mlqa (test split; trains on SQuAD, or MLQA's translate-train data), xquad
(evaluation only: add --train_dataset_name squad), tydiqa (GoldP); --train_dataset_name squad.
All options in one file: python run_qa.py args.json (or args.yaml).

Local files are SQuAD v1 JSON: {"data": [{"paragraphs": [{"context": ..., "qas": [{"id": ..., "question": ...,
"answers": [{"text": ..., "answer_start": ...}]}]}]}]}; every question needs an answer found at answer_start.
A malformed question (or one too long for a window) is an error naming it, or with --skip_invalid a counted
skip. Languages are ISO 639-1 codes.
"""

import functools
import json
from collections import Counter
from dataclasses import dataclass, field

from datasets import Dataset, Features, List, Value
from transformers import AutoModelForQuestionAnswering, DataCollatorWithPadding, EvalPrediction

from trainer_qa import QuestionAnsweringTrainer
from utils_qa import postprocess_qa_predictions
from weam import metrics
from weam.cli import RunArguments, run_as_command
from weam.finetuning import (
    CODE_SWITCH_GROUP,
    CrossLingualArguments,
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
from weam.metrics.qa.answer_scores import ANSWER_NORMALIZATIONS, MLQA_LANGUAGES, check_mlqa_language

QA_FEATURES = Features(
    {
        "id": Value("string"),
        "context": Value("string"),
        "question": Value("string"),
        "answers": {"text": List(Value("string")), "answer_start": List(Value("int32"))},
    }
)
XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
# TyDiQA-GoldP's 9 languages (TyDi QA's Japanese and Thai are not in it) keep one config; an id starts with
# its language's name.
TYDIQA_LANGUAGE_NAMES = {
    "ar": "arabic", "bn": "bengali", "en": "english", "fi": "finnish", "id": "indonesian", "ko": "korean",
    "ru": "russian", "sw": "swahili", "te": "telugu",
}  # fmt: skip
# Each benchmark's official answer normalization (XTREME scores XQuAD and TyDiQA with SQuAD's script).
OFFICIAL_NORMALIZATION = {"mlqa": "mlqa", "xquad": "squad", "tydiqa": "squad", "squad": "squad"}
HUB_NAMES = {
    "squad": "squad", "rajpurkar/squad": "squad", "mlqa": "mlqa", "facebook/mlqa": "mlqa",
    "xquad": "xquad", "google/xquad": "xquad", "tydiqa": "tydiqa", "google-research-datasets/tydiqa": "tydiqa",
}  # fmt: skip


@dataclass
class QaArguments:
    max_seq_length: int = field(
        default=384, metadata={"help": "Length in tokens of each window (question + part of the context)."}
    )
    doc_stride: int = field(
        default=128, metadata={"help": "Tokens shared by consecutive windows of a context longer than one window."}
    )
    n_best_size: int = field(
        default=20,
        metadata={
            "help": "Best start and end positions combined into candidate answers (and answers kept in the "
            "n-best files)."
        },
    )
    max_answer_length: int = field(default=30, metadata={"help": "Longest answer considered, in tokens."})
    answer_normalization: str | None = field(
        default=None,
        metadata={
            "help": "How answers are normalized before EM/F1: 'mlqa' (MLQA's official script: language-aware "
            f"articles, Unicode punctuation, Chinese by characters; languages {' '.join(MLQA_LANGUAGES)}) or "
            "'squad' (SQuAD v1.1's, English rules for every language; XQuAD's and TyDiQA-GoldP's official "
            "scoring). Default (None): the Hub benchmark's official one, mlqa for local files.",
            "choices": list(ANSWER_NORMALIZATIONS),
        },
    )


def read_squad_json(path, language=None, skip_invalid=False):
    """A SQuAD v1 JSON file as a dataset of questions. A malformed file is an error; a malformed question is an
    error naming where it is and its id (or, with `skip_invalid`, skipped and counted)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not a JSON file ({error}); expected SQuAD v1 format") from error
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError(f'{path}: expected SQuAD v1 format, a JSON object {{"data": [articles]}}')

    def field_of(entry, key, where, kind):
        if not isinstance(entry, dict) or not isinstance(entry.get(key), kind):
            raise InputError(f"{path}: {where} needs a {kind.__name__} {key!r} (SQuAD v1 format)")
        return entry[key]

    rows = {name: [] for name in QA_FEATURES}
    invalid = InvalidItems(path, skip_invalid)
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(field_of(article, "paragraphs", f"data[{a}]", list)):
            where = f"data[{a}].paragraphs[{p}]"
            context = field_of(paragraph, "context", where, str)
            for q, qa in enumerate(field_of(paragraph, "qas", where, list)):
                where_qa = f"{where}.qas[{q}]"
                if isinstance(qa, dict) and isinstance(qa.get("id"), (str, int)):
                    where_qa += f" (id {qa['id']})"
                problem = squad_question_problem(qa, context)
                if problem is not None:
                    invalid.add(where_qa, problem)
                    continue
                rows["id"].append(str(qa["id"]))
                rows["context"].append(context)
                rows["question"].append(qa["question"])
                rows["answers"].append(
                    {
                        "text": [answer["text"] for answer in qa["answers"]],
                        "answer_start": [answer["answer_start"] for answer in qa["answers"]],
                    }
                )
    invalid.report(len(rows["id"]), unit="questions")
    return Dataset.from_dict(rows, features=QA_FEATURES)


def squad_question_problem(qa, context):
    """What makes one SQuAD v1 question unusable, or None."""
    if not isinstance(qa, dict):
        return f"a question must be a JSON object, not {type(qa).__name__}"
    if not isinstance(qa.get("id"), (str, int)):
        return "needs an 'id' (SQuAD v1 format)"
    if not isinstance(qa.get("question"), str) or not qa["question"].strip():
        return "needs a non-empty 'question' text"
    answers = qa.get("answers")
    if not isinstance(answers, list) or not answers:
        return "has no answer (questions without one are not supported)"
    for answer in answers:
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            return f"each answer needs a 'text', got {answer!r}"
        if not answer["text"].strip():
            return f"an answer's text is empty ({answer!r}): a file without its gold answers cannot train or score"
        text, start = answer["text"], answer.get("answer_start")
        if not isinstance(start, int) or context[start : start + len(text)] != text:
            return f"the answer {text!r} is not at answer_start {start!r} of the context"
    return None


def qa_hub_split(dataset_name, language, purpose, eval_split):
    """Where `language`'s training ("train") or evaluation ("eval") data of a Hub QA benchmark are."""
    benchmark = HUB_NAMES.get(dataset_name)
    if benchmark is None:
        raise InputError(
            f"unknown QA dataset {dataset_name!r}: use one of {', '.join(sorted(set(HUB_NAMES.values())))}, "
            "or local files (--train_file/--eval_files)"
        )
    known_languages = {
        "squad": ("en",),
        "mlqa": MLQA_LANGUAGES,
        "xquad": XQUAD_LANGUAGES,
        "tydiqa": tuple(TYDIQA_LANGUAGE_NAMES),
    }
    if language not in known_languages[benchmark]:
        raise InputError(f"{benchmark} has no language {language!r}; it has {', '.join(known_languages[benchmark])}")
    if benchmark == "squad" or (benchmark == "mlqa" and purpose == "train" and language == "en"):
        # MLQA has no training set: English training data are SQuAD, which MLQA's translate-train data translate.
        return HubSplit("rajpurkar/squad", None, "train" if purpose == "train" else eval_split or "validation")
    if benchmark == "mlqa":
        if purpose == "train":
            return HubSplit("facebook/mlqa", f"mlqa-translate-train.{language}", "train")
        return HubSplit("facebook/mlqa", f"mlqa.{language}.{language}", eval_split or "test")
    if benchmark == "xquad":
        if purpose == "train":
            raise InputError("XQuAD is an evaluation set only: train on SQuAD (--train_dataset_name squad)")
        return HubSplit("google/xquad", f"xquad.{language}", eval_split or "validation")
    split = "train" if purpose == "train" else eval_split or "validation"
    return HubSplit(
        "google-research-datasets/tydiqa", "secondary_task", split, id_prefix=f"{TYDIQA_LANGUAGE_NAMES[language]}-"
    )


def question_comes_first(tokenizer):
    """Right-padding models read (question, context) pairs, left-padding ones (context, question)."""
    return tokenizer.padding_side == "right"


def tokenize_windows(examples, tokenizer, max_seq_length, doc_stride):
    """Windows of each (question, context): the context cut into overlapping parts, with character offsets."""
    questions = [question.lstrip() for question in examples["question"]]  # leading spaces only waste tokens
    question_first = question_comes_first(tokenizer)
    pair = (questions, examples["context"]) if question_first else (examples["context"], questions)
    return tokenizer(
        *pair,
        truncation="only_second" if question_first else "only_first",
        max_length=max_seq_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )


def prepare_train_features(examples, tokenizer, max_seq_length, doc_stride):
    """Windows labelled with the answer's first and last token, or with the CLS token if the answer is not inside."""
    windows = tokenize_windows(examples, tokenizer, max_seq_length, doc_stride)
    example_of_window = windows.pop("overflow_to_sample_mapping")
    context_index = 1 if question_comes_first(tokenizer) else 0
    windows["start_positions"], windows["end_positions"] = [], []
    for i, offsets in enumerate(windows.pop("offset_mapping")):
        input_ids = windows["input_ids"][i]
        cls_index = input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
        sequence_ids = windows.sequence_ids(i)
        answers = examples["answers"][example_of_window[i]]
        start_char = answers["answer_start"][0]
        end_char = start_char + len(answers["text"][0])
        context_start = sequence_ids.index(context_index)
        context_end = len(sequence_ids) - 1 - sequence_ids[::-1].index(context_index)
        if not (offsets[context_start][0] <= start_char and offsets[context_end][1] >= end_char):
            windows["start_positions"].append(cls_index)
            windows["end_positions"].append(cls_index)
            continue
        token_start = context_start
        while token_start <= context_end and offsets[token_start][0] <= start_char:
            token_start += 1
        token_end = context_end
        while offsets[token_end][1] >= end_char:
            token_end -= 1
        windows["start_positions"].append(token_start - 1)
        windows["end_positions"].append(token_end + 1)
    if CODE_SWITCH_GROUP in examples:  # the windows of an item stay in its code-switching group
        windows[CODE_SWITCH_GROUP] = [examples[CODE_SWITCH_GROUP][e] for e in example_of_window]
    return windows


def prepare_eval_features(examples, tokenizer, max_seq_length, doc_stride):
    """Windows that know their example, with offsets only on context tokens (answers are taken from there)."""
    windows = tokenize_windows(examples, tokenizer, max_seq_length, doc_stride)
    example_of_window = windows.pop("overflow_to_sample_mapping")
    context_index = 1 if question_comes_first(tokenizer) else 0
    windows["example_id"] = [examples["id"][e] for e in example_of_window]
    windows["offset_mapping"] = [
        [
            offset if sequence_id == context_index else None
            for offset, sequence_id in zip(offsets, windows.sequence_ids(i))
        ]
        for i, offsets in enumerate(windows["offset_mapping"])
    ]
    return windows


def check_unique_ids(examples, source):
    """Predictions are keyed by question id, as the official scripts read them: ids must not repeat."""
    repeated = [question_id for question_id, count in Counter(examples["id"]).items() if count > 1]
    if repeated:
        raise InputError(f"{source}: question ids must be unique to score predictions; repeated: {repeated[:5]}")


def drop_long_questions(examples, tokenizer, max_seq_length, doc_stride, source, skip_invalid):
    """The questions that leave a window room for more than --doc_stride context tokens (the tokenizer cannot
    cut a context into windows otherwise); a longer one is an error naming it, or with --skip_invalid skipped."""
    room = max_seq_length - tokenizer.num_special_tokens_to_add(pair=True) - doc_stride
    questions = [question.lstrip() for question in examples["question"]]
    lengths = [len(ids) for ids in tokenizer(questions, add_special_tokens=False)["input_ids"]]
    too_long = [i for i, length in enumerate(lengths) if length >= room]
    if not too_long:
        return examples
    invalid = InvalidItems(source, skip_invalid)
    for i in too_long:
        invalid.add(
            f"id {examples['id'][i]}",
            f"the question has {lengths[i]} tokens; windows of --max_seq_length {max_seq_length} with --doc_stride "
            f"{doc_stride} allow at most {room - 1} (raise --max_seq_length or lower --doc_stride)",
        )
    invalid.report(len(examples) - len(too_long), unit="questions")
    return examples.select(sorted(set(range(len(examples))) - set(too_long)))


def parse_command_line(argv=None):
    """The arguments, checked: every mistake a command line can hold stops here, before anything is downloaded."""
    model_args, xl_args, qa_args, training_args = parse_arguments(
        (ModelArguments, CrossLingualArguments, QaArguments, RunArguments), __doc__, argv
    )
    check_arguments(xl_args, training_args)
    qa_args.answer_normalization = qa_args.answer_normalization or OFFICIAL_NORMALIZATION.get(
        HUB_NAMES.get(xl_args.dataset_name), "mlqa"
    )
    if training_args.do_eval and qa_args.answer_normalization == "mlqa":
        for language in xl_args.eval_languages:
            try:  # an unknown language fails now, not after fine-tuning
                check_mlqa_language(language)
            except ValueError as error:
                raise InputError(f"--eval_languages {language}: {error}") from None
    return model_args, xl_args, qa_args, training_args


def main(argv=None):
    model_args, xl_args, qa_args, training_args = parse_command_line(argv)
    normalization = qa_args.answer_normalization
    tokenizer = start_experiment(model_args, training_args, qa_args.max_seq_length)
    if not tokenizer.is_fast:
        raise InputError(
            "run_qa.py maps answers to tokens with offset mappings: it needs a fast tokenizer (tokenizer.json)"
        )
    max_seq_length = min(qa_args.max_seq_length, tokenizer.model_max_length)
    if qa_args.doc_stride >= max_seq_length:
        raise InputError(
            f"--doc_stride ({qa_args.doc_stride}) must be smaller than --max_seq_length ({max_seq_length})"
        )
    windowing = {"tokenizer": tokenizer, "max_seq_length": max_seq_length, "doc_stride": qa_args.doc_stride}
    answer_metric = metrics.load("qa", normalization)
    read_file = functools.partial(read_squad_json, skip_invalid=xl_args.skip_invalid)

    def read_hub(dataset_name, language, purpose):
        hub_split = qa_hub_split(dataset_name, language, purpose, xl_args.eval_split)
        dataset = load_hub_split(hub_split, model_args.cache_dir)
        return dataset.select_columns(["id", "context", "question", "answers"]).cast(QA_FEATURES)

    def usable(examples, source, language):
        return drop_long_questions(
            examples, tokenizer, max_seq_length, qa_args.doc_stride, source.describe(language), xl_args.skip_invalid
        )

    train_features, eval_examples, eval_features = {}, {}, {}
    if training_args.do_train:
        for language in xl_args.fine_tuning_languages:
            # Code-switching pairs a question with the English one of the same id, whose context holds its answer.
            data = load_training_set(
                xl_args, language, read_file, read_hub, [("context", "answers"), ("question",)], key="id"
            )
            data = usable(data, xl_args.train_source(), language)
            train_features[language] = data.map(
                prepare_train_features,
                batched=True,
                remove_columns=data.column_names,
                fn_kwargs=windowing,
                desc=f"Tokenizing {language} training data",
            )
    if training_args.do_eval:
        source = xl_args.eval_source()
        for language in xl_args.eval_languages:
            examples = usable(source.load(language, read_file, read_hub), source, language)
            check_unique_ids(examples, source.describe(language))
            eval_examples[language] = examples
            eval_features[language] = examples.map(
                prepare_eval_features,
                batched=True,
                remove_columns=examples.column_names,
                fn_kwargs=windowing,
                desc=f"Tokenizing {language} evaluation data",
            )

    def score_answers(eval_prediction, language):
        answer_language = {"answer_language": language} if normalization == "mlqa" else {}
        return answer_metric.compute(
            predictions=eval_prediction.predictions, references=eval_prediction.label_ids, **answer_language
        )

    def make_trainer(run):
        def post_process(examples, features, predictions, stage):
            answers = postprocess_qa_predictions(
                examples,
                features,
                predictions,
                n_best_size=qa_args.n_best_size,
                max_answer_length=qa_args.max_answer_length,
                output_dir=run.training_args.output_dir,
                prefix=stage,
            )
            predictions = [{"id": question_id, "prediction_text": text} for question_id, text in answers.items()]
            references = [{"id": example["id"], "answers": example["answers"]} for example in examples]
            return EvalPrediction(predictions=predictions, label_ids=references)

        return QuestionAnsweringTrainer(
            model=load_model(model_args, AutoModelForQuestionAnswering, "QUESTION_ANS", run.seed),
            args=run.training_args,
            train_dataset=train_features.get(run.train_language),
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
            post_process_function=post_process,
        )

    def evaluate_language(trainer, language, prefix):
        # MLQA's normalization depends on the answers' language: each language is scored with its own.
        trainer.compute_metrics = functools.partial(score_answers, language=language)
        return trainer.evaluate(eval_features[language], eval_examples[language], metric_key_prefix=prefix)

    task = f"QA ({xl_args.dataset_name or 'local files'}, {normalization} normalization)"
    return run_experiment(
        task, ["f1", "exact_match"], model_args, xl_args, training_args, make_trainer, evaluate_language
    )


if __name__ == "__main__":
    run_as_command(main, functools.partial(interrupted_message, parse_command_line))
