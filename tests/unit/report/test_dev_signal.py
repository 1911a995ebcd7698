"""The dev-signal resolution table (otkd.report.dev_signal) on curves with known answers."""

from __future__ import annotations

import pandas as pd
import pytest
from otkd.io import PipelineError
from otkd.report.dev_signal import dev_resolution, run_scores


def curves(runs: dict[tuple[str, int], list[float]]) -> pd.DataFrame:
    rows = []
    for (arm, seed), scores in runs.items():
        for i, score in enumerate(scores):
            for lang, shift in (("de", 0.01), ("all", 0.0)):
                rows.append({"experiment": "shared", "arm": arm, "seed": seed, "step": 10 * i,
                             "lang": lang, "fidelity": score + shift, "accuracy": 0.99})  # fmt: skip
    return pd.DataFrame(rows)


def test_resolution_compares_the_arm_spread_with_the_seed_spread():
    frame = curves({("kl", 1): [0.8, 0.85, 0.84], ("kl", 2): [0.8, 0.83, 0.86],
                    ("ot", 1): [0.8, 0.9, 0.95], ("ot", 2): [0.8, 0.93, 0.91]})  # fmt: skip
    runs = run_scores(frame)
    fid = runs[runs["metric"] == "fidelity"].set_index(["arm", "seed"])
    assert fid.loc[("kl", 1), ["best", "best_step", "last"]].tolist() == [0.85, 10, 0.84]
    assert fid.loc[("ot", 2), "best"] == 0.93
    table = dev_resolution(frame).set_index("metric")
    row = table.loc["fidelity"]
    assert row["untrained"] == pytest.approx(0.8) and row["headroom"] == pytest.approx(0.2)
    assert row["seed_spread"] == pytest.approx(0.02)  # ot: 0.95 vs 0.93 (kl: 0.85 vs 0.86)
    assert row["arm_spread"] == pytest.approx(0.94 - 0.855)
    assert row["resolution"] == pytest.approx(0.085 / 0.02)
    assert row["gain"] == pytest.approx((0.05 + 0.06 + 0.15 + 0.13) / 4)
    acc = table.loc["accuracy"]  # a saturated metric: no spread at all
    assert acc["arm_spread"] == 0 and pd.isna(acc["resolution"])


def test_a_curve_without_a_trained_step_is_an_error():
    with pytest.raises(PipelineError, match="kl seed 1"):
        run_scores(curves({("kl", 1): [0.8]}))
