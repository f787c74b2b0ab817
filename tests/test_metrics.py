"""The evaluate modules of weam/metrics against hand computations: accuracy (XNLI, POS), SQuAD v1.1 and MLQA
EM/F1 with MLQA's language-aware normalization, AER; each loaded offline with `evaluate.load(folder)`."""

import runpy
import shutil

import evaluate
import pytest

from weam import metrics, word_alignment
from weam.metrics.aer.alignment_error_rate import alignment_error_rate
from weam.metrics.qa.answer_scores import (
    answer_scores,
    exact_match_score,
    f1_score,
    mixed_segmentation,
    normalize_answer_mlqa,
    normalize_answer_squad,
    normalizer,
)


def qa_item(question_id, prediction, answers):
    return (
        {"id": question_id, "prediction_text": prediction},
        {"id": question_id, "answers": {"text": answers, "answer_start": [0] * len(answers)}},
    )


def qa_scores(config, items, **kwargs):
    predictions, references = zip(*items)
    return metrics.load("qa", config).compute(predictions=list(predictions), references=list(references), **kwargs)


def test_xnli_accuracy_is_a_percentage_of_matches():
    accuracy = metrics.load("accuracy", "xnli")
    assert accuracy.compute(predictions=[0, 1, 2, 2], references=[0, 1, 1, 2]) == {"accuracy": 75.0}
    assert metrics.load("accuracy").config_name == "default"  # xnli's
    with pytest.raises(ValueError, match="empty"):
        accuracy.compute(predictions=[], references=[])


def test_pos_accuracy_counts_words_not_sentences():
    accuracy = metrics.load("accuracy", "udpos")
    # 4 of 5 words right; per sentence it would be (1/2 + 3/3) / 2 = 75%
    scores = accuracy.compute(
        predictions=[["DET", "VERB"], ["PRON", "VERB", "PUNCT"]], references=[["DET", "NOUN"], ["PRON", "VERB", "PUNCT"]]
    )
    assert scores == {"accuracy": 80.0}
    with pytest.raises(ValueError, match="sentence 1: 2 predicted tags for 3 words"):
        accuracy.compute(predictions=[["X"], ["X", "X"]], references=[["X"], ["X", "X", "X"]])
    with pytest.raises(KeyError, match="unknown configuration 'ner'"):
        metrics.load("accuracy", "ner")


def test_squad_normalization_drops_ascii_punctuation_english_articles_and_extra_space():
    assert normalize_answer_squad("  The  Cat's   hat!") == "cats hat"
    assert normalize_answer_squad("an apple, a pear") == "apple pear"
    # Articles only as whole words, punctuation only ASCII (SQuAD v1.1 keeps typographic quotes).
    assert normalize_answer_squad("Theory of anarchy") == "theory of anarchy"
    assert normalize_answer_squad("“quoted”") == "“quoted”"


def test_squad_exact_match_and_f1_by_hand():
    normalize = normalize_answer_squad
    assert exact_match_score("The cat.", "cat", normalize) == 1.0
    assert exact_match_score("big cat", "cat", normalize) == 0.0
    # prediction {big, cat}, truth {cat}: precision 1/2, recall 1, F1 2/3
    assert f1_score("the big cat", "a cat", normalize) == pytest.approx(2 / 3)
    # repeated tokens count with multiplicity: {cat, cat} vs {cat}: precision 1/2, recall 1
    assert f1_score("cat cat", "cat", normalize) == pytest.approx(2 / 3)
    assert f1_score("dog", "cat", normalize) == 0.0
    # Both empty after normalization: exact match, yet F1 0 (no shared token), as the official script.
    assert exact_match_score("the", "a", normalize) == 1.0
    assert f1_score("the", "a", normalize) == 0.0


def test_squad_scores_take_the_best_gold_answer_and_average_in_percent():
    items = [qa_item("1", "the big cat", ["a cat", "big cat"]), qa_item("2", "Paris", ["paris"]),
             qa_item("3", "nothing", ["something"])]  # fmt: skip
    scores = qa_scores("squad", items)
    assert scores["exact_match"] == pytest.approx(100 * 2 / 3)  # "big cat" and "Paris" match exactly
    assert scores["f1"] == pytest.approx(100 * (1 + 1 + 0) / 3)
    assert qa_scores("squad", items[::-1]) == scores  # predictions are matched to references by id
    (prediction, _), (_, reference) = items[0], items[1]
    with pytest.raises(ValueError, match="1 questions have no prediction, e.g. id '2'"):
        metrics.load("qa").compute(predictions=[prediction], references=[reference])
    with pytest.raises(ValueError, match="answer_language is for the 'mlqa' configuration"):
        qa_scores("squad", items, answer_language="de")
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        answer_scores(["a", "b"], [["a"]], normalize_answer_squad)


def test_mlqa_english_removes_unicode_punctuation_unlike_squad():
    assert normalize_answer_mlqa("“The” cat — ¿ok?", "en") == "cat ok"
    # SQuAD keeps the typographic marks (the article between them still goes: they are not word characters).
    assert normalize_answer_squad("“The” cat — ¿ok?") == "“ ” cat — ¿ok"


