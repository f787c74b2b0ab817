#!/usr/bin/env python
"""Benchmark: zero-shot cross-lingual transfer of a real pretrained multilingual encoder, end to end on a CPU.

The encoder is intfloat/multilingual-e5-small (12 layers, hidden 384, XLM-R vocabulary), which
../shared/tools/get_e5_small.py builds offline. Each part fine-tunes it on English only, through
run_xnli.py / run_qa.py / run_pos.py (their `main`), and evaluates it on other languages:

  xnli  train: English XNLI dev items 0-1999; evaluate: held-out items 2000-2489 in en, de, es, zh.
        Passes if de, es and zh accuracy beat chance (33.3%) by more than two standard errors
        (2 * sqrt(p(1-p)/n) at p = 1/3, 4.3 points for n = 490).
  qa    train: TyDiQA-GoldP English train, first 1000 questions; evaluate: MLQA dev German, all 512
        (context and question in German, MLQA's official normalization).
        Passes if F1 reaches QA_MIN_F1 (15) and twice the F1 of the same model before fine-tuning (also
        measured: a random QA head picks arbitrary short spans, a few points of F1).
  pos   train: the first POS_TRAIN_SENTENCES English EWT sentences (UD 2.16); evaluate: the first
        POS_EVAL_SENTENCES sentences of the en, de, es and zh test sets, every word tagged by its first subword.
        Passes if de, es and zh accuracy each beat the majority-tag baseline (every word tagged NOUN, the most
        frequent English tag; 28% of the Chinese words) by POS_MIN_MARGIN points. Before weam/words.py, an
        XLM-R tokenizer read Chinese words from bare "▁" pieces and zh fell to 17.4, below that baseline; the
        report gives the share of Chinese words whose first piece is a bare "▁" either way.

Sizes are chosen for a 2-core CPU (each part about 10 minutes of CPU time): one epoch of
full fine-tuning with the word embeddings frozen (--freeze_word_embeddings: the 250k x 384 matrix is 80% of the
weights, and updating it would cost more than the forward pass). The report gives wall and CPU seconds; on a
shared machine wall time grows with the load. Figures are not comparable with published full fine-tuning of
mBERT on all of MNLI/SQuAD.

usage: python benchmarks/bench_zero_shot.py [--json FILE] [--parts xnli qa pos] [--model_dir DIR] [--work_dir DIR]
  e.g. python benchmarks/bench_zero_shot.py --parts pos --json benchmarks/results/zero_shot_pos.json
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import run_pos  # noqa: E402
import run_qa  # noqa: E402
import run_xnli  # noqa: E402
from weam.words import encode_words  # noqa: E402

SHARED = REPO.parent / "shared"
DEFAULT_MODEL_DIR = Path.home() / ".cache" / "xlingual-models" / "multilingual-e5-small"

XNLI_LANGUAGES = ("en", "de", "es", "zh")
XNLI_TRANSFER_LANGUAGES = ("de", "es", "zh")
XNLI_TRAIN_ROWS, XNLI_EVAL_ROWS, XNLI_EVAL_SIZE = ":2000", "2000:", 490
CHANCE = 100 / 3
QA_TRAIN_QUESTIONS = 1000
QA_MIN_F1 = 15.0
POS_LANGUAGES = ("en", "de", "es", "zh")
POS_TRANSFER_LANGUAGES = ("de", "es", "zh")
POS_TRAIN_SENTENCES, POS_EVAL_SENTENCES = 800, 200
POS_MIN_MARGIN = 20.0

# Every run: no checkpoints or saved models, quiet logs (a loss line every 10 steps); a run redone (here or a
# study's stage) writes over its own folder's earlier one.
QUIET = [
    "--save_strategy", "no", "--no_save_fine_tuned_model", "--report_to", "none", "--overwrite_output_dir",
    "--disable_tqdm", "true", "--logging_steps", "10", "--per_device_eval_batch_size", "64",
]  # fmt: skip
# Fine-tuning: one epoch, frozen word embeddings, batches of similar lengths (less padding).
FINE_TUNING = [
    "--do_train", "--do_eval", "--num_train_epochs", "1", "--warmup_steps", "0.1", "--weight_decay", "0.01",
    "--freeze_word_embeddings", "--train_sampling_strategy", "group_by_length",
]  # fmt: skip
UDPOS = SHARED / "data" / "udpos"


def ensure_model(model_dir):
    if not (model_dir / "model.safetensors").is_file():
        subprocess.run([sys.executable, str(SHARED / "tools" / "get_e5_small.py"), str(model_dir)], check=True)
    return model_dir


def timed(main, argv):
    """`main(argv)`'s result, its wall and CPU seconds (all threads), and the machine's load (it is shared)."""
    wall, cpu = time.time(), time.process_time()
    result = main(argv)
    seconds = {"wall_seconds": round(time.time() - wall), "cpu_seconds": round(time.process_time() - cpu)}
    return result, {**seconds, "load_average_5min_at_end": os.getloadavg()[1]}


def xnli_arguments(model_dir, output_dir, seeds=(1,)):
    """run_xnli.py's arguments: fine-tune on English dev items 0-1999, evaluate items 2000-2489 (study/run_study.py uses them too)."""
    xnli_files = str(SHARED / "data" / "xnli" / "dev-{lang}.tsv")
    return [
        "--model_name_or_path", str(model_dir), "--output_dir", str(output_dir),
        "--train_file", xnli_files, "--train_rows", XNLI_TRAIN_ROWS,
        "--eval_files", xnli_files, "--eval_rows", XNLI_EVAL_ROWS,
        "--train_language", "en", "--eval_languages", *XNLI_LANGUAGES, "--max_seq_length", "128",
        "--learning_rate", "1e-4", "--per_device_train_batch_size", "32", *FINE_TUNING, *QUIET,
        "--seeds", *map(str, seeds),
    ]  # fmt: skip


