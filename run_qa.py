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
      --train_file ../shared/data/tydiqa/tydiqa.goldp.en.train.json \\
      --eval_files '../shared/data/mlqa/dev/dev-context-{lang}-question-{lang}.json' \\
      --train_language en --eval_languages en,de,es,zh --seeds 1,2,3 \\
      --do_train --do_eval --output_dir out/mlqa --save_strategy no

Translate-train on MLQA-style files named by language (split their rows with --train_rows/--eval_rows), with
code-switching (the English item is the one with the same id): --translate_train --code_switch
--train_file '.../dev-context-{lang}-question-{lang}.json'.
Hub datasets: --dataset_name mlqa (test split; trains on SQuAD, or MLQA's translate-train data), xquad
(evaluation only: add --train_dataset_name squad), tydiqa (GoldP); --train_dataset_name squad.
All options in one file: python run_qa.py args.json (or args.yaml).

Local files are SQuAD v1 JSON: {"data": [{"paragraphs": [{"context": ..., "qas": [{"id": ..., "question": ...,
"answers": [{"text": ..., "answer_start": ...}]}]}]}]}; every question needs an answer found at answer_start.
"""

import json
from collections import Counter
from dataclasses import dataclass, field

from datasets import Dataset, Features, List, Value
from transformers import AutoModelForQuestionAnswering, DataCollatorWithPadding, EvalPrediction, TrainingArguments

from weam import metrics
from trainer_qa import QuestionAnsweringTrainer
from utils_qa import postprocess_qa_predictions
from weam.finetuning import (
    CODE_SWITCH_GROUP,
    CrossLingualArguments,
    HubSplit,
    ModelArguments,
    check_arguments,
    load_hub_split,
    load_model,
    load_tokenizer,
    load_training_set,
    parse_arguments,
    run_experiment,
    setup_logging,
)

QA_FEATURES = Features(
    {
        "id": Value("string"),
        "context": Value("string"),
        "question": Value("string"),
        "answers": {"text": List(Value("string")), "answer_start": List(Value("int32"))},
        # The answer's language: MLQA's normalization depends on it.
        "language": Value("string"),
    }
)
MLQA_LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")
XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
# TyDiQA-GoldP keeps all languages in one config; an id starts with its language's name.
TYDIQA_LANGUAGE_NAMES = {
    "ar": "arabic", "bn": "bengali", "en": "english", "fi": "finnish", "id": "indonesian", "ja": "japanese",
    "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu", "th": "thai",
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
            "articles, Unicode punctuation, Chinese by characters; languages ar, de, en, es, hi, vi, zh) or "
            "'squad' (SQuAD v1.1's, English rules for every language). Default: the benchmark's official one, "
            "mlqa for local files.",
            "choices": list(metrics.ANSWER_NORMALIZATIONS),
        },
    )


def read_squad_json(path, language):
    """A SQuAD v1 JSON file as a dataset of questions; a malformed entry is an error naming where it is."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a JSON file ({error}); expected SQuAD v1 format") from error
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f'{path}: expected SQuAD v1 format, a JSON object {{"data": [articles]}}')

    def field_of(entry, key, where, kind):
        if not isinstance(entry, dict) or not isinstance(entry.get(key), kind):
            raise ValueError(f"{path}: {where} needs a {kind.__name__} {key!r} (SQuAD v1 format)")
        return entry[key]

    rows = {name: [] for name in QA_FEATURES}
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(field_of(article, "paragraphs", f"data[{a}]", list)):
            where = f"data[{a}].paragraphs[{p}]"
            context = field_of(paragraph, "context", where, str)
            for q, qa in enumerate(field_of(paragraph, "qas", where, list)):
                where_qa = f"{where}.qas[{q}]"
                answers = field_of(qa, "answers", where_qa, list)
                if not answers:
                    raise ValueError(f"{path}: {where_qa} has no answer (questions without one are not supported)")
                for answer in answers:
                    text = field_of(answer, "text", f"{where_qa}.answers", str)
                    start = field_of(answer, "answer_start", f"{where_qa}.answers", int)
                    if context[start : start + len(text)] != text:
                        raise ValueError(
                            f"{path}: {where_qa}: the answer {text!r} is not at answer_start {start} of the context "
                            f"(found {context[start : start + len(text)]!r})"
                        )
                question_id = qa.get("id")
                if not isinstance(question_id, (str, int)):
                    raise ValueError(f"{path}: {where_qa} needs an 'id' (SQuAD v1 format)")
                rows["id"].append(str(question_id))
                rows["context"].append(context)
                rows["question"].append(field_of(qa, "question", where_qa, str))
                rows["answers"].append(
                    {"text": [a["text"] for a in answers], "answer_start": [a["answer_start"] for a in answers]}
                )
                rows["language"].append(language)
    if not rows["id"]:
        raise ValueError(f"{path} holds no question")
    return Dataset.from_dict(rows, features=QA_FEATURES)


