import yaml, pandas as pd, numpy as np
from otkd import stats
cfg = yaml.safe_load(open("/work/main/config.yaml"))
low, high = cfg["groups"]["lower_resource"], cfg["groups"]["higher_resource"]
paths = {"student_init": "/work/run/benchmarks/out/evaluate/student_init",
         **{a: f"/tmp/measure/eval/{a}_seed1__shared" for a in ["kl", "ot", "wkd"]}}
rows = []
pq = {}
for name, d in paths.items():
    try:
        m = pd.read_csv(f"{d}/metrics.tsv", sep="\t")
        pq[name] = pd.read_csv(f"{d}/perquery.tsv", sep="\t")
    except FileNotFoundError:
        continue
    m = m[(m.measure == "nDCG@10") & m.task.isin(["x2en", "en2x"])]
    for task, g in m.groupby("task"):
        v = g.set_index("lang")["value"]
        rows.append({"model": name, "task": task, "low": v[low].mean(), "high": v[high].mean(), "all": v[low + high].mean(), **{l: v[l] for l in ["ar", "th", "zh", "es"]}})
t = pd.DataFrame(rows)
print(t.round(4).to_string(index=False))
for a, b in [("ot", "kl"), ("wkd", "kl"), ("kl", "student_init"), ("ot", "student_init")]:
    if a not in pq or b not in pq: continue
    for task in ["x2en"]:
        x = pq[a][(pq[a].task == task) & (pq[a].measure == "nDCG@10")].set_index(["lang", "qid"])["value"]
        y = pq[b][(pq[b].task == task) & (pq[b].measure == "nDCG@10")].set_index(["lang", "qid"])["value"]
        x, y = x.align(y, join="inner")
        d = (x - y).to_numpy()
        lo, hi = stats.bootstrap_ci(d, n_resamples=2000, seed=13)
        print(f"{a} - {b} {task}: mean {d.mean():+.4f} 95% CI [{lo:+.4f}, {hi:+.4f}] n={len(d)}")
