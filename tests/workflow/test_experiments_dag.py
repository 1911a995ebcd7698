"""The default config's DAG (dry run only): both experiments with their arms and seeds,
teacher-side work once per distinct teacher, baselines once."""

from __future__ import annotations

import re

import yaml
from otkd.config import validate_config
from otkd.runs import experiments
from workflow_utils import ROOT, run_snakemake


def test_dry_run_lists_both_experiments(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    result = run_snakemake(tmp_path, config, "results/table.tsv", "-n")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outputs = set(re.findall(r"output: (\S+?)(?:,|\s)", result.stdout))
    trained = {o for o in outputs if o.startswith("results/train/") and o.endswith("/model")}
    expected = {
        f"results/train/{exp}/{arm}/seed{seed}/model"
        for exp, arms in [("shared", ["mse", "kl", "ot", "wkd"]), ("cross", ["kl", "ot"])]
        for arm in arms
        for seed in (1, 2, 3)
    }
    assert trained == expected
    _, cross = experiments(validate_config(config))
    key = cross.teacher_key
    evaluated = {o.split("/")[2] for o in outputs if o.startswith("results/evaluate/")}
    assert "student_init" in evaluated and f"teacher__{key}" in evaluated
    assert not any(m.startswith("teacher__student") for m in evaluated)
    assert len(evaluated) == 2 + len(expected)
    caches = {o for o in outputs if o.startswith("results/teacher_cache/")}
    assert caches == {f"results/teacher_cache/{k}/{s}" for k in ("student", key)
                      for s in ("train", "dev")}  # fmt: skip
    assert {o for o in outputs if o.startswith("results/projection/")} == {
        "results/projection/cross/main"
    }
    # each experiment tunes its own arms' parameters ("sweep" in config.yaml); mse has none
    rounds = {o for o in outputs if re.fullmatch(r"results/sweep/\w+/\w+/round0\.tsv", o)}
    assert rounds == {f"results/sweep/{exp}/{arm}/round0.tsv"
                      for exp, arms in [("shared", ["kl", "ot", "wkd"]), ("cross", ["kl", "ot"])]
                      for arm in arms}  # fmt: skip
    assert {f"results/sweep/{e}/sweep.tsv" for e in ("shared", "cross")} <= outputs
    assert "selected.tsv" in result.stdout  # sweep_table writes it, train_model reads it
