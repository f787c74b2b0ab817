"""word_alignment.py: tokenization, Pharaoh/TALP files, symmetrization, AER, eflomal, the batched
neural aligner (against hand computations and SimAlign itself) and the command line."""

import os
import random
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import align_words
import weam.word_alignment as wa

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MBERT_TOKENIZER = os.path.join(ROOT, "..", "shared", "tokenizers", "bert-base-multilingual-cased")
needs_mbert_tokenizer = pytest.mark.skipif(
    not os.path.isdir(MBERT_TOKENIZER), reason=f"needs the real mBERT tokenizer at {MBERT_TOKENIZER} (../shared)"
)


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


# ----------------------------------------------------------------------------------------------
# split_words


@pytest.mark.parametrize(
    "text, words",
    [
        ("Hello, world! It's 3.5 pm.", ["Hello", ",", "world", "!", "It", "'", "s", "3", ".", "5", "pm", "."]),
        ("Größere Häuser – schön?", ["Größere", "Häuser", "–", "schön", "?"]),  # cased, accents kept
        ("我爱北京。", ["我", "爱", "北", "京", "。"]),  # every ideograph is a word
        ("GPT-4模型\tok\u00a0go", ["GPT", "-", "4", "模", "型", "ok", "go"]),
    ],
)
def test_split_words(text, words):
    assert wa.split_words(text) == words


def test_pretokenized_text_is_split_on_ascii_spaces_only(tmp_path):
    # the ja-en gold set has the ideographic space U+3000 as a word; Python's str.split would drop it
    assert wa.split_on_spaces("天狗 の 山 \u3000 くらま  だ\t。 ") == ["天狗", "の", "山", "\u3000", "くらま", "だ", "。"]
    parallel = write_lines(tmp_path / "test.ja-en", ["山 \u3000 くらま ||| mount kurama"])
    assert wa.read_parallel_file(parallel, pretokenized=True) == ([["山", "\u3000", "くらま"]], [["mount", "kurama"]])


# ----------------------------------------------------------------------------------------------
# Pharaoh and TALP files


def test_parse_and_write_pharaoh(tmp_path):
    assert wa.parse_pharaoh("0-1 2-3") == [(0, 1), (2, 3)]
    assert wa.parse_pharaoh(" 10-0\t1-12 ") == [(10, 0), (1, 12)]
    assert wa.parse_pharaoh("") == []
    path = str(tmp_path / "out.align")
    wa.write_pharaoh(path, [[(2, 3), (0, 1)], [], [(1, 0)]])
    assert open(path).read() == "0-1 2-3\n\n1-0\n"
    assert wa.read_pharaoh(path, src_lengths=[3, 1, 2], tgt_lengths=[4, 1, 1]) == [[(0, 1), (2, 3)], [], [(1, 0)]]


@pytest.mark.parametrize("token", ["0:1", "1p2", "-1-2", "a-b", "0-", "0-1-2", "²-1"])
def test_parse_pharaoh_rejects_malformed_links(token):
    with pytest.raises(ValueError, match=f"malformed link '{token}'"):
        wa.parse_pharaoh(f"0-0 {token}")


@pytest.mark.parametrize(
    "content, lengths, message",
    [
        ("0-0\n0-0 1_1\n", None, r"line 2: malformed link '1_1'"),
        ("0-0\n0-1\n1-0 3-0\n", ([2, 2, 3], [2, 2, 2]), r"line 3: link 3-0 points past the source sentence, which has 3"),
        ("0-0\n0-2\n", ([2, 2], [2, 2]), r"line 2: link 0-2 points past the target sentence, which has 2 words"),
        ("0-0\n0-1\n", ([2, 2, 2], [2, 2, 2]), r"line 3: the file has 2 lines but the corpus has 3 sentence pairs"),
        ("0-0\n0-1\n1-1\n", ([2, 2], None), r"line 3: the file has 3 lines but the corpus has 2 sentence pairs"),
    ],
)
def test_read_pharaoh_errors_name_file_and_line(tmp_path, content, lengths, message):
    path = tmp_path / "bad.align"
    path.write_text(content)
    src_lengths, tgt_lengths = lengths or (None, None)
    with pytest.raises(wa.AlignmentFileError, match=f"{path}, {message}"):
        wa.read_pharaoh(str(path), src_lengths, tgt_lengths)


