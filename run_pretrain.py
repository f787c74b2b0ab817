#!/usr/bin/env python
"""Alignment post-training of a multilingual encoder on parallel data: WEAM, TLM, MLM, PPA or ALIGN-MLM.

    python run_pretrain.py                       # the embedded default: a tiny model on the shipped sample
    accelerate launch run_pretrain.py \\
        --model_name_or_path bert-base-multilingual-cased \\
        --train_data en-de=europarl.en,europarl.de --objective weam --output_dir mbert-weam-en-de

The output folder (and every checkpoint) loads with
`AutoModel.from_pretrained(folder, trust_remote_code=True)` and is ready for `--push_to_hub`.
Arguments: `python run_pretrain.py --help`, or one JSON/YAML file: `python run_pretrain.py args.yaml`.
"""

import json
import logging
import os
import sys
from dataclasses import dataclass, field

import datasets
import transformers
from transformers import AutoTokenizer, HfArgumentParser, TrainingArguments, set_seed

import modeling_weam
from configuration_weam import WeamConfig
from weam.align_mlm import DICTIONARY_FILE, DictionaryAlignmentLoss, DictionaryIndex, read_dictionary, split_dictionary
from data_collator import DataCollatorForWeam
from weam.corpora import CorpusSpec, ParallelDataError, load_parallel_corpus
from weam.diagnostics import AlignmentEvalCallback, read_tatoeba
from weam.trainer import AlignmentTrainer

