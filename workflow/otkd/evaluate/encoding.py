"""Encode each text once per model, role and maximum length (:class:`CachedEncoder`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from ..io import PipelineError

log = logging.getLogger(__name__)


class CachedEncoder:
    """Wrap an encoder so that each (role, max_length, text) is encoded once.

    ``encoder`` needs ``encode(texts, role, *, max_length=None, desc=...)`` returning
    L2-normalised float32 ``(n, d)`` and a ``dim`` attribute (:class:`otkd.encode.Encoder`).
    """

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.cache: dict[tuple[str | None, int | None], dict[str, np.ndarray]] = {}
        self.n_encoded = 0
        self.seconds = 0.0

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def encode(
        self, texts: Sequence[str], role: str, *, max_length: int | None = None, desc: str = ""
    ) -> np.ndarray:
        """Embeddings ``(len(texts), d)`` in input order; only unseen texts reach the model."""
        store = self.cache.setdefault((role, max_length), {})
        new = list(dict.fromkeys(t for t in texts if t not in store))
        if new:
            start = time.perf_counter()
            emb = self.encoder.encode(new, role, max_length=max_length, desc=desc or role)
            self.seconds += time.perf_counter() - start
            self.n_encoded += len(new)
            emb = np.asarray(emb, dtype=np.float32)
            if emb.shape != (len(new), self.dim):
                raise PipelineError(f"encoder returned shape {emb.shape} for {len(new)} texts")
            store.update(zip(new, emb, strict=True))
            log.info("%s: encoded %d new texts (%d requested)", desc or role, len(new), len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([store[t] for t in texts])
