#!/usr/bin/env python
"""Align the words of parallel sentences, and score them against gold alignments.

    python align_words.py --src de.txt --tgt en.txt --output de-en.align --aligner neural --model ENCODER_DIR
    python align_words.py --parallel test.de-en --pretokenized --gold deen.talp --output out.align \\
        --aligner neural+eflomal --model ENCODER_DIR --extra_src news.de --extra_tgt news.en

A large corpus in N jobs (on as many machines), then one file:

    python align_words.py --src de.txt --tgt en.txt --shard K/4 --output de-en.align.K   # K = 1, 2, 3, 4
    python align_words.py --merge de-en.align.1 de-en.align.2 de-en.align.3 de-en.align.4 --output de-en.align
"""

import argparse
import hashlib
import json
import logging
import os

from weam.cli import CommandParser, check_model_path, run_as_command
from weam.corpus_alignment import MIN_SHARD_PAIRS, STATISTICAL_ALIGNERS, shard_aligner_options, shard_bounds
from weam.word_alignment import (
    ALIGNERS, NEURAL_METHODS, SYMMETRIZATIONS, align_words, alignment_error_rate, read_parallel_file,
    read_lines, read_sentence_pairs, read_talp, write_pharaoh,
)

logger = logging.getLogger(__name__)

CHOOSING = """\
Which aligner: neural+eflomal is the most accurate, eflomal the cheapest without an encoder, neural the
fastest with one. Measured AER and speed of each on three gold sets: the README's "Word alignment"
section (benchmarks/bench_alignment.py writes benchmarks/results/alignment.json).
"""

