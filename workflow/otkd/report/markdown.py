"""``summary.md``: the tables and comparisons as markdown, with the protocol notes; the
formatting helpers (:func:`markdown_table`, :func:`fmt`, :func:`fmt_p`, :func:`col_label`)
are shared with :mod:`otkd.report.readme`. :func:`make_tables` is rule ``build_tables``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..evaluate.encoding import TRUNCATION_COLUMNS
from ..evaluate.tasks import task_protocols
from ..io import write_df, write_text
from .compare import build_comparison, stats_options
from .lowres import build_low_resource, power_note
from .tables import (
    AGG_LANG,
    EXPERIMENT,
    PERQUERY_COLUMNS,
    build_table,
    by_experiment,
    load_evaluations,
    protocol_of,
    read_tsv,
    tasks_in,
    with_protocol,
)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(x: float, digits: int = 3) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def fmt_p(p: float) -> str:
    if p is None or math.isnan(p):
        return ""
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


def col_label(lang: str, group: str) -> str:
    return (
        {"lower_resource": "low", "higher_resource": "high", "all": "all"}.get(group, group)
        + "-mean"
        if lang == AGG_LANG
        else lang
    )


def describe_experiment(name: str, setting: Mapping | None) -> str:
    """One line on an experiment's teacher and map (``setting``: ``teacher`` = ``student``
    or the teacher's spec, ``projection``)."""
    if not setting:
        return f"Experiment `{name}`."
    if setting.get("teacher") == "student":
        teacher = (
            "the student's initial model, frozen on the English side (its `teacher` row is "
            "`student_init`'s evaluation)"
        )
    else:
        teacher = f"`{setting.get('teacher')}`"
    projection = {False: "none", True: "learned", "ridge": "ridge-initialised, trained"}.get(
        setting.get("projection"), str(setting.get("projection"))
    )
    return f"Teacher: {teacher}; student -> teacher map: {projection}."


def summary_markdown(
    table: pd.DataFrame,
    comparison: pd.DataFrame,
    notes: Sequence[str] = (),
    truncation: pd.DataFrame | None = None,
    experiments: Mapping[str, Mapping] | None = None,
    low_resource: pd.DataFrame | None = None,
    low_resource_note: str = "",
) -> str:
    """``summary.md``: ``notes`` (protocol facts), then per experiment (a section each when
    the tables have an ``experiment`` column; ``experiments`` describes them) one table per
    task and metric (arms x languages, mean ± sd over seeds, headed by the task's protocol
    label), the comparisons against KL and, given ``low_resource``
    (:func:`otkd.report.lowres.build_low_resource`), the rank correlations with the untrained
    student's score (:func:`low_resource_markdown`, ``low_resource_note`` under the table),
    then what the maximum lengths cut (:func:`truncation_markdown`)."""
    out = ["# Results: OT vs KL distillation, zero-shot cross-lingual retrieval on XQuAD", ""]
    out += [f"- {n}" for n in notes] + [""]
    if EXPERIMENT not in table.columns:
        out += experiment_markdown(table, comparison, "##")
        if low_resource is not None:
            out += low_resource_markdown(low_resource, "##", low_resource_note)
    else:
        for exp in dict.fromkeys(table[EXPERIMENT]):
            out += [f"## Experiment `{exp}`", ""]
            out += [describe_experiment(exp, (experiments or {}).get(exp)), ""]
            comp = comparison[comparison[EXPERIMENT] == exp]
            out += experiment_markdown(table[table[EXPERIMENT] == exp], comp, "###")
            if low_resource is not None:
                lr = low_resource[low_resource[EXPERIMENT] == exp]
                out += low_resource_markdown(lr, "###", low_resource_note)
    if truncation is not None:
        out += truncation_markdown(truncation)
    return "\n".join(out)


