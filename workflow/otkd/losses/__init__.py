"""Distillation losses with one interface: ``loss(student: Features, teacher: Features)``.

The training loop never branches on the arm: :func:`build_loss` turns an arm name and the
``train`` config section into one ``nn.Module``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import train_defaults
from ..runs import ARMS
from .base import Features
from .combined import CombinedDistillation
from .kl import KLDistillation
from .mse import MSEDistillation
from .ot import OTDistillation, idf_table, sinkhorn_log

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
    ot = cfg["ot"]
    return OTDistillation(
        eps=ot["eps"],
        n_iter=ot["n_iter"],
        tol=ot["tol"],
        marginals=ot["marginals"],
        plan_gradient=ot["plan_gradient"],
        student_idf=student_idf,
        teacher_idf=teacher_idf,
    )


def _kl(cfg: dict) -> KLDistillation:
    return KLDistillation(cfg["kl"]["temperature"])


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
    needed only with ``ot.marginals: idf``. Keys missing from ``train_cfg`` take the config
    schema's defaults (:func:`otkd.config.train_defaults`).
    """
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r} (expected one of {', '.join(ARMS)})")
    train_cfg = train_defaults(train_cfg)
    if arm == "mse":
        return MSEDistillation()
    if arm == "kl":
        return _kl(train_cfg)
    if arm == "ot":
        return _ot(train_cfg, student_idf, teacher_idf)
    if arm == "ot_kl":
        weights = train_cfg["ot_kl"]
        return CombinedDistillation(
            [
                (_ot(train_cfg, student_idf, teacher_idf), weights["ot_weight"]),
                (_kl(train_cfg), weights["kl_weight"]),
            ]
        )
    raise AssertionError(f"arm {arm!r} is in runs.ARMS but has no loss here")
