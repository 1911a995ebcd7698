"""The answer: ``table.tsv``, ``comparison.tsv``, ``summary.md``, figures and ``runtime.tsv``.

Inputs are the evaluation stage's ``results/evaluate/{model}/metrics.tsv`` and
``perquery.tsv`` (the model name is the directory name: ``teacher``, ``student_init`` or
``{arm}_seed{seed}``), the training logs ``results/train/{arm}/seed{seed}/train_log.tsv`` and
``dev_curve.tsv``, and the Snakemake benchmark files under ``results/benchmarks/``.

- ``table.tsv`` (long): ``task lang group arm metric mean sd n_seeds n_langs``. Per-language
  rows have group ``lower_resource``/``higher_resource``/``english`` (``other`` for a language
  in neither config group); aggregate rows have ``lang = mean`` and group ``lower_resource``,
  ``higher_resource`` or ``all`` (every config language present for the task, English
  excluded). A group mean is taken per seed first, then mean and sd over seeds. ``sd`` is the
  sample standard deviation (ddof 1) over seeds; it is left empty where there is one run
  (the baselines ``teacher`` and ``student_init``), never written as NaN or 0.
- ``comparison.tsv``: every trained arm against ``kl`` (``ot`` first), per task, language and
  group, on the task's main metric (:data:`otkd.metrics.MAIN_MEASURE`): per-question scores
  are averaged over seeds (and over the group's languages for group rows, questions being
  parallel across languages), then paired over questions (:mod:`otkd.stats`). p-values are
  corrected within the family of one arm-vs-kl comparison (every task, language and group).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .io import PipelineError, atomic_path, write_df, write_text
from .languages import ENGLISH
from .metrics import MAIN_MEASURE, MEASURES
from .runs import model_arm_seed
from .stats import compare_paired, correct_pvalues

log = logging.getLogger(__name__)

REFERENCE_ARM = "kl"
ARM_PRIORITY = ["ot", "ot_kl", "mse"]  # comparison order against the reference: OT vs KL first
TASK_ORDER = ["x2en", "en2x", "lareqa", "en2en"]
AGG_LANG = "mean"
TABLE_COLUMNS = ["task", "lang", "group", "arm", "metric", "mean", "sd", "n_seeds", "n_langs"]
COMPARISON_COLUMNS = [
    "task", "lang", "group", "arm", "reference", "metric", "mean_arm", "mean_ref", "diff",
    "ci_low", "ci_high", "p", "p_adj", "correction", "d_z", "n_queries", "n_seeds_arm",
    "n_seeds_ref",
]  # fmt: skip
PERQUERY_COLUMNS = ["task", "lang", "qid", "measure", "value"]
TRAIN_LOG_COLUMNS = ["step", "loss"]
DEV_CURVE_COLUMNS = ["step", "lang", "accuracy"]


# ----------------------------------------------------------------------------- loading


def _read_tsv(path, required: Sequence[str]) -> pd.DataFrame:
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["", "NA", "NaN"])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PipelineError(f"{path}: cannot read TSV ({exc})") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise PipelineError(f"{path}: missing columns {missing} (has {list(df.columns)})")
    return df


def load_evaluations(paths: Sequence[str | Path], required: Sequence[str]) -> pd.DataFrame:
    """Concatenate ``metrics.tsv`` or ``perquery.tsv`` files of several models, adding
    ``model``, ``arm`` and ``seed`` (-1 for the baselines) from each file's directory name."""
    frames = []
    for path in paths:
        model = Path(path).parent.name
        arm, seed = model_arm_seed(model)
        df = _read_tsv(path, required)
        df = df.astype({"task": str, "lang": str, "measure": str})
        if "qid" in df.columns:
            df["qid"] = df["qid"].astype(str)
        frames.append(df.assign(model=model, arm=arm, seed=-1 if seed is None else seed))
    if not frames:
        raise PipelineError("no evaluation files given")
    return pd.concat(frames, ignore_index=True)


