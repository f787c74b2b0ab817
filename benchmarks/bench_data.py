"""Speed of the data path: the alignment stage against eflomal alone, on one process and on two; the
collator; and eflomal's accuracy on shards of a corpus.

    python benchmarks/bench_data.py [--pairs 20000] [--repeats 3] [--json FILE]
    python benchmarks/bench_data.py --shard_aer [--repeats 2] [--json FILE]
    python benchmarks/bench_data.py --tokenizing [--pairs 20000] [--repeats 3] [--json FILE]

* alignment stage: what run_pretrain.py does with a corpus, from its rows to training examples:
  `corpus_alignment.CorpusAlignment` (word splitting, eflomal in both directions, symmetrization,
  Pharaoh lines, saving) then `corpora.prepare_corpus` (tokenization, subword links; on as many
  processes as run_pretrain.py's default --preprocessing_num_workers gives), against
  `word_alignment.align_eflomal` alone on the same pre-split words, in pairs/s.
  `stage_two_processes_vs_one`: the same stage on 2 processes (gloo; each aligns one shard, all
  tokenize the whole corpus) against 1, as time of one / time of two: the processes' start is not
  counted, the exchange of the links is.
  Corpus: the English pairs of ../shared/data/parallel (every line-aligned `*.eng` file of de-en,
  then ru-en, fi-en, es-en, zh-en, repeated when more pairs are asked for), or the shipped sample.
* collator: `DataCollatorForWeam` on batches of 32 prepared pairs, in examples/s.
* --tokenizing: `corpora.prepare_corpus` on pairs with eflomal's links (aligned once, untimed), on one
  process against the default `corpora.tokenizing_processes`, interleaved: `tokenizing_processes_vs_one`.
* --shard_aer: AER on test.de-en (deen.talp) aligned by eflomal inside the WMT news pairs of de-en
  (~40k), as 1 corpus, or as the first of 2, 4, 8 shards (the gold pairs lie in the first), each
  sampled with eflomal's iterations for its own size or with those of the whole corpus.

Figures depend on the machine's load: every repeat is interleaved (eflomal, stage, two processes)
and the load average is recorded with the medians and ranges.
"""

import argparse
import glob
import json
import math
import os
import socket
import statistics
import sys
import tempfile
import time

import datasets
import torch.distributed as dist
import torch.multiprocessing
from transformers import AutoTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from data_collator import DataCollatorForWeam  # noqa: E402
from weam.corpora import CorpusSpec, prepare_corpus, tokenizing_processes  # noqa: E402
from weam.corpus_alignment import CorpusAlignment, RunAlignments  # noqa: E402
from weam import word_alignment as wa  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared", "data")
LANGUAGES = {"de-en": "deu", "ru-en": "rus", "fi-en": "fin", "es-en": "spa", "zh-en": "zho"}
TOKENIZER = os.path.join(ROOT, "data", "sample", "mbert-tokenizer")


def read_pairs(limit):
    """(English, other) sentence pairs of ../shared, repeated up to `limit`; and what they are."""
    pairs, names = [], []
    for folder, language in LANGUAGES.items():
        for english in sorted(glob.glob(os.path.join(SHARED, "parallel", folder, "*.eng"))):
            other = english.removesuffix(".eng") + "." + language
            if not os.path.exists(other):
                continue
            with open(english, encoding="utf-8") as e, open(other, encoding="utf-8") as o:
                pairs += [(a.strip(), b.strip()) for a, b in zip(e, o) if a.strip() and b.strip()]
        names.append(folder)
        if len(pairs) >= limit:
            break
    if not pairs:
        names = ["shipped en-es sample"]
        with open(os.path.join(ROOT, "data", "sample", "tico19.en-es.en"), encoding="utf-8") as e, \
                open(os.path.join(ROOT, "data", "sample", "tico19.en-es.es"), encoding="utf-8") as o:
            pairs = list(zip(e.read().splitlines(), o.read().splitlines()))
    distinct = len(pairs)
    pairs = (pairs * math.ceil(limit / len(pairs)))[:limit]
    corpus = f"../shared {' + '.join(names)} (*.eng files)" if "sample" not in names[0] else names[0]
    if limit > distinct:
        corpus += f", {distinct} distinct pairs repeated"
    return pairs, corpus


def rows_of(pairs):
    return datasets.Dataset.from_dict({"source": [s for s, _ in pairs], "target": [t for _, t in pairs],
                                       "line": list(range(1, len(pairs) + 1)), "problem": [""] * len(pairs)})