def experiment_markdown(table: pd.DataFrame, comparison: pd.DataFrame, h: str) -> list[str]:
    """The score tables and comparisons of one experiment, headings from level ``h``."""
    out = [f"{h} Scores (mean ± sd over seeds; baselines are single runs)", ""]
    for task in tasks_in(table):
        sub = table[table["task"] == task]
        out += [f"Protocol of {task}: {protocol_of(table, task)}.", ""]
        for metric in dict.fromkeys(sub["metric"]):
            part = sub[sub["metric"] == metric]
            cols = list(dict.fromkeys(zip(part["lang"], part["group"], strict=True)))
            rows = []
            for arm in dict.fromkeys(part["arm"]):
                cells = part[part["arm"] == arm].set_index(["lang", "group"])
                row = [arm]
                for col in cols:
                    if col not in cells.index:
                        row.append("")
                        continue
                    r = cells.loc[col]
                    sd = "" if pd.isna(r["sd"]) else f" ± {r['sd']:.3f}"
                    row.append(f"{r['mean']:.3f}{sd}")
                rows.append(row)
            name = "mAP@20" if metric == "AP@20" else ("MRR@10" if metric == "RR@10" else metric)
            out += [f"{h}# {task}, {name}", ""]
            out += [markdown_table(["arm", *(col_label(*c) for c in cols)], rows), ""]
    out += [f"{h} Comparisons against KL (paired over questions)", ""]
    if comparison.empty:
        out += ["No comparison: the config has no `kl` arm or no other trained arm.", ""]
    for arm in dict.fromkeys(comparison["arm"]):
        sub = comparison[comparison["arm"] == arm]
        ref = sub["reference"].iloc[0]
        conf = sub["correction"].iloc[0]
        out += [f"{h}# {arm} − {ref}", ""]
        header = [
            "task",
            "lang",
            "metric",
            arm,
            ref,
            "diff",
            "95% CI",
            "p",
            f"p ({conf})",
            "d_z",
            "n",
        ]
        rows = [
            [
                r.task,
                col_label(r.lang, r.group),
                r.metric,
                fmt(r.mean_arm),
                fmt(r.mean_ref),
                f"{r.diff:+.3f}",
                f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]",
                fmt_p(r.p),
                fmt_p(r.p_adj) + (" *" if r.p_adj < 0.05 else ""),
                fmt(r.d_z, 2),
                r.n_queries,
            ]
            for r in sub.itertuples()
        ]
        out += [markdown_table(header, rows), "", "`*`: corrected p < 0.05.", ""]
    return out


def low_resource_markdown(rows: pd.DataFrame, h: str, note: str = "") -> list[str]:
    """The ``low_resource.tsv`` rows of one experiment as a table, headings from level ``h``;
    ``note`` (:func:`otkd.report.lowres.power_note`) under it."""
    out = [f"{h} Gains against the untrained student's score, across languages", ""]
    if rows.empty:
        return out + ["No rows: the experiment has no `student_init` or no trained arm.", ""]
    out += [
        "Per language (English excluded; main measure, means over seeds): Spearman's rho of "
        "each quantity against `student_init`'s score, with a two-sided permutation p-value "
        "(uncorrected) and the |rho| that p < 0.05 needs at its number of languages (`rho "
        "needed`); `gain_<arm>` = arm − `student_init`, `<arm>_minus_kl` = arm − `kl`. "
        "Negative rho: larger where the untrained student was weaker. Next to it: the group "
        "means (low / high) and, per language, the paired tests of the comparisons above.",
        "",
    ]
    header = [
        "task", "measure", "quantity", "n", "rho", "p", "rho needed", "low-mean", "high-mean",
    ]  # fmt: skip
    table_rows = [
        [
            r.task,
            r.measure,
            r.quantity,
            r.n_languages,
            fmt(r.spearman_rho, 2),
            fmt_p(r.p_value),
            fmt(r.critical_rho, 2),
            fmt(r.low_mean),
            fmt(r.high_mean),
        ]
        for r in rows.itertuples()
    ]
    out += [markdown_table(header, table_rows), ""]
    return out + ([note, ""] if note else [])


def truncation_markdown(truncation: pd.DataFrame) -> list[str]:
    """What each maximum length cut, per model, task and role, summarised over languages.

    ``truncation``: concatenated ``truncation.tsv`` rows with ``model``. Models whose rows are
    identical (every trained student shares the initial student's tokenizer and lengths) are
    listed together.
    """
    out = ["## Truncation (texts longer than the maximum length, cut)", ""]
    if truncation.empty:
        return out + ["No truncation files.", ""]
    keys = ["task", "role", "encoder", "max_length"]
    parts = []
    for model, sub in truncation.groupby("model", sort=False):
        rows = []
        for key, g in sub.groupby(keys, sort=False):
            worst = g.sort_values("share_truncated", ascending=False).iloc[0]
            rows.append(
                (
                    *key,
                    int(g["n_texts"].sum()),
                    int(g["n_truncated"].sum()),
                    f"{worst['lang']} {worst['share_truncated']:.0%}",
                    float(g["p90_tokens"].max()),
                )
            )
        parts.append((model, tuple(rows)))
    grouped: dict[tuple, list[str]] = {}
    for model, rows in parts:
        grouped.setdefault(rows, []).append(model)
    header = ["task", "role", "encoded by", "max length", "texts", "cut", "share cut",
              "most cut (lang)", "max p90 tokens"]  # fmt: skip
    for rows, models in grouped.items():
        names = ", ".join(f"`{m}`" for m in models[:4]) + (
            f" and {len(models) - 4} more" if len(models) > 4 else ""
        )
        table_rows = [
            [task, role, enc, str(ml), str(n), str(c), f"{c / n:.1%}", worst, f"{p90:.0f}"]
            for task, role, enc, ml, n, c, worst, p90 in rows
        ]
        out += [f"### {names}", "", markdown_table(header, table_rows), ""]
    return out


