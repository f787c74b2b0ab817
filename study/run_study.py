#!/usr/bin/env python
"""The toolkit's study: does any alignment objective make a real multilingual encoder transfer better?

    python study/run_study.py            # resumable; writes study/results/*.json, docs/study.md, .json, .png
    python study/run_study.py --workers 8   # independent stages at once (a GPU machine with many cores)

A powered, paired design at CPU scale (see docs/study.md for what it shows):

1. data       Parallel en-de, en-es and en-zh pairs from ../shared/data/parallel (WMT news test sets and
              TICO-19; Tatoeba is left out: the retrieval test is Tatoeba), every pair removed whose either
              side appears in an evaluation set (XNLI dev, MLQA dev, Tatoeba retrieval, the gold word
              alignments, UD POS test), kept when both sides have 10+ subwords and the pair fits
              --max_seq_length (so that every objective, PPA's length filter included, trains on the same
              pairs). A seeded sample of --pairs_per_language pairs per language pair is exactly what every
              objective sees (one epoch). WEAM's word links: eflomal on the sample with every other clean pair
              of the language pair as extra text (alignments improve with corpus size).
2. warm-up    The encoder, intfloat/multilingual-e5-small (built offline by ../shared/tools/get_e5_small.py),
              has no MLM head: WEAM's two prediction heads are trained with the encoder fixed until their
              loss stops falling (run_pretrain.py --train_heads_only), so every objective starts from the
              untouched encoder with working heads.
3. post-train MLM (the control: the same sentences, unpaired), TLM, WEAM, PPA and ALIGN-MLM from that start,
              once per --post_seeds seed, at equal budgets: the same pairs (MLM and ALIGN-MLM: their
              sentences, two per pair, so the same tokens per step), steps, learning rate and masking (30%,
              WEAM's, for every masked objective); every head predicts among the pieces the corpus holds
              (--prediction_vocabulary corpus).
4. transfer   Zero-shot POS tagging (run_pos.py, the primary task): fine-tune each model on English EWT
              once per --finetune_seeds seed, tag the German, Spanish and Chinese test sentences. Zero-shot
              XNLI (run_xnli.py) for the models of --xnli_post_seeds. Zero-shot TyDiQA-GoldP (run_qa.py) for
              the models of --tydiqa_post_seeds: fine-tune on the English GoldP training questions, score F1
              and exact match on the dev questions of English and of the 8 other languages (ar, bn, fi, id,
              ko, ru, sw, te; the comparisons average these 8). Each test item's scores (correct tags of a
              sentence; a correct label; a question's F1 and exact match) are kept, for the intervals.
5. report     Paired differences against the untouched encoder and against the MLM control, each with a 95%
              interval from a bootstrap over post-training seeds, fine-tuning seeds (paired: the same
              fine-tuning seed for both sides) and test items (paired: the same items), and the smallest
              effect the design detects (80% power, two-sided 5%).

Every finished stage writes a small JSON file into --results_dir (committed in the repository), keyed by
its settings and the keys of the stages it depends on (paths count from the repository and ../shared, not
from where they are on this machine). Run again, the study skips every stage whose file holds the same key,
so an interrupted study resumes from its last finished stage, also on a fresh machine: models are not kept
in the repository, and a model that a remaining stage needs is trained again from its recorded settings.
The scripts use a CUDA device by themselves where there is one (in bf16); the device is recorded with each
stage, not keyed: the same settings are the same stage on any machine. With --workers N, N units run at
once (each model's post-training and then its transfer stages is one unit, the untouched encoder's another),
each a thread driving its own processes; a model is built by one unit at a time. The report is written from
whatever has finished, and says what is missing.
"""

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transformers import AutoTokenizer, HfArgumentParser  # noqa: E402

from benchmarks.bench_zero_shot import DEFAULT_MODEL_DIR, FINE_TUNING, QUIET, SHARED, ensure_model  # noqa: E402
from benchmarks.bench_zero_shot import XNLI_EVAL_ROWS, XNLI_TRAIN_ROWS, xnli_arguments  # noqa: E402
from weam.cli import HelpFormatter  # noqa: E402
from weam.diagnostics import read_tatoeba  # noqa: E402
from weam.metrics.qa.answer_scores import exact_match_score, f1_score, normalize_answer_squad  # noqa: E402
from weam.objectives import OBJECTIVES  # noqa: E402
from weam.word_alignment import read_lines  # noqa: E402

PARALLEL = SHARED / "data" / "parallel"
UDPOS = SHARED / "data" / "udpos"
TYDIQA = SHARED / "data" / "tydiqa"
# Training sources per language pair: (folder, file stems, suffix of the other language's files).
SOURCES = {
    "en-de": ("de-en", ["news-test2008", "newssyscomb2009"] + [f"newstest{y}" for y in range(2009, 2019)], "deu"),
    "en-es": ("es-en", ["news-test2008", "newssyscomb2009"] + [f"newstest{y}" for y in range(2009, 2014)]
              + ["tico19-test"], "spa"),
    "en-zh": ("zh-en", [f"newstest{y}" for y in range(2017, 2021)] + ["tico19-test"], "zho"),
}
# The languages of the study's parallel data, dictionaries and retrieval test; POS and XNLI transfer to them.
TRANSFER_LANGUAGES = ("de", "es", "zh")
# TyDiQA-GoldP's languages other than English (its training language): its comparisons average them.
TYDIQA_LANGUAGES = ("ar", "bn", "fi", "id", "ko", "ru", "sw", "te")
# TyDiQA-GoldP fine-tuning, GPU-sized (a CPU takes about 30 minutes for 1000 questions): XTREME's windows,
# a learning rate for a small encoder, batches of 16, 10% warm-up (FINE_TUNING), word embeddings frozen.
TYDIQA_FINE_TUNING = {"learning_rate": 1e-4, "batch_size": 16, "max_seq_length": 384, "doc_stride": 128}
TYDIQA_EVAL_BATCH_SIZE = 128
DICTIONARIES = [SHARED / "data" / "dictionaries" / f"en-{language}.dict" for language in TRANSFER_LANGUAGES]
GOLD_TEST, GOLD_TALP = SHARED / "data" / "alignment-gold" / "test.de-en", SHARED / "data" / "alignment-gold" / "deen.talp"
UNTOUCHED = "untouched"
CONTROL = "mlm"
# PPA's own filter (weam/objectives/ppa.py): both sides at least this many subwords.
MIN_SIDE_SUBWORDS = 10
Z_95, Z_80_POWER = 1.959964, 0.841621
# Where the committed stages ran: paths in a stage's settings are keyed as if the repository and ../shared were
# there, so that a copy of the repository anywhere (another worktree, a fresh GPU machine) resumes them.
KEYED_LOCATIONS = ((REPO, "/work/main"), (SHARED, "/work/shared"))