def test_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("ok\nGrüße\n".encode("latin-1"))
    with pytest.raises(wa.AlignmentFileError, match=f"{path}, line 2: invalid UTF-8 at byte offset 2 .*iconv"):
        wa.read_lines(str(path))


def test_gold_links_count_an_ideographic_space_word(tmp_path):
    # test.ja-en line 351: an ideographic space between ASCII spaces is a word, and the gold links count it
    parallel = write_lines(tmp_path / "test.ja-en", ["山 \u3000 く ||| mountain  of tengu"])
    gold = write_lines(tmp_path / "jaen.talp", ["1-1 3-3"])
    src_words, tgt_words = wa.read_parallel_file(parallel, pretokenized=True)
    assert (src_words, tgt_words) == ([["山", "\u3000", "く"]], [["mountain", "of", "tengu"]])
    assert wa.read_talp(gold, [3], [3]) == [({(0, 0), (2, 2)}, {(0, 0), (2, 2)})]


def test_read_lines_splits_on_newline_only(tmp_path):
    path = tmp_path / "text.txt"
    path.write_bytes("a\u2028b\r\nc\x0bd\n\ne".encode())  # U+2028 and \x0b are inside sentences
    assert wa.read_lines(str(path)) == ["a\u2028b", "c\x0bd", "", "e"]


TALP = "1-1 2p2 3-3\n2-1 1p2 \n\n"  # 1-based; a trailing space and a line without links, as in deen.talp


def test_read_talp(tmp_path):
    path = tmp_path / "gold.talp"
    path.write_text(TALP)
    assert wa.read_talp(str(path)) == [
        ({(0, 0), (2, 2)}, {(0, 0), (1, 1), (2, 2)}),
        ({(1, 0)}, {(1, 0), (0, 1)}),
        (set(), set()),
    ]
    with pytest.raises(wa.AlignmentFileError, match=r"line 1: link 2-2 points past the source sentence, which has 2"):
        wa.read_talp(str(path), src_lengths=[2, 2, 2])


@pytest.mark.parametrize("token", ["1x2", "1-2p", "1 - 2", "-1-2"])
def test_read_talp_rejects_malformed_links(tmp_path, token):
    path = tmp_path / "gold.talp"
    path.write_text(f"1-1\n1-1 {token}\n")
    with pytest.raises(wa.AlignmentFileError, match=f"{path}, line 2: malformed link"):
        wa.read_talp(str(path))


@pytest.mark.parametrize("token", ["0-1", "1-0", "0p2"])
def test_read_talp_says_when_links_look_0_based(tmp_path, token):
    path = tmp_path / "gold.talp"
    path.write_text(f"1-1\n2-2 {token}\n")
    with pytest.raises(wa.AlignmentFileError, match=f"{path}, line 2: link '{token}' has the word index 0, but TALP "
                       "links are 1-based. The file looks 0-based"):
        wa.read_talp(str(path))


def test_alignment_error_rate_by_hand(tmp_path):
    path = tmp_path / "gold.talp"
    path.write_text(TALP)
    gold = wa.read_talp(str(path))
    predicted = [[(0, 0), (1, 1), (0, 1)], [(1, 0), (1, 1)], [(0, 0)]]
    # |A| = 6, |S| = 3, |A∩S| = 2 ((0,0), (1,0)), |A∩P| = 3 (also (1,1) of line 1)
    scores = wa.alignment_error_rate(predicted, gold)
    assert scores == pytest.approx({"precision": 3 / 6, "recall": 2 / 3, "aer": 1 - (2 + 3) / (6 + 3)})
    perfect = wa.alignment_error_rate([sorted(sure) for sure, _ in gold], gold)
    assert perfect == {"precision": 1.0, "recall": 1.0, "aer": 0.0}
    with pytest.raises(ValueError, match="2 predicted alignments but 3 gold ones"):
        wa.alignment_error_rate(predicted[:2], gold)


