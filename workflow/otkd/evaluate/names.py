"""The profile each evaluated model is encoded with (no torch, faiss or ir_measures:
``workflow/rules/common.smk`` imports this at DAG-build time).

Model names themselves (``teacher``, ``teacher__{key}``, ``student_init``,
``kl_seed1__shared``, ``ot_n250_seed1__cross``) are defined by :mod:`otkd.runs`; the files they map to: ``docs/ARCHITECTURE.md`` (evaluate).
"""

from __future__ import annotations

from pathlib import Path

from ..io import PipelineError
from ..model_profile import ModelProfile
from ..runs import TRAIN_DIR, parse_model, teacher_model_key


def _teacher_cfg(model: str, models_cfg: dict, teachers: dict | None) -> dict | None:
    """The profile mapping of a teacher baseline (``teacher``: ``models.teacher``;
    ``teacher__{key}``: ``teachers[key]``, see :func:`otkd.runs.teachers`), else None."""
    if model == "teacher":
        return models_cfg["teacher"]
    key = teacher_model_key(model)
    if key is None:
        return None
    if not teachers or key not in teachers:
        raise PipelineError(
            f"model {model!r}: no experiment has teacher {key!r} "
            f"(teachers: {', '.join(teachers or {}) or 'none'})"
        )
    return teachers[key]


def model_profile(
    model: str,
    models_cfg: dict,
    train_dir: str | Path = TRAIN_DIR,
    teachers: dict | None = None,
) -> ModelProfile:
    """The profile a model is evaluated with (config key ``models``).

    ``teacher`` uses ``models.teacher``, ``teacher__{key}`` the profile ``teachers[key]``
    (:func:`otkd.runs.teachers`), ``student_init`` ``models.student``; a trained run
    (:func:`otkd.runs.parse_model`) uses the student's pooling, prefixes and max length with
    its checkpoint directory (:meth:`otkd.runs.Run.model_dir`) as spec.
    """
    run = parse_model(model)
    teacher = _teacher_cfg(model, models_cfg, teachers)
    if teacher is not None:
        return ModelProfile.from_config(teacher)
    profile = ModelProfile.from_config(models_cfg["student"])
    if run is not None:
        profile.spec = str(Path(run.model_dir(str(train_dir))))
    return profile


def uses_teacher_index(model: str) -> bool:
    """False only for ``student_init``, evaluated in its own embedding space."""
    parse_model(model)
    return model != "student_init"


def length_spec(model: str, models_cfg: dict, teachers: dict | None = None) -> str:
    """The spec whose documented maximum length (:func:`otkd.models.model_max_length`) an
    evaluation length of "model" means: the teacher's for a teacher baseline, else the
    student's initial spec (a trained checkpoint keeps its initial model's positions and
    tokenizer)."""
    parse_model(model)
    teacher = _teacher_cfg(model, models_cfg, teachers)
    return (teacher or models_cfg["student"])["spec"]
