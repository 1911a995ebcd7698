"""Evaluation stage: encode each task's texts, FAISS index and search, TREC runs, scores.

Modules (``docs/ARCHITECTURE.md`` describes the files and contracts):

- :mod:`.names`: the profile each model (named by :mod:`otkd.runs`) is evaluated with;
- :mod:`.tasks`: XQuAD task files, (task, language) pairs;
- :mod:`.encoding`: :class:`CachedEncoder`;
- :mod:`.index`: FAISS index, search, TREC runs, the shared teacher index;
- :mod:`.metrics`: ``ir_measures`` scoring;
- :mod:`.pipeline`: :func:`evaluate_model`;
- :mod:`.run`: the rule entry points :func:`run_index_teacher`, :func:`run_evaluate_model`.

The public names below are re-exported lazily (on first access), so that importing the light
modules (:mod:`.names`, :mod:`.tasks`, e.g. from ``workflow/rules/common.smk`` at DAG-build
time) does not import faiss, ir_measures or torch.
"""

from __future__ import annotations

from .. import lazy_exports

_EXPORTS = {
    "names": ["length_spec", "model_profile", "uses_teacher_index"],
    "tasks": [
        "LAREQA_OFFICIAL",
        "LAREQA_TEXT_FIELD",
        "LENGTH_KEYS",
        "EvalLengths",
        "lareqa_protocol",
        "task_protocols",
        "UNRECORDED_PROTOCOL",
        "XQuADFiles",
        "lareqa_langs",
        "read_docs",
        "read_questions",
        "task_files",
        "task_langs",
    ],
    "encoding": ["TRUNCATION_COLUMNS", "CachedEncoder", "truncation_stats"],
    "index": [
        "TeacherIndex",
        "build_index",
        "build_teacher_index",
        "check_qrel_docs",
        "run_from_search",
        "search",
        "write_trec_run",
    ],
    "metrics": [
        "MAIN_MEASURE",
        "MEASURES",
        "aggregate",
        "check_ids",
        "read_qrels",
        "read_run",
        "score_run",
    ],
    "pipeline": ["evaluate_model"],
    "run": ["resolve_lengths", "run_evaluate_model", "run_index_teacher"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
