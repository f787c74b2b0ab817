#!/usr/bin/env python
"""Speed of the data path: the whole alignment stage against eflomal alone, and the collator.

    python benchmarks/bench_data.py [--pairs 20000] [--json FILE]

* alignment stage: `weam.corpora.prepare_corpus` (word splitting, eflomal in both directions,
  symmetrization, tokenization, subword mapping) against `word_alignment.align_eflomal` alone on the
  same pre-split words, in pairs/s. Corpus: the de-en news pairs of ../shared (WMT newstest), or the
  shipped sample when ../shared is absent.
* collator: `DataCollatorForWeam` on batches of 32 prepared pairs, in examples/s.
"""

import argparse
import glob
import json
import os
import sys
import tempfile
import time

import datasets
from transformers import AutoTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from data_collator import DataCollatorForWeam  # noqa: E402
from weam.corpora import CorpusSpec, prepare_corpus  # noqa: E402
from weam.word_alignment import align_eflomal, split_words  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared", "data", "parallel", "de-en")


def read_pairs(limit):
    if os.path.isdir(SHARED):
        sources = sorted(glob.glob(os.path.join(SHARED, "news*.eng")))
        name = "../shared de-en WMT news"
    else:
        sources = [os.path.join(ROOT, "data", "sample", "tico19.en-es.en")]
        name = "shipped en-es sample"
    pairs = []
    for source in sources:
        target = source[: -len(".eng")] + ".deu" if source.endswith(".eng") else source[:-3] + ".es"
        with open(source, encoding="utf-8") as s, open(target, encoding="utf-8") as t:
            pairs += [(a.strip(), b.strip()) for a, b in zip(s, t) if a.strip() and b.strip()]
    return pairs[:limit], name


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20000)
    parser.add_argument("--json")
    args = parser.parse_args()
    pairs, corpus = read_pairs(args.pairs)
    tokenizer = AutoTokenizer.from_pretrained(os.path.join(ROOT, "data", "sample", "mbert-tokenizer"))
    datasets.disable_caching()  # time the work, not a cache hit

    source_words = [split_words(s) for s, _ in pairs]
    target_words = [split_words(t) for _, t in pairs]
    start = time.perf_counter()
    align_eflomal(source_words, target_words)
    eflomal_seconds = time.perf_counter() - start

    rows = datasets.Dataset.from_dict({"source": [s for s, _ in pairs], "target": [t for _, t in pairs],
                                       "line": list(range(1, len(pairs) + 1)), "problem": [""] * len(pairs)})
    start = time.perf_counter()
    prepared = prepare_corpus(rows, tokenizer, CorpusSpec("en", "de", corpus))
    stage_seconds = time.perf_counter() - start

    collator = DataCollatorForWeam(tokenizer, seed=0)
    examples = prepared.select(range(min(len(prepared), 3200))).to_list()
    start = time.perf_counter()
    for k in range(0, len(examples), 32):
        collator(examples[k : k + 32])
    collator_seconds = time.perf_counter() - start

    figures = {
        "corpus": corpus,
        "pairs": len(pairs),
        "eflomal_alone_pairs_per_s": len(pairs) / eflomal_seconds,
        "alignment_stage_pairs_per_s": len(pairs) / stage_seconds,
        "collator_examples_per_s": len(examples) / collator_seconds,
    }
    figures["stage_vs_eflomal_alone"] = figures["alignment_stage_pairs_per_s"] / figures["eflomal_alone_pairs_per_s"]
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as cache:
        os.environ.setdefault("HF_DATASETS_CACHE", cache)
        main()
