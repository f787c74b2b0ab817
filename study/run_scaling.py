#!/usr/bin/env python
"""Scaling on TyDiQA-GoldP's languages: how does WEAM's effect on zero-shot TyDiQA-GoldP F1 change as the parallel
data in those languages grow?

    python study/run_scaling.py              # resumable; study/results/scaling-tydiqa/*.json, docs/scaling.md, .json, .png
    python study/run_scaling.py --data_only  # the data stage alone (eflomal: a CPU's work; its files are committed)
    python study/run_scaling.py --workers 8  # the runs at once (a GPU machine with many cores)

Run after (or beside) study/run_study.py, whose warm-up, TyDiQA-GoldP task, statistics and untouched encoder's
TyDiQA-GoldP stage it shares (study/run_scaling_pos.py asks the same question on POS tagging with de, es, zh):

1. data       Parallel data in the TyDiQA-GoldP languages themselves: every file of ../shared/data/parallel/
              {ar,bn,fi,id,ko,ru,sw,te}-en (WMT news, NTREX-128, TICO-19, Tatoeba), deduplicated, every pair removed
              whose either side appears in an evaluation set (the study's, and TyDiQA-GoldP's dev questions and
              context sentences), kept when the pair fits --max_seq_length. A seeded sample per language pair, as many
              pairs as its largest run takes (en-ru 16,000, every other 2,000), with eflomal's word links
              (grow-diag-final-and; the rest of the pair's clean pairs as extra text), committed gzip-compressed in
              RESULTS_DIR/data (eflomal cannot be seeded: committed links keep the study resumable anywhere).
2. post-train WEAM from the study's warm-up with the study's post-training settings (learning rate, 16 pairs a step,
              30% masking, the corpus's pieces as the prediction vocabulary), one epoch over N pairs in all
              (--total_pairs; steps = N / 16: the papers' practice, more data is more steps), of one language pair
              (en-ru: the largest corpus, so that its 16,000 pairs are distinct) or spread evenly over all 8. The
              smaller sets are the first lines of the larger (nested). A control per series repeats the smallest set
              for as many steps as the largest run: data size and steps told apart.
3. transfer   The study's zero-shot TyDiQA-GoldP stage (English GoldP training questions; the dev questions of
              en and the 8 others; 3 fine-tuning seeds), F1 split into the languages with and without parallel
              data in the run (en-ru runs: ru, and the other 7).
4. report     docs/scaling.md, .json (a row per run setting, the untouched encoder first) and .png: each row's F1,
              its paired difference from the untouched encoder with a 95% bootstrap interval (post-training seeds,
              fine-tuning seeds, questions), and the differences between sizes, between data and steps, and between
              one language pair and eight.
"""

import functools
import gzip
import hashlib
import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_study  # noqa: E402
from run_study import PARALLEL, REPO, SHARED, TYDIQA_LANGUAGES, UNTOUCHED, StudyArguments  # noqa: E402
from transformers import AutoTokenizer, HfArgumentParser  # noqa: E402

from weam.cli import HelpFormatter  # noqa: E402
from weam.word_alignment import read_lines  # noqa: E402

TYDIQA_PAIRS = tuple(f"en-{language}" for language in TYDIQA_LANGUAGES)
# The other language's file suffix in ../shared/data/parallel/XX-en.
FILE_SUFFIXES = {"ar": "ara", "bn": "ben", "fi": "fin", "id": "ind", "ko": "kor", "ru": "rus", "sw": "swa", "te": "tel"}
# Both sides of a pair non-empty: WEAM trains on short pairs too (the study's 10 subwords a side are PPA's filter).
MIN_SIDE_SUBWORDS = 1


