"""Snakemake script of rule bitext: cleaned, XQuAD-free, budgeted train and dev bitext."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")
from otkd.bitext import CleanParams, build_bitext  # noqa: E402
from otkd.io import setup_logging  # noqa: E402

setup_logging(snakemake.log[0])
build_bitext(
    snakemake.params.sources,
    dict(zip(snakemake.params.xquad_langs, snakemake.input.xquad, strict=True)),
    dict(zip(snakemake.params.xquad_r_langs, snakemake.input.xquad_r, strict=True)),
    snakemake.output.train,
    snakemake.output.dev,
    snakemake.output.stats,
    seed=snakemake.params.seed,
    budget=snakemake.params.budget,
    dev_budget=snakemake.params.dev_budget,
    params=CleanParams(**snakemake.params.clean),
    curve_out=snakemake.output.curve,
    curve_budget=snakemake.params.curve_budget,
)
