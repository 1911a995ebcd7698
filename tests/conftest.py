"""Shared fixtures: tiny random models and tiny data that the tests build themselves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = (
    "the a man woman dog cat is are eating food bread piece of house city river "
    "big small red blue green runs walks reads book books water tree hello world "
    "der die das ein eine mann frau hund katze isst brot haus stadt fluss gross "
    "klein rot blau liest buch wasser baum hallo welt el la un una perro gato come "
    "pan casa ciudad rio grande pequeno rojo azul lee libro agua arbol hola mundo "
    "query passage : . , ? !"
).split()


def make_tiny_bert(
    path: Path,
    *,
    hidden: int = 32,
    layers: int = 2,
    seed: int = 0,
    words: list[str] = WORDS,
    max_positions: int = 64,
) -> Path:
    """Save a random few-layer BERT with a word-level tokenizer to ``path`` (``max_positions``
    position embeddings, the tokenizer's ``model_max_length`` too)."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {tok: i for i, tok in enumerate(specials + sorted(set(words)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_positions,
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=hidden * 2,
        max_position_embeddings=max_positions,
    )
    model = BertModel(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """A random 2-layer BERT (d=32) with a word-level tokenizer, saved once per session."""
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert") / "model")


@pytest.fixture(scope="session")
def tiny_bert_dir_b(tmp_path_factory) -> Path:
    """A second, differently seeded tiny BERT (e.g. a student distinct from the teacher)."""
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert_b") / "model", seed=1)


@pytest.fixture
def one_thread():
    """Tiny models run fastest on one thread (and do not fight other jobs for 2 cores); use
    with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_collection_modifyitems(config, items):
    """The full-DAG fixture's tests first, then the other slow tests (Snakemake runs), then
    the rest, each in collected order: under ``make test``'s ``-n 2 --dist loadfile
    --no-loadscope-reorder`` the longest module starts at once and the others fill the
    second worker, instead of it starting last."""

    def rank(item) -> int:
        if "finished_run" in getattr(item, "fixturenames", ()):
            return 0
        return 1 if item.get_closest_marker("slow") is not None else 2

    items.sort(key=rank)
