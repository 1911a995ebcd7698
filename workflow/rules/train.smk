# Train stage: one run per (experiment, arm, seed); teacher targets come only from the
# experiment's teacher cache, checkpoint chosen on the FLORES dev set (otkd.train).
# Functions: common.smk.


rule fit_projection:
    input:
        unpack(projection_inputs),
    output:
        directory("results/projection/{experiment}/main"),
    log:
        "logs/train/fit_projection_{experiment}.log",
    benchmark:
        "results/benchmarks/train/fit_projection_{experiment}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        student=config["models"]["student"],
        pairs_per_language="all",
        settings=projection_params(),
    script:
        "../scripts/fit_projection.py"


rule train_model:
    input:
        unpack(train_inputs),
    output:
        # temp: deleted once evaluation, export and the OT plan figure have read it
        model=temp(directory("results/train/{experiment}/{arm}/seed{seed}/model")),
        train_log="results/train/{experiment}/{arm}/seed{seed}/train_log.tsv",
        dev_curve="results/train/{experiment}/{arm}/seed{seed}/dev_curve.tsv",
    log:
        "logs/train/train_model_{experiment}_{arm}_seed{seed}.log",
    benchmark:
        "results/benchmarks/train/train_model_{experiment}_{arm}_seed{seed}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 4
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        seed="{seed}",
        settings=train_settings,
        student=config["models"]["student"],
        projection=train_projection,
        card=train_card,
        eval_lengths=evaluation_lengths(),
    script:
        "../scripts/train_model.py"
