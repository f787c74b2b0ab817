#!/usr/bin/env python
"""The toolkit's small-scale study: every objective on a real multilingual encoder, side by side.

    python study/run_study.py            # about 100 minutes on a 2-core CPU; writes docs/study.md and docs/study.png

1. data      Parallel en-de, en-es and en-zh sentences from ../shared/data/parallel (WMT news test sets and
             TICO-19; Tatoeba is left out: the retrieval test is Tatoeba), with every pair removed whose
             either side appears in an evaluation set (XNLI dev, MLQA dev, Tatoeba retrieval, the gold word
             alignments); the overlap found is reported. Then a seeded sample of --pairs_per_language pairs
             of each language pair.
2. warm-up   The encoder, intfloat/multilingual-e5-small (built offline by ../shared/tools/get_e5_small.py),
             is a sentence encoder without an MLM head: the WEAM heads (both predictions) are first trained
             with the encoder fixed (run_pretrain.py --train_heads_only), so that every objective starts
             from the same encoder with working heads. The untouched encoder is the baseline.
3. post-train MLM, TLM, WEAM, PPA and ALIGN-MLM from that start, with the same data, steps, batch size,
             sequence length, learning rate, warm-up and weight decay; masking and loss weights are each
             objective's paper defaults (run_pretrain.py).
4. evaluate  Each model, and the baseline: the alignment diagnostics (run_alignment_eval.py: dictionary
             P@1 from input embeddings and layer 8, Tatoeba retrieval, AER on the de-en gold set),
             zero-shot XNLI with --xnli_seeds seeds (fine-tune on English, test on de, es, zh) and zero-shot
             QA (TyDiQA-GoldP English -> MLQA dev de, es, zh), with the sizes of
             benchmarks/bench_zero_shot.py.
5. report    One Markdown table and one plot in --docs_dir, with the command, the sizes and the wall time.

Every stage writes its result into --work_dir and is skipped when run again with the same settings: an
interrupted study resumes where it stopped, and a stage whose settings or inputs changed (a redone stage
before it) runs again. Each stage's log is in WORK_DIR/logs, its settings and wall time in
WORK_DIR/stages.json.
"""

import json
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from transformers import HfArgumentParser  # noqa: E402

from benchmarks.bench_zero_shot import DEFAULT_MODEL_DIR, SHARED, ensure_model, qa_arguments  # noqa: E402
from benchmarks.bench_zero_shot import xnli_arguments  # noqa: E402
from weam.cli import HelpFormatter  # noqa: E402
from weam.objectives import OBJECTIVES  # noqa: E402
from weam.diagnostics import read_tatoeba  # noqa: E402
from weam.word_alignment import read_lines  # noqa: E402

PARALLEL = SHARED / "data" / "parallel"
# Training sources per language pair: (folder, file stems, English suffix, other suffix).
SOURCES = {
    "en-de": ("de-en", ["news-test2008", "newssyscomb2009"] + [f"newstest{y}" for y in range(2009, 2019)], "deu"),
    "en-es": ("es-en", ["news-test2008", "newssyscomb2009"] + [f"newstest{y}" for y in range(2009, 2014)]
              + ["tico19-test"], "spa"),
    "en-zh": ("zh-en", [f"newstest{y}" for y in range(2017, 2021)] + ["tico19-test"], "zho"),
}
XNLI_LANGUAGES = ("en", "de", "es", "zh")
TRANSFER_LANGUAGES = ("de", "es", "zh")
TATOEBA_LANGUAGES = TRANSFER_LANGUAGES
DICTIONARIES = [SHARED / "data" / "dictionaries" / f"en-{language}.dict" for language in TRANSFER_LANGUAGES]
GOLD_TEST, GOLD_TALP = SHARED / "data" / "alignment-gold" / "test.de-en", SHARED / "data" / "alignment-gold" / "deen.talp"
BASELINE = "baseline"


