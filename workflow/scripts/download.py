"""Snakemake script of rule download: one declared file, mirror first, sha256 checked."""

from otkd.download import fetch
from otkd.io import setup_logging

setup_logging(snakemake.log[0])
fetch(
    snakemake.params.entry["url"],
    snakemake.params.entry["sha256"],
    snakemake.output[0],
    snakemake.params.mirrors,
    timeout=snakemake.params.timeout,
    retries=snakemake.params.retries,
)
