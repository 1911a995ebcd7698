"""The files of a bitext split that training reads, loaded and cross-checked.

A split is its bitext TSV, three token files and the teacher cache (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..caches import OFFSETS, TeacherCache, TokenArrays
from ..io import PipelineError, load_npy

SIDES = ("student_xx", "student_en", "teacher_en")


@dataclass
class SplitPaths:
    """The files of one bitext split that training reads."""

    bitext: Path
    student_xx: Path
    student_en: Path
    teacher_en: Path
    teacher_cache: Path

    @classmethod
    def from_input(cls, named, split: str) -> SplitPaths:
        """From Snakemake's named input ``{split}_{field}`` (``split_inputs`` in common.smk)."""
        return cls(**{f: Path(getattr(named, f"{split}_{f}")) for f in cls.__dataclass_fields__})

    @classmethod
    def of(cls, split: str, results: str | Path = "results") -> SplitPaths:
        """The standard locations under ``results/`` (see docs/ARCHITECTURE.md)."""
        r = Path(results)
        tokens = r / "tokens" / split
        return cls(
            bitext=r / "data" / "bitext" / f"{split}.tsv",
            student_xx=tokens / "student_xx.npz",
            student_en=tokens / "student_en.npz",
            teacher_en=tokens / "teacher_en.npz",
            teacher_cache=r / "teacher_cache" / split,
        )


@dataclass
class SplitData:
    """One split, loaded and cross-checked: languages, token arrays, teacher cache."""

    langs: np.ndarray
    student_xx: TokenArrays
    student_en: TokenArrays
    teacher_en: TokenArrays
    cache: TeacherCache

    def __len__(self) -> int:
        return len(self.langs)


def load_split(paths: SplitPaths) -> SplitData:
    """Load one split; row counts and teacher token spans must agree across the files."""
    try:
        langs = pd.read_csv(
            paths.bitext,
            sep="\t",
            usecols=["lang"],
            dtype=str,
            keep_default_na=False,
            quoting=csv.QUOTE_NONE,  # bitext texts are unquoted (docs/ARCHITECTURE.md)
        )["lang"].to_numpy()
    except (ValueError, OSError) as exc:
        raise PipelineError(f"{paths.bitext}: cannot read the 'lang' column ({exc})") from exc
    arrays = {side: TokenArrays.load(getattr(paths, side)) for side in SIDES}
    cache = TeacherCache(paths.teacher_cache)
    counts = {str(paths.bitext): len(langs), str(paths.teacher_cache): len(cache)}
    counts.update({str(getattr(paths, s)): len(a) for s, a in arrays.items()})
    if len(set(counts.values())) != 1:
        detail = ", ".join(f"{k}: {v}" for k, v in counts.items())
        raise PipelineError(f"row counts of one split differ ({detail})")
    teacher_en = arrays["teacher_en"]
    cum = np.concatenate([[0], np.cumsum(teacher_en.content, dtype=np.int64)])
    per_row = cum[teacher_en.offsets[1:]] - cum[teacher_en.offsets[:-1]]
    spans = np.diff(load_npy(Path(paths.teacher_cache) / OFFSETS))
    bad = np.flatnonzero(per_row != spans)
    if len(bad):
        raise PipelineError(
            f"{paths.teacher_cache}: sentence {int(bad[0])} has {int(spans[bad[0]])} cached "
            f"teacher tokens but {int(per_row[bad[0]])} content tokens in {paths.teacher_en}"
        )
    return SplitData(langs, arrays["student_xx"], arrays["student_en"], arrays["teacher_en"], cache)


def budget_rows(langs: Sequence[str], n: int | None) -> np.ndarray:
    """Row indices (file order) of the first ``n`` rows of every language; all rows for None.

    The bitext rows of a language are in sampled order and a smaller budget is a prefix of
    the same permutation (otkd.bitext), so this is the sample of budget ``n``.
    """
    langs = np.asarray(langs)
    if n is None:
        return np.arange(len(langs))
    if int(n) < 1:
        raise PipelineError(f"pairs_per_language must be at least 1, got {n}")
    keep = np.zeros(len(langs), dtype=bool)
    for lang in dict.fromkeys(langs.tolist()):
        keep[np.flatnonzero(langs == lang)[: int(n)]] = True
    return np.flatnonzero(keep)


def content_ids(arrays: TokenArrays, i: int) -> np.ndarray:
    """The content-token ids of sentence ``i``."""
    return arrays.seq(i)[arrays.content_mask(i)]
