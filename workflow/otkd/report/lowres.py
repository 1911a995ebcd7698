"""``low_resource.tsv``: does a gain grow with the untrained student's weakness on a language?

The low-resource question tested across languages rather than only by the two config groups:
per experiment and task (its main measure, :data:`otkd.evaluate.metrics.MAIN_MEASURE`, as in
``comparison.tsv``), each per-language quantity is rank-correlated with ``student_init``'s
per-language score (English and the group-mean rows excluded; scores are ``table.tsv``'s means
over seeds). The quantities:

- ``gain_<arm>`` for every trained arm (``kl``, then the order of ``comparison.tsv``): the
  arm's score minus ``student_init``'s;
- ``<arm>_minus_kl`` for each arm of :data:`CONTRASTS` present (``ot``, ``wkd``): the arm's
  score minus ``kl``'s, i.e. its advantage over KL.

A negative ``spearman_rho`` means the quantity is larger where the untrained student was
weaker (the low-resource hypothesis); ``p_value`` is the two-sided permutation p-value of
:func:`otkd.stats.rank_correlation_test`, uncorrected. With 11 languages the test has little
power: ``critical_rho`` is the |rho| that p < 0.05 needs at the row's number of languages and
the run's permutations (:func:`otkd.stats.spearman_critical_rho`; :func:`power_note` says it in
words). ``low_mean`` / ``high_mean``: the quantity's mean over the config groups
``lower_resource`` / ``higher_resource``.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..evaluate.metrics import MAIN_MEASURE
from ..languages import ENGLISH
from ..runs import LEGACY_EXPERIMENT
from ..stats import rank_correlation_test, spearman_critical_rho
from .compare import compared_arms
from .tables import AGG_LANG, EXPERIMENT, REFERENCE_ARM, tasks_in

log = logging.getLogger(__name__)

INIT = "student_init"
CONTRASTS = ("ot", "wkd")  # arms whose advantage over the reference (kl) is correlated
LOW_GROUP, HIGH_GROUP = "lower_resource", "higher_resource"
LOW_RESOURCE_COLUMNS = [
    "experiment", "task", "measure", "quantity", "n_languages", "spearman_rho", "p_value",
    "critical_rho", "low_mean", "high_mean",
]  # fmt: skip


@functools.cache
def critical_rho(n: int, *, alpha: float = 0.05, n_resamples: int = 10000, seed: int = 0) -> float:
    """:func:`otkd.stats.spearman_critical_rho`, computed once per argument set (every row of a
    table with the same number of languages shares it); NaN below 2 languages."""
    if n < 2:
        return float("nan")
    return spearman_critical_rho(n, alpha=alpha, n_resamples=n_resamples, seed=seed)


def per_language_quantities(
    scores: pd.DataFrame,
    *,
    reference: str = REFERENCE_ARM,
    contrasts: Sequence[str] = CONTRASTS,
) -> pd.DataFrame:
    """Languages x quantities (module docstring) from ``scores``: languages x arms (means over
    seeds). Empty when ``student_init`` is missing."""
    if INIT not in scores.columns:
        return pd.DataFrame(index=scores.index)
    init = scores[INIT]
    trained = [reference] if reference in scores.columns else []
    trained += compared_arms(scores.columns, reference)
    out = {f"gain_{arm}": scores[arm] - init for arm in trained}
    if reference in scores.columns:
        for arm in contrasts:
            if arm in scores.columns and arm != reference:
                out[f"{arm}_minus_{reference}"] = scores[arm] - scores[reference]
    return pd.DataFrame(out, index=scores.index)


def build_low_resource(
    table: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    *,
    reference: str = REFERENCE_ARM,
    contrasts: Sequence[str] = CONTRASTS,
    measures: Mapping[str, str] = MAIN_MEASURE,
    n_resamples: int = 10000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (experiment, task, main measure, quantity) of ``table`` (``table.tsv``
    rows; without an ``experiment`` column: the legacy experiment) with columns
    :data:`LOW_RESOURCE_COLUMNS`: Spearman's rho of the quantity against ``student_init``'s
    per-language score, its permutation p-value (``n_resamples``, a fresh generator seeded
    with ``seed`` per test), the |rho| that p < 0.05 needs under the same permutations
    (:func:`critical_rho`) and the group means. Negative rho: larger where the untrained
    student was weaker. Tasks without a target language (en2en) give no row."""
    if EXPERIMENT not in table.columns:
        table = table.assign(**{EXPERIMENT: LEGACY_EXPERIMENT})
    low, high = list(groups.get(LOW_GROUP, [])), list(groups.get(HIGH_GROUP, []))
    rows = []
    for exp in dict.fromkeys(table[EXPERIMENT]):
        part = table[table[EXPERIMENT] == exp]
        for task in tasks_in(part):
            measure = measures[task]
            sub = part[
                (part["task"] == task)
                & (part["metric"] == measure)
                & ~part["lang"].isin([ENGLISH, AGG_LANG])
            ]
            scores = sub.pivot_table(index="lang", columns="arm", values="mean", sort=False)
            quantities = per_language_quantities(scores, reference=reference, contrasts=contrasts)
            if INIT not in scores.columns and not sub.empty:
                log.warning("%s/%s: no %s scores, no low-resource rows", exp, task, INIT)
            for name in quantities.columns:
                both = pd.concat([scores[INIT], quantities[name]], axis=1).dropna()
                init, q, n = both.iloc[:, 0], both.iloc[:, 1], len(both)
                rho, p = (
                    rank_correlation_test(init, q, n_resamples=n_resamples, seed=seed)
                    if n >= 2
                    else (np.nan, np.nan)
                )
                rows.append(
                    {
                        EXPERIMENT: exp,
                        "task": task,
                        "measure": measure,
                        "quantity": name,
                        "n_languages": n,
                        "spearman_rho": rho,
                        "p_value": p,
                        "critical_rho": critical_rho(n, n_resamples=n_resamples, seed=seed),
                        "low_mean": q[q.index.isin(low)].mean(),
                        "high_mean": q[q.index.isin(high)].mean(),
                    }
                )
    log.info("low-resource correlations: %d rows", len(rows))
    return pd.DataFrame(rows, columns=LOW_RESOURCE_COLUMNS)


def power_note(n: int, *, alpha: float = 0.05, n_resamples: int = 10000, seed: int = 0) -> str:
    """One sentence on how little ``n`` languages can show: the smallest attainable two-sided
    p-value and the |rho| needed for p < ``alpha`` (:func:`otkd.stats.spearman_critical_rho`)."""
    exact = math.factorial(n) <= n_resamples
    floor = 2 / math.factorial(n) if exact else 2 / (n_resamples + 1)
    how = (
        f"exact over all {n}! pairings"
        if exact
        else f"{n_resamples} random pairings of the {math.factorial(n):,} possible"
    )
    crit = critical_rho(n, alpha=alpha, n_resamples=n_resamples, seed=seed)
    need = (
        f"|rho| must reach {crit:.2f} for p < {alpha:g}"
        if np.isfinite(crit)
        else f"no rho reaches p < {alpha:g}"
    )
    return (
        f"{n} languages are {n} points: little power. The permutation p-value ({how}) "
        f"cannot go below {floor:.1e}, and {need}, so only a strong monotone trend can show; "
        "a large p is no evidence of no trend, and the p-values are not corrected for the "
        "number of correlations."
    )
