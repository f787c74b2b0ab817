"""The model card (README.md) of a post-trained checkpoint, from the run's real settings.

Written with `huggingface_hub.ModelCard`: a metadata block (base model, Hub datasets, languages,
pipeline tag, license, tags), what the model is for, its training data (file names or Hub ids, never
local paths) and procedure (every setting, and where its value came from), the held-out evaluation as
tables, limitations, and the citation of the objective's paper (from weam/objectives).
"""

import os

from huggingface_hub import ModelCard, ModelCardData

from weam.objectives import OBJECTIVES

# Log entries that are bookkeeping, not results.
NOT_METRICS = ("epoch", "step", "runtime", "samples_per_second", "steps_per_second", "total_flos")

TEMPLATE = """---
{card_data}
---

# {title}

{base_model_text} post-trained with **{objective.title}** on parallel sentences ({languages}) {objective.purpose},
with the weam toolkit.

**{objective.title}:** {objective.summary}. Introduced in {objective.paper}
{notes}
## Intended uses

{objective.intended_uses}

## How to use

```python
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

model_id = "{model_id}"{model_id_note}
tokenizer = AutoTokenizer.from_pretrained(model_id)
encoder = AutoModel.from_pretrained(model_id)  # a stock BertModel: the config says model_type "bert"
# or a fresh task head on the aligned encoder, to fine-tune as usual:
classifier = AutoModelForSequenceClassification.from_pretrained(model_id, num_labels=3)
```

No remote code is needed for the encoder, the MLM head or any task head. Only the pre-training model
with its extra heads (to continue post-training) is remote code:
`AutoModelForPreTraining.from_pretrained(model_id, trust_remote_code=True)` (`configuration_weam.py`,
`modeling_weam.py`).

## Training data

| corpus | source | pairs (sentences) trained on | held out | skipped |
|---|---|---:|---:|---:|
{corpus_rows}

## Training procedure

{settings_intro}

| setting | value | from |
|---|---|---|
{settings_rows}

{training_results}

## Evaluation

{evaluation}

## Limitations

{limitations}

## Citation

```bibtex
{objective.paper.bibtex}
```
"""


def public_name(location):
    """A Hub id as it is; a local file or folder by its name only (a card shows no local paths)."""
    return os.path.basename(os.path.normpath(location)) if os.path.exists(location) else location


def is_local_corpus(location):
    """Whether a `--train_data` location is local files or a folder (else a Hub dataset)."""
    return "," in location or os.path.exists(location)


def public_location(location):
    """A `--train_data` location without local folders: its files' names (`a.en,a.de`), or a Hub id as it is."""
    if not is_local_corpus(location):
        return location
    return ",".join(os.path.basename(os.path.normpath(path)) for path in location.split(","))


def corpus_entry(spec_text, report=None, held_out=0):
    """A `--train_data` corpus as the card shows it: its name, file names or Hub id (no local paths), pair counts.

    `report`: the corpus's `CorpusReport` (None for a stream: counts unknown; a monolingual corpus's counts are
    sentences); `held_out`: pairs kept for evaluation.
    """
    name, _, location = spec_text.rpartition("=")
    hub_dataset = None if is_local_corpus(location) else location.partition("@")[0].partition(":")[0]
    monolingual = report is not None and report.unit == "sentences"
    return {
        "name": (name or location) + (" (monolingual sentences)" if monolingual else ""),
        "unit": report.unit if report is not None else "pairs",
        "source": ", ".join(public_location(location).split(",")),
        "hub_dataset": hub_dataset,
        "trained": report.used - held_out if report is not None else None,
        "held_out": held_out if report is not None else None,
        "skipped": sum(report.skipped.values()) if report is not None else None,
        "skipped_reasons": dict(report.skipped) if report is not None else {},
    }


def _number(value):
    if value is None:
        return "(stream)"
    if isinstance(value, float):
        return f"{value:.4g}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _metrics(entry, prefix=""):
    return {key[len(prefix):]: value for key, value in entry.items() if key.startswith(prefix)
            and not key.endswith(NOT_METRICS) and isinstance(value, (int, float))}


