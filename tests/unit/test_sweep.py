"""The dev sweep: grid extension, tuned arms, the selected parameters and the sweep tables."""

from __future__ import annotations

import pandas as pd
import pytest
from otkd.io import PipelineError
from otkd.runs import (
    SWEEP,
    apply_selected,
    best_position,
    edge_name,
    explicit_params,
    extend_grid,
    needs_selection,
    resolve_settings,
    sweep_plan,
    sweep_round_values,
    tuned_arms,
)
from otkd.train.sweep import check_round, select, summarize_round


def test_extend_grid_steps_beyond_the_best_edge_with_the_grid_ratio():
    assert extend_grid([0.05, 0.1, 0.2], [0.1, 0.2, 0.3]) == 0.4  # upper edge: x2
    assert extend_grid([0.025, 0.05, 0.1], [0.9, 0.5, 0.1]) == 0.0125  # lower edge: /2
    assert extend_grid([0.05, 0.075, 0.1], [0.1, 0.1, 0.3]) == pytest.approx(0.1333)
    assert extend_grid([0.05, 0.1, 0.2], [0.1, 0.3, 0.2]) is None  # interior
    assert extend_grid([0.2, 0.05, 0.1], [0.2, 0.1, 0.3]) is None  # unsorted input
    assert extend_grid([0.1], [0.5]) == 0.2
    assert edge_name([0.05, 0.1], [0.9, 0.1]) == "lower"
    assert edge_name([0.05, 0.1], [0.1, 0.9]) == "upper"
    with pytest.raises(PipelineError, match="equal length"):
        extend_grid([0.1, 0.2], [0.3])


def test_ties_go_to_the_interior_then_to_the_smaller_value():
    assert best_position([0.1, 0.2, 0.4], [0.5, 0.5, 0.5]) == 1
    assert extend_grid([0.1, 0.2, 0.4], [0.5, 0.5, 0.4]) is None
    assert best_position([0.1, 0.2], [0.5, 0.5]) == 0
    assert extend_grid([0.1, 0.2], [0.5, 0.5]) == 0.05


def test_scores_within_the_tolerance_are_ties_won_by_the_interior():
    # the shared experiment's OT sweep after two extensions: eps 0.00625 leads 0.0125 by
    # 0.0007 of dev fidelity, below its measured seed spread (0.0021)
    eps = [0.00625, 0.0125, 0.025, 0.05, 0.1]
    fidelity = [0.8832, 0.8825, 0.8796, 0.8752, 0.8725]
    assert extend_grid(eps, fidelity) == 0.003125  # exact comparison: still the lower edge
    assert best_position(eps, fidelity, tolerance=0.002) == 1
    assert extend_grid(eps, fidelity, tolerance=0.002) is None  # 0.0125: interior
    check_round(pd.DataFrame({"value": eps, "best_dev_score": fidelity}), 2, 2, "x", 0.002)
    with pytest.raises(PipelineError, match="lower edge of the grid after 2 extension"):
        check_round(pd.DataFrame({"value": eps, "best_dev_score": fidelity}), 2, 2, "x")
    # a lead larger than the tolerance is not a tie: KL's temperature keeps climbing
    tau, kl = [0.05, 0.1, 0.2, 0.4], [0.8130, 0.8360, 0.8476, 0.8539]
    assert extend_grid(tau, kl, tolerance=0.002) == 0.8
    assert edge_name(tau, kl, tolerance=0.002) == "upper"
    # a tie of both edges and no interior value: the smaller value, as for exact ties
    assert extend_grid([0.1, 0.2], [0.5, 0.501], tolerance=0.002) == 0.05


def test_selection_and_rounds_read_the_tolerance(tmp_path):
    values, scores = [0.025, 0.05, 0.1], [0.881, 0.880, 0.87]
    curves = [
        write_curve(tmp_path / f"v{v}" / "c.tsv", [s]) for v, s in zip(values, scores, strict=True)
    ]
    table = summarize_round("ot", "eps", values, curves, "fidelity", n_grid=3)
    path = tmp_path / "round0.tsv"
    table.to_csv(path, sep="\t", index=False)
    cfg = {"ot_eps": values, "tolerance": 0.002}
    with pytest.raises(PipelineError, match="interior"):  # a tie: no further round
        sweep_round_values(cfg, "ot", path)
    assert sweep_round_values({"ot_eps": values}, "ot", path) == [*values, 0.0125]
    _, selected = select([path], [], tolerance=0.002)
    assert selected[["arm", "value", "source"]].values.tolist() == [["ot", 0.05, "sweep"]]
    with pytest.raises(PipelineError, match="not a final round"):
        select([path], [])


TRAIN = {
    "arms": ["mse", "kl", "ot", "wkd"],
    "kl": {"temperature": SWEEP},
    "ot": {"eps": 0.05, "n_iter": 50},
    "wkd": {"eps": SWEEP, "temperature": 0.05},
    "steps": 10,
}
SWEEP_CFG = {"steps": 5, "kl_temperature": [0.05, 0.1, 0.2], "ot_eps": [0.1, 0.2, 0.3],
             "wkd_eps": [0.02, 0.05, 0.1]}  # fmt: skip


