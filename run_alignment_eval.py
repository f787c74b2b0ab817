#!/usr/bin/env python
"""How well a multilingual encoder aligns languages: one model, or two side by side (before/after post-training).

    python run_alignment_eval.py --model mbert-weam-en-de --compare_model bert-base-multilingual-cased \\
        --dictionary MUSE/en-de.dict MUSE/en-es.dict \\
        --tatoeba_dir tatoeba-retrieval --tatoeba_languages de es zh \\
        --gold_alignments gold/test.de-en:gold/deen.talp \\
        --plot --output_dir alignment-eval

Writes alignment_eval.json and alignment_eval.md (metric x model, and model - compare_model), in percent.
Each task runs when its data are given:

  dictionary/NAME/input/p@k   Word translation from the input embeddings (ALIGN-MLM's alignment score):
                              a word is the mean of its subword embeddings; each held-out source word
                              looks for its nearest neighbours (cosine) among the held-out target words;
                              a hit when one of the k is a translation. NAME: the file name, en-de.dict -> en-de.
  dictionary/NAME/layerL/p@k  The same, each word encoded alone ([CLS] word [SEP]) and its subword states
                              at layer L (--layer) averaged.
  tatoeba/LANG/xx->en, en->xx Sentence retrieval as in XTREME: a sentence is the mean of its states at
  tatoeba/avg                 --sentence_layer over its non-special tokens; its nearest neighbour (cosine)
                              among the other language's sentences must be its translation.
  alignment/NAME/aer          The model as a word aligner (SimAlign's argmax or itermax on layer --layer),
  (precision, recall)         against gold alignments (AER: lower is better). NAME: the test file's name.
  alignment_plot.png          --plot: the first --plot_pairs held-out pairs of the first dictionary (MUSE
                              lists frequent words first; one translation per word) projected to 2-D,
                              each pair joined by a line; one panel per model (the WEAM paper's Figure 2).

Held-out dictionary pairs: `weam.dictionaries.split_dictionary` with --dictionary_test_size and --seed, which
puts each word on the same side whatever else is split, so a run of ALIGN-MLM with the same two values
never trained on these words. WEAM checkpoints (run_pretrain.py's output) load with this repository's
classes: no code from the checkpoint runs.

`AlignmentEvalCallback` runs a quick version of the dictionary and Tatoeba tasks at every evaluation of
a `Trainer`.
"""

import argparse
import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Literal

from weam.cli import ArgumentParser, check_model_path, run_as_command
from weam.dictionaries import read_dictionary, split_dictionary
from weam.diagnostics import (
    dictionary_precision, distinct_pairs, first_source_words, plot_word_pairs, read_gold_alignments, read_tatoeba,
    tatoeba_accuracy, word_vectors,
)
from weam.word_alignment import align_neural, alignment_error_rate, load_encoder

logger = logging.getLogger(__name__)

ROLES = ("compare_model", "model")  # table columns and plot panels, left to right


