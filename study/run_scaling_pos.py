#!/usr/bin/env python
"""Scaling on POS tagging: does WEAM transfer better with more parallel data, or with more language pairs in it?

    python study/run_scaling_pos.py      # resumable; writes study/results/scaling/*.json, docs/scaling-pos.md, .json, .png

The question asked on the study's POS task and languages (de, es, zh), at fixed exposure, before TyDiQA-GoldP could
run; study/run_scaling.py asks it as stated, with TyDiQA-GoldP F1 and parallel data in its languages.
Run after (or on top of) study/run_study.py, whose warm-up, POS task, statistics and WEAM models it reuses:

1. data       WEAM trains on N pairs in all (--total_pairs), either of one language pair (en-zh: Chinese has the
              most room, 58% POS accuracy against 84-86% for German and Spanish) or spread evenly over three
              (en-de, en-es, en-zh). The smaller sets are the first lines of the larger (nested), so a larger set
              only adds pairs. Three language pairs take the study's sample and links; one language pair needs
              more en-zh pairs than the study sampled: the study's en-zh pairs first, then a seeded sample of the
              other clean en-zh pairs, with eflomal links (the rest of the clean pairs as extra text; kept in
              study/results/scaling/data/, since eflomal cannot be seeded).
2. post-train WEAM from the study's warm-up, the study's settings, once per --post_seeds seed. Exposure is fixed,
              not epochs: every run sees the same number of pairs (the study's 60 steps x 16 = 960), so 120 pairs
              are seen 8 times and 960 once, and a difference between sizes is the data's, not more training
              (epochs fixed instead would give the larger sets more steps as well). Three language pairs at 960
              pairs is exactly the study's WEAM: those models and their POS runs are reused.
3. transfer   The study's zero-shot POS tagging (run_pos.py; English EWT -> de, es, zh; 3 fine-tuning seeds),
              separating the languages with parallel data in the run from those without (de and es in the
              en-zh runs).
4. report     docs/scaling-pos.md, .json (a row per run setting, the untouched encoder first) and .png: each row's
              accuracy, its paired difference from the untouched encoder with a 95% bootstrap interval (post-
              training seeds, fine-tuning seeds, test sentences), and the differences between data sizes and
              between one and three language pairs.
"""

import json
import random
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_study  # noqa: E402
from run_scaling import (chance_words, comparison_table, delta_cell, difference, language_groups,  # noqa: E402
                         run_corpora, run_main, verdict)
from run_study import REPO, TRANSFER_LANGUAGES, UNTOUCHED, StudyArguments  # noqa: E402
from transformers import AutoTokenizer, HfArgumentParser  # noqa: E402

from weam.cli import HelpFormatter  # noqa: E402
from weam.word_alignment import read_lines  # noqa: E402

ALL_PAIRS = tuple(run_study.SOURCES)


@dataclass
class ScalingArguments:
    language_pair_sets: list[str] = field(
        default_factory=lambda: ["en-zh", "+".join(ALL_PAIRS)],
        metadata={"help": f"The language pairs of each series, joined by '+' (of {', '.join(ALL_PAIRS)})."})
    total_pairs: list[int] = field(default_factory=lambda: [120, 480, 960], metadata={
        "help": "Training pairs in all, spread evenly over a series' language pairs; at most the pairs every run "
                "sees (the study's --pairs_per_language x 3)."})
    post_seeds: list[int] = field(default_factory=lambda: [1, 2], metadata={"help": "Post-training seeds."})
    results_dir: Path = field(default=REPO / "study" / "results" / "scaling",
                              metadata={"help": "Each finished stage's result (small JSON files, kept in git)."})
    docs_dir: Path = field(default=REPO / "docs", metadata={"help": "Where scaling-pos.md, .json and .png go."})
    report_only: bool = field(default=False, metadata={"help": "Write the report from the finished stages; run nothing."})

    def series(self):
        return [tuple(pairs.split("+")) for pairs in self.language_pair_sets]


def run_name(pairs, total, seed):
    return f"weam-{'+'.join(pairs)}-{total}-seed{seed}"


def parse_command_line(argv=None):
    (args,) = HfArgumentParser(ScalingArguments, description=__doc__,
                               formatter_class=HelpFormatter).parse_args_into_dataclasses(argv)
    study = StudyArguments(post_seeds=args.post_seeds)
    pairs_seen = study.post_steps * study.batch_size
    for pairs in args.series():
        if unknown := [pair for pair in pairs if pair not in ALL_PAIRS]:
            sys.exit(f"error: --language_pair_sets: unknown {', '.join(unknown)}; choose from {', '.join(ALL_PAIRS)}")
        if bad := [total for total in args.total_pairs if total % len(pairs) or total > pairs_seen]:
            sys.exit(f"error: --total_pairs {bad}: each must split evenly over {len(pairs)} language pair(s) and be "
                     f"at most the {pairs_seen} pairs every run sees (so that every pair is seen)")
    return args, study


