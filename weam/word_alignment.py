"""Word alignment of parallel sentences: statistical (eflomal), neural (batched SimAlign-style
matching of encoder embeddings), the two combined (the most accurate) and the reference SimAlign,
with symmetrization, Pharaoh/TALP I/O and alignment error rate.

Alignments are lists (one per sentence pair) of 0-based `(source_word, target_word)` links.
The command line is `align_words.py`.
"""

import functools
import logging
import math
import os
import re
import tempfile

import torch
import torch.nn.functional as F
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer
from tqdm.auto import tqdm

from weam.metrics.aer.alignment_error_rate import alignment_error_rate  # noqa: F401 (one implementation, re-exported)
from weam.words import encode_words

logger = logging.getLogger(__name__)

SYMMETRIZATIONS = ("grow-diag-final-and", "grow-diag-final", "intersection", "union")
NEURAL_METHODS = ("argmax", "itermax", "softmax")
ALIGNERS = ("eflomal", "neural", "neural+eflomal", "simalign")

# mBERT's basic tokenization (cased): whitespace, punctuation and every CJK character become words.
_BERT_NORMALIZER = BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
_BERT_PRE_TOKENIZER = BertPreTokenizer()


def split_words(text: str) -> list[str]:
    """Split `text` into words the way mBERT does before WordPiece.

    Every CJK ideograph is a word, so Chinese needs no segmenter; Japanese kana runs stay whole.
    """
    return [word for word, _ in _BERT_PRE_TOKENIZER.pre_tokenize_str(_BERT_NORMALIZER.normalize_str(text))]


_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")


def split_on_spaces(text: str) -> list[str]:
    """The words of pre-tokenized text: split on ASCII spaces only, as the gold test sets are (in KFTT's
    Japanese an ideographic space U+3000 is a word of its own, which `str.split` would drop)."""
    return [word for word in _ASCII_SPACE.split(text) if word]


# ----------------------------------------------------------------------------------------------
# Files


class AlignmentFileError(ValueError):
    """An input file (text, Pharaoh or TALP) is malformed; the message names the file, line and fix."""

    def __init__(self, path, line_number, problem, fix):
        location = f"{path}, line {line_number}" if line_number else str(path)
        super().__init__(f"{location}: {problem}. {fix}")


def read_lines(path) -> list[str]:
    """Lines of a UTF-8 file, split on "\\n" only (a sentence may contain other Unicode line breaks)."""
    with open(path, "rb") as file:
        lines = file.read().split(b"\n")
    if lines[-1] == b"":  # the final newline ends the last line, it does not start a new one
        lines.pop()
    decoded = []
    for line_number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode("utf-8").removesuffix("\r"))
        except UnicodeDecodeError as error:
            raise AlignmentFileError(
                path, line_number,
                f"invalid UTF-8 at byte offset {error.start} ({line[error.start:error.start + 4]!r})",
                "Convert the file to UTF-8, e.g. `iconv -f LATIN1 -t UTF-8`",
            ) from None
    return decoded


def read_sentence_pairs(src_path, tgt_path, pretokenized=False, max_line_chars=2000):
    """Word lists of two line-aligned files; every pair must have words on both sides, and no line may be
    longer than `max_line_chars` characters."""
    src_lines, tgt_lines = read_lines(src_path), read_lines(tgt_path)
    if len(src_lines) != len(tgt_lines):
        raise AlignmentFileError(
            tgt_path, None, f"has {len(tgt_lines)} lines but {src_path} has {len(src_lines)}",
            "Line i of both files must be one sentence pair: remove or add lines so the counts match",
        )
    return _split_pairs(src_path, src_lines, tgt_path, tgt_lines, pretokenized, max_line_chars)


def read_parallel_file(path, pretokenized=False, max_line_chars=2000):
    """Word lists of a `source ||| target` file (the format of the gold alignment test sets)."""
    src_lines, tgt_lines = [], []
    for line_number, line in enumerate(read_lines(path), start=1):
        sides = line.split("|||")
        if len(sides) != 2:
            raise AlignmentFileError(
                path, line_number, f"expected one '|||' between source and target, found {len(sides) - 1}",
                "Write each pair as `source sentence ||| target sentence`",
            )
        src_lines.append(sides[0])
        tgt_lines.append(sides[1])
    return _split_pairs(path, src_lines, path, tgt_lines, pretokenized, max_line_chars)


