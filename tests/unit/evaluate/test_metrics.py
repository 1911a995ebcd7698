"""Metrics: hand-computed values, the AP@20 denominator, id agreement, TREC run round trip."""

from __future__ import annotations

import math

import ir_measures
import pytest
from otkd.evaluate.index import write_trec_run
from otkd.evaluate.metrics import aggregate, check_ids, read_qrels, read_run, score_run
from otkd.io import PipelineError

PARA = ["nDCG@10", "RR@10", "R@1", "R@10"]


def values(df, qid):
    return dict(zip(df.loc[df.qid == qid, "measure"], df.loc[df.qid == qid, "value"], strict=True))


def test_hand_built_run_paragraph_measures():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d4": 1}}
    run = {
        "q1": {"d3": 0.9, "d1": 0.8, "d2": 0.1},  # relevant at rank 2
        "q2": {"d2": 0.7, "d1": 0.5},  # relevant at rank 1
        # relevant at rank 11: outside every @10 cutoff
        "q3": {**{f"x{i}": 1.0 - i / 100 for i in range(10)}, "d4": 0.5},
    }
    df = score_run(qrels, run, PARA)
    q1, q2, q3 = values(df, "q1"), values(df, "q2"), values(df, "q3")
    assert q1["RR@10"] == pytest.approx(0.5)
    assert q1["R@1"] == 0 and q1["R@10"] == 1
    assert q1["nDCG@10"] == pytest.approx(1 / math.log2(3))
    assert all(v == pytest.approx(1.0) for v in q2.values())
    assert all(v == 0 for v in q3.values())
    agg = aggregate(df.assign(task="x2en", lang="de"))
    means = dict(zip(agg["measure"], agg["value"], strict=True))
    assert means["RR@10"] == pytest.approx(0.5)
    assert means["R@1"] == pytest.approx(1 / 3)
    assert means["R@10"] == pytest.approx(2 / 3)
    assert means["nDCG@10"] == pytest.approx((1 / math.log2(3) + 1) / 3)
    assert set(agg["n_queries"]) == {3}


def test_ap20_lareqa_definition_by_hand():
    # 3 relevant: hits at ranks 1 and 3, the third at rank 25 (beyond the cutoff)
    ranking = ["a", "x1", "b"] + [f"y{i}" for i in range(21)] + ["c"]
    run = {"q": {d: 1.0 - i / 100 for i, d in enumerate(ranking)}}
    qrels = {"q": {"a": 1, "b": 1, "c": 1}}
    ap = score_run(qrels, run, ["AP@20"])["value"].iloc[0]
    assert ap == pytest.approx((1 / 1 + 2 / 3) / 3)


def test_ap20_denominator_is_min_rel_20_not_trec_eval_total():
    """ir_measures' AP@20 (trec_eval map_cut_20) divides by #rel; LAReQA by min(#rel, 20)."""
    qrels = {"q": {f"r{i}": 1 for i in range(25)}}
    run = {"q": {"r0": 1.0, "x": 0.9, "r1": 0.8}}
    raw = ir_measures.calc_aggregate([ir_measures.parse_measure("AP@20")], qrels, run)
    assert list(raw.values())[0] == pytest.approx((1 + 2 / 3) / 25)  # trec_eval: / #rel
    ours = score_run(qrels, run, ["AP@20"])["value"].iloc[0]
    assert ours == pytest.approx((1 + 2 / 3) / 20)  # LAReQA: / min(#rel, 20)


def test_ap20_eleven_relevant_all_on_top_is_one():
    rel = {f"{lang}_a00p00_s1": 1 for lang in "ar de el en es hi ru th tr vi zh".split()}
    run = {"q": {**{d: 1.0 for d in rel}, "en_a00p00_s0": 0.5}}
    assert score_run({"q": rel}, run, ["AP@20"])["value"].iloc[0] == pytest.approx(1.0)


def test_check_ids_rejects_missing_and_extra_queries():
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    with pytest.raises(PipelineError, match="1 qrel queries missing"):
        score_run(qrels, {"q1": {"d1": 1.0}}, PARA, where="x2en/de")
    with pytest.raises(PipelineError, match="1 run queries without qrels"):
        check_ids(qrels, {"q1": {}, "q2": {}, "q9": {}}, where="x2en/de")


def test_read_qrels_names_bad_line(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_text("q1 0 d1 1\nq2 0 d2\n")
    with pytest.raises(PipelineError, match=r"qrels.tsv:2"):
        read_qrels(path)


def test_trec_run_round_trip_scores_like_memory(tmp_path):
    qrels = {"q1": {"d1": 1}, "q2": {"d3": 1}}
    run = {"q1": {"d2": 0.9, "d1": 0.3}, "q2": {"d1": 0.2, "d3": 0.8, "d2": 0.1}}
    path = tmp_path / "run.trec"
    write_trec_run(path, run, tag="m")
    lines = path.read_text().splitlines()
    assert lines[0].split() == ["q1", "Q0", "d2", "1", "0.90000000", "m"]
    assert lines[2].split()[2:4] == ["d3", "1"]  # re-ranked by score
    back = read_run(path)
    assert score_run(qrels, back, PARA).equals(score_run(qrels, run, PARA))
