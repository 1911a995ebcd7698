"""Snakemake script of rule data_summary: per-language counts of the data stage."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.io import setup_logging  # noqa: E402
from otkd.summary import write_summary  # noqa: E402

setup_logging(snakemake.log[0])
write_summary(
    snakemake.output[0],
    xquad_dir=snakemake.params.xquad_dir,
    stats_path=snakemake.input.stats,
    train_path=snakemake.input.train,
    dev_path=snakemake.input.dev,
    langs=snakemake.params.langs,
)
