"""Bilingual dictionaries: reading (MUSE and kin), a held-out split, and words as padded subword ids.

    pairs = read_dictionary("en-de.dict")                    # MUSE as hunalign ships it: `die @ the`
    train_pairs, test_pairs = split_dictionary(pairs, test_size=0.1, seed=42)  # no source word on both sides
    index = DictionaryIndex(tokenizer, train_pairs)          # subword ids, padded, for vectorized losses
    vectors = mean_subword_embeddings(embedding_weight, index.source_ids, index.source_lengths)

ALIGN-MLM's loss (weam/objectives/align_mlm.py) and the alignment diagnostics (weam/diagnostics.py)
both read dictionaries through this module.
"""

import hashlib
import json
import os
import re

import torch

from weam.word_alignment import AlignmentFileError, read_lines
from weam.words import encode_words

DICTIONARY_FORMATS = ("auto", "muse", "pairs", "tsv")
# `en-de.dict`, `en-de.0-5000.txt`: the file's source and target languages.
_LANGUAGE_PAIR = re.compile(r"([a-z]{2,3})-([a-z]{2,3})(?:\.|$)")

_LINE_FORMATS = {
    # format: (how to split a line into two words, (target, source) order?, what a good line looks like)
    "muse": (lambda line: line.split(" @ "), True, "`target @ source` (e.g. `die @ the` in en-de)"),
    "pairs": (str.split, False, "`source target`, separated by whitespace"),
    "tsv": (lambda line: line.split("\t"), False, "`source<TAB>target`"),
}


def read_dictionary(path, format="auto", source_lang=None, target_lang=None) -> list[tuple[str, str]]:
    """(source word, target word) pairs of a bilingual dictionary, in file order, without duplicates.

    Formats:
      muse   `target @ source`: the MUSE dictionaries as hunalign ships them (../shared). Reversed:
             in en-de.dict, `die @ the` is English "the" -> German "die".
      pairs  `source target`, separated by whitespace (MUSE's own .txt files).
      tsv    `source<TAB>target` (a word may hold spaces).
      auto   muse if the first non-blank line holds " @ ", tsv if it holds a tab, else pairs.
    Blank lines are skipped.

    source_lang, target_lang: the direction wanted. The file name must then say its own as `SRC-TGT`
    (en-de.dict, en-de.0-5000.txt); a dictionary in the other direction is flipped.
    """
    if format not in DICTIONARY_FORMATS:
        raise ValueError(f"unknown dictionary format {format!r}; choose one of {DICTIONARY_FORMATS}")
    lines = [(number, line.strip()) for number, line in enumerate(read_lines(path), start=1) if line.strip()]
    if format == "auto":
        first = lines[0][1] if lines else ""
        format = "muse" if " @ " in first else "tsv" if "\t" in first else "pairs"
    split, reversed_order, expected = _LINE_FORMATS[format]
    pairs = {}  # a dict keeps the file order and drops duplicates
    for number, line in lines:
        words = [word.strip() for word in split(line)]
        if len(words) != 2 or not all(words):
            raise AlignmentFileError(
                path, number, f"expected {expected}, got {line!r}",
                f"Fix or remove the line, or give the right format (this one was read as {format!r})",
            )
        pairs[tuple(reversed(words)) if reversed_order else tuple(words)] = None
    pairs = list(pairs)
    if source_lang is None and target_lang is None:
        return pairs
    if source_lang is None or target_lang is None:
        raise ValueError("give both source_lang and target_lang, or neither")
    match = _LANGUAGE_PAIR.match(os.path.basename(path))
    if match is None or {source_lang, target_lang} != set(match.groups()):
        raise ValueError(
            f"{path}: the file name does not say it is a {source_lang}-{target_lang} dictionary; name it "
            f"{source_lang}-{target_lang}.dict (or {target_lang}-{source_lang}.dict), or leave the languages out"
        )
    return pairs if match[1] == source_lang else [(target, source) for source, target in pairs]


