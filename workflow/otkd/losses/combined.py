"""Weighted sums of distillation losses (the ``ot_kl`` arm)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

from .base import Features


class CombinedDistillation(nn.Module):
    r"""A weighted sum of distillation losses sharing the same inputs.

    .. math:: L = \sum_k w_k L_k(\text{student}, \text{teacher})

    e.g. ``CombinedDistillation({OTDistillation(0.05): 1.0, KLDistillation(0.05): 1.0})``
    for the ``ot_kl`` arm (the research brief's optional arm 6: a weighted sum of the KL
    and OT losses). Terms with weight 0 are skipped entirely (not computed).

    Args:
        terms: ``{loss: weight}`` or an iterable of ``(loss, weight)`` pairs, weights >= 0.
    """

    def __init__(
        self, terms: Mapping[nn.Module, float] | Iterable[tuple[nn.Module, float]]
    ) -> None:
        super().__init__()
        pairs = list(terms.items()) if isinstance(terms, Mapping) else list(terms)
        if not pairs:
            raise ValueError("CombinedDistillation needs at least one term")
        for _, weight in pairs:
            if weight < 0:
                raise ValueError(f"CombinedDistillation weights must be >= 0, got {weight}")
        self.losses = nn.ModuleList([loss for loss, _ in pairs])
        self.weights = [float(w) for _, w in pairs]
        self.uses_tokens = any(getattr(loss, "uses_tokens", True) and w for loss, w in pairs)

    def forward(self, student: Features, teacher: Features) -> torch.Tensor:
        """The weighted sum of the terms' scalar losses."""
        total = student.pooled.new_zeros(())
        for loss, weight in zip(self.losses, self.weights, strict=True):
            if weight:
                total = total + weight * loss(student, teacher)
        return total

    def extra_repr(self) -> str:
        return f"weights={self.weights}"
