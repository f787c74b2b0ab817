"""run_alignment_eval.py: its scores on constructed cases with known answers, the plot, the Trainer callback,
and the script end to end on tiny random models (the shipped data always; ../shared slices when present)."""

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel

import run_alignment_eval
from run_alignment_eval import Tasks, evaluate_model
from weam.diagnostics import (
    AlignmentEvalCallback,
    dictionary_precision,
    plot_word_pairs,
    precision_at_k,
    read_gold_alignments,
    tatoeba_accuracy,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"
needs_shared = pytest.mark.skipif(
    not (SHARED / "tokenizers" / "bert-base-multilingual-cased").is_dir() or not SHARED_DATA.is_dir(),
    reason="../shared (mBERT tokenizer, MUSE dictionaries, Tatoeba, gold alignments) is not present",
)
TINY = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=128
)


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(SAMPLE / "mbert-tokenizer")


def unit(degrees):
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees)), 0.0]


class VectorEncoder(torch.nn.Module):
    """A stand-in encoder: every subword of a word gets the word's vector, at every layer and as its input
    embedding; special tokens and padding get a large vector along a third axis, which would swamp any
    vector they were wrongly averaged into."""

    def __init__(self, tokenizer, vectors):
        super().__init__()
        table = torch.zeros(len(tokenizer), 3)
        table[tokenizer.all_special_ids] = torch.tensor([0.0, 0.0, 100.0])
        for word, vector in vectors.items():
            table[tokenizer(word, add_special_tokens=False)["input_ids"]] = torch.tensor(vector)
        self.embeddings = torch.nn.Embedding.from_pretrained(table)
        self.config = SimpleNamespace(num_hidden_layers=2, max_position_embeddings=512)
        self.device = torch.device("cpu")

    def get_input_embeddings(self):
        return self.embeddings

    def forward(self, input_ids, output_hidden_states=False, **kwargs):
        states = self.embeddings(input_ids)
        return SimpleNamespace(hidden_states=(states, states, states))


# ----------------------------------------------------------------------------- scores with known answers


def test_precision_at_k():
    candidates = torch.tensor([unit(degrees) for degrees in (0, 10, 20, 30, 40, 50)])
    candidates *= torch.arange(1.0, 7.0)[:, None]  # cosine ignores the norms
    queries = torch.tensor([unit(0), unit(50), unit(24), unit(0), unit(0)])
    # nearest to 24°: 20, 30, 10, 40, 0, 50 -> the gold 0° is 5th; nearest to 0°: 0, 10, ..., 50 -> 50° is 6th
    gold = [{2}, {5}, {0}, {5}, {3, 0}]
    assert precision_at_k(queries, candidates, gold, ks=(1, 5)) == {1: 2 / 5, 5: 4 / 5}
    assert precision_at_k(queries, candidates, gold, ks=(1, 5), chunk_size=2) == {1: 2 / 5, 5: 4 / 5}


def test_dictionary_precision_from_embeddings_and_from_a_layer(tokenizer):
    # Katze (Katz ##e) and Wasserkocher (Wasser ##ko ##cher) are several subwords
    vectors = {  # angles of the targets: Hund 2, Katze 35, Haus 45, Wasserkocher 68, Baum 115, Mond 180
        "Hund": unit(2), "Haus": unit(45), "Katze": unit(35), "Wasserkocher": unit(68), "Baum": unit(115),
        "Mond": unit(180), "dog": unit(0), "house": unit(30), "cat": unit(240), "water": unit(70), "tree": unit(90),
        "moon": unit(300),
    }
    pairs = [("dog", "Hund"), ("house", "Haus"), ("cat", "Katze"), ("water", "Wasserkocher"), ("tree", "Baum"),
             ("moon", "Mond")]
    scores = dictionary_precision(tokenizer, VectorEncoder(tokenizer, vectors), pairs, layer=2, ks=(1, 2))
    # nearest targets: dog: Hund ✓; house: Katze, Haus (@2); cat: Mond, Hund ✗; water: Wasserkocher ✓;
    # tree: Wasserkocher, Baum (@2); moon: Hund, Katze ✗
    expected = {"p@1": 2 / 6, "p@2": 4 / 6}
    for where in ("input", "layer2"):  # the layer path also checks that [CLS]/[SEP] are left out of the mean
        found = {key.split("/")[1]: value for key, value in scores.items() if key.startswith(where)}
        assert found == pytest.approx(expected)


