"""Snakemake script of rule plot_figures: the PNG figures of one experiment."""

from pathlib import Path

from otkd.io import setup_logging
from otkd.report.figures import make_figures

setup_logging(snakemake.log[0])
make_figures(
    snakemake.input.table,
    snakemake.input.comparison,
    sorted({Path(log).parent for log in snakemake.input.runs}),
    snakemake.output[0],
    experiment=snakemake.params.experiment,
    dev_metric=snakemake.params.dev_metric,
)
