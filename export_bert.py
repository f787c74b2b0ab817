#!/usr/bin/env python
"""Export a WEAM checkpoint as a plain `bert` checkpoint: no WEAM settings in its config, no `auto_map`, no
pre-training heads beyond BERT's MLM head (the cross-lingual head and PPA's key encoder are left out).

    python export_bert.py --model output/mbert-weam-en-de --output mbert-weam-en-de-bert

A WEAM folder already loads into the stock BERT classes (its config says `bert`); the export is for tools
that also read the config's extra fields or choke on `auto_map`. The export writes a new folder: never over a
model (the WEAM checkpoint itself included), nor where a file is.
"""

import argparse
import os

from transformers import BertModel

from modeling_weam import WeamForPreTraining, save_as_bert
from weam.cli import CommandParser, InputError, check_model_path, load_tokenizer, run_as_command


def load_pretraining_model(folder):
    """The pre-training model of a WEAM folder (encoder with pooler, MLM head); only the encoder (`BertModel`)
    when the folder has no MLM head, rather than a randomly initialized one."""
    model, loading = WeamForPreTraining.from_pretrained(folder, output_loading_info=True)
    if any(key.startswith("cls.") for key in loading["missing_keys"]):
        return BertModel.from_pretrained(folder)
    return model


def parse_command_line(argv=None):
    parser = CommandParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="A WEAM folder or Hub id (from run_pretrain.py).")
    parser.add_argument("--output", required=True, help="A new folder for the plain BERT checkpoint and tokenizer.")
    return parser.parse_args(argv)


def check_output(output, model):
    """Stops where the export would write over a model (the WEAM checkpoint itself) or into a file."""
    if os.path.isfile(output):
        raise InputError(f"--output {output} is a file: give a folder for the checkpoint")
    if os.path.isfile(os.path.join(output, "config.json")):
        itself = os.path.isdir(model) and os.path.samefile(output, model)
        what = "is --model: the export would replace the WEAM checkpoint" if itself else "holds a model already"
        raise InputError(f"--output {output} {what}; give a new folder (the export writes over no model)")


def main(argv=None):
    args = parse_command_line(argv)
    check_model_path(args.model, "--model")
    check_output(args.output, args.model)
    tokenizer = load_tokenizer(args.model, "--model")
    save_as_bert(load_pretraining_model(args.model), args.output)
    tokenizer.save_pretrained(args.output)
    print(f"Wrote {args.output}: load it with BertModel/BertForMaskedLM.from_pretrained({args.output!r})")


if __name__ == "__main__":
    run_as_command(main)
