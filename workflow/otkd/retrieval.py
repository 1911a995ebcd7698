"""Retrieval evaluation on XQuAD: encode what each task needs, FAISS index, search, TREC runs.

Protocol (``docs/research-brief.md``), for a model M under evaluation:

- ``x2en``: questions in X encoded by M (role "query") against the 240 English paragraphs
  encoded once by the teacher (role "passage"), the shared, deployed English index
  (:func:`build_teacher_index`, ``results/index/teacher/``);
- ``en2x``: English questions encoded by the teacher (shared, stored beside the index) against
  the 240 paragraphs in X encoded by M;
- ``en2en``: the x2en protocol with X = English (the sanity row: the teacher must score high);
- ``lareqa``: XQuAD-R questions in X (XQuAD-R languages, English included) against the pooled
  13,014 candidates of all languages, everything encoded by M; the candidates are encoded once
  per model and searched by every language.

Exception: ``student_init`` lives in its own embedding space, so it encodes both sides of every
task itself (``teacher_index=None``). ``teacher`` uses itself everywhere, which the shared index
already is.

The index is ``faiss.index_factory(d, spec, METRIC_INNER_PRODUCT)`` (``Flat`` = exact inner
product = cosine on the L2-normalised embeddings). Every text is encoded once per model and
role (:class:`CachedEncoder`), e.g. a question shared by ``x2en`` and ``lareqa``.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

from .io import PipelineError, atomic_path, load_npy, read_jsonl, save_npy, write_df, write_json
from .languages import ENGLISH, XQUAD_R_LANGS
from .metrics import MEASURES, aggregate, read_qrels, score_run
from .models import ModelProfile
from .runs import parse_model

log = logging.getLogger(__name__)

INDEX_FILE, QUESTIONS_FILE, META_FILE = "paragraphs_en.faiss", "questions_en.f32.npy", "meta.json"


# ----------------------------------------------------------------------------- model names


def model_profile(
    model: str, models_cfg: dict, train_dir: str | Path = "results/train"
) -> ModelProfile:
    """The profile a model is evaluated with (config key ``models``).

    ``teacher`` and ``student_init`` use ``models.teacher`` / ``models.student``; a trained
    ``{arm}_seed{seed}`` uses the student's pooling, prefixes and max length with its
    checkpoint directory ``{train_dir}/{arm}/seed{seed}/model`` as spec, and a learning-curve
    run ``{arm}_n{budget}_seed{seed}`` its ``{train_dir}/{arm}/n{budget}/seed{seed}/model``.
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


# ----------------------------------------------------------------------------- task files


def read_questions(path) -> tuple[list[str], list[str]]:
    """``qid<TAB>text`` TSV with header -> (qids, texts); ids must be unique."""
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    except (OSError, pd.errors.ParserError) as exc:
        raise PipelineError(f"{path}: cannot read questions ({exc})") from exc
    if list(df.columns) != ["qid", "text"]:
        raise PipelineError(f"{path}: header must be 'qid<TAB>text', got {list(df.columns)}")
    if df.empty:
        raise PipelineError(f"{path}: no questions")
    dup = df["qid"][df["qid"].duplicated()]
    if len(dup):
        raise PipelineError(f"{path}: duplicate qid {dup.iloc[0]!r}")
    return df["qid"].tolist(), df["text"].tolist()


def read_docs(path, text_field: str = "text") -> tuple[list[str], list[str]]:
    """JSON lines with ``docid`` and ``text_field`` -> (docids, texts); ids must be unique."""
    rows = read_jsonl(path)
    if not rows:
        raise PipelineError(f"{path}: no documents")
    docids, texts = [], []
    for i, row in enumerate(rows, 1):
        if "docid" not in row or text_field not in row:
            raise PipelineError(f"{path}:{i}: row lacks 'docid' or {text_field!r}")
        docids.append(str(row["docid"]))
        texts.append(str(row[text_field]))
    if len(set(docids)) != len(docids):
        raise PipelineError(f"{path}: duplicate docids")
    return docids, texts


LAREQA_TEXT_FIELD = {"sentence_paragraph": "text", "sentence": "sentence"}


