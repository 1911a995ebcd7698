"""Snakemake script of rule download: one declared file, mirror first, sha256 checked."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.download import fetch  # noqa: E402
from otkd.io import setup_logging  # noqa: E402

setup_logging(snakemake.log[0])
fetch(
    snakemake.params.entry["url"],
    snakemake.params.entry["sha256"],
    snakemake.output[0],
    snakemake.params.mirrors,
    timeout=snakemake.params.timeout,
    retries=snakemake.params.retries,
)