logger = logging.getLogger(__name__)

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "data", "sample")
OBJECTIVES = {
    # objective: (cross-lingual weight λ, masking probability, pairs or single sentences)
    "weam": (1.0, 0.3, "pairs"),
    "tlm": (0.0, 0.15, "pairs"),
    "mlm": (0.0, 0.15, "sentences"),
    "ppa": (0.0, 0.15, "pairs"),  # + MoCo on [CLS], with random input order
    "align_mlm": (0.0, 0.15, "sentences"),  # + α·L_align on dictionary pairs
}
# The embedded default: a model small enough to train in minutes on a laptop CPU.
TINY_MODEL = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256)


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "Checkpoint to post-train: a Hub id (bert-base-multilingual-cased) or a folder of any "
                  "BERT-family model. Default: a tiny random BERT (the embedded demo)."},
    )
    tokenizer_name: str | None = field(
        default=None, metadata={"help": "Tokenizer, if not the model's. Default with no model: mBERT's vocabulary restricted "
                                "to the pieces of the shipped sample (it tokenizes the sample exactly as mBERT)."}
    )
    objective: str = field(
        default="weam",
        metadata={"help": "weam: L_mp + λ·L_cp on aligned pairs; tlm: MLM on pairs; mlm: MLM on single sentences; "
                  "ppa: MoCo on [CLS] + TLM; align_mlm: MLM + α·dictionary loss.", "choices": list(OBJECTIVES)},
    )
    cross_lingual_weight: float | None = field(
        default=None, metadata={"help": "λ in L = L_mp + λ·L_cp (WEAM only; default 1.0)."}
    )
    unaligned_tokens: str = field(
        default="ignore",
        metadata={"help": "A masked token with no aligned partner in the cross-lingual head: 'ignore' (no "
                  "cross-lingual prediction), 'self' (predicted from its own state), 'zero' (the paper's AᵀH "
                  "literally: from b₂ alone).", "choices": ["ignore", "self", "zero"]},
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
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow remote code when loading the model."})
    cache_dir: str | None = field(default=None, metadata={"help": "Where downloaded models and datasets are cached."})


@dataclass
class DataArguments:
    train_data: list[str] = field(
        default_factory=lambda: [
            f"en-es={SAMPLE}/tico19.en-es.en,{SAMPLE}/tico19.en-es.es",
            f"en-zh={SAMPLE}/tico19.en-zh.en,{SAMPLE}/tico19.en-zh.zh",
        ],
        metadata={"help": "One corpus per language pair, as `SRC-TGT=LOCATION`. LOCATION: `SRC_FILE,TGT_FILE` "
                  "(line-aligned; a third file gives Pharaoh alignments), a .tsv/.csv/.jsonl/.json file with "
                  "columns named by language, source/target or translation, a saved dataset folder, or a Hub "
                  "dataset `NAME[:CONFIG][@SPLIT]` (e.g. `Helsinki-NLP/opus-100:en-fi@train[:100000]`). Default: "
                  "the shipped TICO-19 sample (en-es, en-zh)."},
    )
    sampling_weights: list[float] | None = field(
        default=None,
        metadata={"help": "Sampling weight per corpus (same order as --train_data). Default: every pair once per "
                  "epoch, i.e. proportional to corpus size."},
    )
    validation_pairs: int = field(
        default=100, metadata={"help": "Pairs held out of each corpus for evaluation (0: none)."}
    )
    max_seq_length: int = field(default=128, metadata={"help": "Tokens per pair; longer pairs are truncated."})
    mlm_probability: float | None = field(
        default=None, metadata={"help": "Masking probability. Default: 0.3 for WEAM, 0.15 for TLM/MLM."}
    )
    whole_word_mask: bool = field(default=False, metadata={"help": "Mask whole words instead of subwords."})
    aligner: str = field(
        default="eflomal",
        metadata={"help": "Word aligner for corpora without alignments (WEAM only; the other objectives use none): "
                  "'eflomal' (statistical, the default, the "
                  "successor of the paper's FastAlign), 'neural' (batched similarity alignment with "
                  "--aligner_model), 'neural+eflomal' (the most accurate: neural with eflomal's links as a prior) or "
                  "'simalign'. See `python align_words.py --help` for speed and quality."},
    )
    aligner_model: str | None = field(default=None, metadata={"help": "Encoder for the neural aligners."})
    aligner_layer: int = field(default=8, metadata={"help": "Layer of --aligner_model used for alignment."})
    symmetrization: str = field(
        default="grow-diag-final-and", metadata={"help": "eflomal: grow-diag-final-and, intersection or union."}
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


@dataclass
class AlignmentArguments:
    dictionaries: list[str] | None = field(
        default=None,
        metadata={"help": "Bilingual dictionaries (MUSE `tgt @ src`, `src tgt` lines or TSV) for ALIGN-MLM's loss and "
                  "the alignment diagnostics at each evaluation. A share of the source words is held out."},
    )
    align_loss_weight: float | None = field(
        default=None, metadata={"help": "α of α·L_align: 10 for --objective align_mlm, 0 (off) otherwise; > 0 adds "
                                "the dictionary loss to any objective."},
    )
    align_pairs_per_step: int | None = field(
        default=4096, metadata={"help": "Dictionary pairs drawn per optimizer step for L_align (None: all)."}
    )
    single_token_entries: bool = field(default=False, metadata={"help": "Keep only one-token dictionary words."})
    dictionary_test_size: float = field(
        default=0.1, metadata={"help": "Share of dictionary source words held out from L_align, for evaluation."}
    )
    eval_tatoeba_dir: str | None = field(
        default=None, metadata={"help": "Folder of LASER Tatoeba pairs (tatoeba.xxx-eng.*): retrieval at each evaluation."}
    )
    eval_tatoeba_languages: list[str] = field(default_factory=lambda: ["deu", "spa", "cmn"])
    alignment_eval_layer: int = field(default=8, metadata={"help": "Layer of the diagnostics (at most the last)."})
    alignment_eval_items: int = field(default=200, metadata={"help": "Words and sentences per diagnostic."})


@dataclass
class PretrainingArguments(TrainingArguments):
    """`TrainingArguments` with the WEAM paper's defaults."""

    output_dir: str = field(default="output/weam-demo", metadata={"help": "Where the model and checkpoints go."})
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate of AdamW."})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Pairs per batch and device."})
    num_train_epochs: float = field(default=2.0, metadata={"help": "Epochs over the parallel data."})
    eval_strategy: str = field(default="epoch", metadata={"help": "When to evaluate on the held-out pairs."})
    logging_steps: float = field(default=20, metadata={"help": "Log every N steps."})
    save_strategy: str = field(default="epoch", metadata={"help": "When to save a checkpoint."})
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


def parse_command_line(argv):
    """The arguments, checked: every mistake a command line can hold stops here, before anything is downloaded."""
    parser = HfArgumentParser((ModelArguments, DataArguments, AlignmentArguments, PretrainingArguments),
                              description=__doc__)
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        load = parser.parse_json_file if argv[0].endswith(".json") else parser.parse_yaml_file
        model_args, data_args, alignment_args, training_args = load(os.path.abspath(argv[0]))
    else:
        model_args, data_args, alignment_args, training_args = parser.parse_args_into_dataclasses(argv)
    if model_args.objective not in OBJECTIVES:  # a JSON/YAML file bypasses the parser's choices
        raise SystemExit(f"--objective must be one of {', '.join(OBJECTIVES)}, got {model_args.objective!r}")
    if data_args.sampling_weights and len(data_args.sampling_weights) != len(data_args.train_data):
        raise SystemExit("--sampling_weights needs one weight per --train_data corpus")
    for spec in data_args.train_data:
        try:
            CorpusSpec.parse(spec)
        except ParallelDataError as error:
            raise SystemExit(f"error: {error}") from None
    return model_args, data_args, alignment_args, training_args


