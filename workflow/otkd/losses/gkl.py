"""Generalized KL distillation (Cui et al., GKL) of in-batch similarity distributions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Features

# The paper's GKL-KD defaults (official code github.com/jiequancui/DKL, ``DKLv2/KD-dkl``,
# ImageNet ResNet34 -> ResNet18 config ``imagenet_config_gkl/r34_r18_gkl_kd.yaml``: ALPHA 1.0,
# BETA 0.5, GAMMA 0.6, T2 = T = 1.0), except the temperature: cosine scores need the
# project's KL range (0.02 to 0.1, tuned on dev); ``weight_temperature`` None means tau.
DEFAULTS = {
    "temperature": 0.05,
    "alpha": 1.0,
    "beta": 0.5,
    "gamma": 0.6,
    "weight_temperature": None,
}


def pairwise_wmse(z_s: torch.Tensor, z_t: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    r"""GKL's weighted MSE on pairwise logit differences, normalised by the total weight.

    .. math::
        \frac{\tfrac14 \sum_{i,j,k} w_{ij} w_{ik}\,
               \bigl((z^s_{ij} - z^s_{ik}) - (z^t_{ij} - z^t_{ik})\bigr)^2}
              {\sum_{i,j,k} w_{ij} w_{ik}}

    for ``(N, C)`` logits and non-negative ``(N, C)`` weights (their ``p_n`` is the outer
    product of ``weights`` with itself), computed in O(N C) through
    :math:`\sum_{jk} w_j w_k (d_j - d_k)^2 = 2 S \sum_j w_j (d_j - \bar d)^2`,
    :math:`d = z^s - z^t`, :math:`S = \sum_j w_j`, :math:`\bar d = \sum_j w_j d_j / S`
    (centred, so no cancellation).
    """
    d = z_s.float() - z_t.float()
    w = weights.float()
    total = w.sum(-1)
    mean = (w * d).sum(-1, keepdim=True) / total[:, None]
    pair_sum = 2.0 * total * (w * (d - mean).pow(2)).sum(-1)
    return 0.25 * pair_sum.sum() / total.pow(2).sum()


class GKLDistillation(nn.Module):
    r"""Generalized KL (GKL) distillation of in-batch similarity distributions.

    Source: Cui, Tian, Zhong, Qi, Yu and Zhang, "Generalized Kullback-Leibler Divergence
    Loss", arXiv 2503.08038 (extending their "Decoupled Kullback-Leibler Divergence Loss",
    NeurIPS 2024, arXiv 2305.13948), and their code (github.com/jiequancui/DKL,
    ``DKLv2/KD-dkl/mdistiller/distillers/GKL_KD.py``, ``dkl_loss``).

    Decoupling (their Theorem): for teacher logits ``z^t`` and student logits ``z^s`` over C
    classes, ``p = softmax(z^t)``, ``q = softmax(z^s)``, with
    :math:`\Delta_{jk} = z_j - z_k`, the gradients of ``KL(p || q)`` equal those of

    .. math::
        \underbrace{\tfrac14 \sum_{j,k} \bar w_{jk}\,(\Delta^t_{jk} - \bar\Delta^s_{jk})^2}
            _{\text{wMSE, moves } z^t}
        \; + \; \underbrace{-\sum_j \bar p_j \log q_j}_{\text{soft-label CE, moves } z^s},
        \qquad w_{jk} = p_j p_k,

    (bars: no gradient). In distillation the teacher is frozen, so KL reduces to its
    soft-label cross-entropy and the wMSE term is dead. GKL "breaks the asymmetry": the wMSE
    acts on the student's logit differences, with smoothed weights
    :math:`\tilde s = \operatorname{softmax}(z^t / T_2)^{\gamma}`,
    :math:`w_{jk} = \tilde s_j \tilde s_k` (their code, ``GI: False`` branch):

    .. math::
        L_{GKL} = \alpha\, \mathrm{CE}(p, q)
            + \beta\, \frac{\tfrac14 \sum_{i,j,k} w_{ijk} (\Delta^s_{ijk} - \Delta^t_{ijk})^2}
                           {\sum_{i,j,k} w_{ijk}}

    (the wMSE is normalised by the total weight over the batch, as in their code, which is
    the batch mean when gamma = 1).

    Adaptation to in-batch retrieval, with the notation of
    :class:`~otkd.losses.KLDistillation` (teacher English ``u_j``, student ``v_i``, all
    L2-normalised): the logits of row i over the batch's English sentences are
    :math:`z^t_{ij} = u_i \cdot u_j / \tau` and :math:`z^s_{ij} = v_i \cdot u_j / \tau`,
    :math:`\tilde s_{ij} = \operatorname{softmax}_j(u_i \cdot u_j / T_2)^{\gamma}`, and

    .. math::
        L = \tau^2 \Bigl[\alpha\, \frac{1}{B} \sum_i \mathrm{KL}(p_i \,\Vert\, q_i)
            + \beta\, \frac{\tfrac14 \sum_{i,j,k} w_{ijk} (\Delta^s_{ijk} - \Delta^t_{ijk})^2}
                           {\sum_{i,j,k} w_{ijk}} \Bigr].

    Differences from their code: (1) the soft-label term is written as KL = CE - H(p_i): the
    teacher entropy is a constant with no gradient, and subtracting it makes the loss 0 at
    the teacher and ``alpha = 1, beta = 0`` exactly :class:`~otkd.losses.KLDistillation`;
    (2) the ``tau^2`` factor of the project's KL (Hinton et al. 2015) multiplies both terms,
    so ``tau^2 * wMSE`` is the wMSE of the cosine scores themselves, independent of tau; at
    their T = 1 (ImageNet) this is their loss up to the constant; (3) their "class-wise
    global information" (``GI: True``: weights from the previous epoch's mean teacher
    prediction over the samples of each class) has no analogue here: the candidates of an
    in-batch distribution are the batch's own sentences and change every batch, so the
    sample-wise smoothed teacher weights (their ``GI: False``) are used; (4) their warm-up of
    the loss weight over the first epochs is a schedule, not part of the loss. The pairwise
    sum is computed in O(B^2) by
    :math:`\sum_{jk} s_j s_k (d_j - d_k)^2 = 2 S \sum_j s_j (d_j - \bar d)^2`, with
    :math:`d = z^s - z^t`, :math:`S = \sum_j s_j`, :math:`\bar d = \sum_j s_j d_j / S`.

    Inputs: ``student.pooled`` and ``teacher.pooled``, ``(B, d)``, B >= 2.

    Args:
        temperature: tau > 0 of the in-batch softmax.
        alpha: weight >= 0 of the KL (soft-label) term.
        beta: weight >= 0 of the wMSE term (0: plain KL).
        gamma: smoothing exponent > 0 of the weights (1: the teacher's probabilities).
        weight_temperature: T_2 > 0 of the weights' softmax; None: tau (their configs use
            T_2 = T).
    """

    uses_tokens = False  # whether forward reads Features.tokens / mask

    def __init__(
        self,
        temperature: float = DEFAULTS["temperature"],
        alpha: float = DEFAULTS["alpha"],
        beta: float = DEFAULTS["beta"],
        gamma: float = DEFAULTS["gamma"],
        weight_temperature: float | None = DEFAULTS["weight_temperature"],
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"GKL temperature must be > 0, got {temperature}")
        if weight_temperature is not None and weight_temperature <= 0:
            raise ValueError(f"GKL weight_temperature must be > 0, got {weight_temperature}")
        if gamma <= 0:
            raise ValueError(f"GKL gamma must be > 0, got {gamma}")
        for name, value in (("alpha", alpha), ("beta", beta)):
            if value < 0:
                raise ValueError(f"GKL {name} must be >= 0, got {value}")
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.gamma = float(gamma)
        self.weight_temperature = None if weight_temperature is None else float(weight_temperature)

    def terms(self, student: Features, teacher: Features) -> tuple[torch.Tensor, torch.Tensor]:
        """``(kl, wmse)``: the batch-mean KL and the normalised wMSE, before tau^2 and weights."""
        tau = self.temperature
        u = teacher.pooled
        z_t = u @ u.T / tau
        z_s = student.pooled @ u.T / tau
        log_p = F.log_softmax(z_t, dim=-1)
        kl = F.kl_div(F.log_softmax(z_s, dim=-1), log_p, reduction="batchmean", log_target=True)
        if self.beta == 0:
            return kl, kl.new_zeros(())
        with torch.no_grad():
            t2 = self.weight_temperature or tau
            s = F.softmax((u @ u.T).float() / t2, dim=-1).pow(self.gamma)
        wmse = pairwise_wmse(z_s, z_t, s)
        return kl, wmse

    def forward(self, student: Features, teacher: Features) -> torch.Tensor:
        """The scalar loss of one batch."""
        kl, wmse = self.terms(student, teacher)
        tau = self.temperature
        loss = self.alpha * kl
        if self.beta:
            loss = loss + self.beta * wmse
        return tau * tau * loss

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, alpha={self.alpha}, beta={self.beta}, "
            f"gamma={self.gamma}, weight_temperature={self.weight_temperature}"
        )
