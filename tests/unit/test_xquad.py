"""XQuAD stage: task files from tiny fake data, every broken invariant, and the real files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from otkd.download import local_name
from otkd.io import PipelineError, read_jsonl
from otkd.languages import XQUAD_LANGS, XQUAD_R_LANGS, XQUAD_R_URL, XQUAD_URL
from otkd.xquad import (
    build_xquad,
    clean_question,
    read_tsv,
    split_sentences,
    write_tsv,
    xquad_texts,
)
from workflow_utils import (
    FAKE_QUESTIONS,
    MIRROR,
    mirror_available,
    write_fake_squad,
)

LANGS, R_LANGS = ["en", "de", "ro"], ["en", "de"]
N_CANDIDATES = 9 + 10  # en: 3 + 2 + 4 sentences; de: one more in paragraph 0


def build(tmp_path: Path, mutate=None, **kwargs) -> tuple[Path, dict]:
    xq, xr = write_fake_squad(tmp_path / "in", LANGS, R_LANGS, mutate)
    out = tmp_path / "out"
    kwargs = {
        "n_questions": FAKE_QUESTIONS,
        "n_paragraphs": 3,
        "n_candidates": N_CANDIDATES,
    } | kwargs
    counts = build_xquad(xq, xr, out, ["de", "ro"], **kwargs)
    return out, counts


def qrels(path: Path) -> list[tuple[str, str]]:
    rows = [line.split() for line in path.read_text().splitlines()]
    assert all(r[1] == "0" and r[3] == "1" and len(r) == 4 for r in rows)
    return [(r[0], r[2]) for r in rows]


def test_tiny_task_files(tmp_path):
    out, counts = build(tmp_path)
    assert counts["de"] == {"questions": 5, "paragraphs": 3, "lareqa_candidates": 10}
    assert counts["ro"]["lareqa_candidates"] == 0
    q = read_tsv(out / "questions" / "de.tsv")
    assert list(q.columns) == ["qid", "text"]
    assert q["qid"].tolist() == ["q000", "q001", "q010", "q100", "q101"]
    assert q["text"][0] == "[de] Where does the river flow?"
    paras = read_jsonl(out / "paragraphs" / "ro.jsonl")
    assert [p["docid"] for p in paras] == ["a00p00", "a00p01", "a01p00"]
    assert paras[2]["title"] == "Books" and paras[2]["text"].startswith("[ro] A man reads")
    # x2en / en2x / en2en: the question's own paragraph, same ids in every language.
    expected = [
        ("q000", "a00p00"),
        ("q001", "a00p00"),
        ("q010", "a00p01"),
        ("q100", "a01p00"),
        ("q101", "a01p00"),
    ]
    for task, lang in [("x2en", "de"), ("en2x", "ro"), ("x2en", "ro"), ("en2en", "en")]:
        assert qrels(out / "qrels" / task / f"{lang}.tsv") == expected
    # LAReQA: only XQuAD-R languages (and English) get qrels; ro has none.
    assert sorted(p.name for p in (out / "qrels" / "lareqa").iterdir()) == ["de.tsv", "en.tsv"]
    assert not (out / "lareqa" / "questions" / "ro.tsv").exists()
    lareqa = qrels(out / "qrels" / "lareqa" / "de.tsv")
    assert lareqa == qrels(out / "qrels" / "lareqa" / "en.tsv")
    by_q: dict[str, list[str]] = {}
    for qid, docid in lareqa:
        by_q.setdefault(qid, []).append(docid)
    assert len(by_q) == 5 and all(len(v) == 2 for v in by_q.values())
    # German splits sentence 0 of paragraph 0: its answer sentence is one position later.
    assert by_q["q000"] == ["en_a00p00_s1", "de_a00p00_s2"]
    assert by_q["q101"] == ["en_a01p00_s0", "de_a01p00_s0"]


def test_a_smaller_lareqa_pool_keeps_its_languages_candidates_and_relevance(tmp_path):
    out, counts = build(tmp_path, lareqa_pool=["de"])
    candidates = read_jsonl(out / "lareqa" / "candidates.jsonl")
    assert {c["lang"] for c in candidates} == {"de"} and len(candidates) == 10
    assert counts["en"]["lareqa_candidates"] == 0 and counts["de"]["lareqa_candidates"] == 10
    # every question keeps one relevant candidate, in the pool; English queries still run
    for lang in ("en", "de"):
        lareqa = qrels(out / "qrels" / "lareqa" / f"{lang}.tsv")
        assert len(lareqa) == 5 and all(d.startswith("de_") for _, d in lareqa), lareqa
    assert ("q000", "de_a00p00_s2") in lareqa
    # the full pool is the default; a language outside XQuAD-R is named
    assert build(tmp_path / "all", lareqa_pool=None)[1]["en"]["lareqa_candidates"] == 9
    # the files given, all pooled, keep the candidate check; a named pool smaller than
    # XTREME-R's 11 languages has no known total, even when it names every file given (the
    # data stage reads only the pool's, English's and the config languages' files)
    with pytest.raises(PipelineError, match="expected 13014"):
        build(tmp_path / "whole", lareqa_pool=None, n_candidates=13014)
    build(tmp_path / "named", lareqa_pool=["en", "de"], n_candidates=13014)
    with pytest.raises(PipelineError, match=r"evaluation.lareqa_pool.*\['ro'\]"):
        build(tmp_path / "ro", lareqa_pool=["de", "ro"])


def test_candidates_follow_xtreme_r(tmp_path):
    def newline(kind, lang, data):
        if kind == "xquad_r" and lang == "en":
            para = data["data"][1]["paragraphs"][0]
            para["context"] = para["context"].replace("red. He", "red.\nHe")

    out, _ = build(tmp_path, newline)
    cands = read_jsonl(out / "lareqa" / "candidates.jsonl")
    assert len(cands) == N_CANDIDATES
    assert len({c["docid"] for c in cands}) == N_CANDIDATES
    c = next(c for c in cands if c["docid"] == "en_a01p00_s1")
    assert c == {
        "docid": "en_a01p00_s1",
        "lang": "en",
        "paragraph": "a01p00",
        "position": 1,
        "sentence": "The book is red.",
        "text": "The book is red.A man reads a book. The book is red.He likes it. It is his.",
    }
    assert [c["position"] for c in cands if c["lang"] == "de" and c["paragraph"] == "a00p00"] == [
        0,
        1,
        2,
        3,
    ]


def test_questions_normalised_texts_kept(tmp_path):
    def odd(kind, lang, data):
        if kind == "xquad" and lang == "de":
            data["data"][0]["paragraphs"][0]["qas"][0]["question"] = " Wo\tfließt e\u0301r? "
            data["data"][0]["paragraphs"][0]["context"] = (
                "\ufeff" + data["data"][0]["paragraphs"][0]["context"]
            )

    out, _ = build(tmp_path, odd)
    assert read_tsv(out / "questions" / "de.tsv")["text"][0] == "Wo fließt \u00e9r?"
    assert read_jsonl(out / "paragraphs" / "de.jsonl")[0]["text"].startswith("\ufeff[de]")


def broken(kind_, lang_, edit):
    def mutate(kind, lang, data):
        if (kind, lang) == (kind_, lang_):
            edit(data)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "culprit", "message"),
    [
        (
            broken("xquad", "de", lambda d: d["data"][0]["paragraphs"][0]["qas"].pop()),
            "xquad.de.json",
            "4 questions, expected 5",
        ),
        (
            broken(
                "xquad",
                "ro",
                lambda d: d["data"][0]["paragraphs"][0]["qas"].extend(
                    d["data"][1]["paragraphs"].pop()["qas"]
                ),
            ),
            "xquad.ro.json",
            "2 paragraphs, expected 3",
        ),
        (
            broken(
                "xquad",
                "ro",
                lambda d: d["data"][1]["paragraphs"][0]["qas"][0].update(id="zzz"),
            ),
            "xquad.ro.json",
            "not parallel",
        ),
        (
            broken(
                "xquad_r",
                "de",
                lambda d: d["data"][0]["paragraphs"][1]["qas"][0]["answers"][0].update(
                    answer_start=len("[de] The cat is small.")
                ),
            ),
            "xquad-r/de.json",
            "lies in no sentence",
        ),
        (
            broken(
                "xquad_r",
                "de",
                lambda d: d["data"][0]["paragraphs"][0].update(sentence_breaks=[[5, 2]]),
            ),
            "xquad-r/de.json",
            "sentence break",
        ),
        (
            broken("xquad", "en", lambda d: d["data"][0]["paragraphs"][0].pop("context")),
            "xquad.en.json",
            "not in SQuAD/XQuAD format",
        ),
    ],
)
def test_broken_invariant_names_file_and_writes_nothing(tmp_path, mutate, culprit, message):
    with pytest.raises(PipelineError) as err:
        build(tmp_path, mutate)
    assert culprit in str(err.value) and message in str(err.value)
    assert not (tmp_path / "out").exists()


def test_wrong_candidate_total_and_invalid_json(tmp_path):
    with pytest.raises(PipelineError, match=f"{N_CANDIDATES} LAReQA candidates, expected 13014"):
        build(tmp_path, n_candidates=13014)
    xq, xr = write_fake_squad(tmp_path / "in2", LANGS, R_LANGS)
    xq["de"].write_text('{"data": [', encoding="utf-8")
    with pytest.raises(PipelineError, match=r"xquad\.de\.json: cannot read XQuAD JSON"):
        build_xquad(xq, xr, tmp_path / "out2", ["de"], n_questions=5, n_paragraphs=3)
    assert not (tmp_path / "out2").exists()


def test_real_defaults_reject_tiny_data(tmp_path):
    xq, xr = write_fake_squad(tmp_path / "in", LANGS, R_LANGS)
    with pytest.raises(PipelineError, match="5 questions, expected 1190"):
        build_xquad(xq, xr, tmp_path / "out", ["de"])


def test_tsv_round_trip_keeps_quotes_and_na(tmp_path):
    df = pd.DataFrame({"qid": ["a", "b", "c"], "text": ['He said "hi"', '"quoted', "NA"]})
    write_tsv(tmp_path / "x.tsv", df)
    assert (tmp_path / "x.tsv").read_text().splitlines()[1] == 'a\tHe said "hi"'
    pd.testing.assert_frame_equal(read_tsv(tmp_path / "x.tsv"), df)


def test_text_helpers():
    assert clean_question("  a\r\nb\t c ") == "a b  c"
    assert split_sentences("One. Two! Three? 四。五！ Six") == [
        "One.",
        "Two!",
        "Three?",
        "四。",
        "五！",
        "Six",
    ]


@pytest.mark.skipif(not mirror_available(), reason="offline mirror absent")
def test_real_xquad_invariants(tmp_path):
    """The real files: 1190 x 12 questions, 240 paragraphs, 13,014 candidates, 11 relevant."""
    xq = {lang: MIRROR / local_name(XQUAD_URL.format(lang=lang)) for lang in XQUAD_LANGS}
    xr = {lang: MIRROR / local_name(XQUAD_R_URL.format(lang=lang)) for lang in XQUAD_R_LANGS}
    targets = [c for c in XQUAD_LANGS if c != "en"]
    counts = build_xquad(xq, xr, tmp_path, targets)
    assert all(c["questions"] == 1190 and c["paragraphs"] == 240 for c in counts.values())
    assert counts["th"]["lareqa_candidates"] == 852 and counts["de"]["lareqa_candidates"] == 1276
    assert sum(c["lareqa_candidates"] for c in counts.values()) == 13014
    lareqa = qrels(tmp_path / "qrels" / "lareqa" / "th.tsv")
    assert len(lareqa) == 1190 * 11
    docids = {json.loads(line)["docid"] for line in open(tmp_path / "lareqa/candidates.jsonl")}
    assert {d for _, d in lareqa} <= docids
    assert len(qrels(tmp_path / "qrels" / "x2en" / "ro.tsv")) == 1190
    assert not (tmp_path / "qrels" / "lareqa" / "ro.tsv").exists()
    texts = set(xquad_texts(xq, xr))
    assert "How many points did the Panthers defense surrender?" in texts
