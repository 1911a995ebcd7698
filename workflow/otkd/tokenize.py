"""Tokenization stage: the bitext tokenized once per model, with content masks and statistics.

For each split, ``results/data/bitext/{split}.tsv`` (header ``lang	en	xx``) becomes
``results/tokens/{split}/{side}.npz`` (format: :class:`otkd.caches.TokenArrays`):

- ``teacher_en``: English side, teacher tokenizer, teacher ``query_prefix`` (empty for
  the default teacher); in the pipeline one file per teacher,
  ``results/tokens/{split}/teacher_en__{teacher key}.npz`` (:func:`otkd.runs.teacher_key`);
- ``student_en`` and ``student_xx``: English and foreign sides, student tokenizer,
  prefix ``config["models"]["train_prefix"]``.

Texts are stripped and prefixed exactly as :meth:`otkd.encode.Encoder.tokenize` does,
and truncated at each model's ``max_length``. ``content`` is False for special tokens and
for the tokens of the prefix (tokens that end inside ``prefix.rstrip()``).
``results/tokens/stats.tsv`` holds length statistics and truncation counts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .bitext import COLUMNS as BITEXT_COLUMNS
from .bitext import read_pairs
from .caches import TokenArrays
from .io import PipelineError, write_df
from .models import ModelProfile, load_tokenizer

log = logging.getLogger(__name__)

SIDES = ("teacher_en", "student_en", "student_xx")


def read_bitext(path: str | Path) -> pd.DataFrame:
    """Read a bitext split (``otkd.bitext.read_pairs``); an empty cell names file and line."""
    try:
        df = read_pairs(path)
    except (OSError, pd.errors.ParserError) as exc:
        raise PipelineError(f"{path}: cannot read bitext TSV ({exc})") from exc
    for col in BITEXT_COLUMNS:
        empty = np.flatnonzero(df[col].str.strip() == "")
        if len(empty):
            raise PipelineError(f"{path}:{empty[0] + 2}: empty {col!r} cell")
    return df


def tokenize_texts(
    tokenizer, texts: Sequence[str], prefix: str = "", max_length: int = 128
) -> TokenArrays:
    """Tokenize stripped, prefixed texts once; flag truncation at ``max_length``.

    Ids equal ``Encoder.tokenize`` for the same prefix and length. ``content`` is True
    for tokens that are neither special nor part of the prefix.
    """
    if max_length < 3:
        raise PipelineError(f"max_length {max_length} leaves no room for content tokens")
    if not len(texts):
        return TokenArrays.from_lists([], [], [])
    batch = tokenizer(
        [prefix + t.strip() for t in texts],
        add_special_tokens=True,
        truncation=True,
        max_length=max_length,
        padding=False,
        stride=0,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    # overflow rows follow their sample; the first row of each sample is the truncated input
    sample = np.asarray(batch["overflow_to_sample_mapping"])
    first = np.flatnonzero(np.r_[True, sample[1:] != sample[:-1]])
    if len(first) != len(texts) or not np.array_equal(sample[first], np.arange(len(texts))):
        raise PipelineError("tokenizer returned overflow rows out of order")
    truncated = np.bincount(sample, minlength=len(texts)) > 1
    cut = len(prefix.rstrip())
    seqs, contents = [], []
    for row in first:
        ids = batch["input_ids"][row]
        special = batch["special_tokens_mask"][row]
        offsets = batch["offset_mapping"][row]
        seqs.append(ids)
        contents.append([not s and end > cut for s, (_, end) in zip(special, offsets, strict=True)])
    return TokenArrays.from_lists(seqs, contents, truncated)


def tokenize_bitext(
    bitext: str | Path,
    out_dir: str | Path,
    teacher: ModelProfile | None,
    student: ModelProfile | None,
    train_prefix: str,
    *,
    teacher_file: str | Path | None = None,
) -> dict[str, TokenArrays]:
    """Tokenize one bitext split into ``out_dir/{teacher_en,student_en,student_xx}.npz``
    (the teacher side into ``teacher_file`` when given); a side whose model is None is
    skipped (rule ``tokenize_bitext`` writes the student sides, ``tokenize_teacher`` one
    teacher's)."""
    df = read_bitext(bitext)
    jobs = {}
    if teacher is not None:
        tok = load_tokenizer(teacher.spec)
        jobs["teacher_en"] = (tok, df["en"], teacher.query_prefix, teacher.max_length)
    if student is not None:
        tok = load_tokenizer(student.spec)
        jobs["student_en"] = (tok, df["en"], train_prefix, student.max_length)
        jobs["student_xx"] = (tok, df["xx"], train_prefix, student.max_length)
    files = {side: Path(out_dir) / f"{side}.npz" for side in jobs}
    if teacher_file is not None:
        files["teacher_en"] = Path(teacher_file)
    out = {}
    for side, (tok, texts, prefix, max_length) in jobs.items():
        arrays = tokenize_texts(tok, list(texts), prefix, max_length)
        empty = np.flatnonzero(content_counts(arrays) == 0)
        if len(empty):
            raise PipelineError(
                f"{bitext}:{empty[0] + 2}: {side} has no content tokens after tokenization"
            )
        arrays.save(files[side])
        log.info(
            "%s %s: %d sentences, %d tokens, %d truncated at %d",
            bitext,
            side,
            len(arrays),
            len(arrays.ids),
            int(arrays.truncated.sum()),
            max_length,
        )
        out[side] = arrays
    return out


def content_counts(arrays: TokenArrays) -> np.ndarray:
    """Number of content tokens of each sequence."""
    cum = np.concatenate([[0], np.cumsum(arrays.content, dtype=np.int64)])
    return cum[arrays.offsets[1:]] - cum[arrays.offsets[:-1]]


def length_stats(arrays: TokenArrays, langs: Sequence[str]) -> pd.DataFrame:
    """Per language (and ``all``): n, mean, p50, p95 and max length (tokens, specials
    included, after truncation), mean content tokens and the truncated count."""
    if len(langs) != len(arrays):
        raise PipelineError(f"{len(langs)} language labels for {len(arrays)} sequences")
    lengths = arrays.lengths()
    content = content_counts(arrays)
    frame = pd.DataFrame(
        {"lang": list(langs), "length": lengths, "content": content, "trunc": arrays.truncated}
    )
    rows = []
    groups = [(lang, g) for lang, g in frame.groupby("lang", sort=False)] + [("all", frame)]
    for lang, g in groups:
        rows.append(
            {
                "lang": lang,
                "n": len(g),
                "mean": round(float(g["length"].mean()), 2) if len(g) else 0.0,
                "p50": round(float(np.percentile(g["length"], 50)), 2) if len(g) else 0.0,
                "p95": round(float(np.percentile(g["length"], 95)), 2) if len(g) else 0.0,
                "max": int(g["length"].max()) if len(g) else 0,
                "mean_content": round(float(g["content"].mean()), 2) if len(g) else 0.0,
                "truncated": int(g["trunc"].sum()),
            }
        )
    return pd.DataFrame(rows)


def token_stats(
    bitexts: dict[str, str | Path],
    token_dirs: dict[str, str | Path],
    out: str | Path,
    sides: Sequence[str] = SIDES,
) -> pd.DataFrame:
    """Write ``stats.tsv``: one row per split, side and language (plus ``all``); side
    ``{side}`` is read from ``token_dirs[split]/{side}.npz``."""
    frames = []
    for split, bitext in bitexts.items():
        langs = read_bitext(bitext)["lang"].tolist()
        for side in sides:
            arrays = TokenArrays.load(Path(token_dirs[split]) / f"{side}.npz")
            stats = length_stats(arrays, langs)
            stats.insert(0, "side", side)
            stats.insert(0, "split", split)
            frames.append(stats)
    table = pd.concat(frames, ignore_index=True)
    write_df(out, table)
    return table
