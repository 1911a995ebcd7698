"""Snakemake script of rule sweep_table: best dev accuracy of every sweep run."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.io import setup_logging, write_df  # noqa: E402
from otkd.train import summarize_sweep  # noqa: E402

setup_logging(snakemake.log[0])
write_df(snakemake.output[0], summarize_sweep(snakemake.params.runs, list(snakemake.input)))
