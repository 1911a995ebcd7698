"""Tuned trial of issue 14: seed 1 of kl, ot and wkd in `shared`, trained by the DAG at the
values its dev sweep selected (results/sweep/shared/selected.tsv) and evaluated by it
(results/evaluate/*__shared), against the untrained student. XQuAD is read only here, after
every selection was made on FLORES dev.

    python results/dev_signal/shared/tuned_trial/trial.py [ROOT] > .../tuned_trial/trial.txt

Prints the group means of each task's main metric and the paired comparisons of the pipeline
(otkd.report.compare.build_comparison: per question, averaged over a group's languages, so a
question counts once however many languages it appears in; bootstrap CI; Holm within each
family), against kl and against the untrained student.
"""

import sys
from pathlib import Path

import pandas as pd
import yaml
from otkd.evaluate.metrics import MAIN_MEASURE
from otkd.report.compare import build_comparison, stats_options
from otkd.report.tables import AGG_LANG, PERQUERY_COLUMNS, load_evaluations

root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
cfg = yaml.safe_load((root / "config.yaml").read_text())
langs, groups = cfg["languages"], cfg["groups"]
models = ["student_init"] + [f"{arm}_seed1__shared" for arm in ("kl", "ot", "wkd")]
present = [m for m in models if (root / f"results/evaluate/{m}/perquery.tsv.gz").exists()]
print("models:", ", ".join(present))
selected = root / "results/sweep/shared/selected.tsv"
print(pd.read_csv(selected, sep="\t").to_string(index=False), "\n")
pq = load_evaluations(
    [root / f"results/evaluate/{m}/perquery.tsv.gz" for m in present], PERQUERY_COLUMNS
)
pq = pq[pq["measure"] == pq["task"].map(MAIN_MEASURE)]
means = pq.groupby(["task", "arm", "lang"])["value"].mean().unstack("lang")
rows = []
for (task, arm), row in means.iterrows():
    if task == "en2en":
        continue
    out = {"task": task, "metric": MAIN_MEASURE[task], "arm": arm}
    for name, members in [*groups.items(), ("all", langs)]:
        out[name] = row[[lang for lang in members if lang in row.index]].mean()
    out.update({lang: row.get(lang) for lang in ("ar", "th", "hi", "zh")})
    rows.append(out)
print(pd.DataFrame(rows).round(4).to_string(index=False), "\n")
for reference in ("kl", "student_init"):
    comp = build_comparison(pq, langs, groups, reference=reference, **stats_options(cfg))
    comp = comp[comp["lang"] == AGG_LANG]
    cols = ["task", "group", "arm", "reference", "diff", "ci_low", "ci_high", "p_adj", "n_queries"]
    print(comp[cols].round(4).to_string(index=False), "\n")
