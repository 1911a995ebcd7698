# Sweep stage: short runs tuning each arm's own parameter on the dev set only (never XQuAD),
# per experiment; same budget per arm. Separate target `sweep`, not part of
# results/table.tsv. Functions: common.smk.


wildcard_constraints:
    param="temperature|eps",
    value=r"[0-9]+(\.[0-9]+)?(e-?[0-9]+)?",


# run on the submit host under a cluster executor (profiles/slurm)
localrules:
    sweep_table,
    sweep_figure,


rule sweep:
    input:
        sweep_targets(),


rule sweep_table:
    input:
        sweep_curves,
    output:
        "results/sweep/{experiment}/sweep.tsv",
    log:
        "logs/sweep/sweep_table_{experiment}.log",
    conda:
        "../../envs/pipeline.yaml"
    params:
        runs=sweep_runs,
    script:
        "../scripts/sweep_table.py"


rule sweep_figure:
    input:
        "results/sweep/{experiment}/sweep.tsv",
    output:
        report(
            "results/sweep/{experiment}/sweep.png",
            caption="../report/sweep.rst",
            category="Sweep",
        ),
    log:
        "logs/sweep/sweep_figure_{experiment}.log",
    conda:
        "../../envs/pipeline.yaml"
    script:
        "../scripts/sweep_figure.py"


rule sweep_run:
    input:
        unpack(train_inputs),
    output:
        train_log="results/sweep/{experiment}/{arm}/{param}_{value}/train_log.tsv",
        dev_curve="results/sweep/{experiment}/{arm}/{param}_{value}/dev_curve.tsv",
    log:
        "logs/sweep/sweep_run_{experiment}_{arm}_{param}_{value}.log",
    benchmark:
        "results/benchmarks/sweep/sweep_run_{experiment}_{arm}_{param}_{value}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 4
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        settings=sweep_run_settings,
        student=config["models"]["student"],
        projection=train_projection,
        seed=sweep_seed,
    script:
        "../scripts/train_model.py"
