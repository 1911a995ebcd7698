"""Retrieval metrics, computed only with ``ir_measures`` (trec_eval through pytrec_eval).

Measures per task (names are ``ir_measures`` names, also written to ``metrics.tsv``):

- ``x2en``, ``en2x``, ``en2en``: ``nDCG@10``, ``RR@10`` (MRR@10 once averaged), ``R@1``, ``R@10``;
- ``lareqa``: ``AP@20`` (mAP@20 once averaged), as LAReQA / XTREME-R define it:
  AP@20 = (sum over relevant candidates at rank i <= 20 of hits-so-far / i) / min(#rel, 20).

The AP@20 denominator: ``ir_measures``' ``AP@20`` is trec_eval's ``map_cut_20``, which divides
by the total number of relevant documents R (checked in ``tests/unit/evaluate/test_metrics.py`` on a query
with R = 25: 1/25, not 1/20). LAReQA divides by min(R, 20). Each per-query value is therefore
multiplied by R / min(R, 20); this is exact, since the sums are identical. On XQuAD-R every
question has R = 11 relevant candidates (one per language), so the factor is 1 and the two
definitions coincide.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import ir_measures
import pandas as pd

from ..io import PipelineError

log = logging.getLogger(__name__)

PARAGRAPH_MEASURES = ["nDCG@10", "RR@10", "R@1", "R@10"]
MEASURES: dict[str, list[str]] = {
    "x2en": PARAGRAPH_MEASURES,
    "en2x": PARAGRAPH_MEASURES,
    "en2en": PARAGRAPH_MEASURES,
    "lareqa": ["AP@20"],
}
# The metric each task's comparisons and figures use.
MAIN_MEASURE: dict[str, str] = {
    "x2en": "nDCG@10",
    "en2x": "nDCG@10",
    "en2en": "nDCG@10",
    "lareqa": "AP@20",
}

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


def read_qrels(path) -> dict[str, dict[str, int]]:
    """TREC qrels ``qid 0 docid rel`` as ``{qid: {docid: rel}}``; bad lines name file and line."""
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 4:
                raise PipelineError(f"{path}:{i}: expected 'qid 0 docid rel', got {line!r}")
            try:
                rel = int(parts[3])
            except ValueError:
                raise PipelineError(
                    f"{path}:{i}: relevance {parts[3]!r} is not an integer"
                ) from None
            qrels.setdefault(parts[0], {})[parts[2]] = rel
    if not qrels:
        raise PipelineError(f"{path}: no qrels")
    return qrels


def read_run(path) -> dict[str, dict[str, float]]:
    """A TREC run file as ``{qid: {docid: score}}`` (via ``ir_measures.read_trec_run``)."""
    run: dict[str, dict[str, float]] = {}
    for row in ir_measures.read_trec_run(str(path)):
        run.setdefault(row.query_id, {})[row.doc_id] = row.score
    return run


def check_ids(qrels: Qrels, run: Run, *, where: str) -> None:
    """Fail unless the run's query set equals the qrels' query set.

    A qrel query missing from the run would silently drop out of trec_eval's mean, and a run
    query without qrels would not be scored: both mean the task builder and the scorer
    disagree on ids.
    """
    missing = sorted(set(qrels) - set(run))
    extra = sorted(set(run) - set(qrels))
    if missing or extra:
        raise PipelineError(
            f"{where}: query ids of run and qrels disagree: {len(missing)} qrel queries "
            f"missing from the run (e.g. {missing[:3]}), {len(extra)} run queries without "
            f"qrels (e.g. {extra[:3]})"
        )


def _lareqa_factor(measure, n_rel: int) -> float:
    """R / min(R, k) turning trec_eval's AP@k into LAReQA's AP@k (1 when R <= k or no cutoff)."""
    cutoff = measure.params.get("cutoff")
    if measure.NAME != "AP" or cutoff is None or n_rel <= cutoff:
        return 1.0
    return n_rel / cutoff


def score_run(
    qrels: Qrels, run: Run, measures: Sequence[str], *, where: str = "run"
) -> pd.DataFrame:
    """Per-query values of ``measures`` on ``run``: columns ``qid measure value``.

    Every qrel query gets one row per measure (see :func:`check_ids`). ``AP@k`` uses the
    LAReQA denominator min(#rel, k) (module docstring).
    """
    check_ids(qrels, run, where=where)
    parsed = [ir_measures.parse_measure(m) for m in measures]
    n_rel = {q: sum(1 for r in docs.values() if r > 0) for q, docs in qrels.items()}
    rows = []
    for metric in ir_measures.iter_calc(parsed, qrels, run):
        value = metric.value * _lareqa_factor(metric.measure, n_rel[metric.query_id])
        rows.append((metric.query_id, str(metric.measure), float(value)))
    df = pd.DataFrame(rows, columns=["qid", "measure", "value"])
    expected = len(qrels) * len(parsed)
    if len(df) != expected:
        raise PipelineError(f"{where}: ir_measures returned {len(df)} values, expected {expected}")
    order = {str(m): i for i, m in enumerate(parsed)}
    return (
        df.assign(_o=df["measure"].map(order))
        .sort_values(["_o", "qid"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def aggregate(perquery: pd.DataFrame, keys: Sequence[str] = ("task", "lang")) -> pd.DataFrame:
    """Mean over queries per ``keys`` and measure: columns ``*keys measure value n_queries``."""
    keys = [*keys, "measure"]
    out = perquery.groupby(keys, sort=False)["value"].agg(value="mean", n_queries="count")
    return out.reset_index()
