"""Snakemake script of checkpoint sweep_round: the best dev score of every value of one
round of an arm's sweep; fails when the best is at an edge and no extension is left."""

from otkd.io import setup_logging, write_df
from otkd.train.sweep import check_round, summarize_round

setup_logging(snakemake.log[0])
sweep = snakemake.params.sweep
table = summarize_round(
    snakemake.wildcards.arm,
    sweep["param"],
    sweep["values"],
    list(snakemake.input),
    sweep["metric"],
    sweep["n_grid"],
)
check_round(
    table,
    int(snakemake.wildcards.round),
    sweep["max_extensions"],
    f"sweep of {snakemake.wildcards.arm} in experiment {snakemake.wildcards.experiment}",
    sweep["tolerance"],
)
write_df(snakemake.output[0], table)
