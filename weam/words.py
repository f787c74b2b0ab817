"""Words <-> subwords, for every tokenizer family: the text the encoder sees is the text as written.

Word-level data (UD POS tags, word alignments, whole-word masks, dictionary words) comes as lists of
words. Handing those to a tokenizer with `is_split_into_words=True` changes the text: every word gets
a leading space, and an XLM-R-style tokenizer (SentencePiece: XLM-R, multilingual-e5) then puts a bare
`▁` piece before every Chinese or Japanese word (`然而 ， 这样` -> `▁然而 ▁ , ▁ 这样`), so the encoder reads
characters separated by spaces and the "first subword" of most words is an empty piece.

Here the words are placed back into their text: the original sentence when there is one (each word is
found in it in order), else the words joined by spaces, without a space between two words of a script
written without spaces (Han, kana, Thai, ...). The text is tokenized as it is, and each token is mapped
to the word in which its first character lies, through the fast tokenizer's character offsets:

* a token that only marks a space (a bare `▁`) belongs to no word;
* a token that runs across a word boundary (SentencePiece may merge `这样` and `的` into `这样的`) belongs
  to the word it starts in; the next word then has no token of its own, and its first token is the one
  it lies in (shared), so that every word still has a position to be read from.
"""

import re
from dataclasses import dataclass

# Scripts written without spaces between words.
NO_SPACE_CHARACTER = re.compile(
    "[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # kana, Han
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff\u3000-\u303f\uff00-\uffef]"  # Thai, Lao, Myanmar, Khmer, CJK punctuation
)
# What a tokenizer writes for a space: SentencePiece's ▁, byte-level BPE's Ġ, WordPiece's continuation ##.
SPACE_MARKERS = "▁Ġ"


def join_words(words: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """The words as running text, and each word's character span in it."""
    text, spans = "", []
    for word in words:
        if text and not (NO_SPACE_CHARACTER.match(text[-1]) and NO_SPACE_CHARACTER.match(word[:1])):
            text += " "
        spans.append((len(text), len(text) + len(word)))
        text += word
    return text, spans


def locate_words(text: str, words: list[str]) -> list[tuple[int, int]] | None:
    """Each word's span in `text`, found in order; None if a word is not there as it is."""
    spans, position = [], 0
    for word in words:
        start = text.find(word, position)
        if start < 0 or text[position:start].strip():  # only spaces may lie between two words
            return None
        spans.append((start, start + len(word)))
        position = start + len(word)
    return spans


def words_and_text(words: list[str], text: str | None = None) -> tuple[str, list[tuple[int, int]]]:
    """The text the words came from (when given and they are found in it in order), else `join_words`."""
    if text is not None:
        spans = locate_words(text, words)
        if spans is not None:
            return text, spans
    return join_words(words)


@dataclass
class WordTokens:
    """How one encoded sequence (or pair) relates to its words.

    token_words: per token, the index of the word it starts in (-1: special token, padding, a bare space
        marker); in a pair, the second sentence's words are numbered from 0 again (see `token_sequences`).
    token_sequences: per token, 0 (first sentence), 1 (second) or -1.
    word_tokens: per sentence, per word, the positions of its tokens: its own, or the one token it lies in
        when a token started in the previous word covers it; empty when truncation cut the word off.
    """

    token_words: list[int]
    token_sequences: list[int]
    word_tokens: tuple[list[list[int]], ...]

    def first_tokens(self, sequence: int = 0) -> list[int]:
        """Each word's first token position (-1: cut off by truncation)."""
        return [positions[0] if positions else -1 for positions in self.word_tokens[sequence]]

    def shared_words(self, sequence: int = 0) -> int:
        """How many words have no token of their own (they are read from a token that starts in another word)."""
        return sum(
            1 for word, positions in enumerate(self.word_tokens[sequence])
            if positions and self.token_words[positions[0]] != word
        )


def _is_space_marker(token: str) -> bool:
    return token.strip(SPACE_MARKERS) == "" or token == "##"


def map_tokens_to_words(encoding, tokens, spans_per_sequence) -> WordTokens:
    """`WordTokens` of one `tokenizers.Encoding` (with offsets) whose sequences hold the words at `spans_per_sequence`."""
    token_words, token_sequences = [], []
    word_tokens = tuple([[] for _ in spans] for spans in spans_per_sequence)
    covered = [dict() for _ in spans_per_sequence]  # word -> the token its first character lies in
    next_word = [0] * len(spans_per_sequence)  # tokens come in text order: one pass over each sequence's words
    for position, (sequence, (start, end), special) in enumerate(
        zip(encoding.sequence_ids, encoding.offsets, encoding.special_tokens_mask)
    ):
        if sequence is None or special or start == end or _is_space_marker(tokens[position]):
            token_words.append(-1)
            token_sequences.append(-1 if sequence is None or special else sequence)
            continue
        spans = spans_per_sequence[sequence]
        word = next_word[sequence]
        while word < len(spans) and spans[word][1] <= start:  # the first word that ends after the token starts
            word += 1
        next_word[sequence] = word
        token_sequences.append(sequence)
        if word == len(spans):
            token_words.append(-1)
            continue
        token_words.append(word)  # the word it starts in, or the next one when it starts in a space
        word_tokens[sequence][word].append(position)
        # the later words whose first character this token covers
        following = word + 1
        while following < len(spans) and spans[following][0] < end:
            covered[sequence].setdefault(following, position)
            following += 1
    for sequence, words in enumerate(word_tokens):
        for word, position in covered[sequence].items():
            if not words[word]:
                words[word].append(position)
    return WordTokens(token_words, token_sequences, word_tokens)


def encode_words(tokenizer, words, pair_words=None, texts=None, pair_texts=None, **tokenizer_kwargs):
    """Tokenizes word lists (and, for pairs, a second list each) as the text they stand for.

    Args:
        tokenizer: a fast tokenizer (character offsets are needed).
        words: a list of word lists; `pair_words`: the second sentences' word lists, or None.
        texts, pair_texts: the original sentences, when known (else the words are joined, see `join_words`).
        tokenizer_kwargs: passed on (`truncation`, `max_length`, `return_special_tokens_mask`, ...).

    Returns:
        `(encoding, word_tokens)`: the tokenizer's `BatchEncoding` and one `WordTokens` per example.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"{type(tokenizer).__name__} is not a fast tokenizer: word positions need character offsets")
    sides = [words] + ([pair_words] if pair_words is not None else [])
    originals = [texts, pair_texts]
    placed = [
        [words_and_text(sentence, None if originals[side] is None else originals[side][k]) for k, sentence in
         enumerate(sentences)]
        for side, sentences in enumerate(sides)
    ]
    text_lists = [[text for text, _ in side] for side in placed]
    keep_offsets = tokenizer_kwargs.pop("return_offsets_mapping", False)
    keep_special = tokenizer_kwargs.get("return_special_tokens_mask", False)
    tokenizer_kwargs["return_special_tokens_mask"] = True
    encoding = tokenizer(*text_lists, return_offsets_mapping=True, **tokenizer_kwargs)
    mapped = []
    for k in range(len(words)):
        tokens = encoding.encodings[k].tokens
        mapped.append(map_tokens_to_words(encoding.encodings[k], tokens, [side[k][1] for side in placed]))
    if not keep_offsets:
        del encoding["offset_mapping"]
    if not keep_special:
        del encoding["special_tokens_mask"]
    return encoding, mapped