@dataclass
class ScalingArguments:
    language_pair_sets: list[str] = field(
        default_factory=lambda: ["en-ru", "+".join(TYDIQA_PAIRS)],
        metadata={"help": f"The language pairs of each series, joined by '+' (of {', '.join(TYDIQA_PAIRS)}). en-ru "
                          "alone: the largest corpus (50,708 clean pairs fit), so that its largest run sees distinct pairs."})
    total_pairs: list[int] = field(default_factory=lambda: [960, 4000, 16000], metadata={
        "help": "Distinct training pairs in all, spread evenly over a series' language pairs, each seen once (one "
                "epoch: steps = N / the study's 16 pairs a step). 960 is the study's budget (60 steps)."})
    controls: bool = field(default=True, metadata={
        "help": "Also, per series, the smallest set repeated for as many steps as the largest run: against the "
                "largest run, the same steps with less data; against the smallest, the same data with more steps."})
    post_seeds: list[int] = field(default_factory=lambda: [1, 2], metadata={"help": "Post-training seeds."})
    max_seq_length: int = field(default=128, metadata={
        "help": "Longest pair in subwords (longer pairs are not sampled). 128, not the study's 64: at 64 only 1,217 "
                "of te-en's 2,248 clean pairs fit (NTREX sentences are long), fewer than the 2,000 the largest run "
                "of all 8 language pairs takes; at 128, 2,143."})
    workers: int = field(default=1, metadata={
        "help": "Units of work run at once (the untouched encoder's TyDiQA-GoldP stage; each run's post-training and "
                "then its TyDiQA-GoldP stage), as in study/run_study.py."})
    results_dir: Path = field(default=REPO / "study" / "results" / "scaling-tydiqa",
                              metadata={"help": "Each finished stage's result (small JSON files, kept in git)."})
    docs_dir: Path = field(default=REPO / "docs", metadata={"help": "Where scaling.md, .json and .png go."})
    data_only: bool = field(default=False, metadata={
        "help": "Run the data stage alone (eflomal runs on the CPU: a GPU machine then runs the rest)."})
    report_only: bool = field(default=False, metadata={"help": "Write the report from the finished stages; run nothing."})

    def series(self):
        return [tuple(pairs.split("+")) for pairs in self.language_pair_sets]


@dataclass(frozen=True)
class Run:
    """One post-training setting: `total` distinct pairs spread evenly over `pairs`, `pairs_seen` pairs seen in
    all (`total`: one epoch; a control repeats its set)."""

    pairs: tuple
    total: int
    pairs_seen: int

    @property
    def control(self):
        return self.pairs_seen != self.total

    def name(self, seed):
        return f"weam-{'+'.join(self.pairs)}-{self.total}" + (f"-{self.pairs_seen}seen" if self.control else "") + f"-seed{seed}"


def design(args):
    """Every Run, series by series: each size for one epoch, then the control."""
    runs = []
    for pairs in args.series():
        runs += [Run(pairs, total, total) for total in args.total_pairs]
        if args.controls:
            runs.append(Run(pairs, min(args.total_pairs), max(args.total_pairs)))
    return runs


def series_label(pairs):
    return "+".join(pairs) if len(pairs) < 3 else f"{len(pairs)} language pairs"


def parse_command_line(argv=None):
    (args,) = HfArgumentParser(ScalingArguments, description=__doc__,
                               formatter_class=HelpFormatter).parse_args_into_dataclasses(argv)
    study = StudyArguments(workers=args.workers)
    for pairs in args.series():
        if unknown := [pair for pair in pairs if pair not in TYDIQA_PAIRS]:
            sys.exit(f"error: --language_pair_sets: unknown {', '.join(unknown)}; choose from {', '.join(TYDIQA_PAIRS)}")
        if bad := [total for total in args.total_pairs if total % len(pairs) or total % study.batch_size]:
            sys.exit(f"error: --total_pairs {bad}: each must split evenly over {len(pairs)} language pair(s) and be a "
                     f"multiple of the study's {study.batch_size} pairs a step (one epoch of whole steps)")
    if args.workers < 1:
        sys.exit("error: --workers must be 1 or more")
    return args, study


# ----------------------------------------------------------------------------- 1. data


