# Evaluate stage: each teacher's English index (built once per distinct teacher, shared by
# every model of its experiments), then one job per model: encode, FAISS search, TREC runs,
# ir_measures scores (otkd.evaluate).
# Input and parameter functions live in common.smk.


rule index_teacher:
    input:
        questions=f"{XQUAD_DIR}/questions/en.tsv",
        paragraphs=f"{XQUAD_DIR}/paragraphs/en.jsonl",
        model=teacher_model_input,
    output:
        index=f"{TEACHER_INDEX_DIR}/paragraphs_en.faiss",
        questions=f"{TEACHER_INDEX_DIR}/questions_en.f32.npy",
        meta=f"{TEACHER_INDEX_DIR}/meta.json",
    log:
        "logs/evaluate/index_teacher_{teacher}.log",
    benchmark:
        "results/benchmarks/evaluate/index_teacher_{teacher}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        profile=teacher_profile,
        encode=evaluate_encode_params(),
        index_spec=config["evaluation"]["index"],
        lengths=evaluation_lengths(),
        data_dir=xquad_dir_of,
    script:
        "../scripts/index_teacher.py"


rule evaluate_model:
    input:
        unpack(evaluate_model_input),
    output:
        runs=directory("results/evaluate/{model}/runs"),
        perquery="results/evaluate/{model}/perquery.tsv.gz",
        metrics="results/evaluate/{model}/metrics.tsv",
        truncation="results/evaluate/{model}/truncation.tsv",
    log:
        "logs/evaluate/evaluate_model_{model}.log",
    benchmark:
        "results/benchmarks/evaluate/evaluate_model_{model}.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 2
    resources:
        mem_mb=6000,
        runtime=60,
    params:
        profile=evaluate_model_profile,
        teacher_index=teacher_index_of,
        encode=evaluate_encode_params(),
        evaluation=evaluation_params(),
        lengths=evaluation_lengths(),
        length_spec=evaluate_length_spec,
        tasks=evaluate_tasks,
        langs=LANGS,
        data_dir=xquad_dir_of,
    script:
        "../scripts/evaluate_model.py"
