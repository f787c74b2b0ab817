#!/usr/bin/env python
"""How well a multilingual encoder aligns languages: one model, or two side by side (before/after post-training).

    python run_alignment_eval.py --model mbert-weam-en-de --compare_model bert-base-multilingual-cased \\
        --dictionary ../shared/data/dictionaries/en-de.dict,../shared/data/dictionaries/en-es.dict \\
        --tatoeba_dir ../shared/data/parallel/tatoeba-retrieval --tatoeba_languages deu,spa,cmn \\
        --gold_alignments ../shared/data/alignment-gold/test.de-en:../shared/data/alignment-gold/deen.talp \\
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

Held-out dictionary pairs: `align_mlm.split_dictionary` with --dictionary_test_size and --seed, which
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
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import AutoConfig, AutoModel, HfArgumentParser, TrainerCallback

from align_mlm import mean_subword_embeddings, read_dictionary, split_dictionary, tokenize_words
from configuration_weam import WeamConfig
from modeling_weam import WeamModel
from word_alignment import AlignmentFileError, align_neural, alignment_error_rate, load_encoder, read_lines
from word_alignment import read_parallel_file, read_talp

logger = logging.getLogger(__name__)

# WEAM checkpoints load through the Auto classes with this repository's code.
AutoConfig.register(WeamConfig.model_type, WeamConfig, exist_ok=True)
AutoModel.register(WeamConfig, WeamModel, exist_ok=True)

ROLES = ("compare_model", "model")  # table columns and plot panels, left to right
ENGLISH = "eng"  # Tatoeba's name for English


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
        metadata={"help": "Bilingual dictionaries, space- or comma-separated (one per language pair), in the "
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
    tatoeba_languages: str = field(default="deu,spa,cmn", metadata={"help": "Tatoeba languages, comma-separated."})
    max_tatoeba_pairs: int = field(
        default=0, metadata={"help": "At most this many pairs per language, the first ones (0: all)."}
    )
    gold_alignments: list[str] = field(
        default_factory=list,
        metadata={"help": "Gold word alignment sets as TEST:TALP (TEST: `source ||| target` lines split on spaces; "
                  "TALP: 1-based `i-j` sure and `ipj` possible links), space- or comma-separated."},
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
        self.dictionary = comma_separated(self.dictionary)
        self.gold_alignments = comma_separated(self.gold_alignments)
        for model in (self.model, self.compare_model):
            # a path, not a Hub id, that does not exist (the Hub's own message would be about repo names)
            if model and (os.path.isabs(model) or model.startswith(".")) and not os.path.isdir(model):
                raise ValueError(f"{model}: no such model folder")
        if self.plot and not self.dictionary:
            raise ValueError("--plot draws held-out dictionary pairs: give a --dictionary")
        if self.plot and self.plot_pairs < 3:
            raise ValueError(f"--plot_pairs must be at least 3 (for the 2-D projection), got {self.plot_pairs}")
        if not (self.dictionary or self.tatoeba_dir or self.gold_alignments):
            raise ValueError("nothing to evaluate: give --dictionary, --tatoeba_dir and/or --gold_alignments")


def comma_separated(values):
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


# ----------------------------------------------------------------------------------------------
# Data


def first_source_words(pairs, max_pairs=None):
    """The pairs of the first source words (file order), whole words only, at most `max_pairs` pairs (None: all)."""
    if max_pairs is None:
        return list(pairs)
    chosen, used = set(), 0
    for source, size in Counter(source for source, _ in pairs).items():  # a Counter keeps the first-seen order
        if used + size > max_pairs:
            break
        chosen.add(source)
        used += size
    return [pair for pair in pairs if pair[0] in chosen]


def distinct_pairs(pairs, count):
    """The first `count` pairs whose two words differ and appear in no earlier pair: one translation per word."""
    chosen, seen_sources, seen_targets = [], set(), set()
    for source, target in pairs:
        if source != target and source not in seen_sources and target not in seen_targets:
            chosen.append((source, target))
            seen_sources.add(source)
            seen_targets.add(target)
    return chosen[:count]


def read_tatoeba(directory, language, max_pairs=None):
    """(LANG sentence, English sentence) pairs of LASER's Tatoeba test set: tatoeba.LANG-eng.LANG and .eng."""
    stem = os.path.join(directory, f"tatoeba.{language}-{ENGLISH}")
    if not os.path.isfile(f"{stem}.{language}"):
        suffix = f"-{ENGLISH}.{ENGLISH}"
        found = sorted(name[len("tatoeba."): -len(suffix)] for name in os.listdir(directory) if name.endswith(suffix))
        raise FileNotFoundError(
            f"{stem}.{language} does not exist; the languages in {directory} are: {', '.join(found) or 'none'}"
        )
    foreign, english = read_lines(f"{stem}.{language}"), read_lines(f"{stem}.{ENGLISH}")
    if not foreign:
        raise AlignmentFileError(f"{stem}.{language}", None, "is empty", "Give a language with sentence pairs")
    if len(foreign) != len(english):
        raise AlignmentFileError(
            f"{stem}.{ENGLISH}", None, f"has {len(english)} lines but {stem}.{language} has {len(foreign)}",
            "Line i of both files must be one sentence pair",
        )
    return list(zip(foreign, english))[:max_pairs]