# ----------------------------------------------------------------------------------------------
# Symmetrization

# Source words 0-3, target words 0-3; worked by hand with the rules in `symmetrize`'s docstring:
# intersection {0-0, 2-3}; grow adds 1-1 (diagonal of 0-0, source 1 unaligned) and then 1-2 (next
# to 1-1, target 2 unaligned), never 3-0 (no aligned neighbor) nor 0-3 (both words aligned);
# final adds 3-0 (source 3 unaligned) but final-and does not (target 0 is aligned).
FORWARD = [[(0, 0), (1, 1), (2, 3), (3, 0)]]
REVERSE = [[(0, 0), (0, 3), (1, 2), (2, 3)]]


@pytest.mark.parametrize(
    "method, expected",
    [
        ("intersection", [(0, 0), (2, 3)]),
        ("union", [(0, 0), (0, 3), (1, 1), (1, 2), (2, 3), (3, 0)]),
        ("grow-diag-final", [(0, 0), (1, 1), (1, 2), (2, 3), (3, 0)]),
        ("grow-diag-final-and", [(0, 0), (1, 1), (1, 2), (2, 3)]),
    ],
)
def test_symmetrize_by_hand(method, expected):
    assert wa.symmetrize(FORWARD, REVERSE, method) == [expected]


def test_grow_diag_repeats_until_nothing_grows():
    # 0-1 has no aligned neighbor until 1-1 joins (next to 2-2) later in the same pass; final-and
    # alone would not add it (target 1 is then aligned): only a second pass does.
    forward, reverse = [[(0, 1), (1, 1), (2, 2)]], [[(2, 2)]]
    assert wa.symmetrize(forward, reverse, "grow-diag-final-and") == [[(0, 1), (1, 1), (2, 2)]]


def test_symmetrize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown symmetrization 'grow-diag'"):
        wa.symmetrize(FORWARD, REVERSE, "grow-diag")
    with pytest.raises(ValueError, match="forward has 1 sentence pairs but reverse has 2"):
        wa.symmetrize(FORWARD, REVERSE * 2)


# ----------------------------------------------------------------------------------------------
# eflomal


def synthetic_corpus(n_pairs, seed=0):
    """German-like source words `s<k>`, translated word for word into `t<k>`, in reverse order."""
    rng = random.Random(seed)
    src_words, tgt_words = [], []
    for _ in range(n_pairs):
        words = rng.sample(range(40), rng.randint(3, 7))
        src_words.append([f"s{k}" for k in words])
        tgt_words.append([f"t{k}" for k in reversed(words)])
    return src_words, tgt_words


def correct_links(src_words):
    return [[(i, len(words) - 1 - i) for i in range(len(words))] for words in src_words]


def test_eflomal_learns_a_synthetic_lexicon():
    src_words, tgt_words = synthetic_corpus(300)
    # 20 requested pairs, the other 280 only for statistics: their links are not returned
    alignments = wa.align_eflomal(src_words[:20], tgt_words[:20], extra_src=src_words[20:], extra_tgt=tgt_words[20:])
    assert len(alignments) == 20
    gold = [(set(links), set(links)) for links in correct_links(src_words[:20])]
    scores = wa.alignment_error_rate(alignments, gold)
    assert scores["precision"] > 0.95 and scores["recall"] > 0.95


def test_eflomal_refuses_an_empty_corpus():
    with pytest.raises(ValueError, match="eflomal needs at least one sentence pair, got none"):
        wa.align_eflomal([], [])  # eflomal itself: ZeroDivisionError


def test_eflomal_directions():
    src_words, tgt_words = synthetic_corpus(200, seed=1)
    forward, reverse = wa.eflomal_directional(src_words, tgt_words)
    for links, words in zip(forward + reverse, src_words + src_words):
        assert all(0 <= i < len(words) and 0 <= j < len(words) for i, j in links)
    gold = [(set(links), set(links)) for links in correct_links(src_words)]
    assert wa.alignment_error_rate(reverse, gold)["aer"] < 0.05  # reverse links come as (source, target)
    with pytest.raises(ValueError, match="200 vs 199 pairs"):
        wa.eflomal_directional(src_words, tgt_words[:-1])


