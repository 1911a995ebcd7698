"""WKD (distribution-level OT) and GKL (generalized KL) losses: POT parity, exact formulas,
reduction to KL, hand-computed values, bf16 and configuration."""

from __future__ import annotations

import math

import ot
import pytest
import torch
import torch.nn.functional as F
from otkd.losses import (
    Features,
    GKLDistillation,
    KLDistillation,
    WKDDistillation,
    build_loss,
)
from otkd.losses.gkl import DEFAULTS as GKL_DEFAULTS
from otkd.losses.gkl import pairwise_wmse
from otkd.losses.wkd import DEFAULTS as WKD_DEFAULTS
from otkd.losses.wkd import wkd_cost

pytestmark = pytest.mark.usefixtures("one_thread")


def unit(b, d=8, *, seed, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(b, d, generator=gen, dtype=torch.float64), dim=-1).to(dtype)


def pair(b=6, d=8, *, seed, noise=0.7):
    """Teacher ``u`` and a student ``v`` near it (so the distributions overlap)."""
    u = unit(b, d, seed=seed, dtype=torch.float64)
    v = F.normalize(u + noise * unit(b, d, seed=seed + 1000, dtype=torch.float64), dim=-1)
    return u.float(), v.float()


# ---------------------------------------------------------------- WKD: reference with POT


def wkd_reference(v, u, *, tau, eps, n_iter, kappa, target_weight, wd_weight, stop=0.0):
    """WKD written out per row in float64 with POT's Sinkhorn for the OT part."""
    u, v = u.double(), v.double()
    b = u.shape[0]
    p = torch.softmax(u @ u.T / tau, -1)
    q = torch.softmax(v @ u.T / tau, -1)
    cost = 1.0 - torch.exp(-kappa * (1.0 - u @ u.T))
    total = 0.0
    for i in range(b):
        keep = [j for j in range(b) if j != i]
        pt, qt = p[i, i], q[i, i]
        target = pt * torch.log(pt / qt) + (1 - pt) * torch.log((1 - pt) / (1 - qt))
        p_hat, q_hat = p[i, keep] / (1 - pt), q[i, keep] / (1 - qt)
        wd = ot.sinkhorn2(
            q_hat, p_hat, cost[keep][:, keep].clamp_min(0), eps,
            method="sinkhorn_log", numItermax=n_iter, stopThr=stop, warn=False,
        )  # fmt: skip
        total = total + target_weight * target + wd_weight * wd
    return total / b


@pytest.mark.parametrize(
    ("tau", "eps", "n_iter", "stop"),
    [(0.1, 0.05, 10, 0.0), (0.05, 0.05, 10, 0.0), (0.1, 0.1, 3, 0.0), (0.1, 0.05, 2000, 1e-12)],
)
def test_wkd_matches_pot_value_and_gradient(tau, eps, n_iter, stop):
    """Fixed-iteration (their 10) and converged Sinkhorn: value and unrolled gradient."""
    u, v = pair(6, seed=1)
    loss = WKDDistillation(tau, eps=eps, n_iter=n_iter, kappa=1.5, target_weight=0.7, wd_weight=2.0)
    vs = v.clone().requires_grad_(True)
    ours = loss(Features(vs), Features(u))
    (g_ours,) = torch.autograd.grad(ours, vs)
    vr = v.double().requires_grad_(True)
    ref = wkd_reference(
        vr, u, tau=tau, eps=eps, n_iter=n_iter, kappa=1.5, target_weight=0.7, wd_weight=2.0,
        stop=stop,
    )  # fmt: skip
    (g_ref,) = torch.autograd.grad(ref, vr)
    assert float(ours.detach()) == pytest.approx(float(ref.detach()), abs=1e-5)
    assert torch.allclose(g_ours.double(), g_ref, atol=1e-4, rtol=1e-4)


