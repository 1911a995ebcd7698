"""Snakemake script of rules fit_projection and fit_projection_curve: the ridge-initialised
student -> teacher projection shared by every arm and seed of one bitext budget."""

import torch
from otkd.io import setup_logging
from otkd.projection import run_fit_projection
from otkd.train import SplitPaths

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
pairs = snakemake.params.pairs_per_language
run_fit_projection(
    snakemake.params.student,
    SplitPaths.from_input(snakemake.input, "train"),
    snakemake.output[0],
    pairs_per_language=None if pairs == "all" else int(pairs),
    **snakemake.params.settings,
)