# ----------------------------------------------------------------------------------------------
# Neural matching on known similarities


def test_argmax_matching_by_hand():
    similarity = torch.tensor(
        [
            [[0.9, 0.1, 0.3], [0.2, 0.8, 0.7], [0.1, 0.6, 0.5]],
            # a 2 x 2 pair padded to 3 x 3 with values that would win if padding were not masked
            [[0.5, 0.5, 9.0], [0.4, 0.1, 9.0], [9.0, 9.0, 9.0]],
        ]
    )
    valid = torch.ones(2, 3, 3, dtype=torch.bool)
    valid[1, 2, :] = valid[1, :, 2] = False
    links = wa.argmax_matching(similarity, valid)
    # pair 0: rows pick columns 0, 1, 1; columns pick rows 0, 1, 1 -> mutual: 0-0, 1-1
    # pair 1: rows pick 0 (first of a tie), 0; columns pick 0, 0 -> mutual: 0-0
    assert links.nonzero().tolist() == [[0, 0, 0], [0, 1, 1], [1, 0, 0]]


def test_itermax_matching_by_hand():
    similarity = torch.tensor([[[0.9, 0.1, 0.3], [0.2, 0.8, 0.7], [0.1, 0.6, 0.5]]])
    links = wa.itermax_matching(similarity, torch.ones(1, 3, 3, dtype=torch.bool))
    # argmax gives 0-0, 1-1; round 2 weights (row 2 or column 2 unaligned: 0.9, both: 1, neither: 0):
    # [[0, 0, .27], [0, 0, .63], [.09, .54, .5]] -> mutual maxima 1-2 and 2-1, each touching a free word
    assert links[0].nonzero().tolist() == [[0, 0], [1, 1], [1, 2], [2, 1]]


def test_softmax_matching_by_hand():
    scores = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])
    # softmax over targets: [.88, .12], [.5, .5]; over sources: [.88, .12], [.5, .5] (columns)
    links = wa.softmax_matching(scores, torch.ones(1, 2, 2, dtype=torch.bool), threshold=0.3)
    assert links[0].nonzero().tolist() == [[0, 0], [1, 1]]


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (3, 3), (6, 4), (9, 12)])
def test_matching_equals_simalign_on_random_similarities(shape):
    from simalign import SentenceAligner

    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        similarity = rng.random(shape)
        # batch it with a larger, padded neighbor to check that padding changes nothing
        padded = np.full((2, 12, 12), 5.0)
        padded[0, : shape[0], : shape[1]] = similarity
        padded[1] = rng.random((12, 12))
        valid = torch.zeros(2, 12, 12, dtype=torch.bool)
        valid[0, : shape[0], : shape[1]] = True
        valid[1] = True
        padded = torch.tensor(padded)
        forward, backward = SentenceAligner.get_alignment_matrix(similarity)
        argmax = wa.argmax_matching(padded, valid)[0, : shape[0], : shape[1]].numpy()
        itermax = wa.itermax_matching(padded, valid)[0, : shape[0], : shape[1]].numpy()
        np.testing.assert_array_equal(argmax, (forward * backward) > 0)
        np.testing.assert_array_equal(itermax, SentenceAligner.iter_max(similarity) > 0)


# ----------------------------------------------------------------------------------------------
# Neural aligner end to end, on a tiny random BERT with mBERT's real tokenizer

