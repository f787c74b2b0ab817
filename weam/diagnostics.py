"""Alignment diagnostics of a multilingual encoder: dictionary word translation (nearest neighbours of
mean subword vectors), Tatoeba sentence retrieval, the encoder as a word aligner (AER), the 2-D picture of
aligned word pairs, and `AlignmentEvalCallback`, a quick version of the first two at every evaluation of a
`Trainer`. The command line is `run_alignment_eval.py`.
"""

import logging
import os
import random
from collections import Counter

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from transformers import TrainerCallback

from weam.dictionaries import mean_subword_embeddings, tokenize_words
from weam.word_alignment import AlignmentFileError, read_lines, read_parallel_file, read_talp
from weam.words import encode_words

logger = logging.getLogger(__name__)

# LASER's Tatoeba files are named by ISO 639-3 codes; everything else here takes ISO 639-1 (`de`, `zh`).
TATOEBA_CODES = {
    "en": "eng", "ar": "ara", "bg": "bul", "bn": "ben", "de": "deu", "el": "ell", "es": "spa", "fi": "fin",
    "fr": "fra", "hi": "hin", "id": "ind", "ja": "jpn", "ko": "kor", "ru": "rus", "sw": "swh", "te": "tel",
    "th": "tha", "tr": "tur", "ur": "urd", "vi": "vie", "zh": "cmn",
}
ENGLISH = TATOEBA_CODES["en"]


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
    """(sentence, English sentence) pairs of LASER's Tatoeba test set for `language` (ISO 639-1, e.g. `de`):
    tatoeba.deu-eng.deu and tatoeba.deu-eng.eng."""
    if language not in TATOEBA_CODES:
        raise ValueError(f"Tatoeba language {language!r}: give an ISO 639-1 code, one of {', '.join(sorted(TATOEBA_CODES))}")
    language = TATOEBA_CODES[language]
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

@torch.inference_mode()
def mean_pooled(tokenizer, encoder, texts, layer, batch_size=64, progress=None, words=False):
    """`(N, hidden)`: each text's states at `layer` averaged over its non-special tokens (XTREME's sentence vector).

    words: each text is one word, averaged over its own tokens (`weam.words.encode_words`: a bare `▁`
        that a SentencePiece tokenizer puts before a Chinese word alone is not part of the word).
    `progress`: the description of a progress bar (None: no bar).
    """
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]))  # similar lengths waste little on padding
    batches = [order[start: start + batch_size] for start in range(0, len(order), batch_size)]
    options = dict(padding=True, truncation=True, return_special_tokens_mask=True, return_tensors="pt",
                   max_length=min(tokenizer.model_max_length, encoder.config.max_position_embeddings))
    vectors = [None] * len(texts)
    for batch in tqdm(batches, desc=progress, disable=progress is None):
        if words:
            encoded, mapped = encode_words(tokenizer, [[texts[k]] for k in batch], **options)
            weights = torch.zeros(encoded["input_ids"].shape)
            for row, word in enumerate(mapped):
                weights[row, word.word_tokens[0][0]] = 1
        else:
            encoded = tokenizer([texts[k] for k in batch], **options)
            weights = encoded["attention_mask"] * (1 - encoded["special_tokens_mask"])
        del encoded["special_tokens_mask"]
        hidden = encoder(**encoded.to(encoder.device), output_hidden_states=True).hidden_states[layer]
        weights = weights.unsqueeze(-1).to(hidden)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
        for k, vector in zip(batch, pooled.float().cpu()):
            vectors[k] = vector
    return torch.stack(vectors)


@torch.inference_mode()
def word_vectors(tokenizer, encoder, words, layer=None, batch_size=64, progress=None):
    """`(N, dim)`: each word's vector, the mean over its subwords of their input embeddings (`layer` None)
    or of their states at `layer` when the word is encoded alone."""
    if layer is not None:
        return mean_pooled(tokenizer, encoder, words, layer, batch_size, progress, words=True)
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
# During training


class AlignmentEvalCallback(TrainerCallback):
    """Quick alignment figures at every evaluation of a `Trainer`, added to its metrics: a callback of any
    `Trainer` (`callbacks=[...]`; `AlignmentTrainer(alignment_eval=...)` adds it), computed in `on_evaluate`.

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
