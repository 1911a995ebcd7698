"""Ridge-initialised linear projection from the student's space into the teacher's.

The student (multilingual-e5-small) and the English teacher (all-MiniLM-L6-v2) have the same
dimension but unrelated embedding spaces: before training, a student translation retrieves
its English sentence among the teacher's dev embeddings at chance (FLORES dev accuracy@1
0.006), and 100 to 300 distillation steps at lr 2e-5 barely move it. A linear map fitted by
ridge regression on the training bitext closes most of that gap at once (0.95 on the same
dev set with 3000 pairs), so every arm starts from the same linear alignment and the losses
differ in what fine-tuning adds (config ``models.projection: ridge``; a choice of this
project, documented in the README).

Fit: ``W = argmin_W ||X W - Y||^2 + alpha ||W||^2 = (X^T X + alpha I)^-1 X^T Y``, where the
rows of ``X`` are the student's L2-normalised pooled embeddings of both sides of every
training pair (translation and English, with the training prefix) and the rows of ``Y`` the
teacher's cached pooled embedding of the English side, once per side. Mean pooling commutes
with a linear map, so ``W`` applied to token states before pooling (as ``otkd.train.Student``
does) gives the same pooled direction.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from .encode import Encoder
from .io import PipelineError, atomic_path, write_json
from .model_profile import PROJECTION_FILE, ModelProfile
from .models import write_checksums
from .train.data import SplitPaths, budget_rows, load_split

log = logging.getLogger(__name__)

META_FILE = "projection.json"


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """``W`` of shape ``(x.shape[1], y.shape[1])`` minimising ``||xW - y||^2 + alpha||W||^2``
    (float64 normal equations; ``alpha > 0`` keeps them well posed)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise PipelineError(f"ridge fit: shapes {x.shape} and {y.shape} do not pair up")
    if len(x) == 0:
        raise PipelineError("ridge fit: no training rows")
    if not alpha > 0:
        raise PipelineError(f"config key 'models.ridge_alpha' must be > 0, got {alpha}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise PipelineError("ridge fit: non-finite embeddings")
    gram = x.T @ x + alpha * np.eye(x.shape[1])
    return np.linalg.solve(gram, x.T @ y)


def retrieval_accuracy(queries: np.ndarray, targets: np.ndarray) -> float:
    """Share of rows whose own target scores at least as high as every other target."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = q @ np.asarray(targets).T
    return float(np.mean(np.diag(scores) >= scores.max(1)))


def run_fit_projection(
    student: dict,
    train_paths: SplitPaths,
    out_dir,
    *,
    pairs_per_language: int | None = None,
    max_pairs: int | None = None,
    alpha: float = 0.01,
    batch_size: int = 64,
    bf16: bool = False,
) -> dict:
    """Rule ``fit_projection``: fit ``W`` on the (first ``pairs_per_language`` per language)
    training pairs with the student init and write ``projection.safetensors`` (a
    ``torch.nn.Linear`` state, weight ``W^T``) and ``projection.json`` into ``out_dir``.

    ``max_pairs`` caps the pairs the fit reads (evenly spaced over the used rows, no
    randomness): the fit saturates after a few thousand pairs while its encoding cost grows
    with every pair."""
    data = load_split(train_paths)
    rows = budget_rows(data.langs, pairs_per_language)
    used = len(rows)
    if max_pairs is not None and len(rows) > int(max_pairs):
        rows = rows[np.unique(np.linspace(0, len(rows) - 1, int(max_pairs)).round().astype(int))]
    encoder = Encoder(ModelProfile.from_config(student), batch_size=batch_size, bf16=bf16)
    xx = encoder.encode_ids([data.student_xx.seq(i) for i in rows], desc="student xx")
    en = encoder.encode_ids([data.student_en.seq(i) for i in rows], desc="student en")
    teacher = data.cache.pooled(rows).numpy().astype(np.float64)  # load_split checked rows
    w = fit_ridge(np.vstack([xx, en]), np.vstack([teacher, teacher]), alpha)
    sample = rows[:: max(1, len(rows) // 2000)]  # a fixed subsample for the fit report
    pos = np.searchsorted(rows, sample)
    info = {
        "pairs": int(used),
        "fit_pairs": int(len(rows)),
        "alpha": float(alpha),
        "student": student["spec"],
        "teacher_cache": str(train_paths.teacher_cache),
        "train_accuracy_before": retrieval_accuracy(xx[pos], teacher[pos]),
        "train_accuracy_after": retrieval_accuracy(xx[pos] @ w, teacher[pos]),
    }
    log.info("ridge projection: %s", info)
    out_dir = Path(out_dir)
    with atomic_path(out_dir, is_dir=True) as tmp:
        weight = torch.from_numpy(np.ascontiguousarray(w.T, dtype=np.float32))
        save_file({"weight": weight}, str(tmp / PROJECTION_FILE))
        write_json(tmp / META_FILE, info)
        write_checksums(tmp)  # last: load_projection checks the map against it
    return info
