"""Alignment error rate (Och & Ney 2003), the one implementation: `weam.word_alignment` and the `aer`
evaluate module both use it (no `evaluate` needed here)."""


def alignment_error_rate(predicted, gold):
    """Precision, recall and AER over the whole corpus, as fractions in [0, 1].

    precision = |A∩P| / |A|, recall = |A∩S| / |S|, AER = 1 - (|A∩S| + |A∩P|) / (|A| + |S|),
    for predicted links A (one list of `(source, target)` links per sentence pair) and gold `(sure S,
    possible P)` sets of links per pair, with S ⊆ P (as `weam.word_alignment.read_talp` returns them).
    """
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted alignments but {len(gold)} gold ones")
    n_predicted = n_sure = hits_sure = hits_possible = 0
    for links, (sure, possible) in zip(predicted, gold):
        links = set(links)
        n_predicted += len(links)
        n_sure += len(sure)
        hits_sure += len(links & sure)
        hits_possible += len(links & possible)
    return {
        "precision": hits_possible / n_predicted if n_predicted else 0.0,
        "recall": hits_sure / n_sure if n_sure else 0.0,
        "aer": 1 - (hits_sure + hits_possible) / (n_predicted + n_sure),
    }
