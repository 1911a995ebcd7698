"""Distillation losses with one interface: ``loss(student: Features, teacher: Features)``.

The training loop never branches on the arm: :func:`build_loss` turns an arm name and the
``train`` config section into one ``nn.Module``.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Features
from .combined import CombinedDistillation
from .kl import KLDistillation
from .mse import MSEDistillation
from .ot import OTDistillation, idf_table, sinkhorn_log

ARMS = ("mse", "kl", "ot", "ot_kl")
TOKEN_ARMS = ("ot", "ot_kl")  # arms whose loss reads token embeddings

__all__ = [
    "ARMS",
    "TOKEN_ARMS",
    "CombinedDistillation",
    "Features",
    "KLDistillation",
    "MSEDistillation",
    "OTDistillation",
    "build_loss",
    "idf_table",
    "sinkhorn_log",
]


def _ot(cfg: dict, student_idf, teacher_idf) -> OTDistillation:
    ot = cfg.get("ot", {})
    return OTDistillation(
        eps=ot.get("eps", 0.05),
        n_iter=ot.get("n_iter", 50),
        tol=ot.get("tol", 1e-6),
        marginals=ot.get("marginals", "uniform"),
        plan_gradient=ot.get("plan_gradient", "envelope"),
        student_idf=student_idf,
        teacher_idf=teacher_idf,
    )


def _kl(cfg: dict) -> KLDistillation:
    return KLDistillation(cfg.get("kl", {}).get("temperature", 0.05))


def build_loss(
    arm: str,
    train_cfg: dict,
    *,
    student_idf: torch.Tensor | None = None,
    teacher_idf: torch.Tensor | None = None,
) -> nn.Module:
    """The loss module of ``arm`` configured from ``train_cfg`` (the config's ``train`` section).

    ``mse`` -> :class:`MSEDistillation`; ``kl`` -> :class:`KLDistillation` (``kl.temperature``);
    ``ot`` -> :class:`OTDistillation` (``ot.*``); ``ot_kl`` -> :class:`CombinedDistillation`
    of both, weighted by ``ot_kl.ot_weight`` and ``ot_kl.kl_weight``. The IDF tables are
    needed only with ``ot.marginals: idf``.
    """
    if arm == "mse":
        return MSEDistillation()
    if arm == "kl":
        return _kl(train_cfg)
    if arm == "ot":
        return _ot(train_cfg, student_idf, teacher_idf)
    if arm == "ot_kl":
        weights = train_cfg.get("ot_kl", {})
        return CombinedDistillation(
            [
                (_ot(train_cfg, student_idf, teacher_idf), weights.get("ot_weight", 1.0)),
                (_kl(train_cfg), weights.get("kl_weight", 1.0)),
            ]
        )
    raise ValueError(f"unknown arm {arm!r} (expected one of {', '.join(ARMS)})")
