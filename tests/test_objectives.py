"""weam/objectives: the registry is complete and each declaration is consistent with the code that reads it;
the paper defaults are the papers' numbers."""

import dataclasses
import inspect
import pkgutil

import pytest
from transformers import PreTrainedModel

import modeling_weam
import run_pretrain
import weam.objectives
from configuration_weam import WeamConfig
from data_collator import DataCollatorForWeam
from weam.objectives import OBJECTIVES, TRAINING_SETTINGS, Objective

ARGUMENTS = {f.name for dataclass in (run_pretrain.ModelArguments, run_pretrain.DataArguments,
                                      run_pretrain.AlignmentArguments, run_pretrain.PretrainingArguments)
             for f in dataclasses.fields(dataclass)}


def test_every_objective_module_is_registered_once_under_its_name():
    modules = {info.name for info in pkgutil.iter_modules(weam.objectives.__path__)} - {"objective"}
    assert modules == set(OBJECTIVES)
    for name, objective in OBJECTIVES.items():
        assert isinstance(objective, Objective) and objective.name == name
        declared = [value for value in vars(getattr(weam.objectives, name)).values() if isinstance(value, Objective)]
        assert declared == [objective], f"weam/objectives/{name}.py must declare exactly its own objective"


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_declaration_matches_the_code_that_reads_it(name):
    objective = OBJECTIVES[name]
    model_class = getattr(modeling_weam, objective.model_class)
    assert issubclass(model_class, PreTrainedModel)
    assert objective.examples in ("pairs", "sentences")
    assert set(objective.defaults) == set(TRAINING_SETTINGS)
    assert set(objective.defaults) | set(objective.options) <= ARGUMENTS  # each is a run_pretrain argument
    assert set(objective.config) <= set(WeamConfig.__annotations__)  # the settings WeamConfig adds to BERT
    assert set(objective.collator) <= {f.name for f in dataclasses.fields(DataCollatorForWeam)}
    assert 0 < objective.defaults["mlm_probability"] < 1
    # a paper's text and a BibTeX entry that names it
    paper = objective.paper
    assert all([paper.title, paper.authors, paper.venue, paper.url.startswith("https://")]) and 1990 < paper.year < 2100
    assert paper.bibtex.startswith("@") and paper.bibtex.count("{") == paper.bibtex.count("}")
    assert str(paper.year) in paper.bibtex and paper.title.split(":")[0].split()[-1] in paper.bibtex
    # the model's own forward signature takes what the collator produces for it
    forward = inspect.signature(model_class.forward).parameters
    if objective.collator.get("sentence_views"):
        assert {"query_input_ids", "key_input_ids"} <= set(forward)
    if objective.needs_alignment:
        assert "alignment_pairs" in forward and objective.examples == "pairs"


def test_only_weam_has_a_cross_lingual_head():
    for name, objective in OBJECTIVES.items():
        assert ("cross_lingual_weight" in objective.options) == (name == "weam")
        assert objective.config.get("cross_lingual_weight", objective.options.get("cross_lingual_weight")) == (
            1.0 if name == "weam" else 0.0)


def test_paper_defaults():
    ppa = OBJECTIVES["ppa"]  # PPA paper, Sections 3.1 and 3.3
    assert ppa.defaults == dict(learning_rate=3e-5, per_device_train_batch_size=128, num_train_epochs=10.0,
                                warmup_steps=0.1, weight_decay=0.01, mlm_probability=0.15, align_loss_weight=0.0)
    assert ppa.pair_length_limits == (10, 128)
    assert ppa.collator == {"swap_probability": 0.5, "sentence_views": True}
    weam = OBJECTIVES["weam"]  # WEAM paper, Section 4.1
    assert (weam.defaults["learning_rate"], weam.defaults["per_device_train_batch_size"],
            weam.defaults["num_train_epochs"], weam.defaults["mlm_probability"]) == (5e-5, 32, 2.0, 0.3)
    assert weam.options == {"cross_lingual_weight": 1.0, "unaligned_tokens": "ignore"}
    assert OBJECTIVES["tlm"].defaults["mlm_probability"] == 0.15  # XLM's
    assert OBJECTIVES["align_mlm"].defaults["align_loss_weight"] == 10.0  # α
    assert [name for name, o in OBJECTIVES.items() if o.uses_dictionary_loss] == ["align_mlm"]
    assert [name for name, o in OBJECTIVES.items() if o.examples == "sentences"] == ["mlm", "align_mlm"]
    assert [name for name, o in OBJECTIVES.items() if o.trains_an_aligner] == ["awesome_align"]
