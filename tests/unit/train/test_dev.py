"""The dev scores (otkd.train.dev) on embeddings with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from otkd.train.dev import DEV_METRICS, dev_scores_from_embeddings
from scipy.stats import spearmanr


def unit(x):
    x = np.asarray(x, dtype=float)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def setup(n=12, d=6, seed=0):
    rng = np.random.default_rng(seed)
    pool = unit(rng.normal(size=(n, d)))
    langs = np.array(["de"] * n + ["fr"] * n)
    teacher = np.concatenate([pool, pool])  # both languages translate the same English
    gold = np.concatenate([np.arange(n), np.arange(n)])
    return pool, teacher, langs, np.arange(n), gold


def test_a_student_equal_to_the_teacher_scores_one_everywhere():
    _, teacher, langs, pool_rows, gold = setup()
    scores = dev_scores_from_embeddings(teacher, teacher, langs, pool_rows, gold)
    assert set(scores) == set(DEV_METRICS)
    for metric in DEV_METRICS:
        assert scores[metric] == pytest.approx({"de": 1.0, "fr": 1.0, "all": 1.0})


def test_ranks_and_fidelity_have_the_known_values():
    pool, teacher, langs, pool_rows, gold = setup()
    n = len(pool)
    rng = np.random.default_rng(1)
    student = unit(teacher + 0.8 * rng.normal(size=teacher.shape))
    scores = dev_scores_from_embeddings(student, teacher, langs, pool_rows, gold)
    s_pool, t_pool = student @ pool.T, teacher @ pool.T
    ranks = 1 + (s_pool > s_pool[np.arange(2 * n), gold][:, None]).sum(1)
    rhos = [
        spearmanr(np.delete(s_pool[i], gold[i]), np.delete(t_pool[i], gold[i]))[0]
        for i in range(2 * n)
    ]
    assert scores["mrr"]["de"] == pytest.approx(np.mean(1 / ranks[:n]))
    assert scores["fidelity"]["fr"] == pytest.approx(np.mean(rhos[n:]))
    assert scores["fidelity"]["all"] == pytest.approx(np.mean(rhos))
    assert 0 < scores["fidelity"]["all"] < 1 and scores["mrr"]["all"] < 1
    # accuracy@1 is within the language's own English only
    within = (student[:n] @ pool.T).argmax(1) == np.arange(n)
    assert scores["accuracy"]["de"] == pytest.approx(within.mean())


def test_fidelity_sees_what_accuracy_cannot():
    """A student that always retrieves the gold but ranks the rest at random keeps
    accuracy@1 and MRR at 1 while its fidelity falls well below 1."""
    pool, teacher, langs, pool_rows, gold = setup(n=40, d=48, seed=3)
    rng = np.random.default_rng(4)
    student = unit(3.0 * teacher + 0.5 * rng.normal(size=teacher.shape))
    scores = dev_scores_from_embeddings(student, teacher, langs, pool_rows, gold)
    assert scores["accuracy"]["all"] == 1.0 and scores["mrr"]["all"] == 1.0
    assert scores["fidelity"]["all"] < 0.9
