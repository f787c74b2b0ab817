"""awesome-align: the self-training loss by hand, its guide against the aligner's extraction, the sentence tokens of
the collator's views (BERT and XLM-R templates), gradient accumulation, and training that raises agreement."""

import math
import os

import pytest
import torch
from transformers import AutoTokenizer, XLMRobertaTokenizer

from configuration_weam import WeamConfig
from data_collator import DataCollatorForWeam
from modeling_weam import AwesomeAlignForPreTraining, self_training_loss, sentence_tokens
from weam.word_alignment import softmax_matching

TINY = dict(vocab_size=60, hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=32, alignment_layer=2, alignment_threshold=0.2)
TOKENIZER_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "sample", "mbert-tokenizer")


def test_self_training_loss_matches_a_hand_computation():
    # one pair: 2 source tokens, 2 target tokens (and a padded third target position that must not count)
    source = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])
    target = torch.tensor([[[2.0, 0.0], [0.0, 1.0], [9.0, 9.0]]])
    source_mask, target_mask = torch.tensor([[True, True]]), torch.tensor([[True, True, False]])
    per_pair, guide = self_training_loss(source, source_mask, target, target_mask, threshold=0.5)
    # scores [[2, 0], [0, 2]]: each softmax puts e²/(e²+1) = 0.8808 on the diagonal, 0.1192 off it
    on, off = math.exp(2) / (math.exp(2) + 1), 1 / (math.exp(2) + 1)
    assert guide.tolist() == [[[True, False, False], [False, True, False]]]
    # −(Σ A∘P→ / m + Σ A∘P← / n) = −(2·on/2 + 2·on/2)
    torch.testing.assert_close(per_pair, torch.tensor([-2 * on]))
    # below `off`, every real pair is linked: the padded column never is
    _, guide = self_training_loss(source, source_mask, target, target_mask, threshold=off / 2)
    assert guide.tolist() == [[[True, True, False], [True, True, False]]]


def test_the_guide_is_what_the_aligner_extracts():
    """Training moves the encoder towards the links `align_words.py --method softmax` extracts at the same threshold."""
    torch.manual_seed(0)
    source, target = torch.randn(3, 5, 8), torch.randn(3, 6, 8)
    source_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]]).bool()
    target_mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0]]).bool()
    for threshold in (1e-3, 0.1, 0.4):
        _, guide = self_training_loss(source, source_mask, target, target_mask, threshold)
        valid = source_mask[:, :, None] & target_mask[:, None, :]
        extracted = softmax_matching(source @ target.transpose(1, 2), valid, threshold)
        assert torch.equal(guide, extracted) and guide.any()


def sentence_view_batch(tokenizer, pairs):
    examples = []
    for source, target in pairs:
        encoding = tokenizer(source.split(), target.split(), is_split_into_words=True, return_special_tokens_mask=True)
        examples.append({"input_ids": encoding["input_ids"], "special_tokens_mask": encoding["special_tokens_mask"],
                         "token_type_ids": encoding.get("token_type_ids", [0] * len(encoding["input_ids"]))})
    return DataCollatorForWeam(tokenizer, mlm_probability=0.15, sentence_views=True)(examples)


@pytest.mark.parametrize("template", ["bert", "xlm-r"])
def test_sentence_tokens_are_the_views_own_tokens(template):
    if template == "bert":
        tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
        pairs = [("the house", "das große Haus ist"), ("a", "ein Hund")]
    else:  # `<s> S </s></s> T </s>`: the views are `<s> S </s>`
        vocab = ["<s>", "<pad>", "</s>", "<unk>", "▁the", "▁house", "▁das", "▁große", "▁Haus", "<mask>"]
        tokenizer = XLMRobertaTokenizer(vocab=[(piece, 0.0 if piece[0] == "<" else -1.0) for piece in vocab])
        pairs = [("the house", "das große Haus"), ("the", "Haus")]
    batch = sentence_view_batch(tokenizer, pairs)
    for view in ("query", "key"):
        ids, mask = batch[f"{view}_input_ids"], batch[f"{view}_attention_mask"]
        own = sentence_tokens(mask)
        for row, (source, target) in enumerate(pairs):
            words = (source if view == "query" else target).split()
            assert tokenizer.convert_ids_to_tokens(ids[row][own[row]]) == [
                piece for word in words for piece in tokenizer.tokenize(word)]
            assert not (own[row] & ~mask[row].bool()).any()


def tiny_batch(seed=0):
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    pairs = [("the house is big", "das Haus ist groß"), ("a dog", "ein Hund"),
             ("the patient has a fever", "el paciente tiene fiebre"), ("house", "casa")]
    batch = sentence_view_batch(tokenizer, pairs)
    torch.manual_seed(seed)
    model = AwesomeAlignForPreTraining(WeamConfig(**{**TINY, "vocab_size": len(tokenizer)}))
    return model, batch


def test_gradient_accumulation_gives_the_full_batch_loss():
    model, batch = tiny_batch()
    model.eval()  # no dropout: the halves must see the same network
    full = model(**batch)
    masked = int((batch["labels"] != -100).sum())
    halves = [model(**{k: v[part] for k, v in batch.items()}, num_items_in_batch=masked, num_pairs_in_batch=4)
              for part in (slice(0, 2), slice(2, 4))]
    torch.testing.assert_close(halves[0].loss + halves[1].loss, full.loss)
    torch.testing.assert_close(halves[0].self_training_loss + halves[1].self_training_loss, full.self_training_loss)
    torch.testing.assert_close(full.loss, full.mlm_loss + full.self_training_loss)


def test_self_training_trains_the_layers_up_to_the_alignment_layer_only():
    model, batch = tiny_batch()
    batch["labels"][:] = -100  # no TLM term: only L_SO's gradient
    loss = model(**batch).loss
    loss.backward()
    layers = model.bert.encoder.layer
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layers[1].parameters())  # layer 2 (of 1-3)
    assert all(p.grad is None or not p.grad.any() for p in layers[2].parameters())


def test_training_raises_the_agreement_of_the_two_directions():
    """Steps of L_SO alone make the two softmaxes agree more on the links they both keep (a gradient of the wrong
    sign would make them agree less)."""
    model, batch = tiny_batch(seed=1)
    batch["labels"][:] = -100
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.eval()  # the same network for every measurement
    losses = []
    for _ in range(15):
        output = model(**batch)
        losses.append(float(output.self_training_loss))
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
    # the loss is −(agreement), in [−2, 0]; the tiny encoder starts near its bound, and moves towards it
    assert -2 <= losses[-1] < min(losses[:3]), losses


def test_an_alignment_layer_past_the_encoder_is_refused():
    with pytest.raises(ValueError, match="alignment_layer 4 is past the encoder's 3 layers"):
        AwesomeAlignForPreTraining(WeamConfig(**{**TINY, "alignment_layer": 4}))


def test_self_training_alone_leaves_the_mlm_head_out():
    model, batch = tiny_batch()
    model = AwesomeAlignForPreTraining(WeamConfig(**{**TINY, "vocab_size": model.config.vocab_size,
                                                     "alignment_tlm": False}))
    output = model(**batch)
    assert output.mlm_loss is None and set(output.head_sums) == {"self_training"}
    torch.testing.assert_close(output.loss, output.self_training_loss)
    output.loss.backward()
    assert not any(p.requires_grad for p in model.cls.predictions.transform.parameters())
    assert model.bert.embeddings.word_embeddings.weight.grad.any()  # tied to the decoder, and still trained