def test_wkd_ot_part_per_row_matches_pot_sinkhorn_and_emd():
    """The per-row WD against ``ot.sinkhorn2`` (their 10 iterations) and, as eps -> 0,
    against the exact ``ot.emd2`` (the bias bound is eps * log(n^2); the
    optimum is a vertex here and the gap is ~1e-6 at eps 0.005)."""
    u, v = pair(5, seed=2)
    cost = wkd_cost(u.double(), 1.0).double()
    _, wd10, p_hat, q_hat = WKDDistillation(0.1, eps=0.05, n_iter=10).split(
        Features(v), Features(u)
    )
    small = 0.005
    _, wd0, _, _ = WKDDistillation(0.1, eps=small, n_iter=3000).split(Features(v), Features(u))
    for i in range(5):
        keep = [j for j in range(5) if j != i]
        a, b = q_hat[i, keep].double(), p_hat[i, keep].double()
        assert float(a.sum()) == pytest.approx(1.0, abs=1e-6) and float(q_hat[i, i]) == 0.0
        c = cost[keep][:, keep]
        ref = ot.sinkhorn2(a, b, c, 0.05, method="sinkhorn_log", numItermax=10, stopThr=0.0,
                           warn=False)  # fmt: skip
        assert float(wd10[i]) == pytest.approx(float(ref), abs=1e-5)
        exact = float(ot.emd2(a.numpy(), b.numpy(), c.numpy()))
        assert float(wd0[i]) == pytest.approx(exact, abs=1e-5)  # bound: eps * log(n^2)


def test_wkd_tol_stops_early_at_the_converged_value():
    """The config's setting (many iterations, ``tol`` early stop) gives the converged value
    and gradient of a fixed long run, while 10 iterations at small eps do not."""
    u, v = pair(8, seed=3)
    kwargs = {"eps": 0.02, "kappa": 1.0, "target_weight": 0.0, "wd_weight": 1.0}

    def value_and_grad(**extra):
        vs = v.clone().requires_grad_(True)
        out = WKDDistillation(0.05, **kwargs, **extra)(Features(vs), Features(u))
        return float(out.detach()), torch.autograd.grad(out, vs)[0]

    fixed, g_fixed = value_and_grad(n_iter=3000)
    early, g_early = value_and_grad(n_iter=3000, tol=1e-7)
    assert early == pytest.approx(fixed, abs=1e-6)
    assert torch.allclose(g_early, g_fixed, atol=1e-5)
    ten, _ = value_and_grad(n_iter=10)
    assert abs(ten - fixed) > 1e-3  # the unconverged plan the config avoids
    with pytest.raises(ValueError, match="tol"):
        WKDDistillation(tol=-1.0)


def test_wkd_cost_hand_computed_3x3():
    r = 1.0 / math.sqrt(2.0)
    u = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [r, r, 0.0]])
    far = 0.8646647167633873  # 1 - exp(-2 * (1 - 0))
    near = 0.44333209496430814  # 1 - exp(-2 * (1 - 1/sqrt 2))
    expected = torch.tensor([[0.0, far, near], [far, 0.0, near], [near, near, 0.0]])
    assert torch.allclose(wkd_cost(u, kappa=2.0), expected, atol=1e-6)
    assert float(wkd_cost(u, kappa=2.0).min()) >= 0.0


def test_wkd_target_term_is_binary_kl_and_wd_weight_zero_skips_ot():
    u, v = pair(5, seed=3)
    loss = WKDDistillation(0.07, target_weight=1.0, wd_weight=0.0)
    p = torch.softmax(u.double() @ u.double().T / 0.07, -1).diagonal()
    q = torch.softmax(v.double() @ u.double().T / 0.07, -1).diagonal()
    expected = (p * (p / q).log() + (1 - p) * ((1 - p) / (1 - q)).log()).mean()
    assert float(loss(Features(v), Features(u))) == pytest.approx(float(expected), abs=1e-6)


# ---------------------------------------------------------------- WKD: properties


def test_wkd_minimal_at_teacher_positive_otherwise():
    u, _ = pair(8, seed=4)
    loss = WKDDistillation()
    target, wd, _, _ = loss.split(Features(u.clone()), Features(u))
    assert float(target.abs().max()) < 1e-6  # the target term is exactly 0 at the teacher
    assert float(wd.max()) < 2e-3  # the entropic blur only: eps 0.05 << costs ~0.5
    at_teacher = float(loss(Features(u.clone()), Features(u)))
    for seed in range(5):
        for noise in (0.05, 0.3, 1.0):
            v = F.normalize(u + noise * unit(8, seed=50 + seed), dim=-1)
            assert float(loss(Features(v), Features(u))) > at_teacher