def test_tatoeba_retrieval_both_ways(tokenizer):
    # one sentence a word, except one sentence of three words (padding in the batch must not count)
    vectors = {"Hund": unit(0), "Katze": unit(20), "Baum": unit(90), "dog": unit(15), "cat": unit(60), "tree": unit(85)}
    pairs = [("Hund", "dog"), ("Katze Katze Katze", "cat"), ("Baum", "tree")]
    scores = tatoeba_accuracy(tokenizer, VectorEncoder(tokenizer, vectors), pairs, layer=1, batch_size=8)
    # Hund->dog ✓, Katze->dog ✗, Baum->tree ✓; dog->Katze ✗, cat->Baum ✗, tree->Baum ✓
    assert scores == pytest.approx({"xx->en": 2 / 3, "en->xx": 1 / 3})


@pytest.mark.parametrize("method", ["argmax", "itermax"])
def test_alignment_error_rate_of_the_model_as_aligner(tokenizer, tmp_path, method):
    (tmp_path / "test.de-en").write_text("das Haus ist klein ||| the house is small\ner sieht mich ||| he sees me\n")
    # 1-based TALP: pair 1 leaves ist-is as a possible link; pair 2 has no link for mich-me, a possible sieht-me
    (tmp_path / "deen.talp").write_text("1-1 2-2 3p3 4-4\n1-1 2-2 2p3\n")
    words = ["das the", "Haus house", "ist is", "klein small", "er he", "sieht sees", "mich me"]
    vectors = {}
    for number, pair in enumerate(words):  # a word and its translation share a direction
        for word in pair.split():
            vectors[word] = unit(number * 25)
    source, target, gold = read_gold_alignments(f"{tmp_path}/test.de-en:{tmp_path}/deen.talp")
    tasks = Tasks(alignments={"toy": (source, target, gold)})
    args = SimpleNamespace(layer=1, sentence_layer=1, alignment_method=method, batch_size=8)
    scores = evaluate_model(tokenizer, VectorEncoder(tokenizer, vectors), tasks, args)
    # predicted: the 4 + 3 diagonal links. |A|=7, |S|=5, |A∩S|=5, |A∩P|=6 -> AER = 1 - 11/12
    assert scores == pytest.approx({"alignment/toy/precision": 6 / 7, "alignment/toy/recall": 1.0,
                                    "alignment/toy/aer": 1 / 12})


@pytest.mark.parametrize("projection", ["tsne", "pca"])
def test_plot_is_a_png_with_a_panel_per_model(tmp_path, projection):
    from matplotlib.image import imread

    generator = torch.Generator().manual_seed(0)
    pairs = [(f"word{k}", f"Wort{k}") for k in range(12)]
    panels = [(title, torch.randn(12, 8, generator=generator), torch.randn(12, 8, generator=generator))
              for title in ("before", "after")]
    path = tmp_path / "plot.png"
    plot_word_pairs(panels, pairs, path, projection, languages=("en", "de"))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    height, width, _ = imread(path).shape
    assert width > 1.8 * height  # two panels side by side


# ----------------------------------------------------------------------------- during training