def lang_group(lang: str, groups: Mapping[str, Sequence[str]]) -> str:
    """``english`` for en, else the config group holding ``lang`` (``other`` if none)."""
    if lang == ENGLISH:
        return "english"
    for name, members in groups.items():
        if lang in members:
            return name
    return "other"


def aggregate_units(
    langs: Sequence[str], groups: Mapping[str, Sequence[str]], available: Sequence[str]
) -> list[tuple[str, str, list[str]]]:
    """(lang, group, languages averaged) of every table/comparison row of one task: each
    available language in order (English first), then the group means and the overall mean
    (English excluded) over the available config languages, when not empty."""
    present = [lang for lang in [ENGLISH, *langs] if lang in set(available)]
    units = [(lang, lang_group(lang, groups), [lang]) for lang in present]
    for name, members in [*groups.items(), ("all", langs)]:
        chosen = [lang for lang in langs if lang in members and lang in present]
        if chosen:
            units.append((AGG_LANG, name, chosen))
    return units


def _order_key(values: Sequence[str], order: Sequence[str]) -> dict[str, int]:
    known = {v: i for i, v in enumerate(order)}
    return {v: known.get(v, len(order) + i) for i, v in enumerate(values)}


def arm_order(arms: Sequence[str]) -> list[str]:
    """Baselines first, then trained arms in their first-seen order."""
    arms = list(dict.fromkeys(arms))
    base = [a for a in ("teacher", "student_init") if a in arms]
    return base + [a for a in arms if a not in base]


def tasks_in(df: pd.DataFrame) -> list[str]:
    """Tasks present, in the order x2en, en2x, lareqa, en2en."""
    present = list(dict.fromkeys(df["task"]))
    key = _order_key(present, TASK_ORDER)
    return sorted(present, key=key.get)


# ----------------------------------------------------------------------------- table.tsv


