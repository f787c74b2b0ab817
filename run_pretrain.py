#!/usr/bin/env python
"""Alignment post-training of a multilingual encoder on parallel data: WEAM, TLM, MLM, PPA or ALIGN-MLM.

    python run_pretrain.py                       # the embedded default: a tiny model on the shipped sample
    accelerate launch run_pretrain.py \\
        --model_name_or_path bert-base-multilingual-cased \\
        --train_data en-de=corpus.en,corpus.de --objective weam --output_dir mbert-weam-en-de

Each objective (weam/objectives/) brings its paper's settings: learning rate, batch size, epochs,
warm-up, weight decay, masking and loss weights take the paper's value unless given here (each
argument's help lists them; the run prints what it uses and writes it into the model card). A setting
that cannot apply to the objective is an error, not ignored.

Several processes: `accelerate launch` or `torchrun --nproc_per_node N` on GPUs; on CPUs add --use_cpu.

The output folder (and every checkpoint) loads with
`AutoModel.from_pretrained(folder)` (a BERT checkpoint) and is ready for `--push_to_hub`.
Arguments: `python run_pretrain.py --help`, or one JSON/YAML file: `python run_pretrain.py args.yaml`.
"""

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass, field

import datasets
import transformers
from transformers import set_seed
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from transformers.training_args import IntervalStrategy, ParallelMode

import modeling_weam
from configuration_weam import WeamConfig
from data_collator import DataCollatorForWeam
from weam import model_card
from weam.cli import (
    ArgumentParser, HelpFormatter, InputError, RunArguments, check_language_codes, check_model_path, command_with,
    earlier_run, first_line, listing, load_tokenizer, other_language_codes_field, run_as_command, training_problems,
)
from weam.corpora import (
    CorpusSpec,
    MonolingualSpec,
    ParallelDataError,
    hold_out_pairs,
    load_monolingual_corpus,
    load_parallel_corpus,
)
from weam.corpus_alignment import FOLDER as ALIGNMENTS_FOLDER
from weam.corpus_alignment import MIN_SHARD_PAIRS, CorpusAlignment, RunAlignments
from weam.diagnostics import AlignmentEvalCallback, read_tatoeba
from weam.dictionaries import DictionaryIndex, read_dictionary, split_dictionary
from weam.objectives import OBJECTIVES
from weam.objectives.align_mlm import DICTIONARY_FILE, DictionaryAlignmentLoss
from weam.trainer import AlignmentTrainer, ObjectiveRecord, checkpoint_objective, last_checkpoint
from weam.word_alignment import ALIGNERS, SYMMETRIZATIONS

logger = logging.getLogger(__name__)

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "data", "sample")
SAMPLE_DATA = [
    f"en-es={SAMPLE}/tico19.en-es.en,{SAMPLE}/tico19.en-es.es",
    f"en-zh={SAMPLE}/tico19.en-zh.en,{SAMPLE}/tico19.en-zh.zh",
]
# The demo's tokenizer is mBERT's restricted to the sample's pieces (see data/sample/make_demo_tokenizer.py).
DEMO_TOKENIZER = os.path.join(SAMPLE, "demo-tokenizer")
# The embedded default: a model small enough to train in minutes on a laptop CPU.
TINY_MODEL = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256)
DEFAULT_OBJECTIVE = OBJECTIVES["weam"]
NEURAL_ALIGNERS = ("neural", "neural+eflomal", "simalign")
# A warning when more of the training tokens are unknown to the tokenizer.
UNKNOWN_TOKEN_WARNING_RATE = 0.01
# Pairs held out of each corpus by default, at most a tenth of it (a small corpus keeps most to train on).
VALIDATION_PAIRS = 100
# The layers of run_alignment_eval.py's word and sentence tasks, unless the model has fewer.
DIAGNOSTICS_LAYERS = {"layer": 8, "sentence_layer": 7}
# Config settings that shape a checkpoint's weights: a pretrained model keeps its own.
WEIGHT_SHAPES = ("vocab_size", "hidden_size", "intermediate_size", "max_position_embeddings", "type_vocab_size")


