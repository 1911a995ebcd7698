# Teacher cache stage: the frozen teacher run once over the English side of each bitext
# split; pooled and content-token embeddings (fp16, memory-mappable) read by training.


def encode_params():
    """Batch size and bf16 switch of config.encode (defaults: 64, fp32)."""
    enc = config.get("encode", {})
    return {"batch_size": enc.get("batch_size", 64), "bf16": enc.get("bf16", False)}


rule build_teacher_cache:
    input:
        "results/tokens/{split}/teacher_en.npz",
    output:
        directory("results/teacher_cache/{split}"),
    log:
        "logs/teacher_cache/build_teacher_cache_{split}.log",
    benchmark:
        "results/benchmarks/teacher_cache/build_teacher_cache_{split}.tsv"
    params:
        teacher=config["models"]["teacher"],
        encode=encode_params(),
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/pipeline.yaml"
    script:
        "../scripts/build_teacher_cache.py"