@dataclass
class StudyArguments:
    objectives: list[str] = field(
        default_factory=lambda: ["mlm", "tlm", "weam", "ppa", "align_mlm"],
        metadata={"help": f"Objectives to compare (of {', '.join(OBJECTIVES)}); mlm is the control."},
    )
    tasks: list[str] = field(default_factory=lambda: ["udpos", "xnli", "tydiqa"],
                             metadata={"help": "Zero-shot tasks, in the order they run (udpos: the primary)."})
    post_seeds: list[int] = field(default_factory=lambda: [1, 2, 3], metadata={"help": "Post-training seeds."})
    xnli_post_seeds: list[int] = field(default_factory=lambda: [1], metadata={
        "help": "The post-training seeds whose models XNLI evaluates (XNLI costs about 3 times POS a model)."})
    tydiqa_post_seeds: list[int] | None = field(default=None, metadata={
        "help": "The post-training seeds whose models TyDiQA-GoldP evaluates (default: all of --post_seeds; on a "
                "GPU a model's three fine-tunings take minutes, on a 2-core CPU hours)."})
    finetune_seeds: list[int] = field(default_factory=lambda: [1, 2, 3], metadata={"help": "Fine-tuning seeds."})
    model_dir: Path = field(
        default=DEFAULT_MODEL_DIR, metadata={"help": "The multilingual-e5-small folder (built if missing)."}
    )
    results_dir: Path = field(default=REPO / "study" / "results",
                              metadata={"help": "Each finished stage's result (small JSON files, kept in git)."})
    work_dir: Path = field(default=REPO / "study-runs", metadata={"help": "Models, fine-tuning runs and logs."})
    docs_dir: Path = field(default=REPO / "docs", metadata={"help": "Where study.md, study.json and study.png go."})
    pairs_per_language: int = field(default=320, metadata={"help": "Training pairs per language pair (each seen once)."})
    max_seq_length: int = field(default=64, metadata={"help": "Longest pair in subwords (longer pairs are not sampled)."})
    batch_size: int = field(default=16, metadata={"help": "Pairs per post-training step."})
    learning_rate: float = field(default=1e-4, metadata={"help": "Peak learning rate of post-training."})
    warmup_head_steps: int = field(default=600, metadata={"help": "Steps of the heads-only warm-up."})
    warmup_head_learning_rate: float = field(default=1e-3, metadata={"help": "Learning rate of the warm-up."})
    ppa_queue_size: int = field(default=512, metadata={"help": "PPA's MoCo queue (the paper's 32k exceeds the "
                                                       "pairs this budget sees)."})
    pos_train_sentences: int = field(default=600, metadata={"help": "English EWT training sentences (the first N)."})
    pos_test_sentences: int = field(default=300, metadata={"help": "Test sentences per language (the first N)."})
    pos_learning_rate: float = field(default=4e-4, metadata={"help": "Fine-tuning learning rate (word embeddings "
                                                             "frozen)."})
    tydiqa_train_questions: int | None = field(default=None, metadata={
        "help": "English TyDiQA-GoldP training questions (the first N; default: all 3,696)."})
    tydiqa_eval_questions: int | None = field(default=None, metadata={
        "help": "Dev questions per language (the first N; default: all 5,077 of the 9 languages; fewer only "
                "for a quick check)."})
    tydiqa_epochs: int = field(default=2, metadata={"help": "TyDiQA-GoldP fine-tuning epochs."})
    bootstrap_samples: int = field(default=4000, metadata={"help": "Bootstrap replicates of each interval."})
    seed: int = field(default=42, metadata={"help": "Seed of the data sample and of the bootstrap."})
    workers: int = field(default=1, metadata={
        "help": "Units of work run at once: each model's post-training and then its transfer stages is one, the "
                "untouched encoder's transfer stages another. On a GPU machine, about one per 2 CPU cores: the "
                "processes share the GPU, and their tokenizing and answer extraction run on the CPU."})
    report_only: bool = field(default=False, metadata={"help": "Write the report from the finished stages; run nothing."})

    def __post_init__(self):
        if self.tydiqa_post_seeds is None:
            self.tydiqa_post_seeds = list(self.post_seeds)

    @property
    def post_steps(self):
        return self.pairs_per_language * len(SOURCES) // self.batch_size


# ----------------------------------------------------------------------------- stages


def stage_key(settings):
    """A short hash of everything that determines a stage's result (its settings and the keys of its inputs); a path
    counts by where it is in the repository or ../shared (KEYED_LOCATIONS), not by where they are on this machine."""
    text = json.dumps(settings, sort_keys=True, default=str)
    for here, keyed in KEYED_LOCATIONS:
        text = text.replace(str(here), keyed)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finished(args, name, key):
    """The stage's record if it finished with this key, else None."""
    path = args.results_dir / f"{name}.json"
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    if record["key"] != key:
        print(f"[{name}] its settings or inputs changed since {path} was written: running again", flush=True)
        return None
    return record


@functools.cache
def device():
    """What the scripts run on: a CUDA device when there is one (they take it by themselves), else the CPU."""
    return f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else f"cpu ({len(os.sched_getaffinity(0))} cores)"


def device_flags():
    """The training scripts' precision on this machine: bf16 on a CUDA device, fp32 on a CPU (not keyed: a stage's
    settings are the same on either)."""
    return ["--bf16"] if torch.cuda.is_available() else []


def to_json(record):
    """Indented JSON with each list of numbers on one line (a record holds thousands of per-item scores)."""
    text = json.dumps(record, indent=1, default=str)
    # "[" then a line break: a list, never text inside a string (where a line break is written "\\n")
    return re.sub(r"\[\n[-+\d.eE,\s]*\]", lambda numbers: json.dumps(json.loads(numbers.group())), text)


def record_stage(args, name, key, settings, seconds, result):
    args.results_dir.mkdir(parents=True, exist_ok=True)
    record = {"stage": name, "key": key, "seconds": round(seconds), "device": device(), "settings": settings,
              "result": result}
    (args.results_dir / f"{name}.json").write_text(to_json(record) + "\n")
    print(f"[{name}] done in {seconds:.0f} s: {args.results_dir / name}.json", flush=True)
    return record


@contextlib.contextmanager
def stage_lock(args, name):
    """One thread or process at a time in NAME's lock (a file in WORK_DIR/locks): two units, or the study and the
    scaling study run at once, never build the same model or run the same stage together."""
    path = args.work_dir / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def resumable(args, name, settings, run, model_path=None):
    """The record of stage NAME: the finished one if its key is the same, else the result of `run()` (of
    `run(model)`, given `model_path`, the function that builds the model the stage needs), recorded with the
    stage's own time (a model's build has its own record)."""
    key = stage_key(settings)
    with stage_lock(args, name):
        record = finished(args, name, key)
        if record is None:
            inputs = [model_path()] if model_path else []
            start = time.time()
            result = run(*inputs)
            record = record_stage(args, name, key, settings, time.time() - start, result)
    return record


def run_units(units, workers):
    """Calls each of `units` (functions), `workers` at a time, in order; the first failure cancels the units not
    started yet and is raised once the running ones have ended."""
    if workers == 1:
        for unit in units:
            unit()
        return
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(unit) for unit in units]
        for future in as_completed(futures):
            if future.exception() is not None:
                for other in futures:
                    other.cancel()
                raise future.exception()


def run_script(args, name, script, argv):
    """`script argv` in a fresh process, its output in WORK_DIR/logs/NAME.log; stops the study if it fails."""
    log_path = args.work_dir / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(REPO / script), *map(str, argv)]
    environment = dict(os.environ)
    if args.workers > 1:  # processes at once share the cores: each takes its part, not all of them
        threads = str(max(1, len(os.sched_getaffinity(0)) // args.workers))
        environment = {"OMP_NUM_THREADS": threads, "RAYON_NUM_THREADS": threads, **environment}
    print(f"[{name}] {time.strftime('%H:%M:%S')} running; log: {log_path}", flush=True)
    with open(log_path, "w") as log:
        log.write(shlex.join(command) + "\n\n")
        log.flush()
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=environment)
    if result.returncode != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-30:])
        sys.exit(f"[{name}] failed (exit {result.returncode}); the end of {log_path}:\n{tail}")


@dataclass
class Model:
    """A model the study trains: built when a stage needs it and its folder is missing or from other settings."""

    name: str
    key: str
    settings: dict
    script_argv: list
    needs: list = field(default_factory=list)  # the models it starts from
    home: Path | None = None  # the results folder of its record, whoever builds it (default: the builder's)

    def path(self, args):
        folder = args.work_dir / "models" / self.name
        with stage_lock(args, self.name):
            if (folder / "stage_key").is_file() and (folder / "stage_key").read_text() == self.key:
                return folder
            for model in self.needs:
                model.path(args)
            start = time.time()
            shutil.rmtree(folder, ignore_errors=True)  # a run stopped half-way, or one with other settings
            run_script(args, self.name, "run_pretrain.py", [*self.script_argv, *device_flags(), "--output_dir", folder])
            (folder / "stage_key").write_text(self.key)
            state = json.loads((folder / "trainer_state.json").read_text())
            losses = [{key: round(value, 4) for key, value in entry.items() if key in ("step", "loss", "mlm_loss",
                       "cross_lingual_loss", "contrastive_loss", "align_loss")} for entry in state["log_history"]
                      if "loss" in entry]
            home = replace(args, results_dir=self.home or args.results_dir)
            earlier = finished(home, self.name, self.key)
            if earlier is None:
                record_stage(home, self.name, self.key, self.settings, time.time() - start, {"losses": losses})
            else:  # built again from its recorded settings (a fresh machine): the stages done with the first build
                # keep its record, and this build is added to it
                earlier.setdefault("rebuilds", []).append(
                    {"device": device(), "seconds": round(time.time() - start), "losses": losses})
                (home.results_dir / f"{self.name}.json").write_text(to_json(earlier) + "\n")
        return folder