# ----------------------------------------------------------------------------- 1. data


def extended_sample(args, study, pair, count, tokenizer):
    """study/results/scaling/data/PAIR.{en,xx,align}: `count` pairs, the study's sample of PAIR first, then a seeded
    sample of the other clean pairs, with eflomal links. Returns the folder."""
    data_dir = args.results_dir / "data"
    language = pair[3:]
    settings = {"pair": pair, "count": count, "study sample": study.pairs_per_language, "seed": study.seed,
                "max_seq_length": study.max_seq_length, "aligner": "eflomal grow-diag-final-and"}
    key = run_study.stage_key(settings)
    if run_study.finished(args, f"data-{pair}", key) is None:
        start = time.time()
        study_data = study.results_dir / "data"
        sample = list(zip(read_lines(study_data / f"{pair}.en"), read_lines(study_data / f"{pair}.{language}")))
        pool, fits, counts = run_study.clean_pairs(pair, run_study.evaluation_sentences(), tokenizer,
                                                   study.max_seq_length)
        taken = set(sample)
        others = [p for p in fits if p not in taken]
        if len(sample) + len(others) < count:
            sys.exit(f"{pair}: only {len(sample) + len(others)} pairs fit, fewer than the {count} asked for")
        sample += random.Random(study.seed).sample(others, count - len(sample))
        taken = set(sample)
        run_study.align_sample(study, f"align-{pair}-{count}", pair, sample, [p for p in pool if p not in taken],
                               data_dir, study.work_dir / "data", data_dir / f"{pair}.align")
        run_study.record_stage(args, f"data-{pair}", key, settings, time.time() - start,
                               {**counts, "sampled": count, "extra text for eflomal": len(pool) - count})
    return data_dir


def data_sources(args, study, tokenizer):
    """{language pair: the folder of its files}: the study's sample, or a larger one where a series needs it."""
    sources = {pair: study.results_dir / "data" for pair in ALL_PAIRS}
    for pairs in args.series():
        for pair in pairs:
            needed = max(args.total_pairs) // len(pairs)
            if needed > study.pairs_per_language:
                sources[pair] = extended_sample(args, study, pair, needed, tokenizer)
    return sources


# ----------------------------------------------------------------------------- 2-3. models and transfer


def run_home(args, study, pairs, total, seed):
    """(name, results folder) of one run: the study's own WEAM where the run is the same as the study's."""
    if set(pairs) == set(ALL_PAIRS) and total == study.pairs_per_language * len(ALL_PAIRS):
        return f"weam-seed{seed}", study.results_dir
    return run_name(pairs, total, seed), args.results_dir


def scaling_models(args, study, warm, sources):
    """{(pairs, total, seed): (name, Model, results folder)}, post seed by post seed (a partial run covers the design)."""
    models = {}
    for seed in args.post_seeds:
        for pairs in args.series():
            for total in args.total_pairs:
                name, home = run_home(args, study, pairs, total, seed)
                if home == study.results_dir:
                    model = run_study.post_trained(study, warm, "weam", seed, name)
                else:
                    corpora, data_key = run_corpora(study, sources, pairs, total)
                    model = run_study.post_trained(study, warm, "weam", seed, name, corpora, data_key)
                models[pairs, total, seed] = (name, model, home)
    return models


def run_all(args, study):
    untouched = run_study.ensure_model(study.model_dir)
    tokenizer = AutoTokenizer.from_pretrained(untouched)
    warm, _ = run_study.study_models(study, run_study.prepare_data(study, tokenizer))
    sources = data_sources(args, study, tokenizer)
    run_study.run_transfer(study, "udpos", UNTOUCHED, "multilingual-e5-small", lambda: untouched)
    for name, model, home in scaling_models(args, study, warm, sources).values():
        where = replace(study, results_dir=home)
        run_study.run_transfer(where, "udpos", name, model.key, lambda model=model, where=where: model.path(where))


# ----------------------------------------------------------------------------- 4. report


def load_records(args, study):
    """{name: POS record} of the untouched encoder and of every finished run of the design."""
    homes = {}
    for seed in args.post_seeds:
        for pairs in args.series():
            for total in args.total_pairs:
                name, home = run_home(args, study, pairs, total, seed)
                homes.setdefault(home, []).append(name)
    records = run_study.read_records(study.results_dir, "udpos", [UNTOUCHED])
    for home, names in homes.items():
        records.update(run_study.read_records(home, "udpos", names))
    return records


