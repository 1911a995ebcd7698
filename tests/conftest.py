"""Shared fixtures: tiny random models and tiny data that the tests build themselves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from make_tiny_models import make_tiny_bert  # noqa: E402


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