def read_gold_alignments(spec, max_pairs=None):
    """(source words, target words, gold links) of a `TEST:TALP` gold set, its first `max_pairs` pairs."""
    test_path, colon, talp_path = spec.rpartition(":")
    if not (colon and test_path and talp_path):
        raise ValueError(f"--gold_alignments {spec!r}: expected TEST:TALP, e.g. test.de-en:deen.talp")
    source_words, target_words = read_parallel_file(test_path, pretokenized=True)
    gold = read_talp(talp_path, [len(words) for words in source_words], [len(words) for words in target_words])
    return source_words[:max_pairs], target_words[:max_pairs], gold[:max_pairs]


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
        for language in comma_separated([args.tatoeba_languages]):
            tasks.tatoeba[language] = read_tatoeba(args.tatoeba_dir, language, args.max_tatoeba_pairs or None)
    for spec in args.gold_alignments:
        name = os.path.basename(spec.rpartition(":")[0])
        tasks.alignments[name] = read_gold_alignments(spec, args.max_alignment_pairs or None)
    return tasks


# ----------------------------------------------------------------------------------------------
# Embeddings and scores


@torch.inference_mode()
def mean_pooled(tokenizer, encoder, texts, layer, batch_size=64, progress=None):
    """`(N, hidden)`: each text's states at `layer` averaged over its non-special tokens (XTREME's sentence vector).

    `progress`: the description of a progress bar (None: no bar).
    """
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]))  # similar lengths waste little on padding
    batches = [order[start: start + batch_size] for start in range(0, len(order), batch_size)]
    max_length = min(tokenizer.model_max_length, encoder.config.max_position_embeddings)
    vectors = [None] * len(texts)
    for batch in tqdm(batches, desc=progress, disable=progress is None):
        encoded = tokenizer(
            [texts[k] for k in batch], padding=True, truncation=True, max_length=max_length,
            return_special_tokens_mask=True, return_tensors="pt",
        ).to(encoder.device)
        special = encoded.pop("special_tokens_mask")
        hidden = encoder(**encoded, output_hidden_states=True).hidden_states[layer]
        weights = (encoded["attention_mask"] * (1 - special)).unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
        for k, vector in zip(batch, pooled.float().cpu()):
            vectors[k] = vector
    return torch.stack(vectors)


@torch.inference_mode()
def word_vectors(tokenizer, encoder, words, layer=None, batch_size=64, progress=None):
    """`(N, dim)`: each word's vector, the mean over its subwords of their input embeddings (`layer` None)
    or of their states at `layer` when the word is encoded alone."""
    if layer is not None:
        return mean_pooled(tokenizer, encoder, words, layer, batch_size, progress)
    weight = encoder.get_input_embeddings().weight
    ids, lengths = tokenize_words(tokenizer, words)
    return mean_subword_embeddings(weight, ids.to(weight.device), lengths.to(weight.device)).float().cpu()