# ----------------------------------------------------------------------------- 1. data


def sentence_key(text):
    """What two sentences must share to count as the same: their letters and digits, lowercased
    (tokenized and untokenized copies of a sentence match)."""
    return re.sub(r"[\W_]+", "", text.lower())


def evaluation_sentences():
    """{evaluation set: keys of its sentences}: everything a post-trained model is later tested on."""
    sets = {}
    xnli = set()
    for language in ("en", *TRANSFER_LANGUAGES):
        for line in read_lines(SHARED / "data" / "xnli" / f"dev-{language}.tsv"):
            xnli.update(sentence_key(text) for text in line.split("\t")[:2])
    sets["XNLI dev"] = xnli
    sets["MLQA dev"] = squad_sentences(sorted((SHARED / "data" / "mlqa" / "dev").glob("*.json")))
    sets["Tatoeba retrieval"] = {sentence_key(sentence) for language in TRANSFER_LANGUAGES
                                 for pair in read_tatoeba(PARALLEL / "tatoeba-retrieval", language) for sentence in pair}
    sets["gold word alignments"] = {sentence_key(side) for line in read_lines(GOLD_TEST) for side in line.split("|||")}
    sets["UD POS test"] = {sentence_key(line.split("\t")[0]) for language in ("en", *TRANSFER_LANGUAGES)
                           for line in read_lines(UDPOS / f"{language}.test.tsv")}
    return {name: keys - {""} for name, keys in sets.items()}


def squad_sentences(paths):
    """Keys of the questions and context sentences of SQuAD-format files (contexts are compared sentence by sentence)."""
    keys = set()
    for path in paths:
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                keys.update(map(sentence_key, re.split(r"(?<=[.!?。！？।؟])\s*", paragraph["context"])))
                keys.update(sentence_key(qa["question"]) for qa in paragraph["qas"])
    return keys - {""}


def tydiqa_dev_sentences():
    """{"TyDiQA-GoldP dev": keys of the questions and context sentences of its 9 dev sets} (not among the study's
    evaluation sets: its data stage ran before TyDiQA-GoldP could)."""
    return {"TyDiQA-GoldP dev": squad_sentences(sorted(TYDIQA.glob("tydiqa.goldp.*.dev.json")))}


def clean_pairs(pair, held_out, tokenizer, max_seq_length, sources=None, min_side_subwords=MIN_SIDE_SUBWORDS):
    """The usable pairs of one language pair of `sources` (default SOURCES: {pair: (folder, file stems, suffix of the
    other language's files)}), and how many of the read pairs went where; usable: both sides `min_side_subwords`+
    subwords, the pair `max_seq_length` at most."""
    folder, stems, suffix = (sources or SOURCES)[pair]
    pairs = {}
    counts = {"read": 0, "duplicate": 0, "empty or over 400 characters": 0, **{f"in {name}": 0 for name in held_out}}
    for stem in stems:
        english = read_lines(PARALLEL / folder / f"{stem}.eng")
        other = read_lines(PARALLEL / folder / f"{stem}.{suffix}")
        if len(english) != len(other):
            sys.exit(f"{PARALLEL / folder / stem}.*: {len(english)} English lines but {len(other)} {suffix} lines")
        for source, target in zip(english, other):
            counts["read"] += 1
            source, target = source.strip(), target.strip()
            keys = (sentence_key(source), sentence_key(target))
            overlap = [name for name, sentences in held_out.items() if keys[0] in sentences or keys[1] in sentences]
            if overlap:
                counts[f"in {overlap[0]}"] += 1
            elif not all(keys) or max(len(source), len(target)) > 400:
                counts["empty or over 400 characters"] += 1
            elif keys in pairs:
                counts["duplicate"] += 1
            else:
                pairs[keys] = (source, target)
    pairs = list(pairs.values())
    counts["clean"] = len(pairs)
    if tokenizer is None:
        return pairs, pairs, counts
    sides = [tokenizer([pair[index] for pair in pairs], add_special_tokens=False)["input_ids"] for index in (0, 1)]
    fits = [pair for pair, source, target in zip(pairs, *sides) if min(len(source), len(target)) >= min_side_subwords
            and len(source) + len(target) + 3 <= max_seq_length]
    counts[f"of them {min_side_subwords}+ subwords a side, <= {max_seq_length} a pair"] = len(fits)
    return pairs, fits, counts


def align_sample(args, name, pair, sample, extra, folder, extra_folder, links):
    """FOLDER/PAIR.{en,xx}: the `sample` pairs, EXTRA_FOLDER/PAIR.extra.{en,xx}: the `extra` pairs, and LINKS:
    eflomal's word links of the sample, with the extra pairs as more text (alignments improve with corpus size)."""
    language = pair[3:]
    files = {}
    for prefix, rows, where in (("", sample, folder), ("extra.", extra, extra_folder)):
        where.mkdir(parents=True, exist_ok=True)
        for index, side in enumerate(("en", language)):
            files[prefix + side] = where / f"{pair}.{prefix}{side}"
            files[prefix + side].write_text("".join(f"{row[index]}\n" for row in rows), encoding="utf-8")
    run_script(args, name, "align_words.py", ["--src", files["en"], "--tgt", files[language], "--output", links,
                                              "--extra_src", files["extra.en"], "--extra_tgt", files[f"extra.{language}"]])


def prepare_data(args, tokenizer):
    """RESULTS_DIR/data/en-xx.{en,xx,align}: the sampled pairs and their eflomal links. Returns the data key."""
    data_dir = args.results_dir / "data"
    settings = {"pairs_per_language": args.pairs_per_language, "max_seq_length": args.max_seq_length,
                "seed": args.seed, "tokenizer": "multilingual-e5-small", "aligner": "eflomal grow-diag-final-and"}
    key = stage_key(settings)
    if finished(args, "data", key) is None:
        start = time.time()
        data_dir.mkdir(parents=True, exist_ok=True)
        held_out = evaluation_sentences()
        report = {}
        for pair in SOURCES:
            pool, fits, counts = clean_pairs(pair, held_out, tokenizer, args.max_seq_length)
            if len(fits) < args.pairs_per_language:
                sys.exit(f"{pair}: only {len(fits)} pairs fit, fewer than --pairs_per_language {args.pairs_per_language}")
            sample = random.Random(args.seed).sample(fits, args.pairs_per_language)
            sampled = set(sample)
            extra = [p for p in pool if p not in sampled]
            align_sample(args, f"align-{pair}", pair, sample, extra, data_dir, args.work_dir / "data",
                         data_dir / f"{pair}.align")
            report[pair] = {**counts, "sampled": len(sample), "extra text for eflomal": len(extra)}
            print(f"[data] {pair}: {report[pair]}", flush=True)
        record_stage(args, "data", key, settings, time.time() - start, report)
    # the files' contents key what follows (eflomal cannot be seeded: new links are new inputs)
    digest = hashlib.sha256()
    for path in sorted(data_dir.glob("en-*")):  # the pairs and links, not the README beside them
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def corpus_specs(args, with_alignments):
    data = args.results_dir / "data"
    return [f"{pair}={data / pair}.en,{data / pair}.{pair[3:]}" + (f",{data / pair}.align" if with_alignments else "")
            for pair in SOURCES]


# ----------------------------------------------------------------------------- 2-3. models


