"""The README's headline and results/README.md are exactly what the committed result files
render to."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from otkd.evaluate.metrics import MAIN_MEASURE
from otkd.io import PipelineError
from otkd.report.readme import (
    BEGIN,
    END,
    block_of,
    curve_comparison_block,
    render_headline,
    render_page,
    update,
)

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "results"


@pytest.mark.skipif(
    not (RESULTS / "table.tsv").is_file(), reason="no committed results/table.tsv yet"
)
def test_readme_numbers_are_the_committed_tables():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert block_of(readme) == render_headline(RESULTS), (
        "README headline differs from results/: run `python -m otkd.report.readme`"
    )
    page = (RESULTS / "README.md").read_text(encoding="utf-8")
    assert page == render_page(RESULTS), (
        "results/README.md differs from results/: run `python -m otkd.report.readme`"
    )


def test_update_rewrites_only_the_block(tmp_path):
    res = tmp_path / "results"
    res.mkdir()
    (res / "table.tsv").write_text(
        "task\tlang\tgroup\tarm\tmetric\tmean\tsd\tn_seeds\tn_langs\n"
        "x2en\tde\thigher_resource\tkl\tnDCG@10\t0.5\t0.01\t3\t1\n"
        "x2en\tde\thigher_resource\tot\tnDCG@10\t0.6\t0.02\t3\t1\n"
    )
    (res / "comparison.tsv").write_text(
        "task\tlang\tgroup\tmetric\tarm\treference\tmean_arm\tmean_ref\tdiff\tci_low\tci_high"
        "\tp\tp_adj\tcorrection\td_z\tn_queries\tn_seeds_arm\tn_seeds_ref\n"
        "x2en\tde\thigher_resource\tnDCG@10\tot\tkl\t0.6\t0.5\t0.1\t0.05\t0.15\t0.001\t0.002"
        "\tholm\t0.4\t1190\t3\t3\n"
    )
    (res / "comparison.tsv").write_text(
        (res / "comparison.tsv").read_text()
        + "x2en\tmean\tall\tnDCG@10\tot\tkl\t0.6\t0.5\t0.1\t0.05\t0.15\t0.001\t0.03"
        "\tholm\t0.4\t1190\t3\t3\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nintro\n\n{BEGIN}\nold\n{END}\n\nafter\n")
    update(readme, res)
    text = readme.read_text()
    assert text.startswith("# Title\n\nintro\n\n") and text.endswith("\n\nafter\n")
    headline = block_of(text)  # the group-mean row only, starred: p_adj 0.03 < 0.05
    assert "| x2en | all-mean | nDCG@10 | +0.100 [+0.050, +0.150] * |" in headline
    assert "0.600" not in headline and "old" not in headline
    page = (res / "README.md").read_text()
    assert page.startswith("# Results\n")
    assert "0.600 ± 0.020" in page and "0.500 ± 0.010" in page
    assert "+0.100" in page and "[+0.050, +0.150]" in page and "0.002 *" in page
    (tmp_path / "bad.md").write_text("no markers")
    with pytest.raises(PipelineError, match="markers"):
        update(tmp_path / "bad.md", tmp_path)


def test_curve_comparison_block_shows_group_rows_by_budget():
    cols = ["budget", "task", "lang", "group", "arm", "reference", "metric", "mean_arm",
            "mean_ref", "diff", "ci_low", "ci_high", "p", "p_adj", "correction"]  # fmt: skip
    rows = [
        (4000, "x2en", "mean", "all", "ot", "kl", "nDCG@10", 0.7, 0.72, -0.02, -0.03, -0.01,
         0.001, 0.004, "holm"),
        (250, "x2en", "mean", "all", "ot", "kl", "nDCG@10", 0.6, 0.6, 0.0, -0.01, 0.01,
         0.9, 1.0, "holm"),
        (250, "x2en", "de", "higher_resource", "ot", "kl", "nDCG@10", 0.6, 0.5, 0.1, 0.05,
         0.15, 0.001, 0.002, "holm"),
    ]  # fmt: skip
    lines = "\n".join(curve_comparison_block(pd.DataFrame(rows, columns=cols))).splitlines()
    body = [line for line in lines if line.startswith("| 250") or line.startswith("| 4000")]
    assert [line.split(" | ")[0] for line in body] == ["| 250", "| 4000"]  # sorted by budget
    assert "-0.020" in body[1] and "[-0.030, -0.010]" in body[1] and "0.004 *" in body[1]
    assert not any("+0.100" in line for line in lines)  # per-language rows stay in the TSV
    assert curve_comparison_block(pd.DataFrame(rows, columns=cols).assign(arm="mse")) == []


def test_page_has_a_section_per_experiment_with_its_low_resource_rows(tmp_path):
    res = tmp_path / "results"
    res.mkdir()
    header = "experiment\ttask\tlang\tgroup\tarm\tmetric\tmean\tsd\tn_seeds\tn_langs\n"
    (res / "table.tsv").write_text(
        header
        + "".join(
            f"{exp}\tx2en\tde\thigher_resource\t{arm}\tnDCG@10\t{m}\t0.01\t3\t1\n"
            for exp in ("shared", "cross")
            for arm, m in (("kl", 0.5), ("ot", 0.6))
        )
    )
    comp_cols = ("experiment\ttask\tlang\tgroup\tmetric\tarm\treference\tmean_arm\tmean_ref\tdiff"
                 "\tci_low\tci_high\tp\tp_adj\tcorrection\td_z\tn_queries\tn_seeds_arm"
                 "\tn_seeds_ref\n")  # fmt: skip
    (res / "comparison.tsv").write_text(
        comp_cols
        + "".join(
            f"{exp}\tx2en\tde\thigher_resource\tnDCG@10\tot\tkl\t0.6\t0.5\t0.1\t0.05\t0.15"
            "\t0.001\t0.002\tholm\t0.4\t1190\t3\t3\n"
            for exp in ("shared", "cross")
        )
    )
    (res / "low_resource.tsv").write_text(
        "experiment\ttask\tmeasure\tquantity\tn_languages\tspearman_rho\tp_value"
        "\tcritical_rho\tlow_mean\thigh_mean\n"
        "shared\tx2en\tnDCG@10\tot_minus_kl\t11\t0.618182\t0.0471953\t0.609091\t-0.0203"
        "\t-0.0084\n"
        "cross\tx2en\tnDCG@10\tgain_kl\t11\t-0.5\t0.12\t0.609091\t0.03\t0.02\n"
    )
    (res / "runtime.tsv").write_text(
        "stage\trule\twildcards\tn_jobs\twall_s\tcpu_s\tmax_rss_mb\n"
        "TOTAL\tTOTAL\t\t2\t120\t100\t2048\n"
    )
    page = render_page(res)
    shared, cross = page.split("## Experiment `shared`")[1].split("## Experiment `cross`")
    assert "| x2en | nDCG@10 | ot_minus_kl | 11 | 0.62 | 0.047 | 0.61 |" in shared
    assert "gain_kl" not in shared and "| x2en | nDCG@10 | gain_kl | 11 | -0.50 |" in cross
    assert "at most 11 points: little power" in shared
    # every markdown table keeps its columns (a "|" inside a cell would split it)
    widths, tables = [], []
    for line in page.splitlines() + [""]:
        if line.startswith("|"):
            widths.append(line.count("|"))
        elif widths:
            tables.append(widths)
            widths = []
    assert tables and all(len(set(w)) == 1 for w in tables), tables
    assert "## Cost" in cross  # the cost is its own section, not part of the last experiment
    # without low_resource.tsv the page has no correlation section
    (res / "low_resource.tsv").unlink()
    assert "Gains against" not in render_page(res)


def _signed(v: float, nd: int = 3) -> str:
    """The README's signed number: +0.012, −0.016 (U+2212)."""
    return f"{v:+.{nd}f}".replace("-", "\u2212")