@dataclass
class AlignmentEvalArguments:
    model: str = field(
        metadata={"help": "Model to evaluate: Hub id or folder of a BERT-family encoder, or a WEAM checkpoint."}
    )
    output_dir: str = field(metadata={"help": "Where alignment_eval.json, alignment_eval.md and the plot go."})
    compare_model: str | None = field(
        default=None, metadata={"help": "A second model (e.g. the one before post-training), reported next to "
                                "--model with the difference model - compare_model."}
    )
    dictionary: list[str] = field(
        default_factory=list,
        metadata={"help": "Bilingual dictionaries (one per language pair), in the "
                  "format of --dictionary_format."},
    )
    dictionary_format: Literal["auto", "muse", "pairs", "tsv"] = field(
        default="auto", metadata={"help": "muse (`target @ source`, reversed, as in ../shared), pairs (`source "
                                  "target`), tsv (`source<TAB>target`), or auto (guessed from the first line)."}
    )
    dictionary_test_size: float = field(
        default=0.1, metadata={"help": "Fraction of source words held out, the ones evaluated: give the ALIGN-MLM "
                               "run's value (and --seed) so that it never trained on them."}
    )
    max_dictionary_pairs: int = field(
        default=1000, metadata={"help": "At most this many held-out pairs per dictionary, whole source words in "
                                "file order (MUSE: the most frequent first). 0: all."}
    )
    tatoeba_dir: str | None = field(
        default=None, metadata={"help": "Folder of tatoeba.LANG-eng.LANG / .eng files (LASER's Tatoeba test set), "
                                "e.g. ../shared/data/parallel/tatoeba-retrieval."}
    )
    tatoeba_languages: list[str] = field(
        default_factory=lambda: ["de", "es", "zh"], metadata={"help": "Tatoeba languages (ISO 639-1 codes)."}
    )
    max_tatoeba_pairs: int = field(
        default=0, metadata={"help": "At most this many pairs per language, the first ones (0: all)."}
    )
    gold_alignments: list[str] = field(
        default_factory=list,
        metadata={"help": "Gold word alignment sets as TEST:TALP (TEST: `source ||| target` lines split on spaces; "
                  "TALP: 1-based `i-j` sure and `ipj` possible links)."},
    )
    alignment_method: Literal["argmax", "itermax"] = field(default="argmax", metadata={"help": "SimAlign's matching."})
    max_alignment_pairs: int = field(
        default=0, metadata={"help": "At most this many gold pairs per set, the first ones (0: all)."}
    )
    layer: int = field(
        default=8, metadata={"help": "Layer of the word tasks: dictionary, alignment, plot (0: the embedding layer)."}
    )
    sentence_layer: int = field(default=7, metadata={"help": "Layer of Tatoeba retrieval (XTREME uses 7 for mBERT)."})
    plot: bool = field(default=False, metadata={"help": "Draw alignment_plot.png (needs --dictionary)."})
    plot_pairs: int = field(default=40, metadata={"help": "Word pairs in the plot."})
    plot_projection: Literal["tsne", "pca"] = field(default="tsne", metadata={"help": "2-D projection of the plot."})
    plot_input_embeddings: bool = field(
        default=False, metadata={"help": "Plot input embeddings (what ALIGN-MLM moves) instead of layer --layer."}
    )
    batch_size: int = field(default=64, metadata={"help": "Sentences or words per forward pass."})
    device: str | None = field(default=None, metadata={"help": "torch device (default: cuda if available)."})
    seed: int = field(default=42, metadata={"help": "Seed of the dictionary split and of t-SNE."})

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"--batch_size must be at least 1, got {self.batch_size}")
        if self.plot and not self.dictionary:
            raise ValueError("--plot draws held-out dictionary pairs: give a --dictionary")
        if self.plot and self.plot_pairs < 3:
            raise ValueError(f"--plot_pairs must be at least 3 (for the 2-D projection), got {self.plot_pairs}")
        if not (self.dictionary or self.tatoeba_dir or self.gold_alignments):
            raise ValueError("nothing to evaluate: give --dictionary, --tatoeba_dir and/or --gold_alignments")



# ----------------------------------------------------------------------------------------------
# Data


@dataclass
class Tasks:
    """Everything to evaluate, read before any model is loaded, so that a bad file fails fast."""

    dictionaries: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # name: held-out pairs
    tatoeba: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # language: (sentence, English)
    alignments: dict[str, tuple] = field(default_factory=dict)  # name: (source words, target words, gold)
    plot_pairs: list[tuple[str, str]] = field(default_factory=list)

    def sizes(self):
        sizes = {}
        for name, pairs in self.dictionaries.items():
            sizes[f"dictionary/{name}"] = {
                "pairs": len(pairs),
                "source_words": len({source for source, _ in pairs}),
                "target_words": len({target for _, target in pairs}),
            }
        sizes.update({f"tatoeba/{language}": {"pairs": len(pairs)} for language, pairs in self.tatoeba.items()})
        sizes.update({f"alignment/{name}": {"pairs": len(gold[0])} for name, gold in self.alignments.items()})
        return sizes


