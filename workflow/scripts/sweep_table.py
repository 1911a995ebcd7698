"""Snakemake script of rule sweep_table: every sweep run of the final rounds and the
selected parameters (tuned by the sweep, or set explicitly in the config)."""

from otkd.io import setup_logging, write_df
from otkd.train.sweep import select

setup_logging(snakemake.log[0])
table, selected = select(
    list(snakemake.input), snakemake.params.explicit, snakemake.params.tolerance
)
write_df(snakemake.output.table, table)
write_df(snakemake.output.selected, selected)
