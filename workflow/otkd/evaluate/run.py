"""Entry points of the evaluate rules (``index_teacher``, ``evaluate_model``): load the model
from its config profile, then :func:`build_teacher_index` / :func:`evaluate_model`."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..encode import Encoder
from ..models import ModelProfile
from .index import TeacherIndex, build_teacher_index
from .pipeline import evaluate_model
from .tasks import XQuADFiles


def run_index_teacher(
    profile: dict,
    out_dir,
    *,
    data_dir,
    index_spec: str = "Flat",
    batch_size: int = 64,
    bf16: bool = False,
) -> None:
    """Rule ``index_teacher``: :func:`build_teacher_index` with the teacher's config profile."""
    prof = ModelProfile.from_config(profile)
    encoder = Encoder(prof, batch_size=batch_size, bf16=bf16)
    build_teacher_index(
        encoder, XQuADFiles(data_dir), out_dir, index_spec=index_spec, spec=prof.spec
    )


def run_evaluate_model(
    model: str,
    profile: dict,
    out_dir,
    *,
    data_dir,
    teacher_index_dir,
    tasks: Sequence[str],
    langs: Sequence[str],
    batch_size: int = 64,
    bf16: bool = False,
    **evaluation,
) -> pd.DataFrame:
    """Rule ``evaluate_model``: load the model and the shared teacher index (None for
    ``student_init``), then :func:`evaluate_model`; ``evaluation`` holds ``index_spec``,
    ``top_k``, ``lareqa_candidate_text`` and ``lareqa_max_length``."""
    encoder = Encoder(ModelProfile.from_config(profile), batch_size=batch_size, bf16=bf16)
    teacher_index = TeacherIndex.load(teacher_index_dir) if teacher_index_dir else None
    return evaluate_model(
        model,
        encoder,
        XQuADFiles(data_dir),
        out_dir,
        tasks=tasks,
        langs=langs,
        teacher_index=teacher_index,
        **evaluation,
    )
