"""Length-bucketed batches: every batch mixes languages of similar length."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..io import PipelineError

CHUNK_BATCHES = 50  # length sorting happens inside chunks of this many batches


def batch_plan(
    lengths: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    chunk_batches: int = CHUNK_BATCHES,
) -> list[np.ndarray]:
    """One epoch of length-bucketed batches of row indices.

    A seeded shuffle is cut into chunks of ``chunk_batches * batch_size`` rows; each chunk is
    sorted by length (``lengths``: ``(n,)`` or ``(n, k)``, sorted by the row sum, then the
    columns) and cut into batches; batches smaller than ``batch_size`` are dropped (unless the
    whole split is smaller than one batch); the batch order is shuffled. So every batch mixes
    languages of similar length, and padding stays small.
    """
    lengths = np.asarray(lengths)
    if lengths.ndim == 1:
        lengths = lengths[:, None]
    n = len(lengths)
    if n < 2:
        raise PipelineError(f"training needs at least 2 pairs, got {n}")
    if n < batch_size:
        return [rng.permutation(n)]
    perm = rng.permutation(n)
    chunk = chunk_batches * batch_size
    batches = []
    for start in range(0, n, chunk):
        part = perm[start : start + chunk]
        keys = [lengths[part, k] for k in reversed(range(lengths.shape[1]))]
        part = part[np.lexsort([*keys, lengths[part].sum(1)])]
        batches += [
            part[i : i + batch_size]
            for i in range(0, len(part), batch_size)
            if len(part[i : i + batch_size]) == batch_size
        ]
    return [batches[i] for i in rng.permutation(len(batches))]


def batch_stream(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Endless batches: one :func:`batch_plan` epoch after another."""
    while True:
        yield from batch_plan(lengths, batch_size, rng)


def padding_share(lengths: Sequence[Sequence[int]]) -> float:
    """Share of padded positions when each group of lengths is padded to its longest."""
    total = sum(len(g) * max(g) for g in lengths if len(g))
    real = sum(sum(g) for g in lengths)
    return 1.0 - real / total if total else 0.0
