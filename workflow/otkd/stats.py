"""Paired statistics over questions: bootstrap intervals, randomisation tests, corrections.

The unit is the question: two systems are compared on the same questions (per-question
scores already averaged over training seeds), so every test here is paired.

- :func:`bootstrap_ci`: ``scipy.stats.bootstrap`` (BCa) interval of the mean difference;
- :func:`paired_permutation_test`: ``scipy.stats.permutation_test`` with
  ``permutation_type="samples"``: under H0 the two scores of a question are exchangeable, i.e.
  each difference's sign is flipped at random; two-sided p-value of the mean difference;
- :func:`correct_pvalues`: Holm (default), Bonferroni, or Benjamini-Hochberg
  (``scipy.stats.false_discovery_control``);
- :func:`cohens_dz`: paired effect size, mean difference / sd of the differences;
- :func:`rank_correlation_test`: Spearman's rho of paired values (per-language scores, say)
  with a two-sided permutation p-value (``permutation_type="pairings"``), and
  :func:`spearman_critical_rho`, the |rho| a sample of n pairs needs for p < alpha.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

CORRECTIONS = ("holm", "bonferroni", "fdr_bh")


def _mean_diff(x, y, axis=-1):
    return np.mean(x - y, axis=axis)


def bootstrap_ci(
    diffs: Sequence[float],
    *,
    confidence: float = 0.95,
    n_resamples: int = 10000,
    seed: int = 0,
) -> tuple[float, float]:
    """BCa bootstrap interval of the mean of paired differences (resampling questions).

    Constant differences (no spread) give the degenerate interval (d, d).
    """
    d = np.asarray(diffs, dtype=np.float64)
    if d.size == 0:
        raise ValueError("bootstrap_ci needs at least one difference")
    if np.ptp(d) == 0:
        return float(d[0]), float(d[0])

    def interval(method: str) -> tuple[float, float]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            res = stats.bootstrap(
                (d,),
                np.mean,
                confidence_level=confidence,
                n_resamples=n_resamples,
                method=method,
                vectorized=True,
                rng=np.random.default_rng(seed),
            )
        return res.confidence_interval

    low, high = interval("BCa")
    if not (np.isfinite(low) and np.isfinite(high)):  # BCa undefined: fall back to percentile
        low, high = interval("percentile")
    return float(low), float(high)


def paired_permutation_test(
    a: Sequence[float], b: Sequence[float], *, n_resamples: int = 10000, seed: int = 0
) -> float:
    """Two-sided p-value of mean(a - b) = 0 by a paired randomisation (sign-flip) test.

    Uses ``scipy.stats.permutation_test(..., permutation_type="samples")``, which permutes the
    two values within each pair; with fewer than ``n_resamples`` distinct sign patterns the
    test is exact. Identical samples give p = 1.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError(
            f"paired samples must be 1-d of equal, non-zero length: {x.shape} {y.shape}"
        )
    if np.array_equal(x, y):
        return 1.0
    res = stats.permutation_test(
        (x, y),
        _mean_diff,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(min(1.0, res.pvalue))


def cohens_dz(diffs: Sequence[float]) -> float:
    """Paired effect size d_z = mean(d) / sd(d) (ddof 1); 0 for all-zero differences,
    NaN when the differences are constant but non-zero or fewer than 2."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.size < 2:
        return float("nan")
    sd = d.std(ddof=1)
    if sd == 0:
        return 0.0 if d.mean() == 0 else float("nan")
    return float(d.mean() / sd)


def _rank_pearson(u, v, axis=-1):
    """Pearson correlation along ``axis`` (vectorised); on ranks it is Spearman's rho."""
    u = u - u.mean(axis=axis, keepdims=True)
    v = v - v.mean(axis=axis, keepdims=True)
    return (u * v).sum(axis=axis) / np.sqrt((u * u).sum(axis=axis) * (v * v).sum(axis=axis))


def _pairings_test(x: np.ndarray, y: np.ndarray, n_resamples: int, seed: int):
    """``scipy.stats.permutation_test`` of Spearman's rho over the pairings of ``x`` and
    ``y``. Only ``x`` is passed and permuted (``y`` stays fixed in the statistic), so there are
    n! distinct pairings, not (n!)^2 (scipy's advice for correlations); both are ranked once
    (average ranks for ties), since re-pairing values does not change their ranks, and the
    vectorised Pearson correlation of the ranks is the statistic."""
    ry = stats.rankdata(y)
    return stats.permutation_test(
        (stats.rankdata(x),),
        lambda rx, axis=-1: _rank_pearson(rx, ry, axis=axis),
        permutation_type="pairings",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )


def rank_correlation_test(
    x: Sequence[float], y: Sequence[float], *, n_resamples: int = 10000, seed: int = 0
) -> tuple[float, float]:
    """Spearman's rho of the pairs (x_i, y_i) and its two-sided permutation p-value.

    rho is ``scipy.stats.spearmanr``'s. The p-value is ``scipy.stats.permutation_test(...,
    permutation_type="pairings")``: under H0 (no association) every re-pairing of the x with
    the y is equally likely. It is exact (all n! pairings) when n! <= ``n_resamples`` (n <= 7
    at 10000); otherwise it is estimated from ``n_resamples`` random pairings drawn by a
    generator seeded with ``seed`` (so reproducible), with scipy's +1 correction
    p = 2 (k + 1) / (R + 1), k the random pairings at least as extreme on the observed side.
    The smallest attainable p is thus 2 / n! exact and 2 / (R + 1) random: n = 11 has
    11! = 39,916,800 pairings, so at R = 10000 it is random and p >= 2 / 10001 = 2.0e-4.
    Either sample constant (rho undefined) gives (NaN, NaN).
    """
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError(f"rank correlation needs two 1-d samples of equal length >= 2: "
                         f"{a.shape} {b.shape}")  # fmt: skip
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("rank correlation needs finite values")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    rho = float(stats.spearmanr(a, b).statistic)
    res = _pairings_test(a, b, n_resamples, seed)
    return rho, float(min(1.0, res.pvalue))


def spearman_critical_rho(
    n: int, *, alpha: float = 0.05, n_resamples: int = 10000, seed: int = 0
) -> float:
    """The smallest |rho| for which :func:`rank_correlation_test` on n pairs without ties
    gives a two-sided p below ``alpha`` (same null, ``n_resamples`` and ``seed``: exact when
    n! <= ``n_resamples``); NaN when no rho can (n <= 4 at alpha 0.05). n = 11, alpha 0.05:
    about 0.61 (the tabulated exact value is 0.618; random pairings move it by a grid step
    of 12 / (n^3 - n))."""
    if n < 2:
        raise ValueError(f"a critical rho needs n >= 2 pairs, got {n}")
    ranks = np.arange(n, dtype=np.float64)
    null = np.sort(_pairings_test(ranks, ranks, n_resamples, seed).null_distribution)
    adj = 0 if math.factorial(n) <= n_resamples else 1  # scipy's +1 for random pairings
    tol = 1e-9
    for c in np.unique(np.abs(null)):
        upper = null.size - np.searchsorted(null, c - tol)  # null >= c
        lower = np.searchsorted(null, -c + tol, side="right")  # null <= -c
        if 2 * (max(upper, lower) + adj) / (null.size + adj) < alpha:
            return float(c)
    return float("nan")


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values (family-wise error), in input order."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def correct_pvalues(pvalues: Sequence[float], method: str = "holm") -> np.ndarray:
    """Adjust a family of p-values: ``holm``, ``bonferroni`` or ``fdr_bh`` (config
    ``stats.correction``). NaN p-values are left NaN and do not count in the family."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    if method == "holm":
        out[ok] = holm(p[ok])
    elif method == "bonferroni":
        out[ok] = np.minimum(p[ok] * ok.sum(), 1.0)
    elif method == "fdr_bh":
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    else:
        raise ValueError(f"unknown correction {method!r}; expected one of {CORRECTIONS}")
    return out


def compare_paired(
    a: Sequence[float],
    b: Sequence[float],
    *,
    confidence: float = 0.95,
    n_resamples: int = 10000,
    seed: int = 0,
) -> dict:
    """Everything the comparison table needs for paired samples ``a`` (arm) and ``b``
    (reference): means, mean difference, bootstrap CI, randomisation p-value, d_z, n."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = x - y
    low, high = bootstrap_ci(d, confidence=confidence, n_resamples=n_resamples, seed=seed)
    return {
        "mean_arm": float(x.mean()),
        "mean_ref": float(y.mean()),
        "diff": float(d.mean()),
        "ci_low": low,
        "ci_high": high,
        "p": paired_permutation_test(x, y, n_resamples=n_resamples, seed=seed),
        "d_z": cohens_dz(d),
        "n_queries": int(d.size),
    }