def pretrain_argv(args, objective, steps, batch_size, learning_rate, seed, corpora=None):
    """run_pretrain.py's arguments shared by the warm-up and post-training (everything but the start and output);
    `corpora`: --train_data specs other than the study's sample."""
    corpora = corpora or corpus_specs(args, OBJECTIVES[objective].needs_alignment)
    argv = [
        "--objective", objective, "--train_data", *corpora,
        "--max_seq_length", args.max_seq_length, "--validation_pairs", 0, "--max_steps", steps,
        "--per_device_train_batch_size", batch_size, "--learning_rate", learning_rate, "--warmup_steps", 0.1,
        "--weight_decay", 0, "--mlm_probability", 0.3, "--prediction_vocabulary", "corpus",
        "--save_strategy", "no", "--logging_steps", 5, "--report_to", "none", "--disable_tqdm", "true", "--seed", seed,
    ]  # fmt: skip
    if OBJECTIVES[objective].model_class == "PpaForPreTraining":
        argv += ["--config_overrides", f"ppa_queue_size={args.ppa_queue_size}"]
    if OBJECTIVES[objective].uses_dictionary_loss:
        argv += ["--dictionaries", *DICTIONARIES]
    if OBJECTIVES[objective].trains_an_aligner:  # e5-small's layer and threshold (benchmarks/results/alignment-awesome-*)
        argv += ["--alignment_layer", 7, "--alignment_threshold", 0.1]
    return argv


def study_models(args, data_key):
    """The warm-up and every post-trained model, keyed by their settings (nothing is trained here)."""
    warm_argv = [*pretrain_argv(args, "weam", args.warmup_head_steps, args.batch_size, args.warmup_head_learning_rate,
                                args.seed), "--train_heads_only", "true"]
    settings = {"argv": [str(a) for a in warm_argv], "start": "multilingual-e5-small", "data": data_key}
    # the study's stage, also when the scaling studies build it
    warm = Model("warm-up", stage_key(settings), settings, ["--model_name_or_path", args.model_dir, *warm_argv],
                 home=args.results_dir)
    models = {f"{objective}-seed{seed}": post_trained(args, warm, objective, seed, f"{objective}-seed{seed}")
              for seed in args.post_seeds for objective in args.objectives}
    return warm, models


def post_trained(args, warm, objective, seed, name, corpora=None, data_key=None, steps=None):
    """The model `objective` post-trains from the warm-up: `steps` (default --post_steps) steps of --batch_size pairs
    of `corpora` (default: the study's sample; `data_key`: the digest of other corpora's files)."""
    # single-sentence objectives take both sentences of each pair: the same tokens per step
    batch = args.batch_size * (2 if OBJECTIVES[objective].examples == "sentences" else 1)
    argv = pretrain_argv(args, objective, steps or args.post_steps, batch, args.learning_rate, seed, corpora)
    settings = {"argv": [str(a) for a in argv], "start": warm.key, **({"data": data_key} if data_key else {})}
    return Model(name, stage_key(settings), settings,
                 ["--model_name_or_path", args.work_dir / "models" / warm.name, *argv], [warm])


# ----------------------------------------------------------------------------- 4. zero-shot transfer


def pos_gold(language, count):
    """The first `count` test sentences of a language: their gold tags, one list per sentence."""
    return [line.split("\t")[1].split(" ") for line in read_lines(UDPOS / f"{language}.test.tsv")[:count]]


def correct_tags(predictions_path, gold):
    """Per sentence, how many words run_pos.py tagged as the gold says."""
    predicted = [line.split("\t")[1].split(" ") for line in read_lines(predictions_path)]
    if len(predicted) != len(gold) or any(len(p) != len(g) for p, g in zip(predicted, gold)):
        sys.exit(f"{predictions_path}: its sentences do not line up with the gold test sentences")
    return [sum(p == g for p, g in zip(tags, gold_tags)) for tags, gold_tags in zip(predicted, gold)]


def udpos_run(args, model, output_dir):
    """run_pos.py's arguments, and a reader of its items: words per sentence, correct tags per sentence."""
    argv = [
        "--model_name_or_path", model, "--output_dir", output_dir,
        "--train_file", UDPOS / "en.train.tsv", "--train_rows", f":{args.pos_train_sentences}",
        "--eval_files", str(UDPOS / "{lang}.test.tsv"), "--eval_rows", f":{args.pos_test_sentences}",
        "--train_language", "en", "--eval_languages", *TRANSFER_LANGUAGES, "--max_seq_length", 128,
        "--learning_rate", args.pos_learning_rate, "--per_device_train_batch_size", 16, *FINE_TUNING, *QUIET,
        "--seeds", *args.finetune_seeds,
    ]  # fmt: skip

    def items(run_dir, language):
        gold = pos_gold(language, args.pos_test_sentences)
        return {"words": [len(tags) for tags in gold], "correct": correct_tags(run_dir / f"predictions-{language}.tsv", gold)}

    return argv, items


def xnli_run(args, model, output_dir):
    """run_xnli.py's arguments (benchmarks/bench_zero_shot.py's sizes), and a reader of its items (1 each, 0/1 correct)."""
    argv = xnli_arguments(model, output_dir, args.finetune_seeds)

    def items(run_dir, language):
        gold = [line.split("\t")[2] for line in read_lines(SHARED / "data" / "xnli" / f"dev-{language}.tsv")]
        gold = gold[int(XNLI_EVAL_ROWS.rstrip(":")):]
        predicted = read_lines(run_dir / f"predictions-{language}.txt")
        if len(predicted) != len(gold):
            sys.exit(f"{run_dir / f'predictions-{language}.txt'}: {len(predicted)} predictions for {len(gold)} items")
        return {"words": [1] * len(gold), "correct": [int(p == g) for p, g in zip(predicted, gold)]}

    return argv, items


def tydiqa_gold(language, count=None):
    """(id, gold answer texts) of the first `count` (None: all) TyDiQA-GoldP dev questions of `language`, in the
    file's order (run_qa.py's)."""
    data = json.loads((TYDIQA / f"tydiqa.goldp.{language}.dev.json").read_text(encoding="utf-8"))["data"]
    return [(qa["id"], [answer["text"] for answer in qa["answers"]]) for article in data
            for paragraph in article["paragraphs"] for qa in paragraph["qas"]][:count]


def answer_items(run_dir, language, gold):
    """Per question of `gold` ((id, answers)), the F1 (0-1, 4 decimals) and exact match (0/1) of run_qa.py's answer
    in RUN_DIR against the best gold answer, with SQuAD v1.1's normalization (TyDiQA-GoldP's official scoring, as
    XTREME's); checked against the F1 run_qa.py reported."""
    path = run_dir / f"eval_{language}_predictions.json"
    predicted = json.loads(path.read_text(encoding="utf-8"))
    if len(predicted) != len(gold) or any(question not in predicted for question, _ in gold):
        sys.exit(f"{path}: its {len(predicted)} answers are not those of the {len(gold)} dev questions")
    f1 = [round(max(f1_score(predicted[question], answer, normalize_answer_squad) for answer in answers), 4)
          for question, answers in gold]
    exact = [int(max(exact_match_score(predicted[question], answer, normalize_answer_squad) for answer in answers))
             for question, answers in gold]
    reported = json.loads((run_dir / f"eval_{language}_results.json").read_text())[f"eval_{language}_f1"]
    if abs(100 * np.mean(f1) - reported) > 0.01:
        sys.exit(f"{path}: F1 {100 * np.mean(f1):.3f} from the answers, but run_qa.py reported {reported:.3f}")
    return {"words": [1] * len(gold), "correct": f1, "exact_match": exact}


