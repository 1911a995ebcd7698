"""Snakemake script of rule index_teacher: the teacher's shared English index and questions."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/..")
import faiss  # noqa: E402
import torch  # noqa: E402
from otkd.io import setup_logging  # noqa: E402
from otkd.retrieval import run_index_teacher  # noqa: E402

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
faiss.omp_set_num_threads(snakemake.threads)
run_index_teacher(
    snakemake.params.profile,
    Path(snakemake.output.meta).parent,
    data_dir=snakemake.params.data_dir,
    index_spec=snakemake.params.index_spec,
    **snakemake.params.encode,
)
