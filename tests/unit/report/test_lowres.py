"""low_resource.tsv: rank correlations of per-language gains with the untrained student's
score, on a synthetic table.tsv whose trends (and so the signs of rho) are planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from otkd.report.lowres import LOW_RESOURCE_COLUMNS, build_low_resource, power_note
from otkd.report.markdown import summary_markdown
from otkd.stats import spearman_critical_rho
from scipy import stats as sps

LANGS = ["th", "hi", "ar", "el", "es", "de", "ru", "zh"]  # weakest to strongest student_init
GROUPS = {"lower_resource": ["th", "hi", "ar", "el"], "higher_resource": ["es", "de", "ru", "zh"]}
INIT = dict(zip(LANGS, np.linspace(0.2, 0.9, len(LANGS)), strict=True))
KL_GAIN = dict(zip(LANGS, np.linspace(0.30, 0.02, len(LANGS)), strict=True))  # falls with init
OT_EDGE = dict(zip(LANGS, np.linspace(-0.03, 0.04, len(LANGS)), strict=True))  # rises with init
MSE_GAIN = dict(zip(LANGS, [0.05, 0.01, 0.04, 0.02, 0.06, 0.015, 0.03, 0.025], strict=True))


def synthetic_table() -> pd.DataFrame:
    """table.tsv rows of two experiments (``cross`` with kl, ot, mse; ``self`` with kl only):
    nDCG@10 carries the planted trends; RR@10 (not the main measure) the reverse; English
    and the mean rows carry values that would break the trends if they were counted."""
    rows = []

    def add(exp, task, lang, arm, metric, value):
        group = "english" if lang == "en" else ("all" if lang == "mean" else "x")
        rows.append([exp, task, lang, group, arm, metric, value, np.nan, 1, 1])

    for exp, arms in (("cross", ["teacher", "student_init", "mse", "kl", "ot"]),
                      ("self", ["teacher", "student_init", "kl"])):  # fmt: skip
        for lang in LANGS:
            score = {
                "teacher": 0.99,
                "student_init": INIT[lang],
                "kl": INIT[lang] + KL_GAIN[lang],
                "ot": INIT[lang] + KL_GAIN[lang] + OT_EDGE[lang],
                "mse": INIT[lang] + MSE_GAIN[lang],
            }
            for arm in arms:
                add(exp, "x2en", lang, arm, "nDCG@10", score[arm])
                add(exp, "x2en", lang, arm, "RR@10", 1 - score[arm])
        for arm in arms:
            add(exp, "x2en", "en", arm, "nDCG@10", 0.0 if arm == "student_init" else 1.0)
            add(exp, "x2en", "mean", arm, "nDCG@10", 0.01)
            add(exp, "en2en", "en", arm, "nDCG@10", 0.5)
    columns = ["experiment", "task", "lang", "group", "arm", "metric", "mean", "sd",
               "n_seeds", "n_langs"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def test_low_resource_rows_signs_and_group_means():
    lr = build_low_resource(synthetic_table(), GROUPS, n_resamples=500, seed=1)
    assert list(lr.columns) == LOW_RESOURCE_COLUMNS
    # en2en has no target language; self has no ot, so no ot_minus_kl
    assert lr[["experiment", "task", "quantity"]].values.tolist() == [
        ["cross", "x2en", "gain_kl"], ["cross", "x2en", "gain_ot"],
        ["cross", "x2en", "gain_mse"], ["cross", "x2en", "ot_minus_kl"],
        ["self", "x2en", "gain_kl"],
    ]  # fmt: skip
    assert set(lr["measure"]) == {"nDCG@10"} and set(lr["n_languages"]) == {8}
    # the |rho| p < 0.05 needs, under the same 500 pairings, on every row
    assert set(lr["critical_rho"]) == {spearman_critical_rho(8, n_resamples=500, seed=1)}
    r = lr[lr["experiment"] == "cross"].set_index("quantity")
    # KL's gain falls as the student's score rises: rho = -1 (English, means not counted),
    # at the smallest p 500 random pairings allow (8! = 40320 > 500)
    assert r.loc["gain_kl", "spearman_rho"] == -1.0
    assert r.loc["gain_kl", "p_value"] == pytest.approx(2 / 501)
    # OT's edge over KL rises with the score: rho = +1
    assert r.loc["ot_minus_kl", "spearman_rho"] == 1.0
    # gain_ot = kl gain 0.30..0.02 + edge -0.03..0.04: still falling overall
    assert r.loc["gain_ot", "spearman_rho"] == -1.0
    # mse: no trend (distinct gains, so no ties for rounding to break): rho of MSE_GAIN
    # against the order of LANGS
    mse_rho = sps.spearmanr(list(MSE_GAIN.values()), range(8)).statistic
    assert r.loc["gain_mse", "spearman_rho"] == pytest.approx(mse_rho)
    assert abs(mse_rho) < 0.3 and r.loc["gain_mse", "p_value"] > 0.3
    low = np.mean([KL_GAIN[la] for la in GROUPS["lower_resource"]])
    high = np.mean([KL_GAIN[la] for la in GROUPS["higher_resource"]])
    assert r.loc["gain_kl", "low_mean"] == pytest.approx(low)
    assert r.loc["gain_kl", "high_mean"] == pytest.approx(high)
    assert r.loc["ot_minus_kl", "low_mean"] < 0 < r.loc["ot_minus_kl", "high_mean"]
    # the p-values are seeded: the same seed, the same table
    again = build_low_resource(synthetic_table(), GROUPS, n_resamples=500, seed=1)
    pd.testing.assert_frame_equal(lr, again)


def test_low_resource_skips_missing_languages_and_student_init():
    table = synthetic_table()
    table = table[~((table["arm"] == "ot") & (table["lang"] == "zh"))]
    table = table[~((table["experiment"] == "self") & (table["arm"] == "student_init"))]
    lr = build_low_resource(table, GROUPS, n_resamples=200, seed=0)
    assert set(lr["experiment"]) == {"cross"}  # self: no student_init, no rows
    n = lr.set_index("quantity")["n_languages"]
    assert n["gain_ot"] == 7 and n["ot_minus_kl"] == 7 and n["gain_kl"] == 8
    legacy = build_low_resource(table.drop(columns="experiment"), GROUPS, n_resamples=200)
    assert set(legacy["experiment"]) == {"cross"}  # otkd.runs.LEGACY_EXPERIMENT


def test_power_note_and_summary_section():
    note = power_note(11, n_resamples=10000, seed=13)
    assert "2.0e-04" in note and "|rho| must reach 0.6" in note
    assert "exact over all 6! pairings" in power_note(6) and "0.89" in power_note(6)
    assert "no rho reaches" in power_note(4)
    table = synthetic_table()
    lr = build_low_resource(table, GROUPS, n_resamples=200, seed=0)
    comparison = pd.DataFrame(columns=["experiment", "arm"])
    md = summary_markdown(table, comparison, low_resource=lr, low_resource_note=note)
    cross = md[md.index("## Experiment `cross`") : md.index("## Experiment `self`")]
    assert "### Gains against the untrained student's score" in cross
    assert "| x2en | nDCG@10 | ot_minus_kl | 8 | 1.00 |" in cross and note in cross
    assert "ot_minus_kl" not in md[md.index("## Experiment `self`") :]
