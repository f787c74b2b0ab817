"""weam/words.py: words placed back into their text, tokenized as written, tokens mapped to words by offsets."""

import os

import pytest
from transformers import AutoTokenizer, XLMRobertaTokenizer

from weam.words import encode_words, join_words, locate_words

MBERT_DIR = os.path.join(os.path.dirname(__file__), "..", "data", "sample", "mbert-tokenizer")


def xlm_r_tokenizer(pieces):
    """An XLM-R (SentencePiece unigram) tokenizer over `pieces`, longer pieces preferred."""
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = [(piece, 0.0) for piece in specials] + [(piece, -1.0 / len(piece)) for piece in pieces] + [("<mask>", 0.0)]
    return XLMRobertaTokenizer(vocab=vocab)


def test_join_words_puts_no_space_inside_scripts_written_without_spaces():
    text, spans = join_words(["然而", "，", "这样", "Hello", "world", "。", "日本", "の"])
    assert text == "然而，这样 Hello world 。日本の"
    assert [text[start:end] for start, end in spans] == ["然而", "，", "这样", "Hello", "world", "。", "日本", "の"]


def test_locate_words_finds_the_words_in_the_original_text_or_says_it_cannot():
    assert locate_words("Hello, world!", ["Hello", ",", "world", "!"]) == [(0, 5), (5, 6), (7, 12), (12, 13)]
    assert locate_words("Hello, world!", ["Hello", "world"]) is None  # the comma would be lost
    assert locate_words("ab", ["b"]) is None


def test_xlm_r_chinese_has_no_bare_space_pieces_and_every_word_a_position():
    tokenizer = xlm_r_tokenizer(["▁", "▁然而", "然而", ",", "，", "这样的", "这样", "的", "人", "▁Hello", "▁world"])
    words = ["然而", "，", "这样", "的", "人"]
    encoding, (mapped,) = encode_words(tokenizer, [words], [["Hello", "world"]])
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0])
    # as written: one ▁ at the start of the sentence, none between the Chinese words
    assert tokens == ["<s>", "▁然而", "，", "这样的", "人", "</s>", "</s>", "▁Hello", "▁world", "</s>"]
    assert mapped.token_words == [-1, 0, 1, 2, 4, -1, -1, 0, 1, -1]
    assert mapped.token_sequences == [-1, 0, 0, 0, 0, -1, -1, 1, 1, -1]
    # 的 has no token of its own: it is read from 这样的, the token it lies in
    assert mapped.word_tokens == ([[1], [2], [3], [3], [4]], [[7], [8]])
    assert mapped.first_tokens(0) == [1, 2, 3, 3, 4] and mapped.shared_words(0) == 1


def test_a_bare_space_piece_belongs_to_no_word():
    tokenizer = xlm_r_tokenizer(["▁", "日本語", "の", "▁x"])
    encoding, (mapped,) = encode_words(tokenizer, [["日本語", "の"]])
    assert tokenizer.convert_ids_to_tokens(encoding["input_ids"][0]) == ["<s>", "▁", "日本語", "の", "</s>"]
    assert mapped.token_words == [-1, -1, 0, 1, -1]
    assert mapped.first_tokens() == [2, 3]


def test_bert_wordpiece_words_map_to_all_their_pieces_and_truncated_words_to_none():
    tokenizer = AutoTokenizer.from_pretrained(MBERT_DIR)
    encoding, (mapped,) = encode_words(tokenizer, [["然而", "这样", "cases"]], texts=["然而这样 cases"])
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0])
    assert tokens[:5] == ["[CLS]", "然", "而", "这", "样"]
    assert mapped.word_tokens[0][:2] == [[1, 2], [3, 4]]
    _, (cut,) = encode_words(tokenizer, [["然而", "这样", "cases"]], truncation=True, max_length=4)
    assert cut.first_tokens() == [1, -1, -1]


def test_the_original_text_is_used_when_the_words_are_in_it():
    tokenizer = AutoTokenizer.from_pretrained(MBERT_DIR)
    words = ["Hello", ",", "world"]
    written, _ = encode_words(tokenizer, [words], texts=["Hello, world"], return_offsets_mapping=True)
    joined, _ = encode_words(tokenizer, [words], return_offsets_mapping=True)
    assert written["offset_mapping"][0][2] == (5, 6) and joined["offset_mapping"][0][2] == (6, 7)


def test_a_slow_tokenizer_is_refused():
    class PythonTokenizer:  # e.g. a tokenizer written in Python only: no character offsets
        is_fast = False

    with pytest.raises(ValueError, match="PythonTokenizer is not a fast tokenizer"):
        encode_words(PythonTokenizer(), [["a"]])


