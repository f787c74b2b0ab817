"""DataCollatorForWeam: masking statistics, padding, alignment form, S/T swap, reproducibility."""

import os

import pytest
import torch
from transformers import AutoTokenizer, XLMRobertaTokenizer

from data_collator import DataCollatorForWeam, swap_pair_order
from weam.words import encode_words

TOKENIZER_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "sample", "mbert-tokenizer")


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TOKENIZER_DIR)


def make_example(tokenizer, source_words, target_words, links):
    encoding, _ = encode_words(tokenizer, [source_words], [target_words], return_special_tokens_mask=True,
                               return_token_type_ids=True)
    return {
        "input_ids": encoding["input_ids"][0],
        "token_type_ids": encoding["token_type_ids"][0],
        "special_tokens_mask": encoding["special_tokens_mask"][0],
        "alignment": links,
    }


def test_swap_moves_tokens_types_and_alignment(tokenizer):
    example = make_example(tokenizer, ["the", "house"], ["das", "große", "Haus"], [[1, 4], [2, 6]])
    ids = example["input_ids"]
    swapped = swap_pair_order(example)
    tokens = tokenizer.convert_ids_to_tokens(swapped["input_ids"])
    assert tokens == ["[CLS]", "das", "große", "Haus", "[SEP]", "the", "house", "[SEP]"]
    assert swapped["token_type_ids"] == [0, 0, 0, 0, 0, 1, 1, 1]
    assert swapped["special_tokens_mask"] == [1, 0, 0, 0, 1, 0, 0, 1]
    # every link still joins the same two tokens, now (first sentence, second sentence)
    for (i, j), (new_i, new_j) in zip(example["alignment"], swapped["alignment"]):
        assert {ids[i], ids[j]} == {swapped["input_ids"][new_i], swapped["input_ids"][new_j]}
        assert swapped["token_type_ids"][new_i] == 0 and swapped["token_type_ids"][new_j] == 1
    assert swap_pair_order(swapped)["input_ids"] == ids


def test_swap_and_sentence_views_with_an_xlm_r_pair_template():
    """XLM-R-style tokenizers (multilingual-e5) write `<s> S </s></s> T </s>` with all token types 0."""
    vocab = ["<s>", "<pad>", "</s>", "<unk>", "▁the", "▁house", "▁das", "▁große", "▁Haus", "<mask>"]
    tokenizer = XLMRobertaTokenizer(vocab=[(piece, 0.0 if piece[0] == "<" else -1.0) for piece in vocab])
    example = make_example(tokenizer, ["the", "house"], ["das", "große", "Haus"], [[1, 5], [2, 7]])
    swapped = swap_pair_order(example)
    assert tokenizer.convert_ids_to_tokens(swapped["input_ids"]) == [
        "<s>", "▁das", "▁große", "▁Haus", "</s>", "</s>", "▁the", "▁house", "</s>"
    ]
    assert swapped["token_type_ids"] == [0] * 9
    assert swapped["alignment"] == [[1, 6], [3, 7]]  # (first sentence, second sentence): das-the, Haus-house
    batch = DataCollatorForWeam(tokenizer, sentence_views=True)([example, swapped])
    views = [tokenizer.convert_ids_to_tokens(row[mask.bool()]) for name in ("query", "key")
             for row, mask in zip(batch[f"{name}_input_ids"], batch[f"{name}_attention_mask"])]
    assert views == [
        ["<s>", "▁the", "▁house", "</s>"], ["<s>", "▁das", "▁große", "▁Haus", "</s>"],
        ["<s>", "▁das", "▁große", "▁Haus", "</s>"], ["<s>", "▁the", "▁house", "</s>"],
    ]
    single = tokenizer("the house", return_special_tokens_mask=True)
    with pytest.raises(ValueError, match="expected a sentence pair .* found 1 run"):
        swap_pair_order({"input_ids": single["input_ids"], "special_tokens_mask": single["special_tokens_mask"]})


def test_batch_form(tokenizer):
    examples = [
        make_example(tokenizer, ["a", "b"], ["c"], [[1, 4], [2, 4]]),
        make_example(tokenizer, ["a"], ["b", "c", "d"], []),
        make_example(tokenizer, ["x"], ["y"], [[1, 3]]),
    ]
    batch = DataCollatorForWeam(tokenizer, seed=0)(examples)
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "labels", "alignment_pairs"}
    assert batch["input_ids"].shape == (3, 7) and batch["attention_mask"].tolist()[2] == [1, 1, 1, 1, 1, 0, 0]
    assert batch["alignment_pairs"].tolist() == [
        [[1, 4], [2, 4]],
        [[-1, -1], [-1, -1]],
        [[1, 3], [-1, -1]],
    ]


