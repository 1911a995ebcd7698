# Tokenize stage: the bitext tokenized once with the student's tokenizer (English and
# foreign sides) and once per distinct teacher (English side, teacher_en__{teacher});
# ids, offsets, content masks, length statistics.


# run on the submit host under a cluster executor (profiles/slurm)
localrules:
    tokenize_bitext,
    tokenize_teacher,
    token_stats,


rule tokenize_bitext:
    input:
        bitext="results/data/bitext/{split}.tsv",
        student=student_init_input(),
    output:
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
        teacher=None,
        student=config["models"]["student"],
        train_prefix=config["models"]["train_prefix"],
    script:
        "../scripts/tokenize_bitext.py"


rule tokenize_teacher:
    input:
        bitext="results/data/bitext/{split}.tsv",
        teacher=teacher_model_input,
    output:
        teacher_en="results/tokens/{split}/teacher_en__{teacher}.npz",
    log:
        "logs/tokenize/tokenize_teacher_{split}_{teacher}.log",
    benchmark:
        "results/benchmarks/tokenize/tokenize_teacher_{split}_{teacher}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        teacher=teacher_profile,
        student=None,
        train_prefix=config["models"]["train_prefix"],
    script:
        "../scripts/tokenize_bitext.py"


rule token_stats:
    input:
        bitext=expand("results/data/bitext/{split}.tsv", split=SPLITS),
        tokens=expand(
            "results/tokens/{split}/{side}.npz", split=SPLITS, side=TOKEN_SIDES
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
        sides=TOKEN_SIDES,
    script:
        "../scripts/token_stats.py"
