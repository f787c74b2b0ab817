"""Accuracy in percent: of labels (XNLI: one per sentence pair) or of tags (UD POS: one per word)."""

import datasets
import evaluate

_CITATION = """\
@inproceedings{conneau-etal-2018-xnli,
  title = {{XNLI}: Evaluating Cross-lingual Sentence Representations},
  author = {Conneau, Alexis and Rinott, Ruty and Lample, Guillaume and Williams, Adina and Bowman, Samuel R.
            and Schwenk, Holger and Stoyanov, Veselin},
  booktitle = {Proceedings of EMNLP},
  year = {2018}
}
@inproceedings{hu-etal-2020-xtreme,
  title = {{XTREME}: A Massively Multilingual Multi-task Benchmark for Evaluating Cross-lingual Generalisation},
  author = {Hu, Junjie and Ruder, Sebastian and Siddhant, Aditya and Neubig, Graham and Firat, Orhan and Johnson, Melvin},
  booktitle = {Proceedings of ICML},
  year = {2020}
}
"""

_DESCRIPTION = """\
Percentage of correct predictions. Two configurations:
- "xnli" (the default): one label per item (XNLI: 0 entailment, 1 neutral, 2 contradiction);
- "udpos": one tag sequence per sentence, one tag per word (UD part-of-speech tagging, XTREME's udpos);
  every word counts once, so long sentences weigh more, as in XTREME.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: "xnli": predicted labels (integers); "udpos": one list of predicted tags per sentence.
    references: the gold labels, or the gold tag lists (each as long as its prediction).
Returns:
    accuracy: correct predictions (labels, or words) in percent of all.
Examples:
    >>> accuracy = evaluate.load("weam/metrics/accuracy", "udpos")
    >>> accuracy.compute(predictions=[["PRON", "VERB"], ["NOUN"]], references=[["PRON", "NOUN"], ["NOUN"]])
    {'accuracy': 66.66666666666667}
"""

FEATURES = {
    "xnli": datasets.Features({"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}),
    "udpos": datasets.Features(
        {
            "predictions": datasets.Sequence(datasets.Value("string")),
            "references": datasets.Sequence(datasets.Value("string")),
        }
    ),
}
FEATURES["default"] = FEATURES["xnli"]


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Accuracy(evaluate.Metric):
    def _info(self):
        if self.config_name not in FEATURES:
            raise KeyError(f"unknown configuration {self.config_name!r}: use 'xnli' or 'udpos'")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=FEATURES[self.config_name],
            reference_urls=["https://github.com/google-research/xtreme"],
        )

    def _compute(self, predictions, references):
        if self.config_name == "udpos":
            for sentence, (predicted, gold) in enumerate(zip(predictions, references)):
                if len(predicted) != len(gold):
                    raise ValueError(f"sentence {sentence}: {len(predicted)} predicted tags for {len(gold)} words")
            predictions = [tag for tags in predictions for tag in tags]
            references = [tag for tags in references for tag in tags]
        if not references:
            raise ValueError("the accuracy of an empty evaluation set is undefined")
        correct = sum(predicted == gold for predicted, gold in zip(predictions, references))
        return {"accuracy": 100.0 * correct / len(references)}