def test_only_sweep_valued_parameters_are_tuned_and_numbers_win():
    assert tuned_arms(TRAIN, SWEEP_CFG) == ["kl", "wkd"]
    assert explicit_params(TRAIN) == [{"arm": "ot", "param": "eps", "value": 0.05}]
    assert [needs_selection(TRAIN, a) for a in ("mse", "kl", "ot", "wkd")] == [
        False, True, False, True,
    ]  # fmt: skip
    plan = sweep_plan(SWEEP_CFG, tuned_arms(TRAIN, SWEEP_CFG))
    assert sorted({r.arm for r in plan}) == ["kl", "wkd"] and len(plan) == 6
    # ot_kl reads the kl section: a swept kl temperature is tuned for it too
    assert tuned_arms({**TRAIN, "arms": ["ot_kl"]}, SWEEP_CFG) == ["kl"]
    assert sweep_plan(SWEEP_CFG, []) == []


def test_a_sweep_value_without_a_grid_names_both_keys():
    with pytest.raises(PipelineError, match=r"train\.kl\.temperature.*sweep\.kl_temperature"):
        tuned_arms(TRAIN, {"wkd_eps": [0.1]})


def test_unequal_grids_of_tuned_arms_are_an_error():
    with pytest.raises(PipelineError, match="same tuning budget"):
        sweep_plan({**SWEEP_CFG, "wkd_eps": [0.1]}, ["kl", "wkd"])


def test_selected_values_replace_sweep_and_keep_explicit_numbers(tmp_path):
    rows = [{"arm": "kl", "param": "temperature", "value": "0.1"}]
    settings = apply_selected({"kl": {"temperature": SWEEP}, "lr": 1}, "kl", rows)
    assert settings == {"kl": {"temperature": 0.1}, "lr": 1}
    assert apply_selected({"ot": {"eps": 0.3}}, "ot", rows) == {"ot": {"eps": 0.3}}
    with pytest.raises(PipelineError, match=r"sel\.tsv: no selected value for train\.wkd\.eps"):
        apply_selected({"wkd": {"eps": SWEEP}}, "wkd", rows, source="sel.tsv")
    with pytest.raises(PipelineError, match="no selected.tsv"):
        resolve_settings({"kl": {"temperature": SWEEP}}, "kl", None)
    path = tmp_path / "selected.tsv"
    pd.DataFrame(
        [{"arm": "kl", "param": "temperature", "value": 0.2, "source": "sweep",
          "dev_metric": "fidelity", "best_dev_score": 0.8, "runs": 3}]
    ).to_csv(path, sep="\t", index=False)  # fmt: skip
    assert resolve_settings({"kl": {"temperature": SWEEP}}, "kl", path)["kl"] == {
        "temperature": 0.2
    }


def write_curve(path, scores: list[float], metric: str = "fidelity") -> str:
    rows = [{"step": 0, "lang": "all", metric: 0.99}]  # untrained: not a candidate
    for i, score in enumerate(scores):
        rows.append({"step": 10 * (i + 1), "lang": "de", metric: score})
        rows.append({"step": 10 * (i + 1), "lang": "all", metric: score})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
    return str(path)


def test_rounds_extend_until_the_best_value_is_interior(tmp_path):
    # round 0: the best (0.95, ignoring the untrained step 0) is at the upper edge
    values = [0.05, 0.1, 0.2]
    scores = [[0.5, 0.6], [0.7, 0.65], [0.95, 0.8]]
    curves = [
        write_curve(tmp_path / f"v{v}" / "c.tsv", s) for v, s in zip(values, scores, strict=True)
    ]
    round0 = summarize_round("kl", "temperature", values, curves, "fidelity", n_grid=3)
    assert round0["best_dev_score"].tolist() == [0.6, 0.7, 0.95]
    assert round0["best_step"].tolist() == [20, 10, 10]
    check_round(round0, 0, max_extensions=1, where="x")  # an extension is left
    with pytest.raises(PipelineError, match="upper edge of the grid after 0 extension"):
        check_round(round0, 0, max_extensions=0, where="sweep of kl")
    path0 = tmp_path / "round0.tsv"
    round0.to_csv(path0, sep="\t", index=False)
    assert sweep_round_values(SWEEP_CFG, "kl", None) == values
    values1 = sweep_round_values(SWEEP_CFG, "kl", path0)
    assert values1 == [0.05, 0.1, 0.2, 0.4]
    curves.append(write_curve(tmp_path / "v0.4" / "c.tsv", [0.9]))
    round1 = summarize_round("kl", "temperature", values1, curves, "fidelity", n_grid=3)
    assert round1["round"].tolist() == [0, 0, 0, 1]
    check_round(round1, 1, max_extensions=1, where="x")  # interior now: no error
    path1 = tmp_path / "round1.tsv"
    round1.to_csv(path1, sep="\t", index=False)
    with pytest.raises(PipelineError, match="interior"):
        sweep_round_values(SWEEP_CFG, "kl", path1)
    table, selected = select([path1], [{"arm": "ot", "param": "eps", "value": 0.05}])
    assert table.loc[table["selected"], "value"].tolist() == [0.2]
    assert selected[["arm", "value", "source", "runs"]].values.tolist() == [
        ["kl", 0.2, "sweep", 4], ["ot", 0.05, "config", 0],
    ]  # fmt: skip
    with pytest.raises(PipelineError, match="not a final round"):
        select([path0], [])


def test_a_curve_without_the_dev_metric_is_an_error(tmp_path):
    curve = write_curve(tmp_path / "c.tsv", [0.5], metric="accuracy")
    with pytest.raises(PipelineError, match="no dev metric column 'fidelity'"):
        summarize_round("kl", "temperature", [0.1], [curve], "fidelity", n_grid=1)