def qa_arguments(model_dir, output_dir, eval_languages=("de",), seeds=(1,), train=True):
    """run_qa.py's arguments: fine-tune on the first 1000 TyDiQA-GoldP English questions (unless not `train`),
    evaluate on MLQA dev with context and question in each of `eval_languages`."""
    mlqa_files = str(SHARED / "data" / "mlqa" / "dev" / "dev-context-{lang}-question-{lang}.json")
    argv = [
        "--model_name_or_path", str(model_dir), "--output_dir", str(output_dir),
        "--eval_files", mlqa_files, "--eval_languages", *eval_languages,
        "--max_seq_length", "256", "--doc_stride", "64", "--max_answer_length", "30", *QUIET,
        "--seeds", *map(str, seeds),
    ]  # fmt: skip
    if not train:
        return [*argv, "--do_eval"]
    return [
        *argv, "--train_file", str(SHARED / "data" / "tydiqa" / "tydiqa.goldp.en.train.json"),
        "--train_rows", f":{QA_TRAIN_QUESTIONS}", "--train_language", "en",
        "--learning_rate", "2e-4", "--per_device_train_batch_size", "8", *FINE_TUNING,
    ]  # fmt: skip


def pos_arguments(model_dir, output_dir, seeds=(1,)):
    """run_pos.py's arguments: fine-tune on the first English EWT training sentences, evaluate on the first
    sentences of each test set (batches of 8: more updates from few sentences)."""
    return [
        "--model_name_or_path", str(model_dir), "--output_dir", str(output_dir),
        "--train_file", str(UDPOS / "en.train.tsv"), "--train_rows", f":{POS_TRAIN_SENTENCES}",
        "--eval_files", str(UDPOS / "{lang}.test.tsv"), "--eval_rows", f":{POS_EVAL_SENTENCES}",
        "--train_language", "en", "--eval_languages", *POS_LANGUAGES, "--max_seq_length", "128",
        "--learning_rate", "4e-4", "--per_device_train_batch_size", "8", *FINE_TUNING, *QUIET,
        "--seeds", *map(str, seeds),
    ]  # fmt: skip


def bench_xnli(model_dir, work_dir):
    argv = xnli_arguments(model_dir, work_dir / "xnli")
    results, seconds = timed(run_xnli.main, argv)
    accuracy = results["mean"]["accuracy"]
    margin = 2 * math.sqrt(CHANCE / 100 * (1 - CHANCE / 100) / XNLI_EVAL_SIZE) * 100
    return {
        "argv": argv,
        **seconds,
        "accuracy": accuracy,
        "chance": CHANCE,
        "required_above_chance": margin,
        "passed": all(accuracy[language] > CHANCE + margin for language in XNLI_TRANSFER_LANGUAGES),
    }


