# Evaluate stage: the teacher's English index (built once, shared by every model), then one
# job per model: encode, FAISS search, TREC runs, ir_measures scores (otkd.retrieval).
from otkd.retrieval import (  # noqa: E402
    model_profile,
    task_langs,
    uses_teacher_index,
)

XQUAD_DIR = "results/data/xquad"
TEACHER_INDEX_DIR = "results/index/teacher"


def evaluate_encode_params():
    """Encoder batch size and bf16 switch (config.encode)."""
    enc = config.get("encode", {})
    return {"batch_size": enc.get("batch_size", 64), "bf16": enc.get("bf16", False)}


def evaluation_params():
    """FAISS spec, top k and LAReQA candidate options (config.evaluation)."""
    ev = config["evaluation"]
    return {
        "index_spec": ev.get("index", "Flat"),
        "top_k": ev.get("top_k", 100),
        "lareqa_candidate_text": ev.get("lareqa_candidate_text", "sentence_paragraph"),
        "lareqa_max_length": ev.get("lareqa_max_length"),
    }


def xquad_task_files():
    """Every XQuAD task file the evaluation of one model reads (data stage outputs)."""
    pairs = task_langs(TASKS, LANGS)
    langs = ["en", *LANGS]
    files = expand(f"{XQUAD_DIR}/questions/{{lang}}.tsv", lang=langs)
    files += expand(f"{XQUAD_DIR}/paragraphs/{{lang}}.jsonl", lang=langs)
    files += [f"{XQUAD_DIR}/qrels/{task}/{lang}.tsv" for task, lang in pairs]
    lareqa = [lang for task, lang in pairs if task == "lareqa"]
    if lareqa:
        files += [f"{XQUAD_DIR}/lareqa/candidates.jsonl"]
        files += expand(f"{XQUAD_DIR}/lareqa/questions/{{lang}}.tsv", lang=lareqa)
    return files


def evaluate_model_input(wildcards):
    """Task files, the model (checkpoint dir or rebuilt student init) and, for every model
    but student_init, the shared teacher index."""
    model = wildcards.model
    spec = model_profile(model, config["models"]).spec
    inputs = {"data": xquad_task_files()}
    if model == "student_init":
        inputs["model"] = student_init_input()
    elif model != "teacher":
        inputs["model"] = spec
    if uses_teacher_index(model):
        inputs["index"] = f"{TEACHER_INDEX_DIR}/meta.json"
    return inputs


def evaluate_model_profile(wildcards):
    """Spec, pooling, prefixes and max length the model is evaluated with."""
    return model_profile(wildcards.model, config["models"]).to_dict()


def evaluate_teacher_index(wildcards):
    """The shared teacher index directory, or None for student_init (own space)."""
    return TEACHER_INDEX_DIR if uses_teacher_index(wildcards.model) else None


rule index_teacher:
    input:
        questions=f"{XQUAD_DIR}/questions/en.tsv",
        paragraphs=f"{XQUAD_DIR}/paragraphs/en.jsonl",
    output:
        index=f"{TEACHER_INDEX_DIR}/paragraphs_en.faiss",
        questions=f"{TEACHER_INDEX_DIR}/questions_en.f32.npy",
        meta=f"{TEACHER_INDEX_DIR}/meta.json",
    log:
        "logs/evaluate/index_teacher.log",
    benchmark:
        "results/benchmarks/evaluate/index_teacher.tsv"
    conda:
        "../../envs/pipeline.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        profile=config["models"]["teacher"],
        encode=evaluate_encode_params(),
        index_spec=config["evaluation"].get("index", "Flat"),
        data_dir=XQUAD_DIR,
    script:
        "../scripts/index_teacher.py"


rule evaluate_model:
    input:
        unpack(evaluate_model_input),
    output:
        runs=directory("results/evaluate/{model}/runs"),
        perquery="results/evaluate/{model}/perquery.tsv",
        metrics="results/evaluate/{model}/metrics.tsv",
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
        teacher_index=evaluate_teacher_index,
        encode=evaluate_encode_params(),
        evaluation=evaluation_params(),
        tasks=TASKS,
        langs=LANGS,
        data_dir=XQUAD_DIR,
    script:
        "../scripts/evaluate_model.py"
