"""Extractive QA exact match and F1 as the official scripts score them: SQuAD v1.1's rules or MLQA's."""

import datasets
import evaluate

from .answer_scores import MLQA_LANGUAGES, answer_scores, normalizer

_CITATION = """\
@inproceedings{rajpurkar-etal-2016-squad,
  title = {{SQ}u{AD}: 100,000+ Questions for Machine Comprehension of Text},
  author = {Rajpurkar, Pranav and Zhang, Jian and Lopyrev, Konstantin and Liang, Percy},
  booktitle = {Proceedings of EMNLP},
  year = {2016}
}
@inproceedings{lewis-etal-2020-mlqa,
  title = {{MLQA}: Evaluating Cross-lingual Extractive Question Answering},
  author = {Lewis, Patrick and Oguz, Barlas and Rinott, Ruty and Riedel, Sebastian and Schwenk, Holger},
  booktitle = {Proceedings of ACL},
  year = {2020}
}
"""

_DESCRIPTION = f"""\
Exact match and token F1 of predicted answer spans, in percent, each question scored against its
best-matching gold answer. Two configurations, one per official script:
- "squad" (the default): SQuAD v1.1's `evaluate-v1.1.py` (lowercase, drop ASCII punctuation and English
  articles, split on whitespace), which XTREME also uses for XQuAD and TyDiQA-GoldP;
- "mlqa": MLQA's `mlqa_evaluation_v1.py`, language-aware: drops every Unicode punctuation mark and the
  articles of the answer's language, and scores Chinese by characters. Languages: {", ".join(MLQA_LANGUAGES)}.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: one dict per question, {"id": question id, "prediction_text": predicted answer}.
    references: one dict per question, {"id": question id, "answers": {"text": [gold answers],
        "answer_start": [their character offsets]}} (SQuAD format). Every reference needs a prediction.
    answer_language: "mlqa" configuration only: the language of the answers (context), e.g. "de".
Returns:
    exact_match: percentage of questions whose normalized prediction equals a normalized gold answer.
    f1: mean over questions of the best token F1 against a gold answer, in percent.
Examples:
    >>> qa = evaluate.load("weam/metrics/qa", "mlqa")
    >>> qa.compute(predictions=[{"id": "1", "prediction_text": "der Hund"}],
    ...            references=[{"id": "1", "answers": {"text": ["Hund"], "answer_start": [4]}}],
    ...            answer_language="de")
    {'exact_match': 100.0, 'f1': 100.0}
"""

CONFIGURATIONS = {"default": "squad", "squad": "squad", "mlqa": "mlqa"}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class QA(evaluate.Metric):
    def _info(self):
        if self.config_name not in CONFIGURATIONS:
            raise KeyError(f"unknown configuration {self.config_name!r}: use 'squad' or 'mlqa'")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": {"id": datasets.Value("string"), "prediction_text": datasets.Value("string")},
                    "references": {
                        "id": datasets.Value("string"),
                        "answers": datasets.Sequence(
                            {"text": datasets.Value("string"), "answer_start": datasets.Value("int32")}
                        ),
                    },
                }
            ),
            reference_urls=["https://rajpurkar.github.io/SQuAD-explorer/", "https://github.com/facebookresearch/MLQA"],
        )

    def _compute(self, predictions, references, answer_language=None):
        normalization = CONFIGURATIONS[self.config_name]
        if normalization == "squad" and answer_language is not None:
            raise ValueError("answer_language is for the 'mlqa' configuration; SQuAD's rules are English only")
        normalize = normalizer(normalization, answer_language)
        predicted = {prediction["id"]: prediction["prediction_text"] for prediction in predictions}
        unanswered = [reference["id"] for reference in references if reference["id"] not in predicted]
        if unanswered:
            raise ValueError(f"{len(unanswered)} questions have no prediction, e.g. id {unanswered[0]!r}")
        return answer_scores(
            [predicted[reference["id"]] for reference in references],
            [reference["answers"]["text"] for reference in references],
            normalize,
        )