def build_report(args, study, records):
    """(rows, comparisons) of docs/scaling-pos.json from the finished POS records."""
    if UNTOUCHED not in records:
        return [], []
    pairs_seen = study.post_steps * study.batch_size
    columns = (*TRANSFER_LANGUAGES, "avg")

    def accuracy(names):  # means over post-training x fine-tuning seeds
        scores = run_study.run_scores([records[name] for name in names], study.finetune_seeds, TRANSFER_LANGUAGES)
        return {column: round(scores[column][0], 2) for column in columns}

    rows = [{"language_pairs": [], "pairs_per_language_pair": 0, "total_pairs": 0, "pairs_seen": 0,
             "n_post_seeds": 0, "n_finetune_seeds": len(study.finetune_seeds), "udpos_accuracy": accuracy([UNTOUCHED]),
             "ci95": None}]
    finished = {}
    for pairs in args.series():
        for total in args.total_pairs:
            names = [name for name in (run_home(args, study, pairs, total, seed)[0] for seed in args.post_seeds)
                     if name in records]
            if not names:
                continue
            finished[pairs, total] = names
            versus = {group: difference(study, records, names, [UNTOUCHED], languages)
                      for group, languages in language_groups(pairs, TRANSFER_LANGUAGES).items()}
            rows.append({"language_pairs": list(pairs), "pairs_per_language_pair": total // len(pairs),
                         "total_pairs": total, "pairs_seen": pairs_seen, "epochs": pairs_seen / total,
                         "n_post_seeds": len(names), "n_finetune_seeds": len(study.finetune_seeds),
                         "udpos_accuracy": accuracy(names),
                         "delta_vs_untouched": versus["all"]["delta"], "ci95": versus["all"]["ci95"],
                         "by_language_group": versus})
    comparisons = []
    for pairs in args.series():  # more data, the same exposure
        sizes = [total for total in args.total_pairs if (pairs, total) in finished]
        if len(sizes) > 1:
            large, small = max(sizes), min(sizes)
            for group, languages in language_groups(pairs, TRANSFER_LANGUAGES).items():
                comparisons.append({"comparison": f"{'+'.join(pairs)}: {large} pairs vs {small}", "group": group,
                                    **difference(study, records, finished[pairs, large], finished[pairs, small],
                                                 languages)})
    series = args.series()
    for total in args.total_pairs:  # more language pairs, the same data size and exposure
        for many, few in ((a, b) for a in series for b in series if len(a) > len(b)):
            if (many, total) in finished and (few, total) in finished:
                for group, languages in language_groups(few, TRANSFER_LANGUAGES).items():
                    comparisons.append({"comparison": f"{total} pairs: {'+'.join(many)} vs {'+'.join(few)}",
                                        "group": group, **difference(study, records, finished[many, total],
                                                                         finished[few, total], languages)})
    return rows, comparisons


