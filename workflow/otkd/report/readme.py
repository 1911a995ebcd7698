"""The README's results block, rendered from the committed result files only.

``python -m otkd.report.readme [README.md] [results]`` rewrites the text between
``<!-- results:begin -->`` and ``<!-- results:end -->`` in the README with
:func:`render`; ``tests/unit/report/test_readme.py`` fails when the README and the files disagree, so the
numbers in the README are always those of ``results/table.tsv``, ``comparison.tsv``,
``learning_curve.tsv``, ``learning_curve_comparison.tsv`` and ``runtime.tsv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from ..evaluate.metrics import MAIN_MEASURE
from ..io import PipelineError, write_text
from .markdown import col_label, fmt_p, markdown_table
from .runtime import TOTAL
from .tables import AGG_LANG, EXPERIMENT, protocol_of, tasks_in

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
METRIC_NAME = {"AP@20": "mAP@20", "RR@10": "MRR@10"}


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["", "NaN"])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PipelineError(f"{path}: cannot read ({exc})") from exc


def _cell(mean: float, sd: float) -> str:
    return f"{mean:.3f}" if pd.isna(sd) else f"{mean:.3f} ± {sd:.3f}"


def scores_block(table: pd.DataFrame) -> list[str]:
    """One arms x languages table per task, on the task's main metric."""
    out = []
    for task in tasks_in(table):
        if task == "en2en":
            continue
        metric = MAIN_MEASURE[task]
        part = table[(table["task"] == task) & (table["metric"] == metric)]
        cols = list(dict.fromkeys(zip(part["lang"], part["group"], strict=True)))
        rows = []
        for arm in dict.fromkeys(part["arm"]):
            cells = part[part["arm"] == arm].set_index(["lang", "group"])
            rows.append(
                [f"`{arm}`"]
                + [
                    _cell(cells.loc[c, "mean"], cells.loc[c, "sd"]) if c in cells.index else ""
                    for c in cols
                ]
            )
        out += [
            f"**{task}, {METRIC_NAME.get(metric, metric)}** (mean ± sd over seeds; protocol: "
            f"{protocol_of(table, task)})",
            "",
        ]
        out += [markdown_table(["arm", *(col_label(*c) for c in cols)], rows), ""]
    return out


def _diff_cells(r) -> list[str]:
    """Task, language, metric, both means, difference, CI and corrected p (``*`` below 0.05)
    of one comparison row."""
    return [
        r.task,
        col_label(r.lang, r.group),
        METRIC_NAME.get(r.metric, r.metric),
        f"{r.mean_arm:.3f}",
        f"{r.mean_ref:.3f}",
        f"{r.diff:+.3f}",
        f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]",
        fmt_p(r.p_adj) + (" *" if r.p_adj < 0.05 else ""),
    ]


def comparison_block(comparison: pd.DataFrame, arm: str = "ot") -> list[str]:
    """``arm`` minus its reference on every task's main metric: language and group rows."""
    sub = comparison[comparison["arm"] == arm]
    if sub.empty:
        return [f"No `{arm}` comparison in comparison.tsv.", ""]
    ref, conf = sub["reference"].iloc[0], sub["correction"].iloc[0]
    rows = [[*_diff_cells(r), f"{r.d_z:.2f}"] for r in sub.itertuples()]
    header = ["task", "lang", "metric", arm, ref, "diff", "95% CI", f"p ({conf})", "d_z"]
    return [
        f"**`{arm}` − `{ref}`** (paired over questions, per-question scores averaged over "
        f"seeds; `*`: corrected p < 0.05)",
        "",
        markdown_table(header, rows),
        "",
    ]


def curve_block(curve: pd.DataFrame) -> list[str]:
    """Group means of each task's main metric per budget and arm."""
    rows_df = curve[curve["lang"] == AGG_LANG]
    tasks = tasks_in(rows_df)
    groups = list(dict.fromkeys(rows_df["group"]))
    cols = [(t, g) for t in tasks for g in groups]
    rows = []
    for (budget, arm), part in rows_df.groupby(["budget", "arm"], sort=True):
        cells = part.set_index(["task", "group", "metric"])
        row = [str(budget), f"`{arm}`"]
        for task, group in cols:
            key = (task, group, MAIN_MEASURE[task])
            row.append(
                _cell(cells.loc[key, "mean"], cells.loc[key, "sd"]) if key in cells.index else ""
            )
        rows.append(row)
    header = ["pairs/lang", "arm"] + [
        f"{t} {METRIC_NAME.get(MAIN_MEASURE[t], MAIN_MEASURE[t])} ({col_label(AGG_LANG, g)})"
        for t, g in cols
    ]
    seeds = sorted(set(curve["n_seeds"]))
    return [
        f"**Learning curve** (group means; seeds per point: {', '.join(map(str, seeds))}; "
        + "; ".join(f"{t}: {protocol_of(curve, t)}" for t in tasks)
        + ")",
        "",
        markdown_table(header, rows),
        "",
    ]


