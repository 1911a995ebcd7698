"""The learning curve: ``learning_curve.tsv``, ``learning_curve.png`` and
``learning_curve_comparison.tsv`` (columns: ``docs/ARCHITECTURE.md``, learning curve).
:func:`make_learning_curve` is rule ``learning_curve``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..bitext import read_pairs
from ..evaluate.metrics import MAIN_MEASURE
from ..evaluate.tasks import task_protocols
from ..io import PipelineError, atomic_path, write_df
from .compare import build_comparison, stats_options
from .tables import (
    AGG_LANG,
    COMPARISON_COLUMNS,
    PERQUERY_COLUMNS,
    build_table,
    load_evaluations,
    tasks_in,
    with_protocol,
)

CURVE_COLUMNS = ["task", "lang", "group", "metric", "budget", "arm", "mean", "sd", "n_seeds"]
CURVE_COLUMNS += ["n_langs", "pairs", "epochs"]


def budget_parts(df: pd.DataFrame, points: Sequence[Sequence]):
    """``(budget, rows)`` per learning-curve budget, in increasing order: the rows of ``df``
    (from :func:`load_evaluations`) of that budget's models, with ``arm`` and ``seed`` taken
    from ``points`` (``[arm, budget, seed, model]``)."""
    budgets = sorted({int(p[1]) for p in points})
    if not budgets:
        raise PipelineError("learning curve: no points (config key 'learning_curve.budgets')")
    for budget in budgets:
        models = {p[3]: (p[0], int(p[2])) for p in points if int(p[1]) == budget}
        part = df[df["model"].isin(list(models))]
        missing = sorted(set(models) - set(part["model"]))
        if missing:
            raise PipelineError(f"learning curve: no evaluation of {missing} (budget {budget})")
        yield (
            budget,
            part.assign(
                arm=part["model"].map({m: arm for m, (arm, _) in models.items()}),
                seed=part["model"].map({m: seed for m, (_, seed) in models.items()}),
            ),
        )


def planned_epochs(train: Mapping, pairs: int) -> float:
    """Passes over ``pairs`` training pairs that ``train.steps`` batches of
    ``train.batch_size`` pairs make (NaN when either key or the pairs are missing); every
    budget of the curve trains for the same steps, so a smaller budget is seen more often."""
    steps, batch = train.get("steps"), train.get("batch_size")
    if not steps or not batch or not pairs:
        return float("nan")
    return steps * batch / pairs


def build_learning_curve(
    metrics: pd.DataFrame,
    points: Sequence[Sequence],
    pool_counts: Mapping[str, int],
    langs: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    train: Mapping | None = None,
) -> pd.DataFrame:
    """The learning-curve table: :func:`build_table` rows of every budget, long format.

    ``metrics``: :func:`load_evaluations` of the curve models; ``points``: ``[arm, budget,
    seed, model]`` per curve run; ``pool_counts``: pairs per language in the curve pool.
    ``pairs`` is the number of training pairs actually used (``min(budget, pool)`` summed
    over the languages of the row), so a language with a smaller pool is visible;
    ``epochs``: passes over all languages' pairs of the budget (:func:`planned_epochs` of the
    experiment's ``train`` section).
    """
    members = {lang: [lang] for lang in langs}
    members.update({name: list(m) for name, m in groups.items()})
    members["all"] = list(langs)
    frames = []
    for budget, part in budget_parts(metrics, points):
        table = build_table(part, langs, groups).assign(budget=budget)
        used = {lang: min(budget, int(pool_counts.get(lang, 0))) for lang in langs}
        keys = table["lang"].where(table["lang"] != AGG_LANG, table["group"])
        table["pairs"] = [sum(used.get(m, 0) for m in members.get(k, [])) for k in keys]
        table["epochs"] = planned_epochs(train or {}, sum(used.values()))
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    return out[CURVE_COLUMNS]


def build_curve_comparison(
    perquery: pd.DataFrame,
    points: Sequence[Sequence],
    langs: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    **stats_options,
) -> pd.DataFrame:
    """:func:`build_comparison` (every curve arm against ``kl``) at each budget separately,
    with a ``budget`` column first. p-values are corrected within one budget's family; with
    one seed per point the test covers question sampling, not seed variance."""
    frames = [
        build_comparison(part, langs, groups, **stats_options).assign(budget=budget)
        for budget, part in budget_parts(perquery, points)
    ]
    return pd.concat(frames, ignore_index=True)[["budget", *COMPARISON_COLUMNS]]


def plot_learning_curve(curve: pd.DataFrame, path) -> None:
    """Main metric of each task against the budget (log scale), one panel per task and
    resource group, one line per arm (error bars: sd over seeds, when several)."""
    import matplotlib.pyplot as plt

    tasks = tasks_in(curve)
    rows = curve[curve["lang"] == AGG_LANG]
    groups = list(dict.fromkeys(rows["group"]))
    fig, axes = plt.subplots(
        len(tasks), len(groups), figsize=(3.6 * len(groups), 3.0 * len(tasks)), squeeze=False
    )
    for i, task in enumerate(tasks):
        metric = MAIN_MEASURE[task]
        for j, group in enumerate(groups):
            ax = axes[i][j]
            sub = rows[(rows["task"] == task) & (rows["metric"] == metric)]
            sub = sub[sub["group"] == group]
            for arm in dict.fromkeys(sub["arm"]):
                line = sub[sub["arm"] == arm].sort_values("budget")
                ax.errorbar(
                    line["budget"],
                    line["mean"],
                    yerr=line["sd"].fillna(0),
                    marker="o",
                    capsize=2,
                    label=arm,
                )
            ax.set_xscale("log", base=2)
            budgets = sorted(sub["budget"].unique())
            ax.set_xticks(budgets, [str(b) for b in budgets])
            ax.set_title(f"{task} {metric}: {group}", fontsize="small")
            ax.set_xlabel("bitext pairs per language")
            if j == 0:
                ax.set_ylabel(metric)
            ax.legend(fontsize="x-small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def make_learning_curve(
    metrics_paths: Sequence[str | Path],
    points: Sequence[Sequence],
    pool_path,
    table_out,
    figure_out,
    *,
    config: Mapping,
    tasks: Sequence[str] | None = None,
    perquery_paths: Sequence[str | Path] = (),
    comparison_out=None,
    train: Mapping | None = None,
) -> pd.DataFrame:
    """Rule ``learning_curve``: ``learning_curve.tsv`` and ``learning_curve.png`` for
    ``tasks`` (default: every task in the metrics; the main-budget point comes from the main
    runs, which have every evaluation task), and with ``comparison_out`` the per-budget
    comparison against ``kl`` (:func:`build_curve_comparison`) from ``perquery_paths``;
    ``train``: ``steps`` and ``batch_size`` of the curve's runs (the ``epochs`` column)."""
    import matplotlib

    matplotlib.use("Agg")

    def only_tasks(df: pd.DataFrame) -> pd.DataFrame:
        return df if tasks is None else df[df["task"].isin(list(tasks))]

    langs, groups = list(config["languages"]), dict(config.get("groups", {}))
    metrics = only_tasks(load_evaluations(metrics_paths, ["task", "lang", "measure", "value"]))
    pool = read_pairs(pool_path)["lang"].value_counts().to_dict()
    protocols = task_protocols(config.get("evaluation", {}))
    curve = build_learning_curve(metrics, points, pool, langs, groups, train)
    curve = with_protocol(curve, protocols)
    experiment = next((p[4] for p in points if len(p) > 4 and p[4]), None)
    if experiment is not None:  # the experiment of the points (otkd.runs.CurvePoint)
        curve.insert(0, "experiment", experiment)
    if comparison_out is not None:
        perquery = only_tasks(load_evaluations(perquery_paths, PERQUERY_COLUMNS))
        comparison = build_curve_comparison(
            perquery, points, langs, groups, **stats_options(config)
        )
        comparison = with_protocol(comparison, protocols)
        if experiment is not None:
            comparison.insert(0, "experiment", experiment)
        write_df(comparison_out, comparison, float_format="%.6g")
    write_df(table_out, curve, float_format="%.6g")
    plot_learning_curve(curve, figure_out)
    return curve