def test_masking_statistics_and_never_special_or_padding(tokenizer):
    words = "one two three four five six seven eight nine ten".split()
    # distinct examples: an example's masks are a function of its tokens
    examples = [make_example(tokenizer, words + [str(k)], words[: 3 + k % 7], []) for k in range(400)]
    originals = [e["input_ids"] for e in examples]
    batch = DataCollatorForWeam(tokenizer, seed=1)(examples)
    labels, inputs = batch["labels"], batch["input_ids"]
    special = torch.zeros_like(labels, dtype=torch.bool)
    for row, example in enumerate(examples):
        mask = example["special_tokens_mask"]
        special[row, : len(mask)] = torch.tensor(mask, dtype=torch.bool)
        special[row, len(mask) :] = True  # padding
    masked = labels != -100
    assert not (masked & special).any()
    rate = masked.sum() / (~special).sum()
    assert abs(rate.item() - 0.3) < 0.02
    original = torch.full_like(inputs, -1)
    for row, ids in enumerate(originals):
        original[row, : len(ids)] = torch.tensor(ids)
    assert torch.equal(labels[masked], original[masked])
    as_mask = (inputs[masked] == tokenizer.mask_token_id).float().mean()
    kept = (inputs[masked] == original[masked]).float().mean()
    assert abs(as_mask.item() - 0.8) < 0.03 and abs(kept.item() - 0.1) < 0.03  # the rest: random tokens
    assert torch.equal(inputs[~masked], original[~masked].clamp(min=0))


def test_seeded_collator_is_reproducible_and_swaps_half(tokenizer):
    examples = [make_example(tokenizer, ["a", str(k)], ["c", "d", "e"], [[1, 4]]) for k in range(200)]
    first = DataCollatorForWeam(tokenizer, seed=7, swap_probability=0.5)(examples)
    second = DataCollatorForWeam(tokenizer, seed=7, swap_probability=0.5)(examples)
    for key in first:
        assert torch.equal(first[key], second[key])
    swapped = (first["token_type_ids"][:, 4] == 0).float().mean()  # position 4 is T's first token unless swapped
    assert 0.4 < swapped.item() < 0.6


def test_an_example_is_masked_the_same_in_any_batch_and_order(tokenizer):
    # What makes resume, DDP and gradient accumulation exact: masks do not depend on batch company or order.
    examples = [make_example(tokenizer, ["a", "b", str(k)], ["d", "e", "f"], [[1, 5]]) for k in range(8)]
    collator = DataCollatorForWeam(tokenizer, seed=3, swap_probability=0.5)
    together = collator(examples)
    for k in reversed(range(8)):
        alone = collator([examples[k]])
        length = alone["input_ids"].shape[1]
        for key in ("input_ids", "labels", "token_type_ids"):
            assert torch.equal(alone[key][0], together[key][k, :length])
    collator.epoch = 1  # a new epoch masks the same examples differently
    assert not torch.equal(collator(examples)["labels"], together["labels"])


def test_whole_word_masking_masks_every_piece_of_a_word(tokenizer):
    words = ["Bundesregierung", "Telekommunikationsgesetz", "Verfassungsgericht"] * 3
    examples = []
    for k in range(64):
        encoding, (mapped,) = encode_words(tokenizer, [words + [str(k)]], [["x"]], return_special_tokens_mask=True)
        word_ids = [-1 if w < 0 else w + s * 100 for w, s in zip(mapped.token_words, mapped.token_sequences)]
        examples.append({"input_ids": encoding["input_ids"][0], "token_type_ids": encoding["token_type_ids"][0],
                         "special_tokens_mask": encoding["special_tokens_mask"][0], "word_ids": word_ids})
    batch = DataCollatorForWeam(tokenizer, whole_word_mask=True, seed=0)(examples)
    for row, example in enumerate(examples):
        masked = (batch["labels"][row] != -100).tolist()
        by_word = {}
        for position, word in enumerate(example["word_ids"]):
            if word >= 0:
                by_word.setdefault(word, set()).add(masked[position])
        assert all(len(states) == 1 for states in by_word.values())
    assert (batch["labels"] != -100).any()
    with pytest.raises(ValueError, match="word_ids"):
        DataCollatorForWeam(tokenizer, whole_word_mask=True)([{k: v for k, v in examples[0].items() if k != "word_ids"}])


def test_demo_tokenizer_tokenizes_the_sample_exactly_as_mbert(tokenizer):
    sample = os.path.join(os.path.dirname(TOKENIZER_DIR))
    demo = AutoTokenizer.from_pretrained(os.path.join(sample, "demo-tokenizer"))
    assert len(demo) < len(tokenizer) / 5
    for name in ("tico19.en-es.es", "tico19.en-zh.zh", "tico19.en-zh.en"):
        with open(os.path.join(sample, name), encoding="utf-8") as f:
            for line in f:
                assert demo.tokenize(line) == tokenizer.tokenize(line)
