"""metrics.py against hand computations: accuracy, SQuAD v1.1 EM/F1, MLQA's language-aware normalization."""

import pytest

from weam.metrics import (
    accuracy,
    exact_match_score,
    f1_score,
    mixed_segmentation,
    normalize_answer_mlqa,
    normalize_answer_squad,
    normalizer,
    squad_scores,
)


def test_accuracy_is_a_percentage_of_matches():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 75.0
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])


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
    scores = squad_scores(
        ["the big cat", "Paris", "nothing"],
        [{"answers": ["a cat", "big cat"]}, {"answers": ["paris"]}, {"answers": ["something"]}],
    )
    assert scores["exact_match"] == pytest.approx(100 * 2 / 3)  # "big cat" and "Paris" match exactly
    assert scores["f1"] == pytest.approx(100 * (1 + 1 + 0) / 3)
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        squad_scores(["a", "b"], [{"answers": ["a"]}])


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
    scores = squad_scores(["北京大学"], [{"answers": ["北京"], "language": "zh"}], normalization="mlqa")
    assert scores == {"exact_match": 0.0, "f1": pytest.approx(100 * 2 / 3)}


def test_mlqa_other_languages_follow_the_official_rules():
    assert normalize_answer_mlqa("của tôi", "vi") == "tôi"
    assert normalize_answer_mlqa("الكتاب", "ar") == "كتاب"
    assert normalize_answer_mlqa("भारत का", "hi") == "भारत का"


def test_mlqa_normalization_of_an_unknown_language_is_an_error_pointing_to_squad():
    with pytest.raises(ValueError, match="'ru'.*squad"):
        normalizer("mlqa", "ru")
    with pytest.raises(ValueError, match="answer normalization must be one of"):
        normalizer("bleu", "en")