def run_stage(pairs, tokenizer, output_dir):
    """The alignment stage on this process (its shard, under a process group): the prepared dataset, and
    the seconds of its two parts (aligning, tokenizing)."""
    start = time.perf_counter()
    aligned = CorpusAlignment("eflomal", {}, False, RunAlignments(output_dir), min_shard_pairs=1)(
        rows_of(pairs), CorpusSpec("en", "xx", "benchmark")
    )
    middle = time.perf_counter()
    prepared = prepare_corpus(aligned, tokenizer, CorpusSpec("en", "xx", "benchmark"))
    return prepared, (middle - start, time.perf_counter() - middle)


def _stage_process(rank, port, pairs, output_dirs, result_path):
    datasets.disable_caching()
    os.environ["LOCAL_WORLD_SIZE"] = "2"  # as torchrun sets it: the two processes share the cores for tokenizing
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    dist.barrier()
    start = time.perf_counter()
    run_stage(pairs, tokenizer, output_dirs[rank])
    dist.barrier()
    if rank == 0:
        with open(result_path, "w") as f:
            f.write(str(time.perf_counter() - start))
    dist.destroy_process_group()


def stage_on_two_processes(pairs, folder):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = os.path.join(folder, "two-processes.txt")
    output_dirs = [os.path.join(folder, f"two-{rank}") for rank in (0, 1)]
    torch.multiprocessing.start_processes(_stage_process, args=(port, pairs, output_dirs, result), nprocs=2,
                                          start_method="spawn")
    with open(result) as f:
        return float(f.read())


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def bench_stage(args):
    pairs, corpus = read_pairs(args.pairs)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    datasets.disable_caching()  # time the work, not a cache hit
    source_words = [wa.split_words(s) for s, _ in pairs]
    target_words = [wa.split_words(t) for _, t in pairs]
    seconds = {"eflomal_alone": [], "stage": [], "stage_aligning": [], "stage_tokenizing": [], "stage_two_processes": []}
    loads = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            wa.align_eflomal(source_words, target_words)
            seconds["eflomal_alone"].append(time.perf_counter() - start)
            start = time.perf_counter()
            prepared, parts = run_stage(pairs, tokenizer, os.path.join(folder, "one"))
            seconds["stage"].append(time.perf_counter() - start)
            for name, part in zip(("stage_aligning", "stage_tokenizing"), parts):
                seconds[name].append(part)
            if args.two_processes:
                seconds["stage_two_processes"].append(stage_on_two_processes(pairs, folder))
        loads.append(os.getloadavg()[0])
        print(f"repeat {repeat + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in seconds.items() if v)
              + f" (load {loads[-1]:.1f})", flush=True)

    collator = DataCollatorForWeam(tokenizer, seed=0)
    examples = prepared.select(range(min(len(prepared), 3200))).to_list()
    start = time.perf_counter()
    for k in range(0, len(examples), 32):
        collator(examples[k: k + 32])
    collator_seconds = time.perf_counter() - start

    n = len(pairs)
    figures = {
        "corpus": corpus,
        "pairs": n,
        "tokenizing_processes": tokenizing_processes(n),
        "repeats": args.repeats,
        "load_average": summary(loads),
        "seconds": {name: summary(values) for name, values in seconds.items() if values},
        "eflomal_alone_pairs_per_s": n / statistics.median(seconds["eflomal_alone"]),
        "alignment_stage_pairs_per_s": n / statistics.median(seconds["stage"]),
        "collator_examples_per_s": len(examples) / collator_seconds,
    }
    # ratios per repeat (both ran under the same load): their median, and their range
    ratios = {"stage_vs_eflomal_alone": [e / s for e, s in zip(seconds["eflomal_alone"], seconds["stage"])]}
    if args.two_processes:
        ratios["stage_two_processes_vs_one"] = [o / t for o, t in zip(seconds["stage"], seconds["stage_two_processes"])]
    for name, values in ratios.items():
        figures[name] = statistics.median(values)
        figures[name + "_range"] = [min(values), max(values)]
    return figures


