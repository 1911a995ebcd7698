"""Benchmark: the resolution of the dev scores, and how long training must run.

    .venv/bin/python benchmarks/dev_signal.py --experiment shared --steps 300 \
        --eval-every 100 --runs kl:1 ot:1 wkd:1 kl:2 [--threads 1] [--out DIR]
    .venv/bin/python benchmarks/dev_signal.py --curves DIR   # summarise curves already made

Trains each ``arm:seed`` run of ``--experiment`` exactly as rule ``train_model`` does
(:func:`otkd.train.train`, the experiment's ``train`` settings from the config with
``--steps``/``--eval-every`` and, for a parameter the config leaves to the sweep, the value
given by ``--set arm.param=value`` or the schema's default), on the files the pipeline's
data, tokenize and teacher-cache stages wrote under ``results/``. Every dev evaluation
records all dev scores (:mod:`otkd.train.dev`). Then it writes to ``--out``
(``benchmarks/out/dev_signal/{experiment}``): the curves (``curves.tsv``), per-run best and
last scores (``runs.tsv``), the resolution table (``resolution.tsv``: untrained score,
headroom, seed spread, arm spread, :mod:`otkd.report.dev_signal`) and ``dev_curves.png``,
and prints the tables. XQuAD is never read.

``--smoke``: summarises synthetic curves in a temporary folder (checks the summary path).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def train_runs(args) -> Path:
    import torch
    from otkd.config import load_config
    from otkd.io import setup_logging
    from otkd.runs import SWEEP, SWEEP_PARAMS, arm_settings, experiment
    from otkd.train import SplitPaths, train

    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    exp = experiment(cfg, args.experiment)
    out = Path(args.out or ROOT / "benchmarks" / "out" / "dev_signal" / exp.name)
    out.mkdir(parents=True, exist_ok=True)

    def paths(split: str) -> SplitPaths:
        r = Path(args.results)
        return SplitPaths(
            bitext=r / "data" / "bitext" / f"{split}.tsv",
            student_xx=r / "tokens" / split / "student_xx.npz",
            student_en=r / "tokens" / split / "student_en.npz",
            teacher_en=r / "tokens" / split / f"teacher_en__{exp.teacher_key}.npz",
            teacher_cache=r / "teacher_cache" / exp.teacher_key / split,
        )

    overrides = dict(item.split("=", 1) for item in args.set)
    for spec in args.runs:
        arm, seed = spec.split(":")[0], int(spec.split(":")[1])
        settings = arm_settings(exp.train, arm)
        settings.update(steps=args.steps, eval_every=args.eval_every)
        for section, (param, _) in SWEEP_PARAMS.items():
            if section in settings:
                key = f"{section}.{param}"
                if key in overrides:
                    settings[section][param] = float(overrides[key])
                elif settings[section].get(param) == SWEEP:
                    raise SystemExit(f"{key} is 'sweep' in the config: give --set {key}=VALUE")
        tag = f"{arm}_seed{seed}"
        setup_logging(str(out / f"{tag}.log"))
        started = time.perf_counter()
        summary = train(
            arm, seed, settings, cfg["models"]["student"], paths("train"), paths("dev"),
            train_log=out / f"{tag}_train_log.tsv", dev_curve=out / f"{tag}_dev_curve.tsv",
            projection=exp.projection,
            projection_init=(Path(args.results) / "projection" / exp.name / "main")
            if exp.projection == "ridge" else None,
        )  # fmt: skip
        print(f"{tag}: {time.perf_counter() - started:.0f} s, best step {summary['best_step']}")
    return out


def stack_curves(folder: Path, experiment: str) -> pd.DataFrame:
    """Every ``{arm}_seed{seed}_dev_curve.tsv`` of ``folder``, with experiment/arm/seed."""
    frames = []
    for path in sorted(folder.glob("*_dev_curve.tsv")):
        match = re.fullmatch(r"(?P<arm>[a-z_]+?)_seed(?P<seed>\d+)_dev_curve\.tsv", path.name)
        if match:
            frame = pd.read_csv(path, sep="\t")
            frames.append(frame.assign(experiment=experiment, arm=match["arm"],
                                       seed=int(match["seed"])))  # fmt: skip
    if not frames:
        raise SystemExit(f"{folder}: no *_seed*_dev_curve.tsv files")
    return pd.concat(frames, ignore_index=True)


def summarise(folder: Path, experiment: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from otkd.io import write_df
    from otkd.report.dev_signal import dev_resolution, plot_dev_curves, run_scores

    curves = stack_curves(folder, experiment)
    cols = ["experiment", "arm", "seed", "step", "lang"]
    write_df(folder / "curves.tsv", curves[cols + [c for c in curves if c not in cols]])
    runs, table = run_scores(curves), dev_resolution(curves)
    write_df(folder / "runs.tsv", runs, float_format="%.4f")
    write_df(folder / "resolution.tsv", table, float_format="%.4f")
    plot_dev_curves(curves, folder / "dev_curves.png")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(runs.to_string(index=False, float_format="%.4f"))
        print(table.to_string(index=False, float_format="%.4f"))


def smoke_curves(folder: Path) -> None:
    for arm, seed, gain in [("kl", 1, 0.05), ("kl", 2, 0.06), ("ot", 1, 0.1)]:
        rows = [{"step": s, "lang": lang, "accuracy": 0.99, "mrr": 0.98,
                 "fidelity": 0.8 + gain * min(s, 20) / 20} for s in (0, 10, 20, 30)
                for lang in ("de", "all")]  # fmt: skip
        pd.DataFrame(rows).to_csv(folder / f"{arm}_seed{seed}_dev_curve.tsv", sep="\t",
                                  index=False)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--results", default="results", help="the pipeline's results folder")
    parser.add_argument("--experiment", default="shared")
    parser.add_argument("--runs", nargs="*", default=["kl:1", "ot:1", "wkd:1", "kl:2"])
    parser.add_argument("--set", nargs="*", default=[], help="arm.param=value for 'sweep' ones")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    parser.add_argument("--out", default=None)
    parser.add_argument("--curves", default=None, help="summarise the curves in this folder")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        folder = Path(tempfile.mkdtemp(prefix="dev_signal_"))
        smoke_curves(folder)
        summarise(folder, args.experiment)
        return
    folder = Path(args.curves) if args.curves else train_runs(args)
    summarise(folder, args.experiment)


if __name__ == "__main__":
    main()
