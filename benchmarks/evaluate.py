"""Benchmark: evaluate one model on all tasks and languages; wall time and peak memory.

    .venv/bin/python benchmarks/evaluate.py [--model student_init] [--threads 2]

Reads the XQuAD task files of the data stage (``results/data/xquad``; build them with
``.venv/bin/snakemake --cores 1 data``) and the config (``config.yaml``). A model other than
``student_init`` also needs the shared teacher index (``results/index/teacher``), which is
built here (and timed separately) when it is missing. Runs and scores go to
``benchmarks/out/evaluate/{model}/``; the measurements to ``benchmarks/out/evaluate_{model}.json``.

``--smoke``: a seconds-long run that only checks the script works (the first configured
language only, 1 thread); with a tiny config and tiny task files, e.g. ``--config`` a copy
of tests/configs/tiny/config.yaml with tiny models and ``--data`` the output of
``otkd.xquad.build_xquad`` on fake data (tests/workflow/test_benchmarks.py does this).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import time
from pathlib import Path

import faiss
import torch
from otkd.config import load_config
from otkd.encode import Encoder
from otkd.evaluate import (
    MAIN_MEASURE,
    CachedEncoder,
    TeacherIndex,
    XQuADFiles,
    evaluate_model,
    length_spec,
    model_profile,
    resolve_lengths,
    run_index_teacher,
    uses_teacher_index,
)
from otkd.evaluate.tasks import LENGTH_KEYS
from otkd.io import setup_logging, write_json

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("otkd.benchmark")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (less sensitive than wall time to
    other jobs sharing the cores)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="student_init")
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    parser.add_argument(
        "--data", default=str(ROOT / "results" / "data" / "xquad"), help="XQuAD task files"
    )
    parser.add_argument("--smoke", action="store_true", help="seconds-long check that it runs")
    args = parser.parse_args()
    if args.smoke:
        args.threads = 1

    setup_logging()
    torch.set_num_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)
    config = load_config(args.config)
    enc_cfg = config.get("encode", {})
    ev = config["evaluation"]
    files = XQuADFiles(Path(args.data))
    langs = config["languages"][:1] if args.smoke else config["languages"]
    result = {
        "model": args.model,
        "threads": args.threads,
        "bf16": enc_cfg.get("bf16", False),
        "batch_size": enc_cfg.get("batch_size", 64),
        "cpu": platform.processor() or platform.machine(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
    }

    lengths = {key: ev[key] for key in LENGTH_KEYS.values()}
    index_dir = None
    if uses_teacher_index(args.model):
        index_dir = ROOT / "results" / "index" / "teacher"
        if not (index_dir / "meta.json").is_file():
            start = time.perf_counter()
            run_index_teacher(
                config["models"]["teacher"],
                index_dir,
                data_dir=files.root,
                index_spec=ev.get("index", "Flat"),
                lengths=lengths,
                batch_size=result["batch_size"],
                bf16=result["bf16"],
            )
            result["teacher_index_s"] = round(time.perf_counter() - start, 1)

    start, cpu_start = time.perf_counter(), cpu_seconds()
    profile = model_profile(args.model, config["models"], ROOT / "results" / "train")
    encoder = CachedEncoder(Encoder(profile, batch_size=result["batch_size"], bf16=result["bf16"]))
    result["load_s"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    metrics = evaluate_model(
        args.model,
        encoder,
        files,
        Path(args.out) / "evaluate" / args.model,
        tasks=ev["tasks"],
        langs=langs,
        teacher_index=TeacherIndex.load(index_dir) if index_dir else None,
        index_spec=ev.get("index", "Flat"),
        top_k=ev.get("top_k", 100),
        lareqa_candidate_text=ev["lareqa_candidate_text"],
        lengths=resolve_lengths(lengths, length_spec(args.model, config["models"]), args.model),
    )
    result["evaluate_s"] = round(time.perf_counter() - start, 1)
    result["encode_s"] = round(encoder.seconds, 1)
    result["texts_encoded"] = encoder.n_encoded
    result["wall_s"] = round(result["load_s"] + result["evaluate_s"], 1)
    result["cpu_s"] = round(cpu_seconds() - cpu_start, 1)
    result["load_average_1m"] = round(os.getloadavg()[0], 2)
    result["peak_rss_mb"] = round(peak_rss_mb(), 0)
    main_rows = metrics[metrics["measure"] == metrics["task"].map(MAIN_MEASURE)]
    result["main_metric_mean"] = {
        f"{task} {MAIN_MEASURE[task]}": round(float(g["value"].mean()), 4)
        for task, g in main_rows.groupby("task", sort=False)
    }
    write_json(Path(args.out) / f"evaluate_{args.model}.json", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
