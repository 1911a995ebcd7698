"""End-to-end runs of the whole DAG on the tiny config, and Snakemake rerun semantics.

The config is the checked-in tests/configs/tiny/config.yaml (only its mirror and model
paths replaced): tiny random BERTs stand in for teacher and student; the data are the real
XQuAD and bitext files from the offline mirror, cut to one language and a few dozen pairs.
Two experiments: ``shared`` (the student distilled from its own initial weights, no map,
seed 1) and ``cross`` (the tiny teacher through the ridge map, seeds 1 and 2, and the
learning curve).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from workflow_utils import (
    ROOT,
    e2e_config,
    mirror_available,
    planned_jobs,
    run_snakemake,
    snakemake_command,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not mirror_available(), reason="offline mirror absent"),
]

UPSTREAM_RULES = {"download", "xquad", "bitext", "tokenize_bitext", "build_teacher_cache"}


def start_snakemake(workdir: Path, config: dict, *args: str, cores: int = 2, env=None):
    """Start Snakemake in the background, in its own process group (see ``kill``)."""
    cmd = snakemake_command(workdir, config, *args, cores=cores)
    return subprocess.Popen(
        cmd,
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL a background Snakemake and its jobs, as a crash or power loss would."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    cfg = e2e_config(tmp)
    work = tmp / "work"
    # two experiments: ~6 minutes alone on 2 cores, far longer on a shared machine
    result = run_snakemake(work, cfg, "all", timeout=2400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return work, cfg


def test_full_dag_produces_the_final_outputs(finished_run):
    work, cfg = finished_run
    results = work / "results"
    for name in ["table.tsv", "comparison.tsv", "low_resource.tsv", "summary.md", "runtime.tsv"]:
        assert (results / name).stat().st_size > 0, name
    table = pd.read_csv(results / "table.tsv", sep="\t", keep_default_na=False)
    assert table.columns[0] == "experiment"
    arms = table.groupby("experiment", sort=False)["arm"].unique().map(list).to_dict()
    assert arms == {e: ["teacher", "student_init", "kl", "ot"] for e in ("shared", "cross")}
    seeds = table[table["arm"] == "kl"].groupby("experiment")["n_seeds"].max().to_dict()
    assert seeds == {"shared": 1, "cross": 2}
    # shared: the teacher is the student's initial model, evaluated once as student_init
    shared = table[table["experiment"] == "shared"]
    means = {a: shared[shared["arm"] == a]["mean"].tolist() for a in ("teacher", "student_init")}
    assert means["teacher"] == means["student_init"]
    evaluated = sorted(p.name for p in (results / "evaluate").iterdir())
    (key,) = [m.removeprefix("teacher__") for m in evaluated if m.startswith("teacher__")]
    assert evaluated == sorted(["student_init", f"teacher__{key}", "kl_seed1__shared",
        "ot_seed1__shared", "kl_seed1__cross", "kl_seed2__cross", "ot_seed1__cross",
        "ot_seed2__cross", "kl_n16_seed1__cross", "ot_n16_seed1__cross"])  # fmt: skip
    # teacher-side work once per teacher; student-side tokens and maps as needed
    assert sorted(p.name for p in (results / "teacher_cache").iterdir()) == sorted(["student", key])
    assert sorted(p.name for p in (results / "index").iterdir()) == sorted(["student", key])
    assert (results / "tokens" / "train" / "teacher_en__student.npz").is_file()
    assert (results / "tokens" / "train" / "student_xx.npz").is_file()
    assert sorted(p.name for p in (results / "projection").iterdir()) == ["cross"]
    # checkpoints are temp(): deleted once evaluated, exported and plotted; the export stays
    assert not (results / "train" / "shared" / "ot" / "seed1" / "model").exists()
    assert (results / "export" / "ot_seed1__shared" / "config.json").is_file()
    comparison = pd.read_csv(results / "comparison.tsv", sep="\t")
    assert list(dict.fromkeys(comparison["experiment"])) == ["shared", "cross"]
    summary = (results / "summary.md").read_text()
    assert "## Experiment `shared`" in summary and "## Experiment `cross`" in summary
    assert {p.name for p in (results / "figures").iterdir()} == {"shared", "cross"}
    assert (work / "logs").is_dir()
    # runtime.tsv is collected last: the learning curve's jobs are in it too
    runtime = pd.read_csv(results / "runtime.tsv", sep="\t")
    assert {"train_model", "evaluate_model", "train_curve"} <= set(runtime["rule"])
    curve = pd.read_csv(results / "learning_curve.tsv", sep="\t")
    assert set(curve["budget"]) == {16, 48} and set(curve["arm"]) == {"kl", "ot"}
    assert set(curve["task"]) == {"x2en", "lareqa"} and set(curve["experiment"]) == {"cross"}
    # epochs: 6 steps x 8 pairs (the cross experiment's train) over the budget's pairs
    every = curve[(curve["lang"] == "mean") & (curve["group"] == "all")]
    assert len(every) and (every["epochs"] - 48 / every["pairs"]).abs().max() < 1e-9
    # the main-budget point is the main run's evaluation, not a retrained copy
    assert not (results / "train" / "cross" / "kl" / "n48").exists()
    assert (results / "train" / "cross" / "kl" / "n16" / "seed1" / "train_log.tsv").is_file()
    main = pd.read_csv(results / "evaluate" / "kl_seed1__cross" / "metrics.tsv", sep="\t")
    x2en = main[(main["task"] == "x2en") & (main["measure"] == "nDCG@10")]["value"].iloc[0]
    point = curve[(curve["budget"] == 48) & (curve["arm"] == "kl") & (curve["lang"] == "de")]
    assert point[point["metric"] == "nDCG@10"]["mean"].iloc[0] == pytest.approx(x2en)
    assert (work / "results" / "learning_curve.png").stat().st_size > 0
    fits = {
        budget: json.loads(
            (results / "projection" / "cross" / budget / "projection.json").read_text()
        )
        for budget in ("main", "n16")
    }
    assert (fits["main"]["pairs"], fits["main"]["fit_pairs"]) == (48, 40)  # ridge_max_pairs
    assert (fits["n16"]["pairs"], fits["n16"]["fit_pairs"]) == (16, 16)
    comp = pd.read_csv(results / "learning_curve_comparison.tsv", sep="\t")
    assert set(comp["budget"]) == {16, 48} and set(comp["arm"]) == {"ot"}
    assert set(comp["task"]) == {"x2en", "lareqa"}
    # the tiny config sets kl and ot values: nothing is swept, both are reported as config
    selected = pd.read_csv(results / "sweep" / "shared" / "selected.tsv", sep="\t")
    assert selected[["arm", "value", "source"]].values.tolist() == [
        ["kl", 0.1, "config"], ["ot", 0.05, "config"],
    ]  # fmt: skip


def test_second_run_does_nothing(finished_run):
    work, cfg = finished_run
    result = run_snakemake(work, cfg, "all", "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned_jobs(result) == {}, result.stdout[-3000:]


def test_changed_kl_temperature_reruns_only_kl_and_downstream(finished_run):
    work, cfg = finished_run
    changed = {**cfg, "train": {**cfg["train"], "kl": {"temperature": 0.2}}}
    result = run_snakemake(work, changed, "all", "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result)
    assert jobs.get("train_model") == 3, jobs  # kl: shared seed 1, cross seeds 1 and 2
    assert jobs.get("train_curve") == 1, jobs  # kl at budget 16
    assert not UPSTREAM_RULES & set(jobs), jobs
    assert "evaluate_model" in jobs and jobs["evaluate_model"] == 4, jobs
    assert jobs.get("learning_curve") == 1, jobs
    # the dry run must not have touched the finished outputs
    assert planned_jobs(run_snakemake(work, cfg, "all", "-n")) == {}


def test_forcerun_reruns_a_stage_and_its_dependents(finished_run):
    work, cfg = finished_run
    result = run_snakemake(work, cfg, "all", "-n", "--forcerun", "build_teacher_cache")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result)
    # 2 teachers x train and dev, and the curve pool of the curve experiment's (cross) teacher
    assert jobs.get("build_teacher_cache") == 5, jobs
    assert jobs.get("train_model") == 6, jobs  # shared kl, ot seed 1; cross kl, ot seeds 1, 2
    assert jobs.get("train_curve") == 2, jobs
    assert not {"download", "xquad", "bitext", "tokenize_bitext"} & set(jobs), jobs


def test_killed_training_leaves_no_finished_output(finished_run, tmp_path):
    work, cfg = finished_run
    slow = {**cfg, "train": {**cfg["train"], "seeds": [1, 2, 7], "steps": 400, "eval_every": 400}}
    model_dir = work / "results" / "train" / "cross" / "kl" / "seed7" / "model"
    proc = start_snakemake(work, slow, str(model_dir.relative_to(work)), cores=1)
    log = work / "logs" / "train" / "train_model_cross_kl_seed7.log"
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and "step" in log.read_text()):
        time.sleep(0.5)
    time.sleep(2)
    kill(proc)
    assert not model_dir.exists(), "a killed training job left a model directory behind"
    # a SIGKILLed Snakemake leaves its lock behind, as after a power loss
    assert run_snakemake(work, slow, str(model_dir.relative_to(work)), "--unlock").returncode == 0
    again = run_snakemake(work, slow, str(model_dir.relative_to(work)), "-n")
    assert planned_jobs(again).get("train_model") == 1, again.stdout[-2000:]
    # finish it in a few steps: only the rerun matters here, not 400 steps of a tiny model
    quick = {**slow, "train": {**slow["train"], "steps": 6, "eval_every": 3}}
    done = run_snakemake(work, quick, str(model_dir.relative_to(work)), "--rerun-incomplete")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (model_dir / "config.json").is_file()


# every rule that trains or fits something: the SLURM profile must give each a GPU
TRAINING_RULES = {
    "train_model",
    "train_curve",
    "sweep_run",
    "fit_projection",
    "fit_projection_curve",
}
GPU_RULES = TRAINING_RULES | {"build_teacher_cache", "index_teacher", "evaluate_model"}


def submit_with_stub(work: Path, cfg: dict, stub_dir: Path, expect: set[str], *args, done=None):
    """Run Snakemake with profiles/slurm and the stand-in sbatch until every rule in
    ``expect`` was submitted (and ``done()`` holds); return the sbatch lines so far."""
    env = {
        **os.environ,
        "PATH": f"{ROOT / 'tests' / 'workflow' / 'slurm_stub'}:{os.environ['PATH']}",
        "SLURM_STUB_DIR": str(stub_dir),
    }
    options = ["--profile", str(ROOT / "profiles" / "slurm"), "--latency-wait", "1"]
    proc = start_snakemake(work, cfg, *options, "--keep-going", "--jobs", "10", *args, env=env)
    sbatch_log = stub_dir / "sbatch.log"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        text = sbatch_log.read_text() if sbatch_log.exists() else ""
        if all(f"rule_{rule}" in text for rule in expect) and (done is None or done()):
            break
        time.sleep(0.5)
    kill(proc)
    return sbatch_log.read_text().splitlines() if sbatch_log.exists() else []


def test_slurm_profile_gives_gpus_to_training_and_runs_downloads_locally(finished_run, tmp_path):
    import shutil

    work, cfg = finished_run
    copy = tmp_path / "slurm_work"
    shutil.copytree(work, copy, ignore=shutil.ignore_patterns(".snakemake"))
    stub_dir = tmp_path / "stub"
    stub_dir.mkdir()
    # a missing download: the download rule must run here, on the submit host
    (missing,) = list((copy / "results" / "download").rglob("xquad.de.json"))
    missing.unlink()
    first = {"train_model", "train_curve"}
    targets = ["results/data/summary.json", "results/train/cross/kl/seed1/model",
               "results/train/cross/kl/n16/seed1/model"]  # fmt: skip
    if "sweep" in cfg:  # a sweep run not yet made (its own target, not part of `all`)
        first.add("sweep_run")
        targets.append("results/sweep/cross/kl/temperature_0.5/train_log.tsv")
    targets.append(str(missing.relative_to(copy)))
    summary, start = copy / "results" / "data" / "summary.json", time.time()
    submitted = submit_with_stub(
        copy, cfg, stub_dir, first, "--forcerun", "data_summary", "train_model", "train_curve",
        "--", *targets,
        done=lambda: missing.is_file() and summary.is_file() and summary.stat().st_mtime > start,
    )  # fmt: skip
    assert missing.is_file(), "the download rule did not run on the submit host"
    assert summary.stat().st_mtime > start, "data_summary did not run on the submit host"
    # the map fits (upstream of the runs above, so a second stand-in submission)
    submitted = submit_with_stub(  # the log holds both runs' submissions
        copy, cfg, stub_dir, {"fit_projection", "fit_projection_curve"},
        "--forcerun", "fit_projection", "fit_projection_curve",
        "--", "results/projection/cross/main", "results/projection/cross/n16",
    )  # fmt: skip
    asked: dict[str, bool] = {}  # rule -> every one of its submissions asked for one GPU
    for line in submitted:
        rule = re.search(r"--comment '?rule_(\w+?)(?:_wildcards_|['\s]|$)", line).group(1)
        gpu = "--gpus=1" in line or "--gres=gpu:1" in line
        asked[rule] = asked.get(rule, True) and gpu
    # every training-like rule of these targets was submitted, and only GPU rules were (the
    # re-downloaded XQuAD file may also resubmit the teacher cache, a GPU rule)
    assert first | {"fit_projection", "fit_projection_curve"} <= set(asked), submitted
    assert set(asked) <= GPU_RULES and all(asked.values()), asked
    for local in ("download", "xquad", "data_summary"):
        assert not any(f"rule_{local}" in line for line in submitted), (local, submitted)
    (tmp_path.parent / "slurm_submit_lines.txt").write_text("\n".join(submitted) + "\n")
