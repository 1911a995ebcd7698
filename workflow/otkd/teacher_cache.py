"""Teacher cache stage: the frozen teacher run ONCE over the English side of the bitext.

Input: ``results/tokens/{split}/teacher_en.npz`` (teacher tokenizer, see
:mod:`otkd.tokenize`). Output: the directory ``results/teacher_cache/{split}/`` written by
:func:`otkd.caches.write_teacher_cache`: pooled embeddings (pooling from the teacher
profile, L2-normalised) and the embeddings of content tokens only (special and padding
tokens dropped, rows L2-normalised), fp16, memory-mappable, with offsets; ``meta.json``
records the spec and how the cache was made. Training reads only this cache
(:class:`TeacherCache`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .caches import TeacherCache, TokenArrays, write_teacher_cache
from .download import sha256_file
from .encode import Encoder, length_buckets, pool
from .io import PipelineError
from .models import ModelProfile

__all__ = ["TeacherCache", "build_teacher_cache", "encode_token_arrays"]

log = logging.getLogger(__name__)


def encode_token_arrays(
    encoder: Encoder, arrays: TokenArrays, *, desc: str = "teacher"
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run ``encoder`` once over pre-tokenized sequences, in length buckets.

    Returns pooled, L2-normalised float32 embeddings ``(n, d)`` in input order, and per
    sequence the L2-normalised float16 embeddings of its content tokens ``(m_i, d)``.
    """
    n = len(arrays)
    vocab = encoder.model.get_input_embeddings().num_embeddings
    if len(arrays.ids) and int(arrays.ids.max()) >= vocab:
        raise PipelineError(
            f"token id {int(arrays.ids.max())} >= the model's vocabulary size {vocab}: "
            f"the tokens were not made with this model's tokenizer"
        )
    pooled = np.zeros((n, encoder.dim), dtype=np.float32)
    tokens: list[np.ndarray | None] = [None] * n
    buckets = length_buckets(arrays.lengths(), encoder.batch_size)
    for idx in tqdm(buckets, desc=desc, disable=not encoder.show_progress, mininterval=5):
        hidden, mask = encoder.forward_ids([arrays.seq(i) for i in idx])
        vec = torch.nn.functional.normalize(pool(hidden, mask, encoder.profile.pooling), dim=-1)
        pooled[idx] = vec.cpu().numpy()
        unit = torch.nn.functional.normalize(hidden, dim=-1).to(torch.float16).cpu().numpy()
        for row, i in enumerate(idx):
            keep = arrays.content_mask(i)
            tokens[i] = unit[row, : len(keep)][keep]
    return pooled, tokens


def build_teacher_cache(
    tokens_path: str | Path,
    out_dir: str | Path,
    profile: ModelProfile,
    *,
    batch_size: int = 64,
    bf16: bool = False,
    device: str | None = None,
    show_progress: bool = True,
) -> dict:
    """Encode ``teacher_en.npz`` with the frozen teacher and write the cache directory.

    Returns the metadata written to ``meta.json``.
    """
    arrays = TokenArrays.load(tokens_path)
    encoder = Encoder(
        profile, batch_size=batch_size, bf16=bf16, device=device, show_progress=show_progress
    )
    for p in encoder.model.parameters():
        p.requires_grad_(False)
    start = time.perf_counter()
    pooled, tokens = encode_token_arrays(encoder, arrays, desc=f"teacher {Path(out_dir).name}")
    seconds = time.perf_counter() - start
    meta = {
        "spec": profile.spec,
        "profile": profile.to_dict(),
        "prefix": profile.query_prefix,
        "bf16": bool(bf16),
        "batch_size": batch_size,
        "device": str(encoder.device),
        "torch_threads": torch.get_num_threads(),
        "tokens_file": str(tokens_path),
        "tokens_sha256": sha256_file(tokens_path),
        "n_truncated": int(arrays.truncated.sum()),
        "encode_seconds": round(seconds, 3),
        "sentences_per_s": round(len(arrays) / seconds, 2) if seconds > 0 else None,
    }
    write_teacher_cache(out_dir, pooled, tokens, meta)
    log.info(
        "%s: %d sentences, %d content tokens, %.1f s (%.1f sentences/s)",
        out_dir,
        len(arrays),
        sum(len(t) for t in tokens),
        seconds,
        len(arrays) / max(seconds, 1e-9),
    )
    return TeacherCache(out_dir).meta
