"""Distillation losses: exact formulas, POT parity, padding, permutation, gradients."""

from __future__ import annotations

import numpy as np
import ot  # POT: pinned, imported directly so a broken install fails, never skips
import pytest
import torch
import torch.nn.functional as F
from otkd.losses import (
    CombinedDistillation,
    Features,
    KLDistillation,
    MSEDistillation,
    OTDistillation,
    build_loss,
    idf_table,
    sinkhorn_log,
)

D = 16


pytestmark = pytest.mark.usefixtures("one_thread")


def unit(*shape, generator):
    return F.normalize(torch.randn(*shape, generator=generator, dtype=torch.float32), dim=-1)


def make_side(lengths, *, width=None, seed=0, vocab=50, requires_grad=False):
    """Features with random unit token rows; padded rows hold large garbage."""
    gen = torch.Generator().manual_seed(seed)
    width = width or max(lengths)
    tokens = unit(len(lengths), width, D, generator=gen)
    mask = torch.zeros(len(lengths), width, dtype=torch.bool)
    for i, n in enumerate(lengths):
        mask[i, :n] = True
    tokens = torch.where(mask[..., None], tokens, 100.0 * torch.randn(tokens.shape, generator=gen))
    ids = torch.randint(0, vocab, (len(lengths), width), generator=gen)
    pooled = unit(len(lengths), D, generator=gen)
    if requires_grad:
        tokens.requires_grad_(True)
        pooled.requires_grad_(True)
    return Features(pooled, tokens, mask, ids)


def repad(feats: Features, extra: int, seed: int = 99) -> Features:
    """The same Features with ``extra`` more padded columns of garbage."""
    gen = torch.Generator().manual_seed(seed)
    b, _, d = feats.tokens.shape
    junk = 50.0 * torch.randn(b, extra, d, generator=gen)
    junk[:, 0, 0] = float("nan")  # padding may hold anything
    return Features(
        feats.pooled,
        torch.cat([feats.tokens, junk], 1),
        torch.cat([feats.mask, torch.zeros(b, extra, dtype=torch.bool)], 1),
        torch.cat([feats.token_ids, torch.randint(0, 50, (b, extra), generator=gen)], 1),
    )


def all_losses():
    table = idf_table([np.arange(i, i + 10) for i in range(40)], vocab_size=50)
    return {
        "mse": MSEDistillation(),
        "kl": KLDistillation(0.05),
        "ot": OTDistillation(0.05, n_iter=200, tol=0),
        "ot_unrolled": OTDistillation(0.1, n_iter=30, tol=0, plan_gradient="unrolled"),
        "ot_idf": OTDistillation(
            0.05, n_iter=200, tol=0, marginals="idf", student_idf=table, teacher_idf=table
        ),
        "ot_kl": CombinedDistillation(
            {OTDistillation(0.05, n_iter=100): 1.0, KLDistillation(0.05): 0.5}
        ),
    }


# ---------------------------------------------------------------- exact formulas


