"""The benchmarks' metrics as `evaluate` modules, one folder each, read offline by `evaluate.load(folder)`:

    qa/        extractive QA exact match and F1: configuration "squad" (SQuAD v1.1's rules: XQuAD,
               TyDiQA-GoldP) or "mlqa" (MLQA's language-aware normalization)
    accuracy/  configuration "xnli" (one label per item) or "udpos" (one POS tag per word)
    aer/       word alignment precision, recall and alignment error rate

Each folder is self-contained and its README.md is the Hub card: to share one, push the folder as a Space
of the same name, e.g. `hf repos create USER/qa --type space --sdk gradio` then `hf upload USER/qa
weam/metrics/qa --type space`, and `evaluate.load("USER/qa", "mlqa")` reads it from the Hub.
"""

import os

FOLDER = os.path.dirname(os.path.abspath(__file__))


def load(name, config_name=None):
    """The evaluate module in folder `name` (e.g. "qa"), with its configuration (e.g. "mlqa")."""
    import evaluate  # here, not at the top: it takes seconds, and the AER logic is imported without it

    return evaluate.load(os.path.join(FOLDER, name), config_name)