SRC = [["Das", "Haus", "ist", "klein", "."], ["Ich", "verstehe", "Rosinenpickerei", "nicht"], ["Ja"]]
TGT = [["The", "house", "is", "small", "."], ["I", "do", "not", "understand", "cherry-picking"], ["Yes", "!"]]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    if not os.path.isdir(MBERT_TOKENIZER):
        pytest.skip(f"needs the real mBERT tokenizer at {MBERT_TOKENIZER} (../shared)")
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(MBERT_TOKENIZER)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
    )
    path = tmp_path_factory.mktemp("tiny-bert")
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@needs_mbert_tokenizer
@pytest.mark.parametrize("method", wa.NEURAL_METHODS)
def test_align_neural_shapes_and_batching(tiny_model_dir, method):
    alignments = wa.align_neural(SRC, TGT, tiny_model_dir, layer=2, method=method, batch_size=2)
    assert len(alignments) == len(SRC)
    for links, src, tgt in zip(alignments, SRC, TGT):
        assert links == sorted(set(links))
        assert all(0 <= i < len(src) and 0 <= j < len(tgt) for i, j in links)
    if method != "softmax":  # argmax-based methods align every sentence to something
        assert all(alignments)
    # one pair per forward pass (no padding) gives the same links
    assert wa.align_neural(SRC, TGT, tiny_model_dir, layer=2, method=method, batch_size=1) == alignments


@needs_mbert_tokenizer
@pytest.mark.parametrize("method", ["argmax", "itermax"])
def test_align_neural_equals_simalign(tiny_model_dir, method):
    expected = wa.align_simalign(SRC, TGT, tiny_model_dir, layer=2, method=method)
    assert wa.align_neural(SRC, TGT, tiny_model_dir, layer=2, method=method) == expected


@needs_mbert_tokenizer
def test_align_neural_prior_and_loaded_encoder(tiny_model_dir):
    encoder = wa.load_encoder(tiny_model_dir, 1)
    reversed_links = [[(i, len(src) - 1 - i) for i in range(len(src))] for src in SRC[:1]]
    # a heavy prior wins over every similarity: the argmax links become the prior's (1:1) links
    aligned = wa.align_neural(SRC[:1], TGT[:1], encoder, layer=1, priors=[reversed_links], prior_weight=10.0)
    assert aligned == reversed_links
    assert wa.align_neural(SRC, TGT, encoder, layer=1) == wa.align_neural(SRC, TGT, tiny_model_dir, layer=1)


@needs_mbert_tokenizer
def test_align_neural_long_sentence_and_bad_arguments(tiny_model_dir):
    long_source = ["Haus"] * 600  # past the 512-token limit: the words beyond stay unaligned
    [links] = wa.align_neural([long_source], [["house"]], tiny_model_dir, layer=1)
    assert links and all(i < 510 for i, _ in links)
    with pytest.raises(ValueError, match="has layers 0-3, not 4"):
        wa.align_neural(SRC, TGT, tiny_model_dir, layer=4)
    with pytest.raises(ValueError, match="unknown method 'mwmf'"):
        wa.align_words(SRC, TGT, "neural", model_name_or_path=tiny_model_dir, method="mwmf")
    with pytest.raises(ValueError, match="3 source sentences but 2 target ones"):
        wa.align_neural(SRC, TGT[:2], tiny_model_dir)
    with pytest.raises(ValueError, match="unknown aligner 'giza'"):
        wa.align_words(SRC, TGT, "giza")


def test_align_neural_reads_cjk_as_written_and_maps_links_back_to_the_words():
    """Issue 14: the encoder read Chinese as `▁这 ▁样 ▁的 ...` (characters separated by spaces); it must read
    the sentence as written, and a link of a piece that spans several words (`这样的`) links each of them."""
    from test_words import xlm_r_tokenizer
    from transformers import BertConfig, BertModel

    tokenizer = xlm_r_tokenizer(["▁", "这样的", "人", "很多", "▁many", "▁such", "▁people", "▁.", "."])
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=32)).eval()
    seen = []
    model.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs["input_ids"]), with_kwargs=True)
    source, target = [["这", "样", "的", "人", "很", "多"]], [["many", "such", "people", "."]]  # as split_words gives them
    prior = [[(0, 1), (1, 1), (2, 1), (3, 2), (4, 0), (5, 0), (5, 3)]]
    # a heavy prior decides every link: each piece takes its words' partner
    links = wa.align_neural(source, target, (tokenizer, model), layer=1, priors=[prior], prior_weight=10.0,
                            tgt_texts=["many such people."])
    assert [tokenizer.convert_ids_to_tokens(ids) for ids in (seen[0][0], seen[1][0])] == [
        ["<s>", "▁", "这样的", "人", "很多", "</s>"], ["<s>", "▁many", "▁such", "▁people", ".", "</s>"]]
    # the bare ▁ takes part in no link; 很多 -> many beats 很多 -> . (half its words' prior)
    assert links == [[(0, 1), (1, 1), (2, 1), (3, 2), (4, 0), (5, 0)]]
    with pytest.raises(ValueError, match="1 source sentences but 2 target text ones"):
        wa.align_neural(source, target, (tokenizer, model), layer=1, tgt_texts=["a", "b"])


