# Learning curve: OT vs KL at several bitext budgets (config.learning_curve) in one
# experiment (learning_curve.experiment, default the primary). Each run trains on the first
# {budget} pairs per language of the curve pool (nested samples) with the experiment's
# training settings; the point at the main budget reuses the main runs. Functions: common.smk.


# run on the submit host under a cluster executor (profiles/slurm)
localrules:
    learning_curve,


use rule fit_projection as fit_projection_curve with:
    input:
        unpack(curve_projection_inputs),
    output:
        directory("results/projection/{experiment}/n{budget}"),
    log:
        "logs/train/fit_projection_curve_{experiment}_n{budget}.log",
    benchmark:
        "results/benchmarks/train/fit_projection_curve_{experiment}_n{budget}.tsv"
    params:
        student=config["models"]["student"],
        pairs_per_language="{budget}",
        settings=projection_params(),


use rule train_model as train_curve with:
    input:
        unpack(curve_train_inputs),
    output:
        model=temp(
            directory("results/train/{experiment}/{arm}/n{budget}/seed{seed}/model")
        ),
        train_log="results/train/{experiment}/{arm}/n{budget}/seed{seed}/train_log.tsv",
        dev_curve="results/train/{experiment}/{arm}/n{budget}/seed{seed}/dev_curve.tsv",
    log:
        "logs/train/train_curve_{experiment}_{arm}_n{budget}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train/train_curve_{experiment}_{arm}_n{budget}_seed{seed}.tsv"
    params:
        seed="{seed}",
        settings=curve_train_settings,
        student=config["models"]["student"],
        projection=train_projection,
        card=train_card,
        eval_lengths=evaluation_lengths(),


rule learning_curve:
    input:
        metrics=curve_evaluations("metrics.tsv"),
        perquery=curve_evaluations("perquery.tsv.gz"),
        pool="results/data/bitext/curve.tsv",
    output:
        table=report(
            "results/learning_curve.tsv",
            caption="../report/learning_curve.rst",
            category="Learning curve",
        ),
        figure=report(
            "results/learning_curve.png",
            caption="../report/learning_curve.rst",
            category="Learning curve",
        ),
        comparison=report(
            "results/learning_curve_comparison.tsv",
            caption="../report/learning_curve.rst",
            category="Learning curve",
        ),
    log:
        "logs/report/learning_curve.log",
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        points=curve_points(),
        config=report_config(),
        train=curve_train(),
        tasks=CURVE_TASKS,
    script:
        "../scripts/learning_curve.py"