def _split_pairs(src_path, src_lines, tgt_path, tgt_lines, pretokenized, max_line_chars):
    if not src_lines:
        raise AlignmentFileError(src_path, None, "no sentence pairs in it (it is empty)",
                                 "Give the sentences to align, one per line")
    split = split_on_spaces if pretokenized else split_words
    sides = []
    for side, path, lines in (("source", src_path, src_lines), ("target", tgt_path, tgt_lines)):
        for line_number, line in enumerate(lines, start=1):
            if len(line) > max_line_chars:
                raise AlignmentFileError(
                    path, line_number, f"{len(line)} characters, more than --max_line_chars {max_line_chars}",
                    "Is it one sentence per line? Split or remove the pair, or raise --max_line_chars",
                )
        sides.append([split(line) for line in lines])
        for line_number, words in enumerate(sides[-1], start=1):
            if not words:
                raise AlignmentFileError(
                    path, line_number, f"the {side} sentence has no words",
                    "Remove the pair from the corpus (both sides) or fill in the missing sentence",
                )
    return tuple(sides)


_PHARAOH_LINK = re.compile(r"(\d+)-(\d+)", re.ASCII)


def parse_pharaoh(line: str) -> list[tuple[int, int]]:
    """`"0-1 2-3"` -> `[(0, 1), (2, 3)]`."""
    links = []
    for token in line.split():
        match = _PHARAOH_LINK.fullmatch(token)
        if match is None:
            raise ValueError(f"malformed link {token!r}: expected SOURCE-TARGET with 0-based word indices, e.g. '0-1'")
        links.append((int(match[1]), int(match[2])))
    return links


def read_pharaoh(path, src_lengths: list[int] | None = None, tgt_lengths: list[int] | None = None):
    """Alignments of a Pharaoh file; with sentence lengths (in words), also checks them against the corpus."""
    alignments = []
    for line_number, line in enumerate(read_lines(path), start=1):
        try:
            alignments.append(parse_pharaoh(line))
        except ValueError as error:
            raise AlignmentFileError(path, line_number, error, "Fix or regenerate this line") from None
    _check_against_corpus(path, alignments, src_lengths, tgt_lengths)
    return alignments


def pharaoh_line(links) -> str:
    """`[(2, 3), (0, 1)]` -> `"0-1 2-3"`."""
    return " ".join(f"{i}-{j}" for i, j in sorted(links))


def write_pharaoh(path, alignments):
    with open(path, "w", encoding="utf-8") as file:
        for links in alignments:
            file.write(pharaoh_line(links) + "\n")


_TALP_LINK = re.compile(r"(\d+)([-p])(\d+)", re.ASCII)


def read_talp(path, src_lengths: list[int] | None = None, tgt_lengths: list[int] | None = None):
    """Gold alignments as `(sure, possible)` sets of 0-based links, with sure ⊆ possible as AER requires.

    A line of the file holds 1-based `i-j` sure and `ipj` possible links.
    """
    gold = []
    for line_number, line in enumerate(read_lines(path), start=1):
        sure, possible = set(), set()
        for token in line.split():
            match = _TALP_LINK.fullmatch(token)
            if match is None:
                raise AlignmentFileError(
                    path, line_number, f"malformed link {token!r}",
                    "TALP links are 1-based: `i-j` (sure) or `ipj` (possible), e.g. '1-2 3p4'",
                )
            if 0 in (int(match[1]), int(match[3])):
                raise AlignmentFileError(
                    path, line_number, f"link {token!r} has the word index 0, but TALP links are 1-based",
                    "The file looks 0-based (like Pharaoh output): add 1 to every index, or read it as Pharaoh",
                )
            link = (int(match[1]) - 1, int(match[3]) - 1)
            possible.add(link)
            if match[2] == "-":
                sure.add(link)
        gold.append((sure, possible))
    _check_against_corpus(path, [possible for _, possible in gold], src_lengths, tgt_lengths)
    return gold


