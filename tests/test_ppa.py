"""PPA: InfoNCE by hand, the momentum update, the queue, save/resume of the MoCo state, the sentence views."""

import math
import os

import torch
import torch.nn.functional as F
from transformers import AutoTokenizer

from configuration_weam import WeamConfig
from data_collator import DataCollatorForWeam
from modeling_weam import MomentumQueue, PpaForPreTraining, info_nce

TINY = dict(vocab_size=60, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
            max_position_embeddings=32, ppa_projection_dim=4, ppa_queue_size=5)
TOKENIZER_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "sample", "mbert-tokenizer")


def test_info_nce_matches_a_hand_computation():
    q = F.normalize(torch.tensor([[1.0, 0.0], [0.6, 0.8]]), dim=1)
    k = F.normalize(torch.tensor([[0.8, 0.6], [0.0, 1.0]]), dim=1)
    queue = torch.tensor([[1.0, 0.0], [0.0, -1.0], [9.0, 9.0]])
    filled = torch.tensor([True, True, False])  # the third slot holds no real key yet
    tau = 0.5
    expected = []
    for qi, ki in zip(q.tolist(), k.tolist()):
        positive = math.exp((qi[0] * ki[0] + qi[1] * ki[1]) / tau)
        negatives = sum(math.exp((qi[0] * n[0] + qi[1] * n[1]) / tau) for n in ([1.0, 0.0], [0.0, -1.0]))
        expected.append(-math.log(positive / (positive + negatives)))
    loss, logits = info_nce(q, k, queue, filled, tau)
    torch.testing.assert_close(loss, torch.tensor(expected))
    assert logits.shape == (2, 4) and logits[:, 3].eq(float("-inf")).all()


def test_empty_queue_gives_no_negatives():
    q = F.normalize(torch.randn(3, 4), dim=1)
    loss, _ = info_nce(q, q, torch.randn(5, 4), torch.zeros(5, dtype=torch.bool), 0.05)
    torch.testing.assert_close(loss, torch.zeros(3))


def test_queue_wraps_around():
    queue = MomentumQueue(size=5, dim=2)
    queue.enqueue(torch.full((3, 2), 1.0))
    assert queue.pointer.item() == 3 and queue.filled.item() == 3
    queue.enqueue(torch.stack([torch.full((2,), float(v)) for v in (2, 3, 4)]))
    assert queue.pointer.item() == 1 and queue.filled.item() == 5
    assert queue.keys[:, 0].tolist() == [4.0, 1.0, 1.0, 2.0, 3.0]
    assert queue.negatives_mask().all()


def test_momentum_update_is_the_ema_and_leaves_the_query_encoder_alone():
    torch.manual_seed(0)
    model = PpaForPreTraining(WeamConfig(**TINY, ppa_momentum=0.9))
    model.momentum_update()  # first call: the key encoder becomes a copy of the query encoder
    assert torch.equal(model.key_bert.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight)
    with torch.no_grad():
        for p in model.bert.parameters():
            p.add_(torch.randn_like(p))
    query_before = {k: v.clone() for k, v in model.bert.state_dict().items()}
    key_before = {k: v.clone() for k, v in model.key_bert.state_dict().items()}
    model.momentum_update()
    for name, value in model.key_bert.state_dict().items():
        torch.testing.assert_close(value, 0.9 * key_before[name] + 0.1 * query_before[name])
    for name, value in model.bert.state_dict().items():
        assert torch.equal(value, query_before[name])
    assert not any(p.requires_grad for p in model.key_bert.parameters())


def example(tokenizer, text, pair_text=None):
    """`[CLS] text [SEP] pair_text [SEP]`, or a single sentence without `pair_text`."""
    encoding = tokenizer(text.split(), pair_text.split() if pair_text else None, is_split_into_words=True,
                         return_special_tokens_mask=True)
    return {k: encoding[k] for k in ("input_ids", "token_type_ids", "special_tokens_mask")}


def batch_for(tokenizer, pairs, seed=0):
    collator = DataCollatorForWeam(tokenizer, mlm_probability=0.15, swap_probability=0.5, sentence_views=True,
                                   seed=seed)
    return collator([example(tokenizer, source, target) for source, target in pairs])


def test_sentence_views_follow_the_swap():
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    pairs = [("the house", "das Haus ist"), ("a dog", "ein Hund")] * 8
    batch = batch_for(tokenizer, pairs)
    for row in range(len(pairs)):
        pair_types = batch["token_type_ids"][row]
        length = int(batch["attention_mask"][row].sum())
        first_len = int((pair_types[:length] == 0).sum())
        query = batch["query_input_ids"][row][: int(batch["query_attention_mask"][row].sum())].tolist()
        key = batch["key_input_ids"][row][: int(batch["key_attention_mask"][row].sum())].tolist()
        assert len(query) == first_len and len(key) == length - first_len + 1
        assert query[0] == key[0] == tokenizer.cls_token_id and query[-1] == key[-1] == tokenizer.sep_token_id
        # the views are unmasked, and together they are the pair
        source, target = pairs[row]
        words = sorted([tokenizer.decode(query[1:-1]), tokenizer.decode(key[1:-1])])
        assert words == sorted([source, target])
    first_is_source = [tokenizer.decode(batch["query_input_ids"][r][1:3]) in ("the house", "a dog") for r in range(16)]
    assert 0 < sum(first_is_source) < 16  # both orders occur


