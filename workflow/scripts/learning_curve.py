"""Snakemake script of rule learning_curve: learning_curve.tsv, learning_curve.png and
learning_curve_comparison.tsv."""

from otkd.io import setup_logging
from otkd.report.curve import make_learning_curve

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
    train=snakemake.params.train,
)
