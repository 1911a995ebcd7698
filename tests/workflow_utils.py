"""Helpers for tests that run the Snakemake workflow or need tiny XQuAD-format data.

- ``TINY_CONFIG``: the checked-in tiny end-to-end config, ``tests/configs/tiny/config.yaml``.
- ``tiny_config(mirror=..., models_dir=..., **overrides)``: that file, with the mirror and
  (when given) the model directories made absolute; overrides are merged in recursively.
- ``data_config(**overrides)``: the tiny config with two languages and larger budgets, for
  the data-stage tests.
- ``data_urls(config)``: every URL the data stage reads under a config.
- ``run_snakemake(workdir, config, targets, *extra_args)``: write the config into
  ``workdir`` and run the repo's Snakefile there with ``--cores 2``.
- ``planned_jobs(result)``: rule -> job count of a dry run's 'Job stats' table.
- ``write_fake_squad(...)``: a tiny parallel XQuAD / XQuAD-R fixture in any languages.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from otkd.download import local_name
from otkd.languages import (
    XQUAD_LANGS,
    XQUAD_R_LANGS,
    XQUAD_R_URL,
    XQUAD_URL,
    source_urls,
)
from otkd.report.runtime import job_stats

ROOT = Path(__file__).resolve().parent.parent
TINY_CONFIG = ROOT / "tests" / "configs" / "tiny" / "config.yaml"

# the offline mirror lies in shared/ beside the checkout (CI clones elsewhere, with a copy)
MIRROR = next(
    (p for p in (ROOT.parent / "shared" / "mirror", Path("/work/shared/mirror")) if p.is_dir()),
    ROOT.parent / "shared" / "mirror",
)
LOCAL_PROFILE = ROOT / "profiles" / "local" / "config.yaml"
SNAKEMAKE = ROOT / ".venv" / "bin" / "snakemake"
if not SNAKEMAKE.exists():
    SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def mirror_available(mirror: str | Path = MIRROR) -> bool:
    """Whether the offline mirror holds the XQuAD files (tests on real data skip if not)."""
    return (Path(mirror) / local_name(XQUAD_URL.format(lang="en"))).is_file()


def deep_update(base: dict, overrides: Mapping) -> dict:
    """Recursively merge ``overrides`` into ``base`` (dicts merged, anything else replaced)."""
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def data_urls(config: Mapping) -> set[str]:
    """Every URL the data stage reads under ``config`` (XQuAD, XQuAD-R, bitext sources)."""
    urls = {XQUAD_URL.format(lang=lang) for lang in XQUAD_LANGS}
    urls |= {XQUAD_R_URL.format(lang=lang) for lang in XQUAD_R_LANGS}
    bitext = config["bitext"]
    for lang in config["languages"]:
        for source in [*bitext["train_sources"], bitext["dev_source"]]:
            urls.update(source_urls(source, lang))
    return urls


def tiny_config(
    *, mirror: str | Path = MIRROR, models_dir: str | Path | None = None, **overrides
) -> dict:
    """The checked-in tiny end-to-end config (``TINY_CONFIG``), for a temporary workdir.

    Only what must point outside the workdir changes: mirrors become ``[mirror]``
    (absolute) and, when ``models_dir`` is given, the model specs become
    ``models_dir/teacher`` and ``models_dir/student`` (as tests/make_tiny_models.py writes
    them). ``overrides`` are merged recursively, e.g.
    ``tiny_config(languages=["de", "th"], bitext={"budget_per_language": 64})``.
    """
    config = yaml.safe_load(TINY_CONFIG.read_text(encoding="utf-8"))
    config["mirrors"] = [str(Path(mirror).resolve())]
    if models_dir is not None:
        for role in ("teacher", "student"):
            config["models"][role]["spec"] = str(Path(models_dir).resolve() / role)
    return deep_update(config, overrides)


def e2e_config(tmp: Path, **overrides) -> dict:
    """tests/configs/tiny/config.yaml with its tiny models built under ``tmp``; top-level
    ``overrides`` replace whole sections."""
    from make_tiny_models import make_tiny_models

    make_tiny_models(tmp / "tiny_models")
    cfg = tiny_config(models_dir=tmp / "tiny_models")
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


def data_config(**overrides) -> dict:
    """The tiny config for data-stage runs: languages de and th, 64 train / 16 dev pairs
    per language, XTREME-R's whole LAReQA pool (``overrides`` merged recursively)."""
    config = tiny_config(
        languages=["de", "th"],
        groups={"lower_resource": ["th"], "higher_resource": ["de"]},
        bitext={"budget_per_language": 64, "dev_per_language": 16},
        evaluation={"lareqa_pool": "all"},  # the real counts are checked
    )
    return deep_update(config, overrides)


def local_set_threads() -> list[str]:
    """``--set-threads`` of ``profiles/local`` (one thread per heavy job, so that two run side
    by side on 2 cores), as Snakemake options."""
    profile = yaml.safe_load(LOCAL_PROFILE.read_text(encoding="utf-8"))
    return ["--set-threads", *(f"{rule}={n}" for rule, n in profile["set-threads"].items())]


