"""XQuAD and XQuAD-R (LAReQA): parsing, invariant checks and retrieval task files.

Inputs are the 12 XQuAD files (``xquad.{lang}.json``, SQuAD v1.1 format) and the 11
XQuAD-R files (``xquad-r/{lang}.json``: the same paragraphs and questions plus
``sentence_breaks`` and ``sentences`` per paragraph; no Romanian).

Ids (shared across languages, because the data are fully parallel and the builder checks
that every file has the same structure as the English one):

- question id (``qid``): the XQuAD question id, e.g. ``56beb4343aeaaa14008c925b``; the
  same id names the question in every language (XTREME-R's ``xling_id``).
- paragraph docid: ``a{article:02d}p{paragraph:02d}``, 0-based positions of the article in
  the file and of the paragraph in its article (e.g. ``a03p01``).
- LAReQA candidate docid: ``{lang}_{paragraph docid}_s{position}`` (e.g. ``de_a03p01_s2``),
  with ``position`` the 0-based index of the sentence in that language's
  ``sentence_breaks``. Only the paragraph part is shared across languages: translations do
  not have the same number of sentences, so ``s2`` in German need not translate ``s2``
  in English.

Tasks (queries TSV ``qid<TAB>text``, corpus JSONL, TREC qrels ``qid 0 docid 1``):

- ``x2en``: questions in X against the 240 English paragraphs; ``en2x``: English questions
  against the 240 paragraphs in X; ``en2en``: English against English (sanity check).
  One relevant paragraph per question: the paragraph the question belongs to.
- ``lareqa`` (as in XTREME-R, ``third_party/utils_lareqa.py`` of google-research/xtreme):
  the candidate pool holds one candidate per (language, paragraph, sentence position) for
  all 11 XQuAD-R languages: the sentence is ``context[s:e]`` for ``(s, e)`` in the
  paragraph's ``sentence_breaks`` (not the ``sentences`` field, which differs from the
  slices in one Turkish paragraph, ``a09p03``: its context has three mojibake characters
  (U+00E2 U+0081 U+201E) where ``sentences`` has one (U+205E), so slices s2 and s3 are
  shifted by two characters; XTREME-R uses the slices, and so do we), and the text fed
  to the encoder is ``(sentence + context).replace("\\n", "")``. A question is relevant to,
  in each of the 11 languages, the sentence of its paragraph whose span contains that
  language's ``answer_start`` (``s <= answer_start < e``): 11 relevant candidates per
  question, its own language included. The relevant set depends only on the qid, so the
  lareqa qrels are the same for every query language. XTREME-R marks a candidate relevant
  when its text equals the answer sentence; we use the position, which gives the same
  pairs on the real data (the only repeated sentence, Chinese "德" in one paragraph, holds
  no answer) and cannot mark a second, identical sentence relevant.

What we found in the real files: 13,014 candidates in all (en 1180, es 1215, de 1276,
el 1234, ru 1219, tr 1167, ar 1222, vi 1209, th 852, zh 1196, hi 1244), ``len(sentences)
== len(sentence_breaks)`` everywhere, every answer start lies inside exactly one sentence,
and the XQuAD-R contexts, questions and ids equal XQuAD's.

Texts are kept as they are (some contexts start with a BOM; LAReQA offsets refer to the
raw context), except questions: Unicode NFC, whitespace control characters (one Arabic
question holds a TAB) replaced by a space, then stripped.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .io import PipelineError, write_df, write_jsonl, write_text
from .languages import ENGLISH, XQUAD_R_LANGS

log = logging.getLogger(__name__)

N_QUESTIONS = 1190
N_PARAGRAPHS = 240
N_LAREQA_CANDIDATES = 13014
TASKS = ("x2en", "en2x", "lareqa")
_CONTROL_WS = re.compile(r"[\t\r\n\x0b\x0c\x85\u2028\u2029]+")


@dataclass
class Paragraph:
    """One paragraph of a SQuAD-format file, with its questions in file order."""

    docid: str
    title: str
    context: str
    qids: list[str]
    sentence_breaks: list[tuple[int, int]] | None = None
    sentences: list[str] | None = None


@dataclass
class SquadFile:
    """A parsed XQuAD or XQuAD-R file of one language."""

    lang: str
    path: Path
    paragraphs: list[Paragraph] = field(default_factory=list)
    questions: dict[str, str] = field(default_factory=dict)  # qid -> raw question text
    answer_starts: dict[str, int] = field(default_factory=dict)  # qid -> first answer start

    @property
    def structure(self) -> list[tuple[str, tuple[str, ...]]]:
        """(docid, qids) of every paragraph: what must be identical across languages."""
        return [(p.docid, tuple(p.qids)) for p in self.paragraphs]


def clean_question(text: str) -> str:
    """NFC, whitespace control characters (TAB, newlines) to one space, strip."""
    return _CONTROL_WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def paragraph_docid(article: int, paragraph: int) -> str:
    """``a{article:02d}p{paragraph:02d}`` from 0-based positions."""
    return f"a{article:02d}p{paragraph:02d}"


def candidate_docid(lang: str, docid: str, position: int) -> str:
    """LAReQA candidate id ``{lang}_{paragraph docid}_s{position}``."""
    return f"{lang}_{docid}_s{position}"


def parse_squad(path: str | Path, lang: str, *, sentences: bool = False) -> SquadFile:
    """Parse one XQuAD (``sentences=False``) or XQuAD-R (``sentences=True``) file.

    Raises PipelineError naming the file and the place of any malformed entry, a
    duplicate question id, a question without answers or, for XQuAD-R, invalid
    ``sentence_breaks``.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PipelineError(f"{path}: cannot read XQuAD JSON ({exc})") from exc
    out = SquadFile(lang=lang, path=path)
    try:
        articles = data["data"]
        for a, article in enumerate(articles):
            for p, para in enumerate(article["paragraphs"]):
                where = f"{path}: article {a} paragraph {p}"
                docid = paragraph_docid(a, p)
                context = para["context"]
                if not isinstance(context, str) or not context.strip():
                    raise PipelineError(f"{where}: empty or non-text context")
                paragraph = Paragraph(docid, str(article.get("title", "")), context, [])
                if sentences:
                    paragraph.sentence_breaks = _check_breaks(para["sentence_breaks"], context)
                    paragraph.sentences = list(para["sentences"])
                for qa in para["qas"]:
                    qid = str(qa["id"])
                    if qid in out.questions:
                        raise PipelineError(f"{where}: duplicate question id {qid}")
                    if not qa["answers"]:
                        raise PipelineError(f"{where}: question {qid} has no answer")
                    start = qa["answers"][0]["answer_start"]
                    if not isinstance(start, int) or not 0 <= start < len(context):
                        raise PipelineError(
                            f"{where}: question {qid} answer_start {start!r} outside the context"
                        )
                    out.questions[qid] = str(qa["question"])
                    out.answer_starts[qid] = start
                    paragraph.qids.append(qid)
                out.paragraphs.append(paragraph)
    except (KeyError, TypeError, ValueError) as exc:
        raise PipelineError(f"{path}: not in SQuAD/XQuAD format ({exc!r})") from exc
    return out


