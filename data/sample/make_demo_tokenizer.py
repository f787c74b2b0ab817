#!/usr/bin/env python
"""Builds `demo-tokenizer/`: mBERT's WordPiece vocabulary restricted to the pieces the shipped sample uses.

WordPiece takes the longest matching piece at each step, so a vocabulary that keeps every piece the
full one chose tokenizes the sample exactly as mBERT does (tests/test_data_collator.py checks it),
while the output layer of the embedded demo model shrinks from 119,547 rows to a few thousand.

    python data/sample/make_demo_tokenizer.py
"""

import argparse
import glob
import os

from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    full = AutoTokenizer.from_pretrained(os.path.join(HERE, "mbert-tokenizer"))
    used = set()
    for path in sorted(glob.glob(os.path.join(HERE, "tico19.*"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                used.update(full.tokenize(line))
    vocabulary = [token for token in full.convert_ids_to_tokens(range(len(full)))
                  if token in used or token in full.all_special_tokens]
    out = os.path.join(HERE, "demo-tokenizer")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocabulary) + "\n")
    with open(os.path.join(HERE, "mbert-tokenizer", "tokenizer_config.json")) as source:
        config = source.read()
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        f.write(config)
    print(f"{len(vocabulary)} pieces of {len(full)} -> {out}")


if __name__ == "__main__":
    main()
