"""Benchmark: where evaluation time goes. Token volume per phase x measured throughput.

    .venv/bin/python benchmarks/eval_volume.py [--threads 1] [--sample 512] [--model kl_seed1]

Runs :func:`otkd.evaluate.evaluate_model` on the default config with a counting encoder
(the real tokenizer, random unit vectors instead of the network), so the texts and tokens each
phase sends to the model are exactly those of a real evaluation (same cache, same
truncation). Then it times the real student encoder on ``--sample`` texts of each phase, with
bf16 autocast on and off, at ``--threads`` threads, and prints the estimated seconds per phase
and per model. Needs the data stage (``results/data/xquad``) and, for a trained model, its
checkpoint under ``results/train`` (``student_init`` needs nothing else). Writes
``benchmarks/out/eval_volume.json``.

``--smoke``: a seconds-long run that only checks the script works (the first configured
language, 8 texts per phase); with a tiny config and tiny task files (see
benchmarks/evaluate.py; tests/workflow/test_benchmarks.py does this).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from otkd.config import load_config
from otkd.encode import Encoder
from otkd.evaluate import (
    XQuADFiles,
    evaluate_model,
    length_spec,
    model_profile,
    resolve_lengths,
)
from otkd.evaluate.tasks import LENGTH_KEYS
from otkd.io import write_json

ROOT = Path(__file__).resolve().parent.parent


def phase_of(desc: str) -> str:
    for name in ("lareqa candidates", "paragraphs", "questions"):
        if name in desc:
            return name
    return desc


class CountingEncoder:
    """Tokenizes like the real encoder, records texts and tokens per phase, returns random
    unit vectors (no network)."""

    def __init__(self, encoder: Encoder, seed: int = 0) -> None:
        self.encoder = encoder
        self.dim = encoder.dim
        self.rng = np.random.default_rng(seed)
        self.texts: dict[str, list[tuple[str, str | None, int | None]]] = defaultdict(list)
        self.tokens: dict[str, int] = defaultdict(int)

    def token_counts(self, texts, role):
        return self.encoder.token_counts(texts, role)

    def encode(self, texts, role, *, max_length=None, desc=""):
        phase = phase_of(desc)
        ids = self.encoder.tokenize(texts, role, max_length)
        self.tokens[phase] += sum(len(s) for s in ids)
        self.texts[phase] += [(t, role, max_length) for t in texts]
        emb = self.rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def throughput(encoder: Encoder, sample, bf16: bool) -> float:
    """Tokens per second of the real encoder on ``sample`` ([(text, role, max_length)])."""
    encoder.bf16 = bf16
    seqs = [encoder.tokenize([t], role, ml)[0] for t, role, ml in sample]
    encoder.encode_ids(seqs[:64], desc="warm-up")
    start = time.perf_counter()
    encoder.encode_ids(seqs, desc="timed")
    return sum(len(s) for s in seqs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="student_init")
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--data", default=str(ROOT / "results" / "data" / "xquad"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sample", type=int, default=512)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "eval_volume.json"))
    parser.add_argument("--smoke", action="store_true", help="seconds-long check that it runs")
    args = parser.parse_args()
    if args.smoke:
        args.sample = min(args.sample, 8)

    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    ev, enc_cfg = config["evaluation"], config.get("encode", {})
    profile = model_profile(args.model, config["models"], ROOT / "results" / "train")
    real = Encoder(profile, batch_size=enc_cfg.get("batch_size", 64), show_progress=False)
    counter = CountingEncoder(real)
    lengths = resolve_lengths(
        {key: ev[key] for key in LENGTH_KEYS.values()},
        length_spec(args.model, config["models"]),
        args.model,
    )
    with tempfile.TemporaryDirectory() as tmp:
        evaluate_model(
            args.model,
            counter,
            XQuADFiles(Path(args.data)),
            tmp,
            tasks=ev["tasks"],
            langs=config["languages"][:1] if args.smoke else config["languages"],
            teacher_index=None,  # the English side is then counted too (student_init's case)
            index_spec=ev.get("index", "Flat"),
            top_k=ev.get("top_k", 100),
            lareqa_candidate_text=ev["lareqa_candidate_text"],
            lengths=lengths,
        )
    rng = np.random.default_rng(0)
    result = {
        "model": args.model,
        "lengths": lengths.__dict__,
        "threads": args.threads,
        "load_average_1m_before": round(os.getloadavg()[0], 2),
        "phases": {},
    }
    total = {"bf16": 0.0, "fp32": 0.0}
    for phase, texts in counter.texts.items():
        pick = rng.choice(len(texts), size=min(args.sample, len(texts)), replace=False)
        sample = [texts[i] for i in pick]
        row = {"texts": len(texts), "tokens": counter.tokens[phase]}
        row["tokens_per_text"] = round(row["tokens"] / row["texts"], 1)
        for name, bf16 in (("bf16", True), ("fp32", False)):
            tps = throughput(real, sample, bf16)
            row[f"{name}_tokens_per_s"] = round(tps)
            row[f"{name}_est_s"] = round(row["tokens"] / tps, 1)
            total[name] += row["tokens"] / tps
        result["phases"][phase] = row
    result["est_model_s"] = {k: round(v, 1) for k, v in total.items()}
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    write_json(Path(args.out), result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
