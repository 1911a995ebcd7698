"""Snakemake script of rule build_tables: table.tsv, comparison.tsv, low_resource.tsv and
summary.md."""

from otkd.io import setup_logging
from otkd.report.markdown import make_tables

setup_logging(snakemake.log[0])
make_tables(
    snakemake.input.metrics,
    snakemake.input.perquery,
    snakemake.output.table,
    snakemake.output.comparison,
    snakemake.output.summary,
    config=snakemake.params.config,
    truncation_paths=snakemake.input.truncation,
    entries=snakemake.params.entries,
    out_low_resource=snakemake.output.low_resource,
)
