"""Snakemake script of rule bitext: cleaned, XQuAD-free, budgeted train and dev bitext."""

from otkd.bitext import CleanParams, build_bitext
from otkd.io import setup_logging

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