def precision_at_k(queries, candidates, gold, ks=(1, 5), chunk_size=1024):
    """{k: fraction of queries with a gold candidate among their k nearest candidates by cosine}.

    queries `(N, dim)`, candidates `(M, dim)`, gold: one set of candidate indices per query.
    """
    queries, candidates = F.normalize(queries.float(), dim=-1), F.normalize(candidates.float(), dim=-1)
    hits = dict.fromkeys(ks, 0)
    for start in range(0, len(queries), chunk_size):  # bounded memory for large dictionaries
        similarity = queries[start: start + chunk_size] @ candidates.T
        nearest = similarity.topk(min(max(ks), len(candidates)), dim=-1).indices.tolist()
        for row, answers in zip(nearest, gold[start: start + chunk_size]):
            for k in ks:
                hits[k] += not answers.isdisjoint(row[:k])
    return {k: count / len(queries) for k, count in hits.items()}


def dictionary_precision(tokenizer, encoder, pairs, layer, batch_size=64, ks=(1, 5), progress=None):
    """P@k of translating the source words of `pairs` among their target words: {"input/p@k", "layerL/p@k"}."""
    sources, targets = list(dict.fromkeys(s for s, _ in pairs)), list(dict.fromkeys(t for _, t in pairs))
    source_index, target_index = {w: k for k, w in enumerate(sources)}, {w: k for k, w in enumerate(targets)}
    gold = [set() for _ in sources]
    for source, target in pairs:
        gold[source_index[source]].add(target_index[target])
    scores = {}
    for name, where in (("input", None), (f"layer{layer}", layer)):
        source_vectors = word_vectors(tokenizer, encoder, sources, where, batch_size, progress)
        target_vectors = word_vectors(tokenizer, encoder, targets, where, batch_size, progress)
        for k, value in precision_at_k(source_vectors, target_vectors, gold, ks).items():
            scores[f"{name}/p@{k}"] = value
    return scores


def tatoeba_accuracy(tokenizer, encoder, pairs, layer, batch_size=64, progress=None):
    """Retrieval accuracy of (sentence, English sentence) pairs both ways: {"xx->en", "en->xx"}."""
    foreign = mean_pooled(tokenizer, encoder, [sentence for sentence, _ in pairs], layer, batch_size, progress)
    english = mean_pooled(tokenizer, encoder, [sentence for _, sentence in pairs], layer, batch_size, progress)
    gold = [{k} for k in range(len(pairs))]
    return {
        "xx->en": precision_at_k(foreign, english, gold, ks=(1,))[1],
        "en->xx": precision_at_k(english, foreign, gold, ks=(1,))[1],
    }


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
# Plot