def _check_breaks(breaks, context: str) -> list[tuple[int, int]]:
    out = []
    prev_end = 0
    for item in breaks:
        s, e = int(item[0]), int(item[1])
        if not (prev_end <= s < e <= len(context)):
            raise ValueError(f"sentence break {[s, e]} invalid for a context of {len(context)}")
        out.append((s, e))
        prev_end = e
    if not out:
        raise ValueError("no sentence breaks")
    return out


def check_counts(
    parsed: SquadFile, *, n_questions: int = N_QUESTIONS, n_paragraphs: int = N_PARAGRAPHS
) -> None:
    """Fail unless the file has ``n_questions`` questions and ``n_paragraphs`` paragraphs."""
    if len(parsed.questions) != n_questions:
        raise PipelineError(
            f"{parsed.path}: {len(parsed.questions)} questions, expected {n_questions}"
        )
    if len(parsed.paragraphs) != n_paragraphs:
        raise PipelineError(
            f"{parsed.path}: {len(parsed.paragraphs)} paragraphs, expected {n_paragraphs}"
        )


def check_parallel(reference: SquadFile, other: SquadFile) -> None:
    """Fail unless ``other`` has the paragraphs and question ids of ``reference``, in order."""
    ref, oth = reference.structure, other.structure
    for i, (r, o) in enumerate(zip(ref, oth, strict=False)):
        if r != o:
            raise PipelineError(
                f"{other.path}: paragraph {i} ({o[0]}) has question ids {list(o[1])}, but "
                f"{reference.path} has {list(r[1])} ({r[0]}): the files are not parallel"
            )
    if len(ref) != len(oth):
        raise PipelineError(
            f"{other.path}: {len(oth)} paragraphs, but {reference.path} has {len(ref)}"
        )


def answer_position(paragraph: Paragraph, answer_start: int) -> int | None:
    """Index of the sentence whose span contains ``answer_start`` (None if none does)."""
    for pos, (s, e) in enumerate(paragraph.sentence_breaks or []):
        if s <= answer_start < e:
            return pos
    return None