@dataclass
class StudyArguments:
    objectives: list[str] = field(
        default_factory=lambda: ["mlm", "tlm", "weam", "ppa", "align_mlm"],
        metadata={"help": f"Objectives to compare (of {', '.join(OBJECTIVES)})."},
    )
    model_dir: Path = field(
        default=DEFAULT_MODEL_DIR, metadata={"help": "The multilingual-e5-small folder (built if missing)."}
    )
    work_dir: Path = field(default=REPO / "study-runs", metadata={"help": "Data, models, logs and results."})
    docs_dir: Path = field(default=REPO / "docs", metadata={"help": "Where study.md and study.png go."})
    pairs_per_language: int = field(default=3000, metadata={"help": "Training pairs sampled per language pair."})
    max_seq_length: int = field(default=96, metadata={"help": "Tokens per pair in post-training."})
    batch_size: int = field(default=16, metadata={"help": "Pairs (MLM, ALIGN-MLM: sentences) per step."})
    warmup_head_steps: int = field(default=80, metadata={"help": "Steps of the heads-only warm-up."})
    steps: int = field(default=80, metadata={"help": "Post-training steps of every objective."})
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate of post-training."})
    ppa_queue_size: int = field(default=1024, metadata={"help": "PPA's MoCo queue (the paper's 32k exceeds the "
                                                        "pairs this budget sees)."})
    xnli_seeds: list[int] = field(default_factory=lambda: [1, 2], metadata={"help": "Fine-tuning seeds of zero-shot XNLI."})
    qa: bool = field(default=True, metadata={"help": "Also zero-shot QA (about 6 minutes per model; --no_qa: skip)."})
    seed: int = field(default=42, metadata={"help": "Seed of the data sample, post-training and dictionary split."})


def stage_done(work_dir, name, settings, done_file):
    """Whether a stage already ran with these settings (a stage run with others, or on older inputs, runs again)."""
    record = read_stages(work_dir).get(name)
    if not done_file.exists() or record is None:
        return False
    if record["settings"] != settings:
        changed = sorted(set(map(str, settings)) ^ set(map(str, record["settings"])))
        print(f"[{name}] settings or inputs changed since {done_file} was made ({changed}): running again")
        return False
    print(f"[{name}] done before: {done_file}")
    return True


def read_stages(work_dir):
    """{stage: {"settings": [...], "seconds": wall time}} of the stages that finished (WORK_DIR/stages.json)."""
    path = work_dir / "stages.json"
    return json.loads(path.read_text()) if path.exists() else {}


def record_stage(work_dir, name, settings, seconds):
    print(f"[{name}] {seconds:.0f} s", flush=True)
    stages = read_stages(work_dir)
    stages[name] = {"settings": settings, "seconds": round(seconds)}
    (work_dir / "stages.json").write_text(json.dumps(stages, indent=2) + "\n")


def run_stage(name, script, argv, work_dir, done_file, inputs):
    """Run `script argv` in a fresh process (its log in WORK_DIR/logs/NAME.log) unless it ran before with the
    same arguments on the same `inputs` (files made by earlier stages: a redone stage redoes what follows)."""
    argv = [*map(str, argv)]
    settings = [*argv, *(f"input {path} modified {path.stat().st_mtime_ns}" for path in inputs)]
    if stage_done(work_dir, name, settings, done_file):
        return
    log_path = work_dir / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(REPO / script), *argv]
    print(f"[{name}] {time.strftime('%H:%M:%S')} running; log: {log_path}", flush=True)
    start = time.time()
    with open(log_path, "w") as log:
        log.write(shlex.join(command) + "\n\n")
        log.flush()
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    if result.returncode != 0 or not done_file.exists():
        tail = "".join(log_path.read_text(errors="replace").splitlines(keepends=True)[-30:])
        sys.exit(f"[{name}] failed (exit {result.returncode}); the end of {log_path}:\n{tail}")
    record_stage(work_dir, name, settings, time.time() - start)


# ----------------------------------------------------------------------------- 1. data


def sentence_key(text):
    """What two sentences must share to count as the same: their letters and digits, lowercased
    (tokenized and untokenized copies of a sentence match)."""
    return re.sub(r"[\W_]+", "", text.lower())