def tydiqa_run(args, model, output_dir):
    """run_qa.py's arguments (TYDIQA_FINE_TUNING; all fine-tuning seeds in one process, so the data are tokenized
    once), and a reader of its items: a question each (weight 1), its F1 as "correct", and its exact match."""
    settings = TYDIQA_FINE_TUNING
    train_rows = ["--train_rows", f":{args.tydiqa_train_questions}"] if args.tydiqa_train_questions else []
    eval_rows = ["--eval_rows", f":{args.tydiqa_eval_questions}"] if args.tydiqa_eval_questions else []
    argv = [
        "--model_name_or_path", model, "--output_dir", output_dir,
        "--train_file", TYDIQA / "tydiqa.goldp.en.train.json", *train_rows,
        "--eval_files", str(TYDIQA / "tydiqa.goldp.{lang}.dev.json"), *eval_rows,
        "--train_language", "en", "--eval_languages", "en", *TYDIQA_LANGUAGES,
        "--answer_normalization", "squad", "--max_seq_length", settings["max_seq_length"],
        "--doc_stride", settings["doc_stride"], "--learning_rate", settings["learning_rate"],
        "--per_device_train_batch_size", settings["batch_size"], *FINE_TUNING, *QUIET,
        # after FINE_TUNING's and QUIET's values: the last one counts
        "--num_train_epochs", args.tydiqa_epochs, "--per_device_eval_batch_size", TYDIQA_EVAL_BATCH_SIZE,
        "--seeds", *args.finetune_seeds,
    ]  # fmt: skip

    def items(run_dir, language):
        return answer_items(run_dir, language, tydiqa_gold(language, args.tydiqa_eval_questions))

    return argv, items


@dataclass(frozen=True)
class Task:
    """A zero-shot task: its script, its run and what its records keep."""

    script: str
    make_run: Callable  # (args, model folder, output folder) -> (the script's arguments, the items reader)
    title: str  # the caption of its table in the report
    languages: tuple  # the zero-shot languages: its comparisons and "avg" average them
    tabled: tuple  # the languages its records keep and its tables show
    measures: dict  # {record field: what it is} of each item's scores; the first ("correct") is compared


TASKS = {
    "udpos": Task("run_pos.py", udpos_run, "**Zero-shot POS tagging** (fine-tuned on English EWT only; word accuracy "
                  "on the German GSD, Spanish GSD and Chinese GSDSimp test sentences", TRANSFER_LANGUAGES,
                  TRANSFER_LANGUAGES, {"correct": "word accuracy"}),
    "xnli": Task("run_xnli.py", xnli_run, "**Zero-shot XNLI** (fine-tuned on English XNLI dev items 0-1999; accuracy "
                 "on items 2000-2489", TRANSFER_LANGUAGES, TRANSFER_LANGUAGES, {"correct": "accuracy"}),
    "tydiqa": Task("run_qa.py", tydiqa_run, "**Zero-shot TyDiQA-GoldP** (fine-tuned on English GoldP training "
                   "questions only; F1 on each language's dev questions, SQuAD v1.1's scoring; avg: the 8 languages other "
                   "than English", TYDIQA_LANGUAGES, ("en", *TYDIQA_LANGUAGES),
                   {"correct": "F1", "exact_match": "exact match"}),
}


def task_settings(args, task, model_key):
    if task == "udpos":
        return {"model": model_key, "seeds": args.finetune_seeds, "train": args.pos_train_sentences,
                "test": args.pos_test_sentences, "learning_rate": args.pos_learning_rate}
    if task == "tydiqa":
        return {"task": task, "model": model_key, "seeds": args.finetune_seeds, "train": args.tydiqa_train_questions,
                "test": args.tydiqa_eval_questions, "epochs": args.tydiqa_epochs, **TYDIQA_FINE_TUNING}
    return {"task": task, "model": model_key, "seeds": args.finetune_seeds, "sizes": [XNLI_TRAIN_ROWS, XNLI_EVAL_ROWS]}


def run_transfer(args, task, name, model_key, model_path):
    """Zero-shot `task` for one model, once per fine-tuning seed; the record keeps each test item's scores:
    {language: {"words": [...], "correct": {seed: [...]}, (TyDiQA-GoldP) "exact_match": {seed: [...]}}}."""
    spec = TASKS[task]
    output_dir = args.work_dir / task / name

    def run(model):
        argv, items = spec.make_run(args, model, output_dir)
        run_script(args, f"{task}-{name}", spec.script, [*argv, *device_flags()])
        result = {}
        for language in spec.tabled:
            by_seed = {str(seed): items(output_dir / f"seed-{seed}", language) for seed in args.finetune_seeds}
            result[language] = {"words": by_seed[str(args.finetune_seeds[0])]["words"],
                                **{measure: {seed: scores[measure] for seed, scores in by_seed.items()}
                                   for measure in spec.measures}}
        return result

    return resumable(args, f"{task}-{name}", task_settings(args, task, model_key), run, model_path)


def run_diagnostics(args, name, model_key, model_path):
    """run_alignment_eval.py on one model (no fine-tuning): dictionary P@1, Tatoeba retrieval, AER on test.de-en."""
    output_dir = args.work_dir / "diagnostics" / name

    def run(model):
        run_script(args, f"diagnostics-{name}", "run_alignment_eval.py", [
            "--model", model, "--output_dir", output_dir, "--dictionary", *DICTIONARIES,
            "--tatoeba_dir", PARALLEL / "tatoeba-retrieval", "--tatoeba_languages", *TRANSFER_LANGUAGES,
            "--gold_alignments", f"{GOLD_TEST}:{GOLD_TALP}", "--seed", args.seed,
        ])  # fmt: skip
        metrics = json.loads((output_dir / "alignment_eval.json").read_text())["metrics"]

        def mean_of(pattern):
            return round(float(np.mean([row["model"] for metric, row in metrics.items()
                                        if re.fullmatch(pattern, metric)])), 2)

        return {"dictionary P@1, input embeddings": mean_of(r"dictionary/.*/input/p@1"),
                "dictionary P@1, layer 8": mean_of(r"dictionary/.*/layer8/p@1"),
                "Tatoeba retrieval": round(metrics["tatoeba/avg"]["model"], 2),
                "AER test.de-en (lower is better)": mean_of(r"alignment/.*/aer")}

    return resumable(args, f"diagnostics-{name}", {"model": model_key, "seed": args.seed}, run, model_path)


# ----------------------------------------------------------------------------- 5. statistics


def accuracy_table(record, seeds, languages):
    """(correct, words) arrays of one model's record over `languages`: correct has shape (seeds, sentences), the
    languages' sentences in order, words (sentences,); and each sentence's language index."""
    correct = np.array([sum((record[lang]["correct"][str(s)] for lang in languages), []) for s in seeds])
    words = np.array(sum((record[lang]["words"] for lang in languages), []))
    language_of = np.concatenate([np.full(len(record[lang]["words"]), i) for i, lang in enumerate(languages)])
    return correct, words, language_of


def mean_accuracy(correct, words, languages, weights):
    """Average over languages of word accuracy, for every row of `correct` (..., sentences) and every row of
    sentence `weights` (replicates, sentences): shape (..., replicates)."""
    per_language = []
    for index in np.unique(languages):
        in_language = languages == index
        hits = correct[..., in_language] @ weights[:, in_language].T
        per_language.append(100 * hits / (weights[:, in_language] @ words[in_language]))
    return np.mean(per_language, axis=0)


def paired_comparison(objective_runs, baseline_runs, words, languages, samples, seed):
    """Δ = mean accuracy of the objective − that of the baseline (points), with a 95% bootstrap interval.

    `objective_runs`, `baseline_runs`: correct counts of shape (post seeds, fine-tuning seeds, sentences); the
    untouched encoder has one "post seed". Each replicate draws the post-training seeds of each side with
    replacement (independently: different models), the fine-tuning seeds with replacement (the same draw for
    both sides: a fine-tuning seed fixes the task head's start and the data order), and the test sentences with
    replacement within each language (the same draw for both sides). Returns (Δ, (low, high), standard error)."""
    rng = np.random.default_rng(seed)
    full = np.ones((1, len(words)))
    delta = (mean_accuracy(objective_runs, words, languages, full).mean()
             - mean_accuracy(baseline_runs, words, languages, full).mean())
    weights = np.zeros((samples, len(words)))
    for index in np.unique(languages):
        members = np.flatnonzero(languages == index)
        draws = rng.choice(members, size=(samples, len(members)))
        np.add.at(weights, (np.arange(samples)[:, None], draws), 1)
    finetune = rng.integers(objective_runs.shape[1], size=(samples, objective_runs.shape[1]))

    def side(runs):
        post = rng.integers(runs.shape[0], size=(samples, runs.shape[0]))
        accuracy = mean_accuracy(runs, words, languages, weights)  # (post, finetune, replicates)
        replicate = np.arange(samples)
        return np.mean([accuracy[post[:, i], finetune[:, j], replicate] for i in range(runs.shape[0])
                        for j in range(runs.shape[1])], axis=0)

    deltas = side(objective_runs) - side(baseline_runs)
    low, high = np.percentile(deltas, [2.5, 97.5])
    return float(delta), (float(low), float(high)), float(deltas.std(ddof=1))


