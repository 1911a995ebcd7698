"""The dev sweep on the tiny config, for real: a grid whose best value sits at an edge extends
once, the tie then goes to the interior value, training reads the selection from
``selected.tsv``, and an edge still best after the last extension fails, naming the edge.

Its own module (not the full-DAG fixture's) so that ``pytest -n 2 --dist loadfile`` runs it
beside that fixture.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from workflow_utils import e2e_config, mirror_available, run_snakemake

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not mirror_available(), reason="offline mirror absent"),
]


def test_sweep_extends_its_grid_once_and_training_reads_the_selection(tmp_path):
    """A two-value grid whose runs tie (learning rate 1e-30: the weights cannot move, so
    every value scores the same) has its best at an edge: round 1 adds one value beyond
    the lower edge (0.05**2 / 0.1), the tie then goes to the interior value, and the kl
    run trains with it, read from selected.tsv."""
    cfg = e2e_config(tmp_path, learning_curve={"budgets": []})
    cfg["experiments"] = {
        "shared": {
            "teacher": "student",
            "projection": False,
            "train": {"arms": ["kl"], "seeds": [1], "lr": 1e-30, "kl": {"temperature": "sweep"}},
        }
    }
    cfg["sweep"] = {"steps": 2, "max_extensions": 1, "kl_temperature": [0.05, 0.1]}
    work = tmp_path / "work"
    model = "results/train/shared/kl/seed1/model"
    result = run_snakemake(work, cfg, [model, "results/sweep/shared/sweep.png"], timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    sweep = work / "results" / "sweep" / "shared"
    round0 = pd.read_csv(sweep / "kl" / "round0.tsv", sep="\t")
    assert round0["value"].tolist() == [0.05, 0.1]
    assert round0["best_dev_score"].nunique() == 1  # the tie the test relies on
    round1 = pd.read_csv(sweep / "kl" / "round1.tsv", sep="\t")
    assert round1["value"].tolist() == [0.05, 0.1, 0.025] and round1["round"].tolist() == [0, 0, 1]
    assert not (sweep / "kl" / "round2.tsv").exists()
    table = pd.read_csv(sweep / "sweep.tsv", sep="\t")
    assert table.loc[table["selected"], "value"].tolist() == [0.05]
    selected = pd.read_csv(sweep / "selected.tsv", sep="\t")
    assert selected[["arm", "param", "value", "source", "runs"]].values.tolist() == [
        ["kl", "temperature", 0.05, "sweep", 3]
    ]
    card = (work / model / "README.md").read_text()
    assert re.search(r"\| kl\.temperature \| 0\.05 \|", card), card[-2000:]
    # an edge still best after the last extension fails, naming the edge
    edge = {**cfg, "sweep": {**cfg["sweep"], "max_extensions": 0, "kl_temperature": [0.2, 0.4]}}
    failed = run_snakemake(work, edge, "results/sweep/shared/selected.tsv")
    assert failed.returncode != 0
    logs = "".join(p.read_text() for p in (work / "logs" / "sweep").glob("sweep_round_*.log"))
    assert "lower edge of the grid after 0 extension(s)" in logs, logs[-2000:]