def news_pairs():
    """German and English words of the deduplicated WMT news pairs of de-en (as bench_alignment.py)."""
    pairs = {}
    folder = os.path.join(SHARED, "parallel", "de-en")
    english_files = glob.glob(os.path.join(folder, "news*.eng")) + glob.glob(os.path.join(folder, "eng-deu", "news*.eng"))
    for english in sorted(english_files):
        german = english.removesuffix(".eng") + ".deu"
        pairs.update(dict.fromkeys(zip(wa.read_lines(german), wa.read_lines(english))))
    return [wa.split_words(de) for de, _ in pairs], [wa.split_words(en) for _, en in pairs]


def bench_shard_aer(args):
    gold_folder = os.path.join(SHARED, "alignment-gold")
    gold_source, gold_target = wa.read_parallel_file(os.path.join(gold_folder, "test.de-en"), pretokenized=True)
    gold = wa.read_talp(os.path.join(gold_folder, "deen.talp"))
    news_source, news_target = news_pairs()
    source, target = gold_source + news_source, gold_target + news_target
    n = len(source)
    conditions = [(1, "shard"), (2, "shard"), (2, "corpus"), (4, "shard"), (4, "corpus"), (8, "corpus")]
    runs = []
    for repeat in range(args.repeats):
        for shards, iterations in conditions:
            if shards == 1 and iterations == "corpus":
                continue
            size = n // shards  # the first shard, which holds the gold pairs
            start = time.perf_counter()
            links = wa.align_eflomal(source[:size], target[:size],
                                     rel_iterations=1.0 if iterations == "shard" else math.sqrt(size / n))
            runs.append({"shards": shards, "shard_pairs": size, "iterations_of": iterations,
                         "aer": 100 * wa.alignment_error_rate(links[: len(gold)], gold)["aer"],
                         "seconds": time.perf_counter() - start, "load": os.getloadavg()[0]})
            print(json.dumps(runs[-1]), flush=True)
    table = {}
    for shards, iterations in conditions:
        chosen = [run for run in runs if run["shards"] == shards and run["iterations_of"] == iterations]
        if chosen:
            table[f"{shards} shard(s), iterations of the {iterations}"] = {
                "shard_pairs": chosen[0]["shard_pairs"], "aer": summary([run["aer"] for run in chosen]),
                "seconds": summary([run["seconds"] for run in chosen]),
            }
    return {"corpus": f"test.de-en ({len(gold)} pairs) + {n - len(gold)} WMT news pairs of ../shared de-en",
            "symmetrization": "grow-diag-final-and", "repeats": args.repeats, "aer_percent": table, "runs": runs}


def bench_tokenizing(args):
    pairs, corpus = read_pairs(args.pairs)
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    datasets.disable_caching()
    links = wa.align_eflomal([wa.split_words(s) for s, _ in pairs], [wa.split_words(t) for _, t in pairs])
    rows = rows_of(pairs).add_column("alignment", [wa.pharaoh_line(pair_links) for pair_links in links])
    processes = tokenizing_processes(len(pairs))
    seconds = {1: [], processes: []}
    for repeat in range(args.repeats):
        for num_proc in seconds:
            start = time.perf_counter()
            prepare_corpus(rows, tokenizer, CorpusSpec("en", "xx", "benchmark"), num_proc=num_proc)
            seconds[num_proc].append(time.perf_counter() - start)
        print(f"repeat {repeat + 1}: " + ", ".join(f"{n} process(es) {v[-1]:.1f} s" for n, v in seconds.items()),
              flush=True)
    ratios = [one / many for one, many in zip(seconds[1], seconds[processes])]
    return {"corpus": corpus, "pairs": len(pairs), "cpu_cores": len(os.sched_getaffinity(0)), "repeats": args.repeats,
            "load_average": os.getloadavg()[0], "tokenizing_processes": processes,
            "seconds": {f"{n} process(es)": summary(v) for n, v in seconds.items()},
            "tokenizing_processes_vs_one": statistics.median(ratios),
            "tokenizing_processes_vs_one_range": [min(ratios), max(ratios)]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no_two_processes", dest="two_processes", action="store_false",
                        help="skip the stage on 2 processes")
    parser.add_argument("--shard_aer", action="store_true", help="AER of eflomal on shards of a corpus instead")
    parser.add_argument("--tokenizing", action="store_true",
                        help="tokenizing on one process against the default number of processes instead")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    figures = bench_shard_aer(args) if args.shard_aer else bench_tokenizing(args) if args.tokenizing else bench_stage(args)
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as cache:
        os.environ.setdefault("HF_DATASETS_CACHE", cache)
        main()
