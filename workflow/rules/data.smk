# Data stage: XQuAD / XQuAD-R retrieval task files, cleaned bitext, and their summary.
# Input and parameter functions are in common.smk (section "data stage").


# run on the submit host under a cluster executor (profiles/slurm)
localrules:
    xquad,
    bitext,
    data_summary,


rule xquad:
    input:
        unpack(xquad_files),
    output:
        questions=expand(
            "results/data/xquad/questions/{lang}.tsv", lang=XQUAD_DATA_LANGS
        ),
        paragraphs=expand(
            "results/data/xquad/paragraphs/{lang}.jsonl", lang=XQUAD_DATA_LANGS
        ),
        candidates="results/data/xquad/lareqa/candidates.jsonl",
        lareqa_questions=expand(
            "results/data/xquad/lareqa/questions/{lang}.tsv",
            lang=XQUAD_R_DATA_LANGS,
        ),
        qrels=xquad_qrels(),
    log:
        "logs/data/xquad.log",
    benchmark:
        "results/benchmarks/data/xquad.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        out_dir=xquad_out_dir,
        xquad_langs=XQUAD_DATA_LANGS,
        xquad_r_langs=XQUAD_R_DATA_LANGS,
        langs=LANGS,
        lareqa_pool=lareqa_pool(),
    script:
        "../scripts/xquad.py"


rule bitext:
    input:
        unpack(bitext_files),
    output:
        train="results/data/bitext/train.tsv",
        dev="results/data/bitext/dev.tsv",
        stats="results/data/bitext/stats.tsv",
        curve="results/data/bitext/curve.tsv",
    log:
        "logs/data/bitext.log",
    benchmark:
        "results/benchmarks/data/bitext.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        sources=bitext_sources,
        xquad_langs=XQUAD_DATA_LANGS,
        xquad_r_langs=XQUAD_R_DATA_LANGS,
        seed=config["seed"],
        budget=config["bitext"]["budget_per_language"],
        dev_budget=config["bitext"]["dev_per_language"],
        curve_budget=curve_pool_budget(),
        clean=bitext_clean_params(),
    script:
        "../scripts/bitext.py"


rule data_summary:
    input:
        xquad=rules.xquad.output,
        candidates=rules.xquad.output.candidates,
        train=rules.bitext.output.train,
        dev=rules.bitext.output.dev,
        stats=rules.bitext.output.stats,
    output:
        "results/data/summary.json",
    log:
        "logs/data/data_summary.log",
    conda:
        "../../envs/pipeline.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        xquad_dir=xquad_in_dir,
        langs=LANGS,
    script:
        "../scripts/data_summary.py"
