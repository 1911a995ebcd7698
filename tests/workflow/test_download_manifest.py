"""The download manifest (workflow/resources/downloads.tsv) against the language tables,
its reader's errors, and the config keys that replace or extend it."""

from __future__ import annotations

import re

import pytest
import yaml
from otkd.download import MANIFEST, download_entries, local_name, read_manifest, sha256_file
from otkd.io import PipelineError
from otkd.languages import LANGUAGES, XQUAD_LANGS, XQUAD_R_LANGS, XQUAD_R_URL, XQUAD_URL
from workflow_utils import MIRROR, ROOT, data_urls, run_snakemake, tiny_config

SOURCES = ["tatoeba", "ntrex", "flores"]
SHA = "0" * 64


@pytest.fixture(scope="module")
def default_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def write_manifest(path, rows, header="url\tsha256"):
    path.write_text("\n".join([header, *("\t".join(row) for row in rows)]) + "\n")
    return path


def test_manifest_is_exactly_what_the_data_stage_reads(default_config):
    rows = MANIFEST.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "url\tsha256"
    urls = [row.split("\t")[0] for row in rows[1:]]
    assert len(urls) == len(set(urls)) == 69  # no duplicates
    assert all(re.fullmatch(r"[0-9a-f]{64}", row.split("\t")[1]) for row in rows[1:])
    # the default config uses every language and every source: nothing missing, none unused
    assert set(default_config["languages"]) == set(LANGUAGES)
    assert {*default_config["bitext"]["train_sources"], default_config["bitext"]["dev_source"]} == {
        *SOURCES
    }
    assert set(urls) == data_urls(default_config)
    assert set(urls) == set(read_manifest())
    xquad = {XQUAD_URL.format(lang=lang) for lang in XQUAD_LANGS}
    xquad_r = {XQUAD_R_URL.format(lang=lang) for lang in XQUAD_R_LANGS}
    assert len(xquad) == 12 and len(xquad_r) == 11 and xquad | xquad_r <= set(urls)
    # 11 languages x 3 sources x (en, xx) = 66 bitext URLs; FLORES and NTREX share English
    assert len(set(urls) - xquad - xquad_r) == 66 - 2 * 10


@pytest.mark.skipif(not MIRROR.is_dir(), reason="offline mirror absent")
def test_manifest_checksums_match_the_mirror():
    entries = read_manifest()
    mirrored = {url: MIRROR / local_name(url) for url in entries}
    present = {url: path for url, path in mirrored.items() if path.is_file()}
    assert present, "mirror holds none of the manifest's files"
    wrong = [url for url, path in present.items() if sha256_file(path) != entries[url]["sha256"]]
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([["https://x.org/a", SHA]], "url\tsha", r":1: header must be url<TAB>sha256"),
        ([["https://x.org/a", "ABC"]], "url\tsha256", r":2: sha256 of https://x.org/a must be"),
        ([["x.org/a", SHA]], "url\tsha256", r":2: 'x.org/a' is not an http\(s\) or file URL"),
        ([["https://x.org/a"]], "url\tsha256", r":2: expected 2 tab-separated fields"),
        (
            [["https://x.org/a", SHA], ["https://x.org/a", SHA]],
            "url\tsha256",
            r":3: https://x.org/a is listed twice",
        ),
    ],
)
def test_bad_manifest_names_file_and_line(tmp_path, rows, header, message):
    path = write_manifest(tmp_path / "m.tsv", rows, header)
    with pytest.raises(PipelineError, match=re.escape(str(path)) + message):
        read_manifest(path)


def test_missing_manifest_names_the_config_key(tmp_path):
    with pytest.raises(PipelineError, match="config key 'downloads_manifest'"):
        download_entries({"downloads_manifest": str(tmp_path / "absent.tsv")})


def test_config_replaces_and_extends_the_manifest(tmp_path):
    xquad_en = XQUAD_URL.format(lang="en")
    entries = download_entries(
        {
            "extra_downloads": [
                {"url": xquad_en, "sha256": SHA},
                {"url": "file:///d/x", "sha256": SHA},
            ]
        }
    )
    assert len(entries) == 70 and entries["d/x"] == {"url": "file:///d/x", "sha256": SHA}
    assert entries[local_name(xquad_en)]["sha256"] == SHA != read_manifest()[xquad_en]["sha256"]
    other = write_manifest(tmp_path / "other.tsv", [["https://x.org/a/b", SHA]])
    assert download_entries({"downloads_manifest": str(other)}) == {
        "x.org/a/b": {"url": "https://x.org/a/b", "sha256": SHA}
    }


def test_workflow_reads_the_configured_manifest(tmp_path):
    """A manifest without the German XQuAD file stops the dry run, naming the file."""
    missing = XQUAD_URL.format(lang="de")
    rows = [[url, e["sha256"]] for url, e in read_manifest().items() if url != missing]
    manifest = write_manifest(tmp_path / "partial.tsv", rows)
    result = run_snakemake(tmp_path, tiny_config(downloads_manifest=str(manifest)), ["data"], "-n")
    assert result.returncode != 0
    assert f"{missing} is needed by the data stage but is not in the download manifest" in (
        result.stdout + result.stderr
    )
    back = tiny_config(
        downloads_manifest=str(manifest),
        extra_downloads=[{"url": missing, "sha256": read_manifest()[missing]["sha256"]}],
    )
    assert run_snakemake(tmp_path, back, ["data"], "-n").returncode == 0
