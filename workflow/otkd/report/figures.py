"""``results/figures/``: scores per task, arm minus KL with CIs, training curves, gain over
the untrained student against its score (file names: ``docs/ARCHITECTURE.md``, report).
:func:`make_figures` is rule ``plot_figures``; :func:`make_sweep_figure` is rule
``sweep_figure``.
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
from .tables import AGG_LANG, COMPARISON_COLUMNS, TABLE_COLUMNS, read_tsv, tasks_in

log = logging.getLogger(__name__)

TRAIN_LOG_COLUMNS = ["step", "loss"]
SWEEP_COLUMNS = ["arm", "param", "value", "dev_metric", "best_dev_score", "best_step", "selected"]
INIT = "student_init"
GAIN_COLUMNS = ["task", "lang", "arm", "metric", "init", "score", "gain"]
DEV_CURVE_COLUMNS = ["step", "lang"]  # plus one column per dev metric (otkd.train.dev)


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
    width = max(8.0, 0.45 * sub.groupby("task").size().max())  # room for every label
    fig, axes = plt.subplots(len(tasks), 1, figsize=(width, 3.2 * len(tasks)), squeeze=False)
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
            x,
            [col_label(lang, g) for lang, g in zip(t["lang"], t["group"], strict=True)],
            rotation=45,
            ha="right",
            rotation_mode="anchor",
        )
        ax.set_xlim(-0.6, len(t) - 0.4)
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


def smooth_loss(loss: pd.Series, share: float = 0.05) -> pd.Series:
    """Exponentially weighted mean of a loss series (span: ``share`` of its steps, at least
    5), skipping NaN steps (skipped batches)."""
    span = max(5, round(share * len(loss)))
    return loss.astype(float).ewm(span=span, ignore_na=True).mean()


def plot_training(
    train_log: pd.DataFrame, dev_curve: pd.DataFrame, path, dev_metric: str = "fidelity"
) -> None:
    """One training-loss panel per arm (losses of different arms are on different scales),
    one thin line per seed, then the mean dev ``dev_metric`` over languages against step for
    all arms (``accuracy`` for dev curves written before the other metrics existed)."""
    import matplotlib.pyplot as plt

    metric = dev_metric if dev_metric in dev_curve.columns else "accuracy"
    arms = list(dict.fromkeys(train_log["arm"]))
    fig, axes = plt.subplots(1, len(arms) + 1, figsize=(4 * (len(arms) + 1), 3.6), squeeze=False)
    for i, arm in enumerate(arms):
        ax = axes[0, i]
        runs = train_log[train_log["arm"] == arm]
        for j, (seed, run) in enumerate(runs.groupby("seed")):
            style = ["-", "--", ":", "-."][j % 4]
            ax.plot(run["step"], run["loss"], f"C{i}", ls=style, lw=0.5, alpha=0.25)
            ax.plot(run["step"], smooth_loss(run["loss"]), f"C{i}", ls=style, lw=1.2,
                    label=f"seed {seed}")  # fmt: skip
        if (runs["loss"] > 0).all():
            ax.set_yscale("log")
        ax.set(xlabel="step", ylabel="training loss (EWM-smoothed; faint: raw)",
               title=f"{arm}: training loss")  # fmt: skip
        ax.legend(fontsize="x-small")
        dev = dev_curve[dev_curve["arm"] == arm]
        for j, (_, run) in enumerate(dev.groupby("seed")):
            acc = run.groupby("step")[metric].mean()
            axes[0, -1].plot(
                acc.index, acc.to_numpy(), color=f"C{i}", marker="o", ms=3, lw=0.8,
                label=arm if j == 0 else None,
            )  # fmt: skip
    axes[0, -1].set(xlabel="step", ylabel=f"{metric} (mean over languages)", title="FLORES dev")
    axes[0, -1].legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def init_gains(table: pd.DataFrame) -> pd.DataFrame:
    """Per language (no English, no group means) and trained arm: the arm's mean over seeds
    minus ``student_init`` on the task's main measure (columns :data:`GAIN_COLUMNS`)."""
    rows = table[
        (table["lang"] != AGG_LANG)
        & (table["lang"] != "en")
        & (table["metric"] == table["task"].map(MAIN_MEASURE))
    ]
    init = rows[rows["arm"] == INIT].set_index(["task", "lang"])["mean"].rename("init")
    arms = rows[~rows["arm"].isin([INIT, "teacher"])]
    out = arms.join(init, on=["task", "lang"], how="inner").rename(columns={"mean": "score"})
    out["gain"] = out["score"] - out["init"]
    return out[GAIN_COLUMNS].reset_index(drop=True)


