"""The XQuAD task files the data stage writes, and which (task, language) pairs are evaluated.

No torch, faiss or ir_measures: ``workflow/rules/common.smk`` imports :func:`task_langs` and
:func:`task_files` at DAG-build time. File formats: ``docs/ARCHITECTURE.md`` (data).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import section_defaults
from ..io import PipelineError, read_jsonl
from ..languages import ENGLISH, XQUAD_R_LANGS
from ..model_profile import LENGTH_KEYS, EvalLengths  # noqa: F401 (re-exported)


def read_questions(path) -> tuple[list[str], list[str]]:
    """``qid<TAB>text`` TSV with header -> (qids, texts); ids must be unique."""
    path = Path(path)
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)
    except (OSError, pd.errors.ParserError) as exc:
        raise PipelineError(f"{path}: cannot read questions ({exc})") from exc
    if list(df.columns) != ["qid", "text"]:
        raise PipelineError(f"{path}: header must be 'qid<TAB>text', got {list(df.columns)}")
    if df.empty:
        raise PipelineError(f"{path}: no questions")
    dup = df["qid"][df["qid"].duplicated()]
    if len(dup):
        raise PipelineError(f"{path}: duplicate qid {dup.iloc[0]!r}")
    return df["qid"].tolist(), df["text"].tolist()


def read_docs(path, text_field: str = "text") -> tuple[list[str], list[str]]:
    """JSON lines with ``docid`` and ``text_field`` -> (docids, texts); ids must be unique."""
    rows = read_jsonl(path)
    if not rows:
        raise PipelineError(f"{path}: no documents")
    docids, texts = [], []
    for i, row in enumerate(rows, 1):
        if "docid" not in row or text_field not in row:
            raise PipelineError(f"{path}:{i}: row lacks 'docid' or {text_field!r}")
        docids.append(str(row["docid"]))
        texts.append(str(row[text_field]))
    if len(set(docids)) != len(docids):
        raise PipelineError(f"{path}: duplicate docids")
    return docids, texts


LAREQA_TEXT_FIELD = {"sentence_paragraph": "text", "sentence": "sentence"}

# XTREME-R's LAReQA setting (google-research/xtreme, scripts/run_eval_lareqa.sh lines 32-33:
# --max_query_length 96 --max_answer_length 256; the candidate is (sentence + context) with
# newlines removed, third_party/evaluate_retrieval.py line 573). 92 is only that script's
# argparse default (third_party/evaluate_retrieval.py lines 427-428), not the run setting.
LAREQA_OFFICIAL = {"lareqa_query": 96, "lareqa_candidate": 256, "text": "sentence_paragraph"}


def lareqa_protocol(evaluation: dict) -> str:
    """``official`` when LAReQA runs as XTREME-R's script (:data:`LAREQA_OFFICIAL`), else a
    label naming every difference, e.g. ``non-official: candidates at 92 tokens``."""
    evaluation = section_defaults("evaluation", evaluation)
    diffs = []
    if evaluation.get("lareqa_candidate_text", "sentence_paragraph") != LAREQA_OFFICIAL["text"]:
        diffs.append(f"candidate text {evaluation['lareqa_candidate_text']}")
    if evaluation.get("lareqa_pool", "all") != "all":
        diffs.append(f"pool {'+'.join(evaluation['lareqa_pool'])}")
    for field_name, what in (("lareqa_query", "questions"), ("lareqa_candidate", "candidates")):
        value = evaluation.get(LENGTH_KEYS[field_name])
        if value != LAREQA_OFFICIAL[field_name]:
            diffs.append(f"{what} at {value} tokens")
    return "official" if not diffs else "non-official: " + ", ".join(diffs)


@dataclass
class XQuADFiles:
    """Paths of the XQuAD task files written by the data stage (``docs/ARCHITECTURE.md``)."""

    root: Path = Path("results/data/xquad")

    def questions(self, lang: str) -> Path:
        return Path(self.root) / "questions" / f"{lang}.tsv"

    def paragraphs(self, lang: str) -> Path:
        return Path(self.root) / "paragraphs" / f"{lang}.jsonl"

    def lareqa_questions(self, lang: str) -> Path:
        return Path(self.root) / "lareqa" / "questions" / f"{lang}.tsv"

    def candidates(self) -> Path:
        return Path(self.root) / "lareqa" / "candidates.jsonl"

    def qrels(self, task: str, lang: str) -> Path:
        return Path(self.root) / "qrels" / task / f"{lang}.tsv"


def lareqa_langs(langs: Sequence[str]) -> list[str]:
    """XQuAD-R languages among English and ``langs``, English first (ro has no XQuAD-R)."""
    wanted = [ENGLISH, *langs]
    return [lang for lang in wanted if lang in XQUAD_R_LANGS]


def task_langs(tasks: Sequence[str], langs: Sequence[str]) -> list[tuple[str, str]]:
    """Every (task, lang) evaluated: config tasks over config languages, ``en2en``/``en`` when
    ``x2en`` is evaluated, ``lareqa`` over :func:`lareqa_langs`."""
    out = []
    for task in tasks:
        if task == "x2en":
            out += [(task, lang) for lang in langs] + [("en2en", ENGLISH)]
        elif task == "en2x":
            out += [(task, lang) for lang in langs]
        elif task == "lareqa":
            out += [(task, lang) for lang in lareqa_langs(langs)]
        else:
            raise PipelineError(f"config key 'evaluation.tasks': unknown task {task!r}")
    return out


def task_files(files: XQuADFiles, tasks: Sequence[str], langs: Sequence[str]) -> list[str]:
    """Every task file the evaluation of one model on ``tasks`` over ``langs`` reads: the
    questions and paragraphs of English and ``langs``, the qrels of each :func:`task_langs`
    pair and, when ``lareqa`` is evaluated, the candidates and its languages' questions."""
    pairs = task_langs(tasks, langs)
    both = [ENGLISH, *langs]
    out = [str(files.questions(lang)) for lang in both]
    out += [str(files.paragraphs(lang)) for lang in both]
    out += [str(files.qrels(task, lang)) for task, lang in pairs]
    lareqa = [lang for task, lang in pairs if task == "lareqa"]
    if lareqa:
        out.append(str(files.candidates()))
        out += [str(files.lareqa_questions(lang)) for lang in lareqa]
    return out


def _length(value) -> str:
    return "model max" if value == "model" else f"{value} tokens"


def task_protocols(evaluation: dict) -> dict[str, str]:
    """A short label per task saying at which lengths its texts were encoded (the ``protocol``
    column of the report tables), from config ``evaluation`` (missing keys: their defaults)."""
    evaluation = section_defaults("evaluation", evaluation)
    xquad = (
        f"questions {_length(evaluation['query_max_length'])}, "
        f"paragraphs {_length(evaluation['passage_max_length'])}"
    )
    lareqa = (
        f"LAReQA {lareqa_protocol(evaluation)} (questions "
        f"{_length(evaluation['lareqa_query_max_length'])}, candidates "
        f"{_length(evaluation['lareqa_max_length'])}, "
        f"{evaluation.get('lareqa_candidate_text', 'sentence_paragraph')})"
    )
    return {"x2en": xquad, "en2x": xquad, "en2en": xquad, "lareqa": lareqa}


# Tables written before the protocol column existed were all made with this protocol.
UNRECORDED_PROTOCOL = {
    "xquad": "not recorded: questions and paragraphs cut at 128 tokens",
    "lareqa": "not recorded: LAReQA non-official (questions 128 tokens, candidates 92 tokens)",
}
