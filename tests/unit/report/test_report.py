"""Tables, comparisons, summary, figures, runtime table, and the report rules run by Snakemake
on a tiny fake evaluation (including `snakemake --report`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from otkd.evaluate.encoding import TRUNCATION_COLUMNS, truncation_stats
from otkd.io import PipelineError
from otkd.report import (
    build_comparison,
    build_table,
    collect_runtime,
    load_evaluations,
    make_figures,
    make_learning_curve,
    make_tables,
    split_rule_name,
    summary_markdown,
)
from otkd.report.tables import TABLE_COLUMNS
from otkd.runs import teacher_key

ROOT = Path(__file__).resolve().parents[3]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
LANGS = ["de", "th"]
GROUPS = {"lower_resource": ["th"], "higher_resource": ["de"]}
MODELS = ["teacher", "student_init", "kl_seed1", "kl_seed2", "ot_seed1", "ot_seed2"]
N_Q = 40


def fake_perquery(model: str, rng) -> pd.DataFrame:
    """Per-question scores; ot is kl + 0.1 on x2en th, equal to kl elsewhere (plus noise)."""
    rows = []
    qids = [f"q{i:03d}" for i in range(N_Q)]
    base = np.linspace(0.1, 0.9, N_Q)
    pairs = [("x2en", lang) for lang in LANGS] + [("en2en", "en")]
    pairs += [("lareqa", lang) for lang in ["en", *LANGS]]
    for task, lang in pairs:
        measures = ["AP@20"] if task == "lareqa" else ["nDCG@10", "RR@10", "R@1", "R@10"]
        for m in measures:
            v = base + rng.normal(0, 0.02, N_Q)
            if model.startswith("ot") and (task, lang) == ("x2en", "th"):
                v = v + 0.1
            rows += [(task, lang, q, m, float(x)) for q, x in zip(qids, v, strict=True)]
    return pd.DataFrame(rows, columns=["task", "lang", "qid", "measure", "value"])


def write_fake_evaluations(root: Path) -> None:
    rng = np.random.default_rng(0)
    for model in MODELS:
        d = root / "results" / "evaluate" / model
        d.mkdir(parents=True, exist_ok=True)
        pq = fake_perquery(model, rng)
        pq.to_csv(d / "perquery.tsv.gz", sep="\t", index=False)
        agg = pq.groupby(["task", "lang", "measure"], sort=False)["value"].agg(["mean", "count"])
        agg = agg.reset_index().rename(columns={"mean": "value", "count": "n_queries"})
        agg.to_csv(d / "metrics.tsv", sep="\t", index=False)
        cut = [
            {"task": "x2en", "lang": lang, "role": "query", "encoder": "model", **truncation_stats([9, 12, 30], 16)}
            for lang in LANGS
        ] + [{"task": "x2en", "lang": "en", "role": "passage", "encoder": "teacher", **truncation_stats([100, 300], 256)}]  # fmt: skip
        pd.DataFrame(cut, columns=TRUNCATION_COLUMNS).to_csv(
            d / "truncation.tsv", sep="\t", index=False
        )


def write_fake_training(root: Path) -> None:
    for arm in ("kl", "ot"):
        for seed in (1, 2):
            d = root / "results" / "train" / arm / f"seed{seed}"
            (d / "model").mkdir(parents=True, exist_ok=True)
            steps = np.arange(0, 30, 10)
            pd.DataFrame(
                {"step": steps, "loss": 1.0 / (steps + 1), "lr": 1e-5, "pairs_per_s": 10.0,
                 "elapsed_s": steps * 0.1, "padding_share": 0.2, "skipped": 0}
            ).to_csv(d / "train_log.tsv", sep="\t", index=False)  # fmt: skip
            dev = [(s, lang, 0.5 + s / 100, 0.9) for s in steps for lang in LANGS]
            pd.DataFrame(dev, columns=["step", "lang", "fidelity", "accuracy"]).to_csv(
                d / "dev_curve.tsv", sep="\t", index=False
            )


def write_fake_benchmarks(root: Path) -> None:
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    files = {
        "evaluate/evaluate_model_kl_seed1.tsv": "120.5\t0:02:00\t2048.0\t1\t1\t1\t1\t1\t150\t180.0\n",
        "evaluate/evaluate_model_ot_seed1.tsv": "100.0\t0:01:40\t1024.0\t1\t1\t1\t1\t1\t150\t150.0\n",
        "evaluate/index_teacher.tsv": "10.0\t0:00:10\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n",
        "data/xquad.tsv": "5.0\t0:00:05\t300.0\t1\t1\t1\t1\t1\t50\t2.5\n",
    }
    for name, line in files.items():
        path = root / "results" / "benchmarks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + line)


@pytest.fixture
def fake_results(tmp_path):
    write_fake_evaluations(tmp_path)
    write_fake_training(tmp_path)
    write_fake_benchmarks(tmp_path)
    return tmp_path


def _paths(root, name):
    return [root / "results" / "evaluate" / m / name for m in MODELS]


def test_table_means_sd_and_group_rows(fake_results):
    metrics = load_evaluations(
        _paths(fake_results, "metrics.tsv"), ["task", "lang", "measure", "value"]
    )
    table = build_table(metrics, LANGS, GROUPS)
    assert list(table.columns) == [
        "task",
        "lang",
        "group",
        "arm",
        "metric",
        "mean",
        "sd",
        "n_seeds",
        "n_langs",
    ]

    def cell(arm, task, lang, group, metric):
        r = table[(table.arm == arm) & (table.task == task) & (table.lang == lang)
                  & (table.group == group) & (table.metric == metric)]  # fmt: skip
        assert len(r) == 1
        return r.iloc[0]

    def value(model, task, lang, metric):
        m = metrics
        return m[(m.model == model) & (m.task == task) & (m.lang == lang) & (m.measure == metric)][
            "value"
        ].item()

    s1, s2 = (value(f"ot_seed{s}", "x2en", "th", "nDCG@10") for s in (1, 2))
    r = cell("ot", "x2en", "th", "lower_resource", "nDCG@10")
    assert r["mean"] == pytest.approx((s1 + s2) / 2)
    assert r["sd"] == pytest.approx(abs(s1 - s2) / np.sqrt(2))
    assert r["n_seeds"] == 2
    # overall mean row: per seed mean over de and th, then over seeds
    per_seed = [
        (
            value(f"kl_seed{s}", "lareqa", "de", "AP@20")
            + value(f"kl_seed{s}", "lareqa", "th", "AP@20")
        )
        / 2
        for s in (1, 2)
    ]
    r = cell("kl", "lareqa", "mean", "all", "AP@20")
    assert r["mean"] == pytest.approx(np.mean(per_seed))
    assert r["sd"] == pytest.approx(np.std(per_seed, ddof=1))
    assert r["n_langs"] == 2
    base = cell("teacher", "x2en", "de", "higher_resource", "R@1")
    assert base["n_seeds"] == 1 and pd.isna(base["sd"])
    assert cell("teacher", "en2en", "en", "english", "nDCG@10")["n_seeds"] == 1
    assert not ((table.task == "en2en") & (table.lang == "mean")).any()
    assert table["arm"].drop_duplicates().tolist() == ["teacher", "student_init", "kl", "ot"]


def test_comparison_detects_the_planted_difference(fake_results):
    pq = load_evaluations(
        _paths(fake_results, "perquery.tsv.gz"), ["task", "lang", "qid", "measure", "value"]
    )
    comp = build_comparison(pq, LANGS, GROUPS, n_resamples=500, seed=3)
    assert set(comp["arm"]) == {"ot"} and set(comp["reference"]) == {"kl"}
    assert set(comp["metric"]) == {"nDCG@10", "AP@20"}
    th = comp[(comp.task == "x2en") & (comp.lang == "th")].iloc[0]
    assert th["diff"] == pytest.approx(0.1, abs=0.02)
    assert th["ci_low"] > 0.05 and th["p_adj"] < 0.05 and th["n_queries"] == N_Q
    de = comp[(comp.task == "x2en") & (comp.lang == "de")].iloc[0]
    assert abs(de["diff"]) < 0.02 and de["ci_low"] < 0 < de["ci_high"]
    # the all-languages mean averages th and de per question
    alls = comp[(comp.task == "x2en") & (comp.group == "all")].iloc[0]
    assert alls["diff"] == pytest.approx((th["diff"] + de["diff"]) / 2)
    assert (comp["p_adj"] >= comp["p"]).all()
    again = build_comparison(pq, LANGS, GROUPS, n_resamples=500, seed=3)
    pd.testing.assert_frame_equal(comp, again)


def test_comparison_without_kl_is_empty(fake_results):
    pq = load_evaluations(
        _paths(fake_results, "perquery.tsv.gz"), ["task", "lang", "qid", "measure", "value"]
    )
    comp = build_comparison(pq[pq.arm != "kl"], LANGS, GROUPS, n_resamples=100)
    assert comp.empty and "p_adj" in comp.columns
    table = build_table(
        load_evaluations(_paths(fake_results, "metrics.tsv"), ["value"]), LANGS, GROUPS
    )
    assert "No comparison" in summary_markdown(table, comp)


def test_make_tables_files_are_nan_free(fake_results, tmp_path):
    config = {"languages": LANGS, "groups": GROUPS, "stats": {"n_resamples": 200, "seed": 1},
              "evaluation": {"lareqa_candidate_text": "sentence_paragraph", "lareqa_max_length": 92}}  # fmt: skip
    out = tmp_path / "out"
    make_tables(
        _paths(fake_results, "metrics.tsv"),
        _paths(fake_results, "perquery.tsv.gz"),
        out / "table.tsv",
        out / "comparison.tsv",
        out / "summary.md",
        config=config,
        truncation_paths=_paths(fake_results, "truncation.tsv"),
        out_low_resource=out / "low_resource.tsv",
    )
    for name in ("table.tsv", "comparison.tsv", "low_resource.tsv"):
        text = (out / name).read_text()
        assert "nan" not in text.lower()
    summary = (out / "summary.md").read_text()
    assert "### x2en, MRR@10" in summary and "### ot − kl" in summary
    # 2 languages: rho is +-1 and p = 1 (2 pairings); the summary says no rho can reach 0.05
    low = pd.read_csv(out / "low_resource.tsv", sep="\t")
    assert set(low["quantity"]) == {"gain_kl", "gain_ot", "ot_minus_kl"}
    assert set(low["n_languages"]) == {2} and set(low["p_value"]) == {1.0}
    assert "## Gains against the untrained student's score" in summary
    assert "no rho reaches p < 0.05" in summary
    assert "min(#relevant, 20)" in summary
    # every table row says how its task was measured; the 92-token LAReQA is non-official
    table = pd.read_csv(out / "table.tsv", sep="\t")
    protocol = table.groupby("task")["protocol"].agg(set)
    assert protocol["lareqa"] == {
        "LAReQA non-official: candidates at 92 tokens (questions 96 tokens, candidates 92 "
        "tokens, sentence_paragraph)"
    }
    assert protocol["x2en"] == {"questions model max, paragraphs model max"}
    assert set(pd.read_csv(out / "comparison.tsv", sep="\t")["protocol"]) <= set().union(*protocol)
    assert "Protocol of lareqa: LAReQA non-official" in summary
    # truncation: every model's rows are identical here, so one table lists them together
    section = summary[summary.index("## Truncation") :]
    assert section.count("### ") == 1 and "`teacher`" in section
    assert "| x2en | query | model | 16 | 6 | 2 | 33.3% | de 33% | 26 |" in section


def test_bad_metrics_file_names_the_file(tmp_path):
    d = tmp_path / "ot_seed1"
    d.mkdir()
    (d / "metrics.tsv").write_text("task\tlang\nx2en\tde\n")
    with pytest.raises(PipelineError, match="ot_seed1/metrics.tsv: missing columns"):
        load_evaluations([d / "metrics.tsv"], ["task", "lang", "measure", "value"])


def test_runtime_table(fake_results):
    rules = ["evaluate_model", "index_teacher", "xquad", "evaluate"]
    assert split_rule_name("evaluate_model_ot_seed1", rules) == ("evaluate_model", "ot_seed1")
    assert split_rule_name("index_teacher", rules) == ("index_teacher", "")
    df = collect_runtime(fake_results / "results" / "benchmarks", rules)
    ev = df[df.stage == "evaluate"]
    assert ev["rule"].tolist() == ["evaluate_model", "evaluate_model", "index_teacher", "TOTAL"]
    total = ev[ev.rule == "TOTAL"].iloc[0]
    assert total["wall_s"] == pytest.approx(230.5) and total["cpu_s"] == pytest.approx(330.0)
    assert total["max_rss_mb"] == 2048.0 and total["n_jobs"] == 3
    overall = df.iloc[-1]
    assert overall["stage"] == "TOTAL" and overall["wall_s"] == pytest.approx(235.5)
    assert pd.isna(df[df.rule == "index_teacher"]["cpu_s"].item())


def test_figures(fake_results, tmp_path):
    config = {"languages": LANGS, "groups": GROUPS, "stats": {"n_resamples": 100}}
    out = tmp_path / "out"
    make_tables(
        _paths(fake_results, "metrics.tsv"),
        _paths(fake_results, "perquery.tsv.gz"),
        out / "table.tsv",
        out / "comparison.tsv",
        out / "summary.md",
        config=config,
    )
    runs = [
        fake_results / "results" / "train" / a / f"seed{s}" for a in ("kl", "ot") for s in (1, 2)
    ]
    names = make_figures(out / "table.tsv", out / "comparison.tsv", runs, out / "figures")
    assert names == [
        "scores_x2en.png",
        "scores_lareqa.png",
        "ot_minus_kl.png",
        "training_curves.png",
        "gain_vs_init.png",
    ]
    for name in names:
        assert (out / "figures" / name).read_bytes()[:4] == b"\x89PNG"


def test_gains_over_the_untrained_student(tmp_path):
    from otkd.report.figures import init_gains, plot_gain_vs_init

    rows = []
    for arm, scores in {
        "teacher": {"de": 0.9, "th": 0.9},
        "student_init": {"de": 0.6, "th": 0.2},
        "kl": {"de": 0.65, "th": 0.4},
        "ot": {"de": 0.62, "th": 0.5},
    }.items():
        for lang, value in scores.items():
            rows.append(["x2en", lang, "g", arm, "nDCG@10", value, 0.0, 2, 1])
            rows.append(["x2en", lang, "g", arm, "R@1", value / 2, 0.0, 2, 1])
        rows.append(["x2en", "mean", "all", arm, "nDCG@10", 0.5, 0.0, 2, 2])
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    gains = init_gains(table)
    got = {(r.arm, r.lang): round(r.gain, 6) for r in gains.itertuples()}
    assert got == {("kl", "de"): 0.05, ("kl", "th"): 0.2, ("ot", "de"): 0.02, ("ot", "th"): 0.3}
    assert set(gains["metric"]) == {"nDCG@10"}  # the main measure of x2en only
    fits = plot_gain_vs_init(gains, tmp_path / "gain.png")
    assert (tmp_path / "gain.png").read_bytes()[:4] == b"\x89PNG"
    slope = fits.set_index("arm")["slope"]
    assert slope["kl"] == pytest.approx((0.05 - 0.2) / (0.6 - 0.2))
    assert slope["ot"] == pytest.approx((0.02 - 0.3) / (0.6 - 0.2))


def test_smoothed_loss_and_sweep_figure(tmp_path):
    from otkd.report.figures import make_sweep_figure, smooth_loss

    loss = pd.Series([4.0, np.nan] + [1.0, 3.0] * 49)  # noisy around 2, one skipped step
    smooth = smooth_loss(loss)
    assert smooth.iloc[0] == 4.0 and not smooth.isna().any()
    assert smooth.iloc[-50:].mean() == pytest.approx(2.0, abs=0.05)
    assert smooth.iloc[-50:].std() < 0.3 * loss.iloc[-50:].std()  # span 5: amplitude 0.2
    sweep = pd.DataFrame(
        {
            "arm": ["kl", "kl", "ot", "ot", "ot"],
            "param": ["temperature", "temperature", "eps", "eps", "eps"],
            "value": [0.05, 0.1, 0.01, 0.05, 0.2],
            "dev_metric": "fidelity",
            "best_dev_score": [0.5, 0.6, 0.4, 0.7, 0.6],
            "best_step": [10, 10, 10, 20, 10],
            "selected": [False, True, False, True, False],
        }
    )
    sweep.to_csv(tmp_path / "sweep.tsv", sep="\t", index=False)
    make_sweep_figure(tmp_path / "sweep.tsv", tmp_path / "out" / "sweep.png")
    assert (tmp_path / "out" / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["sweep.png"]
    # no tuned parameter (all set in the config): a figure that says so
    sweep.iloc[:0].to_csv(tmp_path / "empty.tsv", sep="\t", index=False)
    make_sweep_figure(tmp_path / "empty.tsv", tmp_path / "out" / "x.png")
    assert (tmp_path / "out" / "x.png").read_bytes()[:4] == b"\x89PNG"


SNAKEFILE = """\
configfile: "config.yaml"


