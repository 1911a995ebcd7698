"""Snakemake script of rule tokenize_bitext: one bitext split, teacher and student tokens."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.io import setup_logging  # noqa: E402
from otkd.models import ModelProfile  # noqa: E402
from otkd.tokenize import tokenize_bitext  # noqa: E402

setup_logging(snakemake.log[0])
tokenize_bitext(
    snakemake.input.bitext,
    Path(snakemake.output.teacher_en).parent,
    ModelProfile.from_config(snakemake.params.teacher),
    ModelProfile.from_config(snakemake.params.student),
    snakemake.params.train_prefix,
)