def read_tasks(args):
    tasks = Tasks()
    for path in args.dictionary:
        name = os.path.splitext(os.path.basename(path))[0]
        if name in tasks.dictionaries:
            raise ValueError(f"two dictionaries are named {name!r} (after their files): rename one")
        pairs = read_dictionary(path, args.dictionary_format)
        _, held_out = split_dictionary(pairs, args.dictionary_test_size, args.seed)
        if not held_out:
            raise ValueError(f"{path}: no source word was held out; raise --dictionary_test_size")
        tasks.dictionaries[name] = first_source_words(held_out, args.max_dictionary_pairs or None)
        if args.plot and not tasks.plot_pairs:
            tasks.plot_pairs = distinct_pairs(held_out, args.plot_pairs)
            if len(tasks.plot_pairs) < 3:
                raise ValueError(f"{path}: fewer than 3 held-out pairs of distinct words to plot")
    if args.tatoeba_dir:
        for language in args.tatoeba_languages:
            tasks.tatoeba[language] = read_tatoeba(args.tatoeba_dir, language, args.max_tatoeba_pairs or None)
    for spec in args.gold_alignments:
        name = os.path.basename(spec.rpartition(":")[0])
        tasks.alignments[name] = read_gold_alignments(spec, args.max_alignment_pairs or None)
    return tasks


# ----------------------------------------------------------------------------------------------
# Embeddings and scores


def evaluate_model(tokenizer, encoder, tasks, args):
    """Every task's scores for one encoder, as fractions: {"dictionary/NAME/input/p@1": ..., ...}."""
    scores = {}
    for name, pairs in tasks.dictionaries.items():
        for key, value in dictionary_precision(
            tokenizer, encoder, pairs, args.layer, args.batch_size, progress=f"dictionary {name}"
        ).items():
            scores[f"dictionary/{name}/{key}"] = value
    for language, pairs in tasks.tatoeba.items():
        for key, value in tatoeba_accuracy(
            tokenizer, encoder, pairs, args.sentence_layer, args.batch_size, progress=f"tatoeba {language}"
        ).items():
            scores[f"tatoeba/{language}/{key}"] = value
    if tasks.tatoeba:
        retrieval = [value for key, value in scores.items() if key.startswith("tatoeba/")]
        scores["tatoeba/avg"] = sum(retrieval) / len(retrieval)
    for name, (source_words, target_words, gold) in tasks.alignments.items():
        predicted = align_neural(
            source_words, target_words, (tokenizer, encoder), args.layer, args.alignment_method, args.batch_size
        )
        for key, value in alignment_error_rate(predicted, gold).items():
            scores[f"alignment/{name}/{key}"] = value
    return scores


# ----------------------------------------------------------------------------------------------
# Report


def build_report(args, scores, tasks):
    """The JSON report: each metric in percent for each model, and model - compare_model when there are two."""
    roles = [role for role in ROLES if role in scores]
    metrics = {}
    for metric in scores["model"]:
        row = {role: 100 * scores[role][metric] for role in roles}
        if len(roles) == 2:
            row["difference"] = row["model"] - row["compare_model"]
        metrics[metric] = row
    return {
        "models": {role: getattr(args, role) for role in roles},
        "unit": "percent",
        "metrics": metrics,
        "sizes": tasks.sizes(),
        "settings": dataclasses.asdict(args),
    }


