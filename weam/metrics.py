"""Evaluation metrics, computed locally (no `evaluate.load`): XNLI accuracy and extractive-QA EM/F1.

QA scores follow the official scripts exactly:
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

# MLQA's article patterns, verbatim; a language mapped to None has no articles to remove.
MLQA_ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "hi": None,
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    # Removes every "ال", also inside words: the official script does so.
    "ar": "\\sال^|ال",
    "zh": None,
}
MLQA_LANGUAGES = tuple(MLQA_ARTICLES)
MLQA_CHARACTER_SEGMENTED_LANGUAGES = ("zh",)
HAN_CHARACTER = re.compile(r"[\u4e00-\u9fa5]")

ANSWER_NORMALIZATIONS = ("squad", "mlqa")


def accuracy(predictions, labels):
    """Percentage of predictions equal to their label."""
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    if len(labels) == 0:
        raise ValueError("accuracy of an empty evaluation set is undefined")
    return 100.0 * sum(int(p == y) for p, y in zip(predictions, labels)) / len(labels)


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
    if language not in MLQA_ARTICLES:
        raise ValueError(
            f"MLQA's answer normalization is defined for {', '.join(MLQA_LANGUAGES)}, not {language!r}; "
            "score other languages with SQuAD's normalization (answer_normalization='squad')"
        )
    text = "".join(ch for ch in text.lower() if ch not in UNICODE_PUNCTUATION)
    if MLQA_ARTICLES[language] is not None:
        text = re.sub(MLQA_ARTICLES[language], " ", text)
    tokens = mixed_segmentation(text) if language in MLQA_CHARACTER_SEGMENTED_LANGUAGES else text.split()
    return " ".join(token for token in tokens if token.strip())


def normalizer(normalization, language):
    """The answer normalization function `text -> str` of one scheme and answer language."""
    if normalization == "squad":
        return normalize_answer_squad
    if normalization == "mlqa":
        normalize_answer_mlqa("", language)  # fail now, not at the first answer, on an unknown language
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


def squad_scores(predictions, references, normalization="squad"):
    """Exact match and F1 in percent, each question scored against its best-matching gold answer.

    Args:
        predictions: predicted answer texts.
        references: one dict per prediction, `{"answers": [gold texts], "language": answer language}`
            (`language` is only read by the MLQA normalization).
        normalization: `"squad"` or `"mlqa"`.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if len(references) == 0:
        raise ValueError("QA scores of an empty evaluation set are undefined")
    exact_match = f1 = 0.0
    for prediction, reference in zip(predictions, references):
        normalize = normalizer(normalization, reference.get("language"))
        exact_match += max(exact_match_score(prediction, truth, normalize) for truth in reference["answers"])
        f1 += max(f1_score(prediction, truth, normalize) for truth in reference["answers"])
    return {"exact_match": 100.0 * exact_match / len(references), "f1": 100.0 * f1 / len(references)}