def lareqa_candidates(files: Mapping[str, SquadFile]) -> list[dict]:
    """One candidate row per (language, paragraph, sentence position), XTREME-R style."""
    rows = []
    for lang, parsed in files.items():
        for para in parsed.paragraphs:
            for pos, (s, e) in enumerate(para.sentence_breaks or []):
                sentence = para.context[s:e]
                rows.append(
                    {
                        "docid": candidate_docid(lang, para.docid, pos),
                        "lang": lang,
                        "paragraph": para.docid,
                        "position": pos,
                        "sentence": sentence,
                        "text": (sentence + para.context).replace("\n", ""),
                    }
                )
    return rows


def lareqa_relevance(files: Mapping[str, SquadFile]) -> dict[str, list[str]]:
    """qid -> relevant candidate docids, one per language (the answer's sentence).

    Fails naming the file when an answer start lies in no sentence.
    """
    relevant: dict[str, list[str]] = {}
    for lang, parsed in files.items():
        for para in parsed.paragraphs:
            for qid in para.qids:
                pos = answer_position(para, parsed.answer_starts[qid])
                if pos is None:
                    raise PipelineError(
                        f"{parsed.path}: answer start {parsed.answer_starts[qid]} of question "
                        f"{qid} ({para.docid}) lies in no sentence of sentence_breaks"
                    )
                relevant.setdefault(qid, []).append(candidate_docid(lang, para.docid, pos))
    return relevant


def qrels_lines(relevant: Mapping[str, Iterable[str]], qids: Iterable[str]) -> str:
    """TREC qrels text ``qid 0 docid 1`` for ``qids`` in order."""
    return "".join(f"{qid} 0 {docid} 1\n" for qid in qids for docid in relevant[qid])


def _questions_df(parsed: SquadFile) -> pd.DataFrame:
    rows = [(qid, clean_question(text)) for qid, text in parsed.questions.items()]
    for qid, text in rows:
        if not text:
            raise PipelineError(f"{parsed.path}: question {qid} is empty")
    return pd.DataFrame(rows, columns=["qid", "text"])


def write_tsv(path: str | Path, df: pd.DataFrame) -> None:
    """Write a TSV with a header and no quoting (texts never hold TAB or newlines)."""
    write_df(path, df, quoting=csv.QUOTE_NONE)


def read_tsv(path: str | Path) -> pd.DataFrame:
    """Read a TSV written by this stage: all columns as text, no NA or quote handling."""
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE)


