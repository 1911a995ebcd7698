"""Every script under benchmarks/ runs in its seconds-long ``--smoke`` mode (so none rots),
on the tiny config (tests/configs/tiny/config.yaml) with tiny models built here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from make_tiny_models import make_tiny_models
from otkd.xquad import build_xquad
from workflow_utils import (
    FAKE_QUESTIONS,
    MIRROR,
    ROOT,
    mirror_available,
    tiny_config,
    write_fake_squad,
)

BENCHMARKS = ROOT / "benchmarks"
needs_mirror = pytest.mark.skipif(not mirror_available(), reason="offline mirror absent")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """The tiny config (its models built here) and tiny XQuAD task files (de, ro)."""
    tmp = tmp_path_factory.mktemp("bench")
    make_tiny_models(tmp / "models")
    config = tmp / "config.yaml"
    config.write_text(yaml.safe_dump(tiny_config(models_dir=tmp / "models")), encoding="utf-8")
    xq, xr = write_fake_squad(tmp / "squad", ["en", "de", "ro"], ["en", "de"])
    data = tmp / "xquad"
    build_xquad(xq, xr, data, ["de", "ro"], n_questions=FAKE_QUESTIONS, n_paragraphs=3,
                n_candidates=19)  # fmt: skip
    return {"config": config, "data": data, "model": tmp / "models" / "student"}


def smoke(script: str, *args: str | Path, cwd: Path) -> str:
    """Run ``benchmarks/{script} --smoke args`` in ``cwd``; return its stdout (it must pass)."""
    cmd = [sys.executable, str(BENCHMARKS / script), "--smoke", *map(str, args)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=cwd)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def test_every_benchmark_has_a_smoke_test():
    scripts = {p.name for p in BENCHMARKS.glob("*.py")}
    tested = {
        "train_step.py",
        "teacher_cache.py",
        "evaluate.py",
        "eval_volume.py",
        "encoder_speed.py",
        "st_export.py",
        "dev_signal.py",
        "matmul_peak.py",
        "sinkhorn_convergence.py",
        "run_cost.py",
    }
    assert scripts == tested
    assert all("--smoke" in (BENCHMARKS / s).read_text() for s in scripts)


@needs_mirror
def test_train_step_smoke_on_the_config_projection(tiny, tmp_path):
    """The config's ridge map is fitted by the script itself (it used to stop here)."""
    out = tmp_path / "out"
    smoke("train_step.py", "--config", tiny["config"], "--mirror", MIRROR, "--out", out,
          "--threads", "1", cwd=tmp_path)  # fmt: skip
    summary = json.loads((out / "results.json").read_text())
    assert summary["projection"] == "ridge" and (out / "projection" / "projection.json").is_file()
    assert summary["steps"] == 3 and summary["pairs"] == {
        "train": 8, "dev": 4, "languages": ["de"]
    }  # fmt: skip
    paired = summary["results"]["paired_fp32"]
    assert set(paired) >= {"ot", "kl", "mse"} and paired["ot"]["step_s"] > 0
    assert summary["ratios"]["ot_over_kl_step_time_fp32"] > 0
    assert summary["results"]["single_ot_fp32"]["step_s"] > 0


@needs_mirror
def test_train_step_smoke_without_a_map(tiny, tmp_path):
    out = tmp_path / "out"
    smoke("train_step.py", "--config", tiny["config"], "--mirror", MIRROR, "--out", out,
          "--threads", "1", "--projection", "none", "--no-st", "--arms", "kl", cwd=tmp_path)  # fmt: skip
    summary = json.loads((out / "results.json").read_text())
    assert summary["projection"] is False and not (out / "projection").exists()
    assert list(summary["results"]) == ["paired_fp32", "single_kl_fp32"]


@needs_mirror
def test_teacher_cache_smoke(tiny, tmp_path):
    stdout = smoke("teacher_cache.py", "--config", tiny["config"], "--threads", "1", cwd=tmp_path)
    assert "sentences: 24 from mirror sample" in stdout
    assert "cache_bf16 :" in stdout and "cosine bf16 vs fp32 pooled" in stdout


def test_evaluate_smoke(tiny, tmp_path):
    smoke("evaluate.py", "--config", tiny["config"], "--data", tiny["data"], "--out", tmp_path,
          cwd=tmp_path)  # fmt: skip
    result = json.loads((tmp_path / "evaluate_student_init.json").read_text())
    assert result["model"] == "student_init" and result["threads"] == 1
    assert result["texts_encoded"] > 0
    means = result["main_metric_mean"]
    assert {key.split()[0] for key in means} == {"x2en", "en2x", "lareqa", "en2en"}
    assert all(0 <= value <= 1 for value in means.values())
    assert (tmp_path / "evaluate" / "student_init" / "metrics.tsv").is_file()