def qa_hub_split(dataset_name, language, purpose, eval_split):
    """Where `language`'s training ("train") or evaluation ("eval") data of a Hub QA benchmark are."""
    benchmark = HUB_NAMES.get(dataset_name)
    if benchmark is None:
        raise ValueError(
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
        raise ValueError(f"{benchmark} has no language {language!r}; it has {', '.join(known_languages[benchmark])}")
    if benchmark == "squad" or (benchmark == "mlqa" and purpose == "train" and language == "en"):
        # MLQA has no training set: English training data are SQuAD, which MLQA's translate-train data translate.
        return HubSplit("rajpurkar/squad", None, "train" if purpose == "train" else eval_split or "validation")
    if benchmark == "mlqa":
        if purpose == "train":
            return HubSplit("facebook/mlqa", f"mlqa-translate-train.{language}", "train")
        return HubSplit("facebook/mlqa", f"mlqa.{language}.{language}", eval_split or "test")
    if benchmark == "xquad":
        if purpose == "train":
            raise ValueError("XQuAD is an evaluation set only: train on SQuAD (--train_dataset_name squad)")
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
        raise ValueError(f"{source}: question ids must be unique to score predictions; repeated: {repeated[:5]}")


def parse_command_line(argv=None):
    """The arguments, checked: every mistake a command line can hold stops here, before anything is downloaded."""
    model_args, xl_args, qa_args, training_args = parse_arguments(
        (ModelArguments, CrossLingualArguments, QaArguments, TrainingArguments), __doc__, argv
    )
    check_arguments(xl_args, training_args)
    qa_args.answer_normalization = qa_args.answer_normalization or OFFICIAL_NORMALIZATION.get(
        HUB_NAMES.get(xl_args.dataset_name), "mlqa"
    )
    if training_args.do_eval:
        for language in xl_args.eval_languages:
            metrics.normalizer(qa_args.answer_normalization, language)  # an unknown language fails now
    return model_args, xl_args, qa_args, training_args


def main(argv=None):
    model_args, xl_args, qa_args, training_args = parse_command_line(argv)
    setup_logging(training_args)
    normalization = qa_args.answer_normalization
    tokenizer = load_tokenizer(model_args)
    if not tokenizer.is_fast:
        raise ValueError(
            "run_qa.py maps answers to tokens with offset mappings: it needs a fast tokenizer (tokenizer.json)"
        )
    max_seq_length = min(qa_args.max_seq_length, tokenizer.model_max_length)
    if qa_args.doc_stride >= max_seq_length:
        raise ValueError(
            f"--doc_stride ({qa_args.doc_stride}) must be smaller than --max_seq_length ({max_seq_length})"
        )
    windowing = {"tokenizer": tokenizer, "max_seq_length": max_seq_length, "doc_stride": qa_args.doc_stride}

    def read_hub(dataset_name, language, purpose):
        hub_split = qa_hub_split(dataset_name, language, purpose, xl_args.eval_split)
        dataset = load_hub_split(hub_split, model_args.cache_dir).select_columns(
            ["id", "context", "question", "answers"]
        )
        return dataset.add_column("language", [language] * len(dataset)).cast(QA_FEATURES)

    train_features, eval_examples, eval_features = {}, {}, {}
    if training_args.do_train:
        for language in xl_args.fine_tuning_languages:
            # Code-switching pairs a question with the English one of the same id, whose context holds its answer.
            data = load_training_set(
                xl_args, language, read_squad_json, read_hub, [("context", "answers"), ("question",)], key="id"
            )
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
            examples = source.load(language, read_squad_json, read_hub)
            check_unique_ids(examples, f"{language} evaluation data")
            eval_examples[language] = examples
            eval_features[language] = examples.map(
                prepare_eval_features,
                batched=True,
                remove_columns=examples.column_names,
                fn_kwargs=windowing,
                desc=f"Tokenizing {language} evaluation data",
            )

    def compute_metrics(eval_prediction):
        answers = [prediction["prediction_text"] for prediction in eval_prediction.predictions]
        return metrics.squad_scores(answers, eval_prediction.label_ids, normalization)

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
            references = [
                {"id": example["id"], "answers": example["answers"]["text"], "language": example["language"]}
                for example in examples
            ]
            return EvalPrediction(predictions=predictions, label_ids=references)

        return QuestionAnsweringTrainer(
            model=load_model(model_args, AutoModelForQuestionAnswering, "QUESTION_ANS", run.seed),
            args=run.training_args,
            train_dataset=train_features.get(run.train_language),
            processing_class=tokenizer,
            data_collator=DataCollatorWithPadding(tokenizer),
            post_process_function=post_process,
            compute_metrics=compute_metrics,
        )

    def evaluate_language(trainer, language, prefix):
        return trainer.evaluate(eval_features[language], eval_examples[language], metric_key_prefix=prefix)

    task = f"QA ({xl_args.dataset_name or 'local files'}, {normalization} normalization)"
    return run_experiment(
        task, ["f1", "exact_match"], model_args, xl_args, training_args, make_trainer, evaluate_language
    )


if __name__ == "__main__":
    main()