def plot_gain_vs_init(gains: pd.DataFrame, path) -> pd.DataFrame:
    """One panel per task: gain over ``student_init`` against ``student_init``'s score, one
    marker and colour per arm, a least-squares line per arm (:func:`scipy.stats.linregress`);
    returns the fits (``task arm slope intercept r p n``)."""
    import matplotlib.pyplot as plt
    from scipy import stats

    tasks = tasks_in(gains)
    arms = list(dict.fromkeys(gains["arm"]))
    markers = "osD^vP*X"
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 4), squeeze=False)
    fits = []
    for ax, task in zip(axes[0], tasks, strict=True):
        sub = gains[gains["task"] == task]
        for i, arm in enumerate(arms):
            part = sub[sub["arm"] == arm]
            if part.empty:
                continue
            ax.scatter(part["init"], part["gain"], color=f"C{i}", marker=markers[i % 8],
                       label=arm, zorder=3)  # fmt: skip
            for _, row in part.iterrows():
                ax.annotate(row["lang"], (row["init"], row["gain"]), fontsize=7,
                            xytext=(3, 2), textcoords="offset points")  # fmt: skip
            if part["init"].nunique() >= 2:
                fit = stats.linregress(part["init"], part["gain"])
                xs = np.linspace(part["init"].min(), part["init"].max(), 2)
                ax.plot(xs, fit.intercept + fit.slope * xs, color=f"C{i}", lw=1)
                fits.append({"task": task, "arm": arm, "slope": fit.slope,
                             "intercept": fit.intercept, "r": fit.rvalue, "p": fit.pvalue,
                             "n": len(part)})  # fmt: skip
        ax.axhline(0, color="black", lw=0.8)
        metric = sub["metric"].iloc[0]
        ax.set(xlabel=f"{INIT} {metric}", ylabel=f"gain over {INIT} ({metric})", title=task)
    axes[0, 0].legend(fontsize="small")
    fig.suptitle("Gain over the untrained student against its score, per language")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return pd.DataFrame(fits, columns=["task", "arm", "slope", "intercept", "r", "p", "n"])


def plot_sweep(sweep: pd.DataFrame, path) -> None:
    """One panel per (arm, hyper-parameter): best dev score against the value (log axis
    when the values span more than a factor 10), the selected value marked; a note when no
    parameter was tuned (every one set in the config)."""
    import matplotlib.pyplot as plt

    if sweep.empty:
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "no swept parameter: every value is set in the config",
                ha="center", va="center")  # fmt: skip
        fig.savefig(path, dpi=120, format="png")
        plt.close(fig)
        return
    pairs = list(dict.fromkeys(zip(sweep["arm"], sweep["param"], strict=True)))
    fig, axes = plt.subplots(1, len(pairs), figsize=(4 * len(pairs), 3.4), squeeze=False)
    for i, (ax, (arm, param)) in enumerate(zip(axes[0], pairs, strict=True)):
        part = sweep[(sweep["arm"] == arm) & (sweep["param"] == param)].sort_values("value")
        ax.plot(part["value"], part["best_dev_score"], f"C{i}", marker="o")
        chosen = part[part["selected"].astype(str).str.lower() == "true"]
        ax.scatter(chosen["value"], chosen["best_dev_score"], s=160, marker="*",
                   color="C3", zorder=3, label="selected")  # fmt: skip
        values = part["value"].to_numpy(dtype=float)
        if (values > 0).all() and values.max() > 10 * values.min():
            ax.set_xscale("log")
        ax.set(xlabel=param, ylabel=f"best dev {part['dev_metric'].iloc[0]}",
               title=f"{arm}: {param}")  # fmt: skip
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def make_sweep_figure(sweep_path, out_path) -> None:
    """Rule ``sweep_figure``: :func:`plot_sweep` of ``results/sweep/{experiment}/sweep.tsv``."""
    import matplotlib

    matplotlib.use("Agg")
    sweep = read_tsv(sweep_path, SWEEP_COLUMNS)
    with atomic_path(out_path) as tmp:
        plot_sweep(sweep, tmp)


def make_figures(
    table_path,
    comparison_path,
    run_dirs: Sequence[str | Path],
    out_dir,
    experiment=None,
    dev_metric: str = "fidelity",
) -> list[str]:
    """Rule ``plot_figures``: every PNG into ``out_dir`` (written as a whole, atomically):
    ``scores_{task}.png``, ``{arm}_minus_{reference}.png``, ``training_curves.png`` and, when
    ``student_init`` and a trained arm are in the table, ``gain_vs_init.png``; with
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
        plot_training(train_log, dev_curve, tmp / "training_curves.png", dev_metric)
        names.append("training_curves.png")
        gains = init_gains(table)
        if not gains.empty:
            fits = plot_gain_vs_init(gains, tmp / "gain_vs_init.png")
            names.append("gain_vs_init.png")
            log.info("gain over %s against its score, per arm:\n%s", INIT, fits.to_string())
    log.info("figures: %s", ", ".join(names))
    return names
