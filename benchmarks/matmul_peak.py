"""Benchmark: this CPU's matmul peak, and the pipeline's encoder and training throughput as a
fraction of it (README, "Cost").

    .venv/bin/python benchmarks/matmul_peak.py [--threads 1] [--sizes 1024 2048 4096]
        [--encode-tokens-per-s 3000 --encode-length 228]
        [--train-pairs-per-s 19 --train-tokens-per-pair 64]
    .venv/bin/python benchmarks/matmul_peak.py --smoke      # seconds

Times ``torch.matmul`` of square bf16 and fp32 matrices (best of ``--repeats`` after a warm-up;
on CPUs with AMX or AVX512-BF16, oneDNN runs bf16 on them) and the feed-forward GEMM of
multilingual-e5-small (``tokens x 384 @ 384 x 1536``), and prints GFLOP/s. Given the measured
encoder throughput (real tokens/s of one job, e.g. from ``benchmarks/eval_volume.py``) and
training throughput (pairs/s, from a training log), it prints the model FLOP rate
(``otkd.report.runtime.encoder_flops_per_token``, e5-small: hidden 384, feed-forward 1536, 12
layers) and its share of the measured bf16 peak at the same thread count. Writes
``benchmarks/out/matmul_peak.json``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from otkd.io import write_json
from otkd.report.runtime import encoder_flops_per_token

ROOT = Path(__file__).resolve().parent.parent
E5_SMALL = {"hidden": 384, "intermediate": 1536, "layers": 12}


def gemm_gflops(m: int, k: int, n: int, dtype: torch.dtype, repeats: int) -> float:
    """Best GFLOP/s of ``(m x k) @ (k x n)`` in ``dtype`` over ``repeats`` timed runs."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(m, k, generator=gen).to(dtype)
    b = torch.randn(k, n, generator=gen).to(dtype)
    torch.matmul(a, b)  # warm-up: kernel selection, page faults
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * m * k * n / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--encode-tokens-per-s", type=float, default=None)
    ap.add_argument("--encode-length", type=int, default=228, help="mean tokens per text")
    ap.add_argument("--train-pairs-per-s", type=float, default=None)
    ap.add_argument("--train-tokens-per-pair", type=float, default=64.0)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "matmul_peak.json")
    args = ap.parse_args()
    if args.smoke:
        args.sizes, args.repeats = [64], 1
        args.encode_tokens_per_s = args.encode_tokens_per_s or 100.0
        args.train_pairs_per_s = args.train_pairs_per_s or 1.0
    torch.set_num_threads(args.threads)
    tokens = max(args.sizes)  # rows of the e5-small feed-forward GEMM
    rows = []
    for dtype in (torch.bfloat16, torch.float32):
        for size in args.sizes:
            gf = gemm_gflops(size, size, size, dtype, args.repeats)
            rows.append({"gemm": f"{size}^3", "dtype": str(dtype)[6:], "gflops": gf})
        gf = gemm_gflops(tokens, E5_SMALL["hidden"], E5_SMALL["intermediate"], dtype, args.repeats)
        rows.append({"gemm": f"{tokens}x384x1536", "dtype": str(dtype)[6:], "gflops": gf})
    peak = max(r["gflops"] for r in rows if r["dtype"] == "bfloat16")
    print(f"threads {args.threads} (torch {torch.__version__})")
    for r in rows:
        print(f"  {r['gemm']:>16} {r['dtype']:>8}: {r['gflops']:9.1f} GFLOP/s")
    print(f"bf16 peak (best of the above): {peak:.1f} GFLOP/s")
    shares = {}
    if args.encode_tokens_per_s:
        per_token = encoder_flops_per_token(**E5_SMALL, length=args.encode_length)
        rate = args.encode_tokens_per_s * per_token / 1e9
        shares["encode"] = {"gflops": rate, "share_of_bf16_peak": rate / peak,
                            "flops_per_token": per_token}  # fmt: skip
        print(f"encoder: {args.encode_tokens_per_s:.0f} tokens/s x {per_token / 1e6:.1f} MFLOP"
              f" = {rate:.1f} GFLOP/s, {rate / peak:.1%} of the bf16 peak")  # fmt: skip
    if args.train_pairs_per_s:
        length = args.train_tokens_per_pair / 2  # the two sides of a pair
        per_token = encoder_flops_per_token(**E5_SMALL, length=int(length), training=True)
        rate = args.train_pairs_per_s * args.train_tokens_per_pair * per_token / 1e9
        shares["train"] = {"gflops": rate, "share_of_bf16_peak": rate / peak,
                           "flops_per_token": per_token}  # fmt: skip
        print(f"training: {args.train_pairs_per_s:.1f} pairs/s x {args.train_tokens_per_pair:.0f}"
              f" tokens x {per_token / 1e6:.1f} MFLOP = {rate:.1f} GFLOP/s, "
              f"{rate / peak:.1%} of the bf16 peak")  # fmt: skip
    write_json(args.out, {"threads": args.threads, "gemms": rows, "bf16_peak_gflops": peak,
                          **shares})  # fmt: skip


if __name__ == "__main__":
    main()
