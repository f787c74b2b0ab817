import os
import socket
from pathlib import Path

import pytest

# Tests never reach the Hub: everything they load is built here or shipped in the repo.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

@pytest.fixture
def free_port():
    """A TCP port nothing listens on now, for a launch's rendezvous (a fixed one may be taken by another run on
    the machine)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


MBERT_TOKENIZER = Path(__file__).resolve().parents[1] / "data" / "sample" / "mbert-tokenizer"


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A folder any script loads as a model: a tiny random BERT (2 layers, 512 positions, as mBERT) with the shipped mBERT
    tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(MBERT_TOKENIZER)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