def _joined(items) -> str:
    """The README's list: "a, b and c"."""
    items = list(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def answer_claims(results: Path) -> list[str]:
    """The sentences of the README's answer that carry numbers, rebuilt from the tables."""
    table, comp, lowres = (
        pd.read_csv(results / n, sep="\t")
        for n in ("table.tsv", "comparison.tsv", "low_resource.tsv")
    )
    groups = {"all": "all", "low": "lower_resource", "high": "higher_resource"}

    def mean(exp, task, arm, group="all", lang="mean"):
        r = table[(table.experiment == exp) & (table.task == task) & (table.lang == lang)
                  & (table.arm == arm) & (table.metric == MAIN_MEASURE[task])]  # fmt: skip
        if lang == "mean":
            r = r[r.group == groups[group]]
        return f"{r['mean'].item():.3f}"

    def diff(exp, task, group="all", arm="ot", ci=False):
        r = comp[(comp.experiment == exp) & (comp.task == task) & (comp.lang == "mean")
                 & (comp.group == groups[group]) & (comp.metric == MAIN_MEASURE[task]) & (comp.arm == arm)]  # fmt: skip
        out = _signed(r["diff"].item())
        return out + (f" [{_signed(r.ci_low.item())}, {_signed(r.ci_high.item())}]" if ci else "")

    def rho(exp, task, quantity, p=None):
        r = lowres[
            (lowres.experiment == exp) & (lowres.task == task) & (lowres.quantity == quantity)
        ]
        out = _signed(r.spearman_rho.item(), 2)
        return out + (f", p {r.p_value.item():.{p}f}" if p else "")

    def x2en_per_language(exp):
        return comp[(comp.experiment == exp) & (comp.task == "x2en") & (comp.arm == "ot")
                    & (comp.metric == MAIN_MEASURE["x2en"]) & (comp.lang != "mean")]  # fmt: skip

    per_lang = x2en_per_language("shared").set_index("lang")
    below = per_lang[per_lang["diff"].round(3) < 0]
    tie = per_lang.index.difference(below.index)
    sig = sorted(below.index[below.p_adj < 0.05])
    cross_x2en = x2en_per_language("cross")
    cross_rows = lowres[(lowres.experiment == "cross") & (lowres.quantity == "ot_minus_kl")]
    s = "shared"
    return [
        f"untrained {mean(s, 'x2en', 'student_init')}, `mse` {mean(s, 'x2en', 'mse')}, "
        f"`kl` {mean(s, 'x2en', 'kl')}, `wkd` {mean(s, 'x2en', 'wkd')}, `ot` {mean(s, 'x2en', 'ot')}.",
        f"`ot` − `kl` is {diff(s, 'x2en', ci=True)}: {diff(s, 'x2en', 'low')} on the "
        f"lower-resource group, {diff(s, 'x2en', 'high')} on the higher-resource one.",
        f"OT is below KL in {len(below)} of the {len(per_lang)} languages ({', '.join(tie)} ties), "
        f"significantly in {len(sig)} ({', '.join(sig)}), most in Thai "
        f"({_signed(per_lang['diff'].min())}), where OT ends below the untrained student "
        f"({mean(s, 'x2en', 'ot', lang='th')} against {mean(s, 'x2en', 'student_init', lang='th')}).",
        f"en2x: `ot` − `kl` {diff(s, 'en2x', ci=True)}, on both groups, and `mse` gains as much "
        f"({diff(s, 'en2x', arm='mse')}).",
        f"LAReQA mAP@20 (untrained {mean(s, 'lareqa', 'student_init')}",
        f"`ot` − `kl` {diff(s, 'lareqa', ci=True)} overall, {diff(s, 'lareqa', 'low')} on the "
        f"lower-resource and {diff(s, 'lareqa', 'high')} on the higher-resource group.",
        f"x2en: `ot` − `kl` {diff('cross', 'x2en', ci=True)} (lower-resource "
        f"{diff('cross', 'x2en', 'low')}, higher-resource {diff('cross', 'x2en', 'high')}), below KL "
        f"in every language, significantly in all {int((cross_x2en.p_adj < 0.05).sum())}.",
        f"en2x {diff('cross', 'en2x', ci=True)} on both groups.",
        f"LAReQA a tie overall ({diff('cross', 'lareqa', ci=True)}): {diff('cross', 'lareqa', 'low')}",
        *(
            f"({mean('cross', task, 'kl')}, {mean('cross', task, 'ot')} against "
            f"{mean('cross', task, 'student_init')})"
            for task in ("en2x", "lareqa")
        ),
        f"(`kl` {mean('cross', 'x2en', 'kl')}, `ot` {mean('cross', 'x2en', 'ot')} against "
        f"{mean('cross', 'x2en', 'student_init')})",
        f"(`kl` rho {rho(s, 'x2en', 'gain_kl')}, `ot` {rho(s, 'x2en', 'gain_ot')})",
        f"(rho {rho(s, 'x2en', 'ot_minus_kl', p=3)}, exactly at the threshold)",
        f"en2x advantage does grow there (rho {rho(s, 'en2x', 'ot_minus_kl', p=2)})",
        f"(x2en rho {rho('cross', 'x2en', 'ot_minus_kl')}, en2x {rho('cross', 'en2x', 'ot_minus_kl')}, "
        f"LAReQA {rho('cross', 'lareqa', 'ot_minus_kl')}; all p > "
        f"{0.2 if cross_rows.p_value.min() > 0.2 else 'NOT 0.2'})",
    ]


def curve_claims(results: Path) -> list[str]:
    """The README's learning-curve sentences, rebuilt from learning_curve_comparison.tsv (OT −
    KL at each budget; "significant" and "tie" checked against its p_adj) and
    learning_curve.tsv (epochs per budget, each arm's x2en mean across budgets)."""
    c = pd.read_csv(results / "learning_curve_comparison.tsv", sep="\t")
    c = c[(c.lang == "mean") & (c.arm == "ot")].sort_values("budget")

    def diffs(task, group):
        return c[(c.task == task) & (c.group == group)]

    x2en_all, x2en_low = diffs("x2en", "all"), diffs("x2en", "lower_resource")
    lq_all, lq_low = diffs("lareqa", "all"), diffs("lareqa", "lower_resource")
    lq_high = diffs("lareqa", "higher_resource")["diff"].round(3)
    every = (
        "every one significant" if (pd.concat([x2en_all, x2en_low]).p_adj < 0.05).all() else "NOT"
    )
    tie = "a tie overall at every budget" if (lq_all.p_adj >= 0.05).all() else "NOT a tie"
    low = sorted({_signed(v) for v in lq_low["diff"]})
    curve = pd.read_csv(results / "learning_curve.tsv", sep="\t")
    curve = curve[(curve.task == "x2en") & (curve.lang == "mean") & (curve.group == "all")
                  & (curve.metric == MAIN_MEASURE["x2en"])]  # fmt: skip

    def span(arm):
        vals = sorted({f"{v:.3f}" for v in curve[curve.arm == arm]["mean"]})
        return vals[0] if len(vals) == 1 else f"{vals[0]} to {vals[-1]}"

    epochs = sorted(curve.epochs.round(2).unique(), reverse=True)
    return [
        f"same 300 steps, so {_joined(f'{e:.2f}' for e in epochs)} epochs",
        f"(x2en all-mean `kl` {span('kl')}, `ot` {span('ot')} at every budget)",
        f"`ot` − `kl` on x2en is {_joined(map(_signed, x2en_all['diff']))} (all-mean) and "
        f"{_joined(map(_signed, x2en_low['diff']))} (lower-resource) at "
        f"{_joined(str(b) for b in sorted(c.budget.unique()))} pairs, {every}",
        f"on LAReQA it is {tie}, {'/'.join(low)} on the lower-resource and "
        f"{_signed(lq_high.min())} to {_signed(lq_high.max())} on the higher-resource group.",
    ]


@pytest.mark.skipif(
    not (RESULTS / "low_resource.tsv").is_file(), reason="no committed results/low_resource.tsv"
)
def test_answer_prose_numbers_are_the_committed_tables():
    """The README's answer bullets state the committed tables' numbers: each sentence that
    carries numbers is rebuilt from table.tsv, comparison.tsv and low_resource.tsv, and the
    learning-curve sentences from the learning-curve tables where they are committed."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    answer = " ".join(readme.split("## The answer", 1)[1].split("<!-- headline:begin")[0].split())
    claims = answer_claims(RESULTS)
    if (RESULTS / "learning_curve_comparison.tsv").is_file():
        claims += curve_claims(RESULTS)
    missing = [claim for claim in claims if claim not in answer]
    assert not missing, f"README answer differs from results/ tables; expected: {missing}"