def _check_against_corpus(path, alignments, src_lengths, tgt_lengths):
    for side, index, lengths in (("source", 0, src_lengths), ("target", 1, tgt_lengths)):
        if lengths is None:
            continue
        if len(alignments) != len(lengths):
            raise AlignmentFileError(
                path, min(len(alignments), len(lengths)) + 1,
                f"the file has {len(alignments)} lines but the corpus has {len(lengths)} sentence pairs",
                "Use the alignment file made for this corpus (one line per pair, blank for no links)",
            )
        for line_number, (links, length) in enumerate(zip(alignments, lengths), start=1):
            for link in links:
                if link[index] >= length:
                    raise AlignmentFileError(
                        path, line_number,
                        f"link {link[0]}-{link[1]} points past the {side} sentence, which has {length} words",
                        "The alignments were made for another corpus or tokenization: text pre-tokenized "
                        "on spaces (like the gold test sets) must be split on spaces only (--pretokenized)",
                    )


# ----------------------------------------------------------------------------------------------
# Symmetrization and evaluation

_NEIGHBORS = ((-1, 0), (0, -1), (1, 0), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


def symmetrize(forward, reverse, method="grow-diag-final-and"):
    """Combine two directional alignments of the same corpus into one.

    Both are given as (source, target) links: `reverse` (target-to-source) is already flipped back,
    as eflomal and fast_align write it. The grow-diag family follows Koehn et al. (2003) exactly as
    fast_align's `atools` implements it: start from the intersection; repeatedly add union links,
    in (source, target) order, that neighbor (diagonals included) an added link and align a word
    not yet aligned; then "final" adds forward links, then reverse links, whose source or target
    word is unaligned ("final-and": whose source and target words are both unaligned).
    """
    if method not in SYMMETRIZATIONS:
        raise ValueError(f"unknown symmetrization {method!r}; choose one of {SYMMETRIZATIONS}")
    if len(forward) != len(reverse):
        raise ValueError(f"forward has {len(forward)} sentence pairs but reverse has {len(reverse)}")
    return [_symmetrize_pair(set(f), set(r), method) for f, r in zip(forward, reverse)]


def _symmetrize_pair(forward, reverse, method):
    if method == "intersection":
        return sorted(forward & reverse)
    if method == "union":
        return sorted(forward | reverse)
    alignment = forward & reverse
    aligned_src = {i for i, _ in alignment}
    aligned_tgt = {j for _, j in alignment}

    def add(i, j):
        alignment.add((i, j))
        aligned_src.add(i)
        aligned_tgt.add(j)

    candidates = sorted((forward | reverse) - alignment)
    grew = True
    while grew:
        grew = False
        for i, j in candidates:
            if (
                (i, j) not in alignment
                and (i not in aligned_src or j not in aligned_tgt)
                and any((i + di, j + dj) in alignment for di, dj in _NEIGHBORS)
            ):
                add(i, j)
                grew = True
    for links in (forward, reverse):
        for i, j in sorted(links):
            if method == "grow-diag-final-and":
                unaligned = i not in aligned_src and j not in aligned_tgt
            else:
                unaligned = i not in aligned_src or j not in aligned_tgt
            if unaligned:
                add(i, j)
    return sorted(alignment)


# ----------------------------------------------------------------------------------------------
# Statistical aligner


def eflomal_directional(src_words, tgt_words, extra_src=None, extra_tgt=None, **eflomal_options):
    """eflomal's forward and reverse links, both as (source, target), for the requested pairs only.

    `extra_src`/`extra_tgt`: more parallel sentences aligned along with the requested ones (better
    statistics), whose links are dropped. `eflomal_options` go to `eflomal.Aligner`.
    """
    from eflomal import Aligner

    extra_src, extra_tgt = extra_src or [], extra_tgt or []
    if len(src_words) != len(tgt_words) or len(extra_src) != len(extra_tgt):
        raise ValueError(
            f"source and target differ in length: {len(src_words)} vs {len(tgt_words)} pairs, "
            f"{len(extra_src)} vs {len(extra_tgt)} extra pairs"
        )
    if not src_words + extra_src:  # eflomal itself would divide by zero
        raise ValueError("eflomal needs at least one sentence pair, got none")
    # eflomal reads whitespace-separated words, one sentence a line
    src_lines = [" ".join(words) for words in src_words + extra_src]
    tgt_lines = [" ".join(words) for words in tgt_words + extra_tgt]
    with tempfile.TemporaryDirectory() as tmp:
        forward_path, reverse_path = os.path.join(tmp, "forward"), os.path.join(tmp, "reverse")
        Aligner(**eflomal_options).align(
            src_lines, tgt_lines, links_filename_fwd=forward_path, links_filename_rev=reverse_path,
            quiet=not logger.isEnabledFor(logging.INFO),  # eflomal's own progress, on stderr
        )
        n = len(src_words)
        return read_pharaoh(forward_path)[:n], read_pharaoh(reverse_path)[:n]


def align_eflomal(
    src_words, tgt_words, symmetrization="grow-diag-final-and", extra_src=None, extra_tgt=None,
    **eflomal_options,
):
    """eflomal (Östling & Tiedemann 2016) in both directions, symmetrized. See `eflomal_directional`."""
    forward, reverse = eflomal_directional(src_words, tgt_words, extra_src, extra_tgt, **eflomal_options)
    return symmetrize(forward, reverse, symmetrization)


# ----------------------------------------------------------------------------------------------
# Neural aligner: SimAlign's matching, many sentence pairs per forward pass


def argmax_matching(similarity, valid):
    """SimAlign's "argmax": link (i, j) when j is i's most similar target and i is j's most similar source.

    similarity: (batch, m, n) float; valid: (batch, m, n) bool, False on padding. Returns (batch, m, n) bool.
    Ties go to the first index, as in SimAlign.
    """
    similarity = similarity.masked_fill(~valid, -math.inf)
    m, n = similarity.shape[-2:]
    best_target = F.one_hot(similarity.argmax(-1), n).bool()
    best_source = F.one_hot(similarity.argmax(-2), m).transpose(-1, -2).bool()
    return best_target & best_source & valid


def itermax_matching(similarity, valid, discount=0.9):
    """SimAlign's "itermax" with its defaults: argmax, then one more argmax round for words left unaligned.

    `similarity` must be non-negative (SimAlign uses (cosine + 1) / 2): in the second round a link
    whose two words are both unaligned keeps its similarity, one with a single unaligned word is
    discounted and one between two aligned words is zeroed; only links touching an unaligned word
    are added. As in SimAlign, pairs with a side of at most 2 tokens, or with no unaligned token on
    one side, get no second round.
    """
    links = argmax_matching(similarity, valid)
    src_valid, tgt_valid = valid.any(-1, keepdim=True), valid.any(-2, keepdim=True)
    src_free = ~links.any(-1, keepdim=True) & src_valid  # (batch, m, 1)
    tgt_free = ~links.any(-2, keepdim=True) & tgt_valid  # (batch, 1, n)
    weight = (discount * src_free + discount * tgt_free).clamp(max=1)
    second_round = (
        (src_valid.sum((-1, -2)) > 2) & (tgt_valid.sum((-1, -2)) > 2) & src_free.any((-1, -2)) & tgt_free.any((-1, -2))
    )
    new_links = argmax_matching(similarity * weight, valid) & (src_free | tgt_free)
    return links | (new_links & second_round[:, None, None])


def softmax_matching(scores, valid, threshold=1e-3):
    """awesome-align's extraction: link (i, j) when softmax(scores) over i's targets and over j's
    sources both exceed `threshold`."""
    scores = scores.masked_fill(~valid, -math.inf)
    return (scores.softmax(-1) > threshold) & (scores.softmax(-2) > threshold) & valid


@functools.lru_cache(maxsize=1)  # callers align a corpus batch by batch with one encoder
def load_encoder(model_name_or_path, layer, device=None):
    """(tokenizer, model) of any Hugging Face encoder, cut after `layer`: the layers above are never needed.

    The last encoder loaded is kept: a folder rewritten since is not reloaded in the same process.
    """
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as transformers_logging

    from weam.cli import load_tokenizer

    tokenizer = load_tokenizer(model_name_or_path, "model")  # first: one line if the model cannot be read
    config = AutoConfig.from_pretrained(model_name_or_path)
    if not 0 <= layer <= config.num_hidden_layers:
        raise ValueError(f"{model_name_or_path} has layers 0-{config.num_hidden_layers}, not {layer}")
    config.num_hidden_layers = layer
    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()  # else the weights of the dropped layers are reported as unexpected
    try:
        model = AutoModel.from_pretrained(model_name_or_path, config=config)
    finally:
        transformers_logging.set_verbosity(verbosity)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return tokenizer, model.to(device).eval()


def _embed(tokenizer, model, sentences, texts, layer):
    """Subword states at `layer` of each sentence, read as it is written (`encode_words`), and
    `(batch, subwords, words)`: 1 where a subword lies in a word (none for special tokens, padding and a
    bare space piece; a subword that runs across a word boundary lies in both words)."""
    batch, mapped = encode_words(tokenizer, sentences, texts=texts, truncation=True, padding=True, return_tensors="pt")
    membership = torch.zeros(*batch["input_ids"].shape, max(map(len, sentences)))
    for k, words in enumerate(mapped):
        for word, positions in enumerate(words.word_tokens[0]):
            membership[k, positions, word] = 1
    hidden = model(**batch.to(model.device), output_hidden_states=True).hidden_states[layer]
    return hidden, membership.to(model.device)


def _subword_prior(priors, pairs, src_membership, tgt_membership):
    """(batch, src subwords, tgt subwords): the fraction of `priors` linking the words of two subwords
    (averaged over the word pairs of two subwords that lie in several words)."""
    word_prior = torch.zeros(len(pairs), src_membership.shape[-1], tgt_membership.shape[-1])
    for b, k in enumerate(pairs):
        for alignments in priors:
            for i, j in alignments[k]:
                word_prior[b, i, j] += 1 / len(priors)
    subword_prior = src_membership @ word_prior.to(src_membership.device) @ tgt_membership.transpose(1, 2)
    word_pairs = src_membership.sum(-1)[:, :, None] * tgt_membership.sum(-1)[:, None, :]
    return subword_prior / word_pairs.clamp(min=1)


@torch.inference_mode()
def align_neural(
    src_words, tgt_words, model_name_or_path, layer=8, method="argmax", batch_size=64, device=None,
    threshold=1e-3, priors=(), prior_weight=0.05, src_texts=None, tgt_texts=None,
):
    """Align with an encoder's contextual embeddings, SimAlign's way, `batch_size` pairs per forward pass.

    Each sentence is encoded alone, as it is written: `src_texts`/`tgt_texts` when given (the
    sentences the words were split from), else the words joined by spaces except inside scripts written
    without them (Chinese characters and Japanese words are not separated: see `weam.words`). Subwords
    are matched on the cosine similarity of their states at `layer` ("argmax", "itermax": SimAlign's
    methods, on (cosine + 1) / 2) or on awesome-align's two-way softmax of dot products over `threshold`
    ("softmax"; awesome-align's 1e-3 was set for mBERT, multilingual-e5-small does best near 0.5); two
    words are linked when any of their subwords are. Words past the model's maximum length stay unaligned.

    model_name_or_path: a Hub id or folder (loaded on `device`), or a `(tokenizer, model)` pair
        such as `load_encoder` returns.
    priors: alignments of the same pairs to favour (e.g. eflomal's forward and reverse links): the
        score of two subwords gains `prior_weight` times the fraction of priors linking their words.
    """
    if method not in NEURAL_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {NEURAL_METHODS}")
    given = (("target", tgt_words), ("source text", src_texts), ("target text", tgt_texts),
             *(("prior", alignments) for alignments in priors))
    for name, sentences in given:
        if sentences is not None and len(sentences) != len(src_words):
            raise ValueError(f"{len(src_words)} source sentences but {len(sentences)} {name} ones")
    if isinstance(model_name_or_path, (str, os.PathLike)):
        tokenizer, model = load_encoder(model_name_or_path, layer, device)
    else:
        tokenizer, model = model_name_or_path
    # batches of similar lengths waste little on padding
    order = sorted(range(len(src_words)), key=lambda k: len(src_words[k]) + len(tgt_words[k]))
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    alignments = [None] * len(order)
    for batch in tqdm(batches, desc="aligning", disable=not logger.isEnabledFor(logging.INFO)):
        src_hidden, src_membership, tgt_hidden, tgt_membership = (
            output for words, texts in ((src_words, src_texts), (tgt_words, tgt_texts))
            for output in _embed(tokenizer, model, [words[k] for k in batch],
                                 None if texts is None else [texts[k] for k in batch], layer)
        )
        valid = (src_membership.any(-1))[:, :, None] & (tgt_membership.any(-1))[:, None, :]
        if method == "softmax":
            scores = src_hidden @ tgt_hidden.transpose(1, 2)
        else:
            scores = (F.normalize(src_hidden, dim=-1) @ F.normalize(tgt_hidden, dim=-1).transpose(1, 2) + 1) / 2
        if priors:
            scores = scores + prior_weight * _subword_prior(priors, batch, src_membership, tgt_membership)
        if method == "softmax":
            links = softmax_matching(scores, valid, threshold)
        else:
            links = (argmax_matching if method == "argmax" else itermax_matching)(scores, valid)
        # words linked by any of their subwords
        word_links = src_membership.transpose(1, 2) @ links.to(src_membership.dtype) @ tgt_membership
        found = [[] for _ in batch]
        for b, i, j in word_links.nonzero().tolist():
            found[b].append((i, j))
        for k, links_of_pair in zip(batch, found):
            alignments[k] = links_of_pair
    return alignments


def align_neural_eflomal(
    src_words, tgt_words, model_name_or_path, layer=8, prior_weight=0.05, extra_src=None, extra_tgt=None,
    eflomal_options=None, **neural_options,
):
    """The toolkit's best aligner: `align_neural` with eflomal's forward and reverse links as a prior.

    The prior breaks the near-ties of embedding similarity (function words, repeated words) with
    corpus statistics; `extra_src`/`extra_tgt` feed eflomal more parallel text, as in `align_eflomal`;
    `eflomal_options` go to `eflomal.Aligner`.
    """
    forward, reverse = eflomal_directional(src_words, tgt_words, extra_src, extra_tgt, **(eflomal_options or {}))
    return align_neural(
        src_words, tgt_words, model_name_or_path, layer, priors=(forward, reverse), prior_weight=prior_weight,
        **neural_options,
    )


@functools.lru_cache(maxsize=1)  # as `load_encoder`: one model for a corpus aligned batch by batch
def _simalign_aligner(model_name_or_path, layer, matching_method):
    from simalign import SentenceAligner

    return SentenceAligner(model=model_name_or_path, token_type="bpe", matching_methods=matching_method, layer=layer)


def align_simalign(src_words, tgt_words, model_name_or_path, layer=8, method="argmax"):
    """SimAlign (Jalili Sabet et al. 2020) itself, one pair at a time: the reference for `align_neural`."""
    # our method name -> (SimAlign's matching_methods letter, its result key)
    methods = {"argmax": ("a", "inter"), "itermax": ("i", "itermax"), "match": ("m", "mwmf")}
    if method not in methods:
        raise ValueError(f"unknown SimAlign method {method!r}; choose one of {tuple(methods)}")
    letter, key = methods[method]
    aligner = _simalign_aligner(model_name_or_path, layer, letter)
    return [aligner.get_word_aligns(src, tgt)[key] for src, tgt in zip(src_words, tgt_words)]


def align_words(src_words, tgt_words, aligner="eflomal", **options):
    """Align with the aligner named `aligner`; `options` go to `align_<aligner>`."""
    functions = {
        "eflomal": align_eflomal, "neural": align_neural, "neural+eflomal": align_neural_eflomal,
        "simalign": align_simalign,
    }
    if aligner not in functions:
        raise ValueError(f"unknown aligner {aligner!r}; choose one of {ALIGNERS}")
    return functions[aligner](src_words, tgt_words, **options)
