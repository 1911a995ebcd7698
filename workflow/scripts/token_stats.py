"""Snakemake script of rule token_stats: length statistics and truncation counts."""

from pathlib import Path

from otkd.io import setup_logging
from otkd.tokenize import token_stats

setup_logging(snakemake.log[0])
splits = snakemake.params.splits
token_stats(
    dict(zip(splits, snakemake.input.bitext, strict=True)),
    {split: Path(snakemake.output[0]).parent / split for split in splits},
    snakemake.output[0],
    sides=snakemake.params.sides,
)