def post_seeds_of(args, task):
    return {"udpos": args.post_seeds, "xnli": args.xnli_post_seeds, "tydiqa": args.tydiqa_post_seeds}[task]


def paired_difference(args, records, baseline_records, languages):
    """{"delta", "ci95", "minimum_detectable_effect"} (points) of the mean score over `languages`: the runs of
    `records` (one per post-training seed) against those of `baseline_records`, by `paired_comparison`."""
    seeds = args.finetune_seeds
    runs = [np.array([accuracy_table(record, seeds, languages)[0] for record in group])
            for group in (records, baseline_records)]
    _, words, language_of = accuracy_table(records[0], seeds, languages)
    return difference_entry(*runs, words, language_of, args.bootstrap_samples, args.seed)


def difference_entry(objective_runs, baseline_runs, words, languages, samples, seed):
    """`paired_comparison` as a report entry: {"delta", "ci95", "minimum_detectable_effect"} (points, rounded)."""
    delta, ci95, error = paired_comparison(objective_runs, baseline_runs, words, languages, samples, seed)
    return {"delta": round(delta, 2), "ci95": [round(ci95[0], 2), round(ci95[1], 2)],
            "minimum_detectable_effect": round((Z_95 + Z_80_POWER) * error, 2)}


def comparisons(args, records):
    """One entry per (objective, baseline, task), from the finished records {task: {model run: record}}."""
    entries = []
    for task, task_records in records.items():
        if UNTOUCHED not in task_records:
            continue
        runs = {UNTOUCHED: [task_records[UNTOUCHED]]}
        for objective in args.objectives:
            names = [f"{objective}-seed{s}" for s in post_seeds_of(args, task) if f"{objective}-seed{s}" in task_records]
            if names:
                runs[objective] = [task_records[name] for name in names]
        languages = TASKS[task].languages
        for objective in (o for o in args.objectives if o in runs):
            for baseline in (UNTOUCHED, CONTROL):
                if baseline == objective or baseline not in runs:
                    continue
                entries.append({
                    "objective": objective, "baseline": baseline, "task": task,
                    "metric": f"{next(iter(TASKS[task].measures.values()))}, mean of {', '.join(languages)} "
                              "(zero-shot from English)",
                    **paired_difference(args, runs[objective], runs[baseline], languages),
                    "n_post_seeds": len(runs[objective]), "n_finetune_seeds": len(args.finetune_seeds),
                })
    return entries


def run_scores(found, seeds, languages, measure="correct", tabled=()):
    """{language, "avg": (mean, std over runs), "runs": count} of one model's records (post-training seeds) under
    the fine-tuning `seeds`: the score `measure` of each language of `tabled` (default: `languages`), and its
    average over `languages`."""
    scores = {lang: [100 * sum(r[lang][measure][str(s)]) / sum(r[lang]["words"]) for r in found for s in seeds]
              for lang in tabled or languages}
    scores["avg"] = list(np.mean([scores[lang] for lang in languages], axis=0))
    summary = {column: (float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0)
               for column, values in scores.items()}
    return {**summary, "runs": len(found) * len(seeds)}


def model_scores(args, task, task_records, measure="correct"):
    """{model: {language: (mean, std over runs)}} of every model with finished runs (post x fine-tuning seeds)."""
    groups = {UNTOUCHED: [UNTOUCHED],
              **{o: [f"{o}-seed{s}" for s in post_seeds_of(args, task)] for o in args.objectives}}
    found = {model: [task_records[name] for name in names if name in task_records] for model, names in groups.items()}
    spec = TASKS[task]
    return {model: run_scores(runs, args.finetune_seeds, spec.languages, measure, spec.tabled)
            for model, runs in found.items() if runs}


def read_records(results_dir, task, names=None):
    """{model run: result} of `task`'s finished stages in `results_dir`: those of `names`, or all."""
    paths = ([results_dir / f"{task}-{name}.json" for name in names] if names is not None
             else sorted(results_dir.glob(f"{task}-*.json")))
    return {path.stem.removeprefix(f"{task}-"): json.loads(path.read_text())["result"] for path in paths
            if path.exists()}


# ----------------------------------------------------------------------------- report


def verdict(entry):
    low, high = entry["ci95"]
    if low > 0:
        return "above"
    if high < 0:
        return "below"
    return "not distinguishable"


def stage_time(stage_records):
    """({device: seconds} summed over the finished stages, and the words for it). Records written before devices
    were recorded ran on this project's 2-core CPUs; with --workers the summed stages overlapped in time."""
    seconds = {}
    for record in stage_records:
        where = record.get("device", "cpu (2 cores)")
        seconds[where] = seconds.get(where, 0) + record["seconds"]
    words = " and ".join(f"{total / 60:.0f} minutes on {where}" for where, total in seconds.items())
    return seconds, words or "no time"


def comma_seeds(seeds):
    return ", ".join(map(str, seeds))


def tydiqa_summary(args, entries, scores):
    """Words on the TyDiQA-GoldP comparisons: what they show, and what they cannot."""
    found = [e for e in entries if e["task"] == "tydiqa"]
    if not found or UNTOUCHED not in scores.get("tydiqa", {}):
        return []
    f1, exact = scores["tydiqa"][UNTOUCHED], scores["tydiqa_exact_match"][UNTOUCHED]

    def versus(baseline):
        return "; ".join(f"{e['objective']} {e['delta']:+.2f} [{e['ci95'][0]:+.2f}, {e['ci95'][1]:+.2f}]"
                         for e in found if e["baseline"] == baseline) or "not run"

    shown = [f"{e['objective']} vs {e['baseline']} ({verdict(e)} zero)" for e in found if verdict(e) != "not distinguishable"]
    mdes = [e["minimum_detectable_effect"] for e in found]
    return ["", f"**TyDiQA-GoldP** (F1, mean of {', '.join(TYDIQA_LANGUAGES)}): the untouched encoder scores "
            f"{f1['avg'][0]:.2f} (exact match {exact['avg'][0]:.2f}; English {f1['en'][0]:.2f}). Against it: "
            f"{versus(UNTOUCHED)}. Against MLM: {versus(CONTROL)}. "
            + (f"Intervals that exclude zero: {', '.join(shown)}. " if shown else "Every interval includes zero. ")
            + f"The design detects {min(mdes):.2f}-{max(mdes):.2f} F1 points (MDE). What this does not show: the "
            "objectives' parallel data are en-de, en-es and en-zh, none in TyDiQA-GoldP's languages, so these rows ask "
            "whether alignment learned on other languages carries over to them (docs/scaling.md post-trains WEAM on "
            "their own parallel data); and the English training set is GoldP's 3,696 questions, not SQuAD's 88k as "
            "in XTREME, so the F1 is far below published figures and not comparable with them."]