def split_dictionary(pairs, test_size=0.1, seed=42):
    """(train, test) pairs: each source word goes, with all its translations, to test with probability `test_size`.

    A word's side is a hash of (seed, word), so it does not depend on the other pairs: the same word
    lands on the same side whatever the dictionary, the order or the number of files split.
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size is the held-out fraction of source words, in (0, 1); got {test_size}")
    threshold = test_size * 2**64

    def held_out(word):
        digest = hashlib.blake2b(f"{seed}\t{word}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") < threshold

    side = {source: held_out(source) for source in dict.fromkeys(source for source, _ in pairs)}
    return [pair for pair in pairs if not side[pair[0]]], [pair for pair in pairs if side[pair[0]]]


def tokenize_words(tokenizer, words):
    """Each word's subword ids as it reads in running text, without special tokens: ids `(N, longest)`
    padded with 0, and lengths `(N,)`.

    A word's ids are those of its own tokens (`weam.words.encode_words`): a SentencePiece tokenizer
    writes a Chinese word alone as a bare `▁` and the word's pieces, and the bare piece, which no
    Chinese text has between its words, is left out.
    """
    if not len(words):
        return torch.zeros(0, 0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    encoding, mapped = encode_words(tokenizer, [[word] for word in words], add_special_tokens=False)
    encoded = [[ids[position] for position in word.word_tokens[0][0]] for ids, word in zip(encoding["input_ids"], mapped)]
    width = max(map(len, encoded))
    ids = torch.tensor([word + [0] * (width - len(word)) for word in encoded], dtype=torch.long)
    return ids.reshape(len(encoded), width), torch.tensor(list(map(len, encoded)), dtype=torch.long)


class DictionaryIndex:
    """Dictionary pairs as padded subword ids, what ALIGN-MLM's loss and the diagnostics take.

    Pairs with a word the tokenizer turns into nothing or into its unknown token are dropped (pulling
    [UNK] towards many words would only blur it), and with `single_token_only` so are pairs with a
    word of several subwords.

    Attributes: `pairs` (the kept word pairs), `source_ids` / `target_ids` `(N, longest)` padded
    with 0, `source_lengths` / `target_lengths` `(N,)`.
    """

    def __init__(self, tokenizer, pairs, single_token_only=False):
        self.single_token_only = single_token_only
        source_ids, source_lengths = tokenize_words(tokenizer, [source for source, _ in pairs])
        target_ids, target_lengths = tokenize_words(tokenizer, [target for _, target in pairs])
        keep = torch.ones(len(pairs), dtype=torch.bool)
        for ids, lengths in ((source_ids, source_lengths), (target_ids, target_lengths)):
            keep &= (lengths == 1) if single_token_only else (lengths > 0)
            if tokenizer.unk_token_id is not None:
                keep &= ~(ids == tokenizer.unk_token_id).any(-1)
        self.pairs = [pair for pair, kept in zip(pairs, keep.tolist()) if kept]
        self.source_lengths, self.target_lengths = source_lengths[keep], target_lengths[keep]
        # the dropped pairs may have held the longest words
        self.source_ids = source_ids[keep][:, : max(self.source_lengths.tolist(), default=0)]
        self.target_ids = target_ids[keep][:, : max(self.target_lengths.tolist(), default=0)]

    def __len__(self):
        return len(self.pairs)

    def save(self, path):
        """The kept pairs as JSON; `DictionaryIndex.load` rebuilds the index from them."""
        with open(path, "w", encoding="utf-8") as file:
            json.dump({"single_token_only": self.single_token_only, "pairs": self.pairs}, file, ensure_ascii=False)

    @classmethod
    def load(cls, path, tokenizer):
        with open(path, encoding="utf-8") as file:
            saved = json.load(file)
        return cls(tokenizer, [tuple(pair) for pair in saved["pairs"]], saved["single_token_only"])


def mean_subword_embeddings(embedding_weight, ids, lengths):
    """`(N, dim)`: row k is the mean of the embeddings of `ids[k, :lengths[k]]` (a word with no subwords: 0)."""
    valid = torch.arange(ids.shape[1], device=ids.device) < lengths[:, None]
    # valid positions are a prefix of each row, so the row-major `ids[valid]` belongs to these rows
    rows = torch.arange(len(lengths), device=ids.device).repeat_interleave(lengths)
    summed = embedding_weight.new_zeros(len(lengths), embedding_weight.shape[1])
    summed = summed.index_add(0, rows, embedding_weight[ids[valid]])
    return summed / lengths.clamp(min=1)[:, None].to(summed.dtype)
