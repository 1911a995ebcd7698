"""``comparison.tsv``: every trained arm against ``kl`` (``ot`` first), per task, language and
group, on the task's main metric (:data:`otkd.evaluate.metrics.MAIN_MEASURE`).

Per-question scores are averaged over seeds (and over the group's languages for group rows,
questions being parallel across languages), then paired over questions (:mod:`otkd.stats`).
p-values are corrected within the family of one arm-vs-kl comparison (every task, language and
group). Columns: ``docs/ARCHITECTURE.md`` (report).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pandas as pd

from ..evaluate.metrics import MAIN_MEASURE
from ..io import PipelineError
from ..stats import compare_paired, correct_pvalues
from .tables import (
    ARM_PRIORITY,
    COMPARISON_COLUMNS,
    REFERENCE_ARM,
    aggregate_units,
    order_key,
    tasks_in,
)

log = logging.getLogger(__name__)


def compared_arms(arms: Sequence[str], reference: str = REFERENCE_ARM) -> list[str]:
    """Trained arms compared with ``reference``: OT first, then OT+KL, MSE, any other."""
    trained = [a for a in dict.fromkeys(arms) if a not in ("teacher", "student_init", reference)]
    key = order_key(trained, ARM_PRIORITY)
    return sorted(trained, key=key.get)


def build_comparison(
    perquery: pd.DataFrame,
    langs: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    *,
    reference: str = REFERENCE_ARM,
    measures: Mapping[str, str] = MAIN_MEASURE,
    n_resamples: int = 10000,
    confidence: float = 0.95,
    correction: str = "holm",
    seed: int = 0,
) -> pd.DataFrame:
    """Every trained arm vs ``reference`` per task, language and group (module docstring).

    ``perquery``: concatenated ``perquery.tsv.gz`` rows with ``arm`` and ``seed``. Each test
    draws from a fresh generator seeded with ``seed``, so rows do not depend on order.
    """
    arms = compared_arms(perquery["arm"].unique(), reference)
    if reference not in set(perquery["arm"]) or not arms:
        log.warning("no comparison: need arm %r and at least one other trained arm", reference)
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    wanted = perquery[perquery["arm"].isin([*arms, reference])]
    wanted = wanted[wanted["measure"] == wanted["task"].map(measures)]
    n_seeds = wanted.groupby("arm")["seed"].nunique()
    avg = wanted.groupby(["arm", "task", "lang", "measure", "qid"], sort=False)["value"].mean()
    rows = []
    for arm in arms:
        family = []
        for task in tasks_in(wanted):
            measure = measures[task]
            sub = avg.xs((task, measure), level=("task", "measure"))
            available = sub.index.get_level_values("lang").unique()
            for lang, group, members in aggregate_units(langs, groups, available):
                per_q = {}
                for side in (arm, reference):
                    scores = sub.loc[side].unstack("lang")[members].dropna()
                    per_q[side] = scores.mean(axis=1)
                a, b = per_q[arm].align(per_q[reference], join="inner")
                if len(a) == 0:
                    raise PipelineError(
                        f"{task}/{lang}: no questions shared by {arm} and {reference}"
                    )
                res = compare_paired(
                    a.to_numpy(),
                    b.to_numpy(),
                    confidence=confidence,
                    n_resamples=n_resamples,
                    seed=seed,
                )
                family.append(
                    {
                        "task": task,
                        "lang": lang,
                        "group": group,
                        "arm": arm,
                        "reference": reference,
                        "metric": measure,
                        **res,
                        "n_seeds_arm": int(n_seeds[arm]),
                        "n_seeds_ref": int(n_seeds[reference]),
                    }
                )
        p_adj = correct_pvalues([r["p"] for r in family], correction)
        for r, q in zip(family, p_adj, strict=True):
            r["p_adj"], r["correction"] = q, correction
        rows += family
        log.info("%s vs %s: %d comparisons", arm, reference, len(family))
    return pd.DataFrame(rows)[COMPARISON_COLUMNS]


def stats_options(config: Mapping) -> dict:
    """:func:`build_comparison` keyword arguments from ``config.stats``."""
    st = config.get("stats", {})
    return {
        "n_resamples": st.get("n_resamples", 10000),
        "confidence": st.get("confidence", 0.95),
        "correction": st.get("correction", "holm"),
        "seed": st.get("seed", config.get("seed", 0)),
    }