def test_callback_adds_its_figures_to_the_evaluation(tokenizer, tmp_path):
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    from configuration_weam import WeamConfig
    from modeling_weam import WeamForPreTraining

    model = WeamForPreTraining(WeamConfig(vocab_size=len(tokenizer), cross_lingual_weight=0.0, **TINY))
    dictionary = [("dog", "Hund"), ("house", "Haus"), ("tree", "Baum"), ("water", "Wasser"), ("cat", "Katze")]
    sentences = [("Der Hund schläft.", "The dog sleeps."), ("Das Haus ist klein.", "The house is small."),
                 ("Wasser ist nass.", "Water is wet.")]
    callback = AlignmentEvalCallback(tokenizer, dictionary, sentences, layer=2, max_items=4)
    assert len({source for source, _ in callback.dictionary_pairs}) == 4 and len(callback.tatoeba_pairs) == 3

    texts = [text for pair in sentences for text in pair]
    trainer = Trainer(
        model=model,
        args=TrainingArguments(output_dir=str(tmp_path), report_to="none", per_device_eval_batch_size=8,
                               prediction_loss_only=True, dataloader_pin_memory=False),
        eval_dataset=[tokenizer(text) for text in texts],
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.5),
        callbacks=[callback],
    )
    metrics = trainer.evaluate()
    figures = {"eval_dict_p@1", "eval_dict_p@5", "eval_dict_input_p@1", "eval_tatoeba_acc"}
    assert figures <= set(metrics) and all(0 <= metrics[key] <= 1 for key in figures)
    assert figures <= set(trainer.state.log_history[-1])  # the evaluation's entry of trainer_state.json
    assert metrics["eval_dict_p@1"] <= metrics["eval_dict_p@5"]
    model.train()
    callback.compute(model)
    assert model.training  # compute() puts the model back in the mode it found
    with pytest.raises(ValueError, match="layer 5, but the model has layers 0-2"):  # before training starts
        AlignmentEvalCallback(tokenizer, dictionary, layer=5).on_train_begin(trainer.args, trainer.state, None, model)


# ----------------------------------------------------------------------------- the script


def tiny_models(folder, tokenizer):
    """A tiny random BERT and a tiny random WEAM checkpoint (as run_pretrain saves it), each with the tokenizer."""
    from configuration_weam import WeamConfig
    from modeling_weam import WeamForPreTraining

    folders = []
    for name, model in (("bert", BertModel(BertConfig(vocab_size=len(tokenizer), **TINY))),
                        ("weam", WeamForPreTraining(WeamConfig(vocab_size=len(tokenizer), **TINY)))):
        model.save_pretrained(folder / name)
        tokenizer.save_pretrained(folder / name)
        folders.append(str(folder / name))
    return folders


def check_report(output_dir, models, metrics):
    report = json.loads((output_dir / "alignment_eval.json").read_text())
    assert report["models"] == {"compare_model": models[1], "model": models[0]}
    assert report["unit"] == "percent" and set(report["metrics"]) == set(metrics)
    for row in report["metrics"].values():
        assert set(row) == {"model", "compare_model", "difference"}
        assert row["difference"] == pytest.approx(row["model"] - row["compare_model"])
        assert 0 <= row["model"] <= 100 and 0 <= row["compare_model"] <= 100
    markdown = (output_dir / "alignment_eval.md").read_text()
    assert f"| metric | `{models[1]}` | `{models[0]}` | Δ |" in markdown
    table = [line for line in markdown.splitlines() if line.startswith("| ") and not line.startswith("| metric")]
    assert [line.split(" | ")[0][2:] for line in table] == list(report["metrics"])
    png = output_dir / "alignment_plot.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    return report


