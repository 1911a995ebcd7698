"""The `data` target for real through Snakemake on a tiny config (real offline mirror)."""

from __future__ import annotations

import json
import shutil

import pytest
from otkd.bitext import read_pairs
from otkd.download import local_name
from otkd.languages import XQUAD_URL
from otkd.xquad import read_tsv
from workflow_utils import MIRROR, data_config, data_urls, mirror_available, run_snakemake

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not mirror_available(), reason="offline mirror absent"),
]


def test_data_target_on_tiny_config(tmp_path):
    config = data_config()
    result = run_snakemake(tmp_path, config, ["data"])
    assert result.returncode == 0, result.stderr[-3000:]
    data = tmp_path / "results" / "data"
    summary = json.loads((data / "summary.json").read_text())
    assert summary["languages"] == ["de", "th"]
    assert summary["lareqa"]["candidates"] == 13014 and summary["lareqa"]["questions"] == 13090
    for lang in ["en", "de", "th"]:
        entry = summary["per_language"][lang]
        assert entry["xquad_questions"] == 1190 and entry["xquad_paragraphs"] == 240
    assert summary["per_language"]["th"]["lareqa_candidates"] == 852
    th = summary["per_language"]["th"]["bitext"]
    assert th["train"]["raw_tatoeba"] == 1154 and th["train"]["raw_ntrex"] == 1997
    assert th["train"]["final"] == 64 and th["dev"]["final"] == 16
    assert th["dev"]["raw_flores"] == 1012
    train = read_pairs(data / "bitext" / "train.tsv")
    assert train["lang"].tolist() == ["de"] * 64 + ["th"] * 64
    # XQuAD only in English and the config languages; XQuAD-R in every pool language
    assert sorted(p.stem for p in (data / "xquad" / "questions").iterdir()) == ["de", "en", "th"]
    assert len(read_tsv(data / "xquad" / "lareqa" / "questions" / "ru.tsv")) == 1190
    qrels = data / "xquad" / "qrels"
    assert sorted(p.name for p in (qrels / "x2en").iterdir()) == ["de.tsv", "th.tsv"]
    assert sorted(p.name for p in (qrels / "lareqa").iterdir()) == ["de.tsv", "en.tsv", "th.tsv"]
    for rule in ["xquad", "bitext"]:
        assert (tmp_path / "results" / "benchmarks" / "data" / f"{rule}.tsv").is_file()
        assert (tmp_path / "logs" / "data" / f"{rule}.log").is_file()
    # Everything is up to date: a second invocation has nothing to do.
    again = run_snakemake(tmp_path, config, ["data"], "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_broken_xquad_file_stops_the_stage(tmp_path):
    """A German XQuAD file missing a question fails rule xquad, naming it; no output stays."""
    config = data_config()
    downloads = tmp_path / "results" / "download"
    for url in data_urls(config):  # pre-placed downloads: only rule xquad runs
        name = local_name(url)
        (downloads / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MIRROR / name, downloads / name)
    bad = downloads / local_name(XQUAD_URL.format(lang="de"))
    data = json.loads(bad.read_text(encoding="utf-8"))
    data["data"][3]["paragraphs"][1]["qas"].pop()
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result = run_snakemake(tmp_path, config, ["results/data/xquad/lareqa/candidates.jsonl"])
    assert result.returncode != 0
    assert f"{bad.relative_to(tmp_path)}: 1189 questions, expected 1190" in result.stderr
    assert not (tmp_path / "results" / "data").exists() or not any(
        p.is_file() for p in (tmp_path / "results" / "data").rglob("*")
    )
