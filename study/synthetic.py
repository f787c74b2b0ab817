"""Derived languages: English under known word-level transformations (the controlled setup of ALIGN-MLM,
Tang et al. 2022, after Deshpande et al. 2022).

    trans       every character of every word is replaced 1:1 by a letter of the Yi Syllables block (U+A000-U+A48C,
                1,164 plain letters English never uses), so that the two languages share no subword: only the
                tokenizer's special tokens are common to both
    trans+inv   and the words of each sentence in reverse order (the paper's main case)
    trans+perm  and the words of each sentence in a fixed random order (one permutation per sentence length)

Text is lowercased English split into words as mBERT splits it (spaces and punctuation); tags move with
their words, so a POS-tagged sentence stays tagged. The transformation is known, hence so is the word
alignment of every pair: word i of the English sentence is linked to the position it moved to (`gold_links`).

    transliteration = Transliteration.of_texts([...every text that will be transformed...])
    words, tags, links = derive(english_words("The cat sat."), "trans+inv", transliteration, tags=[...])
"""

import json
import random
import unicodedata

from weam.word_alignment import split_words

TRANSFORMATIONS = ("trans", "trans+inv", "trans+perm")
SCRIPT_START, SCRIPT_END = 0xA000, 0xA48C  # Yi Syllables, inclusive range
# Its 1,164 plain letters (category Lo; U+A015 is a modifier letter): no punctuation, no case, nothing a tokenizer splits
LETTERS = [chr(code) for code in range(SCRIPT_START, SCRIPT_END + 1) if unicodedata.category(chr(code)) == "Lo"]
PERMUTATION_SEED = 1234


def english_words(text: str) -> list[str]:
    """A sentence as the controlled study's English: lowercased words, split as mBERT splits (spaces, punctuation)."""
    return [word.lower() for word in split_words(text)]


class Transliteration:
    """A 1:1 map of characters onto letters of an unused script (Yi Syllables), in code-point order."""

    def __init__(self, characters):
        characters = sorted(set(characters))
        if len(characters) > len(LETTERS):
            raise ValueError(f"{len(characters)} characters, more than the {len(LETTERS)} letters of the target script")
        if any(SCRIPT_START <= ord(c) <= SCRIPT_END for c in characters):
            raise ValueError("the text already uses the target script (Yi Syllables)")
        self.table = dict(zip(characters, LETTERS))

    @classmethod
    def of_texts(cls, word_lists):
        """The map of every character that occurs in `word_lists` (lists of words)."""
        return cls({c for words in word_lists for word in words for c in word})

    def word(self, word: str) -> str:
        try:
            return "".join(self.table[c] for c in word)
        except KeyError as error:
            raise ValueError(f"{word!r}: the character {error.args[0]!r} is not in the transliteration map (build it "
                             "from every text to be transformed)") from None

    def to_json(self) -> str:
        return json.dumps(self.table, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Transliteration":
        table = json.loads(text)
        transliteration = cls(table)
        if transliteration.table != table:
            raise ValueError("not a transliteration map written by Transliteration.to_json")
        return transliteration


def word_order(transformation: str, length: int) -> list[int]:
    """order[p]: which English word the derived sentence has at position p."""
    if transformation == "trans":
        return list(range(length))
    if transformation == "trans+inv":
        return list(reversed(range(length)))
    if transformation == "trans+perm":
        order = list(range(length))
        random.Random(PERMUTATION_SEED * 1000 + length).shuffle(order)
        return order
    raise ValueError(f"unknown transformation {transformation!r}; choose from {', '.join(TRANSFORMATIONS)}")


def derive(words, transformation, transliteration, tags=None):
    """(derived words, their tags or None, gold links [(English position, derived position)]) of one sentence."""
    order = word_order(transformation, len(words))
    derived = [transliteration.word(words[i]) for i in order]
    return derived, None if tags is None else [tags[i] for i in order], gold_links(transformation, len(words))


def gold_links(transformation: str, length: int) -> list[tuple[int, int]]:
    """The word links of a sentence of `length` words and its derived form: (English position, derived position)."""
    return sorted((i, p) for p, i in enumerate(word_order(transformation, length)))