E5 = os.path.expanduser("~/.cache/xlingual-models/multilingual-e5-small")
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


@pytest.fixture(scope="module")
def e5_tokenizer():
    if not os.path.isdir(E5):
        pytest.skip("multilingual-e5-small not built (python ../shared/tools/get_e5_small.py)")
    return AutoTokenizer.from_pretrained(E5)


@pytest.mark.slow  # loading e5's 250k-piece tokenizer
def test_real_xlm_r_tokenizer_on_ud_style_chinese(e5_tokenizer):
    tokenizer = e5_tokenizer
    words = ["然而", "，", "这样", "的", "人", "很多", "。"]
    encoding, (mapped,) = encode_words(tokenizer, [words])
    tokens = tokenizer.convert_ids_to_tokens(encoding["input_ids"][0])
    assert "▁" not in tokens
    assert all(first > 0 for first in mapped.first_tokens())


def test_dictionary_words_have_no_bare_space_piece():
    """ALIGN-MLM's word vectors: a Chinese word alone is `▁` + its pieces; the bare `▁` is not part of the word."""
    from weam.dictionaries import tokenize_words

    tokenizer = xlm_r_tokenizer(["▁", "然而", "人", "▁the", "▁Hau", "s"])
    ids, lengths = tokenize_words(tokenizer, ["然而", "the", "Haus", "人人"])
    assert tokenizer.convert_ids_to_tokens(ids[0, : lengths[0]].tolist()) == ["然而"]
    assert tokenizer.convert_ids_to_tokens(ids[1, : lengths[1]].tolist()) == ["▁the"]
    assert tokenizer.convert_ids_to_tokens(ids[2, : lengths[2]].tolist()) == ["▁Hau", "s"]
    assert tokenizer.convert_ids_to_tokens(ids[3, : lengths[3]].tolist()) == ["人", "人"]
    assert lengths.tolist() == [1, 1, 2, 2] and ids.shape == (4, 2)
    bert = AutoTokenizer.from_pretrained(MBERT_DIR)  # WordPiece has no space pieces: its words are as before
    ids, lengths = tokenize_words(bert, ["Bundesregierung", "然而"])
    assert ids[0, : lengths[0]].tolist() == bert("Bundesregierung", add_special_tokens=False)["input_ids"]
    assert bert.convert_ids_to_tokens(ids[1, : lengths[1]].tolist()) == ["然", "而"]


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(SHARED), reason="needs ../shared (UD Chinese, MUSE en-zh)")
def test_no_word_of_ud_chinese_or_a_chinese_dictionary_starts_with_a_bare_space_piece(e5_tokenizer):
    """Issue 13: with `is_split_into_words`, 10,466 of the 12,012 words of UD Chinese test began with a bare `▁`."""
    from weam.dictionaries import read_dictionary, tokenize_words

    tokenizer = e5_tokenizer
    with open(os.path.join(SHARED, "udpos", "zh.test.tsv"), encoding="utf-8") as file:
        sentences = [line.split("\t")[0].split(" ") for line in file]
    encoding, mapped = encode_words(tokenizer, sentences)
    first_pieces = [encoding.encodings[k].tokens[position] for k, words in enumerate(mapped)
                    for position in words.first_tokens()]
    assert len(first_pieces) == 12012 and "▁" not in first_pieces and "<unk>" not in first_pieces
    pairs = read_dictionary(os.path.join(SHARED, "dictionaries", "en-zh.dict"))
    chinese = [chinese for _, chinese in pairs[:10000]]
    ids, lengths = tokenize_words(tokenizer, chinese)
    assert (lengths > 0).all() and not (ids[:, 0] == tokenizer.convert_tokens_to_ids("▁")).any()


def test_a_word_vector_at_a_layer_leaves_out_the_bare_space_piece():
    import torch
    from transformers import BertConfig, BertModel

    from weam.diagnostics import word_vectors

    tokenizer = xlm_r_tokenizer(["▁", "然而", "▁the", "▁Hau", "s"])
    torch.manual_seed(0)
    encoder = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                   intermediate_size=16)).eval()
    vectors = word_vectors(tokenizer, encoder, ["然而", "Haus"], layer=1)
    for word, vector, own_tokens in (("然而", vectors[0], [2]), ("Haus", vectors[1], [1, 2])):
        encoded = tokenizer(word, return_tensors="pt")  # <s> ▁ 然而 </s>, <s> ▁Hau s </s>
        with torch.no_grad():
            states = encoder(**encoded, output_hidden_states=True).hidden_states[1][0]
        torch.testing.assert_close(vector, states[own_tokens].mean(0))
