"""A run continued on a fresh clone that holds only the committed results (README, "Continuing
a run"): checkpoints are temp() outputs, the committed per-model files are the durable unit,
and `make continue` (rule upstream, then --touch, then the run) trains only what was never
evaluated.

The tiny config cut to one experiment (``shared``: the student as its own teacher), seed 1,
the x2en task and no learning curve, so that both sessions fit in a few minutes on 2 cores.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from make_tiny_models import make_tiny_models
from workflow_utils import ROOT, mirror_available, planned_jobs, run_snakemake, tiny_config

# the three commands of `make continue` (Makefile), each run with the same config
CONTINUE = [["upstream"], ["--touch", "--notemp", "all"], ["all"]]
KL = "kl_seed1__shared"


def committed_files(work: Path) -> list[str]:
    """The files under ``work/results`` that git would commit under the repo's .gitignore."""
    shutil.copy(ROOT / ".gitignore", work / ".gitignore")
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    listed = subprocess.run(
        ["git", "-C", str(work), "ls-files", "--others", "--exclude-standard", "results"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(listed.stdout.split())


def check(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return result


# what rule upstream may run: nothing committed (sweep, training, evaluation, report) is in
# its DAG, so that rebuilding its files cannot make a finished run look outdated
UPSTREAM_RULES = {
    "download", "xquad", "bitext", "tokenize_bitext", "tokenize_teacher", "token_stats",
    "build_teacher_cache", "index_teacher", "fit_projection", "fit_projection_curve",
    "student_init", "upstream",
}  # fmt: skip


def test_upstream_rebuilds_the_inputs_of_every_run_and_nothing_committed(tmp_path):
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    result = check(run_snakemake(tmp_path, config, "upstream", "-n"))
    jobs = planned_jobs(result)
    assert set(jobs) <= UPSTREAM_RULES, jobs
    # both teachers' train and dev caches, the curve pool's only for the learning curve's
    # teacher (it runs in shared, whose teacher is the student), both indexes; the ridge map
    # of cross (shared has none)
    assert jobs["build_teacher_cache"] == 5 and jobs["index_teacher"] == 2, jobs
    caches = set(re.findall(r"output: (results/teacher_cache/[^,\s]+)", result.stdout))
    assert "results/teacher_cache/student/curve" in caches, caches
    fits = set(re.findall(r"output: (results/projection/[^,\s]+)", result.stdout))
    assert fits == {"results/projection/cross/main"}, fits


@pytest.mark.slow
@pytest.mark.skipif(not mirror_available(), reason="offline mirror absent")
def test_fresh_clone_continues_without_retraining_evaluated_models(tmp_path):
    make_tiny_models(tmp_path / "tiny_models")
    cfg = tiny_config(
        models_dir=tmp_path / "tiny_models",
        evaluation={"tasks": ["x2en"]},
        learning_curve={"budgets": [], "experiment": "shared", "tasks": ["x2en"]},
    )
    cfg["experiments"] = {
        "shared": {"teacher": "student", "projection": False, "train": {"seeds": [1]}}
    }
    # the first session stops once the kl model is trained and evaluated
    first = tmp_path / "first"
    check(run_snakemake(first, cfg, f"results/evaluate/{KL}/metrics.tsv", timeout=1200))
    assert not (first / "results/train/shared/kl/seed1/model").exists()  # temp(), evaluated
    files = committed_files(first)
    for kept in [
        f"results/evaluate/{KL}/perquery.tsv.gz",
        "results/train/shared/kl/seed1/train_log.tsv",
        "results/benchmarks/evaluate/evaluate_model_kl_seed1__shared.tsv",
    ]:
        assert kept in files, files
    heavy = ("results/tokens/", "results/teacher_cache/", "results/data/bitext/", "results/index/")
    assert not [f for f in files if f.startswith(heavy) or "/model/" in f], files

    # a fresh clone: the committed files only, checked out metrics first (the train logs end
    # up newer than the evaluation that read their checkpoint)
    fresh = tmp_path / "fresh"
    for name in files:
        (fresh / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(first / name, fresh / name)
    # a plain run would retrain kl: the data, tokens and caches it regenerates are newer
    plain = planned_jobs(check(run_snakemake(fresh, cfg, "all", "-n")))
    assert plain.get("train_model") == 2, plain

    for args in CONTINUE[:2]:
        check(run_snakemake(fresh, cfg, args, timeout=1200))
    plan = planned_jobs(check(run_snakemake(fresh, cfg, "all", "-n")))
    assert plan.get("train_model") == 1 and plan.get("evaluate_model") == 2, plan  # ot, init
    assert "export_model" in plan and plan["export_model"] == 1, plan  # kl's checkpoint is gone
    check(run_snakemake(fresh, cfg, CONTINUE[2], timeout=1200))

    # benchmark files are committed (runtime.tsv sums every session's jobs): the jobs run
    # here are those whose file is new or rewritten; kl's come from the first session as is
    bench = Path("results") / "benchmarks"
    assert f"{bench}/train/train_model_shared_kl_seed1.tsv" in files, files

    def run_here(stage: str) -> list[str]:
        return sorted(
            p.name
            for p in (fresh / bench / stage).iterdir()
            if not (first / bench / stage / p.name).is_file()
            or p.read_bytes() != (first / bench / stage / p.name).read_bytes()
        )

    assert run_here("train") == ["train_model_shared_ot_seed1.tsv"]
    assert [n for n in run_here("evaluate") if n.startswith("evaluate_model_")] == [
        "evaluate_model_ot_seed1__shared.tsv",
        "evaluate_model_student_init.tsv",
    ]
    runtime = pd.read_csv(fresh / "results" / "runtime.tsv", sep="\t", keep_default_na=False)
    trained = runtime.query("rule == 'train_model'")["wildcards"].tolist()
    assert sorted(trained) == ["shared_kl_seed1", "shared_ot_seed1"], trained
    for name in [f"results/evaluate/{KL}/metrics.tsv", f"results/evaluate/{KL}/perquery.tsv.gz"]:
        assert (fresh / name).read_bytes() == (first / name).read_bytes(), name
    # the tables hold the adopted kl evaluation beside the new ones
    table = pd.read_csv(fresh / "results" / "table.tsv", sep="\t", keep_default_na=False)
    assert table["arm"].unique().tolist() == ["teacher", "student_init", "kl", "ot"]
    metrics = pd.read_csv(fresh / f"results/evaluate/{KL}/metrics.tsv", sep="\t")
    kl_ndcg = metrics.query("task == 'x2en' and measure == 'nDCG@10'")["value"].iloc[0]
    row = table.query("arm == 'kl' and metric == 'nDCG@10' and lang == 'de'")
    assert row["mean"].iloc[0] == pytest.approx(kl_ndcg, abs=1e-6)
    assert (fresh / "results/figures_ot/shared/ot_plan.png").stat().st_size > 0
    # only the new model is exported; no checkpoint outlives its readers
    assert [p.name for p in (fresh / "results" / "export").iterdir()] == ["ot_seed1__shared"]
    assert not list((fresh / "results" / "train").rglob("model"))
    assert planned_jobs(check(run_snakemake(fresh, cfg, "all", "-n"))) == {}
