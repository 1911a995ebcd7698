"""Benchmark of the teacher cache path against a naive encoding loop (prints its figures).

Sentences: the English side of the default bitext (``results/data/bitext/train.tsv``)
when the data stage has run, else an equivalent sample read from the offline mirror
(per configured language, ``budget_per_language`` English sentences drawn with the
config seed from the Tatoeba and NTREX English files).

Compared in the same run, over the same sentences, with the same teacher and threads:

- naive: unsorted batches in input order, padded to the longest, fp32,
  ``model(**batch)`` under ``torch.no_grad``, then mean pooling (tokenizing each batch);
- cache: the pipeline's path (``otkd.tokenize.tokenize_texts`` once, then
  ``otkd.teacher_cache.encode_token_arrays``: length buckets, bf16 autocast, pooled and
  content-token embeddings, and ``write_teacher_cache`` to disk);
- cache fp32: the same path without bf16, to separate bucketing from bf16.

The machine is shared, so the three methods alternate over rounds of ``--chunk``
sentences (bucketing happens within a round) and wall and CPU seconds are summed.

Figures: sentences/s of each, speed-up over naive, cosine of bf16 pooled vs fp32 pooled
(mean, min), cache size on disk, peak resident memory (``resource.getrusage``).

Usage: ``.venv/bin/python benchmarks/teacher_cache.py [--limit N] [--threads 2]``
(the full 11k sentences take about 15 minutes on the shared 2-core machine).

``--smoke``: a seconds-long run that only checks the script works (24 sentences in rounds
of 8, always from the mirror sample); with a tiny config, e.g. ``--config`` a copy of
tests/configs/tiny/config.yaml with tiny models (tests/workflow/test_benchmarks.py does this).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from otkd.caches import write_teacher_cache
from otkd.download import local_name
from otkd.encode import Encoder, pool
from otkd.languages import source_urls
from otkd.models import ModelProfile, load_model
from otkd.teacher_cache import encode_token_arrays
from otkd.tokenize import read_bitext, tokenize_texts

ROOT = Path(__file__).resolve().parent.parent


def mirror_sentences(config: dict) -> tuple[list[str], str]:
    """English sentences like the default bitext's, from the offline mirror."""
    rng = np.random.default_rng(config["seed"])
    budget = config["bitext"]["budget_per_language"]
    roots = [(ROOT / m).resolve() for m in config.get("mirrors", [])]
    out = []
    for lang in config["languages"]:
        pool_ = []
        for source in config["bitext"]["train_sources"]:
            rel = local_name(source_urls(source, lang)[0])
            path = next((r / rel for r in roots if (r / rel).is_file()), None)
            if path is None:
                raise SystemExit(f"{rel} not found in mirrors {roots}")
            pool_ += [s.strip() for s in path.read_text(encoding="utf-8").splitlines()]
        pool_ = sorted({s for s in pool_ if len(s) >= config["bitext"]["min_chars"]})
        pick = rng.choice(len(pool_), size=min(budget, len(pool_)), replace=False)
        out += [pool_[i] for i in pick]
    return out, "mirror sample (Tatoeba + NTREX English, budget per language)"


