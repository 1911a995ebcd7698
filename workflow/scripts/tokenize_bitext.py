"""Snakemake script of rules tokenize_bitext (one bitext split, the student's sides) and
tokenize_teacher (one split, one teacher's English side)."""

from pathlib import Path

from otkd.io import setup_logging
from otkd.models import ModelProfile
from otkd.tokenize import tokenize_bitext

setup_logging(snakemake.log[0])
teacher, student = snakemake.params.teacher, snakemake.params.student
teacher_file = snakemake.output.get("teacher_en")
tokenize_bitext(
    snakemake.input.bitext,
    Path(snakemake.output[0]).parent,
    None if teacher is None else ModelProfile.from_config(teacher),
    None if student is None else ModelProfile.from_config(student),
    snakemake.params.train_prefix,
    teacher_file=teacher_file,
)