def build_table(
    metrics: pd.DataFrame, langs: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """The long results table (module docstring) from concatenated ``metrics.tsv`` rows."""
    seed_rows = []
    keys = ["arm", "seed", "measure"]
    for task in tasks_in(metrics):
        sub = metrics[metrics["task"] == task]
        for lang, group, members in aggregate_units(langs, groups, sub["lang"].unique()):
            part = sub[sub["lang"].isin(members)]
            g = part.groupby(keys, sort=False)["value"].agg(value="mean", n_langs="count")
            seed_rows.append(g.reset_index().assign(task=task, lang=lang, group=group))
    seeds = pd.concat(seed_rows, ignore_index=True)
    out = (
        seeds.groupby(["task", "lang", "group", "arm", "measure"], sort=False)
        .agg(
            mean=("value", "mean"),
            sd=("value", lambda v: v.std(ddof=1) if len(v) > 1 else np.nan),
            n_seeds=("value", "count"),
            n_langs=("n_langs", "max"),
        )
        .reset_index()
        .rename(columns={"measure": "metric"})
    )
    arm_rank = {a: i for i, a in enumerate(arm_order(metrics["arm"]))}
    metric_rank = {m: i for ms in MEASURES.values() for i, m in enumerate(ms)}
    out["_a"] = out["arm"].map(arm_rank)
    out["_m"] = out["metric"].map(metric_rank).fillna(99)
    out["_r"] = range(len(out))  # keeps the task/row order built above
    row_rank = out.groupby(["task", "lang", "group"], sort=False)["_r"].transform("min")
    out = out.assign(_row=row_rank).sort_values(["_row", "_m", "_a"], kind="stable")
    return out[TABLE_COLUMNS].reset_index(drop=True)


# ----------------------------------------------------------------------------- comparison


def compared_arms(arms: Sequence[str], reference: str = REFERENCE_ARM) -> list[str]:
    """Trained arms compared with ``reference``: OT first, then OT+KL, MSE, any other."""
    trained = [a for a in dict.fromkeys(arms) if a not in ("teacher", "student_init", reference)]
    key = _order_key(trained, ARM_PRIORITY)
    return sorted(trained, key=key.get)


def build_comparison(
    perquery: pd.DataFrame,
    langs: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    *,
    reference: str = REFERENCE_ARM,
    measures: Mapping[str, str] = MAIN_MEASURE,
    n_resamples: int = 10000,
    confidence: float = 0.95,
    correction: str = "holm",
    seed: int = 0,
) -> pd.DataFrame:
    """Every trained arm vs ``reference`` per task, language and group (module docstring).

    ``perquery``: concatenated ``perquery.tsv`` rows with ``arm`` and ``seed``. Each test
    draws from a fresh generator seeded with ``seed``, so rows do not depend on order.
    """
    arms = compared_arms(perquery["arm"].unique(), reference)
    if reference not in set(perquery["arm"]) or not arms:
        log.warning("no comparison: need arm %r and at least one other trained arm", reference)
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    wanted = perquery[perquery["arm"].isin([*arms, reference])]
    wanted = wanted[wanted["measure"] == wanted["task"].map(measures)]
    n_seeds = wanted.groupby("arm")["seed"].nunique()
    avg = wanted.groupby(["arm", "task", "lang", "measure", "qid"], sort=False)["value"].mean()
    rows = []
    for arm in arms:
        family = []
        for task in tasks_in(wanted):
            measure = measures[task]
            sub = avg.xs((task, measure), level=("task", "measure"))
            available = sub.index.get_level_values("lang").unique()
            for lang, group, members in aggregate_units(langs, groups, available):
                per_q = {}
                for side in (arm, reference):
                    scores = sub.loc[side].unstack("lang")[members].dropna()
                    per_q[side] = scores.mean(axis=1)
                a, b = per_q[arm].align(per_q[reference], join="inner")
                if len(a) == 0:
                    raise PipelineError(
                        f"{task}/{lang}: no questions shared by {arm} and {reference}"
                    )
                res = compare_paired(
                    a.to_numpy(),
                    b.to_numpy(),
                    confidence=confidence,
                    n_resamples=n_resamples,
                    seed=seed,
                )
                family.append(
                    {
                        "task": task,
                        "lang": lang,
                        "group": group,
                        "arm": arm,
                        "reference": reference,
                        "metric": measure,
                        **res,
                        "n_seeds_arm": int(n_seeds[arm]),
                        "n_seeds_ref": int(n_seeds[reference]),
                    }
                )
        p_adj = correct_pvalues([r["p"] for r in family], correction)
        for r, q in zip(family, p_adj, strict=True):
            r["p_adj"], r["correction"] = q, correction
        rows += family
        log.info("%s vs %s: %d comparisons", arm, reference, len(family))
    return pd.DataFrame(rows)[COMPARISON_COLUMNS]


# ----------------------------------------------------------------------------- summary.md


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(x: float, digits: int = 3) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    if p is None or math.isnan(p):
        return ""
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


def _col_label(lang: str, group: str) -> str:
    return (
        {"lower_resource": "low", "higher_resource": "high", "all": "all"}.get(group, group)
        + "-mean"
        if lang == AGG_LANG
        else lang
    )


def summary_markdown(
    table: pd.DataFrame, comparison: pd.DataFrame, notes: Sequence[str] = ()
) -> str:
    """``summary.md``: one table per task and metric (arms x languages, mean ± sd over seeds),
    then the comparisons against KL, then ``notes`` (protocol facts)."""
    out = ["# Results: OT vs KL distillation, zero-shot cross-lingual retrieval on XQuAD", ""]
    out += [f"- {n}" for n in notes] + [""]
    out += ["## Scores (mean ± sd over seeds; baselines are single runs)", ""]
    for task in tasks_in(table):
        sub = table[table["task"] == task]
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
            out += [f"### {task}, {name}", ""]
            out += [markdown_table(["arm", *(_col_label(*c) for c in cols)], rows), ""]
    out += ["## Comparisons against KL (paired over questions)", ""]
    if comparison.empty:
        out += ["No comparison: the config has no `kl` arm or no other trained arm.", ""]
    for arm in dict.fromkeys(comparison["arm"]):
        sub = comparison[comparison["arm"] == arm]
        ref = sub["reference"].iloc[0]
        conf = sub["correction"].iloc[0]
        out += [f"### {arm} − {ref}", ""]
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
                _col_label(r.lang, r.group),
                r.metric,
                _fmt(r.mean_arm),
                _fmt(r.mean_ref),
                f"{r.diff:+.3f}",
                f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]",
                _fmt_p(r.p),
                _fmt_p(r.p_adj) + (" *" if r.p_adj < 0.05 else ""),
                _fmt(r.d_z, 2),
                r.n_queries,
            ]
            for r in sub.itertuples()
        ]
        out += [markdown_table(header, rows), "", "`*`: corrected p < 0.05.", ""]
    return "\n".join(out)


