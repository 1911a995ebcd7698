"""Encode each text once per model, role and effective length (:class:`CachedEncoder`), and
count what a maximum length cuts away (:meth:`CachedEncoder.truncation`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from ..io import PipelineError

log = logging.getLogger(__name__)

TRUNCATION_COLUMNS = [
    "task",
    "lang",
    "role",
    "encoder",
    "max_length",
    "n_texts",
    "n_truncated",
    "share_truncated",
    "median_tokens",
    "p90_tokens",
    "max_tokens",
]


def truncation_stats(counts: Sequence[int], max_length: int) -> dict:
    """How many of the texts with these untruncated token ``counts`` exceed ``max_length``,
    and the length distribution (median, 90th percentile, maximum)."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        raise PipelineError("truncation_stats: no texts")
    cut = int((counts > max_length).sum())
    return {
        "max_length": int(max_length),
        "n_texts": int(counts.size),
        "n_truncated": cut,
        "share_truncated": round(cut / counts.size, 6),
        "median_tokens": float(np.median(counts)),
        "p90_tokens": float(np.percentile(counts, 90)),
        "max_tokens": int(counts.max()),
    }


class CachedEncoder:
    """Wrap an encoder so that each text is encoded once per role and effective length.

    ``encoder`` needs ``encode(texts, role, *, max_length=None, desc=...)`` returning
    L2-normalised float32 ``(n, d)`` and a ``dim`` attribute (:class:`otkd.encode.Encoder`).
    When it also has ``token_counts(texts, role)``, a text that fits both of two maximum
    lengths is encoded once (its embedding is the same at both), and :meth:`truncation`
    reports what each maximum length cuts.
    """

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.cache: dict[tuple, np.ndarray] = {}
        self.counts: dict[tuple[str, str], int] = {}
        self.n_encoded = 0
        self.seconds = 0.0

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def token_counts(self, texts: Sequence[str], role: str) -> np.ndarray | None:
        """Untruncated token counts (None when the encoder cannot count)."""
        if not hasattr(self.encoder, "token_counts"):
            return None
        new = list(dict.fromkeys(t for t in texts if (role, t) not in self.counts))
        if new:
            counts = self.encoder.token_counts(new, role)
            self.counts.update(((role, t), int(n)) for t, n in zip(new, counts, strict=True))
        return np.array([self.counts[(role, t)] for t in texts], dtype=np.int64)

    def truncation(self, texts: Sequence[str], role: str, max_length: int) -> dict | None:
        """:func:`truncation_stats` of ``texts`` at ``max_length`` (None: cannot count)."""
        counts = self.token_counts(texts, role)
        return None if counts is None else truncation_stats(counts, max_length)

    def _keys(self, texts: Sequence[str], role: str, max_length: int | None) -> list[tuple]:
        counts = self.token_counts(texts, role) if max_length is not None else None
        if counts is None:
            return [(role, max_length, t) for t in texts]
        # a text no longer than the maximum is encoded whole, whatever the maximum
        return [
            (role, max_length if n > max_length else None, t)
            for t, n in zip(texts, counts, strict=True)
        ]

    def encode(
        self, texts: Sequence[str], role: str, *, max_length: int | None = None, desc: str = ""
    ) -> np.ndarray:
        """Embeddings ``(len(texts), d)`` in input order; only unseen texts reach the model."""
        keys = self._keys(texts, role, max_length)
        new = list(
            dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in self.cache)
        )
        if new:
            start = time.perf_counter()
            emb = self.encoder.encode(new, role, max_length=max_length, desc=desc or role)
            self.seconds += time.perf_counter() - start
            self.n_encoded += len(new)
            emb = np.asarray(emb, dtype=np.float32)
            if emb.shape != (len(new), self.dim):
                raise PipelineError(f"encoder returned shape {emb.shape} for {len(new)} texts")
            by_text = dict(zip(new, emb, strict=True))
            for t, k in zip(texts, keys, strict=True):
                if k not in self.cache and t in by_text:
                    self.cache[k] = by_text[t]
            log.info("%s: encoded %d new texts (%d requested)", desc or role, len(new), len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.cache[k] for k in keys])