def write_report(args, command, records, warm_record):
    """docs/study.md, study.json and study.png from the finished stages; `records`: {task: {model run: record}}."""
    entries = comparisons(args, records)
    stage_records = [json.loads(path.read_text()) for path in sorted(args.results_dir.glob("*.json"))]
    seconds_by_device, time_words = stage_time(stage_records)
    expected = {task: 1 + len(args.objectives) * len(post_seeds_of(args, task)) for task in args.tasks}
    missing = {task: expected[task] - len(records.get(task, {})) for task in args.tasks}
    lines = [
        "# Study: do the alignment objectives make multilingual-e5-small transfer better?",
        "",
        f"Produced by `{command}` ({time.strftime('%Y-%m-%d')}); the finished stages took {time_words}, each "
        "stage's wall time summed (each stage's time and device are in its file in `study/results/`). Finished: "
        + ", ".join(f"{task} for {expected[task] - missing[task]} of the {expected[task]} models" for task in args.tasks)
        + (" (the rest have not run yet: `python study/run_study.py` resumes)." if any(missing.values()) else "."),
    ]
    scores = {}
    for task in args.tasks:
        spec = TASKS[task]
        for index, (measure, name) in enumerate(spec.measures.items()):
            found = model_scores(args, task, records.get(task, {}), measure)
            if not found:
                continue
            scores[task if index == 0 else f"{task}_{measure}"] = found
            lines += [
                "",
                spec.title + "; mean ± std over runs = post-training seeds × fine-tuning seeds):" if index == 0
                else f"The same runs' {name}:",
                "",
                "| model | runs | " + " | ".join(spec.tabled) + " | avg |",
                "|---|---:|" + "---:|" * (len(spec.tabled) + 1),
            ]
            lines += [f"| {model} | {s['runs']} | " + " | ".join(f"{s[c][0]:.2f} ± {s[c][1]:.2f}" for c in
                                                                 (*spec.tabled, "avg")) + " |"
                      for model, s in found.items()]
    diagnostics = {path.stem.removeprefix("diagnostics-"): json.loads(path.read_text())["result"]
                   for path in sorted(args.results_dir.glob("diagnostics-*.json"))}
    if diagnostics:
        columns = list(next(iter(diagnostics.values())))
        lines += ["", f"**Alignment diagnostics** (no fine-tuning; post-training seed {args.post_seeds[0]} only: one "
                  "seed; dictionary P@1: mean of en-de, en-es, en-zh, MUSE held-out words; Tatoeba: deu, spa, cmn, both "
                  "directions; AER: the model's layer-8 argmax alignments):", "",
                  "| model | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
        lines += [f"| {name} | " + " | ".join(f"{row[c]:.1f}" for c in columns) + " |" for name, row in diagnostics.items()]
    averaged = "; ".join(f"{task}: {', '.join(TASKS[task].languages)}" for task in args.tasks)
    lines += [
        "",
        f"**Paired differences** (points of the average over each task's zero-shot languages ({averaged}); 95% "
        "interval from a bootstrap over "
        "post-training seeds, fine-tuning seeds and test items; MDE: the smallest true difference this design "
        "detects with 80% power at the 5% level, 2.8 standard errors; with 3 seeds the bootstrap's seed part is the "
        "plug-in estimate, which understates the seed part of the standard error by about a fifth (√(2/3)), so read an "
        "interval that just misses "
        "zero as borderline):",
        "",
        "| task | objective | baseline | Δ | 95% interval | MDE | post seeds × fine-tuning seeds | |",
        "|---|---|---|---:|---|---:|---|---|",
    ]
    lines += [f"| {e['task']} | {e['objective']} | {e['baseline']} | {e['delta']:+.2f} | "
              f"[{e['ci95'][0]:+.2f}, {e['ci95'][1]:+.2f}] | {e['minimum_detectable_effect']:.2f} | "
              f"{e['n_post_seeds']} × {e['n_finetune_seeds']} | {verdict(e)} |" for e in entries]
    above = [f"{e['objective']} vs {e['baseline']} on {e['task']}" for e in entries if verdict(e) == "above"]
    below = [f"{e['objective']} vs {e['baseline']} on {e['task']}" for e in entries if verdict(e) == "below"]
    mdes = [e["minimum_detectable_effect"] for e in entries]
    if entries:
        lines += ["", "**In short**: " + (f"interval above zero: {', '.join(above)}. " if above else
                                          "no objective's interval lies above zero. ")
                  + (f"Interval below zero: {', '.join(below)}. " if below else "No interval lies below zero. ")
                  + f"The design detects differences of {min(mdes):.2f}-{max(mdes):.2f} points (MDE); smaller "
                  "effects, in either direction, are not excluded by the intervals that include zero."]
        single = sorted({e["task"] for e in entries if e["n_post_seeds"] == 1 and e["baseline"] == UNTOUCHED})
        if single:
            lines += ["", f"Rows of {', '.join(single)} have one post-training seed (one seed): their intervals hold the "
                      "fine-tuning seeds' and the test items' noise but not the post-training seed's, so they are "
                      "narrower than a repeat of the post-training would show."]
        lines += tydiqa_summary(args, entries, scores)
    warm_losses = warm_record["result"]["losses"] if warm_record else []
    untouched_tydiqa = records.get("tydiqa", {}).get(UNTOUCHED)
    questions = (" (questions: " + ", ".join(f"{lang} {len(untouched_tydiqa[lang]['words'])}" for lang in
                                             TASKS["tydiqa"].tabled) + ")") if untouched_tydiqa else ""
    lines += [
        "",
        "![the paired differences](study.png)",
        "",
        "## What was run",
        "",
        f"- Encoder: intfloat/multilingual-e5-small (12 layers, hidden 384, XLM-R's 250k vocabulary), built offline "
        f"by `../shared/tools/get_e5_small.py`; `{UNTOUCHED}` is it as is.",
        f"- Warm-up: WEAM's two prediction heads (MLM and cross-lingual), {args.warmup_head_steps} steps with the "
        f"encoder and the word embeddings fixed (`--train_heads_only`), learning rate "
        f"{args.warmup_head_learning_rate:g}"
        + "".join(f"; {head} loss {warm_losses[0][key]:.2f} at step {warm_losses[0]['step']}, then "
                  + ", ".join(f"{np.mean([e[key] for e in part]):.2f}" for part in np.array_split(warm_losses, 4))
                  + " (means of each quarter of the logged steps)" for head, key in
                  (("MLM", "mlm_loss"), ("cross-lingual", "cross_lingual_loss")) if warm_losses)
        + ". Every objective starts from this checkpoint.",
        f"- Post-training: {args.post_steps} steps of {args.batch_size} pairs (MLM and ALIGN-MLM: {2 * args.batch_size} "
        f"sentences, the two of each pair), each of the {args.pairs_per_language * len(SOURCES)} sampled pairs seen "
        f"once; learning rate {args.learning_rate:g}, 10% warm-up, linear decay, no weight decay; 30% of the tokens "
        "masked for every masked objective (WEAM's; TLM's 15% and PPA's would mask fewer); every prediction head "
        "chooses among the pieces the corpus holds (`--prediction_vocabulary corpus`), in the warm-up too. "
        f"Post-training seeds: {comma_seeds(args.post_seeds)}.",
        "- Remaining differences, by design: WEAM adds its cross-lingual prediction (λ = 1; eflomal links, "
        "grow-diag-final-and, with the rest of each language pair's clean pairs as extra text); PPA adds MoCo on "
        f"[CLS] (queue {args.ppa_queue_size}, momentum 0.999, τ = 0.05; two more encoder passes a step) and random "
        "input order; ALIGN-MLM adds α = 10 times its dictionary loss (MUSE en-de, en-es, en-zh; held-out words "
        "excluded); MLM and ALIGN-MLM see the sentences unpaired.",
        f"- Zero-shot POS (`run_pos.py`): the first {args.pos_train_sentences} English EWT training sentences, one "
        f"epoch, learning rate {args.pos_learning_rate:g}, word embeddings frozen, fine-tuning seeds "
        f"{comma_seeds(args.finetune_seeds)}; tested on the first {args.pos_test_sentences} test sentences of "
        f"each of {', '.join(TRANSFER_LANGUAGES)}.",
        f"- Zero-shot XNLI (`run_xnli.py`, the sizes of `benchmarks/bench_zero_shot.py`): English XNLI dev items "
        f"0-1999, one epoch, word embeddings frozen, the same fine-tuning seeds; items 2000-2489 of de, es, zh; the "
        f"models of post-training seed(s) {comma_seeds(args.xnli_post_seeds)} only (the budget's limit).",
        "- Zero-shot TyDiQA-GoldP (`run_qa.py`): "
        + (f"the first {args.tydiqa_train_questions}" if args.tydiqa_train_questions else "all 3,696")
        + f" English GoldP training questions, {args.tydiqa_epochs} epochs, learning rate "
        f"{TYDIQA_FINE_TUNING['learning_rate']:g}, batches of {TYDIQA_FINE_TUNING['batch_size']}, 10% warm-up, "
        f"windows of {TYDIQA_FINE_TUNING['max_seq_length']} tokens overlapping by {TYDIQA_FINE_TUNING['doc_stride']}, "
        "word embeddings frozen, the same fine-tuning seeds (bf16 on a GPU, fp32 on a CPU); "
        + (f"the first {args.tydiqa_eval_questions} dev questions" if args.tydiqa_eval_questions else "every dev question")
        + f" of en and of the 8 others{questions}, each scored by F1 and exact match with SQuAD v1.1's normalization "
        "(TyDiQA-GoldP's official scoring, as XTREME's) against its best gold answer; each question's F1 is an item "
        f"of the bootstrap; the models of post-training seed(s) {comma_seeds(args.tydiqa_post_seeds)}. Sized for a "
        "GPU from a measurement: one fine-tuning on 1,000 questions (256 tokens, one epoch) took 19 minutes of "
        "training and 0.26-0.6 s a dev question on this 2-core CPU (`benchmarks/results/tydiqa-cpu.json`), so the "
        "stage as run would take hours per model here; its finished stages ran on an NVIDIA H200 (each file's "
        "`device`).",
        "- Parallel data (pairs read, removed and kept, per language pair):",
        "",
    ]
    data_record = json.loads((args.results_dir / "data.json").read_text()) if (args.results_dir / "data.json").exists() else None
    if data_record:
        lines += count_table(data_record["result"])
    lines += [
        "",
        "These are CPU-sized post-trainings: under a thousand pairs per model, a small encoder already trained for "
        "cross-lingual similarity. They say what each objective does to this encoder under this budget, not what "
        "the papers report for mBERT after 100k+ steps on millions of pairs (REPRODUCE.md).",
    ]
    args.docs_dir.mkdir(parents=True, exist_ok=True)
    (args.docs_dir / "study.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = {key: str(value) for key, value in asdict(args).items() if key not in ("work_dir", "results_dir", "docs_dir",
                                                                                     "model_dir", "report_only", "workers")}
    report = {"command": command, "wall_seconds": sum(seconds_by_device.values()), "seconds_by_device": seconds_by_device,
              "settings": settings, "stage_seconds": {record["stage"]: record["seconds"] for record in stage_records},
              "scores": scores, "diagnostics": diagnostics, "comparisons": entries}
    (args.docs_dir / "study.json").write_text(json.dumps(report, indent=2) + "\n")
    if entries:
        plot(entries, args.docs_dir / "study.png")
    print("\n".join(lines))