def _results(log):
    """(training results table, evaluation section) from the Trainer's log history."""
    training = [entry for entry in log if "loss" in entry and "eval_loss" not in entry]
    # the last evaluation of each step (a run's final evaluation may repeat its last scheduled one)
    evaluations = list({entry["step"]: entry for entry in log if "eval_loss" in entry}.values())
    final = next((entry for entry in reversed(log) if "train_loss" in entry), None)
    lines = []
    if evaluations:
        lines += ["| step | epoch | training loss | held-out loss |", "|---:|---:|---:|---:|"]
        for entry in evaluations:
            last_training = next((t for t in reversed(training) if t["step"] <= entry["step"]), {})
            lines.append(f"| {entry['step']} | {_number(entry.get('epoch'))} | "
                         f"{_number(last_training.get('loss', '-'))} | {_number(entry['eval_loss'])} |")
    elif training:
        lines.append(f"Last logged training loss: {_number(training[-1]['loss'])} (step {training[-1]['step']}).")
    if final is not None:
        lines.append(f"\n{final['step']} optimizer steps, {_number(final.get('epoch'))} epochs, "
                     f"mean training loss {_number(final['train_loss'])}.")
    training_results = "### Training results\n\n" + "\n".join(lines) if lines else ""
    if not evaluations:
        return training_results, "No held-out evaluation in this run (`--validation_pairs 0` or no evaluation step)."
    metrics = _metrics(evaluations[-1], "eval_")
    evaluation = (
        f"On the pairs held out of the training data, at step {evaluations[-1]['step']} (losses per predicted "
        "token; accuracies: masked tokens predicted exactly; `dict_*` and `tatoeba_*`: the alignment diagnostics "
        "of run_alignment_eval.py on held-out dictionary words and Tatoeba sentences).\n\n"
        "| metric | value |\n|---|---:|\n" + "\n".join(f"| {key} | {_number(value)} |" for key, value in metrics.items())
        + "\n\nThese measure the post-training objective, not transfer: evaluate the model on your task "
        "(run_xnli.py, run_qa.py) before you rely on it."
    )
    return training_results, evaluation


def _limitations(objective, base_model, corpora, languages):
    trained = sum(corpus["trained"] or 0 for corpus in corpora if corpus["unit"] == "pairs")
    items = [
        f"Aligned on {_number(trained) if trained else 'a stream of'} translation pairs of {', '.join(languages)} "
        "only: other languages of the base model were not trained here and may lose some quality.",
        "The parallel data's domain and its biases carry over; a model card cannot replace an evaluation on "
        "your task and languages.",
    ]
    if objective.needs_alignment:
        items.append("Word alignments come from an unsupervised aligner and are noisy; rare words and "
                     "languages far from the others align worst.")
    if base_model is None:
        items.insert(0, "**A demonstration model**: a tiny randomly initialized BERT trained on a small sample. "
                     "It shows that the pipeline works; it is not useful for any task.")
    return "\n".join(f"- {item}" for item in items)


def write(folder, objective, base_model, languages, corpora, settings, repo=None, trainer_state=None,
          license="apache-2.0"):
    """Writes `folder/README.md`.

    Args:
        objective: the `--objective` name (its registry entry gives the text, tags and citation).
        base_model: the Hub id or folder post-trained (None: the tiny random demo model).
        languages: language codes of the training data.
        corpora: `corpus_entry` dicts, one per corpus.
        settings: (setting, value, where the value came from) rows, as run_pretrain.py prints them.
        repo: the Hub repository id (`--hub_model_id`), if any.
        trainer_state: the Trainer's state; its log history gives the results.
    """
    objective = OBJECTIVES[objective]
    base_model_is_local = base_model is not None and os.path.exists(base_model)
    languages = sorted(languages)
    card_data = ModelCardData(
        language=languages,
        license=license,
        library_name="transformers",
        base_model=base_model if base_model and not base_model_is_local else None,
        datasets=sorted({corpus["hub_dataset"] for corpus in corpora if corpus["hub_dataset"]}) or None,
        pipeline_tag="fill-mask",
        tags=["weam", objective.name, "cross-lingual", "multilingual", "parallel-data"],
    )
    if base_model is None:
        base_model_text = "A tiny randomly initialized BERT (the toolkit's embedded demo)"
    elif base_model_is_local:
        base_model_text = f"The local checkpoint `{public_name(base_model)}`"
    else:
        base_model_text = f"[`{base_model}`](https://huggingface.co/{base_model})"
    model_id = repo or "./" + os.path.basename(os.path.abspath(folder))
    corpus_rows = "\n".join(
        f"| {c['name']} | {c['source']} | {_number(c['trained'])} | {_number(c['held_out'])} | "
        f"{_number(c['skipped'])}{' (' + ', '.join(f'{n} {why}' for why, n in c['skipped_reasons'].items()) + ')' if c['skipped'] else ''} |"
        for c in corpora
    )
    training_results, evaluation = _results(trainer_state.log_history if trainer_state is not None else [])
    card = ModelCard(
        TEMPLATE.format(
            card_data=card_data.to_yaml(),
            title=repo or os.path.basename(os.path.abspath(folder)),
            base_model_text=base_model_text,
            objective=objective,
            languages=", ".join(languages),
            notes=f"\n{objective.notes}\n" if objective.notes else "",
            model_id=model_id,
            model_id_note="" if repo else "  # this folder; once pushed, its Hub id",
            corpus_rows=corpus_rows,
            settings_intro="Every setting of the run. *paper*: the objective paper's value, used because the "
            "run did not set it; *run*: set for this run; *toolkit*: the toolkit's default.",
            settings_rows="\n".join(f"| {name} | {value} | {origin} |" for name, value, origin in settings),
            training_results=training_results,
            evaluation=evaluation,
            limitations=_limitations(objective, base_model, corpora, languages),
        )
    )
    card.save(os.path.join(folder, "README.md"))
