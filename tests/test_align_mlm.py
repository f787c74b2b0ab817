"""weam/dictionaries.py (reading and splitting, the subword index) and ALIGN-MLM's loss and its gradient
(weam/objectives/align_mlm.py)."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoTokenizer

from weam.dictionaries import DictionaryIndex, read_dictionary, split_dictionary
from weam.objectives.align_mlm import DictionaryAlignmentLoss, dictionary_alignment_loss
from weam.word_alignment import AlignmentFileError

TOKENIZER_DIR = Path(__file__).resolve().parents[1] / "data" / "sample" / "mbert-tokenizer"  # mBERT's vocabulary


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TOKENIZER_DIR)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- reading


def test_muse_lines_are_target_then_source(tmp_path):
    # as in ../shared/data/dictionaries/en-de.dict: `die @ the` is English "the" -> German "die"
    path = write(tmp_path / "en-de.dict", "die @ the\nder @ the\n\nHund @ dog\ndie @ the\n")
    expected = [("the", "die"), ("the", "der"), ("dog", "Hund")]  # file order, blank line and duplicate dropped
    assert read_dictionary(path) == expected
    assert read_dictionary(path, format="muse") == expected


def test_pairs_and_tsv(tmp_path):
    pairs = write(tmp_path / "pairs.txt", "the die\ndog  Hund\n")
    tsv = write(tmp_path / "words.tsv", "the\tdie\ngood morning\tguten Morgen\n")
    assert read_dictionary(pairs) == read_dictionary(pairs, format="pairs") == [("the", "die"), ("dog", "Hund")]
    expected = [("the", "die"), ("good morning", "guten Morgen")]  # a TSV word may hold spaces
    assert read_dictionary(tsv) == read_dictionary(tsv, format="tsv") == expected


@pytest.mark.parametrize(
    "format, text, bad_line",
    [
        ("muse", "die @ the\nHund dog\n", 2),
        ("pairs", "the die\n\ngood morning guten\n", 3),
        ("tsv", "the\tdie\n\tHund\n", 2),
    ],
)
def test_a_bad_line_is_named(tmp_path, format, text, bad_line):
    path = write(tmp_path / "bad.dict", text)
    with pytest.raises(AlignmentFileError, match=rf"bad\.dict, line {bad_line}: expected .*Fix or remove the line"):
        read_dictionary(path, format=format)


def test_direction_from_the_file_name(tmp_path):
    path = write(tmp_path / "en-de.dict", "die @ the\nHund @ dog\n")
    assert read_dictionary(path, source_lang="en", target_lang="de") == [("the", "die"), ("dog", "Hund")]
    assert read_dictionary(path, source_lang="de", target_lang="en") == [("die", "the"), ("Hund", "dog")]
    with pytest.raises(ValueError, match="does not say it is a en-fr dictionary"):
        read_dictionary(path, source_lang="en", target_lang="fr")


# ----------------------------------------------------------------------------- splitting


def test_split_keeps_every_source_word_on_one_side():
    pairs = [(f"word{k}", f"Wort{k}{variant}") for k in range(2000) for variant in "ab"]
    train, test = split_dictionary(pairs, test_size=0.2, seed=7)
    train_words, test_words = {s for s, _ in train}, {s for s, _ in test}
    assert not train_words & test_words
    assert sorted(train + test) == sorted(pairs)
    assert 0.17 < len(test_words) / 2000 < 0.23
    assert split_dictionary(pairs, test_size=0.2, seed=7) == (train, test)  # deterministic
    assert split_dictionary(pairs, test_size=0.2, seed=8)[1] != test
    # a word's side does not depend on the rest of the dictionary: a subset, reversed, splits the same way
    _, subset_test = split_dictionary(pairs[::-3], test_size=0.2, seed=7)
    assert {s for s, _ in subset_test} == test_words & {s for s, _ in pairs[::-3]}
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        split_dictionary(pairs, test_size=1.5)


# ----------------------------------------------------------------------------- index and loss


def test_index_tokenizes_filters_and_round_trips(tokenizer, tmp_path):
    pairs = [("water", "Wasser"), ("bicycle", "Fahrrad"), ("smile", "\U0001F600"), ("dog", "Hund")]
    index = DictionaryIndex(tokenizer, pairs)
    assert index.pairs == [("water", "Wasser"), ("bicycle", "Fahrrad"), ("dog", "Hund")]  # [UNK] dropped
    assert index.source_lengths.tolist() == [1, 2, 1] and index.target_lengths.tolist() == [1, 3, 1]
    fahrrad = tokenizer("Fahrrad", add_special_tokens=False)["input_ids"]
    assert index.target_ids.shape == (3, 3) and index.target_ids[1].tolist() == fahrrad
    assert index.target_ids[0].tolist() == [tokenizer.convert_tokens_to_ids("Wasser"), 0, 0]

    single = DictionaryIndex(tokenizer, pairs, single_token_only=True)
    assert single.pairs == [("water", "Wasser"), ("dog", "Hund")] and single.target_ids.shape == (2, 1)

    index.save(tmp_path / "dictionary.json")
    loaded = DictionaryIndex.load(tmp_path / "dictionary.json", tokenizer)
    assert loaded.pairs == index.pairs
    for name in ("source_ids", "source_lengths", "target_ids", "target_lengths"):
        assert torch.equal(getattr(loaded, name), getattr(index, name))


def test_loss_is_minus_mean_cosine_of_mean_subword_embeddings():
    embeddings = torch.randn(8, 5, generator=torch.Generator().manual_seed(0), requires_grad=True)
    # pair 1: a 2-subword source (rows 1, 2) and a 1-subword target (row 4); pair 2: row 3 and rows 5, 6
    source_ids, source_lengths = torch.tensor([[1, 2], [3, 0]]), torch.tensor([2, 1])
    target_ids, target_lengths = torch.tensor([[4, 0], [5, 6]]), torch.tensor([1, 2])
    loss = dictionary_alignment_loss(embeddings, source_ids, source_lengths, target_ids, target_lengths)
    E = embeddings.detach()
    by_hand = -(
        F.cosine_similarity((E[1] + E[2]) / 2, E[4], dim=0) + F.cosine_similarity(E[3], (E[5] + E[6]) / 2, dim=0)
    ) / 2
    assert loss.item() == pytest.approx(by_hand.item(), abs=1e-6)

    loss.backward()
    touched = embeddings.grad.abs().sum(-1) > 0
    assert touched.tolist() == [False, True, True, True, True, True, True, False]  # row 0 is only padding


def test_the_trainer_hook_weights_samples_and_reaches_the_model(tokenizer):
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=32))
    pairs = [("water", "Wasser"), ("bicycle", "Fahrrad"), ("dog", "Hund"), ("tree", "Baum"), ("house", "Haus")]
    index = DictionaryIndex(tokenizer, pairs)

    def subwords(word):
        return tokenizer(word, add_special_tokens=False)["input_ids"]

    everything = DictionaryAlignmentLoss(index, weight=10.0)
    E = model.get_input_embeddings().weight.detach()
    cosines = [F.cosine_similarity(E[subwords(s)].mean(0), E[subwords(t)].mean(0), dim=0) for s, t in pairs]
    term = everything(model, step=3)
    assert term.item() == pytest.approx(-10 * sum(cosines).item() / len(pairs), abs=1e-5)
    term.backward()
    touched = (model.get_input_embeddings().weight.grad.abs().sum(-1) > 0).nonzero().flatten().tolist()
    assert set(touched) == {i for s, t in pairs for i in subwords(s) + subwords(t)}

    sampled = DictionaryAlignmentLoss(index, pairs_per_step=2, seed=1)
    assert len(sampled.sample(0)) == 2
    assert torch.equal(sampled.sample(5), sampled.sample(5))  # micro-batches of a step and resumed runs agree
    assert len({tuple(sampled.sample(step).tolist()) for step in range(20)}) > 1
    assert torch.equal(everything.sample(0), torch.arange(5))
    with pytest.raises(ValueError, match="no usable pair"):
        DictionaryAlignmentLoss(DictionaryIndex(tokenizer, [("smile", "\U0001F600")]))
