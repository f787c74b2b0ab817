#!/usr/bin/env python
"""Export a WEAM checkpoint as a plain `bert` checkpoint that stock `transformers` loads without remote code.

    python export_bert.py --model output/mbert-weam-en-de --output mbert-weam-en-de-bert
"""

import argparse

from transformers import AutoTokenizer

from modeling_weam import WeamForPreTraining, WeamModel, save_as_bert


def parse_command_line(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="A WEAM folder or Hub id (from run_pretrain.py).")
    parser.add_argument("--output", required=True, help="Folder for the plain BERT checkpoint and tokenizer.")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_command_line(argv)
    try:
        model = WeamForPreTraining.from_pretrained(args.model)
    except (OSError, ValueError):  # an encoder saved without its pre-training heads
        model = WeamModel.from_pretrained(args.model)
    save_as_bert(model, args.output)
    AutoTokenizer.from_pretrained(args.model).save_pretrained(args.output)
    print(f"Wrote {args.output}: load it with BertModel/BertForMaskedLM.from_pretrained({args.output!r})")


if __name__ == "__main__":
    main()