def tydiqa_sources():
    """{language pair: (folder, file stems, the other language's suffix)}: every file of ../shared/data/parallel/
    XX-en (Tatoeba too: the study holds it out for its retrieval test, which is not run here)."""
    sources = {}
    for language, suffix in FILE_SUFFIXES.items():
        folder = PARALLEL / f"{language}-en"
        stems = sorted(str(path.relative_to(folder).with_suffix("")) for path in folder.rglob("*.eng"))
        sources[f"en-{language}"] = (folder.name, stems, suffix)
    return sources


@functools.cache
def held_out_sentences():
    """The study's evaluation sets and TyDiQA-GoldP's dev questions and context sentences."""
    return {**run_study.evaluation_sentences(), **run_study.tydiqa_dev_sentences()}


def samples_needed(args):
    """{language pair: the pairs its largest run takes}."""
    needed = {}
    for pairs in args.series():
        for pair in pairs:
            needed[pair] = max(needed.get(pair, 0), max(args.total_pairs) // len(pairs))
    return needed


def sample_pairs(args, here, pair, count, tokenizer):
    """Stage data-PAIR: RESULTS_DIR/data/PAIR.{en,xx,align}.gz, a seeded sample of `count` clean pairs (in the
    sample's order: a run takes the first lines) and their eflomal links."""
    language = pair[3:]
    settings = {"pair": pair, "count": count, "seed": here.seed, "max_seq_length": args.max_seq_length,
                "min_side_subwords": MIN_SIDE_SUBWORDS, "held out": "the study's evaluation sets and TyDiQA-GoldP dev",
                "tokenizer": "multilingual-e5-small", "aligner": "eflomal grow-diag-final-and"}

    def run():
        pool, fits, counts = run_study.clean_pairs(pair, held_out_sentences(), tokenizer, args.max_seq_length,
                                                   tydiqa_sources(), MIN_SIDE_SUBWORDS)
        if len(fits) < count:
            sys.exit(f"{pair}: only {len(fits)} pairs fit, fewer than the {count} its largest run takes")
        sample = random.Random(here.seed).sample(fits, count)
        taken = set(sample)
        folder = here.work_dir / "scaling-tydiqa" / "eflomal"
        run_study.align_sample(here, f"align-{pair}", pair, sample, [p for p in pool if p not in taken], folder, folder,
                               folder / f"{pair}.align")
        (args.results_dir / "data").mkdir(parents=True, exist_ok=True)
        for suffix in ("en", language, "align"):  # mtime 0: the same files give the same bytes
            packed = gzip.compress((folder / f"{pair}.{suffix}").read_bytes(), mtime=0)
            (args.results_dir / "data" / f"{pair}.{suffix}.gz").write_bytes(packed)
        return {**counts, "sampled": count, "extra text for eflomal": len(pool) - count}

    return run_study.resumable(here, f"data-{pair}", settings, run)


def prepare_data(args, here, tokenizer):
    """Every language pair's sample (the data stage where it has not run), unpacked into WORK_DIR/scaling-tydiqa/data;
    returns {language pair: that folder}."""
    folder = here.work_dir / "scaling-tydiqa" / "data"
    folder.mkdir(parents=True, exist_ok=True)
    for pair, count in samples_needed(args).items():
        sample_pairs(args, here, pair, count, tokenizer)
        for suffix in ("en", pair[3:], "align"):
            text = gzip.decompress((args.results_dir / "data" / f"{pair}.{suffix}.gz").read_bytes())
            if not (folder / f"{pair}.{suffix}").exists() or (folder / f"{pair}.{suffix}").read_bytes() != text:
                (folder / f"{pair}.{suffix}").write_bytes(text)
    return {pair: folder for pair in samples_needed(args)}


def run_corpora(study, sources, pairs, total):
    """run_pretrain.py --train_data specs of one run: the first total/len(pairs) lines of each pair's files
    (written under WORK_DIR/scaling-data/), and a digest of their contents."""
    per_pair = total // len(pairs)
    folder = study.work_dir / "scaling-data" / f"{'+'.join(pairs)}-{total}"
    folder.mkdir(parents=True, exist_ok=True)
    specs, digest = [], hashlib.sha256()
    for pair in pairs:
        paths = []
        for suffix in ("en", pair[3:], "align"):
            lines = read_lines(sources[pair] / f"{pair}.{suffix}")[:per_pair]
            if len(lines) < per_pair:
                sys.exit(f"{sources[pair] / pair}.{suffix}: {len(lines)} lines, fewer than the {per_pair} asked for")
            text = "".join(f"{line}\n" for line in lines)
            (folder / f"{pair}.{suffix}").write_text(text, encoding="utf-8")
            digest.update(f"{pair}.{suffix}".encode() + text.encode())
            paths.append(str(folder / f"{pair}.{suffix}"))
        specs.append(f"{pair}={','.join(paths)}")
    return specs, digest.hexdigest()[:16]


# ----------------------------------------------------------------------------- 2-3. models and transfer


def scaling_models(args, study, warm, sources):
    """{name: Model} of every run of the design and post seed: post seed by post seed (a partial run covers the
    design), the longest runs of a seed first (units at once end together)."""
    post = replace(study, max_seq_length=args.max_seq_length)
    models = {}
    for seed in args.post_seeds:
        for run in sorted(design(args), key=lambda run: -run.pairs_seen):
            corpora, data_key = run_corpora(study, sources, run.pairs, run.total)
            models[run.name(seed)] = run_study.post_trained(post, warm, "weam", seed, run.name(seed), corpora, data_key,
                                                            steps=run.pairs_seen // study.batch_size)
    return models


def run_all(args, study):
    untouched = run_study.ensure_model(study.model_dir)
    tokenizer = AutoTokenizer.from_pretrained(untouched)
    here = replace(study, results_dir=args.results_dir)  # the scaling study's own stages are recorded here
    sources = prepare_data(args, here, tokenizer)
    if args.data_only:
        return
    warm, _ = run_study.study_models(study, run_study.prepare_data(study, tokenizer))
    units = [functools.partial(run_study.run_transfer, study, "tydiqa", UNTOUCHED, "multilingual-e5-small",
                               lambda: untouched)]
    units += [functools.partial(run_study.run_transfer, here, "tydiqa", name, model.key,
                                functools.partial(model.path, here))
              for name, model in scaling_models(args, study, warm, sources).items()]
    run_study.run_units(units, args.workers)


# ----------------------------------------------------------------------------- 4. report


def load_records(args, study):
    """{name: TyDiQA-GoldP record} of the untouched encoder (the study's stage) and every finished run."""
    names = [run.name(seed) for seed in args.post_seeds for run in design(args)]
    return {**run_study.read_records(study.results_dir, "tydiqa", [UNTOUCHED]),
            **run_study.read_records(args.results_dir, "tydiqa", names)}


def language_groups(pairs, languages):
    """{group: its languages}: all of `languages`, and those with and without parallel data in the run."""
    with_data = [language for language in languages if f"en-{language}" in pairs]
    without = [language for language in languages if language not in with_data]
    groups = {"all": list(languages), "with parallel data": with_data, "without parallel data": without}
    return {group: found for group, found in groups.items() if found}


def difference(study, records, names, baseline_names, languages):
    """The paired difference of the mean score over `languages`: runs `names` minus runs `baseline_names`."""
    return {"languages": list(languages), **run_study.paired_difference(
        study, [records[name] for name in names], [records[name] for name in baseline_names], languages)}


def verdict(entry):
    return {"above": "above zero", "below": "below zero"}.get(run_study.verdict(entry), "includes zero")


def interval(entry):
    return f"{entry['delta']:+.2f} [{entry['ci95'][0]:+.2f}, {entry['ci95'][1]:+.2f}]"


def delta_cell(row, group):
    """A table cell: a row's difference from the untouched encoder on a language group, its languages named."""
    entry = row.get("by_language_group", {}).get(group)
    if entry is None:
        return "-"
    named = "" if group == "all" else f"{', '.join(entry['languages'])}: "
    return f"{named}{interval(entry)}"


def comparison_table(comparisons):
    """The report's lines of the paired differences between runs."""
    return (["", "**Paired differences between runs** (MDE: the smallest true difference the design detects with 80% "
             "power at the 5% level):", "", "| comparison | languages | Δ | 95% interval | MDE | |",
             "|---|---|---:|---|---:|---|"]
            + [f"| {c['comparison']} | {c['group']} ({', '.join(c['languages'])}) | {c['delta']:+.2f} | "
               f"[{c['ci95'][0]:+.2f}, {c['ci95'][1]:+.2f}] | {c['minimum_detectable_effect']:.2f} | {verdict(c)} |"
               for c in comparisons])


def chance_words(tests):
    """What `tests` intervals at the 5% level give by chance alone."""
    return (f"These are {tests} intervals at the 5% level (the language groups overlap): about {0.05 * tests:.1f} would "
            "exclude zero by chance alone if nothing differed, so a lone interval that excludes zero is a lead to repeat "
            "with more seeds, not a finding.")


def build_report(args, study, records):
    """(rows, comparisons) of docs/scaling.json from the finished TyDiQA-GoldP records."""
    if UNTOUCHED not in records:
        return [], []
    task = run_study.TASKS["tydiqa"]

    def scores(names, measure):  # means over post-training x fine-tuning seeds
        found = run_study.run_scores([records[name] for name in names], study.finetune_seeds, task.languages, measure,
                                     task.tabled)
        return {column: round(found[column][0], 2) for column in (*task.tabled, "avg")}

    rows = [{"language_pairs": [], "pairs_per_language_pair": 0, "total_pairs": 0, "pairs_seen": 0, "steps": 0,
             "epochs": 0, "control": False, "n_post_seeds": 0, "n_finetune_seeds": len(study.finetune_seeds),
             "tydiqa_f1": scores([UNTOUCHED], "correct"), "tydiqa_em": scores([UNTOUCHED], "exact_match"),
             "delta_vs_untouched": None, "ci95": None, "by_language_group": {}}]
    finished = {}
    for run in design(args):
        names = [run.name(seed) for seed in args.post_seeds if run.name(seed) in records]
        if not names:
            continue
        finished[run] = names
        versus = {group: difference(study, records, names, [UNTOUCHED], languages)
                  for group, languages in language_groups(run.pairs, task.languages).items()}
        rows.append({"language_pairs": list(run.pairs), "pairs_per_language_pair": run.total // len(run.pairs),
                     "total_pairs": run.total, "pairs_seen": run.pairs_seen, "steps": run.pairs_seen // study.batch_size,
                     "epochs": round(run.pairs_seen / run.total, 2), "control": run.control, "n_post_seeds": len(names),
                     "n_finetune_seeds": len(study.finetune_seeds), "tydiqa_f1": scores(names, "correct"),
                     "tydiqa_em": scores(names, "exact_match"), "delta_vs_untouched": versus["all"]["delta"],
                     "ci95": versus["all"]["ci95"], "by_language_group": versus})
    comparisons = []

    def compare(label, run, baseline, groups_of):
        if run in finished and baseline in finished:
            for group, languages in language_groups(groups_of, task.languages).items():
                comparisons.append({"comparison": label, "group": group,
                                    **difference(study, records, finished[run], finished[baseline], languages)})

    small, large = min(args.total_pairs), max(args.total_pairs)
    steps = large // study.batch_size
    for pairs in args.series():
        name = series_label(pairs)
        compare(f"{name}: {large} pairs vs {small} (one epoch each)", Run(pairs, large, large), Run(pairs, small, small),
                pairs)
        compare(f"{name}: {large} distinct pairs vs {small} repeated, both {steps} steps (the data)",
                Run(pairs, large, large), Run(pairs, small, large), pairs)
        compare(f"{name}: {small} pairs for {steps} steps vs {small // study.batch_size} (the steps)",
                Run(pairs, small, large), Run(pairs, small, small), pairs)
    series = args.series()
    for total in args.total_pairs:  # more language pairs, the same data size and steps
        for many, few in ((a, b) for a in series for b in series if len(a) > len(b)):
            compare(f"{total} pairs: {series_label(many)} vs {series_label(few)}", Run(many, total, total),
                    Run(few, total, total), few)
    return rows, comparisons


def curve_words(args, study, rows, comparisons):
    """What the curve shows, series by series, in words."""
    lines = []
    for pairs in args.series():
        found = [row for row in rows[1:] if tuple(row["language_pairs"]) == pairs and not row["control"]]
        if not found:
            continue
        points = "; ".join(f"{row['total_pairs']:,} pairs: {interval(row['by_language_group']['all'])}"
                           + "".join(f", {group.removesuffix(' parallel data')} parallel data "
                                     f"({', '.join(entry['languages'])}) {interval(entry)}"
                                     for group, entry in row["by_language_group"].items() if group != "all")
                           for row in found)
        mine = [c for c in comparisons if c["comparison"].startswith(f"{series_label(pairs)}:")]
        lines += ["", f"- **{series_label(pairs)}** ({', '.join(pairs)}), Δ F1 from the untouched encoder: {points}."
                  + "".join(f" {c['comparison'].split(': ', 1)[1]}, {c['group']}: {interval(c)}, MDE "
                            f"{c['minimum_detectable_effect']:.2f} ({verdict(c)})." for c in mine)]
    many = [c for c in comparisons if re.match(r"\d+ pairs: ", c["comparison"])]
    if many:
        lines += ["", "- **More language pairs at equal size**: "
                  + "; ".join(f"{c['comparison']}, {c['group']}: {interval(c)} (MDE {c['minimum_detectable_effect']:.2f})"
                              for c in many) + "."]
    return lines


def write_report(args, study, command, records):
    rows, comparisons = build_report(args, study, records)
    stage_records = [json.loads(path.read_text()) for path in sorted(args.results_dir.glob("*.json"))]
    seconds_by_device, time_words = run_study.stage_time(stage_records)
    runs = design(args)
    expected = len(runs) * len(args.post_seeds)
    done = sum(row["n_post_seeds"] for row in rows)
    task = run_study.TASKS["tydiqa"]
    lines = [
        "# Scaling on TyDiQA-GoldP's languages: does WEAM transfer better with more parallel data in them?",
        "",
        f"Produced by `{command}` ({time.strftime('%Y-%m-%d')}); its own stages took {time_words}, each stage's wall time "
        "summed (each stage's time and device are in its file in `study/results/scaling-tydiqa/`); the warm-up and "
        f"the untouched encoder's TyDiQA-GoldP stage are the study's (docs/study.md). Finished: {done} of the "
        f"{expected} post-training runs" + (" (`python study/run_scaling.py` resumes)." if done < expected else "."),
        "",
        f"WEAM from the study's warm-up on parallel data in the TyDiQA-GoldP languages themselves, {study.batch_size} "
        f"pairs a step, one epoch over {', '.join(f'{total:,}' for total in args.total_pairs)} pairs (steps = pairs / "
        f"{study.batch_size}: more data is more steps, the papers' practice), of en-ru alone or of the 8 language pairs "
        "evenly; the control rows repeat the smallest set for the largest run's steps. Zero-shot TyDiQA-GoldP from "
        "English (the study's stage: all GoldP training questions, every dev question; fine-tuning seeds "
        f"{run_study.comma_seeds(study.finetune_seeds)}); F1 with SQuAD v1.1's normalization, mean over post-training "
        "× fine-tuning seeds; avg: the 8 languages other than English. Δ: the paired difference from the untouched "
        "encoder (F1 points of the mean over the languages named), with a 95% bootstrap interval over post-training "
        "seeds, fine-tuning seeds and questions; with 2-3 seeds the interval's seed part is a plug-in estimate and "
        "understates it: read an interval that just misses zero as borderline."
        + (" Rows with one post-training seed (one seed) leave the post-training seed's noise out of their intervals "
           "entirely." if any(row["n_post_seeds"] == 1 for row in rows) else ""),
        "",
    ]
    if rows:
        lines += ["| language pairs | pairs per pair | pairs | steps | epochs | post seeds | " + " | ".join(task.tabled)
                  + " | avg | EM avg | Δ avg [95%] | Δ with parallel data | Δ without |",
                  "|---|---:|---:|---:|---:|---:|" + "---:|" * (len(task.tabled) + 2) + "---|---|---|"]
    else:
        lines.append("No TyDiQA-GoldP stage has finished yet, not even the untouched encoder's.")
    for row in rows:
        name = series_label(row["language_pairs"]) + (" (control)" if row["control"] else "") if row["language_pairs"] \
            else "untouched encoder"
        lines.append(
            f"| {name} | {row['pairs_per_language_pair'] or '-'} | {row['total_pairs'] or '-'} | {row['steps'] or '-'} | "
            f"{format(row['epochs'], 'g') if row['epochs'] else '-'} | {row['n_post_seeds'] or '-'} | "
            + " | ".join(f"{row['tydiqa_f1'][c]:.2f}" for c in (*task.tabled, "avg")) + f" | {row['tydiqa_em']['avg']:.2f} | "
            + " | ".join(delta_cell(row, group) for group in ("all", "with parallel data", "without parallel data")) + " |")
    if comparisons:
        lines += comparison_table(comparisons)
    if len(rows) > 1:
        versus = [f"{series_label(row['language_pairs'])} at {row['total_pairs']:,} pairs"
                  f"{' for ' + str(row['steps']) + ' steps' if row['control'] else ''}, {group}: "
                  f"{row['by_language_group'][group]['delta']:+.2f}" for row in rows[1:] for group in row["by_language_group"]
                  if verdict(row["by_language_group"][group]) != "includes zero"]
        shown = [f"{c['comparison']} ({c['group']}): {c['delta']:+.2f}" for c in comparisons
                 if verdict(c) != "includes zero"]
        mdes = [c["minimum_detectable_effect"] for c in comparisons]
        tests = len(comparisons) + sum(len(row["by_language_group"]) for row in rows[1:])
        lines += ["", "**In short**: " + (f"against the untouched encoder, intervals that exclude zero: {'; '.join(versus)}"
                                          ". " if versus else "no run's interval against the untouched encoder excludes "
                                          "zero. ")
                  + (f"Between runs, intervals that exclude zero: {'; '.join(shown)}. " if shown else
                     "No difference between runs has an interval that excludes zero. " if comparisons else "")
                  + (f"The design detects differences of {min(mdes):.2f}-{max(mdes):.2f} F1 points between runs (MDE). "
                     if mdes else "") + chance_words(tests)]
        lines += ["", "**What the curve shows** (Δ F1 [95% interval] from the untouched encoder, by size):"]
        lines += curve_words(args, study, rows, comparisons)
    if len(rows) > 1:
        lines += ["", "![F1 difference from the untouched encoder against pairs seen](scaling.png)"]
    lines += [
        "",
        "**What it does not show**: how WEAM scales to the papers' data. The largest run sees "
        f"{max(args.total_pairs):,} pairs ({max(args.total_pairs) // study.batch_size} steps), the papers millions; a "
        "curve flat within its MDE here does not exclude gains at 10^5-10^7 pairs, and one that rises does not say "
        "where it would stop. The encoder is multilingual-e5-small, already trained for cross-lingual similarity "
        "(gains on raw mBERT can differ). The warm-up trained WEAM's heads on en-de/en-es/en-zh pieces only. The "
        "parallel data are news (WMT, NTREX-128), TICO-19's health texts and Tatoeba's short sentences, not Wikipedia, "
        "TyDiQA's domain, and NTREX-128's 1,997 English sentences are the same in every language pair. The English "
        "training set is GoldP's 3,696 questions, not SQuAD's 88k as in XTREME, so the F1 is far below published "
        "figures and not comparable with them.",
        "",
        "## What was run",
        "",
        f"- Post-training: WEAM (λ = 1) from the study's warm-up, learning rate {study.learning_rate:g}, 10% warm-up, "
        f"linear decay, {study.batch_size} pairs a step, 30% masking, predictions among the corpus's pieces; pairs of "
        f"at most {args.max_seq_length} subwords (the study's 64 would leave te-en too few pairs); post-training "
        f"seeds {run_study.comma_seeds(args.post_seeds)}. Runs: "
        + "; ".join(f"{series_label(run.pairs)} {run.total:,} pairs, {run.pairs_seen // study.batch_size} steps"
                    for run in runs) + ".",
        "- Parallel data: every file of ../shared/data/parallel/{ar,bn,fi,id,ko,ru,sw,te}-en (WMT news test sets for "
        "ru and fi, NTREX-128, TICO-19, Tatoeba), deduplicated, pairs removed whose either side is in the study's "
        "evaluation sets or among TyDiQA-GoldP's dev questions and context sentences; a seeded sample per language pair "
        "(its largest run's share; a run takes the first lines: nested sets) with eflomal's links "
        "(grow-diag-final-and; the rest of the clean pairs as extra text), kept in `study/results/scaling-tydiqa/data/`. "
        "Pairs read, removed and kept:",
        "",
    ]
    counts = {record["stage"].removeprefix("data-"): record["result"] for record in stage_records
              if record["stage"].startswith("data-")}
    if counts:
        lines += run_study.count_table(counts)
    args.docs_dir.mkdir(parents=True, exist_ok=True)
    (args.docs_dir / "scaling.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = {"command": command, "wall_seconds": sum(seconds_by_device.values()), "seconds_by_device": seconds_by_device,
              "task": "tydiqa (zero-shot from English)", "metric": "F1 (SQuAD v1.1 normalization), avg over "
              + ", ".join(task.languages), "stage_seconds": {r["stage"]: r["seconds"] for r in stage_records},
              "rows": rows, "comparisons": comparisons}
    (args.docs_dir / "scaling.json").write_text(json.dumps(report, indent=2) + "\n")
    if len(rows) > 1:
        plot(args, rows, args.docs_dir / "scaling.png")
    print("\n".join(lines))


def plot(args, rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for axis, group in zip(axes, ("with parallel data", "without parallel data")):
        for index, pairs in enumerate(args.series()):
            for control in (False, True):
                points = [(row["pairs_seen"], row["by_language_group"][group]) for row in rows[1:]
                          if tuple(row["language_pairs"]) == pairs and row["control"] == control
                          and group in row["by_language_group"]]
                if not points:
                    continue
                # the series side by side, a control beside the run of its steps
                x = [seen * (1 + 0.03 * index) * (1.1 if control else 1) for seen, _ in points]
                run_study.interval_bars(axis, x, [entry for _, entry in points], fmt="s" if control else "o-",
                                        mfc="none" if control else None, color=f"C{index}",
                                        label=series_label(pairs) + (f", {min(args.total_pairs):,} pairs repeated"
                                                                     if control else ""))
        axis.axhline(0, color="gray", linewidth=0.8)
        axis.set_xscale("log")
        axis.set_xticks(args.total_pairs, [f"{total:,}" for total in args.total_pairs], minor=False)
        axis.minorticks_off()
        axis.set_xlabel("pairs seen (one epoch, except the controls)")
        axis.set_title(f"languages {group}", fontsize=10)
        axis.legend(fontsize=7)
    axes[0].set_ylabel("Δ TyDiQA-GoldP F1 vs untouched (points)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def run_main(script, name, argv, run_only=("--report_only",)):
    """A scaling script's main: `script` (its module, `name` its path) runs what has not finished, unless
    --report_only, and writes its report from the finished stages."""
    args, study = script.parse_command_line(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    command = run_study.report_command(name, argv, run_only)
    if not args.report_only:
        if not (SHARED / "data").is_dir():
            sys.exit(f"{SHARED} is missing: the scaling study needs its data and tools")
        script.run_all(args, study)
    script.write_report(args, study, command, script.load_records(args, study))


def main(argv=None):
    run_main(sys.modules[__name__], "study/run_scaling.py", argv, ("--report_only", "--data_only"))


if __name__ == "__main__":
    main()