@dataclass
class XQuADFiles:
    """Paths of the XQuAD task files written by the data stage (``docs/ARCHITECTURE.md``)."""

    root: Path = Path("results/data/xquad")

    def questions(self, lang: str) -> Path:
        return Path(self.root) / "questions" / f"{lang}.tsv"

    def paragraphs(self, lang: str) -> Path:
        return Path(self.root) / "paragraphs" / f"{lang}.jsonl"

    def lareqa_questions(self, lang: str) -> Path:
        return Path(self.root) / "lareqa" / "questions" / f"{lang}.tsv"

    def candidates(self) -> Path:
        return Path(self.root) / "lareqa" / "candidates.jsonl"

    def qrels(self, task: str, lang: str) -> Path:
        return Path(self.root) / "qrels" / task / f"{lang}.tsv"


def lareqa_langs(langs: Sequence[str]) -> list[str]:
    """XQuAD-R languages among English and ``langs``, English first (ro has no XQuAD-R)."""
    wanted = [ENGLISH, *langs]
    return [lang for lang in wanted if lang in XQUAD_R_LANGS]


def task_langs(tasks: Sequence[str], langs: Sequence[str]) -> list[tuple[str, str]]:
    """Every (task, lang) evaluated: config tasks over config languages, ``en2en``/``en`` when
    ``x2en`` is evaluated, ``lareqa`` over :func:`lareqa_langs`."""
    out = []
    for task in tasks:
        if task == "x2en":
            out += [(task, lang) for lang in langs] + [("en2en", ENGLISH)]
        elif task == "en2x":
            out += [(task, lang) for lang in langs]
        elif task == "lareqa":
            out += [(task, lang) for lang in lareqa_langs(langs)]
        else:
            raise PipelineError(f"config key 'evaluation.tasks': unknown task {task!r}")
    return out


# ----------------------------------------------------------------------------- encoding


class CachedEncoder:
    """Wrap an encoder so that each (role, max_length, text) is encoded once.

    ``encoder`` needs ``encode(texts, role, *, max_length=None, desc=...)`` returning
    L2-normalised float32 ``(n, d)`` and a ``dim`` attribute (:class:`otkd.encode.Encoder`).
    """

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.cache: dict[tuple[str | None, int | None], dict[str, np.ndarray]] = {}
        self.n_encoded = 0
        self.seconds = 0.0

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def encode(
        self, texts: Sequence[str], role: str, *, max_length: int | None = None, desc: str = ""
    ) -> np.ndarray:
        """Embeddings ``(len(texts), d)`` in input order; only unseen texts reach the model."""
        store = self.cache.setdefault((role, max_length), {})
        new = list(dict.fromkeys(t for t in texts if t not in store))
        if new:
            start = time.perf_counter()
            emb = self.encoder.encode(new, role, max_length=max_length, desc=desc or role)
            self.seconds += time.perf_counter() - start
            self.n_encoded += len(new)
            emb = np.asarray(emb, dtype=np.float32)
            if emb.shape != (len(new), self.dim):
                raise PipelineError(f"encoder returned shape {emb.shape} for {len(new)} texts")
            store.update(zip(new, emb, strict=True))
            log.info("%s: encoded %d new texts (%d requested)", desc or role, len(new), len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([store[t] for t in texts])


# ----------------------------------------------------------------------------- index, search


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
    encoder, files: XQuADFiles, out_dir, *, index_spec: str = "Flat", spec: str = ""
) -> None:
    """Encode the English side once with the teacher and store it in ``out_dir``.

    Writes ``paragraphs_en.faiss`` (the deployed English paragraph index, role "passage"),
    ``questions_en.f32.npy`` (English questions, role "query", for ``en2x``) and
    ``meta.json`` (docids and qids in index/array order, model spec, index spec).
    """
    out_dir = Path(out_dir)
    docids, texts = read_docs(files.paragraphs(ENGLISH))
    qids, questions = read_questions(files.questions(ENGLISH))
    para = encoder.encode(texts, "passage", desc="teacher en paragraphs")
    quest = encoder.encode(questions, "query", desc="teacher en questions")
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
        return cls(index, list(meta["docids"]), list(meta["qids"]), questions)