def report_markdown(report):
    """The report as a Markdown table, metric x model (and the difference), with what each figure is."""
    roles = list(report["models"])
    header = ["metric"] + [f"`{report['models'][role]}`" for role in roles] + (["Δ"] if len(roles) == 2 else [])
    lines = ["# Alignment evaluation", "", "| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for metric, row in report["metrics"].items():
        cells = [f"{row[role]:.1f}" for role in roles]
        if "difference" in row:
            cells.append(f"{row['difference']:+.1f}")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    settings = report["settings"]
    notes = {
        "dictionary": f"dictionary: P@k of word translation among the held-out target words (input embeddings, or "
        f"layer {settings['layer']} with each word encoded alone).",
        "tatoeba": f"tatoeba: nearest-neighbour retrieval accuracy of mean-pooled layer {settings['sentence_layer']} "
        "states.",
        "alignment": f"alignment: {settings['alignment_method']} matching on layer {settings['layer']}; AER is "
        "lower-is-better.",
    }
    ran = {metric.split("/")[0] for metric in report["metrics"]}
    summary = "Percent" + ("; Δ: the second model minus the first." if len(roles) == 2 else ".")
    summary += "".join(f" {note}" for task, note in notes.items() if task in ran)
    sizes = "; ".join(
        f"{task}: " + ", ".join(f"{count} {what.replace('_', ' ')}" for what, count in size.items())
        for task, size in report["sizes"].items()
    )
    lines += ["", summary, "", f"Sizes: {sizes}."]
    if settings["plot"]:
        what = "input embeddings" if settings["plot_input_embeddings"] else f"layer {settings['layer']}"
        lines += ["", f"![word pairs, {what}](alignment_plot.png)"]
    return "\n".join(lines) + "\n"


def write_report(report, output_dir):
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "alignment_eval.json"), "w", encoding="utf-8") as file:
        json.dump(report, file, indent=2, ensure_ascii=False)
    markdown = report_markdown(report)
    with open(os.path.join(output_dir, "alignment_eval.md"), "w", encoding="utf-8") as file:
        file.write(markdown)
    return markdown


# ----------------------------------------------------------------------------------------------


def parse_command_line(argv=None):
    """The parser (for later errors) and the arguments, checked before any model or file is read."""
    parser = ArgumentParser(
        AlignmentEvalArguments, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    (args,) = parser.parse(argv)  # the checks of AlignmentEvalArguments end in parser.error
    return parser, args


def main(argv=None):
    parser, args = parse_command_line(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scores, panels = {}, []
    try:
        for role in ROLES:
            if getattr(args, role):
                check_model_path(getattr(args, role), f"--{role}")
        tasks = read_tasks(args)
        # the layers above the deepest one used are not loaded
        deepest = max(
            [args.layer] * bool(tasks.dictionaries or tasks.alignments) + [args.sentence_layer] * bool(tasks.tatoeba)
        )
        plotted = None if args.plot_input_embeddings else args.layer
        for role in ROLES:
            name = getattr(args, role)
            if name is None:
                continue
            logger.info(f"evaluating {name}")
            tokenizer, encoder = load_encoder(name, deepest, args.device)
            scores[role] = evaluate_model(tokenizer, encoder, tasks, args)
            if args.plot:
                sources, targets = zip(*tasks.plot_pairs)
                what = "input embeddings" if plotted is None else f"layer {plotted}"
                panels.append((
                    f"{name}\n{what}, {args.plot_projection}",
                    word_vectors(tokenizer, encoder, sources, plotted, args.batch_size),
                    word_vectors(tokenizer, encoder, targets, plotted, args.batch_size),
                ))
    except (ValueError, OSError) as error:  # bad input: a message, not a traceback
        parser.error(str(error))
    markdown = write_report(build_report(args, scores, tasks), args.output_dir)
    print(markdown)
    if args.plot:
        first = next(iter(tasks.dictionaries))
        languages = tuple(first.split("-")) if first.count("-") == 1 else ("source", "target")
        path = os.path.join(args.output_dir, "alignment_plot.png")
        plot_word_pairs(panels, tasks.plot_pairs, path, args.plot_projection, args.seed, languages)
        logger.info(f"wrote {path}")


if __name__ == "__main__":
    run_as_command(main)
