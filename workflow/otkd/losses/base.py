"""What every distillation loss consumes: the :class:`Features` of one side of a batch."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Features:
    """Embeddings of one side of a batch of B sentences.

    Attributes:
        pooled: ``(B, d)`` sentence embeddings, L2-normalised.
        tokens: ``(B, n, d)`` content-token embeddings, rows L2-normalised (padding rows are
            ignored whatever they hold); None for losses that need only ``pooled``.
        mask: ``(B, n)`` bool, True for real content tokens (no padding, special or prefix
            tokens).
        token_ids: ``(B, n)`` vocabulary ids of those tokens (IDF-weighted OT marginals).
    """

    pooled: torch.Tensor
    tokens: torch.Tensor | None = None
    mask: torch.Tensor | None = None
    token_ids: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.pooled.shape[0]