def summary_notes(config: Mapping) -> list[str]:
    """The protocol facts a reader of ``summary.md`` needs, from the config."""
    ev = config.get("evaluation", {})
    st = config.get("stats", {})
    text = ev.get("lareqa_candidate_text", "sentence_paragraph")
    return [
        "x2en: questions in X (model) vs the 240 English paragraphs (teacher index); en2x: "
        "English questions (teacher) vs paragraphs in X (model); en2en: English questions "
        "(model) vs the teacher index, the sanity row; student_init encodes both sides itself.",
        f"lareqa: candidate text `{text}` "
        + (
            "(official: sentence + paragraph)"
            if text == "sentence_paragraph"
            else "(diagnostic: sentence only)"
        )
        + f", max length {ev.get('lareqa_max_length')}; AP@20 uses the LAReQA denominator "
        "min(#relevant, 20), equal to trec_eval's #relevant here (11 relevant per question).",
        "Group means (low = lower_resource, high = higher_resource, all = every target language, "
        "English excluded) are taken per seed, then averaged over seeds.",
        f"Comparisons: bootstrap over questions ({st.get('n_resamples', 10000)} resamples, BCa "
        f"{st.get('confidence', 0.95):.0%} CI), paired sign-flip permutation test, "
        f"{st.get('correction', 'holm')} correction within each arm-vs-KL family; "
        "d_z = mean difference / sd of differences.",
    ]


def stats_options(config: Mapping) -> dict:
    """:func:`build_comparison` keyword arguments from ``config.stats``."""
    st = config.get("stats", {})
    return {
        "n_resamples": st.get("n_resamples", 10000),
        "confidence": st.get("confidence", 0.95),
        "correction": st.get("correction", "holm"),
        "seed": st.get("seed", config.get("seed", 0)),
    }


def make_tables(
    metrics_paths: Sequence[str | Path],
    perquery_paths: Sequence[str | Path],
    out_table,
    out_comparison,
    out_summary,
    *,
    config: Mapping,
) -> None:
    """Rule ``build_tables``: write ``table.tsv``, ``comparison.tsv`` and ``summary.md``."""
    langs = list(config["languages"])
    groups = dict(config["groups"])
    metrics = load_evaluations(metrics_paths, ["task", "lang", "measure", "value", "n_queries"])
    table = build_table(metrics, langs, groups)
    perquery = load_evaluations(perquery_paths, PERQUERY_COLUMNS)
    comparison = build_comparison(perquery, langs, groups, **stats_options(config))
    write_df(out_table, table, float_format="%.6g")
    write_df(out_comparison, comparison, float_format="%.6g")
    write_text(out_summary, summary_markdown(table, comparison, summary_notes(config)) + "\n")


# ----------------------------------------------------------------------------- figures


