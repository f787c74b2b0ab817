"""Extractive-QA exact match and F1 exactly as the official scripts compute them (no `evaluate` needed here).

* SQuAD v1.1 (`evaluate-v1.1.py`, also what XTREME uses for XQuAD and TyDiQA-GoldP): lowercase, drop ASCII
  punctuation, drop the English articles, split on whitespace.
* MLQA (`mlqa_evaluation_v1.py`): lowercase, drop every Unicode punctuation character, drop the articles of
  the answer's language, split on whitespace, except Chinese, which is split into single Han characters
  (with runs of other characters split on whitespace).
"""

import re
import string
import sys
import unicodedata
from collections import Counter

# Unicode categories P* plus ASCII punctuation, as MLQA's script builds it (range excludes sys.maxunicode too).
UNICODE_PUNCTUATION = {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}.union(
    string.punctuation
)
ASCII_PUNCTUATION = set(string.punctuation)

# MLQA's article patterns, verbatim, one per MLQA language; a language mapped to None has no articles to remove.
MLQA_ARTICLES = {
    "ar": "\\sال^|ال",  # removes every "ال", also inside words: the official script does so
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "hi": None,
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "zh": None,
}
MLQA_LANGUAGES = tuple(MLQA_ARTICLES)
MLQA_CHARACTER_SEGMENTED_LANGUAGES = ("zh",)
HAN_CHARACTER = re.compile(r"[\u4e00-\u9fa5]")

ANSWER_NORMALIZATIONS = ("squad", "mlqa")


def normalize_answer_squad(text):
    """SQuAD v1.1: lowercase, drop ASCII punctuation and English articles, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in ASCII_PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def mixed_segmentation(text):
    """MLQA's Chinese tokenization: each Han character and punctuation mark alone, other runs split on spaces."""
    tokens, run = [], ""
    for char in text:
        if HAN_CHARACTER.search(char) or char in UNICODE_PUNCTUATION:
            tokens.extend(run.split())
            run = ""
            tokens.append(char)
        else:
            run += char
    tokens.extend(run.split())
    return tokens


def normalize_answer_mlqa(text, language):
    """MLQA: lowercase, drop Unicode punctuation and `language`'s articles, tokenize, join tokens by spaces."""
    check_mlqa_language(language)
    text = "".join(ch for ch in text.lower() if ch not in UNICODE_PUNCTUATION)
    if MLQA_ARTICLES[language] is not None:
        text = re.sub(MLQA_ARTICLES[language], " ", text)
    tokens = mixed_segmentation(text) if language in MLQA_CHARACTER_SEGMENTED_LANGUAGES else text.split()
    return " ".join(token for token in tokens if token.strip())


def check_mlqa_language(language):
    if language not in MLQA_ARTICLES:
        raise ValueError(
            f"MLQA's answer normalization is defined for {', '.join(MLQA_LANGUAGES)}, not {language!r}; "
            "score other languages with SQuAD's normalization (answer_normalization='squad')"
        )


def normalizer(normalization, language=None):
    """The answer normalization `text -> str` of one scheme ("squad" or "mlqa") and answer language."""
    if normalization == "squad":
        return normalize_answer_squad
    if normalization == "mlqa":
        check_mlqa_language(language)  # fail now, not at the first answer
        return lambda text: normalize_answer_mlqa(text, language)
    raise ValueError(f"answer normalization must be one of {ANSWER_NORMALIZATIONS}, got {normalization!r}")


def exact_match_score(prediction, truth, normalize):
    return float(normalize(prediction) == normalize(truth))


def f1_score(prediction, truth, normalize):
    """Bag-of-tokens F1 between the normalized answers (0 when they share no token, even if both are empty)."""
    prediction_tokens = normalize(prediction).split()
    truth_tokens = normalize(truth).split()
    num_same = sum((Counter(prediction_tokens) & Counter(truth_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def answer_scores(predictions, gold_answers, normalize):
    """Exact match and F1 in percent, each prediction scored against its best-matching gold answer.

    Args:
        predictions: predicted answer texts.
        gold_answers: one list of gold answer texts per prediction.
        normalize: see `normalizer`.
    """
    if len(predictions) != len(gold_answers):
        raise ValueError(f"{len(predictions)} predictions for {len(gold_answers)} references")
    if len(gold_answers) == 0:
        raise ValueError("QA scores of an empty evaluation set are undefined")
    exact_match = f1 = 0.0
    for prediction, truths in zip(predictions, gold_answers):
        exact_match += max(exact_match_score(prediction, truth, normalize) for truth in truths)
        f1 += max(f1_score(prediction, truth, normalize) for truth in truths)
    return {"exact_match": 100.0 * exact_match / len(gold_answers), "f1": 100.0 * f1 / len(gold_answers)}
