"""Snakemake script of rule collect_runtime: runtime.tsv from the benchmark files."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.io import setup_logging  # noqa: E402
from otkd.report import make_runtime  # noqa: E402

setup_logging(snakemake.log[0])
make_runtime(snakemake.params.bench_dir, snakemake.params.rules, snakemake.output[0])