def build_model(model_args, tokenizer, cross_lingual_weight):
    model_class = modeling_weam.PpaForPreTraining if model_args.objective == "ppa" else modeling_weam.WeamForPreTraining
    settings = dict(cross_lingual_weight=cross_lingual_weight, unaligned_tokens=model_args.unaligned_tokens)
    if model_args.model_name_or_path is None:
        config = WeamConfig(vocab_size=len(tokenizer), **TINY_MODEL, **settings)
    else:
        config = WeamConfig.from_pretrained(
            model_args.model_name_or_path, cache_dir=model_args.cache_dir,
            trust_remote_code=model_args.trust_remote_code, **settings,
        )
    if model_args.config_overrides:
        config.update_from_string(model_args.config_overrides)
    if model_args.model_name_or_path is None:
        return model_class(config)
    model, loading = model_class.from_pretrained(
        model_args.model_name_or_path, config=config, cache_dir=model_args.cache_dir, output_loading_info=True
    )
    if loading["missing_keys"]:
        logger.warning("Newly initialized (not in %s): %s", model_args.model_name_or_path, sorted(loading["missing_keys"]))
    if loading["unexpected_keys"]:
        logger.info("Not used from the checkpoint: %s", sorted(loading["unexpected_keys"]))
    return model


def split_into_sentences(batch):
    """Pairs -> their two sentences as separate examples (the MLM baseline on the same data)."""
    out = {"input_ids": [], "token_type_ids": [], "special_tokens_mask": [], "word_ids": [], "alignment": []}
    for k, mask in enumerate(batch["special_tokens_mask"]):
        sep = mask.index(1, 1)  # the [SEP] after S
        for key in ("input_ids", "special_tokens_mask", "word_ids"):
            values = batch[key][k]
            out[key] += [values[: sep + 1], values[:1] + values[sep + 1 :]]
        out["token_type_ids"] += [[0] * (sep + 1), [0] * (len(mask) - sep)]
        out["alignment"] += [[], []]
    return out


def load_data(data_args, tokenizer, sentences, seed, cache_dir, needs_alignment):
    aligner_options = {}
    if not needs_alignment:
        data_args.aligner = "none"
    elif data_args.aligner == "eflomal":  # eflomal 2.0 reads /dev/urandom: it cannot be seeded
        aligner_options = {"symmetrization": data_args.symmetrization}
    elif data_args.aligner_model:
        aligner_options = {"model_name_or_path": data_args.aligner_model, "layer": data_args.aligner_layer}
    else:
        raise ParallelDataError(f"--aligner {data_args.aligner} needs --aligner_model (a folder or Hub id of an encoder)")
    train_sets, eval_sets, reports = [], [], []
    for spec_text in data_args.train_data:
        spec = CorpusSpec.parse(spec_text)
        dataset, report = load_parallel_corpus(
            spec, tokenizer, skip_invalid=data_args.skip_invalid, max_line_chars=data_args.max_line_chars,
            streaming=data_args.streaming, cache_dir=cache_dir, max_seq_length=data_args.max_seq_length,
            first_subword_only=data_args.first_subword_only, pretokenized=data_args.pretokenized,
            aligner=data_args.aligner, aligner_options=aligner_options,
        )
        if report is not None:
            logger.info(str(report))
            reports.append(report)
        if data_args.validation_pairs:
            if data_args.streaming:
                eval_sets.append(dataset.take(data_args.validation_pairs))
                dataset = dataset.skip(data_args.validation_pairs)
            else:
                split = dataset.train_test_split(test_size=data_args.validation_pairs, seed=seed)
                dataset, held_out = split["train"], split["test"]
                eval_sets.append(held_out)
        train_sets.append(dataset)
    languages = sorted({lang for s in data_args.train_data for lang in CorpusSpec.parse(s).name.split("-")})

    def combine(parts, weights):
        if sentences:
            parts = [p.map(split_into_sentences, batched=True, remove_columns=p.column_names) for p in parts]
        if len(parts) == 1:
            return parts[0]
        if weights:
            total = sum(weights)
            return datasets.interleave_datasets(
                parts, probabilities=[w / total for w in weights], seed=seed, stopping_strategy="all_exhausted"
            )
        return datasets.concatenate_datasets(parts)

    train = combine(train_sets, data_args.sampling_weights)
    evaluation = combine(eval_sets, None) if eval_sets else None
    return train, evaluation, reports, languages


def build_alignment_tools(args, tokenizer, model, objective, seed, output_dir):
    """ALIGN-MLM's loss (or None) and the evaluation diagnostics (or None), from the dictionaries."""
    weight = args.align_loss_weight if args.align_loss_weight is not None else (10.0 if objective == "align_mlm" else 0.0)
    if weight > 0 and not args.dictionaries:
        raise SystemExit("error: ALIGN-MLM's loss needs --dictionaries (e.g. MUSE en-de.dict)")
    train_pairs, test_pairs = [], []
    for path in args.dictionaries or []:
        train, test = split_dictionary(read_dictionary(path), test_size=args.dictionary_test_size, seed=seed)
        train_pairs += train
        test_pairs += test
    align_loss = None
    if weight > 0:
        index = DictionaryIndex(tokenizer, train_pairs, single_token_only=args.single_token_entries)
        align_loss = DictionaryAlignmentLoss(index, weight=weight, pairs_per_step=args.align_pairs_per_step, seed=seed)
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
    return weight, align_loss, alignment_eval


