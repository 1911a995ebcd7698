"""Evaluate one model on every task and language: encode, search, TREC runs, scores.

The protocol (which side each task encodes with which model, the shared teacher index,
``student_init`` in its own space) and the files written: ``docs/ARCHITECTURE.md``
(evaluate). Every text is encoded once per model and role (:class:`CachedEncoder`), e.g. a
question shared by ``x2en`` and ``lareqa``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..io import PipelineError, atomic_path, write_df
from ..languages import ENGLISH
from .encoding import TRUNCATION_COLUMNS, CachedEncoder
from .index import (
    TeacherIndex,
    build_index,
    check_qrel_docs,
    run_from_search,
    search,
    write_trec_run,
)
from .metrics import MEASURES, aggregate, read_qrels, score_run
from .tasks import (
    LAREQA_TEXT_FIELD,
    EvalLengths,
    XQuADFiles,
    read_docs,
    read_questions,
    task_langs,
)

log = logging.getLogger(__name__)


def _search_task(index, docids, qids, queries, qrels_path, top_k, *, where):
    qrels = read_qrels(qrels_path)
    check_qrel_docs(qrels, docids, where=f"{qrels_path} vs {where}")
    scores, ids = search(index, queries, top_k)
    return qrels, run_from_search(qids, docids, scores, ids)


def evaluate_model(
    model: str,
    encoder,
    files: XQuADFiles,
    out_dir,
    *,
    tasks: Sequence[str],
    langs: Sequence[str],
    teacher_index: TeacherIndex | None,
    lengths: EvalLengths,
    index_spec: str = "Flat",
    top_k: int = 100,
    lareqa_candidate_text: str = "sentence_paragraph",
) -> pd.DataFrame:
    """Evaluate one model on every task and language; write runs, per-query, metrics and
    truncation.

    Writes under ``out_dir``: ``runs/{task}/{lang}.trec`` (TREC, top ``top_k``),
    ``perquery.tsv.gz`` (``task lang qid measure value``, gzip), ``metrics.tsv``
    (``task lang measure value n_queries``) and ``truncation.tsv`` (what each maximum length
    of ``lengths`` cut, per task, language and role; :data:`TRUNCATION_COLUMNS`); returns the
    metrics. ``teacher_index`` is the shared English side (None: the model encodes both sides
    itself, as ``student_init``), its own truncation rows marked ``encoder`` = teacher.
    """
    out_dir = Path(out_dir)
    enc = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder)
    start = time.perf_counter()
    if lareqa_candidate_text not in LAREQA_TEXT_FIELD:
        raise PipelineError(
            f"config key 'evaluation.lareqa_candidate_text': {lareqa_candidate_text!r} is not "
            f"one of {sorted(LAREQA_TEXT_FIELD)}"
        )
    pairs = task_langs(tasks, langs)
    perquery, truncation = [], []

    def cut(task, lang, role, texts, max_length, label=None):
        row = enc.truncation(texts, role, max_length)
        if row is not None:
            kind = label or role
            truncation.append({"task": task, "lang": lang, "role": kind, "encoder": "model", **row})

    def teacher_cut(task, role):
        row = teacher_index.truncation.get(role)
        if row:
            truncation.append(
                {"task": task, "lang": ENGLISH, "role": role, "encoder": "teacher", **row}
            )

    def english_questions():
        qids, texts = read_questions(files.questions(ENGLISH))
        if teacher_index is not None:
            if qids != teacher_index.qids:
                raise PipelineError(
                    f"{files.questions(ENGLISH)}: question ids differ from the teacher index "
                    "meta.json (rebuild the index)"
                )
            return qids, teacher_index.questions
        cut("en2x", ENGLISH, "query", texts, lengths.query)
        return qids, enc.encode(texts, "query", max_length=lengths.query, desc="en questions")

    english = None  # (index, docids, texts or None for the teacher index) of English paragraphs
    lareqa = None  # (index, docids) of the pooled LAReQA candidates
    with atomic_path(out_dir / "runs", is_dir=True) as runs_dir:
        for task, lang in pairs:
            where = f"{model} {task}/{lang}"
            if task in ("x2en", "en2en"):
                if english is None and teacher_index is not None:
                    english = (teacher_index.index, teacher_index.docids, None)
                elif english is None:
                    docids, ptexts = read_docs(files.paragraphs(ENGLISH))
                    emb = enc.encode(
                        ptexts, "passage", max_length=lengths.passage, desc="en paragraphs"
                    )
                    english = (build_index(emb, index_spec), docids, ptexts)
                index, docids, ptexts = english
                if ptexts is None:  # the teacher index's side
                    teacher_cut(task, "passage")
                else:
                    cut(task, ENGLISH, "passage", ptexts, lengths.passage)
                qids, texts = read_questions(files.questions(lang))
                cut(task, lang, "query", texts, lengths.query)
                queries = enc.encode(
                    texts, "query", max_length=lengths.query, desc=f"{lang} questions"
                )
            elif task == "en2x":
                qids, queries = english_questions()
                if teacher_index is not None:
                    teacher_cut(task, "query")
                docids, ptexts = read_docs(files.paragraphs(lang))
                cut(task, lang, "passage", ptexts, lengths.passage)
                emb = enc.encode(
                    ptexts, "passage", max_length=lengths.passage, desc=f"{lang} paragraphs"
                )
                index = build_index(emb, index_spec)
            else:  # lareqa
                field = LAREQA_TEXT_FIELD[lareqa_candidate_text]
                if lareqa is None:
                    docids, ctexts = read_docs(files.candidates(), field)
                    emb = enc.encode(
                        ctexts,
                        "passage",
                        max_length=lengths.lareqa_candidate,
                        desc="lareqa candidates",
                    )
                    lareqa = (build_index(emb, index_spec), docids)
                    by_lang = {}
                    for docid, text in zip(docids, ctexts, strict=True):
                        by_lang.setdefault(docid.split("_", 1)[0], []).append(text)
                    for cand_lang, texts in by_lang.items():
                        cut(
                            task, cand_lang, "passage", texts, lengths.lareqa_candidate, "candidate"
                        )
                index, docids = lareqa
                qids, texts = read_questions(files.lareqa_questions(lang))
                cut(task, lang, "query", texts, lengths.lareqa_query)
                queries = enc.encode(
                    texts, "query", max_length=lengths.lareqa_query, desc=f"{lang} lareqa questions"
                )
            qrels_path = files.qrels(task, lang)
            qrels, run = _search_task(index, docids, qids, queries, qrels_path, top_k, where=where)
            write_trec_run(runs_dir / task / f"{lang}.trec", run, tag=model)
            scores = score_run(qrels, run, MEASURES[task], where=f"{qrels_path} vs {where}")
            perquery.append(scores.assign(task=task, lang=lang))
            means = scores.groupby("measure", sort=False)["value"].mean()
            log.info("%s: %s", where, ", ".join(f"{m}={v:.4f}" for m, v in means.items()))
    pq = pd.concat(perquery, ignore_index=True)[["task", "lang", "qid", "measure", "value"]]
    metrics = aggregate(pq)
    write_df(out_dir / "perquery.tsv.gz", pq, float_format="%.6g")
    write_df(out_dir / "metrics.tsv", metrics, float_format="%.6g")
    trunc = pd.DataFrame(truncation, columns=TRUNCATION_COLUMNS).drop_duplicates()
    write_df(out_dir / "truncation.tsv", trunc, float_format="%.6g")
    log.info(
        "%s: %d texts encoded in %.1f s; evaluation %.1f s",
        model,
        enc.n_encoded,
        enc.seconds,
        time.perf_counter() - start,
    )
    return metrics
