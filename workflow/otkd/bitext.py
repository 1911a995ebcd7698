"""Bitext stage: reading, cleaning, XQuAD-overlap removal, seeded budget sampling, stats.

Per target language, the training pairs are the concatenation of the configured train
sources (default Tatoeba Challenge v2021-08-07 test sets and NTREX-128) and the dev pairs
come from the dev source (default FLORES-200 devtest). Steps, in order, each counted in
``stats.tsv`` (columns ``lang split step before removed kept``):

1. ``raw:{source}`` / ``raw``: line pairs read; both sides of a source must have the same
   number of lines, else PipelineError naming both files and both counts.
2. ``empty``: texts normalised (Unicode NFC, whitespace control characters such as TAB
   replaced by a space, stripped); pairs with an empty side dropped.
3. ``length``: pairs with a side shorter than ``bitext.min_chars`` or longer than
   ``bitext.max_chars`` characters dropped.
4. ``ratio``: length-ratio outliers dropped. Choice: the ratio ``len(xx) / len(en)`` is
   divided by its median over the language's pairs, and a pair is dropped when the result
   is above ``bitext.max_length_ratio`` or below its inverse. A fixed character ratio
   would drop most Chinese pairs (median ratio 0.31 on Tatoeba, NTREX and FLORES alike);
   relative to the median it drops only real outliers in every script.
5. ``duplicate``: repeated pairs dropped (first kept), compared by :func:`match_key`.
6. ``xquad_overlap``: every pair whose English or foreign side matches, by
   :func:`match_key` (NFC, casefold, whitespace collapsed, BOM removed), any question,
   whole context or context sentence of any XQuAD file (12 languages) or XQuAD-R file
   (both its ``sentence_breaks`` slices and its ``sentences``) is removed: XQuAD is the
   test set.
7. ``dev_overlap`` (train only): pairs whose English or foreign side matches a side of a
   sampled dev pair are removed.
8. ``budget``: a seeded sample of ``bitext.budget_per_language`` train pairs
   (``bitext.dev_per_language`` dev pairs). The generator is seeded from ``config.seed``,
   the language and the split through sha256 (:func:`stable_seed`), never Python's
   ``hash()``, so the sample is the same in every process; the rows keep the sampled
   order, and a smaller budget takes a prefix of the same permutation (nested samples
   for a learning curve).
"""

from __future__ import annotations

import hashlib
import logging
import re
import statistics
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .io import PipelineError
from .xquad import read_tsv, write_tsv, xquad_texts

log = logging.getLogger(__name__)

_CONTROL_WS = re.compile(r"[\t\r\n\x0b\x0c\x85\u2028\u2029]+")
Pair = tuple[str, str]
COLUMNS = ["lang", "en", "xx"]
STAT_COLUMNS = ["lang", "split", "step", "before", "removed", "kept"]


@dataclass(frozen=True)
class Source:
    """One parallel source of a language: its name and its English and foreign files."""

    name: str
    en: str | Path
    xx: str | Path


@dataclass(frozen=True)
class CleanParams:
    """Cleaning thresholds (config ``bitext.min_chars``, ``max_chars``, ``max_length_ratio``)."""

    min_chars: int = 3
    max_chars: int = 300
    max_length_ratio: float = 3.0

    def __post_init__(self):
        if self.min_chars > self.max_chars:
            raise PipelineError(
                f"config key 'bitext.min_chars': {self.min_chars} exceeds "
                f"'bitext.max_chars' {self.max_chars}"
            )


def as_source(spec: Source | Sequence) -> Source:
    """A Source from a Source or a ``(name, en_path, xx_path)`` sequence."""
    return spec if isinstance(spec, Source) else Source(*spec)


def normalise(text: str) -> str:
    """Output form of a bitext side: NFC, control whitespace to a space, stripped."""
    return _CONTROL_WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def match_key(text: str) -> str:
    """Comparison form: NFC, casefold, BOM removed, whitespace runs collapsed to one space."""
    text = unicodedata.normalize("NFC", text).replace("\ufeff", "").casefold()
    return " ".join(text.split())


