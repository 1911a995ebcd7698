"""Snakemake script of rule sweep_table: best dev accuracy of every sweep run."""

from otkd.io import setup_logging, write_df
from otkd.train import summarize_sweep

setup_logging(snakemake.log[0])
write_df(snakemake.output[0], summarize_sweep(snakemake.params.runs, list(snakemake.input)))
