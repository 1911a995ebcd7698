"""The profile each evaluated model is encoded with (no torch, faiss or ir_measures:
``workflow/rules/common.smk`` imports this at DAG-build time).

Model names themselves (``teacher``, ``student_init``, ``kl_seed1``, ``ot_n250_seed1``) are
defined by :mod:`otkd.runs`; the files they map to: ``docs/ARCHITECTURE.md`` (evaluate).
"""

from __future__ import annotations

from pathlib import Path

from ..model_profile import ModelProfile
from ..runs import TRAIN_DIR, parse_model


def model_profile(model: str, models_cfg: dict, train_dir: str | Path = TRAIN_DIR) -> ModelProfile:
    """The profile a model is evaluated with (config key ``models``).

    ``teacher`` and ``student_init`` use ``models.teacher`` / ``models.student``; a trained
    run (:func:`otkd.runs.parse_model`) uses the student's pooling, prefixes and max length
    with its checkpoint directory (:meth:`otkd.runs.Run.model_dir`) as spec.
    """
    run = parse_model(model)
    if model == "teacher":
        return ModelProfile.from_config(models_cfg["teacher"])
    profile = ModelProfile.from_config(models_cfg["student"])
    if run is not None:
        profile.spec = str(Path(run.model_dir(str(train_dir))))
    return profile


def uses_teacher_index(model: str) -> bool:
    """False only for ``student_init``, evaluated in its own embedding space."""
    parse_model(model)
    return model != "student_init"


def length_spec(model: str, models_cfg: dict) -> str:
    """The spec whose documented maximum length (:func:`otkd.models.model_max_length`) an
    evaluation length of "model" means: the teacher's for ``teacher``, else the student's
    initial spec (a trained checkpoint keeps its initial model's positions and tokenizer)."""
    parse_model(model)
    return models_cfg["teacher" if model == "teacher" else "student"]["spec"]