def project_2d(vectors, projection="tsne", seed=42):
    """`(N, 2)` numpy array: t-SNE or PCA of the unit-length vectors (their distances then rank as cosine does)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    vectors = F.normalize(vectors.float(), dim=-1).numpy()
    if projection == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(vectors)
    perplexity = min(30.0, (len(vectors) - 1) / 3)  # t-SNE needs perplexity < number of points
    # exact: fast for the few points of a plot, and free of Barnes-Hut's OpenMP threads, which fight torch's
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", method="exact", random_state=seed)
    return tsne.fit_transform(vectors)


def plot_word_pairs(panels, pairs, path, projection="tsne", seed=42, languages=("source", "target")):
    """A PNG of word pairs in 2-D, a panel per `(title, source_vectors, target_vectors)`, each pair joined by a line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7 * len(panels), 6.5))
    FigureCanvasAgg(figure)
    n = len(pairs)
    words = [source for source, _ in pairs] + [target for _, target in pairs]
    for column, (title, source_vectors, target_vectors) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), column + 1)
        points = project_2d(torch.cat([source_vectors, target_vectors]), projection, seed)
        for k in range(n):
            axes.plot(points[[k, n + k], 0], points[[k, n + k], 1], color="0.75", linewidth=0.8, zorder=1)
        axes.scatter(points[:n, 0], points[:n, 1], s=16, color="tab:blue", label=languages[0], zorder=2)
        axes.scatter(points[n:, 0], points[n:, 1], s=16, color="tab:orange", marker="^", label=languages[1], zorder=2)
        for word, (x, y) in zip(words, points):
            axes.annotate(word, (x, y), xytext=(2, 2), textcoords="offset points", fontsize=7)
        axes.set_title(title, fontsize=10)
        axes.set_xticks([])
        axes.set_yticks([])
        axes.legend(loc="best", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


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
# During training


class AlignmentEvalCallback(TrainerCallback):
    """Quick alignment figures at every evaluation of a `Trainer`, added to its metrics.

    Adds, after the evaluation's prefix (`eval_`), as fractions like the trainer's accuracies:
      dict_p@1, dict_p@5   word translation of up to `max_items` held-out source words at layer `layer`
      dict_input_p@1       the same from the input embeddings (what ALIGN-MLM trains)
      tatoeba_acc          retrieval among up to `max_items` sentence pairs at layer `layer`, both ways averaged
    Items are drawn once, at random (`seed`), so that several languages mix. The trainer logs its metrics
    before it calls `on_evaluate`: the figures reach the metrics it returns (eval_results.json, the choice
    of the best checkpoint) and the evaluation's entry of `state.log_history` (trainer_state.json), not
    the `report_to` loggers.
    """

    def __init__(self, tokenizer, dictionary_test_pairs=(), tatoeba_pairs=(), layer=8, max_items=200, batch_size=64,
                 seed=0):
        rng, tatoeba_pairs = random.Random(seed), list(tatoeba_pairs)
        sources = list(dict.fromkeys(source for source, _ in dictionary_test_pairs))
        chosen = set(rng.sample(sources, min(max_items, len(sources))))
        self.dictionary_pairs = [pair for pair in dictionary_test_pairs if pair[0] in chosen]
        self.tatoeba_pairs = rng.sample(tatoeba_pairs, min(max_items, len(tatoeba_pairs)))
        self.tokenizer, self.layer, self.batch_size = tokenizer, layer, batch_size

    def encoder(self, model):
        """The BERT-family encoder of `model` (its `base_model`), checked to have layer `layer`."""
        encoder = model.base_model
        if not 0 <= self.layer <= encoder.config.num_hidden_layers:
            raise ValueError(f"AlignmentEvalCallback: layer {self.layer}, but the model has layers 0-"
                             f"{encoder.config.num_hidden_layers}")
        return encoder

    def compute(self, model):
        """The figures for `model`, without prefix."""
        encoder = self.encoder(model)
        training = model.training
        model.eval()
        try:
            figures = {}
            if self.dictionary_pairs:
                scores = dictionary_precision(
                    self.tokenizer, encoder, self.dictionary_pairs, self.layer, self.batch_size
                )
                figures["dict_p@1"] = scores[f"layer{self.layer}/p@1"]
                figures["dict_p@5"] = scores[f"layer{self.layer}/p@5"]
                figures["dict_input_p@1"] = scores["input/p@1"]
            if self.tatoeba_pairs:
                both_ways = tatoeba_accuracy(self.tokenizer, encoder, self.tatoeba_pairs, self.layer, self.batch_size)
                figures["tatoeba_acc"] = sum(both_ways.values()) / 2
        finally:
            model.train(training)
        return figures

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.encoder(model)  # a wrong layer fails now, not at the first evaluation

    def on_evaluate(self, args, state, control, model=None, metrics=None, **kwargs):
        prefix = next((key[: -len("runtime")] for key in metrics if key.endswith("_runtime")), "eval_")
        figures = {prefix + key: value for key, value in self.compute(model).items()}
        metrics.update(figures)
        if state.log_history and f"{prefix}runtime" in state.log_history[-1]:
            state.log_history[-1].update(figures)
        logger.info("alignment at step %d: %s", state.global_step, figures)


# ----------------------------------------------------------------------------------------------


def main(argv=None):
    parser = HfArgumentParser(
        AlignmentEvalArguments, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    try:
        (args,) = parser.parse_args_into_dataclasses(argv)
    except ValueError as error:  # the checks of AlignmentEvalArguments
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scores, panels = {}, []
    try:
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
    main()