def test_mse_equals_formula():
    s, t = make_side([3, 4, 5], seed=1), make_side([2, 6, 1], seed=2)
    expected = sum(float(((s.pooled[i] - t.pooled[i]) ** 2).sum()) for i in range(3)) / 3
    assert float(MSEDistillation()(s, t)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("tau", [0.02, 0.05, 1.0])
def test_kl_equals_explicit_formula(tau):
    s, t = make_side([3] * 5, seed=3), make_side([4] * 5, seed=4)
    u, v = t.pooled.double(), s.pooled.double()
    total = 0.0
    for i in range(5):
        p = torch.softmax(torch.stack([u[i] @ u[j] / tau for j in range(5)]), 0)
        q = torch.softmax(torch.stack([v[i] @ u[j] / tau for j in range(5)]), 0)
        total += float((p * (p.log() - q.log())).sum())
    expected = tau**2 * total / 5
    assert float(KLDistillation(tau)(s, t)) == pytest.approx(expected, rel=1e-4, abs=1e-7)


def test_kl_is_zero_when_student_matches_teacher():
    t = make_side([2] * 4, seed=5)
    assert float(KLDistillation(0.05)(Features(t.pooled.clone()), t)) == pytest.approx(0, abs=1e-6)


# ---------------------------------------------------------------- OT against POT


@pytest.mark.parametrize("eps", [0.05, 0.1])
def test_ot_loss_matches_pot_per_pair(eps):
    s_len, t_len = [5, 9, 3, 7], [6, 4, 8, 7]
    s, t = make_side(s_len, seed=6), make_side(t_len, seed=7)
    loss = OTDistillation(eps, n_iter=500, tol=0)
    per_pair = []
    for i in range(4):
        xs = s.tokens[i, : s_len[i]].double()
        xt = t.tokens[i, : t_len[i]].double()
        cost = 1.0 - xs @ xt.T
        a = torch.full((s_len[i],), 1.0 / s_len[i], dtype=torch.float64)
        b = torch.full((t_len[i],), 1.0 / t_len[i], dtype=torch.float64)
        ref = float(ot.sinkhorn2(a, b, cost, eps, method="sinkhorn_log", numItermax=10000,
                                 stopThr=1e-12))  # fmt: skip
        plan = ot.bregman.sinkhorn_log(a, b, cost, eps, numItermax=10000, stopThr=1e-12)
        assert ref == pytest.approx(float((plan * cost).sum()), abs=1e-9)
        one = loss(
            Features(s.pooled[i : i + 1], s.tokens[i : i + 1], s.mask[i : i + 1]),
            Features(t.pooled[i : i + 1], t.tokens[i : i + 1], t.mask[i : i + 1]),
        )
        assert float(one) == pytest.approx(ref, abs=1e-4)
        per_pair.append(ref)
    assert float(loss(s, t)) == pytest.approx(np.mean(per_pair), abs=1e-4)


def test_sinkhorn_plan_matches_pot_and_marginals():
    gen = torch.Generator().manual_seed(8)
    cost = torch.rand(2, 6, 4, generator=gen, dtype=torch.float64) * 2
    a = torch.rand(2, 6, generator=gen, dtype=torch.float64) + 0.1
    b = torch.rand(2, 4, generator=gen, dtype=torch.float64) + 0.1
    a, b = a / a.sum(1, keepdim=True), b / b.sum(1, keepdim=True)
    plan = sinkhorn_log(cost, a, b, 0.1, n_iter=1000).double()
    for k in range(2):
        ref = ot.bregman.sinkhorn_log(a[k], b[k], cost[k], 0.1, numItermax=10000, stopThr=1e-12)
        assert torch.allclose(plan[k], ref, atol=1e-5)
    assert torch.allclose(plan.sum(2), a, atol=1e-5)
    assert torch.allclose(plan.sum(1), b, atol=1e-5)


def test_sinkhorn_early_stop_is_close_to_converged():
    s, t = make_side([6, 8], seed=9), make_side([7, 5], seed=10)
    full = OTDistillation(0.05, n_iter=1000, tol=0)(s, t)
    early = OTDistillation(0.05, n_iter=1000, tol=1e-6)(s, t)
    assert float(early) == pytest.approx(float(full), abs=1e-5)


def test_unrolled_and_envelope_agree_in_value_not_gradient():
    s = make_side([4, 6], seed=11, requires_grad=True)
    t = make_side([5, 3], seed=12)
    env = OTDistillation(0.1, n_iter=100, tol=0)(s, t)
    (g_env,) = torch.autograd.grad(env, s.tokens)
    unr = OTDistillation(0.1, n_iter=100, tol=0, plan_gradient="unrolled")(s, t)
    (g_unr,) = torch.autograd.grad(unr, s.tokens)
    assert float(env.detach()) == pytest.approx(float(unr.detach()), abs=1e-6)
    assert not torch.allclose(g_env, g_unr, atol=1e-6)


def test_idf_marginals_change_the_loss_and_weight_rare_tokens():
    table = idf_table([np.array([1, 2]), np.array([1, 3]), np.array([1, 4])], vocab_size=6)
    assert table[1] < table[2] == table[3] == table[4] < table[5]
    s, t = make_side([5, 6], seed=13, vocab=6), make_side([4, 7], seed=14, vocab=6)
    uniform = OTDistillation(0.05, n_iter=200, tol=0)(s, t)
    idf = OTDistillation(
        0.05, n_iter=200, tol=0, marginals="idf", student_idf=table, teacher_idf=table
    )(s, t)
    assert abs(float(uniform) - float(idf)) > 1e-4
    with pytest.raises(ValueError, match="idf"):
        OTDistillation(marginals="idf")


def test_ot_pair_without_content_tokens_is_left_out():
    s, t = make_side([3, 4], seed=15), make_side([5, 2], seed=16)
    loss = OTDistillation(0.05, n_iter=200, tol=0)
    ref = loss(
        Features(s.pooled[:1], s.tokens[:1], s.mask[:1]),
        Features(t.pooled[:1], t.tokens[:1], t.mask[:1]),
    )
    t.mask[1] = False
    out = loss(s, t)
    assert torch.isfinite(out) and float(out) == pytest.approx(float(ref), abs=1e-6)


# ---------------------------------------------------------------- shared properties


@pytest.mark.parametrize("name", list(all_losses()))
def test_padding_changes_no_loss(name):
    loss = all_losses()[name]
    s, t = make_side([3, 5, 2, 4], seed=17), make_side([4, 2, 6, 3], seed=18)
    ref = float(loss(s, t))
    assert float(loss(repad(s, 4), repad(t, 3, seed=5))) == pytest.approx(ref, abs=1e-5)


@pytest.mark.parametrize("name", list(all_losses()))
def test_batch_permutation_leaves_mean_loss_unchanged(name):
    loss = all_losses()[name]
    s, t = make_side([3, 5, 2, 4, 6], seed=19), make_side([4, 2, 6, 3, 5], seed=20)
    perm = torch.tensor([3, 0, 4, 1, 2])

    def take(f):
        return Features(f.pooled[perm], f.tokens[perm], f.mask[perm], f.token_ids[perm])

    assert float(loss(take(s), take(t))) == pytest.approx(float(loss(s, t)), abs=1e-5)


@pytest.mark.parametrize("name", list(all_losses()))
def test_gradients_finite_and_nonzero(name):
    loss = all_losses()[name]
    s = make_side([3, 5, 2, 4], seed=21, requires_grad=True)
    t = make_side([4, 2, 6, 3], seed=22)
    value = loss(s, t)
    assert torch.isfinite(value) and float(value.detach()) > 0
    value.backward()
    grads = [g for g in (s.pooled.grad, s.tokens.grad) if g is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    if s.tokens.grad is not None:  # padded rows get no gradient
        assert float(s.tokens.grad[~s.mask].abs().sum()) == 0.0


def test_ot_decreases_when_student_moves_towards_teacher():
    s, t = make_side([4, 4], seed=23), make_side([4, 4], seed=24)
    loss = OTDistillation(0.05, n_iter=200, tol=0)
    closer = Features(s.pooled, F.normalize(0.3 * s.tokens + t.tokens, dim=-1), s.mask)
    assert float(loss(closer, t)) < float(loss(s, t))


def test_combined_is_weighted_sum():
    s, t = make_side([3, 4], seed=25), make_side([5, 2], seed=26)
    ot_loss, kl_loss = OTDistillation(0.05), KLDistillation(0.1)
    combined = CombinedDistillation({ot_loss: 2.0, kl_loss: 0.5})
    expected = 2.0 * float(ot_loss(s, t)) + 0.5 * float(kl_loss(s, t))
    assert float(combined(s, t)) == pytest.approx(expected, rel=1e-6)
    assert combined.uses_tokens
    assert not CombinedDistillation({ot_loss: 0.0, kl_loss: 1.0}).uses_tokens


def test_build_loss_reads_config():
    cfg = {
        "kl": {"temperature": 0.07},
        "ot": {"eps": 0.08, "n_iter": 20, "tol": 0.0, "plan_gradient": "unrolled"},
        "ot_kl": {"ot_weight": 0.3, "kl_weight": 2.0},
    }
    assert isinstance(build_loss("mse", cfg), MSEDistillation)
    assert build_loss("kl", cfg).temperature == 0.07
    ot_loss = build_loss("ot", cfg)
    assert (ot_loss.eps, ot_loss.n_iter, ot_loss.plan_gradient) == (0.08, 20, "unrolled")
    combined = build_loss("ot_kl", cfg)
    assert combined.weights == [0.3, 2.0]
    with pytest.raises(ValueError, match="unknown arm"):
        build_loss("bleu", cfg)
