"""How well a dev score tells training runs apart (issue: a dev signal with resolution).

From the dev curves of a few runs of one experiment (``dev_curve.tsv``: columns ``step``,
``lang`` and one column per dev metric of :mod:`otkd.train.dev`), per metric:

- ``untrained``: the mean over languages at step 0 (the initial student; equal for every
  run of an experiment) and ``headroom`` = 1 - untrained (every metric's ceiling is 1);
- per run, ``best`` (over evaluated steps > 0) and its step; per arm, the mean best;
- ``seed_spread``: the largest range (max - min) of ``best`` over the seeds of one arm;
- ``arm_spread``: the range of the arms' mean best; ``resolution`` = arm_spread /
  seed_spread (> 1: arms differ by more than seeds do);
- ``gain``: the mean over runs of best - untrained.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..io import PipelineError
from ..runs import DEV_METRICS as METRICS

RESOLUTION_COLUMNS = [
    "experiment", "metric", "untrained", "headroom", "gain", "seed_spread", "arm_spread",
    "resolution", "n_runs", "arms",
]  # fmt: skip
RUN_COLUMNS = ["experiment", "arm", "seed", "metric", "untrained", "best", "best_step", "last",
               "last_step"]  # fmt: skip


def run_scores(curves: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """One row per (run, metric) of ``curves`` (dev curves stacked, with ``experiment``,
    ``arm`` and ``seed`` columns): step-0, best and last mean-over-languages scores."""
    rows = []
    mean = curves[curves["lang"] == "all"]
    for (exp, arm, seed), run in mean.groupby(["experiment", "arm", "seed"], sort=False):
        for metric in metrics:
            if metric not in run.columns:
                continue
            start = run.loc[run["step"] == 0, metric]
            later = run[run["step"] > 0].dropna(subset=[metric])
            if start.empty or later.empty:
                raise PipelineError(
                    f"dev curve of {arm} seed {seed} ({exp}): needs step 0 and a later step"
                )
            top = later.loc[later[metric].idxmax()]
            last = later.loc[later["step"].idxmax()]
            rows.append({
                "experiment": exp, "arm": arm, "seed": int(seed), "metric": metric,
                "untrained": float(start.iloc[0]), "best": float(top[metric]),
                "best_step": int(top["step"]), "last": float(last[metric]),
                "last_step": int(last["step"]),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def dev_resolution(curves: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """The resolution table (module docstring), one row per (experiment, metric)."""
    runs = run_scores(curves, metrics)
    rows = []
    for (exp, metric), part in runs.groupby(["experiment", "metric"], sort=False):
        by_arm = part.groupby("arm", sort=False)["best"]
        ranges = [g.max() - g.min() for _, g in by_arm if len(g) > 1]
        seed_spread = max(ranges) if ranges else np.nan
        arm_means = by_arm.mean()
        arm_spread = float(arm_means.max() - arm_means.min()) if len(arm_means) > 1 else np.nan
        rows.append({
            "experiment": exp, "metric": metric,
            "untrained": float(part["untrained"].mean()),
            "headroom": 1.0 - float(part["untrained"].mean()),
            "gain": float((part["best"] - part["untrained"]).mean()),
            "seed_spread": seed_spread, "arm_spread": arm_spread,
            "resolution": arm_spread / seed_spread if seed_spread and seed_spread > 0 else np.nan,
            "n_runs": len(part), "arms": ",".join(arm_means.index),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=RESOLUTION_COLUMNS)


def plot_dev_curves(curves: pd.DataFrame, path, metrics: Sequence[str] = METRICS) -> None:
    """One panel per metric: mean-over-languages dev score against step, a line per run."""
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if m in curves.columns]
    mean = curves[curves["lang"] == "all"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    arms = list(dict.fromkeys(mean["arm"]))
    for ax, metric in zip(axes[0], metrics, strict=True):
        for (arm, seed), run in mean.groupby(["arm", "seed"], sort=False):
            style = ["-", "--", ":", "-."][(int(seed) - 1) % 4]
            ax.plot(run["step"], run[metric], color=f"C{arms.index(arm)}", ls=style, marker="o",
                    ms=3, label=f"{arm} seed {seed}")  # fmt: skip
        ax.set(xlabel="step", ylabel=f"dev {metric} (mean over languages)", title=metric)
    axes[0, 0].legend(fontsize="x-small")
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
