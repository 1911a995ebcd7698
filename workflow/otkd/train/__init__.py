"""Training stage: distil the teacher into the multilingual student on bitext.

The student learns, from (English e_i, translation f_i) pairs only, to put S(f_i) (and, with
``train.english_term``, S(e_i)) where the frozen teacher puts T(e_i). Teacher targets come
ONLY from the teacher cache (``results/teacher_cache/{split}``): the teacher never runs
here. Batches are length-bucketed across all languages; the dev set (FLORES) selects the
checkpoint; XQuAD is never read.

Modules: ``data`` (split files, loading, budgets), ``sampler`` (length-bucketed batches),
``student`` (student wrapper, teacher features), ``dev`` (dev scores), ``setup`` (one run's
model, projection, loss and optimizer; one step), ``loop`` (:func:`train`), ``checkpoint``,
``sweep`` (sweep round and selection tables). What a run is (names, arms, settings) lives in :mod:`otkd.runs`.
"""

from .checkpoint import save_checkpoint, trainable_state
from .data import SIDES, SplitData, SplitPaths, budget_rows, content_ids, load_split
from .dev import DEV_BATCH_SIZE, DEV_METRICS, dev_accuracy, dev_scores
from .loop import CURVE_COLUMNS, LOG_COLUMNS, train
from .sampler import CHUNK_BATCHES, batch_plan, batch_stream, padding_share
from .setup import TrainingRun, build_projection, setup_run
from .student import Student, pad_mask, teacher_features
from .sweep import check_round, select, summarize_round

__all__ = [
    "CHUNK_BATCHES",
    "CURVE_COLUMNS",
    "DEV_BATCH_SIZE",
    "LOG_COLUMNS",
    "SIDES",
    "SplitData",
    "SplitPaths",
    "Student",
    "TrainingRun",
    "batch_plan",
    "batch_stream",
    "budget_rows",
    "build_projection",
    "content_ids",
    "DEV_METRICS",
    "dev_accuracy",
    "dev_scores",
    "load_split",
    "pad_mask",
    "padding_share",
    "save_checkpoint",
    "setup_run",
    "check_round",
    "select",
    "summarize_round",
    "teacher_features",
    "trainable_state",
    "train",
]
