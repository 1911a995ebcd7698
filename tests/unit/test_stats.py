"""Paired statistics: exact small cases computed by hand, corrections, degenerate inputs."""

from __future__ import annotations

import numpy as np
import pytest
from otkd.stats import (
    bootstrap_ci,
    cohens_dz,
    compare_paired,
    correct_pvalues,
    holm,
    paired_permutation_test,
    rank_correlation_test,
    spearman_critical_rho,
)
from scipy import stats as sps


def test_sign_flip_test_is_exact_on_small_samples():
    # 5 positive differences: of the 2^5 sign patterns only all-plus and all-minus reach
    # |mean| >= observed, so the two-sided p-value is 2/32.
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    b = a - np.array([0.5, 0.7, 0.2, 0.9, 0.4])
    assert paired_permutation_test(a, b, n_resamples=1000) == pytest.approx(2 / 32)


def test_permutation_test_identical_and_shifted():
    rng = np.random.default_rng(0)
    x = rng.random(500)
    assert paired_permutation_test(x, x) == 1.0
    shifted = x - 0.05 + 0.05 * rng.standard_normal(500)
    assert paired_permutation_test(x, shifted, n_resamples=2000, seed=1) < 0.01
    noise = x + 0.05 * rng.standard_normal(500)
    assert paired_permutation_test(x, noise, n_resamples=2000, seed=1) > 0.01


def test_permutation_test_is_seeded():
    rng = np.random.default_rng(3)
    a, b = rng.random(300), rng.random(300)
    p1 = paired_permutation_test(a, b, n_resamples=500, seed=7)
    assert p1 == paired_permutation_test(a, b, n_resamples=500, seed=7)


def test_bootstrap_ci_covers_mean_and_handles_constant_differences():
    rng = np.random.default_rng(0)
    d = 0.1 + rng.standard_normal(1000)
    low, high = bootstrap_ci(d, n_resamples=2000)
    assert low < d.mean() < high
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert bootstrap_ci(np.full(10, 0.25)) == (0.25, 0.25)


def test_cohens_dz_by_hand():
    assert cohens_dz([1.0, 2.0, 3.0]) == pytest.approx(2.0)  # mean 2, sd 1
    assert cohens_dz([0.0, 0.0]) == 0.0
    assert np.isnan(cohens_dz([0.5, 0.5]))


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> cummax
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])


def test_corrections():
    p = np.array([0.01, 0.02, np.nan, 0.2])
    np.testing.assert_allclose(correct_pvalues(p, "bonferroni"), [0.03, 0.06, np.nan, 0.6])
    np.testing.assert_allclose(
        correct_pvalues(p, "fdr_bh")[[0, 1, 3]], sps.false_discovery_control(p[[0, 1, 3]])
    )
    np.testing.assert_allclose(correct_pvalues(p, "holm"), [0.03, 0.04, np.nan, 0.2])
    with pytest.raises(ValueError, match="unknown correction"):
        correct_pvalues(p, "nope")


def test_compare_paired_fields():
    rng = np.random.default_rng(5)
    b = rng.random(400)
    a = b + 0.1 + 0.1 * rng.standard_normal(400)
    res = compare_paired(a, b, n_resamples=1000)
    assert res["diff"] == pytest.approx(np.mean(a - b))
    assert res["ci_low"] < res["diff"] < res["ci_high"]
    assert res["p"] < 0.01 and res["d_z"] > 0.5 and res["n_queries"] == 400


def test_rank_correlation_monotone_data_reaches_the_smallest_p():
    # n = 11: 11! pairings > 10000, so 10000 random ones; only the identity pairing (and its
    # mirror) reach |rho| = 1, hence p = 2 (0 + 1) / (10000 + 1), the floor
    x = np.arange(11.0)
    rho, p = rank_correlation_test(x, np.exp(x), n_resamples=10000, seed=0)
    assert rho == 1.0 and p == pytest.approx(2 / 10001)
    rho, p = rank_correlation_test(x, -(x**3), n_resamples=10000, seed=0)
    assert rho == -1.0 and p == pytest.approx(2 / 10001)
    # n = 6: 720 pairings <= n_resamples, so exact: p = 2 / 6!
    rho, p = rank_correlation_test(x[:6], x[:6] ** 2, n_resamples=10000)
    assert rho == 1.0 and p == pytest.approx(2 / 720)


def test_rank_correlation_exact_small_case_by_hand():
    # n = 4, y = x with the last two swapped: rho = 1 - 6*2/(4*15) = 0.8; of the 24
    # pairings, |rho| >= 0.8 for the identity, its 3 adjacent swaps, and their 4 mirrors
    x, y = [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 4.0, 3.0]
    rho, p = rank_correlation_test(x, y, n_resamples=1000)
    assert rho == pytest.approx(0.8) and p == pytest.approx(8 / 24)
    assert rho == pytest.approx(sps.spearmanr(x, y).statistic)


def test_rank_correlation_shuffled_and_seeded():
    rng = np.random.default_rng(5)
    x = rng.random(11)
    y = rng.permutation(x)  # unrelated order
    rho, p = rank_correlation_test(x, y, n_resamples=2000, seed=3)
    assert rho == pytest.approx(sps.spearmanr(x, y).statistic)
    assert abs(rho) < 0.5 and p > 0.1
    assert (rho, p) == rank_correlation_test(x, y, n_resamples=2000, seed=3)
    assert p != rank_correlation_test(x, y, n_resamples=2000, seed=4)[1]  # random, not exact
    # ties are ranked (average ranks): monotone with ties still gives rho = 1
    assert rank_correlation_test([1, 2, 2, 3], [5, 6, 6, 9], n_resamples=100)[0] == 1.0
    assert np.isnan(rank_correlation_test([1, 1, 1], [1, 2, 3])[0])
    with pytest.raises(ValueError, match="equal length"):
        rank_correlation_test([1, 2, 3], [1, 2])


def test_spearman_critical_rho_matches_the_tables():
    # two-sided alpha 0.05 critical values of Spearman's rho (Zar 1972 table): exact for
    # n <= 7 (n! <= 10000), within one grid step 12 / (n^3 - n) at n = 11 (random pairings)
    assert spearman_critical_rho(6) == pytest.approx(0.886, abs=1e-3)
    assert spearman_critical_rho(7) == pytest.approx(0.786, abs=1e-3)
    assert spearman_critical_rho(11, seed=13) == pytest.approx(0.618, abs=12 / 1320 + 1e-9)
    assert np.isnan(spearman_critical_rho(4))  # 2 / 4! > 0.05: no rho reaches it
