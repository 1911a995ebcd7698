"""Benchmark: the job time of a whole default run, from the jobs measured so far (README, "Cost").

    .venv/bin/python benchmarks/run_cost.py [--config config.yaml] [--results results]
    .venv/bin/python benchmarks/run_cost.py --smoke      # seconds: the tiny config's DAG

A default run outlives a session, and the clones of earlier sessions took their benchmark files
with them, so ``results/runtime.tsv`` holds only some of the jobs. This counts the jobs of the
whole run (a dry run of ``all`` in an empty directory; the sweep's runs counted from
``results/sweep/*/*/*/train_log.tsv``, since a dry run sees only its first round), takes each
rule's mean wall time per job from the benchmark files under ``results/benchmarks/``
(:func:`otkd.report.runtime.collect_runtime`), and where a rule has none, the training loop's
``elapsed_s`` from its train logs (``sweep_run``: the sweep's logs; ``train_model`` and
``train_curve``: the committed runs' logs; a curve run with no log yet: ``train_model``'s
benchmark mean, as it trains as many steps). Prints the estimate per rule
(:func:`otkd.report.runtime.estimate_cost`), the total job time, the wall-clock lower bound on
``--cores`` (job time / cores) and the share of evaluation. Writes ``benchmarks/out/run_cost.tsv``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from otkd.io import write_df
from otkd.report.runtime import collect_runtime, estimate_cost, job_stats

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def planned_jobs(config: dict, config_dir: Path, cores: int) -> dict[str, int]:
    """Rule -> job count of ``snakemake -n all`` for ``config`` (mirrors relative to
    ``config_dir``) in an empty directory."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = {
            **config,
            "mirrors": [str((config_dir / m).resolve()) for m in config.get("mirrors", [])],
        }
        (Path(tmp) / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
        cmd = [str(SNAKEMAKE), "-s", str(ROOT / "Snakefile"), "-d", tmp, "--configfile",
               str(Path(tmp) / "config.yaml"), "-n", "--cores", str(cores), "all"]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return job_stats(out)


def log_elapsed(paths) -> list[float]:
    """The last ``elapsed_s`` of each train log (the training loop's wall time)."""
    out = []
    for path in paths:
        log = pd.read_csv(path, sep="\t")
        if len(log) and "elapsed_s" in log.columns:
            out.append(float(log["elapsed_s"].iloc[-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--smoke", action="store_true", help="the tiny config's DAG")
    args = parser.parse_args()
    if args.smoke:
        args.config = ROOT / "tests" / "configs" / "tiny" / "config.yaml"

    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    planned = planned_jobs(config, args.config.parent, args.cores)
    sweep_logs = sorted(args.results.glob("sweep/*/*/*/train_log.tsv"))
    if sweep_logs and "sweep_run" in planned:
        planned["sweep_run"] = len(sweep_logs)  # every round, not only the dry run's first
    runtime = collect_runtime(args.results / "benchmarks", list(planned))
    fallback = {}
    # results/train/{experiment}/{arm}/[n{budget}/]seed{n}/ (older layouts left out)
    experiments = set(config["experiments"])
    train = args.results / "train"
    main_logs = [p for p in train.glob("*/*/seed*/train_log.tsv") if p.parts[-4] in experiments]
    curve_logs = [p for p in train.glob("*/*/n*/seed*/train_log.tsv") if p.parts[-5] in experiments]
    for rule, logs in [("sweep_run", sweep_logs), ("train_model", main_logs),
                       ("train_curve", curve_logs)]:  # fmt: skip
        elapsed = log_elapsed(logs)
        if elapsed:
            fallback[rule] = sum(elapsed) / len(elapsed)
    trained = runtime[runtime["rule"] == "train_model"]
    if "train_curve" not in fallback and len(trained):  # a curve run: as many steps
        fallback["train_curve"] = float(trained["wall_s"].mean())
    cost = estimate_cost(runtime, planned, fallback)
    write_df(args.out / "run_cost.tsv", cost, float_format="%.4g")

    with pd.option_context("display.width", 160, "display.max_rows", 100):
        print(cost.round({"wall_s_per_job": 1, "est_wall_s": 0, "share": 3}).to_string(index=False))
    total = cost["est_wall_s"].sum()
    evaluation = cost.loc[cost["rule"] == "evaluate_model", "est_wall_s"].sum()
    measured = int(cost["measured_jobs"].sum())
    print(f"\njobs: {sum(planned.values())} planned, {measured} measured in benchmark files")
    print(f"estimated job time: {total / 3600:.1f} h; on {args.cores} cores at least "
          f"{total / args.cores / 3600:.1f} h of wall clock; evaluation {evaluation / total:.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