include: "{root}/workflow/rules/common.smk"
include: "{root}/workflow/rules/report.smk"


rule table:
    input:
        report_targets(),
"""


@pytest.mark.skipif(not SNAKEMAKE.exists(), reason="snakemake not installed")
def test_report_rules_and_html_report_with_snakemake(fake_results):
    """The report stage's rules on a tiny fake evaluation, then `snakemake --report`."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["languages"], cfg["groups"] = LANGS, GROUPS
    cfg["experiments"] = {"cross": {"teacher": "teacher", "projection": "ridge"}}
    cfg["train"]["arms"], cfg["train"]["seeds"] = ["kl", "ot"], [1, 2]
    cfg["evaluation"]["tasks"] = ["x2en", "lareqa"]
    cfg["stats"]["n_resamples"] = 200
    cfg["learning_curve"]["budgets"] = []
    # the fake evaluations and runs under the names and folders of experiment cross
    key = teacher_key("teacher", cfg["models"])
    results = fake_results / "results"
    for model in MODELS:
        new = {"teacher": f"teacher__{key}", "student_init": model}.get(model, f"{model}__cross")
        (results / "evaluate" / model).rename(results / "evaluate" / new)
    (results / "train" / "cross").mkdir()
    for arm in ("kl", "ot"):
        (results / "train" / arm).rename(results / "train" / "cross" / arm)
    (fake_results / "config.yaml").write_text(yaml.safe_dump(cfg))
    (fake_results / "Snakefile").write_text(SNAKEFILE.format(root=ROOT))
    env = {**os.environ, "MPLBACKEND": "Agg"}

    def snakemake(*args):
        cmd = [str(SNAKEMAKE), *args, "--cores", "1", "--quiet", "all"]
        res = subprocess.run(cmd, cwd=fake_results, env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]

    snakemake("table")
    runtime = pd.read_csv(results / "runtime.tsv", sep="\t")
    assert {"build_tables", "index_teacher", "xquad"} <= set(runtime["rule"])  # jobs of the DAG
    assert set(runtime["stage"]) == {"data", "evaluate", "report", "TOTAL"}
    table = pd.read_csv(results / "table.tsv", sep="\t")
    assert table.columns[0] == "experiment" and set(table["experiment"]) == {"cross"}
    low = pd.read_csv(results / "low_resource.tsv", sep="\t")
    assert set(low["experiment"]) == {"cross"} and "ot_minus_kl" in set(low["quantity"])
    assert table["arm"].drop_duplicates().tolist() == ["teacher", "student_init", "kl", "ot"]
    pngs = sorted(p.name for p in (results / "figures" / "cross").glob("*.png"))
    assert pngs == [
        "gain_vs_init.png",
        "ot_minus_kl.png",
        "scores_lareqa.png",
        "scores_x2en.png",
        "training_curves.png",
    ]
    snakemake("--report", "report.html")
    html = (fake_results / "report.html").read_text()
    assert "comparison.tsv" in html and "ot_minus_kl.png" in html
    shutil.rmtree(fake_results / ".snakemake", ignore_errors=True)


