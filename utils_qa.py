"""Post-processing for extractive QA: from start/end logits over tokens to answer texts in the context.

After transformers' examples/pytorch/question-answering/utils_qa.py (SQuAD v1 style: every question has an
answer in its context; no null answer).
"""

import collections
import json
import logging
import os

import numpy as np

logger = logging.getLogger(__name__)


def postprocess_qa_predictions(
    examples, features, predictions, n_best_size=20, max_answer_length=30, output_dir=None, prefix=None
):
    """The best answer text of each example, from the logits of all its features (windows of a long context).

    Args:
        examples: the raw examples (`id`, `context`, ...).
        features: their tokenized windows, each with `example_id` and `offset_mapping` (None outside the context).
        predictions: `(start_logits, end_logits)`, arrays of shape `(num_features, seq_len)`. Rows may be padded
            beyond a feature's length (the padded positions have no offsets and are skipped).
        n_best_size: how many top start and end positions are combined, and how many answers are kept per example.
        max_answer_length: the longest answer considered, in tokens.
        output_dir: if given, the predictions (`{id: text}`, what the official SQuAD/MLQA scripts read) and the
            n-best lists are written there as `[prefix_]predictions.json` and `[prefix_]nbest_predictions.json`.

    Returns:
        `{example id: predicted answer text}`, in the order of `examples`.
    """
    all_start_logits, all_end_logits = predictions
    if len(all_start_logits) != len(features):
        raise ValueError(f"got {len(all_start_logits)} predictions for {len(features)} features")

    example_index_by_id = {example_id: i for i, example_id in enumerate(examples["id"])}
    features_per_example = collections.defaultdict(list)
    for feature_index, example_id in enumerate(features["example_id"]):
        features_per_example[example_index_by_id[example_id]].append(feature_index)

    all_offsets = features["offset_mapping"]
    answers_by_id = collections.OrderedDict()
    nbest_by_id = collections.OrderedDict()
    for example_index, example in enumerate(examples):
        candidates = []
        for feature_index in features_per_example[example_index]:
            start_logits = all_start_logits[feature_index]
            end_logits = all_end_logits[feature_index]
            offsets = all_offsets[feature_index]
            # The n_best_size most likely starts and ends, best first.
            start_indexes = np.argsort(start_logits)[-1 : -n_best_size - 1 : -1].tolist()
            end_indexes = np.argsort(end_logits)[-1 : -n_best_size - 1 : -1].tolist()
            for start_index in start_indexes:
                for end_index in end_indexes:
                    # Out of the context (question, special or padding tokens), reversed, or too long: skip.
                    if start_index >= len(offsets) or end_index >= len(offsets):
                        continue
                    if offsets[start_index] is None or offsets[end_index] is None:
                        continue
                    if end_index < start_index or end_index - start_index + 1 > max_answer_length:
                        continue
                    candidates.append(
                        {
                            "offsets": (offsets[start_index][0], offsets[end_index][1]),
                            "score": float(start_logits[start_index] + end_logits[end_index]),
                            "start_logit": float(start_logits[start_index]),
                            "end_logit": float(end_logits[end_index]),
                        }
                    )
        nbest = sorted(candidates, key=lambda candidate: candidate["score"], reverse=True)[:n_best_size]
        context = example["context"]
        for candidate in nbest:
            start, end = candidate.pop("offsets")
            candidate["text"] = context[start:end]
        # No valid span at all (e.g. every window was truncated away): predict a dummy, as the official script.
        if not nbest or (len(nbest) == 1 and nbest[0]["text"] == ""):
            nbest.insert(0, {"score": 0.0, "start_logit": 0.0, "end_logit": 0.0, "text": "empty"})
        scores = np.array([candidate.pop("score") for candidate in nbest])
        probabilities = np.exp(scores - scores.max())
        probabilities /= probabilities.sum()
        for candidate, probability in zip(nbest, probabilities):
            candidate["probability"] = float(probability)
        answers_by_id[example["id"]] = nbest[0]["text"]
        nbest_by_id[example["id"]] = nbest

    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        for file_name, content in (("predictions.json", answers_by_id), ("nbest_predictions.json", nbest_by_id)):
            file_name = file_name if prefix is None else f"{prefix}_{file_name}"
            path = os.path.join(output_dir, file_name)
            logger.info(f"Saving {file_name} to {path}")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(content, f, indent=2, ensure_ascii=False)
    return answers_by_id