def bench_qa(model_dir, work_dir):
    # The same model before fine-tuning (a random QA head): what "trivial" scores on this set.
    untrained, _ = timed(run_qa.main, qa_arguments(model_dir, work_dir / "qa-untrained", train=False))
    argv = qa_arguments(model_dir, work_dir / "qa")
    results, seconds = timed(run_qa.main, argv)
    f1, untrained_f1 = results["mean"]["f1"]["de"], untrained["mean"]["f1"]["de"]
    return {
        "argv": argv,
        **seconds,
        "f1": f1,
        "exact_match": results["mean"]["exact_match"]["de"],
        "untrained_f1": untrained_f1,
        "untrained_exact_match": untrained["mean"]["exact_match"]["de"],
        "min_f1": QA_MIN_F1,
        "passed": f1 >= QA_MIN_F1 and f1 >= 2 * untrained_f1,
    }


def bench_pos(model_dir, work_dir):
    baselines = pos_baselines(model_dir)  # first: seconds, where the fine-tuning takes minutes
    argv = pos_arguments(model_dir, work_dir / "pos")
    results, seconds = timed(run_pos.main, argv)
    accuracy = results["mean"]["accuracy"]
    majority = baselines["majority_tag_baseline"]
    return {
        "argv": argv,
        **seconds,
        "accuracy": accuracy,
        **baselines,
        "min_margin": POS_MIN_MARGIN,
        "passed": all(accuracy[language] > majority[language] + POS_MIN_MARGIN for language in POS_TRANSFER_LANGUAGES),
    }


def pos_baselines(model_dir):
    """Per test subset, the accuracy of tagging every word NOUN (the most frequent English tag); and the share
    of Chinese words whose first piece is a bare "▁", with the words split for the tokenizer and as written."""
    tokenizer = run_pos.load_tokenizer(run_pos.ModelArguments(model_name_or_path=str(model_dir)))
    majority, bare_space = {}, {}
    for language in POS_LANGUAGES:
        sentences = run_pos.read_udpos_tsv(UDPOS / f"{language}.test.tsv").select(range(POS_EVAL_SENTENCES))
        words, tags = list(sentences["words"]), [tag for sentence in sentences["tags"] for tag in sentence]
        majority[language] = 100 * tags.count("NOUN") / len(tags)
        if language != "zh":
            continue
        split = tokenizer(words, is_split_into_words=True)
        split_firsts = [
            tokenizer.convert_ids_to_tokens(ids[position])
            for k, ids in enumerate(split["input_ids"])
            for position in first_positions(split.word_ids(k)).values()
        ]
        encoding, mapped = encode_words(tokenizer, words)
        written_firsts = [
            tokenizer.convert_ids_to_tokens(ids[position])
            for ids, word_tokens in zip(encoding["input_ids"], mapped)
            for position in word_tokens.first_tokens()
        ]
        bare_space = {
            "is_split_into_words": 100 * split_firsts.count("▁") / len(split_firsts),
            "as_written (weam/words.py)": 100 * written_firsts.count("▁") / len(written_firsts),
        }
    return {"majority_tag_baseline": majority, "zh_words_read_from_a_bare_space_piece_percent": bare_space}


def first_positions(word_ids):
    """Each word's first token position, from a tokenizer's `word_ids()`."""
    positions = {}
    for position, word in enumerate(word_ids):
        if word is not None:
            positions.setdefault(word, position)
    return positions


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument(
        "--parts", nargs="+", default=["xnli", "qa"], choices=["xnli", "qa", "pos"], help="parts to run (default: xnli qa)"
    )
    parser.add_argument(
        "--model_dir", type=Path, default=DEFAULT_MODEL_DIR, help="the e5-small folder (built if missing)"
    )
    parser.add_argument(
        "--work_dir", type=Path, help="where the runs write their outputs (default: a temporary folder)"
    )
    args = parser.parse_args()
    if not (SHARED / "data").is_dir():
        sys.exit(f"{SHARED} is missing: the benchmark needs its data and tools")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

    model_dir = ensure_model(args.model_dir)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="bench_zero_shot-"))
    benches = {"xnli": bench_xnli, "qa": bench_qa, "pos": bench_pos}
    report = {
        "model": "intfloat/multilingual-e5-small (via get_e5_small.py)",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}",
        "load_average_at_start": os.getloadavg(),
        "parts": {},
    }
    for part in args.parts:
        report["parts"][part] = benches[part](model_dir, work_dir)
        print(json.dumps({part: {k: v for k, v in report["parts"][part].items() if k != "argv"}}, indent=2))
    report["passed"] = all(part["passed"] for part in report["parts"].values())
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(f"benchmark {'passed' if report['passed'] else 'FAILED'}; outputs in {work_dir}")
    sys.exit(0 if report["passed"] else 1)


if __name__ == "__main__":
    main()
