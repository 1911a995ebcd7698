"""``results/figures/``: scores per task, arm minus KL with CIs, training curves
(file names: ``docs/ARCHITECTURE.md``, report). :func:`make_figures` is rule
``plot_figures``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluate.metrics import MAIN_MEASURE
from ..io import PipelineError, atomic_path
from .markdown import col_label
from .tables import COMPARISON_COLUMNS, TABLE_COLUMNS, read_tsv, tasks_in

log = logging.getLogger(__name__)

TRAIN_LOG_COLUMNS = ["step", "loss"]
DEV_CURVE_COLUMNS = ["step", "lang", "accuracy"]


def plot_scores(table: pd.DataFrame, task: str, metric: str, path) -> None:
    """Grouped bars: one bar per arm for each language and group mean, sd over seeds."""
    import matplotlib.pyplot as plt

    sub = table[(table["task"] == task) & (table["metric"] == metric)]
    cols = list(dict.fromkeys(zip(sub["lang"], sub["group"], strict=True)))
    arms = list(dict.fromkeys(sub["arm"]))
    width = 0.8 / max(len(arms), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(cols) * max(1, len(arms) / 2)), 4))
    x = np.arange(len(cols))
    for i, arm in enumerate(arms):
        cells = sub[sub["arm"] == arm].set_index(["lang", "group"]).reindex(cols)
        ax.bar(
            x + (i - (len(arms) - 1) / 2) * width,
            cells["mean"].to_numpy(),
            width,
            yerr=cells["sd"].fillna(0).to_numpy(),
            capsize=2,
            label=arm,
        )
    ax.set_xticks(x, [col_label(*c) for c in cols], rotation=45, ha="right")
    ax.set_ylabel(metric)
    ax.set_title(f"{task}: {metric} (error bars: sd over seeds)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_difference(comparison: pd.DataFrame, arm: str, path) -> None:
    """``arm`` minus the reference per task, language and group, with bootstrap CI; filled
    markers: significant after correction."""
    import matplotlib.pyplot as plt

    sub = comparison[comparison["arm"] == arm]
    tasks = tasks_in(sub)
    fig, axes = plt.subplots(len(tasks), 1, figsize=(8, 2.6 * len(tasks)), squeeze=False)
    for ax, task in zip(axes[:, 0], tasks, strict=True):
        t = sub[sub["task"] == task].reset_index(drop=True)
        x = np.arange(len(t))
        err = np.vstack([t["diff"] - t["ci_low"], t["ci_high"] - t["diff"]])
        sig = (t["p_adj"] < 0.05).to_numpy()
        ax.errorbar(x, t["diff"], yerr=err, fmt="none", ecolor="gray", capsize=3)
        ax.scatter(x[sig], t["diff"][sig], color="C3", zorder=3, label="p_adj < 0.05")
        ax.scatter(
            x[~sig], t["diff"][~sig], facecolors="white", edgecolors="C0", zorder=3, label="n.s."
        )
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(
            x, [col_label(lang, g) for lang, g in zip(t["lang"], t["group"], strict=True)]
        )
        ax.set_ylabel(f"Δ {t['metric'].iloc[0]}")
        ax.set_title(f"{task}: {arm} − {t['reference'].iloc[0]} (95% bootstrap CI)")
    axes[0, 0].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def load_training_logs(run_dirs: Sequence[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``train_log.tsv`` and ``dev_curve.tsv`` of ``results/train/{arm}/seed{seed}`` dirs,
    with ``arm`` and ``seed`` columns added."""
    logs, devs = [], []
    for d in run_dirs:
        d = Path(d)
        arm, seed = d.parent.name, d.name.removeprefix("seed")
        logs.append(read_tsv(d / "train_log.tsv", TRAIN_LOG_COLUMNS).assign(arm=arm, seed=seed))
        devs.append(read_tsv(d / "dev_curve.tsv", DEV_CURVE_COLUMNS).assign(arm=arm, seed=seed))
    if not logs:
        raise PipelineError("no training runs given")
    return pd.concat(logs, ignore_index=True), pd.concat(devs, ignore_index=True)


def plot_training(train_log: pd.DataFrame, dev_curve: pd.DataFrame, path) -> None:
    """One training-loss panel per arm (losses of different arms are on different scales),
    one thin line per seed, then mean dev accuracy over languages against step for all arms."""
    import matplotlib.pyplot as plt

    arms = list(dict.fromkeys(train_log["arm"]))
    fig, axes = plt.subplots(1, len(arms) + 1, figsize=(4 * (len(arms) + 1), 3.6), squeeze=False)
    for i, arm in enumerate(arms):
        ax = axes[0, i]
        runs = train_log[train_log["arm"] == arm]
        for j, (seed, run) in enumerate(runs.groupby("seed")):
            style = ["-", "--", ":", "-."][j % 4]
            ax.plot(run["step"], run["loss"], f"C{i}", ls=style, lw=0.9, label=f"seed {seed}")
        if (runs["loss"] > 0).all():
            ax.set_yscale("log")
        ax.set(xlabel="step", ylabel="training loss", title=f"{arm}: training loss")
        ax.legend(fontsize="x-small")
        dev = dev_curve[dev_curve["arm"] == arm]
        for j, (_, run) in enumerate(dev.groupby("seed")):
            acc = run.groupby("step")["accuracy"].mean()
            axes[0, -1].plot(
                acc.index, acc.to_numpy(), color=f"C{i}", marker="o", ms=3, lw=0.8,
                label=arm if j == 0 else None,
            )  # fmt: skip
    axes[0, -1].set(xlabel="step", ylabel="accuracy (mean over languages)", title="FLORES dev")
    axes[0, -1].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def make_figures(
    table_path, comparison_path, run_dirs: Sequence[str | Path], out_dir, experiment=None
) -> list[str]:
    """Rule ``plot_figures``: every PNG into ``out_dir`` (written as a whole, atomically):
    ``scores_{task}.png``, ``{arm}_minus_{reference}.png``, ``training_curves.png``; with
    ``experiment``, only that experiment's rows of the tables."""
    import matplotlib

    matplotlib.use("Agg")
    table = read_tsv(table_path, TABLE_COLUMNS)
    comparison = read_tsv(comparison_path, COMPARISON_COLUMNS)
    if experiment is not None:
        table = table[table["experiment"] == experiment]
        comparison = comparison[comparison["experiment"] == experiment]
    train_log, dev_curve = load_training_logs(run_dirs)
    names = []
    with atomic_path(out_dir, is_dir=True) as tmp:
        for task in tasks_in(table):
            if task == "en2en":
                continue
            plot_scores(table, task, MAIN_MEASURE[task], tmp / f"scores_{task}.png")
            names.append(f"scores_{task}.png")
        for arm in dict.fromkeys(comparison["arm"]):
            ref = comparison.loc[comparison["arm"] == arm, "reference"].iloc[0]
            plot_difference(comparison, arm, tmp / f"{arm}_minus_{ref}.png")
            names.append(f"{arm}_minus_{ref}.png")
        plot_training(train_log, dev_curve, tmp / "training_curves.png")
        names.append("training_curves.png")
    log.info("figures: %s", ", ".join(names))
    return names
