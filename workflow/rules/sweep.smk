# Sweep stage: short runs tuning each arm's own loss parameter on the dev set only (never
# XQuAD), per experiment, same initial grid size per tuned arm. A parameter whose config
# value is "sweep" is tuned; its best value reaches training through selected.tsv. When the
# best value lies at a grid edge, the checkpoint sweep_round adds one value beyond it and
# the next round runs (at most sweep.max_extensions times, then it fails naming the edge).
# Functions: common.smk.


wildcard_constraints:
    param="temperature|eps",
    value=r"[0-9]+(\.[0-9]+)?(e-?[0-9]+)?",
    round=r"\d+",


# run on the submit host under a cluster executor (profiles/slurm)
localrules:
    sweep_round,
    sweep_arm,
    sweep_table,
    sweep_figure,


rule sweep:
    input:
        sweep_targets(),


checkpoint sweep_round:
    input:
        sweep_round_curves,
    output:
        "results/sweep/{experiment}/{arm}/round{round}.tsv",
    log:
        "logs/sweep/sweep_round_{experiment}_{arm}_{round}.log",
    conda:
        "../../envs/pipeline.yaml"
    params:
        sweep=sweep_round_params,
    script:
        "../scripts/sweep_round.py"


rule sweep_arm:
    input:
        sweep_final_round,
    output:
        "results/sweep/{experiment}/{arm}/final.tsv",
    log:
        "logs/sweep/sweep_arm_{experiment}_{arm}.log",
    conda:
        "../../envs/pipeline.yaml"
    shell:
        "cp {input} {output}.tmp && mv {output}.tmp {output} 2> {log}"


rule sweep_table:
    input:
        sweep_arm_tables,
    output:
        table="results/sweep/{experiment}/sweep.tsv",
        selected="results/sweep/{experiment}/selected.tsv",
    log:
        "logs/sweep/sweep_table_{experiment}.log",
    conda:
        "../../envs/pipeline.yaml"
    params:
        explicit=sweep_explicit,
        tolerance=sweep_tolerance,
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
        unpack(sweep_inputs),
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