def _label(lang: str, group: str) -> str:
    return _col_label(lang, group)


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
    ax.set_xticks(x, [_label(*c) for c in cols], rotation=45, ha="right")
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
        ax.set_xticks(x, [_label(lang, g) for lang, g in zip(t["lang"], t["group"], strict=True)])
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
        logs.append(_read_tsv(d / "train_log.tsv", TRAIN_LOG_COLUMNS).assign(arm=arm, seed=seed))
        devs.append(_read_tsv(d / "dev_curve.tsv", DEV_CURVE_COLUMNS).assign(arm=arm, seed=seed))
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


def make_figures(table_path, comparison_path, run_dirs: Sequence[str | Path], out_dir) -> list[str]:
    """Rule ``plot_figures``: every PNG into ``out_dir`` (written as a whole, atomically):
    ``scores_{task}.png``, ``{arm}_minus_{reference}.png``, ``training_curves.png``."""
    import matplotlib

    matplotlib.use("Agg")
    table = _read_tsv(table_path, TABLE_COLUMNS)
    comparison = _read_tsv(comparison_path, COMPARISON_COLUMNS)
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


# ----------------------------------------------------------------------------- runtime.tsv

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
    df = _read_tsv(path, ["s", "max_rss", "cpu_time"])
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


# ----------------------------------------------------------------------------- learning curve

CURVE_COLUMNS = ["task", "lang", "group", "metric", "budget", "arm", "mean", "sd", "n_seeds"]
CURVE_COLUMNS += ["n_langs", "pairs"]


def _budget_parts(df: pd.DataFrame, points: Sequence[Sequence]):
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


def build_learning_curve(
    metrics: pd.DataFrame,
    points: Sequence[Sequence],
    pool_counts: Mapping[str, int],
    langs: Sequence[str],
    groups: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """The learning-curve table: :func:`build_table` rows of every budget, long format.

    ``metrics``: :func:`load_evaluations` of the curve models; ``points``: ``[arm, budget,
    seed, model]`` per curve run; ``pool_counts``: pairs per language in the curve pool.
    ``pairs`` is the number of training pairs actually used (``min(budget, pool)`` summed
    over the languages of the row), so a language with a smaller pool is visible.
    """
    members = {lang: [lang] for lang in langs}
    members.update({name: list(m) for name, m in groups.items()})
    members["all"] = list(langs)
    frames = []
    for budget, part in _budget_parts(metrics, points):
        table = build_table(part, langs, groups).assign(budget=budget)
        used = {lang: min(budget, int(pool_counts.get(lang, 0))) for lang in langs}
        keys = table["lang"].where(table["lang"] != AGG_LANG, table["group"])
        table["pairs"] = [sum(used.get(m, 0) for m in members.get(k, [])) for k in keys]
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
        for budget, part in _budget_parts(perquery, points)
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
) -> pd.DataFrame:
    """Rule ``learning_curve``: ``learning_curve.tsv`` and ``learning_curve.png`` for
    ``tasks`` (default: every task in the metrics; the main-budget point comes from the main
    runs, which have every evaluation task), and with ``comparison_out`` the per-budget
    comparison against ``kl`` (:func:`build_curve_comparison`) from ``perquery_paths``."""
    import matplotlib

    matplotlib.use("Agg")
    from .bitext import read_pairs

    def only_tasks(df: pd.DataFrame) -> pd.DataFrame:
        return df if tasks is None else df[df["task"].isin(list(tasks))]

    langs, groups = list(config["languages"]), dict(config.get("groups", {}))
    metrics = only_tasks(load_evaluations(metrics_paths, ["task", "lang", "measure", "value"]))
    pool = read_pairs(pool_path)["lang"].value_counts().to_dict()
    curve = build_learning_curve(metrics, points, pool, langs, groups)
    if comparison_out is not None:
        perquery = only_tasks(load_evaluations(perquery_paths, PERQUERY_COLUMNS))
        comparison = build_curve_comparison(
            perquery, points, langs, groups, **stats_options(config)
        )
        write_df(comparison_out, comparison, float_format="%.6g")
    write_df(table_out, curve, float_format="%.6g")
    plot_learning_curve(curve, figure_out)
    return curve