def test_learning_curve_table_figure_and_comparison(tmp_path):
    """Budget points from their metrics: means per budget and arm, the main-budget point
    taken from the main runs' names, pairs capped by a smaller pool (th); OT minus KL per
    budget from the per-question scores (OT is better on th only at 4000)."""
    rows, perquery, points = [], [], []
    qids = [f"q{i:03d}" for i in range(N_Q)]
    rng = np.random.default_rng(1)
    for budget, value in ((250, 0.2), (1000, 0.4), (4000, 0.5)):
        for arm, bonus in (("kl", 0.0), ("ot", 0.05)):
            model = f"{arm}_seed1" if budget == 1000 else f"{arm}_n{budget}_seed1"
            points.append([arm, budget, 1, model])
            d = tmp_path / "evaluate" / model
            d.mkdir(parents=True)
            metrics = pd.DataFrame(
                [(task, lang, m, value + bonus + (0.1 if lang == "th" else 0.0), 40)
                 for task, m in (("x2en", "nDCG@10"), ("lareqa", "AP@20"))
                 for lang in LANGS],
                columns=["task", "lang", "measure", "value", "n_queries"],
            )  # fmt: skip
            metrics.to_csv(d / "metrics.tsv", sep="\t", index=False)
            rows.append(d / "metrics.tsv")
            lift = 0.2 if (arm, budget) == ("ot", 4000) else 0.0
            pq = pd.DataFrame(
                [(task, lang, q, m, value + (lift if lang == "th" else 0.0) + noise)
                 for task, m in (("x2en", "nDCG@10"), ("lareqa", "AP@20"))
                 for lang in LANGS
                 for q, noise in zip(qids, rng.normal(0, 0.01, N_Q), strict=True)],
                columns=["task", "lang", "qid", "measure", "value"],
            )  # fmt: skip
            pq.to_csv(d / "perquery.tsv.gz", sep="\t", index=False)
            perquery.append(d / "perquery.tsv.gz")
    pool = tmp_path / "curve.tsv"
    pd.DataFrame(
        [("de", "e", "x")] * 4000 + [("th", "e", "x")] * 3000, columns=["lang", "en", "xx"]
    ).to_csv(pool, sep="\t", index=False)
    config = {"languages": LANGS, "groups": GROUPS, "stats": {"n_resamples": 999, "seed": 3}}
    curve = make_learning_curve(
        rows, points, pool, tmp_path / "lc.tsv", tmp_path / "lc.png", config=config,
        perquery_paths=perquery, comparison_out=tmp_path / "lcc.tsv",
        train={"steps": 300, "batch_size": 32},
    )  # fmt: skip
    assert (tmp_path / "lc.png").stat().st_size > 1000
    assert pd.read_csv(tmp_path / "lc.tsv", sep="\t").shape == curve.shape
    cell = curve.set_index(["task", "lang", "group", "metric", "budget", "arm"])
    assert cell.loc[("x2en", "th", "lower_resource", "nDCG@10", 4000, "ot"), "mean"] == (
        pytest.approx(0.65)
    )
    assert cell.loc[("x2en", "mean", "all", "nDCG@10", 250, "kl"), "mean"] == pytest.approx(0.25)
    assert cell.loc[("lareqa", "th", "lower_resource", "AP@20", 4000, "kl"), "pairs"] == 3000
    assert cell.loc[("lareqa", "mean", "all", "AP@20", 4000, "kl"), "pairs"] == 7000
    assert cell.loc[("lareqa", "mean", "all", "AP@20", 250, "kl"), "pairs"] == 500
    # 300 steps x 32 pairs over all languages' pairs of the budget, on every row of it
    assert curve.loc[curve["budget"] == 250, "epochs"].tolist() == pytest.approx(
        [9600 / 500] * int((curve["budget"] == 250).sum())
    )
    assert curve.loc[curve["budget"] == 4000, "epochs"].unique() == pytest.approx([9600 / 7000])
    assert set(curve["budget"]) == {250, 1000, 4000}
    comp = pd.read_csv(tmp_path / "lcc.tsv", sep="\t").set_index(["budget", "task", "lang"])
    assert list(comp.reset_index().columns[:2]) == ["budget", "task"]
    assert set(comp["arm"]) == {"ot"} and set(comp["reference"]) == {"kl"}
    th = comp.xs("th", level="lang")
    assert th.loc[(4000, "x2en"), "diff"] == pytest.approx(0.2, abs=0.01)
    assert th.loc[(4000, "x2en"), "p_adj"] < 0.05 and th.loc[(4000, "x2en"), "ci_low"] > 0.15
    for budget in (250, 1000):
        assert abs(th.loc[(budget, "x2en"), "diff"]) < 0.01
        assert th.loc[(budget, "x2en"), "p_adj"] > 0.05
    only = make_learning_curve(
        rows, points, pool, tmp_path / "x2en.tsv", tmp_path / "x2en.png", config=config,
        tasks=["x2en"], perquery_paths=perquery, comparison_out=tmp_path / "x2en_c.tsv",
    )  # fmt: skip
    assert set(only["task"]) == {"x2en"}
    assert set(pd.read_csv(tmp_path / "x2en_c.tsv", sep="\t")["task"]) == {"x2en"}
    with pytest.raises(PipelineError, match="no evaluation of"):
        make_learning_curve(
            rows[:-1], points, pool, tmp_path / "x.tsv", tmp_path / "x.png", config=config
        )
    with pytest.raises(PipelineError, match="no evaluation of"):
        make_learning_curve(
            rows, points, pool, tmp_path / "x.tsv", tmp_path / "x.png", config=config,
            perquery_paths=perquery[1:], comparison_out=tmp_path / "x_c.tsv",
        )  # fmt: skip
    assert not (tmp_path / "x_c.tsv").exists()


