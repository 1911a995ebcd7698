"""On-disk formats shared by the tokenize, teacher-cache and training stages.

Token arrays (``results/tokens/{split}/{side}.npz``): ``ids`` int32 (flat),
``offsets`` int64 (n+1), ``content`` bool (flat; False for special and prefix
tokens), ``truncated`` bool (n).

Teacher cache (``results/teacher_cache/{split}/``): ``pooled.f16.npy`` (n, d),
``tokens.f16.npy`` (T, d) content-token embeddings, ``offsets.i64.npy`` (n+1),
and ``meta.json`` recording the spec, the shapes and each array's sha256, so a
truncated or swapped array is detected instead of being read as garbage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .download import sha256_file
from .io import PipelineError, atomic_path, load_npy, rerun_hint, save_npy, write_json

POOLED, TOKENS, OFFSETS, META = "pooled.f16.npy", "tokens.f16.npy", "offsets.i64.npy", "meta.json"


@dataclass
class TokenArrays:
    """Variable-length token sequences stored flat with offsets."""

    ids: np.ndarray
    offsets: np.ndarray
    content: np.ndarray
    truncated: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def seq(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    def content_mask(self, i: int) -> np.ndarray:
        return self.content[self.offsets[i] : self.offsets[i + 1]]

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_lists(
        cls,
        seqs: Sequence[Sequence[int]],
        contents: Sequence[Sequence[bool]],
        truncated: Sequence[bool],
    ) -> TokenArrays:
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = [x for s in seqs for x in s]
        flat_c = [bool(x) for c in contents for x in c]
        return cls(
            ids=np.asarray(flat, dtype=np.int32),
            offsets=offsets,
            content=np.asarray(flat_c, dtype=bool),
            truncated=np.asarray(truncated, dtype=bool),
        )

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    ids=self.ids,
                    offsets=self.offsets,
                    content=self.content,
                    truncated=self.truncated,
                )

    @classmethod
    def load(cls, path: str | Path) -> TokenArrays:
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = cls(z["ids"], z["offsets"], z["content"], z["truncated"])
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise PipelineError(f"{path}: corrupted or truncated token file ({exc})") from exc
        n_tok = int(arrays.offsets[-1]) if len(arrays.offsets) else -1
        if (
            n_tok != len(arrays.ids)
            or n_tok != len(arrays.content)
            or len(arrays.truncated) != len(arrays)
        ):
            raise PipelineError(
                f"{path}: inconsistent token arrays (offsets end {n_tok}, "
                f"{len(arrays.ids)} ids, {len(arrays.content)} mask entries)"
            )
        return arrays


def write_teacher_cache(
    directory: str | Path, pooled: np.ndarray, tokens: Sequence[np.ndarray], meta: dict
) -> None:
    """Write the teacher cache atomically as one directory (fp16 arrays + meta.json)."""
    pooled = np.asarray(pooled, dtype=np.float16)
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = (
        np.concatenate(tokens).astype(np.float16)
        if len(tokens)
        else np.zeros((0, pooled.shape[1]), np.float16)
    )
    if len(pooled) != len(tokens):
        raise PipelineError(
            f"teacher cache: {len(pooled)} pooled rows but {len(tokens)} token rows"
        )
    with atomic_path(directory, is_dir=True) as tmp:
        save_npy(tmp / POOLED, pooled)
        save_npy(tmp / TOKENS, flat)
        save_npy(tmp / OFFSETS, offsets)
        info = dict(meta)
        info.update(
            n=int(len(pooled)),
            dim=int(pooled.shape[1]),
            n_tokens=int(len(flat)),
            sha256={name: sha256_file(tmp / name) for name in (POOLED, TOKENS, OFFSETS)},
        )
        write_json(tmp / META, info)


class TeacherCache:
    """Memory-mapped reader of a teacher cache; validates shapes and sha256 of every array.

    The sha256 recorded in ``meta.json`` is checked on every open (about 0.1 s per 100 MB on
    one core), so a changed byte anywhere is an error, never trained on.
    """

    def __init__(self, directory: str | Path, *, verify_hashes: bool = True) -> None:
        import json

        self.directory = Path(directory)
        meta_file = self.directory / META
        if not meta_file.is_file():
            raise PipelineError(f"{meta_file}: teacher cache metadata missing")
        self.meta = json.loads(meta_file.read_text())
        n, d, t = self.meta["n"], self.meta["dim"], self.meta["n_tokens"]
        self._pooled = load_npy(self.directory / POOLED, shape=(n, d), dtype=np.float16)
        self._tokens = load_npy(self.directory / TOKENS, shape=(t, d), dtype=np.float16)
        self._offsets = load_npy(self.directory / OFFSETS, shape=(n + 1,), dtype=np.int64)
        if verify_hashes:
            for name, digest in self.meta["sha256"].items():
                file = self.directory / name
                if sha256_file(file) != digest:
                    raise PipelineError(
                        f"{file}: sha256 differs from {meta_file}, the teacher cache "
                        f"({self.meta.get('spec', 'teacher')}) is corrupt; "
                        f"{rerun_hint(self.directory)}"
                    )
        self.n, self.dim = n, d

    def __len__(self) -> int:
        return self.n

    def pooled(self, idx: Sequence[int]) -> torch.Tensor:
        """``(B, d)`` float32 pooled, L2-normalised teacher embeddings."""
        return torch.from_numpy(np.asarray(self._pooled[np.asarray(idx)], dtype=np.float32))

    def tokens(self, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded ``(B, m, d)`` float32 content-token embeddings and ``(B, m)`` bool mask."""
        spans = [(int(self._offsets[i]), int(self._offsets[i + 1])) for i in idx]
        width = max(1, max(b - a for a, b in spans))
        out = torch.zeros((len(spans), width, self.dim), dtype=torch.float32)
        mask = torch.zeros((len(spans), width), dtype=torch.bool)
        for row, (a, b) in enumerate(spans):
            out[row, : b - a] = torch.from_numpy(np.asarray(self._tokens[a:b], dtype=np.float32))
            mask[row, : b - a] = True
        return out, mask
