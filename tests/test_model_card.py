"""weam/model_card.py: the card's metadata parses back, shows no local path, cites the objective's paper and
turns the run's settings and evaluation into tables."""

import os
from collections import Counter
from types import SimpleNamespace

import pytest
from huggingface_hub import ModelCard

from weam import model_card
from weam.corpora import CorpusReport
from weam.objectives import OBJECTIVES

LOG = [
    {"loss": 9.5, "mlm_loss": 9.5, "step": 2, "epoch": 0.5},
    {"eval_loss": 9.0, "eval_mlm_loss": 8.0, "eval_mlm_accuracy": 0.125, "eval_runtime": 1.2,
     "eval_samples_per_second": 10.0, "step": 2, "epoch": 0.5},
    {"loss": 8.25, "mlm_loss": 8.25, "step": 4, "epoch": 1.0},
    {"eval_loss": 7.5, "eval_mlm_loss": 7.0, "eval_mlm_accuracy": 0.25, "eval_dict_p@1": 0.5, "step": 4, "epoch": 1.0},
    {"eval_loss": 7.5, "eval_mlm_loss": 7.0, "eval_mlm_accuracy": 0.25, "eval_dict_p@1": 0.5, "step": 4, "epoch": 1.0},
    {"train_runtime": 3.0, "train_loss": 8.875, "total_flos": 1.0, "step": 4, "epoch": 1.0},
]
SETTINGS = [("objective", "weam", "run"), ("learning rate", "5e-05", "paper (WEAM)"), ("seed", "42", "toolkit")]


def report(name, read, used, **skipped):
    return CorpusReport(name, read=read, used=used, skipped=Counter(skipped))


def write_card(tmp_path, objective="weam", base_model="bert-base-multilingual-cased", repo=None, log=LOG):
    local = tmp_path / "data"
    local.mkdir(exist_ok=True)
    corpora = [
        model_card.corpus_entry(f"en-de={local}/europarl.en,{local}/europarl.de", report("en-de", 1010, 1000, **{
            "empty target side": 10}), held_out=100),
        model_card.corpus_entry("en-fi=Helsinki-NLP/opus-100:en-fi@train[:5000]", report("en-fi", 5000, 5000), 100),
    ]
    folder = tmp_path / "out" / "mbert-weam"
    folder.mkdir(parents=True, exist_ok=True)
    model_card.write(str(folder), objective=objective, base_model=base_model, languages=["fi", "en", "de"],
                     corpora=corpora, settings=SETTINGS, repo=repo, trainer_state=SimpleNamespace(log_history=log))
    return ModelCard.load(folder / "README.md"), (folder / "README.md").read_text()


def test_metadata_parses_back(tmp_path):
    card, _ = write_card(tmp_path, objective="ppa")
    data = card.data.to_dict()
    assert data["language"] == ["de", "en", "fi"]
    assert data["base_model"] == "bert-base-multilingual-cased"
    assert data["datasets"] == ["Helsinki-NLP/opus-100"]  # Hub ids only, not local files
    assert data["pipeline_tag"] == "fill-mask" and data["license"] == "apache-2.0"
    assert {"weam", "ppa"} <= set(data["tags"])


def test_no_local_path_and_no_folder_name_as_a_repo_id(tmp_path):
    local_model = tmp_path / "checkpoints" / "my-mbert"
    local_model.mkdir(parents=True)
    card, text = write_card(tmp_path, base_model=str(local_model))
    assert str(tmp_path) not in text and "/data/europarl" not in text
    assert "europarl.en, europarl.de" in text and "`my-mbert`" in text
    assert "base_model" not in card.data.to_dict()  # a local folder is no Hub model
    assert 'model_id = "./mbert-weam"' in text and 'from_pretrained("mbert-weam"' not in text
    _, pushed = write_card(tmp_path, repo="org/mbert-weam-en-de")
    assert 'model_id = "org/mbert-weam-en-de"' in pushed and "# org/mbert-weam-en-de" in pushed


@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_cites_the_objective_paper(tmp_path, objective):
    _, text = write_card(tmp_path, objective=objective)
    paper = OBJECTIVES[objective].paper
    citation = text.split("## Citation")[1]
    assert paper.bibtex in citation and paper.url in text and paper.title in text
    assert all(other.paper.bibtex not in citation for name, other in OBJECTIVES.items()
               if other.paper.title != paper.title)


def test_tables_hold_the_run(tmp_path):
    _, text = write_card(tmp_path)
    # data: trained = used - held out; skipped with the reason
    assert "| en-de | europarl.en, europarl.de | 900 | 100 | 10 (10 empty target side) |" in text
    assert "| en-fi | Helsinki-NLP/opus-100:en-fi@train[:5000] | 4,900 | 100 | 0 |" in text
    assert "| learning rate | 5e-05 | paper (WEAM) |" in text
    # one row per evaluated step (the repeated final evaluation once), with the training loss before it
    assert "| 2 | 0.5 | 9.5 | 9 |\n| 4 | 1 | 8.25 | 7.5 |\n\n" in text
    evaluation = text.split("## Evaluation")[1].split("## Limitations")[0]
    assert "| mlm_accuracy | 0.25 |" in evaluation and "| dict_p@1 | 0.5 |" in evaluation
    assert "runtime" not in evaluation and "{" not in evaluation  # a table, not raw JSON
    assert "4 optimizer steps, 1 epochs, mean training loss 8.875." in text
    assert "Aligned on 5,800 translation pairs of de, en, fi" in text


def test_a_run_without_evaluation_says_so(tmp_path):
    _, text = write_card(tmp_path, log=[LOG[0], LOG[-1]], base_model=None)
    assert "No held-out evaluation in this run" in text and "Last logged training loss: 9.5 (step 2)." in text
    assert "**A demonstration model**" in text


def test_corpus_entry_of_a_stream_has_no_counts():
    entry = model_card.corpus_entry("en-de=Helsinki-NLP/europarl:de-en")
    assert entry["hub_dataset"] == "Helsinki-NLP/europarl" and entry["trained"] is None
    assert model_card.corpus_entry(f"en-de={os.getcwd()}")["hub_dataset"] is None  # a saved dataset folder


def test_an_aligners_encoder_is_carded_for_alignment(tmp_path):
    _, text = write_card(tmp_path, objective="awesome_align")
    uses = text.split("## Intended uses")[1].split("## How to use")[0]
    assert "align_words.py --aligner neural+eflomal --model MODEL --layer LAYER" in uses
    assert "zero-shot" not in text.split("## Training data")[0]  # not sold for transfer
    _, transfer = write_card(tmp_path, objective="weam")
    assert "to align its languages for zero-shot cross-lingual transfer" in transfer
