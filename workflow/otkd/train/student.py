"""The student side of a training step (encoder plus optional projection) and the teacher
side, read from the teacher cache only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..caches import TokenArrays
from ..encode import autocast, pad_batch, pool
from ..losses import Features
from ..model_profile import ModelProfile
from .data import SplitData, content_ids


def pad_mask(masks: Sequence[np.ndarray], width: int) -> torch.Tensor:
    """Right-pad boolean masks to ``width``."""
    out = torch.zeros((len(masks), width), dtype=torch.bool)
    for i, m in enumerate(masks):
        out[i, : len(m)] = torch.from_numpy(np.asarray(m, dtype=bool))
    return out


class Student(torch.nn.Module):
    """The student encoder plus an optional linear projection into the teacher's space."""

    def __init__(self, model, profile: ModelProfile, projection: torch.nn.Linear | None):
        super().__init__()
        self.model = model
        self.projection = projection
        self.profile = profile
        self.pad_id = 0

    def features(
        self, arrays: TokenArrays, idx: np.ndarray, *, tokens: bool, bf16: bool
    ) -> tuple[Features, list[int]]:
        """Features of rows ``idx`` of ``arrays`` (pooled as the Encoder pools; token rows
        of content tokens) and the sequence lengths."""
        seqs = [arrays.seq(i) for i in idx]
        ids, attn = pad_batch(seqs, self.pad_id)
        device = next(self.model.parameters()).device
        ids, attn = ids.to(device), attn.to(device)
        with autocast(device, bf16):
            hidden = self.model(input_ids=ids, attention_mask=attn).last_hidden_state
        hidden = hidden.float()
        if self.projection is not None:
            hidden = self.projection(hidden)
        pooled = F.normalize(pool(hidden, attn, self.profile.pooling), dim=-1)
        feats = Features(pooled)
        if tokens:
            feats.tokens = F.normalize(hidden, dim=-1)
            feats.mask = pad_mask([arrays.content_mask(i) for i in idx], ids.shape[1]).to(device)
            feats.token_ids = ids
        return feats, [len(s) for s in seqs]


def teacher_features(
    split: SplitData, idx: np.ndarray, *, tokens: bool, device: torch.device
) -> Features:
    """Teacher Features of rows ``idx``, read from the teacher cache only."""
    feats = Features(split.cache.pooled(idx).to(device))
    if tokens:
        tok, mask = split.cache.tokens(idx)
        ids = [content_ids(split.teacher_en, i) for i in idx]
        token_ids = torch.zeros(mask.shape, dtype=torch.long)
        for row, seq in enumerate(ids):
            token_ids[row, : len(seq)] = torch.from_numpy(seq.astype(np.int64))
        feats.tokens, feats.mask = tok.to(device), mask.to(device)
        feats.token_ids = token_ids.to(device)
    return feats