def evaluation_sentences():
    """{evaluation set: keys of its sentences}: everything a post-trained model is later tested on."""
    sets = {}
    xnli = set()
    for language in XNLI_LANGUAGES:
        for line in read_lines(SHARED / "data" / "xnli" / f"dev-{language}.tsv"):
            xnli.update(sentence_key(text) for text in line.split("\t")[:2])
    sets["XNLI dev"] = xnli
    mlqa = set()
    for path in sorted((SHARED / "data" / "mlqa" / "dev").glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                # contexts are compared sentence by sentence
                mlqa.update(map(sentence_key, re.split(r"(?<=[.!?。！？])\s*", paragraph["context"])))
                mlqa.update(sentence_key(qa["question"]) for qa in paragraph["qas"])
    sets["MLQA dev"] = mlqa
    tatoeba = set()
    for language in TATOEBA_LANGUAGES:
        tatoeba.update(sentence_key(sentence) for pair in read_tatoeba(PARALLEL / "tatoeba-retrieval", language)
                       for sentence in pair)
    sets["Tatoeba retrieval"] = tatoeba
    gold = set()
    for line in read_lines(GOLD_TEST):
        gold.update(map(sentence_key, line.split("|||")))
    sets["gold word alignments"] = gold
    return {name: keys - {""} for name, keys in sets.items()}


def prepare_data(args, data_dir):
    """Write WORK_DIR/data/en-xx.{en,xx} (the sampled pairs) and overlap.json; return the corpus specs."""
    report_path = data_dir / "overlap.json"
    specs = [f"{pair}={data_dir / pair}.en,{data_dir / pair}.{pair[3:]}" for pair in SOURCES]
    settings = [f"pairs_per_language={args.pairs_per_language}", f"seed={args.seed}"]
    if stage_done(data_dir.parent, "data", settings, report_path):
        return specs
    start = time.time()
    data_dir.mkdir(parents=True, exist_ok=True)
    held_out = evaluation_sentences()
    report = {}
    for pair, (folder, stems, suffix) in SOURCES.items():
        pairs, counts = {}, {"read": 0, "duplicate": 0, "empty or over 400 characters": 0}
        counts.update({f"in {name}": 0 for name in held_out})
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
        available = list(pairs.values())
        if len(available) < args.pairs_per_language:
            sys.exit(f"{pair}: only {len(available)} pairs left, fewer than --pairs_per_language")
        sample = random.Random(args.seed).sample(available, args.pairs_per_language)
        for index, language in enumerate(pair.split("-")):
            text = "".join(f"{sides[index]}\n" for sides in sample)
            (data_dir / f"{pair}.{language}").write_text(text, encoding="utf-8")
        report[pair] = {**counts, "clean": len(available), "sampled": len(sample)}
        print(f"[data] {pair}: {report[pair]}")
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    record_stage(data_dir.parent, "data", settings, time.time() - start)
    return specs


# ----------------------------------------------------------------------------- 2-3. training


def post_training_arguments(args, specs, objective, output_dir, model_dir, steps):
    argv = [
        "--model_name_or_path", model_dir, "--objective", objective, "--output_dir", output_dir,
        "--train_data", *specs, "--max_seq_length", args.max_seq_length, "--validation_pairs", 0,
        "--max_steps", steps, "--per_device_train_batch_size", args.batch_size, "--warmup_steps", 0.1,
        "--weight_decay", 0,  # one optimizer for every objective (PPA's paper would use 0.01)
        "--eval_strategy", "no", "--save_strategy", "no", "--logging_steps", 10, "--report_to", "none",
        "--disable_tqdm", "true", "--seed", args.seed,
    ]  # fmt: skip
    if OBJECTIVES[objective].model_class == "PpaForPreTraining":
        argv += ["--config_overrides", f"ppa_queue_size={args.ppa_queue_size}"]
    if OBJECTIVES[objective].uses_dictionary_loss:
        argv += ["--dictionaries", *DICTIONARIES]
    return argv


# ----------------------------------------------------------------------------- 4. evaluation


def evaluate(args, name, model_dir, eval_dir):
    run_stage(
        f"{name}-alignment", "run_alignment_eval.py",
        ["--model", model_dir, "--output_dir", eval_dir / "alignment", "--dictionary", *DICTIONARIES,
         "--tatoeba_dir", PARALLEL / "tatoeba-retrieval", "--tatoeba_languages", *TATOEBA_LANGUAGES,
         "--gold_alignments", f"{GOLD_TEST}:{GOLD_TALP}", "--seed", args.seed],
        args.work_dir, eval_dir / "alignment" / "alignment_eval.json", [model_dir / "model.safetensors"],
    )  # fmt: skip
    run_stage(
        f"{name}-xnli", "run_xnli.py", [*xnli_arguments(model_dir, eval_dir / "xnli", args.xnli_seeds)],
        args.work_dir, eval_dir / "xnli" / "results.json", [model_dir / "model.safetensors"],
    )
    if args.qa:
        run_stage(
            f"{name}-qa", "run_qa.py",
            [*qa_arguments(model_dir, eval_dir / "qa", TRANSFER_LANGUAGES)],
            args.work_dir, eval_dir / "qa" / "results.json", [model_dir / "model.safetensors"],
        )


def read_scores(eval_dir):
    """The figures of one model: {column: (mean, std or None)}."""
    scores = {}
    alignment = json.loads((eval_dir / "alignment" / "alignment_eval.json").read_text())["metrics"]

    def mean_of(pattern):
        values = [row["model"] for metric, row in alignment.items() if re.fullmatch(pattern, metric)]
        return statistics.fmean(values), None

    scores["dict input"] = mean_of(r"dictionary/.*/input/p@1")
    scores["dict L8"] = mean_of(r"dictionary/.*/layer8/p@1")
    scores["Tatoeba"] = (alignment["tatoeba/avg"]["model"], None)
    scores["AER"] = mean_of(r"alignment/.*/aer")
    for label, task, metric, languages in (
        ("XNLI", "xnli", "accuracy", XNLI_LANGUAGES),
        ("MLQA F1", "qa", "f1", TRANSFER_LANGUAGES),
        ("MLQA EM", "qa", "exact_match", TRANSFER_LANGUAGES),
    ):
        path = eval_dir / task / "results.json"
        if path.exists():
            results = json.loads(path.read_text())
            for column in (*languages, "avg_without_en"):  # the average over de, es, zh
                name = f"{label} {'avg' if column == 'avg_without_en' else column}"
                scores[name] = (results["mean"][metric][column], results["std"][metric][column])
    return scores


# ----------------------------------------------------------------------------- 5. report


def format_cell(mean, std):
    return f"{mean:.1f}" if std is None else f"{mean:.1f} ± {std:.1f}"


def table(scores, keep):
    """Markdown rows: one per model, the columns every model has that `keep` accepts."""
    columns = [column for column in scores[BASELINE] if keep(column) and all(column in s for s in scores.values())]
    rows = [f"| model | {' | '.join(columns)} |", "|---|" + "---:|" * len(columns)]
    rows += [f"| {name} | " + " | ".join(format_cell(*model[c]) for c in columns) + " |" for name, model in scores.items()]
    return rows


def difference_table(scores, xnli_seed_count):
    columns = [c for c in ("XNLI avg", "MLQA F1 avg", "MLQA EM avg", "Tatoeba", "dict input", "dict L8", "AER")
               if all(c in s for s in scores.values())]
    rows = [f"| objective | {' | '.join(columns)} |", "|---|" + "---:|" * len(columns)]
    for name, model in scores.items():
        if name == BASELINE:
            continue
        cells = []
        for column in columns:
            (mean, std), (base_mean, base_std) = model[column], scores[BASELINE][column]
            cell = f"{mean - base_mean:+.1f}"
            if std is not None and base_std is not None:
                cell += f" ± {((std**2 + base_std**2) / xnli_seed_count) ** 0.5:.1f}"
            cells.append(cell)
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def summary(scores, xnli_seed_count):
    """One sentence per transfer task, from the figures: which objectives beat the baseline, and by how much."""
    sentences = []
    for column, noise_known in (("XNLI avg", True), ("MLQA F1 avg", False)):
        if not all(column in model for model in scores.values()):
            continue
        (base_mean, base_std), objectives = scores[BASELINE][column], [n for n in scores if n != BASELINE]
        changes = {name: scores[name][column][0] - base_mean for name in objectives}
        if noise_known:  # beyond twice the standard error of the difference of seed means
            errors = {n: ((scores[n][column][1] ** 2 + base_std**2) / xnli_seed_count) ** 0.5 for n in objectives}
            better = [n for n in objectives if changes[n] > 2 * errors[n]]
            worse = [n for n in objectives if changes[n] < -2 * errors[n]]
        else:
            better = [n for n in objectives if changes[n] > 0]
            worse = [n for n in objectives if changes[n] < 0]
        best = max(objectives, key=changes.get)
        sentences.append(
            f"{column}: {', '.join(better) or 'no objective'} above the untouched encoder"
            f"{'' if noise_known else ' (one seed: noise unmeasured)'}, {', '.join(worse) or 'none'} below it; "
            f"the best objective is {best} ({changes[best]:+.1f})."
        )
    return "**In short**: " + " ".join(sentences)


def write_report(args, scores, overlap, stage_seconds, command):
    wall_seconds = sum(stage_seconds.values())
    lines = [
        "# Study: alignment objectives on multilingual-e5-small, side by side",
        "",
        f"Produced by `{command}` in {wall_seconds / 60:.0f} minutes of wall time on a 2-core CPU "
        f"({time.strftime('%Y-%m-%d')}). Every figure is as measured; nothing was tuned on these test sets.",
        "",
        "**Zero-shot transfer** (fine-tuned on English only):",
        "",
        *table(scores, lambda column: column.startswith(("XNLI", "MLQA F1")) or column == "MLQA EM avg"),
        "",
        "**Alignment diagnostics** (no fine-tuning):",
        "",
        *table(scores, lambda column: column in ("dict input", "dict L8", "Tatoeba", "AER")),
        "",
        "**Change from the baseline** (objective − baseline; for XNLI, ± is the standard error of the "
        "difference of two seed means, and a change smaller than about twice it is noise; AER: negative is "
        "better):",
        "",
        *difference_table(scores, len(args.xnli_seeds)),
        "",
        summary(scores, len(args.xnli_seeds)),
    ]
    xnli_seeds = args.xnli_seeds
    lines += [
        "",
        "Percent. XNLI: accuracy, fine-tuned on English only (mean ± sample std over seeds "
        f"{', '.join(map(str, xnli_seeds))}); avg: de, es, zh. MLQA: F1 / exact match, context and question in the same "
        "language, fine-tuned on English TyDiQA-GoldP only (one seed). dict: word-translation P@1 from input "
        "embeddings and from layer 8, mean of en-de, en-es, en-zh (MUSE, held-out words). Tatoeba: sentence "
        "retrieval accuracy, deu, spa, cmn, both directions. AER: word alignment error rate of the model's "
        "layer-8 argmax alignments on the de-en gold set (lower is better).",
        "",
        "![the study's figures](study.png)",
        "",
        "(The plot's axes are zoomed to the range of the values, not started at zero; error bars: seed std.)",
        "",
        "## What was run",
        "",
        f"- Encoder: intfloat/multilingual-e5-small (12 layers, hidden 384, 250k XLM-R vocabulary), untouched = "
        f"`{BASELINE}`. Every objective starts from it after {args.warmup_head_steps} heads-only steps "
        "(WEAM's two prediction heads trained with the encoder fixed; the encoder equals the baseline's).",
        f"- Post-training: {args.steps} steps, {args.batch_size} pairs per step (MLM and ALIGN-MLM: sentences, "
        f"as they train on single sentences), sequences of at most {args.max_seq_length} tokens, learning rate "
        f"{args.learning_rate} with 10% warm-up, seed {args.seed}. WEAM: λ = 1, 30% masking, eflomal "
        "alignments (grow-diag-final-and); TLM/MLM: 15% masking; PPA: MoCo queue of "
        f"{args.ppa_queue_size}, momentum 0.999, τ = 0.05; ALIGN-MLM: α = 10 on MUSE en-de/en-es/en-zh "
        "(held-out words excluded, the ones the dictionary figures use).",
        f"- Parallel data: {args.pairs_per_language} pairs per language pair, sampled from WMT news test sets "
        "and TICO-19 after removing every pair with a side found in an evaluation set:",
        "",
        "| pair | " + " | ".join(overlap[next(iter(overlap))]) + " |",
        "|---|" + "---:|" * len(overlap[next(iter(overlap))]),
    ]
    lines += [f"| {pair} | " + " | ".join(str(v) for v in counts.values()) + " |" for pair, counts in overlap.items()]
    lines += [
        "",
        "- Zero-shot XNLI: fine-tuning on English XNLI dev items 0-1999 (one epoch, word embeddings frozen), "
        "test on items 2000-2489 in en, de, es, zh. Zero-shot QA: fine-tuning on the first 1000 English "
        "TyDiQA-GoldP questions, test on all of MLQA dev de, es, zh (sizes of `benchmarks/bench_zero_shot.py`).",
        "",
        "These are CPU-sized runs: a few thousand pairs seen once, a small encoder, small fine-tuning sets. "
        "They show what each objective does to one encoder under one budget, not what the papers report "
        "for mBERT after 100k+ steps on millions of pairs; see REPRODUCE.md for that.",
    ]
    args.docs_dir.mkdir(parents=True, exist_ok=True)
    (args.docs_dir / "study.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = {key: str(value) for key, value in asdict(args).items()}
    report = {"command": command, "wall_seconds": wall_seconds, "stage_seconds": stage_seconds, "settings": settings,
              "overlap": overlap, "scores": scores}
    (args.docs_dir / "study.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(scores, args.docs_dir / "study.png")
    print("\n".join(lines))


def plot(scores, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [c for c in ("XNLI avg", "MLQA F1 avg", "Tatoeba", "dict input", "dict L8", "AER")
              if all(c in model for model in scores.values())]
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    names = list(scores)
    colors = plt.cm.tab10(range(len(names)))
    for axis, column in zip(axes[0], panels):
        means = [scores[name][column][0] for name in names]
        errors = [scores[name][column][1] or 0 for name in names]
        bars = axis.bar(range(len(names)), means, yerr=errors, color=colors, capsize=3)
        axis.bar_label(bars, fmt="%.1f", fontsize=8)
        low, high = min(means) - max(errors) - 2, max(means) + max(errors) + 2
        axis.set_ylim(max(0, low), high)
        axis.set_xticks(range(len(names)), names, rotation=45, ha="right")
        axis.set_title(column + (" (lower is better)" if column == "AER" else ""), fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def parse_command_line(argv=None):
    (args,) = HfArgumentParser(StudyArguments, description=__doc__,
                               formatter_class=HelpFormatter).parse_args_into_dataclasses(argv)
    unknown = [name for name in args.objectives if name not in OBJECTIVES]
    if unknown:
        sys.exit(f"error: --objectives: unknown {', '.join(unknown)}; choose from {', '.join(OBJECTIVES)}")
    return args


def main(argv=None):
    args = parse_command_line(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if not (SHARED / "data").is_dir():
        sys.exit(f"{SHARED} is missing: the study needs its data and tools")
    command = shlex.join(["python", "study/run_study.py", *(sys.argv[1:] if argv is None else argv)])
    baseline = ensure_model(args.model_dir)
    specs = prepare_data(args, args.work_dir / "data")
    data_report = args.work_dir / "data" / "overlap.json"  # written after the data: its time stamps them
    models = args.work_dir / "models"
    warm = models / "heads-warmed"
    run_stage(
        "warm-up", "run_pretrain.py",
        [*post_training_arguments(args, specs, "weam", warm, baseline, args.warmup_head_steps),
         "--train_heads_only", "true", "--learning_rate", 5e-4],
        args.work_dir, warm / "model.safetensors", [data_report, baseline / "model.safetensors"],
    )  # fmt: skip
    trained = {BASELINE: baseline}
    for objective in args.objectives:
        trained[objective] = models / objective
        run_stage(
            objective, "run_pretrain.py",
            [*post_training_arguments(args, specs, objective, trained[objective], warm, args.steps),
             "--learning_rate", args.learning_rate],
            args.work_dir, trained[objective] / "model.safetensors", [data_report, warm / "model.safetensors"],
        )  # fmt: skip
    scores = {}
    for name, model_dir in trained.items():
        evaluate(args, name, model_dir, args.work_dir / "eval" / name)
        scores[name] = read_scores(args.work_dir / "eval" / name)
    overlap = json.loads(data_report.read_text())
    stage_seconds = {name: record["seconds"] for name, record in read_stages(args.work_dir).items()}
    write_report(args, scores, overlap, stage_seconds, command)


if __name__ == "__main__":
    main()
