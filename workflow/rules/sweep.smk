# Sweep stage: short runs tuning KL's temperature and OT's eps on the dev set only (never
# XQuAD); same budget per arm. Separate target `sweep`, not part of results/table.tsv.
# Functions: common.smk.


wildcard_constraints:
    param="temperature|eps",
    value=r"[0-9]+(\.[0-9]+)?(e-?[0-9]+)?",


# run on the submit host under a cluster executor (profiles/slurm)
localrules:
    sweep_table,
    sweep_figure,


rule sweep:
    input:
        "results/sweep/sweep.tsv",
        "results/sweep/sweep.png",


rule sweep_table:
    input:
        sweep_curves,
    output:
        "results/sweep/sweep.tsv",
    log:
        "logs/sweep/sweep_table.log",
    conda:
        "../../envs/pipeline.yaml"
    params:
        runs=sweep_runs,
    script:
        "../scripts/sweep_table.py"


rule sweep_figure:
    input:
        "results/sweep/sweep.tsv",
    output:
        report(
            "results/sweep/sweep.png", caption="../report/sweep.rst", category="Sweep"
        ),
    log:
        "logs/sweep/sweep_figure.log",
    conda:
        "../../envs/pipeline.yaml"
    script:
        "../scripts/sweep_figure.py"


rule sweep_run:
    input:
        unpack(train_inputs),
    output:
        train_log="results/sweep/{arm}/{param}_{value}/train_log.tsv",
        dev_curve="results/sweep/{arm}/{param}_{value}/dev_curve.tsv",
    log:
        "logs/sweep/sweep_run_{arm}_{param}_{value}.log",
    benchmark:
        "results/benchmarks/sweep/sweep_run_{arm}_{param}_{value}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 4
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        settings=sweep_run_settings,
        student=config["models"]["student"],
        projection=PROJECTION,
        seed=config["train"]["seeds"][0],
    script:
        "../scripts/train_model.py"
