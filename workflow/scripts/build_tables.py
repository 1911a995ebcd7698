"""Snakemake script of rule build_tables: table.tsv, comparison.tsv and summary.md."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.io import setup_logging  # noqa: E402
from otkd.report import make_tables  # noqa: E402

setup_logging(snakemake.log[0])
make_tables(
    snakemake.input.metrics,
    snakemake.input.perquery,
    snakemake.output.table,
    snakemake.output.comparison,
    snakemake.output.summary,
    config=snakemake.params.config,
)
