"""Snakemake script of rule plot_figures: the PNG figures of the report."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.io import setup_logging  # noqa: E402
from otkd.report import make_figures  # noqa: E402

setup_logging(snakemake.log[0])
make_figures(
    snakemake.input.table,
    snakemake.input.comparison,
    sorted({Path(log).parent for log in snakemake.input.runs}),
    snakemake.output[0],
)