def snakemake_command(
    workdir: str | Path, config: Mapping, *args: str, cores: int = 2
) -> list[str]:
    """Write ``config`` into ``workdir`` and return the command running the repo's Snakefile
    there on it (``args``: options and targets). Without a ``--profile`` in ``args``, the
    thread counts of ``profiles/local``: the rules' own (2 to 4) would let one tiny job hold
    both cores, and the tiny DAG ran one job at a time for 86% of its wall time."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "test_config.yaml"
    cfg.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    threads = [] if "--profile" in args else local_set_threads()
    return [
        str(SNAKEMAKE),
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(cfg),
        *threads,  # before --cores, which ends its list of values
        "--cores",
        str(cores),
        *args,
    ]


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table (otkd.report.runtime.job_stats)."""
    return job_stats(result.stdout)


def run_snakemake(
    workdir: str | Path,
    config: Mapping,
    targets: Iterable[str] | str,
    *extra_args: str,
    timeout: float = 900,
) -> subprocess.CompletedProcess:
    """Run the repo's Snakefile in ``workdir`` on ``config`` (written there), ``--cores 2``.

    Output is captured as text; the caller checks ``returncode``.
    """
    targets = [targets] if isinstance(targets, str) else list(targets)
    cmd = snakemake_command(workdir, config, *extra_args, *targets)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)


# --- tiny XQuAD / XQuAD-R fixtures -------------------------------------------------------

# Per paragraph (article, paragraph): the English sentences and questions
# (qid, question, index of the answer sentence).
FAKE_PARAGRAPHS = [
    (
        ["The river is long.", "It flows through the big city.", "Fish live in it."],
        [("q000", "Where does the river flow?", 1), ("q001", "What lives in it?", 2)],
    ),
    (
        ["The cat is small.", "It eats bread."],
        [("q010", "What does the cat eat?", 1)],
    ),
    (
        ["A man reads a book.", "The book is red.", "He likes it.", "It is his."],
        [("q100", "What colour is the book?", 1), ("q101", "Who reads a book?", 0)],
    ),
]
FAKE_ARTICLES = [("Rivers", [0, 1]), ("Books", [2])]
FAKE_QUESTIONS = sum(len(qs) for _, qs in FAKE_PARAGRAPHS)


def fake_paragraph(lang: str, index: int) -> tuple[list[str], list[tuple[str, str, int]]]:
    """Sentences and questions of fake paragraph ``index`` "translated" into ``lang``.

    English is as in FAKE_PARAGRAPHS; other languages tag every text with the language,
    and German splits the first sentence of paragraph 0 in two, so its answer sentences
    there sit one position later than in English (as real translations do).
    """
    sentences, questions = FAKE_PARAGRAPHS[index]
    if lang == "en":
        return list(sentences), list(questions)
    sents = [f"[{lang}] {s}" for s in sentences]
    qs = [(qid, f"[{lang}] {q}", pos) for qid, q, pos in questions]
    if lang == "de" and index == 0:
        sents = ["[de] Der Fluss.", "[de] Er ist lang."] + sents[1:]
        qs = [(qid, q, pos + 1) for qid, q, pos in qs]
    return sents, qs


def fake_squad(lang: str, *, sentences: bool) -> dict:
    """A SQuAD-format dict of the fake data in ``lang`` (with XQuAD-R fields if asked)."""
    data = []
    for title, indices in FAKE_ARTICLES:
        paragraphs = []
        for index in indices:
            sents, questions = fake_paragraph(lang, index)
            breaks, pos = [], 0
            for s in sents:
                breaks.append([pos, pos + len(s)])
                pos += len(s) + 1
            context = " ".join(sents)
            para = {
                "context": context,
                "qas": [
                    {
                        "id": qid,
                        "question": question,
                        "answers": [{"answer_start": breaks[at][0] + 2, "text": sents[at][2:5]}],
                    }
                    for qid, question, at in questions
                ],
            }
            if sentences:
                para["sentence_breaks"] = breaks
                para["sentences"] = sents
            paragraphs.append(para)
        data.append({"title": title, "paragraphs": paragraphs})
    return {"data": data, "version": "1.1"}


def write_fake_squad(
    root: str | Path, langs: Iterable[str], r_langs: Iterable[str], mutate=None
) -> tuple[dict[str, Path], dict[str, Path]]:
    """Write fake ``xquad.{lang}.json`` and ``xquad-r/{lang}.json`` files under ``root``.

    ``mutate(kind, lang, data)`` (kind ``"xquad"`` or ``"xquad_r"``) may edit a file's
    dict before it is written, to break an invariant. Returns the two lang -> path maps.
    """
    root = Path(root)
    (root / "xquad-r").mkdir(parents=True, exist_ok=True)
    out: tuple[dict[str, Path], dict[str, Path]] = ({}, {})
    for kind, codes, paths in (("xquad", langs, out[0]), ("xquad_r", r_langs, out[1])):
        for lang in codes:
            data = fake_squad(lang, sentences=kind == "xquad_r")
            if mutate is not None:
                mutate(kind, lang, data)
            path = root / (f"xquad.{lang}.json" if kind == "xquad" else f"xquad-r/{lang}.json")
            path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            paths[lang] = path
    return out
