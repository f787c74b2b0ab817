"""`DataCollatorForWeam`: batches of `[CLS] S [SEP] T [SEP]` pairs with masked tokens and word alignments.

Masking is BERT's: a share `mlm_probability` of the tokens (never special tokens or padding; optionally
whole words) is predicted, of which 80% become [MASK], 10% a random token, 10% stay. On top, WEAM
needs the alignment pairs, padded into the `(batch, num_pairs, 2)` index form the model gathers with,
and PPA a random swap of S and T per example (the alignment follows) and the two sentences apart.

Randomness is counter-based: every random number of an example is a hash of (seed, epoch, the example's
tokens, the position), so an example is masked the same whatever batch, process or accumulation step
it lands in, in whatever order batches are collated. That is what makes a resumed run, a run on two
processes and a run accumulating two micro-batches all train exactly like their one-process,
one-batch equivalent. (`AlignmentTrainer` sets `epoch`, so masks change between epochs.)
"""

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

ALIGNMENT_PAD = -1  # the value modeling_weam.ALIGNMENT_PAD gives padding pairs
PER_TOKEN_KEYS = ("input_ids", "special_tokens_mask", "word_ids")
# Independent random streams of an example.
MASK_STREAM, REPLACE_STREAM, RANDOM_TOKEN_STREAM, SWAP_STREAM = 1, 2, 3, 4