def objective_field(setting, help):
    """An argument whose default is the objective's paper value; --help lists each objective's."""
    values = ", ".join(f"{name} {objective.defaults[setting]:g}" for name, objective in OBJECTIVES.items())
    return field(default=DEFAULT_OBJECTIVE.defaults[setting],
                 metadata={"help": f"{help} Default: the objective's ({values})."})


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Checkpoint to post-train: a Hub id (bert-base-multilingual-cased) or a folder of any "
                  "BERT-family model. Default: a tiny random BERT (the embedded demo)."},
    )
    tokenizer_name: str | None = field(
        default=None, metadata={"help": "Tokenizer, if not the model's. Default with no model: mBERT's vocabulary "
                                "restricted to the pieces of the shipped sample (it tokenizes the sample exactly as "
                                "mBERT; other text falls to [UNK], and the run warns)."}
    )
    objective: str = field(
        default=DEFAULT_OBJECTIVE.name,
        metadata={"help": "; ".join(f"{name}: {objective.summary}" for name, objective in OBJECTIVES.items())
                  + ". Each brings its paper's defaults.", "choices": list(OBJECTIVES)},
    )
    cross_lingual_weight: float = field(
        default=OBJECTIVES["weam"].options["cross_lingual_weight"],
        metadata={"help": "λ in L = L_mp + λ·L_cp (--objective weam only)."},
    )
    unaligned_tokens: str = field(
        default=OBJECTIVES["weam"].options["unaligned_tokens"],
        metadata={"help": "--objective weam only. A masked token with no aligned partner in the cross-lingual head: "
                  "'ignore' (no cross-lingual prediction), 'self' (predicted from its own state), 'zero' (the paper's "
                  "AᵀH literally: from b₂ alone).", "choices": ["ignore", "self", "zero"]},
    )
    alignment_layer: int = field(
        default=OBJECTIVES["awesome_align"].options["alignment_layer"],
        metadata={"help": "--objective awesome_align only. The layer whose states align words, trained there; align "
                  "with the result at the same layer (mBERT: 8; multilingual-e5-small: 7)."},
    )
    alignment_threshold: float = field(
        default=OBJECTIVES["awesome_align"].options["alignment_threshold"],
        metadata={"help": "--objective awesome_align only. Subwords are linked (the self-training targets) where "
                  "both softmaxes of their similarity exceed it (mBERT: 1e-3; multilingual-e5-small: 0.1)."},
    )
    alignment_tlm: bool = field(
        default=OBJECTIVES["awesome_align"].options["alignment_tlm"],
        metadata={"help": "--objective awesome_align only. Add TLM on the masked pair to the self-training loss (as "
                  "awesome-align recommends); false: self-training alone (no pass over the pair: a cheaper step)."},
    )
    config_overrides: str | None = field(
        default=None,
        metadata={"help": "Config settings to override, e.g. `hidden_size=64,num_hidden_layers=2` (for a new model: "
                  "on top of the tiny default)."},
    )
    train_heads_only: bool = field(
        default=False, metadata={"help": "Train the prediction heads only (encoder and word embeddings fixed): a warm-up "
                                 "for a checkpoint without an MLM head (e.g. a sentence encoder such as multilingual-e5), "
                                 "so that its random head does not disturb the encoder at the start of post-training."},
    )
    prediction_vocabulary: str = field(
        default="full",
        metadata={"help": "Which tokens the MLM heads choose among. 'full': the whole vocabulary (the papers'). "
                  "'corpus': only the pieces the training corpora hold (every target is one of them); the output "
                  "layer is then that much smaller, a large speed-up for a small encoder with a large vocabulary "
                  "(multilingual-e5-small: 250k pieces, its output layer most of a step), at the price of a "
                  "softmax without the rest of the vocabulary as negatives.", "choices": ["full", "corpus"]},
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow remote code when loading the model."})
    cache_dir: str | None = field(default=None, metadata={"help": "Where downloaded models and datasets are cached."})


@dataclass
class DataArguments:
    train_data: list[str] = field(
        default_factory=lambda: list(SAMPLE_DATA),
        metadata={"help": "One corpus per language pair, as `SRC-TGT=LOCATION`. LOCATION: `SRC_FILE,TGT_FILE` "
                  "(line-aligned; a third file gives Pharaoh alignments), a .tsv/.csv/.jsonl/.json file with "
                  "columns named by language, source/target or translation, a saved dataset folder, or a Hub "
                  "dataset `NAME[:CONFIG][@SPLIT]` (e.g. `Helsinki-NLP/opus-100:en-fi@train[:100000]`). Default: "
                  "the shipped TICO-19 sample (en-es, en-zh)."},
    )
    monolingual_data: list[str] | None = field(
        default=None,
        metadata={"help": "Monolingual text trained beside the pairs as single sentences (`[CLS] S [SEP]`, masked "
                  "language modeling), as XLM trains MLM on monolingual corpora together with TLM on parallel ones: "
                  "`LANG=FILE`, one sentence per line (e.g. `en=wiki.en de=wiki.de`). Batches then mix sentences "
                  "and pairs; the pair losses (WEAM's cross-lingual prediction, PPA's contrastive loss) apply to the "
                  "pairs. Nothing of it is held out (--validation_pairs holds out pairs). Not with --objective "
                  "awesome_align (an aligner trains on pairs) or --streaming."},
    )
    sampling_weights: list[float] | None = field(
        default=None,
        metadata={"help": "Sampling weight per corpus: one per --train_data corpus, then one per --monolingual_data "
                  "file. Default: every pair (and sentence) once per epoch, i.e. proportional to corpus size."},
    )
    validation_pairs: int | None = field(
        default=None, metadata={"help": f"Pairs held out of each corpus for evaluation (0: none, and no evaluation). "
                                f"Default: {VALIDATION_PAIRS}, or a tenth of a corpus of fewer than "
                                f"{10 * VALIDATION_PAIRS} pairs."}
    )
    max_seq_length: int = field(default=128, metadata={"help": "Tokens per pair; longer pairs are truncated."})
    mlm_probability: float = objective_field(
        "mlm_probability", "Share of the tokens masked and predicted (of them 80%% [MASK], 10%% random, 10%% kept). "
        "TLM's 15%% is XLM's; the WEAM paper trains its TLM baseline with WEAM's settings: --mlm_probability 0.3."
    )
    whole_word_mask: bool = field(default=False, metadata={"help": "Mask whole words instead of subwords."})
    aligner: str = field(
        default="eflomal",
        metadata={"help": "Word aligner for corpora without alignments (--objective weam only; the others use none): "
                  "'eflomal' (statistical, the successor of the paper's FastAlign), 'neural' (batched similarity "
                  "alignment with --aligner_model), 'neural+eflomal' (the most accurate: neural with eflomal's links "
                  "as a prior) or 'simalign'. eflomal cannot be seeded (no flag reaches its randomness): its links "
                  "differ from run to run; for the same links, give them as a third file of --train_data. "
                  "See `python align_words.py --help` for speed and quality.", "choices": list(ALIGNERS)},
    )
    aligner_model: str | None = field(
        default=None, metadata={"help": "Encoder of the neural aligners (neural, neural+eflomal, simalign)."}
    )
    aligner_layer: int = field(default=8, metadata={"help": "Layer of --aligner_model used for alignment."})
    symmetrization: str = field(
        default="grow-diag-final-and",
        metadata={"help": "How eflomal's two directions become one alignment (--aligner eflomal only; neural+eflomal "
                  "uses both directions as a prior, without symmetrizing).", "choices": list(SYMMETRIZATIONS)},
    )
    first_subword_only: bool = field(
        default=False, metadata={"help": "Link only the first subwords of aligned words (default: every subword pair)."}
    )
    pretokenized: bool = field(default=False, metadata={"help": "Input words are separated by spaces already."})
    skip_invalid: bool = field(
        default=False, metadata={"help": "Skip and count bad pairs (empty side, over-long line, bad alignment) "
                                 "instead of stopping at the first."}
    )
    max_line_chars: int = field(default=2000, metadata={"help": "A longer line is an error (or skipped)."})
    streaming: bool = field(
        default=False, metadata={"help": "Stream corpora larger than memory (needs --max_steps; not with eflomal)."}
    )
    min_shard_pairs: int = field(
        default=MIN_SHARD_PAIRS,
        metadata={"help": "Under torchrun/accelerate launch, each process aligns a shard of every corpus; no "
                  "shard of eflomal (or neural+eflomal) has fewer pairs than this, as its links get worse on "
                  "smaller corpora (so a small corpus has fewer shards than processes). The links are saved "
                  "in OUTPUT_DIR/alignments and reused by a resume or a rerun on the same pairs."},
    )
    other_language_codes: list[str] = other_language_codes_field()
    preprocessing_num_workers: int | None = field(
        default=None,
        metadata={"help": "Processes that tokenize each corpus and map its word links to subwords (datasets' "
                  "num_proc; the aligner itself runs in one). Default: this machine's CPU cores shared among the "
                  "launch's processes on it, none given fewer than 10,000 pairs (a smaller corpus is tokenized "
                  "by one process)."},
    )


@dataclass
class AlignmentArguments:
    dictionaries: list[str] | None = field(
        default=None,
        metadata={"help": "Bilingual dictionaries (MUSE `tgt @ src`, `src tgt` lines or TSV) for ALIGN-MLM's loss and "
                  "the alignment diagnostics at each evaluation. A share of the source words is held out."},
    )
    align_loss_weight: float = objective_field(
        "align_loss_weight", "α of the dictionary loss α·L_align (needs --dictionaries); > 0 adds it to any objective."
    )
    align_pairs_per_step: int | None = field(
        default=4096, metadata={"help": "Dictionary pairs drawn per optimizer step for L_align (None: all; with the "
                                "dictionary loss only)."}
    )
    single_token_entries: bool = field(
        default=False, metadata={"help": "Keep only one-token dictionary words (with the dictionary loss only)."}
    )
    dictionary_test_size: float = field(
        default=0.1, metadata={"help": "Share of dictionary source words held out from L_align, for evaluation."}
    )
    eval_tatoeba_dir: str | None = field(
        default=None, metadata={"help": "Folder of LASER Tatoeba pairs (tatoeba.xxx-eng.*): retrieval at each evaluation."}
    )
    eval_tatoeba_languages: list[str] = field(
        default_factory=lambda: ["de", "es", "zh"],
        metadata={"help": "Tatoeba languages (ISO 639-1 codes) of the retrieval in --eval_tatoeba_dir."},
    )
    alignment_eval_layer: int = field(default=8, metadata={"help": "Layer of the diagnostics (at most the last)."})
    alignment_eval_items: int = field(default=200, metadata={"help": "Words and sentences per diagnostic."})


@dataclass
class PretrainingArguments(RunArguments):
    """`TrainingArguments` whose defaults are the objective's paper settings."""

    output_dir: str = field(default="output/weam-demo", metadata={"help": "Where the model and checkpoints go."})
    learning_rate: float = objective_field("learning_rate", "Peak learning rate of AdamW.")
    per_device_train_batch_size: int = objective_field(
        "per_device_train_batch_size", "Pairs (MLM, ALIGN-MLM: sentences) per batch and device; the papers' batch is "
        "the total, this x processes x --gradient_accumulation_steps."
    )
    num_train_epochs: float = objective_field("num_train_epochs", "Epochs over the parallel data.")
    warmup_steps: float = objective_field(
        "warmup_steps", "Linear warm-up: steps, or below 1 the share of all steps."
    )
    weight_decay: float = objective_field("weight_decay", "AdamW's weight decay.")
    eval_strategy: str = field(default="epoch", metadata={"help": "When to evaluate on the held-out pairs (with "
                                                         "--eval_steps and no strategy given: steps)."})
    logging_steps: float = field(default=20, metadata={"help": "Log every N steps."})
    save_strategy: str = field(default="epoch", metadata={"help": "When to save a checkpoint (with --save_steps and "
                                                         "no strategy given: steps)."})
    resume_from_checkpoint: str | None = field(
        default=None, metadata={"help": "A checkpoint-N folder to go on from, or `true`: the last in --output_dir. "
                                "Without it, a run whose --output_dir holds checkpoints of an unfinished run of the "
                                "same objective resumes from the last."}
    )
    seed: int = field(
        default=42, metadata={"help": "Seed of the model's initialization, the masks, the data order and the "
                              "dictionary split (not of eflomal, which cannot be seeded)."}
    )
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Keep the `alignment` column: the collator turns it into `alignment_pairs`."}
    )
    ddp_find_unused_parameters: bool = field(
        default=False, metadata={"help": "Every trained parameter takes part in every step (the pooler is frozen)."}
    )
    prediction_loss_only: bool = field(default=True, metadata={"help": "Evaluation computes losses, not logits."})
    export_plain_bert: bool = field(
        default=False, metadata={"help": "Also write OUTPUT_DIR/plain-bert, loadable without remote code."}
    )