# ----------------------------------------------------------------------------- one model


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
    index_spec: str = "Flat",
    top_k: int = 100,
    lareqa_candidate_text: str = "sentence_paragraph",
    lareqa_max_length: int | None = None,
) -> pd.DataFrame:
    """Evaluate one model on every task and language; write runs, per-query and metrics.

    Writes under ``out_dir``: ``runs/{task}/{lang}.trec`` (TREC, top ``top_k``),
    ``perquery.tsv`` (``task lang qid measure value``) and ``metrics.tsv``
    (``task lang measure value n_queries``); returns the metrics. ``teacher_index`` is the
    shared English side (None: the model encodes both sides itself, as ``student_init``).
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
    perquery = []

    def english_questions():
        qids, texts = read_questions(files.questions(ENGLISH))
        if teacher_index is not None:
            if qids != teacher_index.qids:
                raise PipelineError(
                    f"{files.questions(ENGLISH)}: question ids differ from the teacher index "
                    "meta.json (rebuild the index)"
                )
            return qids, teacher_index.questions
        return qids, enc.encode(texts, "query", desc="en questions")

    english = None  # (index, docids) of the English paragraphs
    lareqa = None  # (index, docids) of the pooled LAReQA candidates
    with atomic_path(out_dir / "runs", is_dir=True) as runs_dir:
        for task, lang in pairs:
            where = f"{model} {task}/{lang}"
            if task in ("x2en", "en2en"):
                if english is None and teacher_index is not None:
                    english = (teacher_index.index, teacher_index.docids)
                elif english is None:
                    docids, ptexts = read_docs(files.paragraphs(ENGLISH))
                    emb = enc.encode(ptexts, "passage", desc="en paragraphs")
                    english = (build_index(emb, index_spec), docids)
                index, docids = english
                qids, texts = read_questions(files.questions(lang))
                queries = enc.encode(texts, "query", desc=f"{lang} questions")
            elif task == "en2x":
                qids, queries = english_questions()
                docids, ptexts = read_docs(files.paragraphs(lang))
                emb = enc.encode(ptexts, "passage", desc=f"{lang} paragraphs")
                index = build_index(emb, index_spec)
            else:  # lareqa
                if lareqa is None:
                    field = LAREQA_TEXT_FIELD[lareqa_candidate_text]
                    docids, ctexts = read_docs(files.candidates(), field)
                    emb = enc.encode(
                        ctexts, "passage", max_length=lareqa_max_length, desc="lareqa candidates"
                    )
                    lareqa = (build_index(emb, index_spec), docids)
                index, docids = lareqa
                qids, texts = read_questions(files.lareqa_questions(lang))
                queries = enc.encode(texts, "query", desc=f"{lang} lareqa questions")
            qrels_path = files.qrels(task, lang)
            qrels, run = _search_task(index, docids, qids, queries, qrels_path, top_k, where=where)
            write_trec_run(runs_dir / task / f"{lang}.trec", run, tag=model)
            scores = score_run(qrels, run, MEASURES[task], where=f"{qrels_path} vs {where}")
            perquery.append(scores.assign(task=task, lang=lang))
            means = scores.groupby("measure", sort=False)["value"].mean()
            log.info("%s: %s", where, ", ".join(f"{m}={v:.4f}" for m, v in means.items()))
    pq = pd.concat(perquery, ignore_index=True)[["task", "lang", "qid", "measure", "value"]]
    metrics = aggregate(pq)
    write_df(out_dir / "perquery.tsv", pq, float_format="%.6g")
    write_df(out_dir / "metrics.tsv", metrics, float_format="%.6g")
    log.info(
        "%s: %d texts encoded in %.1f s; evaluation %.1f s",
        model,
        enc.n_encoded,
        enc.seconds,
        time.perf_counter() - start,
    )
    return metrics


# ----------------------------------------------------------------------------- rule entry points


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
    from .encode import Encoder

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
    from .encode import Encoder

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
