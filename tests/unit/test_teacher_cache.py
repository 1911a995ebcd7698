"""Teacher cache stage: round trip, equality with the encoder, corruption detection."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from otkd.caches import POOLED, TOKENS, TokenArrays
from otkd.encode import Encoder
from otkd.io import PipelineError
from otkd.models import ModelProfile, load_model, load_tokenizer
from otkd.teacher_cache import TeacherCache, build_teacher_cache, encode_token_arrays
from otkd.tokenize import tokenize_texts

TEXTS = [
    "the man is eating bread",
    "hello world",
    "a big red dog runs in the city and the small cat reads a book",
    "water",
    "the woman reads books in the house",
    "der hund isst brot",
    "la casa",
]


@pytest.fixture(scope="module")
def tokens_file(tiny_bert_dir, tmp_path_factory):
    arrays = tokenize_texts(load_tokenizer(str(tiny_bert_dir)), TEXTS, max_length=10)
    path = tmp_path_factory.mktemp("tokens") / "teacher_en.npz"
    arrays.save(path)
    return path


@pytest.fixture(scope="module")
def cache_dir(tiny_bert_dir, tokens_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("cache") / "train"
    build_teacher_cache(
        tokens_file, out, ModelProfile(str(tiny_bert_dir)), batch_size=3, show_progress=False
    )
    return out


def test_round_trip_shapes_and_meta(cache_dir, tokens_file, tiny_bert_dir):
    arrays = TokenArrays.load(tokens_file)
    cache = TeacherCache(cache_dir, verify_hashes=True)
    n_content = int(arrays.content.sum())
    assert (len(cache), cache.dim, cache.meta["n_tokens"]) == (len(TEXTS), 32, n_content)
    meta = json.loads((cache_dir / "meta.json").read_text())
    assert meta["spec"] == str(tiny_bert_dir) and meta["bf16"] is False
    assert meta["n_truncated"] == 1 and set(meta["sha256"]) == {POOLED, TOKENS, "offsets.i64.npy"}
    assert np.load(cache_dir / POOLED).dtype == np.float16
    _, mask = cache.tokens(range(len(TEXTS)))
    assert mask.sum(1).tolist() == [int(arrays.content_mask(i).sum()) for i in range(len(TEXTS))]


def test_pooled_equals_encoder(cache_dir, tiny_bert_dir):
    enc = Encoder(
        ModelProfile(str(tiny_bert_dir), max_length=10), show_progress=False, device="cpu"
    )
    expected = enc.encode(TEXTS)
    got = TeacherCache(cache_dir).pooled(range(len(TEXTS))).numpy()
    np.testing.assert_allclose(got, expected, atol=2e-3)  # fp16 storage
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=2e-3)


def test_token_rows_are_the_content_states_of_an_unpadded_forward(
    cache_dir, tokens_file, tiny_bert_dir
):
    arrays = TokenArrays.load(tokens_file)
    model, _ = load_model(str(tiny_bert_dir))
    cache = TeacherCache(cache_dir)
    for i in (0, 2, 3):  # a normal, the truncated and a one-word sentence, in reverse order
        ids = torch.as_tensor(arrays.seq(i), dtype=torch.long)[None]
        with torch.no_grad():
            hidden = model(input_ids=ids).last_hidden_state[0]
        keep = torch.as_tensor(arrays.content_mask(i))
        expected = torch.nn.functional.normalize(hidden[keep], dim=-1).numpy()
        rows, mask = cache.tokens([3, i])
        np.testing.assert_allclose(rows[1, : mask[1].sum()].numpy(), expected, atol=2e-3)
        assert mask[1].sum() == keep.sum()


def test_truncated_tokens_file_is_detected(cache_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(cache_dir, broken)
    data = (broken / TOKENS).read_bytes()
    (broken / TOKENS).write_bytes(data[: len(data) - 64])
    with pytest.raises(PipelineError, match="tokens.f16.npy"):
        TeacherCache(broken)


def test_swapped_array_is_caught_by_hash(cache_dir, tmp_path):
    import shutil

    broken = tmp_path / "swapped"
    shutil.copytree(cache_dir, broken)
    pooled = np.load(broken / POOLED)
    np.save(broken / POOLED, pooled[::-1].copy())  # same shape, different content
    TeacherCache(broken, verify_hashes=False)  # shapes still fine
    with pytest.raises(PipelineError, match="sha256"):
        TeacherCache(broken)


def test_one_changed_byte_in_pooled_is_an_error_naming_file_and_rule(cache_dir, tmp_path):
    import shutil

    broken = tmp_path / "results" / "teacher_cache" / "train"
    shutil.copytree(cache_dir, broken)
    data = bytearray((broken / POOLED).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one value: shape, dtype and size unchanged
    (broken / POOLED).write_bytes(bytes(data))
    with pytest.raises(PipelineError) as err:
        TeacherCache(broken)
    msg = str(err.value)
    assert str(broken / POOLED) in msg and "sha256 differs" in msg, msg
    assert f"delete {broken} and rerun rule build_teacher_cache" in msg, msg
    # the intact cache still opens, verified, and reads the recorded values
    assert np.array_equal(
        TeacherCache(cache_dir).pooled([0]).numpy(),
        np.load(cache_dir / POOLED)[:1].astype(np.float32),
    )


def test_bf16_cache_close_to_fp32(cache_dir, tokens_file, tiny_bert_dir, tmp_path):
    out = tmp_path / "bf16"
    build_teacher_cache(
        tokens_file, out, ModelProfile(str(tiny_bert_dir)), bf16=True, show_progress=False
    )
    a = TeacherCache(cache_dir).pooled(range(len(TEXTS)))
    b = TeacherCache(out).pooled(range(len(TEXTS)))
    assert TeacherCache(out).meta["bf16"] is True
    assert (a * b).sum(1).min() > 0.99 and not torch.equal(a, b)


def test_tokens_from_another_tokenizer_are_rejected(tiny_bert_dir):
    enc = Encoder(ModelProfile(str(tiny_bert_dir)), show_progress=False, device="cpu")
    arrays = TokenArrays.from_lists([[2, 99999, 3]], [[False, True, False]], [False])
    with pytest.raises(PipelineError, match="vocabulary size"):
        encode_token_arrays(enc, arrays)


def test_failed_build_leaves_no_output(tiny_bert_dir, tmp_path):
    bad = tmp_path / "teacher_en.npz"
    bad.write_bytes(b"not a npz")
    out = tmp_path / "cache"
    with pytest.raises(PipelineError, match="teacher_en.npz"):
        build_teacher_cache(bad, out, ModelProfile(str(tiny_bert_dir)), show_progress=False)
    assert not out.exists()
