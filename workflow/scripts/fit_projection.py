"""Snakemake script of rules fit_projection and fit_projection_curve: the ridge-initialised
student -> teacher projection shared by every arm and seed of one bitext budget."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
import torch  # noqa: E402
from otkd.io import setup_logging  # noqa: E402
from otkd.projection import run_fit_projection  # noqa: E402
from otkd.train import SplitPaths  # noqa: E402

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
