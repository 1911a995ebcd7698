"""Snakemake script of rule index_teacher: the teacher's shared English index and questions."""

from pathlib import Path

import faiss
import torch
from otkd.evaluate.run import run_index_teacher
from otkd.io import setup_logging

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
faiss.omp_set_num_threads(snakemake.threads)
run_index_teacher(
    snakemake.params.profile,
    Path(snakemake.output.meta).parent,
    data_dir=snakemake.params.data_dir,
    index_spec=snakemake.params.index_spec,
    lengths=snakemake.params.lengths,
    **snakemake.params.encode,
)
