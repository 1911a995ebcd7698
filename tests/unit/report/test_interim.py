"""Interim tables of an unfinished run (otkd.report.interim): only arms with every seed
evaluated, the baselines that are evaluated, and a list of what is left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from otkd.config import validate_config
from otkd.io import PipelineError
from otkd.report.interim import interim_status, make_interim, missing_lines
from otkd.runs import evaluation_entries
from workflow_utils import TINY_CONFIG

N_Q = 30


def write_evaluation(root, model: str, shift: float, rng) -> None:
    """metrics, per-question scores and truncation of one fake model (x2en, en2x, lareqa in de
    and th; ``shift`` added to every x2en score)."""
    from otkd.evaluate.encoding import TRUNCATION_COLUMNS, truncation_stats

    rows = []
    for task, langs in [
        ("x2en", ["de", "th"]),
        ("en2x", ["de", "th"]),
        ("lareqa", ["en", "de", "th"]),
    ]:
        for lang in langs:
            for measure in ["AP@20"] if task == "lareqa" else ["nDCG@10", "RR@10"]:
                v = np.linspace(0.2, 0.8, N_Q) + rng.normal(0, 0.02, N_Q)
                v = v + (shift if task == "x2en" else 0.0)
                rows += [(task, lang, f"q{i}", measure, float(x)) for i, x in enumerate(v)]
    pq = pd.DataFrame(rows, columns=["task", "lang", "qid", "measure", "value"])
    d = root / "results" / "evaluate" / model
    d.mkdir(parents=True)
    pq.to_csv(d / "perquery.tsv.gz", sep="\t", index=False)
    agg = pq.groupby(["task", "lang", "measure"], sort=False)["value"].agg(["mean", "count"])
    agg.reset_index().rename(columns={"mean": "value", "count": "n_queries"}).to_csv(
        d / "metrics.tsv", sep="\t", index=False
    )
    cut = [{"task": "x2en", "lang": "de", "role": "query", "encoder": "model",
            **truncation_stats([9, 12, 30], 16)}]  # fmt: skip
    pd.DataFrame(cut, columns=TRUNCATION_COLUMNS).to_csv(
        d / "truncation.tsv", sep="\t", index=False
    )


@pytest.fixture
def config():
    cfg = yaml.safe_load(TINY_CONFIG.read_text(encoding="utf-8"))
    cfg["languages"] = ["de", "th"]
    cfg["groups"] = {"lower_resource": ["th"], "higher_resource": ["de"]}
    cfg["stats"] = {"n_resamples": 100, "seed": 1}
    return validate_config(cfg)


def test_status_keeps_only_arms_with_every_seed(config, tmp_path):
    entries = [list(e) for e in evaluation_entries(config)]
    done = ["student_init", "kl_seed1__shared", "ot_seed1__shared", "kl_seed1__cross",
            "kl_seed2__cross", "ot_seed1__cross"]  # fmt: skip
    for model in done:
        (tmp_path / model).mkdir()
        for name in ("metrics.tsv", "perquery.tsv.gz", "truncation.tsv"):
            (tmp_path / model / name).write_text("x")
    (tmp_path / "ot_seed2__cross").mkdir()  # a model whose evaluation did not finish
    (tmp_path / "ot_seed2__cross" / "metrics.tsv").write_text("x")
    status = interim_status(entries, tmp_path)
    kept = status[status["kept"]].groupby("experiment", sort=False)["arm"].unique()
    assert {k: list(v) for k, v in kept.items()} == {
        "shared": ["teacher", "student_init", "kl", "ot"],
        "cross": ["student_init", "kl"],
    }
    ot2 = status.query("model == 'ot_seed2__cross'")
    assert not ot2["evaluated"].item() and not ot2["kept"].item()
    assert not status.query("model == 'ot_seed1__cross'")["kept"].item()  # evaluated, not kept
    lines = missing_lines(status)
    assert lines[0].startswith("- `shared`: every arm and seed evaluated")
    assert "`teacher`" in lines[1] and "`ot` (seeds 1, 2; 1 of them evaluated)" in lines[1]
    # seeds stay integers beside the baselines' empty ones (written "1", not "1.0")
    assert str(status["seed"].dtype) == "Int64" and status["seed"].isna().sum() == 4
    assert "\t1.0\t" not in status.to_csv(sep="\t", index=False)


def test_interim_tables_equal_the_tables_of_the_kept_models(config, tmp_path):
    rng = np.random.default_rng(0)
    shifts = {"student_init": 0.0, "kl_seed1__shared": 0.05, "ot_seed1__shared": 0.15,
              "kl_seed1__cross": 0.0, "kl_seed2__cross": 0.0, "ot_seed1__cross": 0.3}  # fmt: skip
    for model, shift in shifts.items():
        write_evaluation(tmp_path, model, shift, rng)
    status = make_interim(config, tmp_path)
    out = tmp_path / "results" / "interim"
    table = pd.read_csv(out / "table.tsv", sep="\t", keep_default_na=False)
    arms = table.groupby("experiment", sort=False)["arm"].unique().map(list).to_dict()
    assert arms == {"shared": ["teacher", "student_init", "kl", "ot"],
                    "cross": ["student_init", "kl"]}  # fmt: skip
    comp = pd.read_csv(out / "comparison.tsv", sep="\t", keep_default_na=False)
    assert set(comp["experiment"]) == {"shared"}  # cross has no complete arm besides kl
    x2en = comp.query("task == 'x2en' and lang == 'mean' and group == 'all'")
    assert x2en["diff"].item() == pytest.approx(0.10, abs=0.02)  # ot - kl, as planted
    assert (out / "low_resource.tsv").is_file() and (out / "summary.md").is_file()
    readme = (out / "README.md").read_text()
    assert "`cross` leaves out: `teacher`; `ot` (seeds 1, 2; 1 of them evaluated)" in readme
    assert "**Experiment `shared`**" in readme
    assert pd.read_csv(out / "status.tsv", sep="\t")["kept"].sum() == int(status["kept"].sum())


def test_nothing_evaluated_is_an_error(config, tmp_path):
    with pytest.raises(PipelineError, match="no evaluated model"):
        make_interim(config, tmp_path)