def count_table(counts_by_pair):
    """Markdown rows of a data stage's counts: a row per language pair, a column per count."""
    columns = list(next(iter(counts_by_pair.values())))
    return (["| pair | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
            + [f"| {pair} | " + " | ".join(str(counts[c]) for c in columns) + " |" for pair, counts in counts_by_pair.items()])


def interval_bars(axis, x, entries, **style):
    """Each entry's Δ at its x, with its 95% interval as the bar."""
    errors = [[entry["delta"] - entry["ci95"][0] for entry in entries], [entry["ci95"][1] - entry["delta"] for entry in entries]]
    axis.errorbar(list(x), [entry["delta"] for entry in entries], yerr=errors, capsize=4, **style)


def plot(entries, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(entry["task"] for entry in entries))
    baselines = list(dict.fromkeys(entry["baseline"] for entry in entries))
    figure, axes = plt.subplots(len(tasks), len(baselines), figsize=(3.8 * len(baselines), 3.2 * len(tasks)),
                                squeeze=False)
    for (row, task), (column, baseline) in ((t, b) for t in enumerate(tasks) for b in enumerate(baselines)):
        axis = axes[row][column]
        found = [entry for entry in entries if (entry["task"], entry["baseline"]) == (task, baseline)]
        interval_bars(axis, range(len(found)), found, fmt="o")
        axis.axhline(0, color="gray", linewidth=0.8)
        axis.set_xticks(range(len(found)), [entry["objective"] for entry in found], rotation=30, ha="right")
        axis.set_ylabel(f"Δ {next(iter(TASKS[task].measures.values()))} (points)")
        axis.set_title(f"{task}, vs {baseline}", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


# ----------------------------------------------------------------------------- main


def parse_command_line(argv=None):
    (args,) = HfArgumentParser(StudyArguments, description=__doc__,
                               formatter_class=HelpFormatter).parse_args_into_dataclasses(argv)
    unknown = [name for name in args.objectives if name not in OBJECTIVES]
    if unknown:
        sys.exit(f"error: --objectives: unknown {', '.join(unknown)}; choose from {', '.join(OBJECTIVES)}")
    unknown = [name for name in args.tasks if name not in TASKS]
    if unknown:
        sys.exit(f"error: --tasks: unknown {', '.join(unknown)}; choose from {', '.join(TASKS)}")
    for option in ("xnli_post_seeds", "tydiqa_post_seeds"):
        if not set(getattr(args, option)) <= set(args.post_seeds):
            sys.exit(f"error: --{option} must be among --post_seeds")
    if args.workers < 1:
        sys.exit("error: --workers must be 1 or more")
    if CONTROL not in args.objectives:
        sys.exit(f"error: --objectives must include {CONTROL}, the control every objective is compared with")
    if args.pairs_per_language * len(SOURCES) % args.batch_size:
        sys.exit(f"error: --pairs_per_language x {len(SOURCES)} must be a multiple of --batch_size (one epoch of whole steps)")
    return args


def report_command(script, argv, run_only=("--report_only",)):
    """The command a report names: the script's, without the flags that choose what runs (a report written with
    --report_only comes from that command's finished stages)."""
    return shlex.join(["python", script, *(a for a in (sys.argv[1:] if argv is None else argv) if a not in run_only)])


def run_all(args):
    """Every stage that has not finished, unit by unit (`run_units`): the untouched encoder's transfer stages, then
    each post-trained model's (post seed by post seed: a partial study covers every objective), the model built
    when its first unfinished stage needs it (and the warm-up before it, by the first unit that needs it)."""
    untouched = ensure_model(args.model_dir)
    data_key = prepare_data(args, AutoTokenizer.from_pretrained(untouched))
    _, models = study_models(args, data_key)

    def evaluate(name, model_key, model_path, post_seed=None):
        for task in args.tasks:
            if post_seed is None or post_seed in post_seeds_of(args, task):
                run_transfer(args, task, name, model_key, model_path)
            if task == args.tasks[0] and post_seed in (None, args.post_seeds[0]):  # one post seed, no fine-tuning
                run_diagnostics(args, name, model_key, model_path)

    units = [functools.partial(evaluate, UNTOUCHED, "multilingual-e5-small", lambda: untouched)]
    units += [functools.partial(evaluate, name, model.key, functools.partial(model.path, args),
                                int(name.rsplit("seed", 1)[1])) for name, model in models.items()]
    run_units(units, args.workers)


def main(argv=None):
    args = parse_command_line(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    command = report_command("study/run_study.py", argv)
    if not args.report_only:
        if not (SHARED / "data").is_dir():
            sys.exit(f"{SHARED} is missing: the study needs its data and tools")
        run_all(args)
    records = {task: read_records(args.results_dir, task) for task in args.tasks}
    warm_path = args.results_dir / "warm-up.json"
    write_report(args, command, records, json.loads(warm_path.read_text()) if warm_path.exists() else None)


if __name__ == "__main__":
    main()
