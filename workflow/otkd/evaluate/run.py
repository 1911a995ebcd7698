"""Entry points of the evaluate rules (``index_teacher``, ``evaluate_model``): load the model
from its config profile, resolve its evaluation lengths, then :func:`build_teacher_index` /
:func:`evaluate_model`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from ..encode import Encoder
from ..models import ModelProfile, model_max_length
from .index import TeacherIndex, build_teacher_index
from .pipeline import evaluate_model
from .tasks import EvalLengths, XQuADFiles

log = logging.getLogger(__name__)


def resolve_lengths(lengths: dict, length_spec: str, model: str) -> EvalLengths:
    """:meth:`EvalLengths.resolve` of the config ``lengths`` against the documented maximum
    of ``length_spec`` (the model's own spec, or for a trained student its initial spec)."""
    model_max, source = model_max_length(length_spec)
    resolved = EvalLengths.resolve(lengths, model_max, model=model)
    log.info("%s: documented maximum %d tokens (%s of %s); %s", model, model_max, source,
             length_spec, resolved)  # fmt: skip
    return resolved


def run_index_teacher(
    profile: dict,
    out_dir,
    *,
    data_dir,
    lengths: dict,
    index_spec: str = "Flat",
    batch_size: int = 64,
    bf16: bool = False,
) -> None:
    """Rule ``index_teacher``: :func:`build_teacher_index` with the teacher's config profile,
    at the teacher's query and passage lengths."""
    prof = ModelProfile.from_config(profile)
    resolved = resolve_lengths(lengths, prof.spec, "teacher")
    encoder = Encoder(prof, batch_size=batch_size, bf16=bf16)
    build_teacher_index(
        encoder,
        XQuADFiles(data_dir),
        out_dir,
        query_max_length=resolved.query,
        passage_max_length=resolved.passage,
        index_spec=index_spec,
        spec=prof.spec,
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
    lengths: dict,
    length_spec: str,
    batch_size: int = 64,
    bf16: bool = False,
    **evaluation,
) -> pd.DataFrame:
    """Rule ``evaluate_model``: load the model and the shared teacher index (None for
    ``student_init``), resolve its lengths (config ``lengths`` against ``length_spec``),
    then :func:`evaluate_model`; ``evaluation`` holds ``index_spec``, ``top_k`` and
    ``lareqa_candidate_text``."""
    resolved = resolve_lengths(lengths, length_spec, model)
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
        lengths=resolved,
        **evaluation,
    )
