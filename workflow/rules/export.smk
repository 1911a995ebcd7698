# Export stage: every trained model of the main runs as a sentence-transformers model with a
# model card holding its XQuAD scores (otkd.export). Functions: common.smk.


# light: hard links and one card (run on the submit host under profiles/slurm)
localrules:
    export_model,


rule export_model:
    input:
        model=export_model_dir,
        metrics="results/evaluate/{model}/metrics.tsv",
    output:
        directory("results/export/{model}"),
    log:
        "logs/export/export_model_{model}.log",
    conda:
        "../../envs/pipeline.yaml"
    script:
        "../scripts/export_model.py"