def parse_arguments(argv):
    """(model, data, alignment, training arguments, the objective, the names of the arguments given).

    Where an argument is not given, the objective's paper value is its default."""
    parser = ArgumentParser((ModelArguments, DataArguments, AlignmentArguments, PretrainingArguments),
                            description=__doc__, formatter_class=HelpFormatter)
    argv = parser.command_line(argv)
    chooser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    chooser.add_argument("--objective", choices=list(OBJECTIVES), default=DEFAULT_OBJECTIVE.name)
    chooser.error = parser.error
    objective = OBJECTIVES[chooser.parse_known_args(argv)[0].objective]
    parser.set_defaults(**objective.defaults, **objective.options)  # --help then shows this objective's
    # Which arguments the command line sets: argparse leaves an attribute it already has alone, unless given.
    unset = object()
    probe = argparse.Namespace(**{name: unset for name in vars(parser.parse_known_args([])[0])})
    parser.parse_known_args(argv, namespace=probe)
    given = {name for name, value in vars(probe).items() if value is not unset}
    # A number of steps to save or evaluate at, given alone, says when: every so many steps (not each epoch).
    parser.set_defaults(**{f"{kind}_strategy": "steps" for kind in ("save", "eval")
                           if f"{kind}_steps" in given and f"{kind}_strategy" not in given})
    return (*parser.parse(argv), objective, given)


