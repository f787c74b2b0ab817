#!/usr/bin/env python
"""Align the words of parallel sentences, and score them against gold alignments.

    python align_words.py --src de.txt --tgt en.txt --output de-en.align --aligner neural --model ENCODER_DIR
    python align_words.py --parallel test.de-en --pretokenized --gold deen.talp --output out.align \\
        --aligner neural+eflomal --model ENCODER_DIR --extra_src news.de --extra_tgt news.en
"""

import argparse
import logging

from weam.word_alignment import (
    ALIGNERS, NEURAL_METHODS, SYMMETRIZATIONS, align_words, alignment_error_rate, read_parallel_file,
    read_sentence_pairs, read_talp, write_pharaoh,
)

logger = logging.getLogger(__name__)

SPEED_NOTE = """\
measured on test.de-en (508 pairs) with multilingual-e5-small, on 2 CPU cores shared with other jobs
(load 3 to 7, hence the ranges; see benchmarks/bench_alignment.py):
  aligner         pairs/s                             AER % (deen.talp)
  neural          9-35: 10x SimAlign on the same      22.6 at --layer 8, 21.1 at --layer 7
                  pairs (7-25x across runs), same links
  simalign        0.8-1.3, one pair at a time         22.6 at --layer 8
  eflomal         2-5 min for 39.6k pairs             26.9 (grow-diag-final-and; 39k WMT news pairs
                  (140-340 corpus pairs/s)                 as --extra_src/--extra_tgt)
  neural+eflomal  eflomal's time plus neural's        18.6 at --layer 8, 18.3 at --layer 7 (best)
"""


def parse_command_line(argv=None):
    """The parser (for later errors) and the arguments, checked before any file is read."""
    parser = argparse.ArgumentParser(
        description="Align the words of parallel sentences; writes one Pharaoh line (0-based i-j links) per pair.",
        epilog=SPEED_NOTE, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--src", help="source sentences, one per line")
    parser.add_argument("--tgt", help="target sentences, line-aligned with --src")
    parser.add_argument("--parallel", help="instead of --src/--tgt: `source ||| target` lines (the gold sets' format)")
    parser.add_argument("--output", required=True, help="Pharaoh file to write")
    parser.add_argument("--aligner", choices=ALIGNERS, default="eflomal")
    parser.add_argument("--model", help="Hub id or folder of the encoder (neural, neural+eflomal, simalign)")
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
    parser.add_argument("--batch_size", type=int, default=64, help="sentence pairs per forward pass (neural)")
    parser.add_argument("--device", help="torch device (default: cuda if available)")
    args = parser.parse_args(argv)
    if (args.parallel is None and (args.src is None or args.tgt is None)) or (args.parallel and (args.src or args.tgt)):
        parser.error("give either --src and --tgt, or --parallel")
    if (args.extra_src is None) != (args.extra_tgt is None):
        parser.error("give --extra_src and --extra_tgt together")
    if args.aligner != "eflomal" and args.model is None:
        parser.error(f"--aligner {args.aligner} needs --model (a Hub id or a local encoder folder)")
    return parser, args


def read_input(args, pretokenized):
    if args.parallel:
        return read_parallel_file(args.parallel, pretokenized)
    return read_sentence_pairs(args.src, args.tgt, pretokenized)


def main(argv=None):
    parser, args = parse_command_line(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # shows eflomal's and the batches' progress
    try:
        src_words, tgt_words = read_input(args, args.pretokenized)
        gold = read_talp(args.gold, [len(s) for s in src_words], [len(t) for t in tgt_words]) if args.gold else None
        if gold and not args.pretokenized and (src_words, tgt_words) != read_input(args, pretokenized=True):
            # links past a sentence's end are caught above; links shifted inside it would go unnoticed
            logger.warning(
                "warning: splitting on punctuation changed the words of some pairs, but gold sets like "
                "test.de-en index words separated by spaces: pass --pretokenized for them"
            )
        extra_src, extra_tgt = read_sentence_pairs(args.extra_src, args.extra_tgt) if args.extra_src else (None, None)
        neural = dict(model_name_or_path=args.model, layer=args.layer, batch_size=args.batch_size, device=args.device)
        options = {
            "eflomal": dict(symmetrization=args.symmetrization, extra_src=extra_src, extra_tgt=extra_tgt),
            "neural": dict(**neural, method=args.method, threshold=args.threshold),
            "neural+eflomal": dict(**neural, prior_weight=args.prior_weight, extra_src=extra_src, extra_tgt=extra_tgt),
            "simalign": dict(model_name_or_path=args.model, layer=args.layer, method=args.method),
        }[args.aligner]
        alignments = align_words(src_words, tgt_words, args.aligner, **options)
    except (ValueError, OSError) as error:  # bad input: a message, not a traceback
        parser.error(str(error))
    write_pharaoh(args.output, alignments)
    logger.info(f"wrote {len(alignments)} alignments to {args.output}")
    if gold:
        scores = alignment_error_rate(alignments, gold)
        print(" ".join(f"{name} {100 * value:.1f}" for name, value in scores.items()) + " (percent)")


if __name__ == "__main__":
    main()
