"""Dev-set (FLORES) retrieval accuracy, which selects the checkpoint."""

from __future__ import annotations

import numpy as np

from ..encode import Encoder
from .data import SplitData

DEV_BATCH_SIZE = 64


def dev_accuracy(encoder: Encoder, dev: SplitData) -> dict[str, float]:
    """FLORES dev retrieval accuracy@1 per language and their mean (``all``).

    For each language, the student's embedding of each dev translation retrieves among the
    teacher's pooled embeddings of that language's dev English sentences; a hit is the
    gold English scoring at least as high as every other candidate (duplicates tie).
    """
    emb = encoder.encode_ids([dev.student_xx.seq(i) for i in range(len(dev))], desc="dev")
    teacher = dev.cache.pooled(np.arange(len(dev))).numpy()
    acc = {}
    for lang in dict.fromkeys(dev.langs):
        rows = np.flatnonzero(dev.langs == lang)
        scores = emb[rows] @ teacher[rows].T
        acc[str(lang)] = float(np.mean(np.diag(scores) >= scores.max(1)))
    acc["all"] = float(np.mean(list(acc.values())))
    return acc
