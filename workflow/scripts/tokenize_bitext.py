"""Snakemake script of rule tokenize_bitext: one bitext split, teacher and student tokens."""

from pathlib import Path

from otkd.io import setup_logging
from otkd.models import ModelProfile
from otkd.tokenize import tokenize_bitext

setup_logging(snakemake.log[0])
tokenize_bitext(
    snakemake.input.bitext,
    Path(snakemake.output.teacher_en).parent,
    ModelProfile.from_config(snakemake.params.teacher),
    ModelProfile.from_config(snakemake.params.student),
    snakemake.params.train_prefix,
)