def test_eval_volume_smoke(tiny, tmp_path):
    out = tmp_path / "eval_volume.json"
    smoke("eval_volume.py", "--config", tiny["config"], "--data", tiny["data"], "--out", out,
          cwd=tmp_path)  # fmt: skip
    phases = json.loads(out.read_text())["phases"]
    assert set(phases) == {"questions", "paragraphs", "lareqa candidates"}
    assert all(row["tokens"] > 0 and row["fp32_tokens_per_s"] > 0 for row in phases.values())


def test_encoder_speed_smoke(tiny, tmp_path):
    stdout = smoke(
        "encoder_speed.py", "--model", tiny["model"], "--threads", "1", "--profile-ops", "3",
        cwd=tmp_path,
    )  # fmt: skip
    for variant in ("otkd fp32", "otkd bf16 autocast", "st fp32"):
        assert variant in stdout
    ops = stdout.split("operator (one batch, bf16 weights)")[1].strip().splitlines()[1:]
    assert len(ops) == 3 and all(line.rstrip().endswith("%") for line in ops), ops


def test_st_export_smoke(tiny, tmp_path):
    out = tmp_path / "st_export.json"
    smoke("st_export.py", "--model", tiny["model"], "--threads", "1", "--out", out, cwd=tmp_path)
    report = json.loads(out.read_text())
    assert report["model"].endswith("(smoke)")


def test_dev_signal_smoke(tmp_path):
    stdout = smoke("dev_signal.py", cwd=tmp_path)
    assert "resolution" in stdout and "fidelity" in stdout


def test_matmul_peak_smoke(tmp_path):
    out = smoke("matmul_peak.py", "--out", tmp_path / "peak.json", cwd=tmp_path)
    assert "of the bf16 peak" in out
    result = json.loads((tmp_path / "peak.json").read_text())
    assert result["bf16_peak_gflops"] > 0
    assert 0 < result["encode"]["share_of_bf16_peak"] and 0 < result["train"]["gflops"]


def test_sinkhorn_convergence_smoke(tiny, tmp_path):
    out = tmp_path / "sinkhorn.json"
    stdout = smoke("sinkhorn_convergence.py", "--model", tiny["model"], "--out", out, cwd=tmp_path)
    assert "worst L1 row-marginal error" in stdout
    rows = json.loads(out.read_text())["rows"]
    settings = [(0.1, 5), (0.1, 50), (0.0125, 5), (0.0125, 50)]
    assert [(r["loss"], r["eps"], r["n_iter"]) for r in rows] == [
        (loss, eps, n_iter) for loss in ("ot", "wkd") for eps, n_iter in settings
    ]
    # more iterations never leave a larger marginal error (Sinkhorn's monotone convergence)
    for first, more in zip(rows[::2], rows[1::2], strict=True):
        assert more["row_l1_error_max"] <= first["row_l1_error_max"] + 1e-6


def test_run_cost_smoke(tmp_path):
    """The tiny config's whole DAG against one measured training job: train_model from its
    benchmark file, train_curve falls back to it, rules without measurements left out."""
    bench = tmp_path / "results" / "benchmarks" / "train"
    bench.mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (bench / "train_model_cross_kl_seed1.tsv").write_text(
        header + "60.0\t0:01:00\t900\t1\t1\t1\t1\t1\t90\t55\n"
    )
    stdout = smoke(
        "run_cost.py", "--results", tmp_path / "results", "--out", tmp_path, cwd=tmp_path
    )
    cost = pd.read_csv(tmp_path / "run_cost.tsv", sep="\t").set_index("rule")
    assert (
        cost.loc["train_model", "source"] == "benchmark"
        and cost.loc["train_model", "measured_jobs"] == 1
    )
    # the tiny DAG: shared kl, ot seed 1; cross kl, ot seeds 1, 2; two curve runs at budget 16
    assert (
        cost.loc["train_model", "planned_jobs"] == 6
        and cost.loc["train_curve", "planned_jobs"] == 2
    )
    assert cost.loc["train_model", "est_wall_s"] == pytest.approx(360.0)
    assert cost.loc["train_curve", "source"] == "fallback"
    assert cost.loc["evaluate_model", "source"] == "not measured"
    assert cost["share"].sum() == pytest.approx(1.0)
    assert "estimated job time" in stdout