def test_wkd_gradients_finite_nonzero_and_decrease_towards_teacher():
    u, v = pair(6, seed=5)
    vs = v.clone().requires_grad_(True)
    loss = WKDDistillation()
    value = loss(Features(vs), Features(u))
    value.backward()
    assert torch.isfinite(value) and float(value.detach()) > 0
    assert torch.isfinite(vs.grad).all() and float(vs.grad.abs().sum()) > 0
    closer = F.normalize(v + 2.0 * u, dim=-1)
    assert float(loss(Features(closer), Features(u))) < float(value.detach())


def test_wkd_stable_when_target_probability_rounds_to_one():
    """tau 0.01 with the student on the teacher: p_ii is 1 in float32, nothing is NaN."""
    u = F.normalize(torch.eye(6, 8) + 0.01, dim=-1)
    vs = u.clone().requires_grad_(True)
    assert float(torch.softmax(u @ u.T / 0.01, -1)[0, 0]) == 1.0
    value = WKDDistillation(0.01)(Features(vs), Features(u))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(vs.grad).all()


def test_wkd_batch_permutation_invariant_and_rejects_tiny_batches():
    u, v = pair(7, seed=6)
    perm = torch.tensor([3, 0, 6, 1, 5, 2, 4])
    loss = WKDDistillation()
    ref = float(loss(Features(v), Features(u)))
    assert float(loss(Features(v[perm]), Features(u[perm]))) == pytest.approx(ref, abs=1e-5)
    with pytest.raises(ValueError, match=">= 3"):
        loss(Features(v[:2]), Features(u[:2]))
    with pytest.raises(ValueError, match="eps"):
        WKDDistillation(eps=0)


# ---------------------------------------------------------------- GKL


@pytest.mark.parametrize("tau", [0.02, 0.05, 0.1, 1.0])
def test_gkl_without_wmse_is_exactly_kl(tau):
    u, v = pair(7, seed=7)
    gkl = GKLDistillation(tau, alpha=1.0, beta=0.0, gamma=0.6)
    kl = KLDistillation(tau)
    assert float(gkl(Features(v), Features(u))) == pytest.approx(
        float(kl(Features(v), Features(u))), abs=1e-6, rel=1e-6
    )


def test_decoupled_form_reproduces_kl_gradients():
    """Their theorem: d KL(p||q)/d z_t equals the gradient of (1/4) sum p_j p_k (dz_t - dz_s)^2
    (weights fixed), i.e. minus the student gradient of GKL's wMSE with gamma = 1."""
    gen = torch.Generator().manual_seed(8)
    z_t = (3 * torch.randn(4, 6, generator=gen, dtype=torch.float64)).requires_grad_(True)
    z_s = (3 * torch.randn(4, 6, generator=gen, dtype=torch.float64)).requires_grad_(True)
    kl = F.kl_div(F.log_softmax(z_s.detach(), -1), F.log_softmax(z_t, -1), reduction="batchmean",
                  log_target=True)  # fmt: skip
    (g_kl,) = torch.autograd.grad(kl, z_t)
    wmse = pairwise_wmse(z_s, z_t.detach(), torch.softmax(z_t.detach(), -1))
    (g_w,) = torch.autograd.grad(wmse, z_s)
    assert torch.allclose(g_w.double(), -g_kl, atol=1e-6)
    assert float(g_kl.abs().max()) > 1e-3


def test_pairwise_wmse_hand_computed():
    ln2 = math.log(2.0)
    uniform = pairwise_wmse(
        torch.tensor([[0.0, ln2, 0.0]]), torch.zeros(1, 3), torch.full((1, 3), 1 / 3)
    )
    assert float(uniform) == pytest.approx(ln2**2 / 9, abs=1e-7)  # 4 pairs * ln2^2 / 9 / 4
    # weights (1, 2, 0): only the pair (0, 1) counts: 1/4 * 2 * (1*2) * 1^2 / (1+2)^2 = 1/9
    skewed = pairwise_wmse(
        torch.tensor([[0.0, 1.0, 5.0]]), torch.zeros(1, 3), torch.tensor([[1.0, 2.0, 0.0]])
    )
    assert float(skewed) == pytest.approx(1 / 9, abs=1e-7)


