"""The sweep's tables: one round of an arm's grid (rule sweep_round) and the selection of
every tuned arm of an experiment (rule sweep_table). Never XQuAD: dev curves only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..io import PipelineError
from ..runs import SELECTED_COLUMNS, SWEEP_ROUND_COLUMNS, best_value, edge_name, extend_grid


def best_dev(curve: str | Path, metric: str) -> tuple[float, int]:
    """(best mean-over-languages ``metric``, its step) of a dev curve, steps > 0."""
    frame = pd.read_csv(curve, sep="\t")
    if metric not in frame.columns or frame[metric].isna().all():
        raise PipelineError(f"{curve}: no dev metric column {metric!r} (config train.dev_metric)")
    mean = frame[(frame["lang"] == "all") & (frame["step"] > 0)].dropna(subset=[metric])
    if mean.empty:
        raise PipelineError(f"{curve}: no dev evaluation after training")
    top = mean.loc[mean[metric].idxmax()]
    return float(top[metric]), int(top["step"])


def summarize_round(
    arm: str,
    param: str,
    values: Sequence[float],
    curves: Sequence[str | Path],
    metric: str,
    n_grid: int,
) -> pd.DataFrame:
    """One sweep round of ``arm``: a row per value (columns ``SWEEP_ROUND_COLUMNS``);
    ``round`` is 0 for the first ``n_grid`` values (the configured grid), ``i`` for the
    i-th extension."""
    rows = []
    for i, (value, curve) in enumerate(zip(values, curves, strict=True)):
        score, step = best_dev(curve, metric)
        rows.append(
            {
                "arm": arm,
                "param": param,
                "value": float(value),
                "round": 0 if i < n_grid else i - n_grid + 1,
                "dev_metric": metric,
                "best_dev_score": score,
                "best_step": step,
            }
        )
    return pd.DataFrame(rows, columns=SWEEP_ROUND_COLUMNS)


def check_round(
    table: pd.DataFrame, round_: int, max_extensions: int, where: str, tolerance: float = 0.0
) -> None:
    """Raise PipelineError when the best value (ties within ``tolerance`` go to the
    interior) is at a grid edge and no extension is left."""
    values, scores = table["value"].tolist(), table["best_dev_score"].tolist()
    if extend_grid(values, scores, tolerance) is not None and round_ >= max_extensions:
        edge = edge_name(values, scores, tolerance)
        best = best_value(values, scores, tolerance)
        raise PipelineError(
            f"{where}: the best value {best:g} is still at the {edge} edge of the grid after "
            f"{max_extensions} extension(s) (config sweep.max_extensions); widen the grid "
            f"towards the {edge} edge or allow more extensions"
        )


def select(
    rounds: Sequence[str | Path], explicit: Sequence[dict], tolerance: float = 0.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sweep table (every run of the final rounds, ``selected`` marking each arm's
    best; columns ``SWEEP_ROUND_COLUMNS + [selected]``) and the selected parameters
    (``SELECTED_COLUMNS``: one row per tuned arm, ``source`` "sweep", and one per explicit
    ``{"arm", "param", "value"}``, ``source`` "config"). Dev scores within ``tolerance``
    of the best are ties, won by the value farthest from the grid's edges."""
    tables = [pd.read_csv(p, sep="\t") for p in rounds]
    table = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=SWEEP_ROUND_COLUMNS)
    )
    table["selected"] = False
    chosen = []
    for t, path in zip(tables, rounds, strict=True):
        values, scores = t["value"].tolist(), t["best_dev_score"].tolist()
        if extend_grid(values, scores, tolerance) is not None:
            raise PipelineError(f"{path}: the best value is at a grid edge (not a final round)")
        best = best_value(values, scores, tolerance)
        row = t[t["value"] == best].iloc[0]
        table.loc[(table["arm"] == row["arm"]) & (table["value"] == best), "selected"] = True
        chosen.append(
            {
                "arm": row["arm"],
                "param": row["param"],
                "value": best,
                "source": "sweep",
                "dev_metric": row["dev_metric"],
                "best_dev_score": row["best_dev_score"],
                "runs": len(t),
            }
        )
    for item in explicit:
        chosen.append(
            {**{c: None for c in SELECTED_COLUMNS}, **item, "source": "config", "runs": 0}
        )
    return table, pd.DataFrame(chosen, columns=SELECTED_COLUMNS)