def check_arguments(objective, given, model_args, data_args, alignment_args, training_args):
    """Stops at a setting that cannot apply to this run, or a value that cannot work, saying why."""
    problems = [f"--{name} applies to --objective {other.name} only, not {objective.name}"
                for other in OBJECTIVES.values() if other is not objective for name in other.options if name in given]
    aligner_flags = ("aligner", "aligner_model", "aligner_layer", "symmetrization", "first_subword_only")
    if not objective.needs_alignment:
        problems += [f"--{name}: --objective {objective.name} uses no word alignment" for name in aligner_flags
                     if name in given]
    elif data_args.aligner in NEURAL_ALIGNERS and not data_args.aligner_model:
        problems.append(f"--aligner {data_args.aligner} needs --aligner_model (a folder or Hub id of an encoder)")
    elif data_args.aligner not in NEURAL_ALIGNERS:
        problems += [f"--{name} applies to the neural aligners ({', '.join(NEURAL_ALIGNERS)}), not "
                     f"--aligner {data_args.aligner}" for name in ("aligner_model", "aligner_layer") if name in given]
    if objective.needs_alignment and "symmetrization" in given and data_args.aligner != "eflomal":
        problems.append(f"--symmetrization applies to --aligner eflomal only ({data_args.aligner} "
                        "does not symmetrize: neural+eflomal uses eflomal's two directions as a prior)")
    if "cross_lingual_weight" in objective.options and model_args.cross_lingual_weight <= 0:
        problems.append("--cross_lingual_weight must be > 0 (λ = 0 is --objective tlm)")
    weight = alignment_args.align_loss_weight
    if weight < 0:
        problems.append(f"--align_loss_weight must be >= 0, got {weight}")
    elif weight == 0 and objective.uses_dictionary_loss:
        problems.append(f"--objective {objective.name} is its dictionary loss: --align_loss_weight must be > 0")
    elif weight > 0 and not alignment_args.dictionaries:
        problems.append(f"the dictionary loss (α = {weight:g}) needs --dictionaries (e.g. MUSE's en-de.dict)")
    if weight == 0:
        problems += [f"--{name} applies to the dictionary loss only (--objective align_mlm or --align_loss_weight > 0)"
                     for name in ("align_pairs_per_step", "single_token_entries") if name in given]
    if not alignment_args.dictionaries and "dictionary_test_size" in given:
        problems.append("--dictionary_test_size applies with --dictionaries only")
    if not alignment_args.eval_tatoeba_dir and "eval_tatoeba_languages" in given:
        problems.append("--eval_tatoeba_languages applies with --eval_tatoeba_dir only")
    if not 0 < data_args.mlm_probability < 1:
        problems.append(f"--mlm_probability is the share of tokens masked, in (0, 1); got {data_args.mlm_probability}")
    problems += training_problems(training_args)
    if data_args.max_seq_length < 1:
        problems.append(f"--max_seq_length must be at least 1, got {data_args.max_seq_length}")
    if data_args.validation_pairs is not None and data_args.validation_pairs < 0:
        problems.append(f"--validation_pairs must be >= 0, got {data_args.validation_pairs}")
    evaluating = bool(given & {"eval_strategy", "eval_steps"}) and training_args.eval_strategy != "no"
    if data_args.validation_pairs == 0 and evaluating:
        problems.append("--validation_pairs 0 holds nothing out to evaluate on: drop --eval_strategy/--eval_steps, "
                        "or hold pairs out")
    corpora = len(data_args.train_data) + len(data_args.monolingual_data or [])
    if data_args.sampling_weights and len(data_args.sampling_weights) != corpora:
        problems.append(f"--sampling_weights needs one weight per --train_data corpus and --monolingual_data file "
                        f"({corpora}), got {len(data_args.sampling_weights)}")
    if data_args.monolingual_data and objective.trains_an_aligner:
        problems.append(f"--monolingual_data: --objective {objective.name} trains an aligner on pairs only")
    if data_args.monolingual_data and data_args.streaming:
        problems.append("--monolingual_data cannot be combined with --streaming")
    if data_args.streaming and training_args.max_steps <= 0:
        problems.append("--streaming needs --max_steps (a stream has no length to count epochs by)")
    if data_args.streaming and model_args.prediction_vocabulary == "corpus":
        problems.append("--prediction_vocabulary corpus reads the whole corpus ahead: not with --streaming")
    if problems:
        raise SystemExit("error: " + "\nerror: ".join(problems))


def check_processes(training_args):
    """Several launched processes that transformers does not connect would each train its own copy."""
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    if processes > 1 and training_args.parallel_mode != ParallelMode.DISTRIBUTED:
        raise SystemExit(
            f"error: {processes} processes were launched, but without GPUs transformers does not join them: each "
            "would train its own copy into the same --output_dir. On CPUs add --use_cpu (e.g. `torchrun "
            f"--nproc_per_node {processes} run_pretrain.py ... --use_cpu`)."
        )


def parse_command_line(argv):
    """The arguments, checked: every mistake a command line can hold stops here, before anything is downloaded.
    Returns (model, data, alignment, training arguments, the objective, the names of the arguments given)."""
    model_args, data_args, alignment_args, training_args, objective, given = parse_arguments(argv)
    check_arguments(objective, given, model_args, data_args, alignment_args, training_args)
    try:
        for spec in data_args.train_data:
            corpus = CorpusSpec.parse(spec)
            check_language_codes([corpus.source_lang, corpus.target_lang], f"--train_data {spec}",
                                 data_args.other_language_codes)
        for spec in data_args.monolingual_data or []:
            check_language_codes([MonolingualSpec.parse(spec).language], f"--monolingual_data {spec}",
                                 data_args.other_language_codes)
    except (ParallelDataError, InputError) as error:
        raise SystemExit(f"error: {error}") from None
    return model_args, data_args, alignment_args, training_args, objective, given


