"""Snakemake script of rule ot_plan_figure: the OT transport plans of the first ``ot``
student on a few dev bitext pairs."""

from otkd.io import setup_logging
from otkd.report.ot_plan import make_ot_plan_figure
from otkd.runs import resolve_settings
from otkd.train import SplitPaths

setup_logging(snakemake.log[0])
make_ot_plan_figure(
    snakemake.input.model,
    SplitPaths.from_input(snakemake.input, "dev"),
    resolve_settings(snakemake.params.settings, "ot", snakemake.input.get("selected")),
    snakemake.output[0],
    teacher_spec=snakemake.params.teacher,
    train_paths=SplitPaths.from_input(snakemake.input, "train"),
    n_pairs=int(snakemake.params.n_pairs),
)
