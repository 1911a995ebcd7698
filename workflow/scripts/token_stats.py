"""Snakemake script of rule token_stats: length statistics and truncation counts."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.io import setup_logging  # noqa: E402
from otkd.tokenize import token_stats  # noqa: E402

setup_logging(snakemake.log[0])
splits = snakemake.params.splits
token_stats(
    dict(zip(splits, snakemake.input.bitext, strict=True)),
    {split: Path(snakemake.output[0]).parent / split for split in splits},
    snakemake.output[0],
)