def summary_notes(config: Mapping) -> list[str]:
    """The protocol facts a reader of ``summary.md`` needs, from the config."""
    ev = config.get("evaluation", {})
    st = config.get("stats", {})
    text = ev.get("lareqa_candidate_text", "sentence_paragraph")
    protocols = {t: p for t, p in task_protocols(ev).items() if t in ev.get("tasks", [t])}
    return [
        "x2en: questions in X (model) vs the 240 English paragraphs (teacher index); en2x: "
        "English questions (teacher) vs paragraphs in X (model); en2en: English questions "
        "(model) vs the teacher index, the sanity row; student_init encodes both sides itself.",
        "Lengths (tokens, prefix and special tokens included; 'model max' = the model's "
        "documented maximum: all-MiniLM-L6-v2 256 from its sentence-transformers config, "
        "multilingual-e5-small 512 from its position limit): "
        + "; ".join(f"{task}: {label}" for task, label in protocols.items())
        + ". What they cut: the Truncation section below.",
        f"lareqa: candidate text `{text}` "
        + (
            "(official: sentence + paragraph)"
            if text == "sentence_paragraph"
            else "(diagnostic: sentence only)"
        )
        + "; XTREME-R's setting is questions at 96 and candidates at 256 tokens "
        "(google-research/xtreme scripts/run_eval_lareqa.sh lines 32-33); AP@20 uses the "
        "LAReQA denominator min(#relevant, 20), equal to trec_eval's #relevant here (11 "
        "relevant per question).",
        "Group means (low = lower_resource, high = higher_resource, all = every target language, "
        "English excluded) are taken per seed, then averaged over seeds.",
        f"Comparisons: bootstrap over questions ({st.get('n_resamples', 10000)} resamples, BCa "
        f"{st.get('confidence', 0.95):.0%} CI), paired sign-flip permutation test, "
        f"{st.get('correction', 'holm')} correction within each arm-vs-KL family; "
        "d_z = mean difference / sd of differences.",
    ]


def read_truncation(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Concatenated ``truncation.tsv`` files with ``model`` (the directory name)."""
    frames = [
        read_tsv(path, TRUNCATION_COLUMNS).assign(model=Path(path).parent.name) for path in paths
    ]
    if not frames:
        return pd.DataFrame(columns=[*TRUNCATION_COLUMNS, "model"])
    return pd.concat(frames, ignore_index=True).astype({"lang": str})


def first_column(df: pd.DataFrame, column: str = EXPERIMENT) -> pd.DataFrame:
    """``df`` with ``column`` moved to the front."""
    return df[[column, *(c for c in df.columns if c != column)]]


def make_tables(
    metrics_paths: Sequence[str | Path],
    perquery_paths: Sequence[str | Path],
    out_table,
    out_comparison,
    out_summary,
    *,
    config: Mapping,
    truncation_paths: Sequence[str | Path] = (),
    entries: Sequence[Sequence] | None = None,
    out_low_resource=None,
) -> None:
    """Rule ``build_tables``: write ``table.tsv``, ``comparison.tsv`` (each with the
    ``experiment`` first and the task's ``protocol`` label last; comparisons within one
    experiment), with ``out_low_resource`` ``low_resource.tsv``
    (:func:`otkd.report.lowres.build_low_resource`, shown in the summary too) and
    ``summary.md`` (a section per experiment, then the truncation of ``truncation_paths``).
    ``entries``: ``[experiment, arm, seed, model]`` per row set
    (:func:`otkd.runs.evaluation_entries`; None: read from the model names)."""
    langs = list(config["languages"])
    groups = dict(config["groups"])
    protocols = task_protocols(config.get("evaluation", {}))
    metrics = load_evaluations(metrics_paths, ["task", "lang", "measure", "value", "n_queries"])
    perquery = load_evaluations(perquery_paths, PERQUERY_COLUMNS)
    tables, comparisons = [], []
    for exp, part in by_experiment(metrics, entries):
        tables.append(build_table(part, langs, groups).assign(**{EXPERIMENT: exp}))
    for exp, part in by_experiment(perquery, entries):
        comp = build_comparison(part, langs, groups, **stats_options(config))
        comparisons.append(comp.assign(**{EXPERIMENT: exp}))
    table = with_protocol(first_column(pd.concat(tables, ignore_index=True)), protocols)
    comparison = with_protocol(first_column(pd.concat(comparisons, ignore_index=True)), protocols)
    truncation = read_truncation(truncation_paths)
    write_df(out_table, table, float_format="%.6g")
    write_df(out_comparison, comparison, float_format="%.6g")
    low_resource, note = None, ""
    if out_low_resource is not None:
        opts = stats_options(config)
        low_resource = build_low_resource(
            table, groups, n_resamples=opts["n_resamples"], seed=opts["seed"]
        )
        write_df(out_low_resource, low_resource, float_format="%.6g")
        n = int(low_resource["n_languages"].max()) if not low_resource.empty else 0
        if n >= 2:
            note = power_note(n, n_resamples=opts["n_resamples"], seed=opts["seed"])
    summary = summary_markdown(
        table,
        comparison,
        summary_notes(config),
        truncation,
        config.get("experiments"),
        low_resource,
        note,
    )
    write_text(out_summary, summary + "\n")