def write_report(args, study, command, records):
    rows, comparisons = build_report(args, study, records)
    stage_records = [json.loads(path.read_text()) for path in sorted(args.results_dir.glob("*.json"))]
    seconds_by_device, time_words = run_study.stage_time(stage_records)
    expected = len(args.series()) * len(args.total_pairs) * len(args.post_seeds)
    done = sum(row["n_post_seeds"] for row in rows)
    pairs_seen = study.post_steps * study.batch_size
    lines = [
        "# Scaling on POS tagging: does WEAM transfer better with more parallel data, or with more language pairs?",
        "",
        f"Produced by `{command}` ({time.strftime('%Y-%m-%d')}); its own stages took {time_words}, each stage's wall "
        "time summed (each stage's time is in its file in `study/results/scaling/`); the runs of "
        f"three language pairs at {study.pairs_per_language * 3} pairs, the warm-up and the untouched encoder's POS "
        f"runs are the study's (docs/study.md). Finished: {done} of the {expected} post-training runs"
        + (" (`python study/run_scaling_pos.py` resumes)." if done < expected else "."),
        "",
        f"WEAM from the study's warm-up, every run seeing {pairs_seen} pairs ({study.post_steps} steps of "
        f"{study.batch_size}; exposure fixed, so a set of N pairs is seen {pairs_seen}/N times); zero-shot POS "
        f"tagging from English (the study's task: {study.pos_train_sentences} EWT sentences, the first "
        f"{study.pos_test_sentences} test sentences of de, es, zh; fine-tuning seeds "
        f"{', '.join(map(str, study.finetune_seeds))}); word accuracy, mean over post-training × fine-tuning seeds. "
        "Δ: the paired difference from the untouched encoder (points of the mean over the languages named), with a "
        "95% bootstrap interval over post-training seeds, fine-tuning seeds and test sentences; with 2-3 seeds the "
        "interval's seed part is a plug-in estimate and understates it: read an interval that just misses zero as "
        "borderline."
        + (" Rows with one post-training seed (one seed) leave the post-training seed's noise out of their intervals "
           "entirely." if any(row["n_post_seeds"] == 1 for row in rows) else ""),
        "",
        "| language pairs | pairs per language pair | epochs | post seeds | " + " | ".join(TRANSFER_LANGUAGES)
        + " | avg | Δ avg [95%] | Δ with parallel data | Δ without |",
        "|---|---:|---:|---:|" + "---:|" * (len(TRANSFER_LANGUAGES) + 1) + "---|---|---|",
    ]

    for row in rows:
        lines.append(
            f"| {'+'.join(row['language_pairs']) or 'untouched encoder'} | {row['pairs_per_language_pair'] or '-'} | "
            f"{format(row['epochs'], 'g') if 'epochs' in row else '-'} | {row['n_post_seeds'] or '-'} | "
            + " | ".join(f"{row['udpos_accuracy'][c]:.2f}" for c in (*TRANSFER_LANGUAGES, "avg")) + " | "
            + " | ".join(delta_cell(row, group) for group in ("all", "with parallel data", "without parallel data")) + " |")
    if comparisons:
        lines += comparison_table(comparisons)
        shown = [f"{c['comparison']} ({', '.join(c['languages'])}): {c['delta']:+.2f}" for c in comparisons
                 if verdict(c) != "includes zero"]
        above = [f"{'+'.join(row['language_pairs'])} at {row['total_pairs']} pairs: {row['delta_vs_untouched']:+.2f}"
                 for row in rows[1:] if verdict(row["by_language_group"]["all"]) != "includes zero"]
        mdes = [c["minimum_detectable_effect"] for c in comparisons]
        tests = len(comparisons) + len(rows) - 1
        lines += ["", "**In short**: " + (f"against the untouched encoder, intervals that exclude zero: {'; '.join(above)}"
                                          ". " if above else "no run's interval against the untouched encoder excludes "
                                          "zero. ")
                  + (f"Between runs, intervals that exclude zero: {'; '.join(shown)}. " if shown else
                     "No difference between data sizes or language-pair counts has an interval that excludes zero. ")
                  + f"The design detects differences of {min(mdes):.2f}-{max(mdes):.2f} points between runs (MDE). "
                  + chance_words(tests)]
    lines += [
        "",
        "![accuracy difference from the untouched encoder against training pairs](scaling-pos.png)",
        "",
        "The question as asked, with zero-shot TyDiQA-GoldP F1 and parallel data in its languages (ar, bn, fi, id, "
        "ko, ru, sw, te), one epoch per size up to 16,000 pairs: docs/scaling.md. These are CPU-sized runs "
        "(at most 960 distinct pairs) on an encoder already trained for cross-lingual similarity; they do not say "
        "how WEAM scales to the papers' millions of pairs.",
    ]
    args.docs_dir.mkdir(parents=True, exist_ok=True)
    (args.docs_dir / "scaling-pos.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = {"command": command, "wall_seconds": sum(seconds_by_device.values()), "seconds_by_device": seconds_by_device,
              "task": "udpos (zero-shot from English)", "metric": "word accuracy",
              "stage_seconds": {r["stage"]: r["seconds"] for r in stage_records}, "rows": rows, "comparisons": comparisons}
    (args.docs_dir / "scaling-pos.json").write_text(json.dumps(report, indent=2) + "\n")
    if len(rows) > 1:
        plot(rows, args.docs_dir / "scaling-pos.png")
    print("\n".join(lines))


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharey=True)
    series = list(dict.fromkeys(tuple(row["language_pairs"]) for row in rows[1:]))
    for axis, with_data in zip(axes, (True, False)):
        for pairs in series:
            points = []
            for row in rows[1:]:
                if tuple(row["language_pairs"]) == pairs:
                    group = row["by_language_group"].get("with parallel data" if with_data else "without parallel data")
                    if group:
                        points.append((row["total_pairs"], group))
            if points:
                x = [total for total, _ in points]
                run_study.interval_bars(axis, x, [entry for _, entry in points], fmt="o-", label="+".join(pairs))
        axis.axhline(0, color="gray", linewidth=0.8)
        axis.set_xscale("log", base=2)
        axis.set_xlabel("training pairs (each run sees the same number)")
        axis.set_title("languages with parallel data" if with_data else "languages without parallel data", fontsize=10)
        axis.legend(fontsize=8)
    axes[0].set_ylabel("Δ POS accuracy vs untouched (points)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv=None):
    run_main(sys.modules[__name__], "study/run_scaling_pos.py", argv)


if __name__ == "__main__":
    main()