# ----------------------------------------------------------------------------------------------
# Command line


def run_cli(*args):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "align_words.py"), *args],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def test_cli_eflomal_with_gold(tmp_path):
    src_words, tgt_words = synthetic_corpus(200)
    src = write_lines(tmp_path / "src.txt", [" ".join(words) for words in src_words])
    tgt = write_lines(tmp_path / "tgt.txt", [" ".join(words) for words in tgt_words])
    talp_lines = [" ".join(f"{i + 1}-{j + 1}" for i, j in links) for links in correct_links(src_words)]
    gold = write_lines(tmp_path / "gold.talp", talp_lines)
    output = tmp_path / "out.align"
    result = run_cli("--src", src, "--tgt", tgt, "--output", str(output), "--gold", gold)
    assert result.returncode == 0, result.stderr
    precision, recall, aer = (float(x) for x in result.stdout.split()[1:6:2])
    assert precision > 95 and recall > 95 and aer < 5
    assert len(wa.read_pharaoh(str(output), [len(w) for w in src_words], [len(w) for w in tgt_words])) == 200


@needs_mbert_tokenizer
def test_cli_neural_parallel_file(tmp_path, tiny_model_dir):
    parallel = write_lines(tmp_path / "test.de-en", [f"{' '.join(s)} ||| {' '.join(t)}" for s, t in zip(SRC, TGT)])
    output = str(tmp_path / "out.align")
    align_words.main(["--parallel", parallel, "--pretokenized", "--output", output, "--aligner", "neural",
             "--model", tiny_model_dir, "--layer", "2"])
    assert wa.read_pharaoh(output) == wa.align_neural(SRC, TGT, tiny_model_dir, layer=2)


def test_cli_aligns_with_a_weam_checkpoint_without_remote_code(tmp_path):
    """run_pretrain.py's output as --model: loaded with this repository's classes, aligned as its plain-BERT export."""
    from transformers import AutoTokenizer

    from configuration_weam import WeamConfig
    from modeling_weam import WeamForPreTraining, save_as_bert

    tokenizer = AutoTokenizer.from_pretrained(os.path.join(ROOT, "data", "sample", "demo-tokenizer"))
    torch.manual_seed(0)
    model = WeamForPreTraining(WeamConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=2,
                                          num_attention_heads=2, intermediate_size=32))
    model.save_pretrained(str(tmp_path / "weam"))
    save_as_bert(model, str(tmp_path / "bert"))
    for name in ("weam", "bert"):
        tokenizer.save_pretrained(str(tmp_path / name))
    src = write_lines(tmp_path / "src.txt", ["the house is small", "the patient has a fever"])
    tgt = write_lines(tmp_path / "tgt.txt", ["la casa es pequeña", "el paciente tiene fiebre"])
    for name in ("weam", "bert"):
        align_words.main(["--src", src, "--tgt", tgt, "--output", str(tmp_path / f"{name}.align"),
                          "--aligner", "neural", "--model", str(tmp_path / name), "--layer", "1"])
    assert wa.read_pharaoh(str(tmp_path / "weam.align")) == wa.read_pharaoh(str(tmp_path / "bert.align"))
    assert all(wa.read_pharaoh(str(tmp_path / "weam.align")))


