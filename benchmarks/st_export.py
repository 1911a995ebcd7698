"""Benchmark: a checkpoint exported for sentence-transformers gives the pipeline's vectors.

    .venv/bin/python benchmarks/st_export.py --model results/train/shared/kl/seed1/model [--n 240]
    .venv/bin/python benchmarks/st_export.py --smoke --model DIR  # a tiny BERT, seconds

(``tests/make_tiny_models.py DIR`` writes a tiny random BERT: use ``DIR/student``.)

Exports ``--model`` (a checkpoint directory with ``otkd_model.json``) into a temporary copy
with :func:`otkd.export.write_sentence_transformers`, loads the copy with
``SentenceTransformer`` and compares its vectors with the pipeline's
:class:`otkd.encode.Encoder` (fp32, same profile and max length): XQuAD questions with
``prompt_name="query"`` (role ``query``) and XQuAD paragraphs (longer than the max length, so
truncation is compared too) with ``prompt_name="passage"``, ``--n`` texts each spread over the
languages found under ``--data``; without the data stage a few built-in sentences stand in.
Prints the smallest and mean cosine per role and the encode times; exits 1 when the smallest
cosine is below ``--threshold``. Writes ``benchmarks/out/st_export.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from otkd.encode import Encoder
from otkd.export import cosines, write_sentence_transformers
from otkd.io import write_json
from otkd.models import PROFILE_FILE, PROJECTION_FILE, ModelProfile, read_profile
from otkd.xquad import read_tsv

ROOT = Path(__file__).resolve().parent.parent

FALLBACK = {
    "query": [
        "Who wrote Faust?",
        "Wer hat den Faust geschrieben?",
        "¿Quién escribió Fausto?",
        "Кто написал «Фауста»?",
        "谁写了浮士德？",
        "من كتب فاوست؟",
    ],
    "passage": [
        "Faust is a tragic play in two parts by Johann Wolfgang von Goethe. " * 12,
        "Faust ist eine Tragödie von Johann Wolfgang von Goethe. " * 12,
        "Fausto es una obra de teatro trágica de Johann Wolfgang von Goethe. " * 12,
    ],
}


def xquad_texts(data: Path, n: int) -> dict[str, list[str]] | None:
    """``n`` questions and ``n`` paragraphs spread over the languages found under ``data``."""
    qfiles = sorted((data / "questions").glob("*.tsv"))
    pfiles = sorted((data / "paragraphs").glob("*.jsonl"))
    if not qfiles:
        return None
    per = max(1, n // len(qfiles))
    queries = [t for f in qfiles for t in read_tsv(f)["text"].tolist()[:per]][:n]
    passages = []
    if pfiles:
        per = max(1, n // len(pfiles))
        for f in pfiles:
            rows = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines()]
            passages += [r["text"] for r in rows[:per]]
    return {"query": queries, "passage": passages[:n] or queries}


def smoke_checkpoint(model: Path, root: Path) -> Path:
    """A copy of the tiny BERT ``model`` with a profile and a random map, laid out as training
    writes a checkpoint."""
    from safetensors.torch import save_file

    model_dir = root / "model"
    shutil.copytree(model, model_dir)
    profile = ModelProfile(str(model_dir), "mean", "query: ", "passage: ", max_length=12)
    write_json(model_dir / PROFILE_FILE, {**profile.to_dict(), "arm": "ot", "seed": 1})
    torch.manual_seed(0)
    proj = torch.nn.Linear(32, 24, bias=False)
    save_file({"weight": proj.weight.detach().contiguous()}, str(model_dir / PROJECTION_FILE))
    return model_dir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="checkpoint directory (with otkd_model.json)")
    parser.add_argument("--smoke", action="store_true", help="tiny random model instead")
    parser.add_argument("--data", default=str(ROOT / "results" / "data" / "xquad"))
    parser.add_argument("--n", type=int, default=240, help="texts per role")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threshold", type=float, default=0.99999)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "st_export.json"))
    args = parser.parse_args()
    if not args.model:
        parser.error("--model DIR is required (with --smoke: a tiny BERT directory)")
    torch.set_num_threads(args.threads)
    from sentence_transformers import SentenceTransformer

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.smoke:
            model_dir = smoke_checkpoint(Path(args.model), tmp / "ckpt")
            words = "the man woman dog cat is eating food bread piece of house city river"
            texts = {"query": [words[: 10 + i] for i in range(20)], "passage": [words * 3] * 4}
            source = "tiny random BERT"
        else:
            model_dir = Path(args.model)
            texts = xquad_texts(Path(args.data), args.n)
            source = f"XQuAD under {args.data}"
            if texts is None:
                texts, source = FALLBACK, "built-in sentences (no XQuAD data found)"
        start = time.perf_counter()
        exported = write_sentence_transformers(model_dir, out_dir=tmp / "st")
        export_s = time.perf_counter() - start
        profile = ModelProfile.from_config(read_profile(model_dir))
        profile.spec = str(model_dir)
        encoder = Encoder(
            profile, batch_size=args.batch_size, device=args.device, show_progress=False
        )
        st = SentenceTransformer(str(exported), device=args.device)
        report = {
            "model": str(args.model) + (" (smoke)" if args.smoke else ""),
            "texts": source,
            "max_length": profile.max_length,
            "st_max_seq_length": st.max_seq_length,
            "dim": encoder.dim,
            "export_s": round(export_s, 3),
            "device": args.device,
            "threads": args.threads,
        }
        for role, batch in texts.items():
            t0 = time.perf_counter()
            ours = encoder.encode(batch, role)
            t1 = time.perf_counter()
            theirs = st.encode(batch, prompt_name=role, batch_size=args.batch_size)
            t2 = time.perf_counter()
            cos = cosines(ours, theirs)
            report[role] = {
                "n": len(batch),
                "min_cosine": float(cos.min()),
                "mean_cosine": float(cos.mean()),
                "encoder_s": round(t1 - t0, 3),
                "sentence_transformers_s": round(t2 - t1, 3),
            }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    write_json(args.out, report)
    worst = min(report[role]["min_cosine"] for role in texts)
    if worst < args.threshold:
        print(f"FAIL: min cosine {worst:.8f} < {args.threshold}", file=sys.stderr)
        return 1
    print(f"OK: min cosine {worst:.8f} >= {args.threshold}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
