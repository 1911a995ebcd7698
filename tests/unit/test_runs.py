"""otkd.runs: run names round-trip, bad names fail, and the one list of arms is the one the
schema, the losses and the Snakemake wildcard use."""

from __future__ import annotations

import re
from pathlib import Path

import otkd.losses
import pytest
import torch
import yaml
from otkd.config import SCHEMA, train_defaults
from otkd.io import PipelineError
from otkd.runs import (
    ARMS,
    BASELINES,
    CurvePoint,
    Run,
    SweepRun,
    curve_points,
    main_runs,
    model_arm_seed,
    model_budget,
    parse_model,
    sweep_plan,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("run", "name", "directory"),
    [
        (Run("kl", 1), "kl_seed1", "results/train/kl/seed1"),
        (Run("ot_kl", 3), "ot_kl_seed3", "results/train/ot_kl/seed3"),
        (Run("ot", 1, 250), "ot_n250_seed1", "results/train/ot/n250/seed1"),
        (Run("mse", 0, experiment="tied"), "mse_seed0__tied", "results/train/tied/mse/seed0"),
    ],
)
def test_name_and_directory_round_trip(run, name, directory):
    assert run.name == name and str(run) == name
    assert run.directory() == directory and run.model_dir() == directory + "/model"
    assert parse_model(name) == run


def test_parse_gives_arm_seed_and_budget():
    assert model_arm_seed("ot_kl_n250_seed2") == ("ot_kl", 2)
    assert model_arm_seed("teacher") == ("teacher", None)
    assert model_budget("kl_n4000_seed1") == 4000 and model_budget("kl_seed1") is None
    assert [parse_model(b) for b in BASELINES] == [None, None]


@pytest.mark.parametrize("bad", ["seed3", "ot_n25a_seed1", "bleu_seed1", "kl_seed", "KL_seed1"])
def test_bad_model_names_raise(bad):
    with pytest.raises(PipelineError, match="unknown model name"):
        parse_model(bad)


def test_bad_runs_raise():
    with pytest.raises(PipelineError, match="unknown arm 'bleu'"):
        Run("bleu", 1)
    with pytest.raises(PipelineError, match="budget must be >= 1"):
        Run("kl", 1, 0)
    with pytest.raises(PipelineError, match="experiment"):
        Run("kl", 1, experiment="Has Space")


def test_main_runs_are_arm_major():
    names = [r.name for r in main_runs({"arms": ["mse", "ot"], "seeds": [2, 1]})]
    assert names == ["mse_seed2", "mse_seed1", "ot_seed2", "ot_seed1"]


def test_sweep_run_directory_and_plan_order():
    plan = sweep_plan({"kl_temperature": [0.02, 0.1], "ot_eps": [0.05, 0.075]})
    assert [tuple(r) for r in plan][:2] == [("kl", "temperature", 0.02), ("kl", "temperature", 0.1)]
    assert plan[3] == SweepRun("ot", "eps", 0.075)
    assert plan[3].directory() == "results/sweep/ot/eps_0.075"


def test_curve_points_reuse_the_main_runs_only_at_the_main_budget():
    config = {
        "bitext": {"budget_per_language": 1000},
        "train": {"arms": ["kl", "mse"], "seeds": [1, 2]},
        "learning_curve": {"budgets": [250, 1000], "arms": ["kl", "ot"], "seeds": [1]},
    }
    assert curve_points(config) == [
        CurvePoint("kl", 250, 1, "kl_n250_seed1"),
        CurvePoint("ot", 250, 1, "ot_n250_seed1"),
        CurvePoint("kl", 1000, 1, "kl_seed1"),
        CurvePoint("ot", 1000, 1, "ot_n1000_seed1"),  # ot is not a main arm
    ]


def test_arm_list_is_the_one_of_schema_losses_and_wildcard():
    schema = yaml.safe_load(SCHEMA.read_text())
    assert tuple(schema["definitions"]["arm"]["enum"]) == ARMS
    for path in (["train", "arms"], ["learning_curve", "arms"]):
        node = schema["properties"][path[0]]["properties"][path[1]]["items"]
        assert node == {"$ref": "#/definitions/arm"}, path
    assert otkd.losses.ARMS is ARMS
    for arm in ARMS:  # every arm has a loss
        assert isinstance(otkd.losses.build_loss(arm, {}), torch.nn.Module)
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r'^\s*arm="\|"\.join\(runs\.ARMS\),$', common, re.M)


def test_schema_defaults_are_the_loss_defaults():
    filled = train_defaults({})
    assert filled["kl"] == {"temperature": 0.1}
    assert filled["ot"]["eps"] == 0.05 and filled["ot"]["marginals"] == "uniform"
    loss = otkd.losses.OTDistillation()
    assert (loss.eps, loss.n_iter, loss.tol) == (
        filled["ot"]["eps"],
        filled["ot"]["n_iter"],
        filled["ot"]["tol"],
    )


def test_train_defaults_accepts_arms():
    """Partial settings that list arms are filled too (the $ref to the arm enum resolves)."""
    filled = train_defaults({"arms": ["kl", "wkd"], "steps": 5})
    assert filled["arms"] == ["kl", "wkd"] and filled["wkd"]["eps"] == 0.05
