"""The sweep table: best dev accuracy of every sweep run (rule sweep_table)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..io import PipelineError


def summarize_sweep(
    runs: Sequence[tuple[str, str, float]], curves: Sequence[str | Path]
) -> pd.DataFrame:
    """The sweep table: one row per run with its best dev accuracy (``all``, steps > 0).

    Columns ``arm param value best_dev_accuracy best_step selected``; ``selected`` marks the
    best value of each arm (ties: the first listed).
    """
    rows = []
    for (arm, param, value), path in zip(runs, curves, strict=True):
        curve = pd.read_csv(path, sep="\t")
        mean = curve[(curve["lang"] == "all") & (curve["step"] > 0)]
        if mean.empty:
            raise PipelineError(f"{path}: no dev evaluation after training")
        top = mean.loc[mean["accuracy"].idxmax()]
        rows.append(
            {
                "arm": arm,
                "param": param,
                "value": value,
                "best_dev_accuracy": float(top["accuracy"]),
                "best_step": int(top["step"]),
            }
        )
    table = pd.DataFrame(rows)
    table["selected"] = False
    for _, group in table.groupby("arm", sort=False):
        table.loc[group["best_dev_accuracy"].idxmax(), "selected"] = True
    return table
