"""Snakemake script of rule evaluate_model: one model on every task and language."""

from pathlib import Path

import faiss
import torch
from otkd.evaluate.run import run_evaluate_model
from otkd.io import setup_logging

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
faiss.omp_set_num_threads(snakemake.threads)
run_evaluate_model(
    snakemake.wildcards.model,
    snakemake.params.profile,
    Path(snakemake.output.metrics).parent,
    data_dir=snakemake.params.data_dir,
    teacher_index_dir=snakemake.params.teacher_index,
    tasks=snakemake.params.tasks,
    langs=snakemake.params.langs,
    lengths=snakemake.params.lengths,
    length_spec=snakemake.params.length_spec,
    **snakemake.params.encode,
    **snakemake.params.evaluation,
)