def curve_comparison_block(comparison: pd.DataFrame, arm: str = "ot") -> list[str]:
    """``arm`` minus its reference at each budget: the group-mean rows."""
    sub = comparison[(comparison["arm"] == arm) & (comparison["lang"] == AGG_LANG)]
    if sub.empty:
        return []
    ref, conf = sub["reference"].iloc[0], sub["correction"].iloc[0]
    rows = [
        [str(r.budget), *_diff_cells(r)]
        for r in sub.sort_values("budget", kind="stable").itertuples()
    ]
    header = ["pairs/lang", "task", "lang", "metric", arm, ref, "diff", "95% CI"]
    return [
        f"**Learning curve, `{arm}` − `{ref}`** (`results/learning_curve_comparison.tsv`; "
        f"paired over questions, {conf}-corrected within each budget; `*`: p < 0.05)",
        "",
        markdown_table([*header, f"p ({conf})"], rows),
        "",
    ]


def runtime_block(runtime: pd.DataFrame) -> list[str]:
    """Per-stage totals: jobs, summed job wall time, CPU time, peak RSS."""
    totals = runtime[runtime["rule"] == TOTAL]
    rows = [
        [
            r.stage if r.stage != TOTAL else "**all jobs**",
            str(r.n_jobs),
            f"{r.wall_s / 60:.1f}",
            f"{r.cpu_s / 60:.1f}" if pd.notna(r.cpu_s) else "",
            f"{r.max_rss_mb / 1024:.1f}" if pd.notna(r.max_rss_mb) else "",
        ]
        for r in totals.itertuples()
    ]
    header = ["stage", "jobs", "job wall time (min, summed)", "CPU (min)", "peak RSS (GB)"]
    return ["**Cost per stage** (`results/runtime.tsv`)", "", markdown_table(header, rows), ""]


def results_blocks(table: pd.DataFrame, comparison: pd.DataFrame) -> list[str]:
    """Scores and the ``ot`` comparison, per experiment when the tables have an
    ``experiment`` column; tables without one (written before experiments existed) hold
    the single legacy experiment (:data:`otkd.runs.LEGACY_EXPERIMENT`) and render as
    before, without a heading."""
    if EXPERIMENT not in table.columns:
        return scores_block(table) + comparison_block(comparison)
    out = []
    for exp in dict.fromkeys(table[EXPERIMENT]):
        comp = comparison[comparison[EXPERIMENT] == exp]
        out += [f"**Experiment `{exp}`**", ""]
        out += scores_block(table[table[EXPERIMENT] == exp]) + comparison_block(comp)
    return out


def render(results_dir: str | Path = "results") -> str:
    """The results block from the files in ``results_dir``."""
    r = Path(results_dir)
    out = ["_Generated by `python -m otkd.report.readme` from the files in `results/`._", ""]
    out += results_blocks(_read(r / "table.tsv"), _read(r / "comparison.tsv"))
    if (r / "learning_curve.tsv").is_file():
        out += curve_block(_read(r / "learning_curve.tsv"))
    if (r / "learning_curve_comparison.tsv").is_file():
        out += curve_comparison_block(_read(r / "learning_curve_comparison.tsv"))
    if (r / "runtime.tsv").is_file():
        out += runtime_block(_read(r / "runtime.tsv"))
    return "\n".join(out).rstrip() + "\n"


def block_of(text: str, where: str = "README") -> str:
    """The text between the markers."""
    if BEGIN not in text or END not in text:
        raise PipelineError(f"{where}: markers {BEGIN} / {END} not found")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def update(readme: str | Path = "README.md", results_dir: str | Path = "results") -> None:
    """Rewrite the README's results block in place (atomically)."""
    path = Path(readme)
    text = path.read_text(encoding="utf-8")
    block_of(text, str(path))
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    write_text(path, f"{head}{BEGIN}\n{render(results_dir)}{END}{tail}")


if __name__ == "__main__":  # pragma: no cover
    update(*sys.argv[1:3])