def read_lines(path: str | Path) -> list[str]:
    """Lines of a UTF-8 text file (a leading BOM and a final newline are not lines).

    Splits on ``\\n`` only (a ``\\r`` before it is dropped), so a stray carriage return
    or Unicode line separator inside a sentence cannot shift the pairs.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path}: cannot read bitext file ({exc})") from exc
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_parallel(en_path: str | Path, xx_path: str | Path) -> list[Pair]:
    """(English, foreign) line pairs; fails naming both files when line counts differ."""
    en, xx = read_lines(en_path), read_lines(xx_path)
    if len(en) != len(xx):
        raise PipelineError(
            f"bitext sides differ in length: {en_path} has {len(en)} lines, "
            f"{xx_path} has {len(xx)} lines"
        )
    return list(zip(en, xx, strict=True))


class StepLog:
    """Collects (step, before, removed, kept) rows for one language and split."""

    def __init__(self, lang: str, split: str):
        self.lang, self.split, self.rows = lang, split, []

    def add(self, step: str, before: int, kept: int) -> None:
        self.rows.append(
            {
                "lang": self.lang,
                "split": self.split,
                "step": step,
                "before": before,
                "removed": before - kept,
                "kept": kept,
            }
        )

    def apply(self, step: str, pairs: list[Pair], keep: Callable[[Pair], bool]) -> list[Pair]:
        """Keep the pairs for which ``keep`` is true and log the step."""
        kept = [p for p in pairs if keep(p)]
        self.add(step, len(pairs), len(kept))
        return kept


def ratio_filter(pairs: Sequence[Pair], max_ratio: float) -> list[bool]:
    """Per pair: whether its length ratio, relative to the median ratio, is within bounds."""
    if not pairs:
        return []
    ratios = [len(xx) / len(en) for en, xx in pairs]
    median = statistics.median(ratios)
    return [1.0 / max_ratio <= r / median <= max_ratio for r in ratios]


def clean_pairs(pairs: Iterable[Pair], params: CleanParams, steps: StepLog) -> list[Pair]:
    """Normalise, then drop empty, too short/long, ratio outliers and duplicates."""
    pairs = [(normalise(en), normalise(xx)) for en, xx in pairs]
    pairs = steps.apply("empty", pairs, lambda p: bool(p[0]) and bool(p[1]))
    lo, hi = params.min_chars, params.max_chars
    pairs = steps.apply("length", pairs, lambda p: lo <= len(p[0]) <= hi and lo <= len(p[1]) <= hi)
    ok = ratio_filter(pairs, params.max_length_ratio)
    kept = [p for p, good in zip(pairs, ok, strict=True) if good]
    steps.add("ratio", len(pairs), len(kept))
    seen: set[Pair] = set()

    def first(pair: Pair) -> bool:
        key = (match_key(pair[0]), match_key(pair[1]))
        if key in seen:
            return False
        seen.add(key)
        return True

    return steps.apply("duplicate", kept, first)


def remove_overlap(pairs: list[Pair], keys: set[str], step: str, steps: StepLog) -> list[Pair]:
    """Drop pairs whose English or foreign side has its :func:`match_key` in ``keys``."""
    return steps.apply(
        step, pairs, lambda p: match_key(p[0]) not in keys and match_key(p[1]) not in keys
    )


def stable_seed(seed: int, *parts: str) -> int:
    """A 64-bit seed from ``seed`` and strings, via sha256 (same in every process)."""
    digest = hashlib.sha256(":".join([str(seed), *parts]).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def sample_pairs(pairs: Sequence[Pair], n: int, seed: int, lang: str, split: str) -> list[Pair]:
    """A seeded sample of at most ``n`` pairs, in sampled order (prefix-nested in ``n``)."""
    rng = np.random.default_rng(stable_seed(seed, lang, split))
    order = rng.permutation(len(pairs))[:n]
    return [pairs[i] for i in order]


def read_sources(sources: Sequence[Source], steps: StepLog) -> list[Pair]:
    """Concatenate the pairs of ``sources``, logging ``raw:{name}`` and ``raw`` counts."""
    pairs: list[Pair] = []
    for src in sources:
        got = read_parallel(src.en, src.xx)
        steps.add(f"raw:{src.name}", len(got), len(got))
        pairs.extend(got)
    steps.add("raw", len(pairs), len(pairs))
    return pairs


def build_language(
    lang: str,
    train_sources: Sequence[Source],
    dev_source: Source,
    xquad_keys: set[str],
    params: CleanParams,
    *,
    seed: int,
    budget: int,
    dev_budget: int,
    curve_budget: int = 0,
) -> tuple[list[Pair], list[Pair], list[dict], list[Pair]]:
    """(train pairs, dev pairs, stats rows, curve pairs) of one language.

    The curve pairs (learning-curve pool) are the first ``curve_budget`` pairs of the same
    seeded permutation as the train pairs, so the train pairs are a prefix of them whenever
    ``curve_budget >= budget`` (and every smaller budget takes a prefix of both).
    """
    dev_steps = StepLog(lang, "dev")
    dev = clean_pairs(read_sources([dev_source], dev_steps), params, dev_steps)
    dev = remove_overlap(dev, xquad_keys, "xquad_overlap", dev_steps)
    sampled_dev = sample_pairs(dev, dev_budget, seed, lang, "dev")
    dev_steps.add("budget", len(dev), len(sampled_dev))

    train_steps = StepLog(lang, "train")
    train = clean_pairs(read_sources(train_sources, train_steps), params, train_steps)
    train = remove_overlap(train, xquad_keys, "xquad_overlap", train_steps)
    dev_keys = {match_key(side) for pair in sampled_dev for side in pair}
    train = remove_overlap(train, dev_keys, "dev_overlap", train_steps)
    pool = sample_pairs(train, max(budget, curve_budget), seed, lang, "train")
    sampled, curve = pool[:budget], pool[:curve_budget]
    train_steps.add("budget", len(train), len(sampled))
    curve_steps = StepLog(lang, "curve")
    curve_steps.add("budget", len(train), len(curve))
    wanted = [("train", sampled, budget), ("dev", sampled_dev, dev_budget)]
    for split, got, want in [*wanted, ("curve", curve, curve_budget)]:
        if len(got) < want:
            log.warning("%s %s: only %d pairs left for a budget of %d", lang, split, len(got), want)
    rows = train_steps.rows + dev_steps.rows + (curve_steps.rows if curve_budget else [])
    return sampled, sampled_dev, rows, curve


def build_bitext(
    sources: Mapping[str, Mapping],
    xquad_paths: Mapping[str, str | Path],
    xquad_r_paths: Mapping[str, str | Path],
    train_out: str | Path,
    dev_out: str | Path,
    stats_out: str | Path,
    *,
    seed: int,
    budget: int,
    dev_budget: int,
    params: CleanParams,
    curve_out: str | Path | None = None,
    curve_budget: int = 0,
) -> pd.DataFrame:
    """Build ``train.tsv``, ``dev.tsv`` (``lang en xx``) and ``stats.tsv`` for every language.

    With ``curve_out``, also the learning-curve pool ``curve.tsv``: ``curve_budget`` pairs
    per language, of which the train pairs are a prefix (see :func:`build_language`).

    ``sources`` maps a language (in config order) to ``{"train": [Source or (name, en,
    xx), ...], "dev": Source or (name, en, xx)}``. Everything is read and checked before
    any file is written. Returns the stats table.
    """
    xquad_keys = {match_key(t) for t in xquad_texts(xquad_paths, xquad_r_paths)}
    xquad_keys.discard("")
    log.info("XQuAD overlap set: %d normalised texts", len(xquad_keys))
    train_rows, dev_rows, curve_rows, stats = [], [], [], []
    for lang, spec in sources.items():
        train, dev, rows, curve = build_language(
            lang,
            [as_source(s) for s in spec["train"]],
            as_source(spec["dev"]),
            xquad_keys,
            params,
            seed=seed,
            budget=budget,
            dev_budget=dev_budget,
            curve_budget=curve_budget if curve_out is not None else 0,
        )
        train_rows += [(lang, en, xx) for en, xx in train]
        curve_rows += [(lang, en, xx) for en, xx in curve]
        dev_rows += [(lang, en, xx) for en, xx in dev]
        stats += rows
        log.info("%s: %d train pairs, %d dev pairs", lang, len(train), len(dev))
    stats_df = pd.DataFrame(stats, columns=STAT_COLUMNS)
    write_tsv(train_out, pd.DataFrame(train_rows, columns=COLUMNS))
    write_tsv(dev_out, pd.DataFrame(dev_rows, columns=COLUMNS))
    if curve_out is not None:
        write_tsv(curve_out, pd.DataFrame(curve_rows, columns=COLUMNS))
    write_tsv(stats_out, stats_df)
    return stats_df


def read_pairs(path: str | Path) -> pd.DataFrame:
    """Read ``train.tsv``/``dev.tsv`` (columns ``lang en xx``, all text)."""
    df = read_tsv(path)
    if list(df.columns) != COLUMNS:
        raise PipelineError(f"{path}: columns {list(df.columns)}, expected {COLUMNS}")
    return df