def test_save_and_resume_keep_the_moco_state(tmp_path):
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    model = PpaForPreTraining(WeamConfig(**{**TINY, "vocab_size": len(tokenizer)})).train()
    for seed in range(3):
        batch = batch_for(tokenizer, [("the house", "das Haus"), ("a dog", "ein Hund")], seed=seed)
        model(**batch).loss.backward()
        model.after_optimizer_step()
    assert model.queue.filled.item() == 5 and model.queue.pointer.item() == 1  # 6 keys into 5 slots
    model.save_pretrained(tmp_path)
    reloaded = PpaForPreTraining.from_pretrained(tmp_path)
    for name, value in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name], value), name
    assert reloaded.queue.key_encoder_ready.item() == 1  # resuming does not re-copy the key encoder


def test_starting_from_an_encoder_initializes_the_key_encoder_from_it(tmp_path):
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    config = WeamConfig(**{**TINY, "vocab_size": len(tokenizer)})
    PpaForPreTraining(config).bert.save_pretrained(tmp_path)
    model = PpaForPreTraining.from_pretrained(tmp_path).train()
    assert model.queue.key_encoder_ready.item() == 0 and model.queue.filled.item() == 0
    model(**batch_for(tokenizer, [("the house", "das Haus")]))
    for (name, key), (_, query) in zip(model.key_bert.named_parameters(), model.bert.named_parameters()):
        assert torch.allclose(key, query), name


def test_starting_from_a_checkpoint_warns_only_of_weights_it_should_have_had(tmp_path, caplog):
    import run_pretrain
    from weam.objectives import OBJECTIVES

    config = WeamConfig(**TINY)
    PpaForPreTraining(config).bert.save_pretrained(tmp_path)  # an encoder alone (e.g. a sentence encoder)
    model_args = run_pretrain.ModelArguments(model_name_or_path=str(tmp_path))
    with caplog.at_level("WARNING", logger="run_pretrain"):
        run_pretrain.build_model(model_args, config, OBJECTIVES["ppa"])
    warned = [record.getMessage() for record in caplog.records if "Newly initialized" in record.getMessage()]
    assert len(warned) == 1 and "cls.predictions" in warned[0] and "'projection.0.weight'" in warned[0]
    assert "key_bert" not in warned[0] and "queue" not in warned[0]  # made at the first step, as expected


def test_forward_leaves_the_moco_state_to_the_optimizer_step():
    """Micro-batches of one step meet the same key encoder and queue; after_optimizer_step enqueues all
    their keys, then moves the key encoder (standalone use: call it after optimizer.step())."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    model = PpaForPreTraining(WeamConfig(**{**TINY, "vocab_size": len(tokenizer), "ppa_queue_size": 8,
                                            "ppa_momentum": 0.5})).train()
    first = batch_for(tokenizer, [("the house", "das Haus"), ("a dog", "ein Hund")], seed=0)
    second = batch_for(tokenizer, [("a cat", "eine Katze")], seed=1)
    model(**first).loss.backward()
    key_encoder = {k: v.clone() for k, v in model.key_bert.state_dict().items()}
    queue = model.queue.keys.clone()
    out = model(**second)
    assert model.queue.filled.item() == 0 and torch.equal(model.queue.keys, queue)
    assert all(torch.equal(v, key_encoder[k]) for k, v in model.key_bert.state_dict().items())
    assert out.head_sums["contrastive"]["loss_count"] == 1
    out.loss.backward()
    with torch.no_grad():
        keys = torch.cat([model._embed(model.key_bert, model.key_projection, batch["key_attention_mask"],
                                       input_ids=batch["key_input_ids"]) for batch in (first, second)])
        for p in model.bert.parameters():  # stands for the optimizer step
            p.add_(0.1)
    model.after_optimizer_step()
    assert model.queue.filled.item() == 3 and model.queue.pointer.item() == 3
    torch.testing.assert_close(model.queue.keys[:3], keys)
    query = dict(model.bert.named_parameters())
    for name, value in model.key_bert.named_parameters():
        torch.testing.assert_close(value, 0.5 * key_encoder[name] + 0.5 * query[name])
    assert model.step_keys == []


def test_single_sentences_share_the_batch_but_not_the_contrastive_loss():
    """--monolingual_data: single sentences train the MLM head; only the pairs are swapped, viewed and contrasted,
    and a micro-batch without a pair gives a contrastive term of zero that still reaches the projection (DDP)."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    model = PpaForPreTraining(WeamConfig(**{**TINY, "vocab_size": len(tokenizer)})).train()
    collator = DataCollatorForWeam(tokenizer, mlm_probability=0.5, swap_probability=1.0, sentence_views=True, seed=0)
    pair, single = example(tokenizer, "the house", "das Haus"), example(tokenizer, "ein Hund bellt")
    mixed = collator([pair, single])
    query = mixed["query_input_ids"][0][mixed["query_attention_mask"][0].bool()].tolist()
    assert mixed["query_input_ids"].shape[0] == mixed["key_input_ids"].shape[0] == 1
    assert tokenizer.decode(query[1:-1]) == "das Haus"  # the pair was swapped (probability 1)
    assert mixed["token_type_ids"][1].sum() == 0 and mixed["attention_mask"][1].sum() == len(single["input_ids"])
    out = model(**mixed, num_pairs_in_batch=1)
    assert out.head_sums["contrastive"]["loss_count"] == 1 and torch.isfinite(out.loss)
    alone = collator([single, example(tokenizer, "die Katze schläft")])
    assert alone["query_input_ids"].shape == (0, 0)
    out = model(**alone, num_pairs_in_batch=0)
    assert out.contrastive_loss == 0 and out.head_sums["contrastive"]["loss_count"] == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    assert all(p.grad is not None and not p.grad.any() for p in model.projection.parameters())