def main(argv=None):
    model_args, data_args, alignment_args, training_args = parse_command_line(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
                        if training_args.should_log else logging.WARNING)
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())
    datasets.utils.logging.set_verbosity(training_args.get_process_log_level())
    default_weight, default_masking, unit = OBJECTIVES[model_args.objective]
    cross_lingual_weight = default_weight
    if model_args.cross_lingual_weight is not None and model_args.objective == "weam":
        cross_lingual_weight = model_args.cross_lingual_weight
    set_seed(training_args.seed)

    # The demo's tokenizer is mBERT's restricted to the sample's pieces (see data/sample/make_demo_tokenizer.py).
    tokenizer_name = model_args.tokenizer_name or model_args.model_name_or_path or os.path.join(SAMPLE, "demo-tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_name, cache_dir=model_args.cache_dir)
    try:
        with training_args.main_process_first(desc="tokenizing and aligning"):
            train, evaluation, reports, languages = load_data(
                data_args, tokenizer, unit == "sentences", training_args.seed, model_args.cache_dir,
                needs_alignment=cross_lingual_weight > 0,
            )
    except ParallelDataError as error:
        raise SystemExit(f"error: {error}") from None
    model = build_model(model_args, tokenizer, cross_lingual_weight)
    if model_args.train_heads_only:
        model.bert.requires_grad_(False)  # the tied decoder weight is the word embedding matrix: fixed too
    try:
        align_weight, align_loss, alignment_eval = build_alignment_tools(
            alignment_args, tokenizer, model, model_args.objective, training_args.seed, training_args.output_dir
        )
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None

    collator = DataCollatorForWeam(
        tokenizer=tokenizer,
        mlm_probability=data_args.mlm_probability or default_masking,
        whole_word_mask=data_args.whole_word_mask,
        swap_probability=0.5 if model_args.objective == "ppa" else 0.0,
        sentence_views=model_args.objective == "ppa",
        seed=training_args.seed,
        pad_to_multiple_of=8 if training_args.fp16 or training_args.bf16 else None,
    )
    hyperparameters = {
        "objective": model_args.objective,
        "cross-lingual weight λ": cross_lingual_weight,
        "dictionary loss weight α": align_weight,
        "unaligned tokens": model_args.unaligned_tokens,
        "masking probability": collator.mlm_probability,
        "word aligner": data_args.aligner,
        "max sequence length": data_args.max_seq_length,
        "learning rate": training_args.learning_rate,
        "batch size (total)": training_args.per_device_train_batch_size * training_args.world_size
        * training_args.gradient_accumulation_steps,
        "epochs / max steps": f"{training_args.num_train_epochs} / {training_args.max_steps}",
        "seed": training_args.seed,
    }
    trainer = AlignmentTrainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=collator,
        processing_class=tokenizer,
        align_loss=align_loss,
        alignment_eval=alignment_eval,
        card_info=dict(
            base_model=model_args.model_name_or_path,
            objective=model_args.objective,
            languages=languages,
            data=data_args.train_data,
            hyperparameters=hyperparameters,
            repo=training_args.hub_model_id,
            data_report=[str(r) for r in reports],
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
            json.dump([{"corpus": r.name, "read": r.read, "used": r.used, "skipped": dict(r.skipped)}
                       for r in reports], f, indent=2)
        trainer.make_hub_ready(training_args.output_dir)
        if training_args.export_plain_bert:
            modeling_weam.save_as_bert(trainer.model, os.path.join(training_args.output_dir, "plain-bert"))
            tokenizer.save_pretrained(os.path.join(training_args.output_dir, "plain-bert"))
        print(
            f"\nTrained {model_args.model_name_or_path or 'a tiny random BERT'} with {model_args.objective.upper()} "
            f"on {', '.join(r.name + f' ({r.used} pairs)' for r in reports) or 'a stream'} for "
            f"{trainer.state.global_step} steps.\nSaved to {os.path.abspath(training_args.output_dir)}; load it with\n"
            f"  AutoModel.from_pretrained({training_args.output_dir!r}, trust_remote_code=True)"
        )
    if training_args.push_to_hub:
        trainer.push_to_hub(finetuned_from=model_args.model_name_or_path, tags=["weam", model_args.objective])


if __name__ == "__main__":
    main()
