"""Snakemake script of rule data_summary: per-language counts of the data stage."""

from otkd.io import setup_logging
from otkd.report.data_summary import write_summary

setup_logging(snakemake.log[0])
write_summary(
    snakemake.output[0],
    xquad_dir=snakemake.params.xquad_dir,
    stats_path=snakemake.input.stats,
    train_path=snakemake.input.train,
    dev_path=snakemake.input.dev,
    langs=snakemake.params.langs,
)
