"""Snakemake script of rule build_teacher_cache: frozen teacher over one split's English side."""

import torch
from otkd.io import setup_logging
from otkd.models import ModelProfile
from otkd.teacher_cache import build_teacher_cache

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
build_teacher_cache(
    snakemake.input[0],
    snakemake.output[0],
    ModelProfile.from_config(snakemake.params.teacher),
    batch_size=snakemake.params.batch_size,
    bf16=snakemake.params.bf16,
    show_progress=False,
)
