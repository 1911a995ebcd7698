"""Evaluation model names and the profile each is evaluated with (no torch, faiss or
ir_measures: ``workflow/rules/common.smk`` imports this at DAG-build time).

Model names and the files they map to: ``docs/ARCHITECTURE.md`` (evaluate).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..io import PipelineError
from ..models import ModelProfile

# moves to otkd.runs
BASELINE_MODELS = ("teacher", "student_init")
TRAINED_MODEL = re.compile(r"(?P<arm>[a-z][a-z_]*?)(?:_n(?P<budget>\d+))?_seed(?P<seed>\d+)")


# moves to otkd.runs
def parse_model_name(model: str) -> tuple[str, int | None]:
    """``teacher`` -> ("teacher", None); ``ot_kl_seed2`` -> ("ot_kl", 2);
    ``ot_n250_seed1`` (a learning-curve run) -> ("ot", 1)."""
    if model in BASELINE_MODELS:
        return model, None
    match = TRAINED_MODEL.fullmatch(model)
    if match is None:
        raise PipelineError(
            f"unknown model name {model!r}: expected 'teacher', 'student_init', "
            f"'{{arm}}_seed{{seed}}' (e.g. 'ot_seed1') or '{{arm}}_n{{budget}}_seed{{seed}}'"
        )
    return match["arm"], int(match["seed"])


# moves to otkd.runs
def model_budget(model: str) -> int | None:
    """The bitext budget of a learning-curve run (``ot_n250_seed1`` -> 250), else None."""
    if parse_model_name(model)[1] is None:
        return None
    budget = TRAINED_MODEL.fullmatch(model)["budget"]
    return int(budget) if budget else None


def model_profile(
    model: str, models_cfg: dict, train_dir: str | Path = "results/train"
) -> ModelProfile:
    """The profile a model is evaluated with (config key ``models``).

    ``teacher`` and ``student_init`` use ``models.teacher`` / ``models.student``; a trained
    ``{arm}_seed{seed}`` uses the student's pooling, prefixes and max length with its
    checkpoint directory ``{train_dir}/{arm}/seed{seed}/model`` as spec, and a learning-curve
    run ``{arm}_n{budget}_seed{seed}`` its ``{train_dir}/{arm}/n{budget}/seed{seed}/model``.
    """
    arm, seed = parse_model_name(model)
    budget = model_budget(model)
    if model == "teacher":
        return ModelProfile.from_config(models_cfg["teacher"])
    profile = ModelProfile.from_config(models_cfg["student"])
    if seed is not None:
        run = Path(train_dir) / arm if budget is None else Path(train_dir) / arm / f"n{budget}"
        profile.spec = str(run / f"seed{seed}" / "model")
    return profile


def uses_teacher_index(model: str) -> bool:
    """False only for ``student_init``, evaluated in its own embedding space."""
    parse_model_name(model)
    return model != "student_init"