def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_command_line(argv=None):
    """The parser (for later errors) and the arguments, checked before any file is read."""
    parser = CommandParser(
        description="Align the words of parallel sentences; writes one Pharaoh line (0-based i-j links) per pair.",
        epilog=CHOOSING, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--src", help="source sentences, one per line")
    parser.add_argument("--tgt", help="target sentences, line-aligned with --src")
    parser.add_argument("--parallel", help="instead of --src/--tgt: `source ||| target` lines (the gold sets' format)")
    parser.add_argument("--output", required=True, help="Pharaoh file to write")
    parser.add_argument("--aligner", choices=ALIGNERS, default="eflomal",
                        help="eflomal: statistical (the default); neural: encoder similarity (--model); "
                        "neural+eflomal: neural with eflomal's links as a prior (the most accurate); simalign: the "
                        "reference implementation of neural, one pair at a time. Speed and quality: below")
    parser.add_argument("--model", help="Hub id or folder of the encoder (neural, neural+eflomal, simalign); a WEAM "
                        "checkpoint (run_pretrain.py's output) loads with this repository's classes, no remote code")
    parser.add_argument("--layer", type=int, default=8, help="encoder layer whose states are matched (default 8)")
    parser.add_argument(
        "--method", default="argmax", help=f"neural: {', '.join(NEURAL_METHODS)}; simalign: argmax, itermax, match"
    )
    parser.add_argument("--threshold", type=float, default=1e-3, help="probability threshold of --method softmax")
    parser.add_argument("--prior_weight", type=float, default=0.05, help="weight of eflomal's links (neural+eflomal)")
    parser.add_argument("--symmetrization", choices=SYMMETRIZATIONS, default="grow-diag-final-and", help="(eflomal)")
    parser.add_argument("--pretokenized", action="store_true", help="split the input on spaces, not on punctuation")
    parser.add_argument("--extra_src", help="more source sentences for eflomal (always split on punctuation)")
    parser.add_argument("--extra_tgt", help="their target sentences, line-aligned with --extra_src")
    parser.add_argument("--gold", help="gold TALP alignments (1-based i-j sure, ipj possible): print P/R/AER")
    parser.add_argument("--batch_size", type=positive_int, default=64, help="sentence pairs per forward pass (neural)")
    parser.add_argument("--max_line_chars", type=positive_int, default=2000,
                        help="a longer line is an error: a file with one sentence per line has none (default 2000)")
    parser.add_argument("--device", help="torch device (default: cuda if available)")
    sharding = parser.add_argument_group("sharding: a large corpus aligned by N jobs, then merged")
    sharding.add_argument(
        "--shard", metavar="K/N", type=parse_shard,
        help="align only the K-th (1..N) of N contiguous parts of the corpus, with eflomal's iterations for the "
        f"whole corpus; writes --output and --output.json (for --merge). Keep parts >= {MIN_SHARD_PAIRS} pairs: "
        "eflomal's links get worse on smaller corpora",
    )
    sharding.add_argument(
        "--merge", nargs="+", metavar="PART",
        help="write the parts made by --shard 1/N ... N/N, in order, into --output; checks that they are all "
        "there, once, complete and of the same corpus and settings",
    )
    args = parser.parse_args(argv)
    if args.merge:
        if args.src or args.tgt or args.parallel or args.shard or args.gold:
            parser.error("--merge takes only the part files and --output")
        return parser, args
    if args.shard and args.gold:
        parser.error("--gold scores a whole corpus: --merge the parts, then score the merged file")
    if (args.parallel is None and (args.src is None or args.tgt is None)) or (args.parallel and (args.src or args.tgt)):
        parser.error("give either --src and --tgt, or --parallel")
    if (args.extra_src is None) != (args.extra_tgt is None):
        parser.error("give --extra_src and --extra_tgt together")
    if args.aligner != "eflomal" and args.model is None:
        parser.error(f"--aligner {args.aligner} needs --model (a Hub id or a local encoder folder)")
    folder = os.path.dirname(os.path.abspath(args.output))
    if os.path.isdir(args.output) or not os.path.isdir(folder):  # known now, not after the alignment
        problem = "is a folder" if os.path.isdir(args.output) else f"is in {folder}, which does not exist"
        parser.error(f"--output {args.output} {problem}: give a file in an existing folder")
    return parser, args


def parse_shard(text):
    """`K/N` -> (K, N), 1 <= K <= N."""
    part, _, parts = text.partition("/")
    if not (part.isdigit() and parts.isdigit() and 1 <= int(part) <= int(parts)):
        raise argparse.ArgumentTypeError(f"{text!r}: give K/N with 1 <= K <= N, e.g. 1/4 for the first of 4 parts")
    return int(part), int(parts)


def shard_record(args, src_words, tgt_words, start, stop):
    """What --merge checks: which part of which corpus, aligned how."""
    corpus = "\1".join("\0".join(" ".join(words) for words in side) for side in (src_words, tgt_words))
    # not the files' paths: the parts may be aligned on machines that keep the corpus in other folders
    settings = {name: value for name, value in vars(args).items() if name not in (
        "src", "tgt", "parallel", "extra_src", "extra_tgt", "output", "shard", "merge", "gold", "device", "batch_size")}
    return {"shard": list(args.shard), "rows": [start, stop], "corpus_pairs": len(src_words),
            "corpus_sha256": hashlib.sha256(corpus.encode("utf-8", "surrogatepass")).hexdigest(), "settings": settings}


def merge_shards(parts, output):
    """Concatenates the Pharaoh files of --shard 1/N ... N/N (in any order given) into `output`."""
    records = {}
    for path in parts:
        try:
            with open(path + ".json", encoding="utf-8") as f:
                record = json.load(f)
            lines = read_lines(path)
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: not a part written by --shard ({error})") from None
        part, parts_count = record["shard"]
        start, stop = record["rows"]
        if len(lines) != stop - start:
            raise ValueError(f"{path}: has {len(lines)} lines, but part {part}/{parts_count} holds pairs "
                             f"{start + 1}-{stop}: it is incomplete; align it again")
        if part in records:
            raise ValueError(f"{path}: part {part}/{parts_count} is given twice (also {records[part][0]})")
        records[part] = (path, record, lines)
    first_path, first, _ = next(iter(records.values()))
    for path, record, _ in records.values():
        for key in ("corpus_pairs", "corpus_sha256", "settings"):
            if record[key] != first[key] or record["shard"][1] != first["shard"][1]:
                raise ValueError(f"{path} and {first_path}: parts of different corpora or settings ({key} differs)")
    parts_count = first["shard"][1]
    missing = sorted(set(range(1, parts_count + 1)) - set(records))
    if missing:
        raise ValueError(f"part(s) {', '.join(f'{k}/{parts_count}' for k in missing)} missing: align them with "
                         "--shard, then merge all the parts")
    with open(output, "w", encoding="utf-8") as f:
        for part in sorted(records):
            f.writelines(line + "\n" for line in records[part][2])
    return first["corpus_pairs"]


def read_input(args, pretokenized):
    if args.parallel:
        return read_parallel_file(args.parallel, pretokenized, args.max_line_chars)
    return read_sentence_pairs(args.src, args.tgt, pretokenized, args.max_line_chars)


def main(argv=None):
    parser, args = parse_command_line(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # shows eflomal's and the batches' progress
    if args.merge:
        try:
            pairs = merge_shards(args.merge, args.output)
        except (ValueError, OSError) as error:
            parser.error(str(error))
        logger.info(f"wrote {pairs} alignments ({len(args.merge)} parts) to {args.output}")
        return
    try:
        if args.model:
            check_model_path(args.model, "--model")
        src_words, tgt_words = read_input(args, args.pretokenized)
        gold = read_talp(args.gold, [len(s) for s in src_words], [len(t) for t in tgt_words]) if args.gold else None
        if gold and not args.pretokenized and (src_words, tgt_words) != read_input(args, pretokenized=True):
            # links past a sentence's end are caught above; links shifted inside it would go unnoticed
            logger.warning(
                "warning: splitting on punctuation changed the words of some pairs, but gold sets like "
                "test.de-en index words separated by spaces: pass --pretokenized for them"
            )
        extra_src, extra_tgt = (read_sentence_pairs(args.extra_src, args.extra_tgt, max_line_chars=args.max_line_chars)
                                if args.extra_src else (None, None))
        neural = dict(model_name_or_path=args.model, layer=args.layer, batch_size=args.batch_size, device=args.device)
        options = {
            "eflomal": dict(symmetrization=args.symmetrization, extra_src=extra_src, extra_tgt=extra_tgt),
            "neural": dict(**neural, method=args.method, threshold=args.threshold),
            "neural+eflomal": dict(**neural, prior_weight=args.prior_weight, extra_src=extra_src, extra_tgt=extra_tgt),
            "simalign": dict(model_name_or_path=args.model, layer=args.layer, method=args.method),
        }[args.aligner]
        if args.shard:
            part, parts = args.shard
            start, stop = shard_bounds(len(src_words), parts)[part - 1]
            record = shard_record(args, src_words, tgt_words, start, stop)
            if args.aligner in STATISTICAL_ALIGNERS and stop - start < MIN_SHARD_PAIRS:
                logger.warning(f"warning: part {part}/{parts} has {stop - start} pairs; eflomal's links get worse "
                               f"on fewer than {MIN_SHARD_PAIRS}: use fewer parts")
            options = shard_aligner_options(args.aligner, options, stop - start, len(src_words))
            src_words, tgt_words = src_words[start:stop], tgt_words[start:stop]
        alignments = align_words(src_words, tgt_words, args.aligner, **options)
    except (ValueError, OSError) as error:  # bad input: a message, not a traceback
        parser.error(str(error))
    write_pharaoh(args.output, alignments)
    if args.shard:
        with open(args.output + ".json", "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
    logger.info(f"wrote {len(alignments)} alignments to {args.output}")
    if gold:
        scores = alignment_error_rate(alignments, gold)
        print(" ".join(f"{name} {100 * value:.1f}" for name, value in scores.items()) + " (percent)")


if __name__ == "__main__":
    run_as_command(main)
