"""The model card (README.md) of a post-trained checkpoint, written with `huggingface_hub.ModelCard`."""

import json
import os

from huggingface_hub import ModelCard, ModelCardData

OBJECTIVE_TEXT = {
    "weam": "WEAM (Word-Exchange Aligning Model): masked tokens of a translation pair are predicted from their own "
    "hidden state and, through the word alignment, from the states of their aligned words in the other language "
    "(L = L_mp + λ·L_cp)",
    "tlm": "TLM (translation language modeling): masked language modeling on concatenated translation pairs",
    "mlm": "MLM (masked language modeling) on the single sentences of the parallel data",
    "ppa": "PPA (post-pretraining alignment): MoCo contrastive learning on [CLS] of translation pairs plus TLM",
    "align_mlm": "ALIGN-MLM: MLM plus a loss that raises the cosine similarity of the input embeddings of "
    "bilingual-dictionary word pairs",
}

TEMPLATE = """---
{card_data}
---

# {title}

`{base_model}` post-trained for cross-lingual alignment with the weam toolkit.

**Objective:** {objective_text}.

**Languages:** {languages}. **Data:** {data}.

## Use

```python
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{repo}", trust_remote_code=True)  # the config is remote code
encoder = AutoModel.from_pretrained("{repo}", trust_remote_code=True)
# or a fresh task head on the aligned encoder, to fine-tune as usual:
classifier = AutoModelForSequenceClassification.from_pretrained("{repo}", trust_remote_code=True, num_labels=3)
```

The remote code is a plain BERT encoder (`configuration_weam.py`, `modeling_weam.py`); without remote code,
export it with `python export_bert.py --model {repo} --output DIR` and load DIR with stock `transformers`.

## Training

| setting | value |
|---|---|
{hyperparameters}

## Results

{results}
"""


def write(folder, base_model, objective, languages, data, hyperparameters, license="apache-2.0", repo=None,
          trainer_state=None, data_report=None):
    """Writes `folder/README.md`. `hyperparameters`: a dict shown as a table; `trainer_state` gives the results."""
    repo = repo or os.path.basename(os.path.abspath(folder))
    card_data = ModelCardData(
        language=sorted(languages),
        license=license,
        library_name="transformers",
        base_model=base_model if base_model and not os.path.isdir(base_model) else None,
        tags=["cross-lingual", "word-alignment", objective, "weam"],
    )
    log = trainer_state.log_history if trainer_state is not None else []
    evaluations = [entry for entry in log if "eval_loss" in entry]
    training = [entry for entry in log if "loss" in entry]
    results = []
    if training:
        results.append(f"Last training log (step {training[-1].get('step')}): " + json.dumps(training[-1]))
    if evaluations:
        results.append(f"Held-out evaluation (step {evaluations[-1].get('step')}): " + json.dumps(evaluations[-1]))
    if data_report:
        results.append("Data: " + "; ".join(data_report))
    card = ModelCard(
        TEMPLATE.format(
            card_data=card_data.to_yaml(),
            title=repo,
            base_model=base_model or "a randomly initialized BERT",
            objective_text=OBJECTIVE_TEXT[objective],
            languages=", ".join(sorted(languages)),
            data=", ".join(data),
            repo=repo,
            hyperparameters="\n".join(f"| {key} | {value} |" for key, value in hyperparameters.items()),
            results="\n\n".join(results) or "No results logged yet.",
        )
    )
    card.save(os.path.join(folder, "README.md"))
