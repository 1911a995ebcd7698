"""Bitext stage: reading, each cleaning step, XQuAD and dev overlap, seeded sampling."""

from __future__ import annotations

from pathlib import Path

import pytest
from otkd.bitext import (
    CleanParams,
    Source,
    StepLog,
    build_bitext,
    clean_pairs,
    match_key,
    read_lines,
    read_pairs,
    read_parallel,
    remove_overlap,
    sample_pairs,
    stable_seed,
)
from otkd.io import PipelineError
from otkd.xquad import read_tsv
from workflow_utils import write_fake_squad


def write_lines(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + end for line in lines), encoding="utf-8")
    return path


def steps_of(log: StepLog) -> dict[str, tuple[int, int]]:
    return {r["step"]: (r["before"], r["removed"]) for r in log.rows}


def test_unequal_sides_name_both_files_and_counts(tmp_path):
    en = write_lines(tmp_path / "a.eng", ["One.", "Two.", "Three."])
    xx = write_lines(tmp_path / "a.deu", ["Eins.", "Zwei."])
    with pytest.raises(PipelineError) as err:
        read_parallel(en, xx)
    msg = str(err.value)
    assert f"{en} has 3 lines" in msg and f"{xx} has 2 lines" in msg


def test_read_lines_bom_crlf_and_unicode_separators(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes("\ufeffa\u2028b\r\nc\rd\n".encode())
    assert read_lines(path) == ["a\u2028b", "c\rd"]
    path.write_text("a\n\nb", encoding="utf-8")  # no final newline, one empty line
    assert read_lines(path) == ["a", "", "b"]


def test_match_key():
    assert match_key("\ufeff  Cafe\u0301  IS\tgood ") == match_key("café is good")
    assert match_key("Straße") == match_key("STRASSE")
    assert match_key("a b") != match_key("ab")


def test_clean_pairs_counts_every_step():
    pairs = [("Hello there.", "Hallo da.")] * 2  # duplicate
    pairs += [("hello  THERE.", "hallo da.")]  # duplicate after casefold and spaces
    pairs += [("  ", "Leer."), ("Empty.", "")]  # empty sides
    pairs += [("Hi", "Hallo."), ("Fine.", "x" * 31)]  # too short / too long
    pairs += [(f"Sentence number {i}.", f"Satz Nummer {i}.") for i in range(6)]
    pairs += [("Hi there.", "Ein sehr langer Satz hier")]  # ratio 2.8, 3.6 x the median
    pairs += [("Tab\there", "Tab\u2028da")]
    log = StepLog("de", "train")
    out = clean_pairs(pairs, CleanParams(min_chars=3, max_chars=30, max_length_ratio=3.0), log)
    assert steps_of(log) == {
        "empty": (15, 2),
        "length": (13, 2),
        "ratio": (11, 1),
        "duplicate": (10, 2),
    }
    assert out[0] == ("Hello there.", "Hallo da.")
    assert ("Tab here", "Tab da") in out
    assert all(r["kept"] == r["before"] - r["removed"] for r in log.rows)


def test_ratio_is_relative_to_the_language_median():
    # Chinese-like: foreign side a third of the English length; all kept, one outlier.
    pairs = [(f"This is English sentence {i:02d}.", f"中文句子{i:02d}。") for i in range(20)]
    pairs.append(("Yes, indeed it is.", "这是一个非常非常非常非常非常非常非常非常长的句子。"))
    log = StepLog("zh", "train")
    out = clean_pairs(pairs, CleanParams(min_chars=2, max_chars=300, max_length_ratio=3.0), log)
    assert len(out) == 20 and steps_of(log)["ratio"] == (21, 1)


def test_overlap_matches_either_side_normalised():
    keys = {match_key("Where does the river flow?"), match_key("Der Fluss ist lang.")}
    pairs = [
        ("where does  the RIVER flow?", "Wohin fließt der Fluss?"),  # English side
        ("The river is long.", "Der Fluss ist lang."),  # foreign side
        ("The cat.", "Die Katze."),
    ]
    log = StepLog("de", "train")
    assert remove_overlap(pairs, keys, "xquad_overlap", log) == [("The cat.", "Die Katze.")]
    assert steps_of(log) == {"xquad_overlap": (3, 2)}


def test_sampling_is_seeded_stable_and_nested():
    pairs = [(f"e{i}", f"x{i}") for i in range(50)]
    a = sample_pairs(pairs, 10, 13, "de", "train")
    assert a == sample_pairs(pairs, 10, 13, "de", "train")
    assert a != sample_pairs(pairs, 10, 14, "de", "train")
    assert a != sample_pairs(pairs, 10, 13, "th", "train")
    assert sample_pairs(pairs, 4, 13, "de", "train") == a[:4]
    assert len(set(a)) == 10 and len(sample_pairs(pairs, 99, 13, "de", "train")) == 50
    # sha256-based, not hash(): the same value in every process and Python version.
    assert stable_seed(13, "de", "train") == 8618330653681639656


def test_min_above_max_names_config_key():
    with pytest.raises(PipelineError, match="config key 'bitext.min_chars'"):
        CleanParams(min_chars=10, max_chars=5)


@pytest.fixture()
def tiny_sources(tmp_path):
    """Two languages with two train sources and a dev source each, plus fake XQuAD."""
    xq, xr = write_fake_squad(tmp_path / "xq", ["en", "de", "th"], ["en", "de", "th"])
    root = tmp_path / "bitext"
    sources = {}
    for lang in ["th", "de"]:  # config order, not alphabetical
        en_a = [f"{lang} train sentence {i}." for i in range(30)]
        xx_a = [f"[{lang}] Trainsatz {i}." for i in range(30)]
        en_a[0], xx_a[1] = "Where does the river flow?", f"[{lang}] The cat is small."  # XQuAD
        en_b, xx_b = ["News item one.", "Dev sentence 3."], ["Nachricht eins.", "Devsatz drei."]
        en_dev = [f"Dev sentence {i}." for i in range(8)]
        xx_dev = [f"Devsatz {i}." for i in range(8)]
        en_dev[7] = "What does the cat eat?"  # XQuAD question in the dev source
        sources[lang] = {
            "train": [
                Source(
                    "tatoeba",
                    write_lines(root / f"t.{lang}.en", en_a),
                    write_lines(root / f"t.{lang}.xx", xx_a),
                ),
                (
                    "ntrex",
                    write_lines(root / f"n.{lang}.en", en_b),
                    write_lines(root / f"n.{lang}.xx", xx_b),
                ),
            ],
            "dev": (
                "flores",
                write_lines(root / f"f.{lang}.en", en_dev),
                write_lines(root / f"f.{lang}.xx", xx_dev),
            ),
        }
    return sources, xq, xr, tmp_path / "out"


def run_build(sources, xq, xr, out, **kwargs):
    kwargs = {"seed": 13, "budget": 20, "dev_budget": 7, "params": CleanParams()} | kwargs
    return build_bitext(
        sources, xq, xr, out / "train.tsv", out / "dev.tsv", out / "stats.tsv", **kwargs
    )


def test_build_bitext_tiny(tiny_sources):
    sources, xq, xr, out = tiny_sources
    stats = run_build(sources, xq, xr, out)
    train, dev = read_pairs(out / "train.tsv"), read_pairs(out / "dev.tsv")
    assert (out / "train.tsv").read_text().splitlines()[0] == "lang\ten\txx"
    assert train["lang"].tolist() == ["th"] * 20 + ["de"] * 20
    assert dev["lang"].tolist() == ["th"] * 7 + ["de"] * 7
    assert "Where does the river flow?" not in set(train["en"])
    assert "What does the cat eat?" not in set(dev["en"])
    assert read_tsv(out / "stats.tsv").equals(stats.astype(str))
    th = stats[(stats["lang"] == "th") & (stats["split"] == "train")].set_index("step")
    assert th.loc["raw:tatoeba", "kept"] == 30 and th.loc["raw", "kept"] == 32
    assert th.loc["xquad_overlap", "removed"] == 2
    # All 7 clean dev pairs are sampled, so NTREX's "Dev sentence 3." is removed from train.
    assert "Dev sentence 3." in set(dev["en"])
    assert th.loc["dev_overlap", "removed"] == 1
    assert th.loc["budget", "kept"] == 20
    chain = th["kept"].tolist()[2:]
    assert chain == sorted(chain, reverse=True)
    for _, rows in stats.groupby(["lang", "split"]):
        steps = rows[~rows["step"].str.startswith("raw")]
        assert steps["before"].tolist()[1:] == steps["kept"].tolist()[:-1]
    dev_th = stats[(stats["lang"] == "th") & (stats["split"] == "dev")].set_index("step")
    assert dev_th.loc["xquad_overlap", "removed"] == 1
    # Same seed, same files: identical output; another seed: another sample.
    first = (out / "train.tsv").read_text()
    run_build(sources, xq, xr, out)
    assert (out / "train.tsv").read_text() == first
    run_build(sources, xq, xr, out, seed=14)
    assert (out / "train.tsv").read_text() != first


def test_build_bitext_unequal_sides_writes_nothing(tiny_sources):
    sources, xq, xr, out = tiny_sources
    name, en, xx = sources["de"]["train"][1]
    write_lines(Path(xx), ["only one line"])
    with pytest.raises(PipelineError, match=f"{en} has 2 lines, {xx} has 1 lines"):
        run_build(sources, xq, xr, out)
    assert not out.exists()


def test_curve_pool_holds_the_train_sample_as_a_prefix(tiny_sources):
    """The learning-curve pool is the same seeded permutation cut longer: per language the
    train pairs are its first rows, and a budget above the pool keeps every clean pair."""
    sources, xq, xr, out = tiny_sources
    stats = run_build(sources, xq, xr, out, budget=10, curve_out=out / "curve.tsv", curve_budget=25)
    train, curve = read_pairs(out / "train.tsv"), read_pairs(out / "curve.tsv")
    for lang in ("th", "de"):
        t, c = train[train["lang"] == lang], curve[curve["lang"] == lang]
        assert len(t) == 10 and len(c) == 25
        assert t.reset_index(drop=True).equals(c.head(10).reset_index(drop=True))
    row = stats[(stats["lang"] == "de") & (stats["split"] == "curve")].set_index("step")
    assert row.loc["budget", "kept"] == 25
    # the train split does not depend on the pool size
    first = (out / "train.tsv").read_text()
    run_build(sources, xq, xr, out, budget=10, curve_out=out / "curve.tsv", curve_budget=200)
    assert (out / "train.tsv").read_text() == first
    pool = read_pairs(out / "curve.tsv")
    assert (pool["lang"] == "de").sum() == 29  # every clean, non-overlapping pair