def test_mlqa_german_articles():
    assert normalize_answer_mlqa("Der Hund des Nachbarn", "de") == "hund nachbarn"
    assert normalize_answer_mlqa("DIE Katze, einer Frau", "de") == "katze frau"
    # Only whole words: "Derby" and "Dieb" keep their letters; English articles stay in German.
    assert normalize_answer_mlqa("Derby Dieb the", "de") == "derby dieb the"
    assert normalize_answer_mlqa("der Hund", "en") == "der hund"
    # prediction {hund, nachbarn} vs truth {hund}: F1 2/3, as in English
    assert f1_score("des Nachbarn Hund", "den Hund", normalizer("mlqa", "de")) == pytest.approx(2 / 3)
    assert exact_match_score("der Hund", "Hund", normalizer("mlqa", "de")) == 1.0
    assert exact_match_score("der Hund", "Hund", normalizer("squad", "de")) == 0.0


def test_mlqa_spanish_articles():
    assert normalize_answer_mlqa("El perro y la casa", "es") == "perro y casa"
    assert normalize_answer_mlqa("Los Ángeles, unas lasañas", "es") == "ángeles lasañas"
    assert exact_match_score("las montañas", "Montañas.", normalizer("mlqa", "es")) == 1.0


def test_mlqa_chinese_is_scored_by_characters():
    assert mixed_segmentation("北京abc def大学") == ["北", "京", "abc", "def", "大", "学"]
    assert normalize_answer_mlqa("北京大学，位于海淀。", "zh") == "北 京 大 学 位 于 海 淀"
    assert normalize_answer_mlqa("iPhone 12手机", "zh") == "iphone 12 手 机"
    # No articles in Chinese: an English "the" stays.
    assert normalize_answer_mlqa("the 北京", "zh") == "the 北 京"
    # prediction {北, 京, 大, 学} vs truth {北, 京}: precision 1/2, recall 1, F1 2/3; whitespace scoring gives 0.
    assert f1_score("北京大学", "北京", normalizer("mlqa", "zh")) == pytest.approx(2 / 3)
    assert f1_score("北京大学", "北京", normalizer("squad", "zh")) == 0.0
    scores = qa_scores("mlqa", [qa_item("1", "北京大学", ["北京"])], answer_language="zh")
    assert scores == {"exact_match": 0.0, "f1": pytest.approx(100 * 2 / 3)}
    assert qa_scores("squad", [qa_item("1", "北京大学", ["北京"])]) == {"exact_match": 0.0, "f1": 0.0}


def test_mlqa_other_languages_follow_the_official_rules():
    assert normalize_answer_mlqa("của tôi", "vi") == "tôi"
    assert normalize_answer_mlqa("الكتاب", "ar") == "كتاب"
    assert normalize_answer_mlqa("भारत का", "hi") == "भारत का"


def test_mlqa_normalization_of_an_unknown_language_is_an_error_pointing_to_squad():
    with pytest.raises(ValueError, match="'ru'.*squad"):
        normalizer("mlqa", "ru")
    with pytest.raises(ValueError, match="'ru'.*squad"):
        qa_scores("mlqa", [qa_item("1", "a", ["a"])], answer_language="ru")
    with pytest.raises(ValueError, match="answer normalization must be one of"):
        normalizer("bleu", "en")


def test_aer_module_and_word_alignment_share_one_implementation():
    assert word_alignment.alignment_error_rate is alignment_error_rate
    aer = metrics.load("aer")
    # |A| = 3, |S| = 2, |A∩S| = 1 ((0,0)), |A∩P| = 2 ((0,0) sure, (1,2) possible)
    predictions = [[[0, 0], [1, 2]], [[2, 2]]]
    references = [{"sure": [[0, 0]], "possible": [[1, 2]]}, {"sure": [[1, 1]], "possible": []}]
    expected = {"precision": 2 / 3, "recall": 1 / 2, "aer": 1 - (1 + 2) / (3 + 2)}
    assert aer.compute(predictions=predictions, references=references) == pytest.approx(expected)
    gold = [({(0, 0)}, {(0, 0), (1, 2)}), ({(1, 1)}, {(1, 1)})]
    assert word_alignment.alignment_error_rate([[(0, 0), (1, 2)], [(2, 2)]], gold) == pytest.approx(expected)
    with pytest.raises(ValueError, match="a link is a \\[source word, target word\\] pair"):
        aer.compute(predictions=[[[0, 0, 1]]], references=[{"sure": [], "possible": []}])


@pytest.mark.parametrize("name, module_file", [("qa", "qa.py"), ("accuracy", "accuracy.py"), ("aer", "aer.py")])
def test_each_module_folder_stands_alone_as_a_hub_space(name, module_file, tmp_path, monkeypatch):
    """What a user pushes: the folder alone, its card with Space metadata, and the app a Space runs."""
    folder = tmp_path / name
    shutil.copytree(f"{metrics.FOLDER}/{name}", folder)  # outside the repository: no weam import may be needed
    card = (folder / "README.md").read_text()
    assert card.startswith("---\n") and "sdk: gradio" in card and "- evaluate\n- metric" in card
    assert "evaluate" in (folder / "requirements.txt").read_text()
    launched = []
    monkeypatch.setattr(evaluate.utils, "launch_gradio_widget", launched.append)
    runpy.run_path(str(folder / "app.py"))
    assert len(launched) == 1 and type(launched[0]).__module__.endswith(module_file[:-3])
    assert type(evaluate.load(str(folder))).__name__ == type(launched[0]).__name__
