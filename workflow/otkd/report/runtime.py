"""``runtime.tsv`` from the Snakemake benchmark files under ``results/benchmarks/``
(columns: ``docs/ARCHITECTURE.md``, report). :func:`make_runtime` is rule
``collect_runtime``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..io import PipelineError, write_df
from .tables import read_tsv

log = logging.getLogger(__name__)

RUNTIME_COLUMNS = ["stage", "rule", "wildcards", "n_jobs", "wall_s", "cpu_s", "max_rss_mb"]
TOTAL = "TOTAL"


def split_rule_name(stem: str, rule_names: Sequence[str]) -> tuple[str, str]:
    """Split a benchmark file stem ``<rule>[_<wildcards>]`` using the workflow's rule names
    (longest match wins): ``evaluate_model_ot_seed1`` -> (``evaluate_model``, ``ot_seed1``)."""
    for rule in sorted(rule_names, key=len, reverse=True):
        if stem == rule:
            return rule, ""
        if stem.startswith(rule + "_"):
            return rule, stem[len(rule) + 1 :]
    return stem, ""


def read_benchmark(path) -> dict:
    """One Snakemake benchmark TSV (``s h:m:s max_rss ... cpu_time``; repeats averaged,
    ``NA`` when Snakemake could not sample the job) as wall s, cpu s and max RSS (MB)."""
    df = read_tsv(path, ["s", "max_rss", "cpu_time"])
    if df.empty:
        raise PipelineError(f"{path}: benchmark file has no rows")
    num = df[["s", "max_rss", "cpu_time"]].apply(pd.to_numeric, errors="coerce")
    out = {
        "wall_s": float(num["s"].mean()),
        "cpu_s": float(num["cpu_time"].mean()),
        "max_rss_mb": float(num["max_rss"].max()),
    }
    if "rule_name" in df.columns:  # --benchmark-extended
        out["rule"] = str(df["rule_name"].iloc[0])
    return out


def collect_runtime(bench_dir, rule_names: Sequence[str]) -> pd.DataFrame:
    """Every ``bench_dir/<stage>/<rule>[_<wildcards>].tsv`` as one row, then one ``TOTAL`` row
    per stage and one for the whole run (wall and CPU summed, max RSS the maximum)."""
    bench_dir = Path(bench_dir)
    rows = []
    for path in sorted(bench_dir.rglob("*.tsv")):
        rel = path.relative_to(bench_dir)
        stage = rel.parts[0] if len(rel.parts) > 1 else ""
        stem = str(rel.with_suffix("")).split("/", 1)[-1] if len(rel.parts) > 1 else rel.stem
        rule, wildcards = split_rule_name(stem, rule_names)
        rec = read_benchmark(path)
        if "rule" in rec and rec["rule"] != rule:
            rule, wildcards = rec["rule"], stem.removeprefix(rec["rule"]).lstrip("_")
        rec.pop("rule", None)
        rows.append({"stage": stage, "rule": rule, "wildcards": wildcards, "n_jobs": 1, **rec})
    df = pd.DataFrame(rows, columns=RUNTIME_COLUMNS)
    if df.empty:
        return df

    def total(part: pd.DataFrame, stage: str) -> dict:
        return {
            "stage": stage,
            "rule": TOTAL,
            "wildcards": "",
            "n_jobs": int(part["n_jobs"].sum()),
            "wall_s": part["wall_s"].sum(min_count=1),
            "cpu_s": part["cpu_s"].sum(min_count=1),
            "max_rss_mb": part["max_rss_mb"].max(),
        }

    out = []
    for stage, part in df.groupby("stage", sort=False):
        out += part.to_dict("records") + [total(part, stage)]
    out.append(total(df, TOTAL))
    return pd.DataFrame(out, columns=RUNTIME_COLUMNS)


def make_runtime(bench_dir, rule_names: Sequence[str], out_path) -> pd.DataFrame:
    """Rule ``collect_runtime``: write ``runtime.tsv`` (see :func:`collect_runtime`)."""
    df = collect_runtime(bench_dir, rule_names)
    write_df(out_path, df, float_format="%.2f")
    log.info("runtime: %d benchmark files under %s", int((df["rule"] != TOTAL).sum()), bench_dir)
    return df


def job_stats(stdout: str) -> dict[str, int]:
    """Rule -> job count from the "Job stats" table Snakemake prints (a dry run's plan; the
    ``total`` row left out); empty when there is none ("Nothing to be done")."""
    jobs: dict[str, int] = {}
    block = stdout.split("Job stats:", 1)
    if len(block) < 2:
        return jobs
    for line in block[1].splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs


COST_COLUMNS = [
    "rule", "planned_jobs", "measured_jobs", "wall_s_per_job", "source", "est_wall_s", "share",
    "max_rss_mb",
]  # fmt: skip


def estimate_cost(
    runtime: pd.DataFrame,
    planned: Mapping[str, int],
    fallback: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The job time of a whole run from the jobs measured so far.

    For each rule of ``planned`` (rule -> its jobs in the whole run), the mean wall time of its
    jobs in ``runtime`` (:func:`collect_runtime`'s rows; ``source`` "benchmark"), else
    ``fallback[rule]`` seconds per job (``source`` "fallback", e.g. a training loop's
    ``elapsed_s`` from its log), times the planned count (``est_wall_s``); ``share`` of the
    estimated total. A rule with neither gets NaN (``source`` "not measured") and stays out of
    the total. Rows by estimated time, largest first."""
    fallback = dict(fallback or {})
    jobs = runtime[runtime["rule"] != TOTAL]
    rows = []
    for rule, n in planned.items():
        part = jobs[jobs["rule"] == rule]
        if len(part):
            per_job, source = float(part["wall_s"].mean()), "benchmark"
            rss = float(part["max_rss_mb"].max())
        elif rule in fallback:
            per_job, source, rss = float(fallback[rule]), "fallback", float("nan")
        else:
            per_job, source, rss = float("nan"), "not measured", float("nan")
        rows.append({"rule": rule, "planned_jobs": int(n), "measured_jobs": len(part),
                     "wall_s_per_job": per_job, "source": source, "est_wall_s": per_job * n,
                     "max_rss_mb": rss})  # fmt: skip
    df = pd.DataFrame(rows, columns=[c for c in COST_COLUMNS if c != "share"])
    total = df["est_wall_s"].sum(min_count=1)
    df["share"] = df["est_wall_s"] / total if total else float("nan")
    df = df.sort_values("est_wall_s", ascending=False, na_position="last", kind="stable")
    return df[COST_COLUMNS].reset_index(drop=True)


def encoder_flops_per_token(
    hidden: int, intermediate: int, layers: int, length: int, *, training: bool = False
) -> float:
    """Matmul FLOPs per token of a BERT-style encoder forward pass at sequence ``length``:
    per layer ``8 h^2`` (Q, K, V and output projections), ``4 h i`` (feed-forward) and
    ``4 L h`` (attention scores and their weighted sum), a multiply-add counted as 2 FLOPs
    (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", Table 1). Embedding look-
    ups, norms and softmax are left out. ``training``: forward plus backward, 3x the forward
    (the backward computes gradients for activations and weights)."""
    per_layer = 8 * hidden**2 + 4 * hidden * intermediate + 4 * length * hidden
    return float(per_layer * layers * (3 if training else 1))
