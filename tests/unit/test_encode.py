"""The one encoder: pooling, bucketing, padding invariance, prefixes, stripping, bf16."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from otkd.encode import Encoder, length_buckets, pad_batch, pool
from otkd.models import ModelProfile, load_model

TEXTS = [
    "the man is eating bread",
    "hello",
    "a big red dog runs in the city near the river and the small cat reads a book",
    "la casa",
    "der hund isst brot",
    "water",
    "the woman reads books in the house",
]


@pytest.fixture(scope="module")
def encoder(tiny_bert_dir):
    profile = ModelProfile(
        str(tiny_bert_dir), query_prefix="query : ", passage_prefix="passage : ", max_length=64
    )
    return Encoder(profile, batch_size=3, show_progress=False, device="cpu")


def test_pool_mean_and_cls():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert pool(hidden, mask, "mean").tolist() == [[2.0, 3.0]]
    assert pool(hidden, mask, "cls").tolist() == [[1.0, 2.0]]
    with pytest.raises(ValueError, match="unknown pooling"):
        pool(hidden, mask, "max")


def test_length_buckets_cover_everything_longest_first():
    lengths = [3, 9, 1, 9, 5, 2, 7]
    buckets = length_buckets(lengths, 3)
    order = np.concatenate(buckets)
    assert sorted(order.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in order] == sorted(lengths, reverse=True)
    assert [len(b) for b in buckets] == [3, 3, 1]


def test_pad_batch():
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_embeddings_are_unit_norm_and_in_input_order(encoder):
    batched = encoder.encode(TEXTS)
    assert batched.shape == (len(TEXTS), 32) and batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([encoder.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    # distinct texts give distinct rows, so a permutation would be caught
    assert np.abs(batched[0] - batched[1]).max() > 1e-3


def test_padding_does_not_change_embeddings(encoder):
    short = "hello world"
    alone = encoder.encode([short])
    ids = encoder.tokenize([short, TEXTS[2]])
    assert len(ids[0]) < len(ids[1])
    hidden, mask = encoder.forward_ids(ids)  # one batch, short one padded
    assert mask[0].sum() == len(ids[0]) and mask[0, -1] == 0
    padded = torch.nn.functional.normalize(pool(hidden, mask), dim=-1)[0].numpy()
    np.testing.assert_allclose(padded, alone[0], atol=1e-5)


def test_prefixes_are_applied_and_inputs_stripped(encoder):
    tok = encoder.tokenizer
    (q,) = encoder.tokenize(["hello world"], role="query")
    assert tok.convert_ids_to_tokens(q) == ["[CLS]", "query", ":", "hello", "world", "[SEP]"]
    (p,) = encoder.tokenize(["hello world"], role="passage")
    assert tok.convert_ids_to_tokens(p)[1:3] == ["passage", ":"]
    assert encoder.tokenize(["  hello world \n"]) == encoder.tokenize(["hello world"])
    plain, query = encoder.encode(["hello world"]), encoder.encode(["hello world"], role="query")
    assert np.abs(plain - query).max() > 1e-3


def test_truncation_at_max_length(tiny_bert_dir):
    profile = ModelProfile(str(tiny_bert_dir), max_length=5)
    enc = Encoder(profile, show_progress=False, device="cpu")
    (ids,) = enc.tokenize([TEXTS[2]])
    assert len(ids) == 5 and enc.tokenizer.convert_ids_to_tokens(ids)[-1] == "[SEP]"


def test_bf16_close_to_fp32(tiny_bert_dir):
    profile = ModelProfile(str(tiny_bert_dir))
    fp32 = Encoder(profile, show_progress=False, device="cpu").encode(TEXTS)
    bf16 = Encoder(profile, bf16=True, show_progress=False, device="cpu").encode(TEXTS)
    assert bf16.dtype == np.float32
    cos = (fp32 * bf16).sum(1)
    assert cos.min() > 0.99
    assert not np.array_equal(fp32, bf16)  # bf16 really ran


def test_bf16_casts_only_its_own_model(tiny_bert_dir):
    """bf16 on CPU: a model the encoder loads itself gets bf16 weights (output still fp32); a
    model passed in (the student during training) keeps its fp32 weights."""
    profile = ModelProfile(str(tiny_bert_dir))
    own = Encoder(profile, bf16=True, show_progress=False, device="cpu")
    assert own.bf16_weights and next(own.model.parameters()).dtype == torch.bfloat16
    assert own.encode(TEXTS).dtype == np.float32
    shared = Encoder(profile, model=load_model(str(tiny_bert_dir))[0], tokenizer=own.tokenizer,
                     bf16=True, show_progress=False, device="cpu")  # fmt: skip
    assert not shared.bf16_weights
    assert next(shared.model.parameters()).dtype == torch.float32


def test_empty_input(encoder):
    assert encoder.encode([]).shape == (0, 32)


def test_cls_pooling_profile(tiny_bert_dir):
    enc = Encoder(
        ModelProfile(str(tiny_bert_dir), pooling="cls"), show_progress=False, device="cpu"
    )
    ids = enc.tokenize(["hello world"])
    hidden, mask = enc.forward_ids(ids)
    expected = torch.nn.functional.normalize(hidden[:, 0], dim=-1).numpy()
    np.testing.assert_allclose(enc.encode(["hello world"]), expected, atol=1e-6)
