# OT vs KL distillation for zero-shot cross-lingual retrieval on XQuAD.
# Table of contents only: config, validation, one include per stage, the targets.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


rule all:
    default_target: True
    input:
        report_targets(),
        data_targets(),
        teacher_cache_targets(),
        curve_targets(),
        export_targets(),
        ot_plan_targets(),
        sweep_targets(),


include: "workflow/rules/download.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/tokenize.smk"
include: "workflow/rules/teacher_cache.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/learning_curve.smk"
include: "workflow/rules/export.smk"


rule data:
    input:
        data_targets(),


rule models:
    input:
        model_targets(),


rule teacher_cache:
    input:
        teacher_cache_targets(),


rule train:
    input:
        train_targets(),


rule evaluate:
    input:
        evaluate_targets(),


rule table:
    input:
        report_targets(),


rule learning_curve_all:
    input:
        curve_targets(),


# first step of continuing from committed results (README, "Continuing a run")
rule upstream:
    input:
        upstream_targets(),
