"""Snakemake script of rule xquad: XQuAD / XQuAD-R task files, invariants checked."""

from otkd.io import setup_logging
from otkd.xquad import build_xquad

setup_logging(snakemake.log[0])
build_xquad(
    dict(zip(snakemake.params.xquad_langs, snakemake.input.xquad, strict=True)),
    dict(zip(snakemake.params.xquad_r_langs, snakemake.input.xquad_r, strict=True)),
    snakemake.params.out_dir,
    snakemake.params.langs,
    lareqa_pool=snakemake.params.lareqa_pool,
)
