"""FAISS index, search, TREC runs, and the shared teacher index of the English side.

The index is ``faiss.index_factory(d, spec, METRIC_INNER_PRODUCT)`` (``Flat`` = exact inner
product = cosine on the L2-normalised embeddings). Files of ``results/index/teacher/``:
``docs/ARCHITECTURE.md`` (evaluate).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from ..io import PipelineError, atomic_path, load_npy, save_npy, write_json
from ..languages import ENGLISH
from .encoding import CachedEncoder
from .tasks import XQuADFiles, read_docs, read_questions

log = logging.getLogger(__name__)

INDEX_FILE, QUESTIONS_FILE, META_FILE = "paragraphs_en.faiss", "questions_en.f32.npy", "meta.json"


def build_index(embeddings: np.ndarray, spec: str = "Flat") -> faiss.Index:
    """A FAISS inner-product index from ``faiss.index_factory(d, spec, METRIC_INNER_PRODUCT)``,
    trained on the embeddings when the index type needs training, holding all of them."""
    emb = np.ascontiguousarray(embeddings, dtype=np.float32)
    try:
        index = faiss.index_factory(emb.shape[1], spec, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise PipelineError(f"config key 'evaluation.index': invalid FAISS spec {spec!r}") from exc
    if not index.is_trained:
        index.train(emb)
    index.add(emb)
    return index


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` (scores, row ids) per query, best first (k capped at the index size)."""
    k = min(k, index.ntotal)
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def run_from_search(
    qids: Sequence[str], docids: Sequence[str], scores: np.ndarray, ids: np.ndarray
) -> dict[str, dict[str, float]]:
    """``{qid: {docid: score}}`` from FAISS output (ids of -1, i.e. no hit, are dropped)."""
    run = {}
    for qid, row_s, row_i in zip(qids, scores, ids, strict=True):
        run[qid] = {docids[i]: float(s) for s, i in zip(row_s, row_i, strict=True) if i >= 0}
    return run


def write_trec_run(path, run: dict[str, dict[str, float]], tag: str) -> None:
    """Write a TREC run ``qid Q0 docid rank score tag``, ranks by decreasing score."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for qid, docs in run.items():
            ranked = sorted(docs.items(), key=lambda kv: -kv[1])
            for rank, (docid, score) in enumerate(ranked, 1):
                fh.write(f"{qid} Q0 {docid} {rank} {score:.8f} {tag}\n")


def check_qrel_docs(qrels, docids: Sequence[str], *, where: str) -> None:
    """Fail when a relevant document of the qrels is not in the searched collection."""
    known = set(docids)
    missing = sorted({d for docs in qrels.values() for d in docs} - known)
    if missing:
        raise PipelineError(
            f"{where}: {len(missing)} relevant docids are not in the collection "
            f"(e.g. {missing[:3]}): task builder and evaluation disagree"
        )


# ----------------------------------------------------------------------------- teacher index


def build_teacher_index(
    encoder,
    files: XQuADFiles,
    out_dir,
    *,
    query_max_length: int,
    passage_max_length: int,
    index_spec: str = "Flat",
    spec: str = "",
) -> None:
    """Encode the English side once with the teacher and store it in ``out_dir``.

    Writes ``paragraphs_en.faiss`` (the deployed English paragraph index, role "passage",
    at ``passage_max_length`` tokens), ``questions_en.f32.npy`` (English questions, role
    "query", at ``query_max_length``, for ``en2x``) and ``meta.json`` (docids and qids in
    index/array order, model spec, index spec, the two lengths and what they cut:
    :func:`otkd.evaluate.encoding.truncation_stats` per role).
    """
    out_dir = Path(out_dir)
    enc = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder)
    docids, texts = read_docs(files.paragraphs(ENGLISH))
    qids, questions = read_questions(files.questions(ENGLISH))
    para = enc.encode(texts, "passage", max_length=passage_max_length, desc="teacher en paragraphs")
    quest = enc.encode(questions, "query", max_length=query_max_length, desc="teacher en questions")
    truncation = {
        "passage": enc.truncation(texts, "passage", passage_max_length),
        "query": enc.truncation(questions, "query", query_max_length),
    }
    index = build_index(para, index_spec)
    with atomic_path(out_dir / INDEX_FILE) as tmp:
        faiss.write_index(index, str(tmp))
    save_npy(out_dir / QUESTIONS_FILE, np.asarray(quest, dtype=np.float32))
    write_json(
        out_dir / META_FILE,
        {
            "spec": spec,
            "index": index_spec,
            "dim": int(para.shape[1]),
            "max_length": {"query": query_max_length, "passage": passage_max_length},
            "truncation": truncation,
            "docids": docids,
            "qids": qids,
        },
    )
    log.info(
        "teacher index: %d paragraphs, %d questions, d=%d", len(docids), len(qids), para.shape[1]
    )


@dataclass
class TeacherIndex:
    """The shared English side: paragraph index (x2en) and question embeddings (en2x)."""

    index: faiss.Index
    docids: list[str]
    qids: list[str]
    questions: np.ndarray
    truncation: dict = field(default_factory=dict)  # role -> truncation_stats of the teacher

    @classmethod
    def load(cls, path) -> TeacherIndex:
        path = Path(path)
        try:
            meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise PipelineError(
                f"{path / META_FILE}: cannot read teacher index meta ({exc})"
            ) from exc
        try:
            index = faiss.read_index(str(path / INDEX_FILE))
        except RuntimeError as exc:
            raise PipelineError(f"{path / INDEX_FILE}: corrupted FAISS index ({exc})") from exc
        questions = np.asarray(
            load_npy(path / QUESTIONS_FILE, shape=(len(meta["qids"]), meta["dim"]), dtype="float32")
        )
        if index.ntotal != len(meta["docids"]) or index.d != meta["dim"]:
            raise PipelineError(f"{path / INDEX_FILE}: size/dimension disagree with meta.json")
        truncation = {role: row for role, row in meta.get("truncation", {}).items() if row}
        return cls(index, list(meta["docids"]), list(meta["qids"]), questions, truncation)
