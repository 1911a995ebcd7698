"""Snakemake script of rule sweep_figure: dev accuracy against each arm's swept value."""

from otkd.io import setup_logging
from otkd.report.figures import make_sweep_figure

setup_logging(snakemake.log[0])
make_sweep_figure(snakemake.input[0], snakemake.output[0])
