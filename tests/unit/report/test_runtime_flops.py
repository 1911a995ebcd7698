"""otkd.report.runtime.encoder_flops_per_token: the FLOP count the cost section divides by."""

from __future__ import annotations

import pytest
from otkd.report.runtime import encoder_flops_per_token


def test_hand_counted_toy_encoder():
    # hidden 2, feed-forward 4, length 3: 8*2^2 + 4*2*4 + 4*3*2 = 32 + 32 + 24 = 88 per layer
    assert encoder_flops_per_token(2, 4, 1, 3) == 88
    assert encoder_flops_per_token(2, 4, 5, 3) == 5 * 88
    assert encoder_flops_per_token(2, 4, 1, 3, training=True) == 3 * 88


def test_e5_small_at_the_mean_candidate_length():
    # 12 x (1,179,648 + 2,359,296 + 350,208): about 2 x its 21 M non-embedding parameters
    flops = encoder_flops_per_token(384, 1536, 12, 228)
    assert flops == 46_669_824
    assert flops == pytest.approx(2 * 21.2e6, rel=0.11)