def test_script_on_the_shipped_sample(tokenizer, tmp_path):
    """Never skipped: the shipped tokenizer, a dictionary and gold links written here, TICO-19 as Tatoeba."""
    models = tiny_models(tmp_path, tokenizer)
    words = "the die dog Hund house Haus tree Baum water Wasser cat Katze small klein big groß red rot blue blau " \
            "green grün day Tag night Nacht sun Sonne moon Mond city Stadt book Buch".split()
    (tmp_path / "en-de.dict").write_text("".join(f"{t} @ {s}\n" for s, t in zip(words[::2], words[1::2])))
    tatoeba = tmp_path / "tatoeba"
    tatoeba.mkdir()
    english = (SAMPLE / "tico19.en-es.en").read_text().splitlines()[:12]
    spanish = (SAMPLE / "tico19.en-es.es").read_text().splitlines()[:12]
    (tatoeba / "tatoeba.spa-eng.eng").write_text("\n".join(english) + "\n")
    (tatoeba / "tatoeba.spa-eng.spa").write_text("\n".join(spanish) + "\n")
    (tmp_path / "test.de-en").write_text("das Haus ist klein ||| the house is small\ner sieht mich ||| he sees me\n")
    (tmp_path / "deen.talp").write_text("1-1 2-2 3p3 4-4\n1-1 2-2 3-3\n")
    output = tmp_path / "out"
    run_alignment_eval.main([
        "--model", models[0], "--compare_model", models[1], "--output_dir", str(output),
        "--dictionary", str(tmp_path / "en-de.dict"), "--dictionary_test_size", "0.5",
        "--tatoeba_dir", str(tatoeba), "--tatoeba_languages", "es",
        "--gold_alignments", f"{tmp_path}/test.de-en:{tmp_path}/deen.talp",
        "--layer", "2", "--sentence_layer", "1", "--plot", "--plot_pairs", "4", "--plot_projection", "pca",
    ])  # fmt: skip
    metrics = [f"dictionary/en-de/{where}/p@{k}" for where in ("input", "layer2") for k in (1, 5)]
    metrics += ["tatoeba/es/xx->en", "tatoeba/es/en->xx", "tatoeba/avg"]
    metrics += [f"alignment/test.de-en/{name}" for name in ("precision", "recall", "aer")]
    report = check_report(output, models, metrics)
    assert report["sizes"]["tatoeba/es"] == {"pairs": 12} and report["sizes"]["alignment/test.de-en"] == {"pairs": 2}


def test_script_errors_name_the_problem(tmp_path, capsys):
    (tmp_path / "en-de.dict").write_text("die @ the\nHund dog\n")
    for argv, message in [
        (["--dictionary", str(tmp_path / "en-de.dict")], r"en-de\.dict, line 2: expected `target @ source`"),
        (["--tatoeba_dir", str(tmp_path)], r"tatoeba\.deu-eng\.deu does not exist; the languages in .* are: none"),
        (["--plot"], "--plot draws held-out dictionary pairs: give a --dictionary"),
        ([], "nothing to evaluate"),
        (["--tatoeba_dir", str(tmp_path), "--compare_model", str(tmp_path / "missing")],
         "--compare_model .*missing: no such folder"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            run_alignment_eval.main(["--model", "unused", "--output_dir", str(tmp_path / "out"), *argv])
        assert exit_info.value.code == 2
        last_line = capsys.readouterr().err.splitlines()[-1]
        assert "error: " in last_line and re.search(message, last_line)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@needs_shared
def test_script_end_to_end_on_shared_slices(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(SHARED / "tokenizers" / "bert-base-multilingual-cased")
    models = tiny_models(tmp_path, tokenizer)
    dictionaries = SHARED_DATA / "dictionaries"
    gold = SHARED_DATA / "alignment-gold"
    output = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(REPO / "run_alignment_eval.py"), "--model", models[0], "--compare_model", models[1],
         "--output_dir", str(output),
         "--dictionary", f"{dictionaries}/en-de.dict", f"{dictionaries}/en-zh.dict", "--max_dictionary_pairs", "40",
         "--tatoeba_dir", str(SHARED_DATA / "parallel" / "tatoeba-retrieval"), "--tatoeba_languages", "de", "zh",
         "--max_tatoeba_pairs", "30",
         "--gold_alignments", f"{gold}/test.de-en:{gold}/deen.talp", "--max_alignment_pairs", "20",
         "--layer", "2", "--sentence_layer", "2", "--plot", "--plot_pairs", "8"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = [f"dictionary/{pair}/{where}/p@{k}" for pair in ("en-de", "en-zh") for where in ("input", "layer2")
               for k in (1, 5)]
    metrics += [f"tatoeba/{language}/{way}" for language in ("de", "zh") for way in ("xx->en", "en->xx")]
    metrics += ["tatoeba/avg"] + [f"alignment/test.de-en/{name}" for name in ("precision", "recall", "aer")]
    report = check_report(output, models, metrics)
    assert report["sizes"]["alignment/test.de-en"] == {"pairs": 20}
    assert all(size["pairs"] <= 40 for task, size in report["sizes"].items() if task.startswith("dictionary/"))
    assert "| dictionary/en-de/input/p@1 |" in result.stdout  # the table is printed too
