# Tokenize stage: the bitext tokenized once with the teacher (English) and the student
# (English and foreign) tokenizers; ids, offsets, content masks, length statistics.


# run on the submit host under a cluster executor (profiles/slurm)
localrules:
    tokenize_bitext,
    token_stats,


rule tokenize_bitext:
    input:
        bitext="results/data/bitext/{split}.tsv",
        student=student_init_input(),
    output:
        teacher_en="results/tokens/{split}/teacher_en.npz",
        student_en="results/tokens/{split}/student_en.npz",
        student_xx="results/tokens/{split}/student_xx.npz",
    log:
        "logs/tokenize/tokenize_bitext_{split}.log",
    benchmark:
        "results/benchmarks/tokenize/tokenize_bitext_{split}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        teacher=config["models"]["teacher"],
        student=config["models"]["student"],
        train_prefix=config["models"]["train_prefix"],
    script:
        "../scripts/tokenize_bitext.py"


rule token_stats:
    input:
        bitext=expand("results/data/bitext/{split}.tsv", split=SPLITS),
        tokens=expand(
            "results/tokens/{split}/{side}.npz",
            split=SPLITS,
            side=["teacher_en", "student_en", "student_xx"],
        ),
    output:
        "results/tokens/stats.tsv",
    log:
        "logs/tokenize/token_stats.log",
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        splits=SPLITS,
    script:
        "../scripts/token_stats.py"
