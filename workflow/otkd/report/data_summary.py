"""Summary of the data stage: ``results/data/summary.json``.

Per language: XQuAD questions and paragraphs, LAReQA questions and candidates, and the
bitext counts of each cleaning step (raw per source, after each filter, removed as XQuAD
overlap, final train and dev sizes), read back from the files the stage wrote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..bitext import read_pairs
from ..io import PipelineError, read_jsonl, write_json
from ..languages import ENGLISH
from ..xquad import read_tsv


def bitext_counts(stats: pd.DataFrame, lang: str, split: str) -> dict[str, int]:
    """``raw_{source}``, ``raw``, ``after_{step}``, ``xquad_overlap_removed`` and ``final``."""
    rows = stats[(stats["lang"] == lang) & (stats["split"] == split)]
    if rows.empty:
        raise PipelineError(f"bitext stats: no rows for language {lang!r}, split {split!r}")
    out: dict[str, int] = {}
    for row in rows.itertuples(index=False):
        step, kept = str(row.step), int(row.kept)
        if step.startswith("raw:"):
            out[f"raw_{step[4:]}"] = kept
        elif step == "raw":
            out["raw"] = kept
        elif step == "budget":
            out["final"] = kept
        else:
            out[f"after_{step}"] = kept
            if step == "xquad_overlap":
                out["xquad_overlap_removed"] = int(row.removed)
    return out


def build_summary(
    xquad_dir: str | Path,
    stats_path: str | Path,
    train_path: str | Path,
    dev_path: str | Path,
    langs: Iterable[str],
) -> dict:
    """Collect the per-language counts of the data stage; fail if files disagree."""
    xquad_dir = Path(xquad_dir)
    langs = list(langs)
    stats = read_tsv(stats_path)
    for col in ("before", "removed", "kept"):
        stats[col] = stats[col].astype(int)
    split_sizes = {
        split: read_pairs(path)["lang"].value_counts().to_dict()
        for split, path in (("train", train_path), ("dev", dev_path))
    }
    candidates = read_jsonl(xquad_dir / "lareqa" / "candidates.jsonl")
    per_lang_candidates = Counter(c["lang"] for c in candidates)
    lareqa_questions = {
        path.stem: len(read_tsv(path))
        for path in sorted((xquad_dir / "lareqa" / "questions").glob("*.tsv"))
    }
    per_language = {}
    for lang in [ENGLISH, *langs]:
        entry = {
            "xquad_questions": len(read_tsv(xquad_dir / "questions" / f"{lang}.tsv")),
            "xquad_paragraphs": len(read_jsonl(xquad_dir / "paragraphs" / f"{lang}.jsonl")),
            "lareqa_candidates": per_lang_candidates.get(lang, 0),
        }
        entry["lareqa_questions"] = lareqa_questions.get(lang, 0)
        if lang != ENGLISH:
            entry["bitext"] = {}
            for split in ("train", "dev"):
                counts = bitext_counts(stats, lang, split)
                written = split_sizes[split].get(lang, 0)
                if counts.get("final") != written:
                    raise PipelineError(
                        f"{stats_path}: {lang} {split} final count {counts.get('final')} "
                        f"but {written} rows in the {split} file"
                    )
                entry["bitext"][split] = counts
        per_language[lang] = entry
    return {
        "languages": langs,
        "per_language": per_language,
        "lareqa": {
            "candidates": len(candidates),
            "candidates_per_language": dict(sorted(per_lang_candidates.items())),
            "questions": sum(lareqa_questions.values()),
            "questions_per_language": lareqa_questions,
        },
        "bitext_total": {split: int(sum(sizes.values())) for split, sizes in split_sizes.items()},
    }


def write_summary(out: str | Path, **kwargs) -> dict:
    """Build the summary (see :func:`build_summary` for the arguments) and write it as JSON."""
    summary = build_summary(**kwargs)
    write_json(out, summary)
    return summary
