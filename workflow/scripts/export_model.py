"""Snakemake script of rule export_model: a trained checkpoint as a sentence-transformers
model whose card holds its XQuAD scores."""

from otkd.export import export_model
from otkd.io import setup_logging

setup_logging(snakemake.log[0])
export_model(snakemake.input.model, snakemake.input.metrics, snakemake.output[0])