def run_settings(objective, given, model_args, data_args, alignment_args, training_args):
    """(setting, value, where the value came from) of everything that shapes the run: printed and in the card."""
    arguments = (model_args, data_args, alignment_args, training_args)

    def row(label, name, value=None):
        value = next(getattr(args, name) for args in arguments if hasattr(args, name)) if value is None else value
        origin = ("run" if name in given else f"paper ({objective.title})"
                  if name in objective.defaults or name in objective.options else "toolkit")
        return label, value, origin

    total_batch = (training_args.per_device_train_batch_size * training_args.world_size
                   * training_args.gradient_accumulation_steps)
    warmup = training_args.warmup_steps
    rows = [
        row("objective", "objective"),
        row("base model", "model_name_or_path", model_card.public_name(model_args.model_name_or_path)
            if model_args.model_name_or_path else "tiny random BERT ("
            + ", ".join(f"{key}={value}" for key, value in TINY_MODEL.items()) + ")"),
        *([row("config overrides", "config_overrides")] if model_args.config_overrides else []),
        row("tokenizer", "tokenizer_name", model_card.public_name(
            model_args.tokenizer_name or model_args.model_name_or_path or DEMO_TOKENIZER)),
        row("masked tokens", "mlm_probability", f"{data_args.mlm_probability:g}"
            + (" (whole words)" if data_args.whole_word_mask else "")),
        row("prediction vocabulary", "prediction_vocabulary"),
    ]
    rows += [row(name.replace("_", " "), name) for name in objective.options]
    rows += [(name.replace("_", " "), value, f"paper ({objective.title})") for name, value in objective.collator.items()]
    if objective.pair_length_limits:
        fewest, most = objective.pair_length_limits
        rows.append(("pairs kept", f">= {fewest} subwords a side, <= {most} in all (others dropped and counted)",
                     f"paper ({objective.title})"))
    if objective.needs_alignment:
        aligner = data_args.aligner + (f" ({data_args.symmetrization})" if data_args.aligner == "eflomal" else
                                       f" ({model_card.public_name(data_args.aligner_model)}, layer "
                                       f"{data_args.aligner_layer})")
        rows += [row("word aligner", "aligner", aligner),
                 row("subword links", "first_subword_only", "first" if data_args.first_subword_only else "all")]
    if alignment_args.align_loss_weight > 0:
        rows += [row("dictionary loss weight α", "align_loss_weight"),
                 row("dictionary pairs per step", "align_pairs_per_step", alignment_args.align_pairs_per_step or "all"),
                 row("dictionaries", "dictionaries", ", ".join(map(model_card.public_name, alignment_args.dictionaries)))]
    rows += [
        row("max sequence length", "max_seq_length"),
        row("learning rate", "learning_rate", f"{training_args.learning_rate:g}"),
        row("learning-rate schedule", "lr_scheduler_type", str(training_args.lr_scheduler_type.value)),
        row("warm-up", "warmup_steps", f"{warmup:g} of the steps" if 0 < warmup < 1 else f"{warmup:g} steps"),
        row("weight decay", "weight_decay", f"{training_args.weight_decay:g}"),
        row("batch size per device", "per_device_train_batch_size"),
        ("batch size in all", f"{total_batch} (per device x {training_args.world_size} process(es) x "
         f"{training_args.gradient_accumulation_steps} accumulation step(s))", "derived"),
        row("max steps", "max_steps") if training_args.max_steps > 0 else row("epochs", "num_train_epochs",
                                                                                 f"{training_args.num_train_epochs:g}"),
        row("precision", "bf16", "bf16" if training_args.bf16 else "fp16" if training_args.fp16 else "fp32"),
        row("seed", "seed"),
    ]
    return [(label, str(value), origin) for label, value, origin in rows]


def build_config(model_args, tokenizer, objective, align_loss_weight):
    """The model's config: the checkpoint's (or the tiny default's), with the objective's and the run's settings."""
    settings = {**{name: getattr(model_args, name) for name in objective.options}, **objective.config,
                "align_loss_weight": align_loss_weight}
    if model_args.model_name_or_path is None:
        config = WeamConfig(vocab_size=len(tokenizer), **TINY_MODEL, **settings)
    else:
        try:
            config = WeamConfig.from_pretrained(
                model_args.model_name_or_path, cache_dir=model_args.cache_dir,
                trust_remote_code=model_args.trust_remote_code, **settings,
            )
        except (OSError, ValueError) as error:
            raise InputError(f"--model_name_or_path {model_args.model_name_or_path}: {first_line(error)}") from None
    if model_args.config_overrides:
        shapes = {name: getattr(config, name) for name in WEIGHT_SHAPES}
        try:
            config.update_from_string(model_args.config_overrides)
            config.validate()
        except ValueError as error:  # an unknown key, a value of the wrong type or out of range
            raise InputError(f"--config_overrides {model_args.config_overrides}: {first_line(error)}") from None
        reshaped = [name for name in WEIGHT_SHAPES if getattr(config, name) != shapes[name]]
        if reshaped and model_args.model_name_or_path:
            raise InputError(f"--config_overrides {model_args.config_overrides}: {', '.join(reshaped)} would not fit "
                             f"the weights of {model_args.model_name_or_path}; override it for a new model only (no "
                             "--model_name_or_path)")
    return config


def build_model(model_args, config, objective):
    """The objective's model: new (the demo), or from the checkpoint. A setting the model refuses (e.g. a hidden
    size its attention heads do not divide, an alignment layer past its last) is a one-line InputError."""
    model_class = getattr(modeling_weam, objective.model_class)
    try:
        if model_args.model_name_or_path is None:
            return model_class(config)
        model, loading = model_class.from_pretrained(
            model_args.model_name_or_path, config=config, cache_dir=model_args.cache_dir, output_loading_info=True
        )
    except (OSError, ValueError) as error:
        raise InputError(f"the {objective.title} model cannot be built: {first_line(error)}") from None
    made_at_start = getattr(model_class, "_keys_made_at_start", ())
    missing = sorted(key for key in loading["missing_keys"] if not key.startswith(made_at_start))
    if missing:
        logger.warning("Newly initialized (not in %s): %s", model_args.model_name_or_path, missing)
    if loading["unexpected_keys"]:
        logger.info("Not used from the checkpoint: %s", sorted(loading["unexpected_keys"]))
    return model


def unknown_token_rate(dataset, tokenizer, examples=1000):
    """Share of the non-special tokens of the first `examples` examples that are the unknown token."""
    if tokenizer.unk_token_id is None:
        return 0.0
    head = dataset.take(examples) if isinstance(dataset, datasets.IterableDataset) else dataset.select(
        range(min(examples, len(dataset))))
    special = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    tokens = [token for example in head for token in example["input_ids"] if token not in special]
    return sum(token == tokenizer.unk_token_id for token in tokens) / max(len(tokens), 1)


def corpus_token_ids(*parts):
    """Every token id the datasets hold (None entries skipped)."""
    ids = set()
    for dataset in filter(None, parts):
        for batch in dataset.select_columns(["input_ids"]).iter(batch_size=1000):
            for row in batch["input_ids"]:
                ids.update(row)
    return ids


