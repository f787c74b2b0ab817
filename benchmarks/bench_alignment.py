"""AER and speed of the aligners of word_alignment.py on the de-en gold set (test.de-en, deen.talp).

    python benchmarks/bench_alignment.py --json /tmp/bench_alignment.json

* eflomal, forward, reverse and each symmetrization, aligned together with the WMT news pairs of
  ../shared/data/parallel/de-en (every news*/newstest* file there and in eng-deu/, duplicate pairs
  removed; Tatoeba and Multi30k left out), split on punctuation with `split_words`;
* the batched neural aligner with multilingual-e5-small (built offline by ../shared/tools/get_e5_small.py
  into --model unless there), alone and with eflomal's links as a prior (neural+eflomal);
* SimAlign itself on the first --simalign_pairs pairs, against the neural aligner on the same pairs.

Pairs/s exclude model loading (reported apart). Figures depend on the machine's load: the load
average is recorded with them.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import weam.word_alignment as wa  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared")
GOLD = os.path.join(SHARED, "data", "alignment-gold")
NEWS = os.path.join(SHARED, "data", "parallel", "de-en")
DEFAULT_MODEL = os.path.expanduser("~/.cache/xlingual-models/multilingual-e5-small")


def news_pairs():
    """German and English words of the deduplicated WMT news pairs."""
    pairs = {}
    english_files = glob.glob(os.path.join(NEWS, "news*.eng")) + glob.glob(os.path.join(NEWS, "eng-deu", "news*.eng"))
    for english in sorted(english_files):
        german = english.removesuffix(".eng") + ".deu"
        pairs.update(dict.fromkeys(zip(wa.read_lines(german), wa.read_lines(english))))
    return [wa.split_words(de) for de, _ in pairs], [wa.split_words(en) for _, en in pairs]


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="encoder folder (built with the shared tool if absent)")
    parser.add_argument("--layers", type=int, nargs="+", default=[7, 8], help="layers for the neural aligners")
    parser.add_argument("--simalign_pairs", type=int, default=50, help="pairs aligned by SimAlign (slow)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()

    src, tgt = wa.read_parallel_file(os.path.join(GOLD, "test.de-en"), pretokenized=True)
    gold = wa.read_talp(os.path.join(GOLD, "deen.talp"), [len(s) for s in src], [len(t) for t in tgt])
    if not os.path.isdir(args.model):
        subprocess.run([sys.executable, os.path.join(SHARED, "tools", "get_e5_small.py"), args.model], check=True)
    results = {"pairs": len(src), "cpu_count": os.cpu_count(), "load_average_start": os.getloadavg()[0], "rows": []}

    def report(name, alignments, seconds, n_pairs=len(src), **extra):
        scores = wa.alignment_error_rate(alignments, gold[:n_pairs])
        row = {"aligner": name, **{k: round(100 * v, 2) for k, v in scores.items()}, "seconds": round(seconds, 2),
               "pairs_per_s": round(n_pairs / seconds, 2), **extra}
        results["rows"].append(row)
        print(f"{name:42s} P {row['precision']:5.1f} R {row['recall']:5.1f} AER {row['aer']:5.1f}"
              f"  {row['pairs_per_s']:7.1f} pairs/s  {extra or ''}", flush=True)

    extra_src, extra_tgt = news_pairs()
    (forward, reverse), eflomal_seconds = timed(wa.eflomal_directional, src, tgt, extra_src, extra_tgt)
    corpus = {"corpus_pairs": len(src) + len(extra_src)}
    report("eflomal forward", forward, eflomal_seconds, **corpus)
    report("eflomal reverse", reverse, eflomal_seconds, **corpus)
    for method in wa.SYMMETRIZATIONS:
        report(f"eflomal {method}", wa.symmetrize(forward, reverse, method), eflomal_seconds, **corpus)

    for layer in args.layers:
        encoder, load_seconds = timed(wa.load_encoder, args.model, layer)
        methods = wa.NEURAL_METHODS if layer == 8 else ("argmax",)
        for method, priors in [(method, ()) for method in methods] + [("argmax", (forward, reverse))]:
            alignments, seconds = timed(
                wa.align_neural, src, tgt, encoder, layer, method, batch_size=args.batch_size, priors=priors
            )
            if priors:  # the combined aligner also pays for eflomal
                report(f"neural+eflomal argmax layer {layer}", alignments, seconds + eflomal_seconds,
                       neural_seconds=round(seconds, 2), load_seconds=round(load_seconds, 2))
            else:
                report(f"neural {method} layer {layer}", alignments, seconds, load_seconds=round(load_seconds, 2))

    # SimAlign, one pair at a time, against the neural aligner on the same pairs
    n = args.simalign_pairs
    _, load_seconds = timed(wa.align_simalign, src[:1], tgt[:1], args.model, layer=8)  # loads SimAlign's model
    simalign, seconds = timed(wa.align_simalign, src[:n], tgt[:n], args.model, layer=8)
    report(f"simalign argmax layer 8, first {n} pairs", simalign, seconds, n, load_seconds=round(load_seconds, 2))
    encoder = wa.load_encoder(args.model, 8)
    neural, seconds = timed(wa.align_neural, src[:n], tgt[:n], encoder, 8, batch_size=args.batch_size)
    same = sum(a == b for a, b in zip(neural, simalign))
    report(f"neural argmax layer 8, first {n} pairs", neural, seconds, n, pairs_with_simalign_links=f"{same}/{n}")
    simalign_row, neural_row = results["rows"][-2:]  # same pairs, back to back: under the same machine load
    results["neural_over_simalign_speed"] = round(neural_row["pairs_per_s"] / simalign_row["pairs_per_s"], 1)
    print(f"the neural aligner is {results['neural_over_simalign_speed']}x as fast as SimAlign", flush=True)
    results["load_average_end"] = os.getloadavg()[0]
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