@needs_mbert_tokenizer
def test_cli_neural_eflomal_with_extra_corpus(tmp_path, tiny_model_dir, capsys):
    src = write_lines(tmp_path / "src.txt", [" ".join(words) for words in SRC])
    tgt = write_lines(tmp_path / "tgt.txt", [" ".join(words) for words in TGT])
    extra_src = write_lines(tmp_path / "extra.src", [" ".join(words) for words in SRC * 30])
    extra_tgt = write_lines(tmp_path / "extra.tgt", [" ".join(words) for words in TGT * 30])
    output = str(tmp_path / "out.align")
    align_words.main(["--src", src, "--tgt", tgt, "--pretokenized", "--output", output, "--aligner", "neural+eflomal",
             "--model", tiny_model_dir, "--layer", "1", "--extra_src", extra_src, "--extra_tgt", extra_tgt])
    alignments = wa.read_pharaoh(output, [len(words) for words in SRC], [len(words) for words in TGT])
    assert len(alignments) == len(SRC) and all(alignments)


@pytest.mark.parametrize(
    "src_lines, tgt_lines, extra_args, message",
    [
        (["a b", "c"], ["x y"], [], "tgt.txt: has 1 lines but .*src.txt has 2"),
        (["a b", "c"], ["x y", " "], [], r"tgt.txt, line 2: the target sentence has no words"),
        (["a b", "c"], ["x", "y"], ["--aligner", "neural"], "--aligner neural needs --model"),
        (["a b", "c"], ["x", "y"], ["--gold", "missing.talp"], "No such file or directory: 'missing.talp'"),
        ([b"Gr\xfc\xdfe"], ["Greetings"], [], r"src.txt, line 1: invalid UTF-8 at byte offset 2"),
        ([], [], [], r"src.txt: no sentence pairs in it \(it is empty\)"),
        (["a" * 1_000_000], ["x"], [], r"src.txt, line 1: 1000000 characters, more than --max_line_chars 2000"),
        (["a b"], ["x " * 30], ["--max_line_chars", "50"], r"tgt.txt, line 1: 60 characters, more than --max_line"),
        (["a"], ["x"], ["--batch_size", "0"], r"argument --batch_size: must be at least 1, got 0"),
        (["a"], ["x"], ["--batch_size", "-1"], r"argument --batch_size: must be at least 1, got -1"),
        (["a"], ["x"], ["--output", "no-such-folder/out.align"], r"--output no-such-folder/out.align is in "
                                                                  r".*no-such-folder, which does not exist"),
        (["a"], ["x"], ["--gold", "gold.talp"], r"gold.talp, line 1: link '0-0' has the word index 0, but TALP links"),
    ],
    ids=["unequal line counts", "a side without words", "no model", "no gold file", "Latin-1", "empty files",
         "1 MB line", "line over --max_line_chars", "batch size 0", "batch size -1", "output in a missing folder",
         "0-based gold"],
)
def test_cli_bad_input_exits_2_with_a_message(tmp_path, capsys, monkeypatch, src_lines, tgt_lines, extra_args,
                                              message):
    src, tgt = str(tmp_path / "src.txt"), write_lines(tmp_path / "tgt.txt", tgt_lines)
    with open(src, "wb") as file:  # bytes as given: one case is Latin-1
        file.writelines((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in src_lines)
    (tmp_path / "gold.talp").write_text("0-0\n")  # 0-based: a Pharaoh line given as TALP
    monkeypatch.chdir(tmp_path)

    def align_words_not_called(*args, **kwargs):  # every problem is found before the (slow) alignment
        raise AssertionError("aligned before finding the problem")

    monkeypatch.setattr(align_words, "align_words", align_words_not_called)
    with pytest.raises(SystemExit) as exit_info:
        align_words.main(["--src", src, "--tgt", tgt, "--output", str(tmp_path / "out.align"), *extra_args])
    assert exit_info.value.code == 2
    last_line = capsys.readouterr().err.splitlines()[-1]  # after the usage
    assert re.search(f": error: .*{message}", last_line)
