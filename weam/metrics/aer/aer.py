"""Word alignment precision, recall and alignment error rate (AER) against sure and possible gold links."""

import datasets
import evaluate

from .alignment_error_rate import alignment_error_rate

_CITATION = """\
@article{och-ney-2003-systematic,
  title = {A Systematic Comparison of Various Statistical Alignment Models},
  author = {Och, Franz Josef and Ney, Hermann},
  journal = {Computational Linguistics},
  volume = {29},
  number = {1},
  pages = {19--51},
  year = {2003}
}
"""

_DESCRIPTION = """\
Precision, recall and alignment error rate of predicted word alignments over a whole corpus, as fractions:
precision = |A∩P| / |A|, recall = |A∩S| / |S|, AER = 1 - (|A∩S| + |A∩P|) / (|A| + |S|), for the predicted
links A and the gold sure links S and possible links P (sure links count as possible too). Links are
(source word, target word) index pairs; use the same base (0 or 1) for predictions and references.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: one list of links per sentence pair, each link [source word, target word].
    references: one dict per sentence pair, {"sure": [links], "possible": [links]}.
Returns:
    precision, recall, aer: fractions in [0, 1] (AER: lower is better).
Examples:
    >>> aer = evaluate.load("weam/metrics/aer")
    >>> aer.compute(predictions=[[[0, 0], [1, 1]]], references=[{"sure": [[0, 0]], "possible": [[1, 1]]}])
    {'precision': 1.0, 'recall': 1.0, 'aer': 0.0}
"""

LINKS = datasets.Sequence(datasets.Sequence(datasets.Value("int32")))


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class AER(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": LINKS, "references": {"sure": LINKS, "possible": LINKS}}),
            reference_urls=["https://aclanthology.org/J03-1002/"],
        )

    def _compute(self, predictions, references):
        def links(pairs):
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError(f"a link is a [source word, target word] pair, got {pairs}")
            return {tuple(pair) for pair in pairs}

        gold = []
        for reference in references:
            sure = links(reference["sure"])
            gold.append((sure, sure | links(reference["possible"])))
        return alignment_error_rate([links(pairs) for pairs in predictions], gold)
