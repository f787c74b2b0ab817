"""AER and speed of the aligners of weam/word_alignment.py on the gold sets of ../shared/data/alignment-gold.

    python benchmarks/bench_alignment.py        # writes benchmarks/results/alignment.json

Gold sets (pre-tokenized on spaces; the Japanese of ja-en is segmented into words):
  de-en  508 Europarl pairs (Vilar et al.)   en-fr  447 Hansards pairs   ja-en  582 KFTT pairs

* eflomal, forward, reverse and each symmetrization, aligned together with the extra parallel text
  ../shared has for the pair, split on punctuation with `split_words` (and lower-cased when the gold
  set is): de-en, the WMT news pairs (every news*/newstest* file of parallel/de-en and its eng-deu/,
  duplicates removed; Tatoeba and Multi30k left out); en-fr, the 1,000 Tatoeba pairs of
  parallel/tatoeba-retrieval (all there is for French); ja-en, none (../shared has no Japanese);
* the batched neural aligner with multilingual-e5-small (built offline by ../shared/tools/get_e5_small.py
  into --model unless there), each sentence read as written (no spaces between Japanese words), alone
  and with eflomal's links as a prior (neural+eflomal), at each of --layers;
* on de-en, SimAlign itself on the first --simalign_pairs pairs, against the neural aligner on the same pairs.

Writes one row per aligner and language pair (precision, recall, AER in %, pairs/s), the mean AER of
each symmetrization over the pairs, and the load average. Pairs/s count the gold pairs and exclude
model loading (reported apart); eflomal's include the extra pairs it aligns. Figures of speed depend on
the machine's load.
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
PARALLEL = os.path.join(SHARED, "data", "parallel")
GOLD_SETS = {"de-en": ("test.de-en", "deen.talp"), "en-fr": ("test.en-fr", "enfr.talp"), "ja-en": ("test.ja-en", "jaen.talp")}
DEFAULT_MODEL = os.path.expanduser("~/.cache/xlingual-models/multilingual-e5-small")


def extra_pairs(pair):
    """(source lines, target lines) of the extra parallel text for `pair`, deduplicated, in the gold set's order."""
    if pair == "de-en":
        english = sorted(glob.glob(os.path.join(PARALLEL, "de-en", "news*.eng"))
                         + glob.glob(os.path.join(PARALLEL, "de-en", "eng-deu", "news*.eng")))
        files = [(path.removesuffix(".eng") + ".deu", path) for path in english]
    elif pair == "en-fr":
        stem = os.path.join(PARALLEL, "tatoeba-retrieval", "tatoeba.fra-eng")
        files = [(stem + ".eng", stem + ".fra")]
    else:
        files = []
    pairs = {}
    for source, target in files:
        pairs.update(dict.fromkeys(zip(wa.read_lines(source), wa.read_lines(target))))
    return [source for source, _ in pairs], [target for _, target in pairs]


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=list(GOLD_SETS), choices=list(GOLD_SETS), help="gold sets")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="encoder folder (built with the shared tool if absent)")
    parser.add_argument("--layers", type=int, nargs="+", default=[7, 8], help="layers for the neural aligners")
    parser.add_argument("--methods", nargs="+", default=["argmax"], choices=wa.NEURAL_METHODS,
                        help="matching methods of the neural aligner alone")
    parser.add_argument("--simalign_pairs", type=int, default=50, help="de-en pairs aligned by SimAlign (slow; 0: none)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "results", "alignment.json"),
                        help="write the figures here")
    args = parser.parse_args()

    if not os.path.isdir(args.model):
        subprocess.run([sys.executable, os.path.join(SHARED, "tools", "get_e5_small.py"), args.model], check=True)
    results = {"model": os.path.basename(os.path.normpath(args.model)), "cpu_count": os.cpu_count(),
               "load_average_start": os.getloadavg()[0], "rows": []}
    started = time.perf_counter()

    for pair in args.pairs:
        test_file, talp_file = GOLD_SETS[pair]
        src, tgt = wa.read_parallel_file(os.path.join(GOLD, test_file), pretokenized=True)
        gold = wa.read_talp(os.path.join(GOLD, talp_file), [len(s) for s in src], [len(t) for t in tgt])

        def report(name, alignments, seconds, n_pairs=len(src), **extra):
            scores = wa.alignment_error_rate(alignments, gold[:n_pairs])
            row = {"pair": pair, "aligner": name, **{k: round(100 * v, 2) for k, v in scores.items()},
                   "seconds": round(seconds, 2), "pairs_per_s": round(n_pairs / seconds, 2), **extra}
            results["rows"].append(row)
            print(f"{pair} {name:40s} P {row['precision']:5.1f} R {row['recall']:5.1f} AER {row['aer']:5.1f}"
                  f"  {row['pairs_per_s']:7.1f} pairs/s  {extra or ''}", flush=True)

        extra_src, extra_tgt = extra_pairs(pair)
        lowercase = not any(word != word.lower() for sentence in src + tgt for word in sentence)
        extra_src, extra_tgt = ([wa.split_words(line.lower() if lowercase else line) for line in lines]
                                for lines in (extra_src, extra_tgt))
        (forward, reverse), eflomal_seconds = timed(wa.eflomal_directional, src, tgt, extra_src, extra_tgt)
        corpus = {"corpus_pairs": len(src) + len(extra_src)}
        report("eflomal forward", forward, eflomal_seconds, **corpus)
        report("eflomal reverse", reverse, eflomal_seconds, **corpus)
        for method in wa.SYMMETRIZATIONS:
            report(f"eflomal {method}", wa.symmetrize(forward, reverse, method), eflomal_seconds, **corpus)

        for layer in args.layers:
            encoder, load_seconds = timed(wa.load_encoder, args.model, layer)
            for method, priors in [(method, ()) for method in args.methods] + [("argmax", (forward, reverse))]:
                alignments, seconds = timed(
                    wa.align_neural, src, tgt, encoder, layer, method, batch_size=args.batch_size, priors=priors
                )
                if priors:  # the combined aligner also pays for eflomal
                    report(f"neural+eflomal argmax layer {layer}", alignments, seconds + eflomal_seconds,
                           neural_seconds=round(seconds, 2), load_seconds=round(load_seconds, 2), **corpus)
                else:
                    report(f"neural {method} layer {layer}", alignments, seconds, load_seconds=round(load_seconds, 2))

        if pair == "de-en" and args.simalign_pairs:  # SimAlign, one pair at a time, against the neural aligner
            n = args.simalign_pairs
            _, load_seconds = timed(wa.align_simalign, src[:1], tgt[:1], args.model, layer=8)  # loads its model
            simalign, seconds = timed(wa.align_simalign, src[:n], tgt[:n], args.model, layer=8)
            report(f"simalign argmax layer 8, first {n} pairs", simalign, seconds, n, load_seconds=round(load_seconds, 2))
            neural, seconds = timed(wa.align_neural, src[:n], tgt[:n], wa.load_encoder(args.model, 8), 8,
                                    batch_size=args.batch_size)
            same = sum(a == b for a, b in zip(neural, simalign))
            report(f"neural argmax layer 8, first {n} pairs", neural, seconds, n, pairs_with_simalign_links=f"{same}/{n}")
            simalign_row, neural_row = results["rows"][-2:]  # same pairs, back to back: under the same machine load
            results["neural_over_simalign_speed"] = round(neural_row["pairs_per_s"] / simalign_row["pairs_per_s"], 1)
            print(f"the neural aligner is {results['neural_over_simalign_speed']}x as fast as SimAlign", flush=True)

    # the evidence for the default symmetrization: AER of each, averaged over the language pairs
    results["symmetrization_mean_aer"] = {
        method: round(sum(row["aer"] for row in results["rows"] if row["aligner"] == f"eflomal {method}")
                      / len(args.pairs), 2)
        for method in wa.SYMMETRIZATIONS
    }
    print("mean AER over", ", ".join(args.pairs), results["symmetrization_mean_aer"], flush=True)
    results["load_average_end"] = os.getloadavg()[0]
    results["seconds"] = round(time.perf_counter() - started, 1)
    with open(args.json, "w") as file:
        json.dump(results, file, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