def validation_count(validation_pairs, report):
    """Pairs to hold out of a corpus (`report`: its counts; None for a stream): --validation_pairs, or by default
    VALIDATION_PAIRS, at most a tenth of the corpus. A given number that leaves nothing to train on stops the run."""
    if validation_pairs is None:
        return VALIDATION_PAIRS if report is None else min(VALIDATION_PAIRS, report.used // 10)
    if report is not None and validation_pairs >= report.used:
        raise ParallelDataError(
            f"--validation_pairs {validation_pairs} leaves no pair of {report.name} ({report.used} pairs) to train "
            f"on: give fewer (leave it out: a tenth, {report.used // 10}), or 0 for no evaluation"
        )
    return validation_pairs


def load_data(data_args, tokenizer, sentences, seed, cache_dir, needs_alignment, run_alignments=None,
              pair_length_limits=None):
    """`run_alignments`: where the word links are saved and found again; with it (and no stream), the
    processes of a launch align the corpora in shards together. `pair_length_limits`: the objective's
    filter (see `weam.corpora.prepare_corpus`)."""
    aligner_options = {}
    if not needs_alignment:
        data_args.aligner = "none"
    elif data_args.aligner == "eflomal":  # eflomal 2.0 reads /dev/urandom: it cannot be seeded
        aligner_options = {"symmetrization": data_args.symmetrization}
    elif data_args.aligner_model:
        aligner_options = {"model_name_or_path": data_args.aligner_model, "layer": data_args.aligner_layer}
    else:
        raise ParallelDataError(f"--aligner {data_args.aligner} needs --aligner_model (a folder or Hub id of an encoder)")
    alignment_stage = None
    if run_alignments is not None and data_args.aligner != "none" and not data_args.streaming:
        alignment_stage = CorpusAlignment(data_args.aligner, aligner_options, data_args.pretokenized, run_alignments,
                                          min_shard_pairs=data_args.min_shard_pairs)
    train_sets, eval_sets, reports = [], [], []
    for spec_text in data_args.train_data:
        spec = CorpusSpec.parse(spec_text)
        dataset, report = load_parallel_corpus(
            spec, tokenizer, skip_invalid=data_args.skip_invalid, max_line_chars=data_args.max_line_chars,
            streaming=data_args.streaming, cache_dir=cache_dir, max_seq_length=data_args.max_seq_length,
            first_subword_only=data_args.first_subword_only, pretokenized=data_args.pretokenized,
            aligner=data_args.aligner, aligner_options=aligner_options, unit="sentences" if sentences else "pairs",
            alignment_stage=alignment_stage, pair_length_limits=pair_length_limits,
            num_proc=data_args.preprocessing_num_workers,
        )
        if report is not None:
            logger.info(str(report))
            reports.append(report)
        count = validation_count(data_args.validation_pairs, report)
        if count:
            dataset, held_out = hold_out_pairs(dataset, count, seed, unit="sentences" if sentences else "pairs")
            eval_sets.append(held_out)
            if report is not None:
                report.held_out = count
        train_sets.append(dataset)
    for spec_text in data_args.monolingual_data or []:
        dataset, report = load_monolingual_corpus(
            MonolingualSpec.parse(spec_text), tokenizer, skip_invalid=data_args.skip_invalid,
            max_line_chars=data_args.max_line_chars, cache_dir=cache_dir, max_seq_length=data_args.max_seq_length,
            pretokenized=data_args.pretokenized, num_proc=data_args.preprocessing_num_workers,
        )
        logger.info(str(report))
        reports.append(report)
        # single sentences carry no links: their (empty) alignment column takes the pairs' type
        train_sets.append(dataset.cast(train_sets[0].features) if dataset.features != train_sets[0].features else dataset)
    languages = sorted({lang for s in data_args.train_data for lang in CorpusSpec.parse(s).name.split("-")}
                       | {MonolingualSpec.parse(s).language for s in data_args.monolingual_data or []})

    def combine(parts, weights):
        if len(parts) == 1:
            return parts[0]
        if weights or data_args.streaming:  # streams cannot be counted ahead: without weights they alternate
            probabilities = [w / sum(weights) for w in weights] if weights else None
            return datasets.interleave_datasets(
                parts, probabilities=probabilities, seed=seed, stopping_strategy="all_exhausted"
            )
        return datasets.concatenate_datasets(parts)

    train = combine(train_sets, data_args.sampling_weights)
    if data_args.streaming:  # the Trainer cannot shuffle a stream; a buffer of pairs does
        train = train.shuffle(seed=seed, buffer_size=10_000)
    evaluation = combine(eval_sets, None) if eval_sets else None
    return train, evaluation, reports, languages


def build_alignment_tools(args, tokenizer, model, seed, output_dir):
    """The dictionary loss (or None) and the evaluation diagnostics (or None), from the dictionaries."""
    train_pairs, test_pairs = [], []
    for path in args.dictionaries or []:
        train, test = split_dictionary(read_dictionary(path), test_size=args.dictionary_test_size, seed=seed)
        train_pairs += train
        test_pairs += test
    align_loss = None
    if args.align_loss_weight > 0:
        index = DictionaryIndex(tokenizer, train_pairs, single_token_only=args.single_token_entries)
        align_loss = DictionaryAlignmentLoss(index, weight=args.align_loss_weight,
                                             pairs_per_step=args.align_pairs_per_step, seed=seed)
        os.makedirs(output_dir, exist_ok=True)
        index.save(os.path.join(output_dir, DICTIONARY_FILE))  # the dictionary travels with the run
    tatoeba = [pair for language in args.eval_tatoeba_languages if args.eval_tatoeba_dir
               for pair in read_tatoeba(args.eval_tatoeba_dir, language)]
    alignment_eval = None
    if test_pairs or tatoeba:
        alignment_eval = AlignmentEvalCallback(
            tokenizer, test_pairs, tatoeba, layer=min(args.alignment_eval_layer, model.config.num_hidden_layers),
            max_items=args.alignment_eval_items, seed=seed,
        )
    return align_loss, alignment_eval


def where_to_start(training_args, objective):
    """The checkpoint the run goes on from (None: the start), or a one-line InputError where it would write over
    an earlier run or resume from what is not a checkpoint of this objective.

    The HF examples' convention: --output_dir holding checkpoints of an unfinished run (no model yet) resumes
    from the last; holding a finished run, it stops, unless --overwrite_output_dir (the run starts over there).
    `--resume_from_checkpoint true` is the Trainer's: the last checkpoint of --output_dir (complete: one cut short
    by an interrupt is passed over)."""
    output_dir, checkpoint = training_args.output_dir, training_args.resume_from_checkpoint
    earlier = earlier_run(output_dir)
    last = last_checkpoint(output_dir) if earlier else None
    finished = any(not name.startswith(PREFIX_CHECKPOINT_DIR) and name != ALIGNMENTS_FOLDER for name in earlier)
    if checkpoint is not None and checkpoint.lower() == "true":
        if last is None:
            raise InputError(f"--resume_from_checkpoint true: {output_dir} holds no {PREFIX_CHECKPOINT_DIR}-N folder "
                             "to resume from")
        checkpoint = last
    elif checkpoint is None and earlier and not training_args.overwrite_output_dir:
        if finished:
            further = f" (or --resume_from_checkpoint {last} to train it further)" if last else ""
            raise InputError(f"--output_dir {output_dir} holds an earlier run ({listing(earlier)}): give another "
                             f"--output_dir, or --overwrite_output_dir to train over it{further}")
        checkpoint = last
        if checkpoint is not None:
            logger.warning("%s holds an unfinished run: resuming from %s (--overwrite_output_dir: from the start)",
                           output_dir, checkpoint)
    elif (checkpoint is not None and finished and not training_args.overwrite_output_dir
          and os.path.dirname(os.path.abspath(checkpoint)) != os.path.abspath(output_dir)):
        # another run's checkpoint, resumed into this one's folder, would write over this one's model
        raise InputError(f"--output_dir {output_dir} holds an earlier run ({listing(earlier)}), not {checkpoint}'s: "
                         "give another --output_dir to resume it into, or --overwrite_output_dir to train over it")
    if checkpoint is None:
        return None
    if not os.path.isdir(checkpoint):
        raise InputError(f"--resume_from_checkpoint {checkpoint}: no such folder")
    if not os.path.isfile(os.path.join(checkpoint, "trainer_state.json")):
        raise InputError(f"--resume_from_checkpoint {checkpoint} is not a checkpoint (no trainer_state.json): give a "
                         f"{PREFIX_CHECKPOINT_DIR}-N folder of a run")
    trained = checkpoint_objective(checkpoint)
    if trained not in (None, objective.name):
        new_run = ("leave out --resume_from_checkpoint" if training_args.resume_from_checkpoint else
                   "give another --output_dir, or --overwrite_output_dir to start over")
        raise InputError(f"{checkpoint} was trained with --objective {trained}, not {objective.name}: resume it with "
                         f"--objective {trained}, or for a new run {new_run}")
    return checkpoint


def remove_checkpoints(output_dir):
    """--overwrite_output_dir: an earlier run's checkpoints go, so that no later run resumes from them."""
    removed = sorted(name for name in earlier_run(output_dir) if name.startswith(PREFIX_CHECKPOINT_DIR))
    for name in removed:
        shutil.rmtree(os.path.join(output_dir, name))
    if removed:
        logger.warning("--overwrite_output_dir: removed the earlier run's %s from %s", listing(removed), output_dir)


def main(argv=None):
    model_args, data_args, alignment_args, training_args, objective, given = parse_command_line(
        sys.argv[1:] if argv is None else argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
                        if training_args.should_log else logging.WARNING)
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())
    datasets.utils.logging.set_verbosity(training_args.get_process_log_level())
    check_processes(training_args)
    for kind in ("save", "eval"):
        strategy = getattr(training_args, f"{kind}_strategy")
        if f"{kind}_steps" in given and strategy != IntervalStrategy.STEPS:
            logger.warning("--%s_steps has no effect with --%s_strategy %s", kind, kind, strategy.value)
    training_args.resume_from_checkpoint = where_to_start(training_args, objective)
    if data_args.streaming:
        # A stream's batches differ in shape: each process reads its own share instead of being sent slices.
        training_args.accelerator_config.dispatch_batches = False
    set_seed(training_args.seed)
    settings = run_settings(objective, given, model_args, data_args, alignment_args, training_args)
    if training_args.process_index == 0:
        width = max(len(label) for label, _, _ in settings)
        print(f"Settings (paper: the {objective.title} paper's value, for what this command does not set):")
        print("\n".join(f"  {label:<{width}}  {value}  [{origin}]" for label, value, origin in settings), flush=True)

    # Everything the long stages (alignment, training) need is checked or built before them.
    if model_args.model_name_or_path:
        check_model_path(model_args.model_name_or_path, "--model_name_or_path", "--tokenizer_name")
    if objective.needs_alignment and data_args.aligner_model:  # else read after eflomal's part of the alignment
        check_model_path(data_args.aligner_model, "--aligner_model")
        load_tokenizer(data_args.aligner_model, "--aligner_model")
    tokenizer_name = model_args.tokenizer_name or model_args.model_name_or_path or DEMO_TOKENIZER
    tokenizer = load_tokenizer(tokenizer_name, "--tokenizer_name" if model_args.tokenizer_name else
                               "--model_name_or_path", "--tokenizer_name", cache_dir=model_args.cache_dir)
    config = build_config(model_args, tokenizer, objective, alignment_args.align_loss_weight)
    if len(tokenizer) > config.vocab_size:
        raise SystemExit(
            f"error: the tokenizer {tokenizer_name} has {len(tokenizer)} tokens but the model's vocabulary "
            f"{config.vocab_size}: ids beyond it have no embedding. Use the model's own tokenizer (no "
            "--tokenizer_name), or a model whose vocabulary covers this tokenizer."
        )
    if data_args.max_seq_length > config.max_position_embeddings:
        raise InputError(f"--max_seq_length {data_args.max_seq_length} is more than the model reads "
                         f"({config.max_position_embeddings} positions): give at most that")
    model = build_model(model_args, config, objective)
    if model_args.train_heads_only:
        model.bert.requires_grad_(False)  # the tied decoder weight is the word embedding matrix: fixed too
    try:
        align_loss, alignment_eval = build_alignment_tools(
            alignment_args, tokenizer, model, training_args.seed, training_args.output_dir
        )
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None

    # The word links are part of the run: saved in OUTPUT_DIR/alignments and in every checkpoint.
    run_alignments = RunAlignments(training_args.output_dir, training_args.resume_from_checkpoint,
                                   save_files=training_args.should_save, overwrite=training_args.overwrite_output_dir)
    aligning = objective.needs_alignment and not data_args.streaming
    try:
        # Aligning, every process takes a shard of each corpus (weam/corpus_alignment.py), so all load the
        # data at once; else the main process goes first and the others read its datasets cache.
        with contextlib.nullcontext() if aligning else training_args.main_process_first(desc="tokenizing"):
            train, evaluation, reports, languages = load_data(
                data_args, tokenizer, objective.examples == "sentences", training_args.seed, model_args.cache_dir,
                needs_alignment=objective.needs_alignment, run_alignments=run_alignments,
                pair_length_limits=objective.pair_length_limits,
            )
    except ParallelDataError as error:
        raise SystemExit(f"error: {error}") from None
    # the earlier run's checkpoints go only once this run has its data (a data error keeps them)
    starting_over = training_args.overwrite_output_dir and training_args.resume_from_checkpoint is None
    if starting_over and training_args.should_save:
        remove_checkpoints(training_args.output_dir)
    if evaluation is None:  # nothing held out (--validation_pairs 0, or corpora too small to spare pairs)
        training_args.eval_strategy, training_args.do_eval = IntervalStrategy.NO, False
    unknown = unknown_token_rate(train, tokenizer)
    if unknown > UNKNOWN_TOKEN_WARNING_RATE:
        logger.warning(
            "%.1f%% of the training tokens are %s (unknown to the tokenizer %s)%s", 100 * unknown, tokenizer.unk_token,
            tokenizer_name, ": the demo tokenizer covers only the shipped sample; give --tokenizer_name (e.g. "
            "bert-base-multilingual-cased) or --model_name_or_path" if tokenizer_name == DEMO_TOKENIZER else "",
        )
    if model_args.prediction_vocabulary == "corpus":
        model.restrict_predictions(corpus_token_ids(train, evaluation))
        logger.info("Predictions among the %d pieces the corpora hold (of %d)", len(model.prediction_ids),
                    config.vocab_size)

    collator = DataCollatorForWeam(
        tokenizer=tokenizer,
        mlm_probability=data_args.mlm_probability,
        whole_word_mask=data_args.whole_word_mask,
        seed=training_args.seed,
        pad_to_multiple_of=8 if training_args.fp16 or training_args.bf16 else None,
        **objective.collator,
    )
    corpora = [model_card.corpus_entry(spec, report, report.held_out)
               for spec, report in zip(data_args.train_data + (data_args.monolingual_data or []), reports)]
    if data_args.streaming:  # not counted ahead
        corpora = [model_card.corpus_entry(spec) for spec in data_args.train_data]
    trainer = AlignmentTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=collator,
        processing_class=tokenizer,
        align_loss=align_loss,
        alignment_eval=alignment_eval,
        callbacks=[run_alignments, ObjectiveRecord(objective.name)],
        card_info=dict(
            objective=objective.name,
            base_model=model_args.model_name_or_path,
            languages=languages,
            corpora=corpora,
            settings=settings,
            repo=training_args.hub_model_id,
        ),
    )
    result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model()
    trainer.log_metrics("train", result.metrics)
    trainer.save_metrics("train", result.metrics)
    if evaluation is not None:
        metrics = trainer.evaluate()
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
    trainer.save_state()
    if trainer.is_world_process_zero():
        with open(os.path.join(training_args.output_dir, "data_report.json"), "w") as f:
            json.dump([{"corpus": r.name, "unit": r.unit, "read": r.read, "used": r.used, "skipped": dict(r.skipped)}
                       for r in reports], f, indent=2)
        trainer.write_model_card(training_args.output_dir)
        if training_args.export_plain_bert:
            modeling_weam.save_as_bert(trainer.model, os.path.join(training_args.output_dir, "plain-bert"))
            tokenizer.save_pretrained(os.path.join(training_args.output_dir, "plain-bert"))
        print(finished_message(model_args, objective, corpora, trainer.state.global_step, training_args.output_dir,
                               config.num_hidden_layers))
    if training_args.push_to_hub:
        trainer.push_to_hub(finetuned_from=model_args.model_name_or_path, tags=["weam", objective.name])