def test_gkl_equals_explicit_pairwise_formula():
    tau, alpha, beta, gamma, t2 = 0.05, 0.8, 0.5, 0.6, 0.1
    u, v = pair(5, seed=9)
    gkl = GKLDistillation(tau, alpha=alpha, beta=beta, gamma=gamma, weight_temperature=t2)
    ud, vd = u.double(), v.double()
    z_t, z_s = ud @ ud.T / tau, vd @ ud.T / tau
    p, q = torch.softmax(z_t, -1), torch.softmax(z_s, -1)
    s = torch.softmax(ud @ ud.T / t2, -1) ** gamma
    num = den = 0.0
    for i in range(5):
        for j in range(5):
            for k in range(5):
                w = s[i, j] * s[i, k]
                diff = (z_s[i, j] - z_s[i, k]) - (z_t[i, j] - z_t[i, k])
                num, den = num + w * diff**2, den + w
    kl = (p * (p / q).log()).sum(-1).mean()
    expected = tau**2 * (alpha * kl + beta * 0.25 * num / den)
    assert float(gkl(Features(v), Features(u))) == pytest.approx(float(expected), rel=1e-5)
    assert float(expected) > tau**2 * alpha * float(kl) * 1.001  # the wMSE term counts


def test_gkl_zero_at_teacher_positive_with_gradients():
    u, v = pair(6, seed=10)
    gkl = GKLDistillation()
    assert float(gkl(Features(u.clone()), Features(u))) == pytest.approx(0.0, abs=1e-7)
    vs = v.clone().requires_grad_(True)
    value = gkl(Features(vs), Features(u))
    value.backward()
    assert (
        float(value.detach()) > 0
        and torch.isfinite(vs.grad).all()
        and float(vs.grad.abs().sum()) > 0
    )


# ---------------------------------------------------------------- bf16 and config


@pytest.mark.parametrize("name", ["wkd", "gkl"])
def test_bf16_autocast_finite_and_close(name):
    loss = build_loss(name, {})
    u, v = pair(8, d=16, seed=11, noise=3.0)
    u, v = u.bfloat16(), v.bfloat16()
    ref = float(loss(Features(v.float()), Features(u.float())))  # same inputs, float32
    vs = v.clone().requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(Features(vs), Features(u))
    value.float().backward()
    assert torch.isfinite(value) and torch.isfinite(vs.grad.float()).all()
    assert float(value.detach()) == pytest.approx(ref, rel=0.02)


def test_build_loss_reads_wkd_and_gkl_sections():
    cfg = {
        "wkd": {"temperature": 0.07, "eps": 0.1, "n_iter": 20, "kappa": 2.0, "wd_weight": 5.0},
        "gkl": {"temperature": 0.03, "beta": 2.0, "gamma": 0.2, "weight_temperature": 0.1},
    }
    wkd = build_loss("wkd", cfg)
    assert isinstance(wkd, WKDDistillation) and not wkd.uses_tokens
    assert (wkd.temperature, wkd.eps, wkd.n_iter, wkd.kappa) == (0.07, 0.1, 20, 2.0)
    assert (wkd.wd_weight, wkd.target_weight) == (5.0, WKD_DEFAULTS["target_weight"])
    gkl = build_loss("gkl", cfg)
    assert isinstance(gkl, GKLDistillation) and not gkl.uses_tokens
    assert (gkl.temperature, gkl.beta, gkl.gamma, gkl.weight_temperature) == (0.03, 2.0, 0.2, 0.1)
    assert gkl.alpha == GKL_DEFAULTS["alpha"]
    default = build_loss("wkd", {})
    assert (default.eps, default.n_iter, default.kappa) == (0.05, 10, 1.0)
    with pytest.raises(ValueError, match=r"train\.gkl"):
        build_loss("gkl", {"gkl": {"temprature": 0.1}})


@pytest.mark.parametrize("arm", ["wkd", "gkl"])
def test_schema_defaults_equal_module_defaults(arm):
    """The config schema's train.<arm> defaults are the loss module's DEFAULTS."""
    from otkd.config import train_defaults
    from otkd.losses import gkl, wkd

    module = {"wkd": wkd, "gkl": gkl}[arm]
    assert train_defaults({})[arm] == module.DEFAULTS
