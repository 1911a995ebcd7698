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
from .gkl import DEFAULTS as GKL_DEFAULTS
from .gkl import GKLDistillation
from .kl import KLDistillation
from .mse import MSEDistillation
from .ot import OTDistillation, idf_table, sinkhorn_log
from .wkd import DEFAULTS as WKD_DEFAULTS
from .wkd import WKDDistillation

TOKEN_ARMS = ("ot", "ot_kl")  # arms whose loss reads token embeddings

__all__ = [
    "ARMS",
    "TOKEN_ARMS",
    "CombinedDistillation",
    "Features",
    "GKLDistillation",
    "KLDistillation",
    "MSEDistillation",
    "OTDistillation",
    "WKDDistillation",
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


def _section(cfg: dict, arm: str, defaults: dict) -> dict:
    """``cfg[arm]`` over the module's ``defaults``; unknown keys raise ValueError."""
    section = dict(cfg.get(arm) or {})
    unknown = sorted(set(section) - set(defaults))
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(unknown)} in config train.{arm} "
            f"(expected some of {', '.join(defaults)})"
        )
    return {**defaults, **section}


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
    of both, weighted by ``ot_kl.ot_weight`` and ``ot_kl.kl_weight``; ``wkd`` ->
    :class:`WKDDistillation` (``wkd.*``, defaults :data:`otkd.losses.wkd.DEFAULTS`); ``gkl``
    -> :class:`GKLDistillation` (``gkl.*``, defaults :data:`otkd.losses.gkl.DEFAULTS`). The
    IDF tables are needed only with ``ot.marginals: idf``. Keys missing from
    ``train_cfg`` take the config schema's defaults (:func:`otkd.config.train_defaults`).
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
    if arm == "wkd":
        return WKDDistillation(**_section(train_cfg, "wkd", WKD_DEFAULTS))
    if arm == "gkl":
        return GKLDistillation(**_section(train_cfg, "gkl", GKL_DEFAULTS))
    raise AssertionError(f"arm {arm!r} is in runs.ARMS but has no loss here")