def uniform(keys: np.ndarray, stream: int, counters: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) numbers, one per (key, counter): splitmix64 of key, stream and counter.
    `keys` (batch,), `counters` (length,) or (batch, length) -> (batch, length)."""
    with np.errstate(over="ignore"):
        z = keys[:, None] ^ (counters.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(stream << 56))
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def sentence_runs(special_tokens_mask: list[int]) -> list[tuple[int, int]]:
    """(start, end) of each run of non-special tokens: one for a single sentence, two for a pair, whatever the
    tokenizer's template (`[CLS] S [SEP] T [SEP]`, XLM-R's `<s> S </s></s> T </s>`)."""
    starts = [k for k, special in enumerate(special_tokens_mask) if not special and (k == 0 or special_tokens_mask[k - 1])]
    ends = [k + 1 for k, special in enumerate(special_tokens_mask)
            if not special and (k + 1 == len(special_tokens_mask) or special_tokens_mask[k + 1])]
    return list(zip(starts, ends))


def is_pair(special_tokens_mask: list[int]) -> bool:
    """Whether an example is a sentence pair, not a single sentence (of monolingual data)."""
    return len(sentence_runs(special_tokens_mask)) == 2


def sentence_spans(special_tokens_mask: list[int]) -> tuple[int, int, int, int]:
    """(S start, S end, T start, T end) of a pair."""
    runs = sentence_runs(special_tokens_mask)
    if len(runs) != 2:
        raise ValueError(f"expected a sentence pair (two runs of non-special tokens), found {len(runs)} run(s)")
    return *runs[0], *runs[1]


def swap_pair_order(example: dict) -> dict:
    """`[CLS] S [SEP] T [SEP]` -> `[CLS] T [SEP] S [SEP]`, with token types and alignment moved along.

    Alignment pairs stay (position in the first sentence, position in the second)."""
    length = len(example["input_ids"])
    s_start, s_end, t_start, t_end = sentence_spans(example["special_tokens_mask"])
    # new position -> old position: prefix, T, the separators between, S, suffix
    order = [*range(s_start), *range(t_start, t_end), *range(s_end, t_start), *range(s_start, s_end), *range(t_end, length)]
    new_position = np.empty(length, dtype=np.int64)
    new_position[order] = np.arange(length)
    swapped = dict(example)
    for key in PER_TOKEN_KEYS:
        if key in example:
            swapped[key] = [example[key][old] for old in order]
    if "token_type_ids" in example:  # the first segment (prefix, T, separators) takes the first segment's type
        types, first_segment = example["token_type_ids"], t_end - s_end + s_start
        swapped["token_type_ids"] = [types[0]] * first_segment + [types[-1]] * (length - first_segment)
    swapped["alignment"] = [[int(new_position[j]), int(new_position[i])] for i, j in example.get("alignment", [])]
    return swapped


@dataclass
class DataCollatorForWeam:
    """
    Args:
        tokenizer: the model's tokenizer (for padding, [MASK] and the vocabulary size).
        mlm_probability (`float`, defaults to 0.3): share of tokens to predict (WEAM 0.3; TLM/MLM 0.15).
        mask_replace_prob, random_replace_prob (defaults 0.8, 0.1): what becomes of a predicted token.
        whole_word_mask (`bool`): mask all subwords of a word together (needs `word_ids` in the examples).
        swap_probability (`float`, defaults to 0.0): probability that S and T trade places (PPA: 0.5).
        sentence_views (`bool`): also emit the sentences apart and unmasked, `[CLS] S [SEP]` as
            `query_input_ids` / `query_attention_mask` and `[CLS] T [SEP]` as `key_input_ids` /
            `key_attention_mask` (PPA's contrastive views; after a swap, T comes first), one row per pair:
            single sentences in the batch (monolingual data) have none.
        seed, epoch: the randomness (see the module docstring).

    Examples carry `input_ids`, `token_type_ids`, `special_tokens_mask` and optionally `alignment`
    (`[i, j]` position pairs) and `word_ids`. Batches hold `input_ids`, `attention_mask`,
    `token_type_ids`, `labels` (-100 where nothing is predicted) and `alignment_pairs`
    `(batch, max_pairs, 2)` padded with -1.
    """

    tokenizer: PreTrainedTokenizerBase
    mlm_probability: float = 0.3
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1
    whole_word_mask: bool = False
    swap_probability: float = 0.0
    sentence_views: bool = False
    pad_to_multiple_of: int | None = None
    seed: int = 0
    epoch: int = 0

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        keys = np.array([self._example_key(e["input_ids"]) for e in examples], dtype=np.uint64)
        # Single sentences (from --monolingual_data) may share the batch: swaps and views are the pairs' only.
        pairs = [is_pair(e["special_tokens_mask"]) for e in examples] if self.swap_probability or self.sentence_views \
            else None
        if self.swap_probability > 0:
            swaps = uniform(keys, SWAP_STREAM, np.zeros(1))[:, 0] < self.swap_probability
            examples = [swap_pair_order(e) if swap and pair else e for e, swap, pair in zip(examples, swaps, pairs)]
        batch = self._pad(examples, ("input_ids", "token_type_ids", "special_tokens_mask"))
        batch["input_ids"], batch["labels"] = self._mask(examples, keys, batch)
        del batch["special_tokens_mask"]
        batch["alignment_pairs"] = self._alignment_pairs(examples)
        if self.sentence_views:
            batch.update(self._sentence_views([e for e, pair in zip(examples, pairs) if pair]))
        return batch

    def _example_key(self, input_ids):
        digest = hashlib.blake2b(np.asarray(input_ids, dtype=np.int64).tobytes(), digest_size=8,
                                 key=repr((self.seed, self.epoch)).encode()).digest()
        return int.from_bytes(digest, "little")

    def _pad(self, examples, fields):
        """Right-pads each field into a tensor (numpy: the tokenizer's `pad` is 5x slower here); no examples give
        tensors of no rows."""
        length = max((len(e["input_ids"]) for e in examples), default=0)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        pad_values = {"input_ids": self.tokenizer.pad_token_id, "token_type_ids": self.tokenizer.pad_token_type_id,
                      "special_tokens_mask": 1, "attention_mask": 0}
        batch = {}
        for field in (*fields, "attention_mask"):
            array = np.full((len(examples), length), pad_values[field], dtype=np.int64)
            for row, example in enumerate(examples):
                values = example.get(field) if field != "attention_mask" else [1] * len(example["input_ids"])
                array[row, : len(values)] = values
            batch[field] = torch.from_numpy(array)
        return batch

    def _mask(self, examples, keys, batch):
        input_ids = batch["input_ids"].numpy().copy()
        candidates = (batch["special_tokens_mask"].numpy() == 0) & (batch["attention_mask"].numpy() == 1)
        positions = np.broadcast_to(np.arange(input_ids.shape[1]), input_ids.shape)
        if self.whole_word_mask:
            if "word_ids" not in examples[0]:
                raise ValueError("whole_word_mask needs `word_ids` in the examples (weam/corpora.py writes them)")
            word_ids = np.full(input_ids.shape, -1, dtype=np.int64)
            for row, example in enumerate(examples):
                word_ids[row, : len(example["word_ids"])] = example["word_ids"]
            draw = uniform(keys, MASK_STREAM, np.maximum(word_ids, 0))  # one draw per word
        else:
            draw = uniform(keys, MASK_STREAM, positions)
        masked = candidates & (draw < self.mlm_probability)
        labels = np.where(masked, input_ids, -100)
        replace = uniform(keys, REPLACE_STREAM, positions)
        to_mask = masked & (replace < self.mask_replace_prob)
        to_random = masked & ~to_mask & (replace < self.mask_replace_prob + self.random_replace_prob)
        random_tokens = (uniform(keys, RANDOM_TOKEN_STREAM, positions) * len(self.tokenizer)).astype(np.int64)
        input_ids[to_mask] = self.tokenizer.mask_token_id
        input_ids[to_random] = random_tokens[to_random]
        return torch.from_numpy(input_ids), torch.from_numpy(labels)

    @staticmethod
    def _alignment_pairs(examples):
        alignments = [e.get("alignment") or [] for e in examples]
        pairs = np.full((len(examples), max((len(a) for a in alignments), default=0), 2), ALIGNMENT_PAD, dtype=np.int64)
        for row, alignment in enumerate(alignments):
            if alignment:
                pairs[row, : len(alignment)] = alignment
        return torch.from_numpy(pairs)

    def _sentence_views(self, examples):
        """Each sentence alone, wrapped in the pair's outer special tokens (`[CLS] S [SEP]`, `<s> S </s>`)."""
        views = {"query": [], "key": []}
        for example in examples:
            ids = example["input_ids"]
            s_start, s_end, t_start, t_end = sentence_spans(example["special_tokens_mask"])
            views["query"].append({"input_ids": ids[:s_end] + ids[t_end:]})  # prefix, S, suffix
            views["key"].append({"input_ids": ids[:s_start] + ids[t_start:]})  # prefix, T, suffix
        batch = {}
        for name, sentences in views.items():
            padded = self._pad(sentences, ("input_ids",))
            batch[f"{name}_input_ids"] = padded["input_ids"]
            batch[f"{name}_attention_mask"] = padded["attention_mask"]
        return batch
