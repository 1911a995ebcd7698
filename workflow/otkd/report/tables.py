"""``table.tsv`` from the evaluation files of every model (columns, groups, how means and sd
over seeds are taken: ``docs/ARCHITECTURE.md``, report), plus the helpers the other report
modules share (reading TSVs, language groups, arm and task order)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..evaluate.metrics import MEASURES
from ..evaluate.tasks import UNRECORDED_PROTOCOL
from ..io import PipelineError
from ..languages import ENGLISH
from ..runs import LEGACY_EXPERIMENT, model_arm_seed, parse_model

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
EXPERIMENT = "experiment"  # first column of table.tsv and comparison.tsv


def read_tsv(path, required: Sequence[str]) -> pd.DataFrame:
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
    """Concatenate ``metrics.tsv`` or ``perquery.tsv.gz`` files of several models, adding
    ``model``, ``arm`` and ``seed`` (-1 for the baselines) from each file's directory name."""
    frames = []
    for path in paths:
        model = Path(path).parent.name
        arm, seed = model_arm_seed(model)
        df = read_tsv(path, required)
        df = df.astype({"task": str, "lang": str, "measure": str})
        if "qid" in df.columns:
            df["qid"] = df["qid"].astype(str)
        frames.append(df.assign(model=model, arm=arm, seed=-1 if seed is None else seed))
    if not frames:
        raise PipelineError("no evaluation files given")
    return pd.concat(frames, ignore_index=True)


def default_entries(models: Sequence[str]) -> list[list]:
    """``[experiment, arm, seed, model]`` entries (:class:`otkd.runs.Entry`) read from model
    names alone: a run's experiment is the one in its name (a name without one: the legacy
    experiment :data:`otkd.runs.LEGACY_EXPERIMENT`); every baseline is shown in every
    experiment."""
    parsed = {model: parse_model(model) for model in dict.fromkeys(models)}
    exps = [r.experiment or LEGACY_EXPERIMENT for r in parsed.values() if r is not None]
    out = []
    for exp in dict.fromkeys(exps or [LEGACY_EXPERIMENT]):
        for model, run in parsed.items():
            if run is None:
                out.append([exp, model_arm_seed(model)[0], None, model])
            elif (run.experiment or LEGACY_EXPERIMENT) == exp:
                out.append([exp, run.arm, run.seed, model])
    return out


def by_experiment(
    df: pd.DataFrame, entries: Sequence[Sequence] | None = None
) -> list[tuple[str, pd.DataFrame]]:
    """``(experiment, rows)`` per experiment, in ``entries`` order: the rows of ``df`` (from
    :func:`load_evaluations`) of each entry's model, with the entry's ``arm`` and ``seed``
    (-1 for a baseline). A model may appear in several experiments, or twice in one (the
    student's initial model is the teacher of an experiment that distils it into itself).
    ``entries``: ``[experiment, arm, seed, model]`` (:func:`otkd.runs.evaluation_entries`);
    None: :func:`default_entries`."""
    entries = default_entries(list(df["model"])) if entries is None else entries
    missing = sorted({e[3] for e in entries} - set(df["model"]))
    if missing:
        raise PipelineError(f"no evaluation files of models {missing}")
    base = df.drop(columns=["arm", "seed"])
    out = []
    for exp in dict.fromkeys(e[0] for e in entries):
        rows = [list(e[1:]) for e in entries if e[0] == exp]
        ent = pd.DataFrame(rows, columns=["arm", "seed", "model"])
        ent["seed"] = [-1 if s is None or pd.isna(s) else int(s) for s in ent["seed"]]
        out.append((exp, ent.merge(base, on="model", how="inner")))
    return out


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


def order_key(values: Sequence[str], order: Sequence[str]) -> dict[str, int]:
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
    key = order_key(present, TASK_ORDER)
    return sorted(present, key=key.get)


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


def with_protocol(df: pd.DataFrame, protocols: Mapping[str, str]) -> pd.DataFrame:
    """``df`` with a last column ``protocol``: the label of each row's task
    (:func:`otkd.evaluate.tasks.task_protocols`), so every table says how it was measured."""
    return df.assign(protocol=df["task"].map(dict(protocols)).fillna(""))


def protocol_of(df: pd.DataFrame, task: str) -> str:
    """The protocol label of ``task``'s rows; tables written before the column existed were
    all made at the old lengths (:data:`otkd.evaluate.tasks.UNRECORDED_PROTOCOL`)."""
    if "protocol" in df.columns:
        labels = [p for p in dict.fromkeys(df.loc[df["task"] == task, "protocol"]) if p]
        if labels:
            return "; ".join(labels)
    return UNRECORDED_PROTOCOL["lareqa" if task == "lareqa" else "xquad"]
