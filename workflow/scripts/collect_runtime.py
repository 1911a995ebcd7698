"""Snakemake script of rule collect_runtime: runtime.tsv from the benchmark files."""

from otkd.io import setup_logging
from otkd.report.runtime import make_runtime

setup_logging(snakemake.log[0])
make_runtime(snakemake.params.bench_dir, snakemake.params.rules, snakemake.output[0])