def build_xquad(
    xquad_paths: Mapping[str, str | Path],
    xquad_r_paths: Mapping[str, str | Path],
    out_dir: str | Path,
    langs: Iterable[str],
    *,
    n_questions: int = N_QUESTIONS,
    n_paragraphs: int = N_PARAGRAPHS,
    n_candidates: int | None = N_LAREQA_CANDIDATES,
    lareqa_pool: Iterable[str] | None = None,
) -> dict:
    """Parse, check and write every XQuAD task file under ``out_dir``.

    ``xquad_paths``/``xquad_r_paths`` map a language code to its file (English must be
    in both); ``langs`` are the target languages: x2en/en2x qrels are written for all of
    them, lareqa qrels for those in XQuAD-R and for English. The counts default to the
    real data (1190 questions, 240 paragraphs, 13,014 candidates; ``n_candidates=None``
    skips that check) so tiny fixtures can be checked too. ``lareqa_pool`` (None or every
    XQuAD-R language: XTREME-R's pool) restricts the LAReQA candidates, and so each
    question's relevant set, to those languages (a smaller pool's candidate count is not
    checked): a non-official pool for quick runs (``evaluation.lareqa_pool``). Every invariant
    is checked before anything is written. Returns the counts written, per language.
    """
    out_dir = Path(out_dir)
    langs = list(langs)
    for name, paths in (("XQuAD", xquad_paths), ("XQuAD-R", xquad_r_paths)):
        if ENGLISH not in paths:
            raise PipelineError(f"no English {name} file given")
    for lang in langs:
        if lang not in xquad_paths:
            raise PipelineError(f"config key 'languages': no XQuAD file for {lang!r}")
    xquad = {lang: parse_squad(path, lang) for lang, path in xquad_paths.items()}
    xquad_r = {
        lang: parse_squad(path, lang, sentences=True) for lang, path in xquad_r_paths.items()
    }
    reference = xquad[ENGLISH]
    for parsed in [*xquad.values(), *xquad_r.values()]:
        check_counts(parsed, n_questions=n_questions, n_paragraphs=n_paragraphs)
        check_parallel(reference, parsed)
    for lang, parsed in xquad_r.items():
        if lang in xquad and [p.context for p in parsed.paragraphs] != [
            p.context for p in xquad[lang].paragraphs
        ]:
            log.warning("%s: contexts differ from %s", parsed.path, xquad[lang].path)

    wanted = set(xquad_r if lareqa_pool is None else lareqa_pool)
    unknown = sorted(wanted - set(xquad_r))
    if unknown or not wanted:
        raise PipelineError(
            f"config key 'evaluation.lareqa_pool': {unknown or 'empty'}: the pool's "
            f"languages must be XQuAD-R languages ({', '.join(xquad_r)})"
        )
    pool = {lang: parsed for lang, parsed in xquad_r.items() if lang in wanted}
    if lareqa_pool is not None and wanted != set(XQUAD_R_LANGS):
        n_candidates = None  # a pool smaller than XTREME-R's has no known total
    candidates = lareqa_candidates(pool)
    if n_candidates is not None and len(candidates) != n_candidates:
        raise PipelineError(
            f"XQuAD-R files ({', '.join(str(p.path) for p in xquad_r.values())}): "
            f"{len(candidates)} LAReQA candidates, expected {n_candidates}"
        )
    relevant = lareqa_relevance(pool)
    for qid, docids in relevant.items():
        if len(docids) != len(pool):
            raise PipelineError(
                f"XQuAD-R question {qid}: {len(docids)} relevant candidates, "
                f"expected {len(pool)} (one per language)"
            )
    para_qrels = {qid: [p.docid] for p in reference.paragraphs for qid in p.qids}
    qids = list(reference.questions)
    candidate_ids = {c["docid"] for c in candidates}
    paragraph_ids = {p.docid for p in reference.paragraphs}
    missing = [d for ds in relevant.values() for d in ds if d not in candidate_ids]
    missing += [d for ds in para_qrels.values() for d in ds if d not in paragraph_ids]
    if missing:
        raise PipelineError(f"qrels point to unknown documents: {missing[:5]}")
    lareqa_langs = [ENGLISH] + [lang for lang in langs if lang in xquad_r and lang != ENGLISH]
    questions = {lang: _questions_df(parsed) for lang, parsed in xquad.items()}
    r_questions = {lang: _questions_df(parsed) for lang, parsed in xquad_r.items()}

    # Everything checked: write.
    for lang, parsed in xquad.items():
        write_tsv(out_dir / "questions" / f"{lang}.tsv", questions[lang])
        write_jsonl(
            out_dir / "paragraphs" / f"{lang}.jsonl",
            ({"docid": p.docid, "title": p.title, "text": p.context} for p in parsed.paragraphs),
        )
    write_jsonl(out_dir / "lareqa" / "candidates.jsonl", candidates)
    for lang in xquad_r:
        write_tsv(out_dir / "lareqa" / "questions" / f"{lang}.tsv", r_questions[lang])
    paragraph_qrels = qrels_lines(para_qrels, qids)
    for lang in langs:
        for task in ("x2en", "en2x"):
            write_text(out_dir / "qrels" / task / f"{lang}.tsv", paragraph_qrels)
    for lang in lareqa_langs:
        write_text(out_dir / "qrels" / "lareqa" / f"{lang}.tsv", qrels_lines(relevant, qids))
    write_text(out_dir / "qrels" / "en2en" / f"{ENGLISH}.tsv", paragraph_qrels)

    counts = {
        lang: {
            "questions": len(parsed.questions),
            "paragraphs": len(parsed.paragraphs),
            "lareqa_candidates": sum(c["lang"] == lang for c in candidates),
        }
        for lang, parsed in xquad.items()
    }
    log.info(
        "XQuAD: %d languages, %d questions and %d paragraphs each; LAReQA: %d candidates "
        "in %d languages, %d relevant per question",
        len(xquad),
        n_questions,
        n_paragraphs,
        len(candidates),
        len(pool),
        len(pool),
    )
    return counts


def split_sentences(text: str) -> list[str]:
    """Rough sentence split (after . ! ? and their CJK, Arabic, Devanagari forms).

    Used only to find XQuAD sentences inside bitext, including Romanian, which has no
    XQuAD-R sentence breaks.
    """
    parts = re.split(r"(?<=[.!?\u061f\u0964])\s+|(?<=[\u3002\uff01\uff1f])", text)
    return [p.strip() for p in parts if p.strip()]


def xquad_texts(
    xquad_paths: Mapping[str, str | Path], xquad_r_paths: Mapping[str, str | Path]
) -> Iterable[str]:
    """Every question, whole context and context sentence of the given XQuAD files.

    Sentences come from XQuAD-R (the ``sentence_breaks`` slices and the ``sentences``
    field) and from :func:`split_sentences` on every context (all 12 languages).
    """
    for lang, path in xquad_paths.items():
        parsed = parse_squad(path, lang)
        yield from parsed.questions.values()
        for para in parsed.paragraphs:
            yield para.context
            yield from split_sentences(para.context)
    for lang, path in xquad_r_paths.items():
        parsed = parse_squad(path, lang, sentences=True)
        yield from parsed.questions.values()
        for para in parsed.paragraphs:
            yield from (para.context[s:e] for s, e in para.sentence_breaks or [])
            yield from para.sentences or []
