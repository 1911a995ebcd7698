"""Snakemake script of rules train_model (one (arm, seed) run, checkpoint kept) and
sweep_run (a short dev-scored run, no checkpoint)."""

import torch
from otkd.io import setup_logging
from otkd.runs import resolve_settings
from otkd.train import SplitPaths, train

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
train(
    snakemake.wildcards.arm,
    int(snakemake.params.seed),
    resolve_settings(
        snakemake.params.settings, snakemake.wildcards.arm, snakemake.input.get("selected")
    ),
    snakemake.params.student,
    SplitPaths.from_input(snakemake.input, "train"),
    SplitPaths.from_input(snakemake.input, "dev"),
    train_log=snakemake.output.train_log,
    dev_curve=snakemake.output.dev_curve,
    model_dir=snakemake.output.get("model"),
    projection=snakemake.params.projection,
    projection_init=snakemake.input.get("projection"),
    card=snakemake.params.get("card"),
    eval_lengths=snakemake.params.get("eval_lengths"),
)
