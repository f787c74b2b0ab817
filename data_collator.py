"""`DataCollatorForWeam`: batches of `[CLS] S [SEP] T [SEP]` pairs with masked tokens and word alignments.

Masking is the stock `DataCollatorForLanguageModeling`'s (80% [MASK] / 10% random / 10% kept, never
special tokens or padding, optional whole-word masking, optional seed); this class adds what WEAM
needs on top: the alignment pairs, padded into the `(batch, num_pairs, 2)` index form the model
gathers with, and an optional random swap of S and T per example (PPA's input order shuffling) that
the alignment follows.
"""

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from transformers import DataCollatorForLanguageModeling

ALIGNMENT_PAD = -1  # the value modeling_weam.ALIGNMENT_PAD gives padding pairs


def swap_pair_order(example: dict) -> dict:
    """`[CLS] S [SEP] T [SEP]` -> `[CLS] T [SEP] S [SEP]`, with token types and alignment moved along.

    Alignment pairs stay (position in the first sentence, position in the second)."""
    types = example["token_type_ids"]
    length = len(example["input_ids"])
    first_sep = types.index(1) - 1 if 1 in types else length - 1
    # new position -> old position
    order = [0, *range(first_sep + 1, length - 1), first_sep, *range(1, first_sep), length - 1]
    new_position = np.empty(length, dtype=np.int64)
    new_position[order] = np.arange(length)
    swapped = dict(example)
    for key in ("input_ids", "special_tokens_mask", "offset_mapping", "word_ids"):
        if key in example:
            swapped[key] = [example[key][old] for old in order]
    second_start = length - first_sep  # [CLS] + T + [SEP]
    swapped["token_type_ids"] = [0] * second_start + [1] * (length - second_start)
    swapped["alignment"] = [[int(new_position[j]), int(new_position[i])] for i, j in example.get("alignment", [])]
    return swapped


@dataclass
class DataCollatorForWeam(DataCollatorForLanguageModeling):
    """
    Args (beyond `DataCollatorForLanguageModeling`'s, whose `mlm_probability` defaults here to WEAM's 0.3):
        swap_probability (`float`, defaults to 0.0):
            Probability that an example's S and T trade places (PPA uses 0.5).
        sentence_views (`bool`, defaults to False):
            Also emit the two sentences apart and unmasked, `[CLS] S [SEP]` as `query_input_ids` /
            `query_attention_mask` and `[CLS] T [SEP]` as `key_input_ids` / `key_attention_mask` (PPA's
            contrastive views; after a swap, T comes first).

    Features of each example: `input_ids`, `token_type_ids`, optionally `special_tokens_mask` (faster) and
    `alignment` (list of `[i, j]` positions). Output: `input_ids`, `attention_mask`, `token_type_ids`,
    `labels` and `alignment_pairs` `(batch, max_pairs, 2)` padded with -1.

    Randomness: with `seed`, a batch's masks and swaps are a function of (seed, `epoch`, the batch's
    tokens) alone: the same under any number of dataloader workers, and a resumed run masks exactly
    like an uninterrupted one, whatever the data loader fetched ahead. (`AlignmentTrainer` sets
    `epoch`.) Without `seed` it draws from torch's global RNG, like the stock collator.
    """

    mlm_probability: float | None = 0.3
    swap_probability: float = 0.0
    sentence_views: bool = False
    epoch: int = 0

    def torch_call(self, examples):
        if self.seed is not None:
            content = hashlib.blake2b(digest_size=8)
            content.update(repr((self.seed, self.epoch)).encode())
            for example in examples:
                content.update(np.asarray(example["input_ids"], dtype=np.int64).tobytes())
            self.generator = torch.Generator().manual_seed(int.from_bytes(content.digest(), "little") >> 1)
        if self.swap_probability > 0:
            swaps = torch.rand(len(examples), generator=self.generator) < self.swap_probability
            examples = [swap_pair_order(e) if swap else e for e, swap in zip(examples, swaps.tolist())]
        views = self._sentence_views(examples) if self.sentence_views else {}
        alignments = [e.get("alignment") or [] for e in examples]
        examples = [{k: v for k, v in e.items() if k != "alignment"} for e in examples]
        batch = super().torch_call(examples)
        max_pairs = max((len(a) for a in alignments), default=0)
        pairs = np.full((len(examples), max_pairs, 2), ALIGNMENT_PAD, dtype=np.int64)
        for row, alignment in enumerate(alignments):
            if alignment:
                pairs[row, : len(alignment)] = alignment
        batch["alignment_pairs"] = torch.from_numpy(pairs)
        batch.update(views)
        return batch

    def _sentence_views(self, examples):
        views = {}
        for name, part in (("query", 0), ("key", 1)):
            sentences = []
            for example in examples:
                ids = example["input_ids"]
                first_sep = example["special_tokens_mask"].index(1, 1) if "special_tokens_mask" in example else (
                    ids.index(self.tokenizer.sep_token_id))
                sentences.append({"input_ids": ids[: first_sep + 1] if part == 0 else ids[:1] + ids[first_sep + 1 :]})
            padded = self.tokenizer.pad(sentences, return_tensors="pt", pad_to_multiple_of=self.pad_to_multiple_of)
            views[f"{name}_input_ids"] = padded["input_ids"]
            views[f"{name}_attention_mask"] = padded["attention_mask"]
        return views