def finished_message(model_args, objective, corpora, steps, output_dir, layers):
    """What was trained on what, where it is, and what to do next: commands that run on this model as printed
    (`layers`: the model's, which the diagnostics' default layers may exceed), once the `...` are filled."""
    data = ", ".join(
        f"{c['name']} ({c['trained']:,} {c['unit']} trained on" + (f", {c['held_out']:,} held out for evaluation)"
                                                             if c["held_out"] else ")")
        if c["trained"] is not None else f"{c['name']} (streamed)" for c in corpora
    )
    return (
        f"\nTrained {model_args.model_name_or_path or 'a tiny random BERT'} with {objective.title} for {steps} steps "
        f"on {data}.\nSaved to {os.path.abspath(output_dir)} (model card: README.md); load it with\n"
        f"  AutoModel.from_pretrained({output_dir!r})\n"
        "Next:\n" + (
            f"  align words            python align_words.py --aligner neural+eflomal --model {output_dir} "
            f"--layer {model_args.alignment_layer} --src ... --tgt ... --output ...\n"
            f"  WEAM on its alignments python run_pretrain.py --aligner neural+eflomal --aligner_model {output_dir} "
            f"--aligner_layer {model_args.alignment_layer} ...\n"
            if objective.trains_an_aligner else
            f"  zero-shot transfer     python run_xnli.py --model_name_or_path {output_dir} ...\n"
            f"                         python run_qa.py --model_name_or_path {output_dir} ...\n"
        )
        + f"  alignment diagnostics  python run_alignment_eval.py --model {output_dir} --dictionary ... "
        + "".join(f"--{name} {layers} " for name, default in DIAGNOSTICS_LAYERS.items() if layers < default)
        + "--output_dir ...\n"
        f"  publish                hf upload ORG/NAME {output_dir} --exclude 'checkpoint-*'"
    )


def interrupted_message(argv):
    """What a run stopped by Ctrl-C saved, and the command that goes on from it."""
    _, _, _, training_args, _, _ = parse_arguments(argv)
    output_dir = training_args.output_dir
    checkpoint = last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
    if checkpoint is not None:
        return f"the last checkpoint is {checkpoint}; go on from it with: " + command_with(
            argv, "resume_from_checkpoint", checkpoint)
    if os.path.isdir(os.path.join(output_dir, ALIGNMENTS_FOLDER)):
        return (f"no checkpoint yet; the word alignments are saved in {os.path.join(output_dir, ALIGNMENTS_FOLDER)}, "
                "and the same command uses them again")
    return None


if __name__ == "__main__":
    run_as_command(main, interrupted_message)
