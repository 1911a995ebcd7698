"""Snakemake script of rule learning_curve: learning_curve.tsv, learning_curve.png and
learning_curve_comparison.tsv."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.io import setup_logging  # noqa: E402
from otkd.report import make_learning_curve  # noqa: E402

setup_logging(snakemake.log[0])
make_learning_curve(
    snakemake.input.metrics,
    snakemake.params.points,
    snakemake.input.pool,
    snakemake.output.table,
    snakemake.output.figure,
    config=snakemake.params.config,
    tasks=snakemake.params.tasks,
    perquery_paths=snakemake.input.perquery,
    comparison_out=snakemake.output.comparison,
)