def test_tables_have_one_section_per_experiment(fake_results, tmp_path):
    """Rows per experiment from entries: the student's initial model is also the teacher of
    `shared`; comparisons stay within an experiment; summary and README show each."""
    from otkd.report.readme import results_blocks

    entries = [["shared", "teacher", None, "student_init"],
               ["shared", "student_init", None, "student_init"]]  # fmt: skip
    entries += [["shared", arm, s, f"{arm}_seed{s}"] for arm in ("kl", "ot") for s in (1, 2)]
    entries += [["cross", "teacher", None, "teacher"], ["cross", "student_init", None,
                "student_init"], ["cross", "kl", 1, "kl_seed1"], ["cross", "ot", 1, "ot_seed1"]]  # fmt: skip
    config = {"languages": LANGS, "groups": GROUPS, "stats": {"n_resamples": 100},
              "experiments": {"shared": {"teacher": "student", "projection": False},
                              "cross": {"teacher": "pkg:t/model", "projection": "ridge"}}}  # fmt: skip
    out = tmp_path / "out"
    paths = {n: _paths(fake_results, n) for n in ("metrics.tsv", "perquery.tsv.gz")}
    make_tables(paths["metrics.tsv"], paths["perquery.tsv.gz"], out / "table.tsv",
                out / "comparison.tsv", out / "summary.md", config=config, entries=entries)  # fmt: skip
    table = pd.read_csv(out / "table.tsv", sep="\t", keep_default_na=False, na_values=[""])
    assert table.columns[0] == "experiment"
    assert list(dict.fromkeys(table["experiment"])) == ["shared", "cross"]
    shared = table[table["experiment"] == "shared"].set_index(["task", "lang", "group", "metric"])
    teacher, init = (shared[shared["arm"] == a]["mean"] for a in ("teacher", "student_init"))
    assert len(teacher) > 0 and teacher.equals(init)  # the same evaluation, shown twice
    kl = table[(table["arm"] == "kl") & (table["lang"] == "de") & (table["task"] == "x2en")]
    assert kl.groupby("experiment")["n_seeds"].max().to_dict() == {"cross": 1, "shared": 2}
    cross_teacher = table[(table["experiment"] == "cross") & (table["arm"] == "teacher")]
    assert (
        not cross_teacher["mean"]
        .reset_index(drop=True)
        .equals(shared[shared["arm"] == "teacher"]["mean"].reset_index(drop=True))
    )
    comp = pd.read_csv(out / "comparison.tsv", sep="\t", keep_default_na=False, na_values=[""])
    assert comp.columns[0] == "experiment" and set(comp["arm"]) == {"ot"}
    assert comp.groupby("experiment")["n_seeds_arm"].max().to_dict() == {"cross": 1, "shared": 2}
    th = comp[(comp["task"] == "x2en") & (comp["lang"] == "th")].set_index("experiment")
    assert th.loc["shared", "diff"] == pytest.approx(0.1, abs=0.02)  # the planted difference
    summary = (out / "summary.md").read_text()
    assert summary.index("## Experiment `shared`") < summary.index("## Experiment `cross`")
    assert "`student_init`'s evaluation" in summary and "ridge-initialised" in summary
    assert "### Comparisons against KL" in summary and "#### ot − kl" in summary
    block = "\n".join(results_blocks(table, comp))
    assert block.index("## Experiment `shared`") < block.index("## Experiment `cross`")
    assert block.count("**`ot`** − **`kl`**") == 0 and block.count("**`ot` − `kl`**") == 2


def test_estimate_cost_scales_measured_jobs_to_the_planned_dag(fake_results):
    from otkd.report.runtime import estimate_cost

    runtime = collect_runtime(
        fake_results / "results" / "benchmarks", ["evaluate_model", "index_teacher", "xquad"]
    )
    planned = {"evaluate_model": 10, "index_teacher": 2, "sweep_run": 3, "export_model": 4}
    cost = estimate_cost(runtime, planned, {"sweep_run": 50.0}).set_index("rule")
    # evaluate_model: mean of 120.5 and 100.0 s over 2 measured jobs, 10 planned
    assert cost.loc["evaluate_model", "est_wall_s"] == pytest.approx(1102.5)
    assert cost.loc["evaluate_model", "measured_jobs"] == 2
    assert cost.loc["evaluate_model", "max_rss_mb"] == pytest.approx(2048.0)
    assert cost.loc["sweep_run", ["source", "est_wall_s"]].tolist() == ["fallback", 150.0]
    assert cost.loc["export_model", "source"] == "not measured"
    assert pd.isna(cost.loc["export_model", "est_wall_s"])
    assert cost["share"].sum() == pytest.approx(1.0)
    assert cost.index[0] == "evaluate_model"  # largest first