def naive_loop(model, tokenizer, texts, batch_size, max_length) -> np.ndarray:
    """Unsorted batches padded to the longest, fp32, model(**batch), mean pooling."""
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[i : i + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            out.append(torch.nn.functional.normalize(pool(hidden, batch["attention_mask"]), dim=-1))
    return torch.cat(out).numpy()


def cache_path(model, tokenizer, profile, texts, batch_size, bf16, out_dir) -> tuple:
    """The pipeline's path: tokenize once, bucketed encode, write the fp16 cache."""
    arrays = tokenize_texts(tokenizer, texts, profile.query_prefix, profile.max_length)
    enc = Encoder(
        profile,
        model=model,
        tokenizer=tokenizer,
        batch_size=batch_size,
        bf16=bf16,
        device="cpu",
        show_progress=False,
    )
    pooled, tokens = encode_token_arrays(enc, arrays)
    write_teacher_cache(out_dir, pooled, tokens, {"spec": profile.spec, "bf16": bf16})
    return pooled, tokens, arrays


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--limit", type=int, default=0, help="use N evenly spaced sentences")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--chunk", type=int, default=640, help="sentences per round (methods alternate)"
    )
    parser.add_argument("--smoke", action="store_true", help="seconds-long check that it runs")
    args = parser.parse_args()
    if args.smoke:
        args.limit, args.chunk = 24, 8
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(Path(args.config).read_text())
    bitext = ROOT / "results/data/bitext/train.tsv"
    if bitext.is_file() and not args.smoke:
        texts, origin = read_bitext(bitext)["en"].tolist(), str(bitext)
    else:
        texts, origin = mirror_sentences(config)
    if args.limit and args.limit < len(texts):  # evenly spaced: keeps the language mix
        texts = [texts[i] for i in np.linspace(0, len(texts) - 1, args.limit).astype(int)]
    profile = ModelProfile.from_config(config["models"]["teacher"])
    batch_size = config["encode"]["batch_size"]
    model, tokenizer = load_model(profile.spec)
    print(f"sentences: {len(texts)} from {origin}")
    print(f"teacher: {profile.spec}; batch {batch_size}; max_length {profile.max_length}")
    print(f"torch threads: {torch.get_num_threads()}; load average {os.getloadavg()}")

    # warm-up (first-call allocations) on a few sentences, not timed
    naive_loop(model, tokenizer, texts[:batch_size], batch_size, profile.max_length)

    # The machine is shared: the methods alternate over rounds of `chunk` sentences (order
    # rotated each round), so a change of background load hits all of them alike.
    # Wall and CPU (process) seconds are summed per method.
    methods = ["naive", "cache_fp32", "cache_bf16"]
    wall = dict.fromkeys(methods, 0.0)
    cpu = dict.fromkeys(methods, 0.0)
    out = {m: [] for m in methods}
    per_round = {m: [] for m in methods}  # wall seconds of each round
    tokens_bf16, n_content, truncated, lengths = [], 0, 0, []
    rounds = range(0, len(texts), args.chunk)
    with tempfile.TemporaryDirectory() as tmp:
        for r, a in enumerate(rounds):
            chunk = texts[a : a + args.chunk]
            for m in methods[r % 3 :] + methods[: r % 3]:
                t, c = time.perf_counter(), time.process_time()
                if m == "naive":
                    out[m].append(
                        naive_loop(model, tokenizer, chunk, batch_size, profile.max_length)
                    )
                else:
                    bf16 = m == "cache_bf16"
                    pooled, tokens, arrays = cache_path(
                        model, tokenizer, profile, chunk, batch_size, bf16, Path(tmp) / m
                    )
                    out[m].append(pooled)
                    if bf16:
                        tokens_bf16 += tokens
                        truncated += int(arrays.truncated.sum())
                        n_content += int(arrays.content.sum())
                        lengths += arrays.lengths().tolist()
                per_round[m].append(time.perf_counter() - t)
                wall[m] += per_round[m][-1]
                cpu[m] += time.process_time() - c
            print(f"round {r + 1}/{len(rounds)}: " + ", ".join(
                f"{m} {wall[m]:.1f} s" for m in methods), flush=True)  # fmt: skip
        pooled = {m: np.concatenate(v) for m, v in out.items()}
        full = Path(tmp) / "full"
        write_teacher_cache(full, pooled["cache_bf16"], tokens_bf16, {"spec": profile.spec})
        size = dir_size(full)

    naive = pooled["naive"]
    cos_bf16 = (pooled["cache_bf16"] * naive).sum(1)
    cos_fp32 = (pooled["cache_fp32"] * naive).sum(1)
    lengths = np.asarray(lengths)
    padded = sum(
        max(lengths[i : i + batch_size]) * len(lengths[i : i + batch_size])
        for i in range(0, len(lengths), batch_size)
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = len(texts)
    print(f"token lengths: mean {lengths.mean():.1f}, max {lengths.max()}, "
          f"truncated {truncated}; naive padding overhead "
          f"{padded / lengths.sum():.2f}x real tokens")  # fmt: skip
    for m in methods:
        print(f"{m:<11}: wall {wall[m]:7.1f} s {n / wall[m]:7.1f} sentences/s "
              f"({wall['naive'] / wall[m]:.2f}x naive) | cpu {cpu[m]:7.1f} s "
              f"({cpu['naive'] / cpu[m]:.2f}x naive)")  # fmt: skip
    for m in methods[1:]:
        ratios = np.array(per_round["naive"]) / np.array(per_round[m])
        print(f"{m:<11}: per-round speed-up over naive: median {np.median(ratios):.2f}x, "
              f"range {ratios.min():.2f}-{ratios.max():.2f}x")  # fmt: skip
    print("target: cache_bf16 >= 1.5x naive")
    print(f"cosine bf16 vs fp32 pooled: mean {cos_bf16.mean():.6f}, min {cos_bf16.min():.6f} "
          f"(target mean >= 0.999)")  # fmt: skip
    print(f"cosine cache fp32 vs naive: mean {cos_fp32.mean():.6f}, min {cos_fp32.min():.6f}")
    print(f"cache size on disk (bf16, all sentences): {size / 2**20:.1f} MiB "
          f"({n_content} content tokens x {naive.shape[1]} dims, fp16)")  # fmt: skip
    print(f"peak resident memory: {peak_mb:.0f} MiB; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
