# Teacher cache stage: each distinct frozen teacher (key {teacher}, otkd.runs.teacher_key)
# run once over the English side of each bitext split; pooled and content-token embeddings
# (fp16, memory-mappable) read by training.


rule build_teacher_cache:
    input:
        "results/tokens/{split}/teacher_en__{teacher}.npz",
        model=teacher_model_input,
    output:
        directory("results/teacher_cache/{teacher}/{split}"),
    log:
        "logs/teacher_cache/build_teacher_cache_{teacher}_{split}.log",
    benchmark:
        "results/benchmarks/teacher_cache/build_teacher_cache_{teacher}_{split}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        teacher=teacher_profile,
        batch_size=config["encode"]["batch_size"],
        bf16=config["encode"]["bf16"],
    script:
        "../scripts/build_teacher_cache.py"
