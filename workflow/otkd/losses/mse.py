"""Sentence-embedding MSE distillation (Reimers and Gurevych 2020)."""

from __future__ import annotations

import torch
from torch import nn

from .base import Features


class MSEDistillation(nn.Module):
    r"""Mean squared distance between student and teacher sentence embeddings.

    .. math::
        L = \frac{1}{B} \sum_{i=1}^{B} \lVert v_i - u_i \rVert_2^2

    with ``v_i`` the student's pooled embedding of sentence i (the translation f_i, or the
    English e_i for the English term) and ``u_i`` the teacher's pooled embedding of the
    English e_i, both L2-normalised. This is the loss of "Making Monolingual Sentence
    Embeddings Multilingual using Knowledge Distillation" (Reimers and Gurevych, EMNLP 2020,
    arXiv 2004.09813), sentence-transformers ``MSELoss``; that class also averages over the
    d dimensions (``torch.nn.MSELoss``), i.e. it is this loss divided by d.

    Inputs: ``student.pooled`` and ``teacher.pooled``, ``(B, d)``; token fields are unused.

    Example::

        loss = MSEDistillation()
        value = loss(Features(pooled=v), Features(pooled=u))
    """

    uses_tokens = False  # whether forward reads Features.tokens / mask

    def forward(self, student: Features, teacher: Features) -> torch.Tensor:
        """The scalar loss of one batch."""
        return (student.pooled - teacher.pooled).pow(2).sum(-1).mean()
