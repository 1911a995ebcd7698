"""Dev-set (FLORES) scores that select the checkpoint and tune the losses (never XQuAD).

Three scores per language and their mean over languages (``all``), from the student's
embedding ``S(x_i)`` of each dev translation and the teacher's pooled embeddings of the
dev English sentences:

``accuracy``
    retrieval accuracy@1 of ``x_i``'s English among the dev English sentences of its own
    language (200 candidates by default). The first dev signal; it saturates when student
    and teacher share one space (0.996 for the untrained e5-small, README "Dev signal").
``mrr``
    mean reciprocal rank of ``x_i``'s English in the *pool*: the distinct English
    sentences of every language's dev pairs (923 for FLORES, 200 per language).
``fidelity``
    ranking fidelity: Spearman's rank correlation, over the pool without the gold sentence,
    between the student's scores ``S(x_i) . T(p)`` and the teacher's scores ``T(e_i) . T(p)``
    from the English source: how closely the student ranks English sentences from a
    translation as the teacher ranks them from the English. It is what zero-shot transfer
    of an English retriever needs, does not saturate at 1 when accuracy does, and is the
    default selection score (``train.dev_metric``).

A hit (and a rank) counts ties in the student's favour: ``rank = 1 + #{p: s_p > s_gold}``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from ..encode import Encoder
from ..runs import DEV_METRICS
from .data import SplitData

DEV_BATCH_SIZE = 64


def english_pool(dev: SplitData) -> tuple[np.ndarray, np.ndarray]:
    """``(pool_rows, gold)``: one dev row per distinct English sentence (its teacher token
    ids; first occurrence) and, per dev row, the pool position of its English."""
    keys = [dev.teacher_en.seq(i).tobytes() for i in range(len(dev))]
    first: dict[bytes, int] = {}
    gold = np.empty(len(keys), dtype=np.int64)
    rows = []
    for i, key in enumerate(keys):
        if key not in first:
            first[key] = len(rows)
            rows.append(i)
        gold[i] = first[key]
    return np.asarray(rows, dtype=np.int64), gold


def _row_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of every row of ``a`` with the same row of ``b`` (average ranks)."""
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denom = np.sqrt((ra * ra).sum(1) * (rb * rb).sum(1))
    return np.divide((ra * rb).sum(1), denom, out=np.zeros(len(a)), where=denom > 0)


def dev_scores_from_embeddings(
    student: np.ndarray, teacher: np.ndarray, langs: np.ndarray, pool_rows: np.ndarray,
    gold: np.ndarray,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """The dev scores (module docstring) from embeddings: ``student[i] = S(x_i)``,
    ``teacher[i] = T(e_i)``; returns ``{metric: {lang: score, ..., "all": mean}}``."""
    student = np.asarray(student, dtype=np.float64)
    teacher = np.asarray(teacher, dtype=np.float64)
    pool = teacher[pool_rows]
    s_pool, t_pool = student @ pool.T, teacher @ pool.T
    n = len(student)
    gold_s = s_pool[np.arange(n), gold]
    rank = 1 + (s_pool > gold_s[:, None]).sum(1)
    keep = np.ones_like(s_pool, dtype=bool)
    keep[np.arange(n), gold] = False
    width = pool.shape[0] - 1
    fid = (
        _row_spearman(s_pool[keep].reshape(n, width), t_pool[keep].reshape(n, width))
        if width > 1
        else np.ones(n)
    )
    out: dict[str, dict[str, float]] = {m: {} for m in DEV_METRICS}
    for lang in dict.fromkeys(np.asarray(langs).tolist()):
        rows = np.flatnonzero(langs == lang)
        scores = student[rows] @ teacher[rows].T
        out["accuracy"][str(lang)] = float(np.mean(np.diag(scores) >= scores.max(1)))
        out["mrr"][str(lang)] = float(np.mean(1.0 / rank[rows]))
        out["fidelity"][str(lang)] = float(np.mean(fid[rows]))
    for metric in DEV_METRICS:
        out[metric]["all"] = float(np.mean(list(out[metric].values())))
    return out


def dev_scores(encoder: Encoder, dev: SplitData) -> dict[str, dict[str, float]]:
    """The dev scores of the student behind ``encoder`` (module docstring)."""
    emb = encoder.encode_ids([dev.student_xx.seq(i) for i in range(len(dev))], desc="dev")
    teacher = dev.cache.pooled(np.arange(len(dev))).numpy()
    pool_rows, gold = english_pool(dev)
    return dev_scores_from_embeddings(emb, teacher, dev.langs, pool_rows, gold)


def dev_accuracy(encoder: Encoder, dev: SplitData) -> dict[str, float]:
    """FLORES dev retrieval accuracy@1 per language and their mean (``all``)."""
    return dev_scores(encoder, dev)["accuracy"]
