"""Training stage: distil the teacher into the multilingual student on bitext.

The student learns, from (English e_i, translation f_i) pairs only, to put S(f_i) (and, with
``train.english_term``, S(e_i)) where the frozen teacher puts T(e_i). Teacher targets come
ONLY from the teacher cache (``results/teacher_cache/{split}``): the teacher never runs
here. Batches are length-bucketed across all languages; the dev set (FLORES) selects the
checkpoint; XQuAD is never read.
"""

from __future__ import annotations

import csv
import logging
import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .caches import OFFSETS, TeacherCache, TokenArrays
from .encode import Encoder, autocast, default_device, pad_batch, pool
from .io import PipelineError, atomic_path, load_npy, write_df, write_json
from .losses import Features, build_loss, idf_table
from .models import PROFILE_FILE, PROJECTION_FILE, ModelProfile, load_model, load_projection

log = logging.getLogger(__name__)

SIDES = ("student_xx", "student_en", "teacher_en")
# config sections of `train` that only some arms read (so a change reruns only those arms)
LOSS_SECTIONS = {"mse": (), "kl": ("kl",), "ot": ("ot",), "ot_kl": ("ot", "kl", "ot_kl")}
NOT_TRAINING = ("arms", "seeds")  # lists of runs, not parameters of one run
# sweep: arm -> (loss parameter inside train.<arm>, list key inside the sweep section)
SWEEP_PARAMS = {"kl": ("temperature", "kl_temperature"), "ot": ("eps", "ot_eps")}
DEFAULTS = {
    "steps": 300,
    "batch_size": 32,
    "lr": 2e-5,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
    "freeze_word_embeddings": True,
    "bf16": False,
    "english_term": True,
    "eval_every": 100,
    "nan_policy": "error",
    "patience": 0,
    "pairs_per_language": None,  # None: every row of the train split (learning curve: a prefix)
}
LOG_COLUMNS = ["step", "loss", "lr", "pairs_per_s", "elapsed_s", "padding_share", "skipped"]
CHUNK_BATCHES = 50  # length sorting happens inside chunks of this many batches
DEV_BATCH_SIZE = 64


# ---------------------------------------------------------------- configuration plumbing


def arm_settings(train_cfg: dict, arm: str) -> dict:
    """The part of the ``train`` config section that a run of ``arm`` depends on.

    Shared training parameters plus the arm's own loss sections only (``kl`` for ``kl``,
    ``ot`` for ``ot``, all three for ``ot_kl``); the run lists ``arms``/``seeds`` are
    dropped. Used as Snakemake ``params`` so that editing ``train.kl.temperature`` reruns
    only the KL runs.
    """
    if arm not in LOSS_SECTIONS:
        raise PipelineError(f"config key 'train.arms': unknown arm {arm!r}")
    all_sections = {s for sections in LOSS_SECTIONS.values() for s in sections}
    keep = set(LOSS_SECTIONS[arm])
    return {
        k: v
        for k, v in train_cfg.items()
        if k not in NOT_TRAINING and (k not in all_sections or k in keep)
    }


def sweep_plan(sweep_cfg: dict) -> list[tuple[str, str, float]]:
    """The ``(arm, param, value)`` runs of the dev sweep.

    Every tuned arm gets the same budget (same number of runs of ``sweep.steps`` steps each):
    lists of different lengths raise PipelineError naming both keys.
    """
    runs, counts = [], {}
    for arm, (param, key) in SWEEP_PARAMS.items():
        values = list(sweep_cfg.get(key, []))
        if not values:
            raise PipelineError(f"config key 'sweep.{key}': no values to sweep")
        counts[key] = len(values)
        runs += [(arm, param, float(v)) for v in values]
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"sweep.{k} has {n}" for k, n in counts.items())
        raise PipelineError(
            f"config keys {', '.join('sweep.' + k for k in counts)}: every arm needs the "
            f"same tuning budget (same number of values), but {detail}"
        )
    return runs


def sweep_settings(train_cfg: dict, sweep_cfg: dict, arm: str, param: str, value: float) -> dict:
    """``arm_settings`` of one sweep run: the swept value and ``sweep.steps`` steps."""
    if SWEEP_PARAMS.get(arm, (None,))[0] != param:
        raise PipelineError(f"sweep: arm {arm!r} has no swept parameter {param!r}")
    settings = arm_settings(train_cfg, arm)
    settings[arm] = dict(settings.get(arm, {}), **{param: float(value)})
    settings["steps"] = int(sweep_cfg.get("steps", settings.get("steps", DEFAULTS["steps"])))
    return settings


def fill_defaults(settings: dict) -> dict:
    """``settings`` with every missing shared training key set to its default."""
    return {**DEFAULTS, **settings}


# ---------------------------------------------------------------- data


@dataclass
class SplitPaths:
    """The files of one bitext split that training reads."""

    bitext: Path
    student_xx: Path
    student_en: Path
    teacher_en: Path
    teacher_cache: Path

    @classmethod
    def from_input(cls, named, split: str) -> SplitPaths:
        """From Snakemake's named input ``{split}_{field}`` (``split_inputs`` in common.smk)."""
        return cls(**{f: Path(getattr(named, f"{split}_{f}")) for f in cls.__dataclass_fields__})

    @classmethod
    def of(cls, split: str, results: str | Path = "results") -> SplitPaths:
        """The standard locations under ``results/`` (see docs/ARCHITECTURE.md)."""
        r = Path(results)
        tokens = r / "tokens" / split
        return cls(
            bitext=r / "data" / "bitext" / f"{split}.tsv",
            student_xx=tokens / "student_xx.npz",
            student_en=tokens / "student_en.npz",
            teacher_en=tokens / "teacher_en.npz",
            teacher_cache=r / "teacher_cache" / split,
        )


@dataclass
class SplitData:
    """One split, loaded and cross-checked: languages, token arrays, teacher cache."""

    langs: np.ndarray
    student_xx: TokenArrays
    student_en: TokenArrays
    teacher_en: TokenArrays
    cache: TeacherCache

    def __len__(self) -> int:
        return len(self.langs)


def load_split(paths: SplitPaths) -> SplitData:
    """Load one split; row counts and teacher token spans must agree across the files."""
    try:
        langs = pd.read_csv(
            paths.bitext,
            sep="\t",
            usecols=["lang"],
            dtype=str,
            keep_default_na=False,
            quoting=csv.QUOTE_NONE,  # bitext texts are unquoted (docs/ARCHITECTURE.md)
        )["lang"].to_numpy()
    except (ValueError, OSError) as exc:
        raise PipelineError(f"{paths.bitext}: cannot read the 'lang' column ({exc})") from exc
    arrays = {side: TokenArrays.load(getattr(paths, side)) for side in SIDES}
    cache = TeacherCache(paths.teacher_cache)
    counts = {str(paths.bitext): len(langs), str(paths.teacher_cache): len(cache)}
    counts.update({str(getattr(paths, s)): len(a) for s, a in arrays.items()})
    if len(set(counts.values())) != 1:
        detail = ", ".join(f"{k}: {v}" for k, v in counts.items())
        raise PipelineError(f"row counts of one split differ ({detail})")
    teacher_en = arrays["teacher_en"]
    cum = np.concatenate([[0], np.cumsum(teacher_en.content, dtype=np.int64)])
    per_row = cum[teacher_en.offsets[1:]] - cum[teacher_en.offsets[:-1]]
    spans = np.diff(load_npy(Path(paths.teacher_cache) / OFFSETS))
    bad = np.flatnonzero(per_row != spans)
    if len(bad):
        raise PipelineError(
            f"{paths.teacher_cache}: sentence {int(bad[0])} has {int(spans[bad[0]])} cached "
            f"teacher tokens but {int(per_row[bad[0]])} content tokens in {paths.teacher_en}"
        )
    return SplitData(langs, arrays["student_xx"], arrays["student_en"], arrays["teacher_en"], cache)


def budget_rows(langs: Sequence[str], n: int | None) -> np.ndarray:
    """Row indices (file order) of the first ``n`` rows of every language; all rows for None.

    The bitext rows of a language are in sampled order and a smaller budget is a prefix of
    the same permutation (otkd.bitext), so this is the sample of budget ``n``.
    """
    langs = np.asarray(langs)
    if n is None:
        return np.arange(len(langs))
    if int(n) < 1:
        raise PipelineError(f"pairs_per_language must be at least 1, got {n}")
    keep = np.zeros(len(langs), dtype=bool)
    for lang in dict.fromkeys(langs.tolist()):
        keep[np.flatnonzero(langs == lang)[: int(n)]] = True
    return np.flatnonzero(keep)


def content_ids(arrays: TokenArrays, i: int) -> np.ndarray:
    """The content-token ids of sentence ``i``."""
    return arrays.seq(i)[arrays.content_mask(i)]


def batch_plan(
    lengths: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    chunk_batches: int = CHUNK_BATCHES,
) -> list[np.ndarray]:
    """One epoch of length-bucketed batches of row indices.

    A seeded shuffle is cut into chunks of ``chunk_batches * batch_size`` rows; each chunk is
    sorted by length (``lengths``: ``(n,)`` or ``(n, k)``, sorted by the row sum, then the
    columns) and cut into batches; batches smaller than ``batch_size`` are dropped (unless the
    whole split is smaller than one batch); the batch order is shuffled. So every batch mixes
    languages of similar length, and padding stays small.
    """
    lengths = np.asarray(lengths)
    if lengths.ndim == 1:
        lengths = lengths[:, None]
    n = len(lengths)
    if n < 2:
        raise PipelineError(f"training needs at least 2 pairs, got {n}")
    if n < batch_size:
        return [rng.permutation(n)]
    perm = rng.permutation(n)
    chunk = chunk_batches * batch_size
    batches = []
    for start in range(0, n, chunk):
        part = perm[start : start + chunk]
        keys = [lengths[part, k] for k in reversed(range(lengths.shape[1]))]
        part = part[np.lexsort([*keys, lengths[part].sum(1)])]
        batches += [
            part[i : i + batch_size]
            for i in range(0, len(part), batch_size)
            if len(part[i : i + batch_size]) == batch_size
        ]
    return [batches[i] for i in rng.permutation(len(batches))]


def batch_stream(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Endless batches: one :func:`batch_plan` epoch after another."""
    while True:
        yield from batch_plan(lengths, batch_size, rng)


def padding_share(lengths: Sequence[Sequence[int]]) -> float:
    """Share of padded positions when each group of lengths is padded to its longest."""
    total = sum(len(g) * max(g) for g in lengths if len(g))
    real = sum(sum(g) for g in lengths)
    return 1.0 - real / total if total else 0.0


def pad_mask(masks: Sequence[np.ndarray], width: int) -> torch.Tensor:
    """Right-pad boolean masks to ``width``."""
    out = torch.zeros((len(masks), width), dtype=torch.bool)
    for i, m in enumerate(masks):
        out[i, : len(m)] = torch.from_numpy(np.asarray(m, dtype=bool))
    return out


# ---------------------------------------------------------------- the student side


class Student(torch.nn.Module):
    """The student encoder plus an optional linear projection into the teacher's space."""

    def __init__(self, model, profile: ModelProfile, projection: torch.nn.Linear | None):
        super().__init__()
        self.model = model
        self.projection = projection
        self.profile = profile
        self.pad_id = 0

    def features(
        self, arrays: TokenArrays, idx: np.ndarray, *, tokens: bool, bf16: bool
    ) -> tuple[Features, list[int]]:
        """Features of rows ``idx`` of ``arrays`` (pooled as the Encoder pools; token rows
        of content tokens) and the sequence lengths."""
        seqs = [arrays.seq(i) for i in idx]
        ids, attn = pad_batch(seqs, self.pad_id)
        device = next(self.model.parameters()).device
        ids, attn = ids.to(device), attn.to(device)
        with autocast(device, bf16):
            hidden = self.model(input_ids=ids, attention_mask=attn).last_hidden_state
        hidden = hidden.float()
        if self.projection is not None:
            hidden = self.projection(hidden)
        pooled = F.normalize(pool(hidden, attn, self.profile.pooling), dim=-1)
        feats = Features(pooled)
        if tokens:
            feats.tokens = F.normalize(hidden, dim=-1)
            feats.mask = pad_mask([arrays.content_mask(i) for i in idx], ids.shape[1]).to(device)
            feats.token_ids = ids
        return feats, [len(s) for s in seqs]


def teacher_features(
    split: SplitData, idx: np.ndarray, *, tokens: bool, device: torch.device
) -> Features:
    """Teacher Features of rows ``idx``, read from the teacher cache only."""
    feats = Features(split.cache.pooled(idx).to(device))
    if tokens:
        tok, mask = split.cache.tokens(idx)
        ids = [content_ids(split.teacher_en, i) for i in idx]
        token_ids = torch.zeros(mask.shape, dtype=torch.long)
        for row, seq in enumerate(ids):
            token_ids[row, : len(seq)] = torch.from_numpy(seq.astype(np.int64))
        feats.tokens, feats.mask = tok.to(device), mask.to(device)
        feats.token_ids = token_ids.to(device)
    return feats


def dev_accuracy(encoder: Encoder, dev: SplitData) -> dict[str, float]:
    """FLORES dev retrieval accuracy@1 per language and their mean (``all``).

    For each language, the student's embedding of each dev translation retrieves among the
    teacher's pooled embeddings of that language's dev English sentences; a hit is the
    gold English scoring at least as high as every other candidate (duplicates tie).
    """
    emb = encoder.encode_ids([dev.student_xx.seq(i) for i in range(len(dev))], desc="dev")
    teacher = dev.cache.pooled(np.arange(len(dev))).numpy()
    acc = {}
    for lang in dict.fromkeys(dev.langs):
        rows = np.flatnonzero(dev.langs == lang)
        scores = emb[rows] @ teacher[rows].T
        acc[str(lang)] = float(np.mean(np.diag(scores) >= scores.max(1)))
    acc["all"] = float(np.mean(list(acc.values())))
    return acc


# ---------------------------------------------------------------- the loop


def _set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds third-party code using the legacy global RNG
    torch.manual_seed(seed)


def _param_groups(modules, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for module in modules:
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            (no_decay if "bias" in name or "norm" in name.lower() else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _trainable_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {
        k: v.detach().to("cpu", copy=True) for k, v in module.named_parameters() if v.requires_grad
    }


def _idf_tables(data: SplitData) -> tuple[torch.Tensor, torch.Tensor]:
    n = len(data)
    student = [content_ids(data.student_xx, i) for i in range(n)]
    student += [content_ids(data.student_en, i) for i in range(n)]
    teacher = [content_ids(data.teacher_en, i) for i in range(n)]
    return idf_table(student), idf_table(teacher)


def _nonfinite(policy: str, arm: str, step: int, what: str) -> None:
    if policy == "error":
        raise PipelineError(
            f"train arm {arm!r}: {what} at step {step} (config key 'train.nan_policy' is "
            f"'error'; set it to 'skip' to skip such batches)"
        )
    log.warning("arm %s step %d: %s; batch skipped (train.nan_policy: skip)", arm, step, what)


@dataclass
class Run:
    """Everything one training run holds; :meth:`step` is one optimisation step."""

    arm: str
    cfg: dict
    net: Student
    tokenizer: object
    loss_fn: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    trainable: list
    data: SplitData
    device: torch.device

    def lengths(self) -> np.ndarray:
        """Student lengths that batches are bucketed by: ``(n, 2)`` (translation, English) or
        ``(n, 1)`` without the English term."""
        cols = [self.data.student_xx.lengths()]
        if self.cfg["english_term"]:
            cols.append(self.data.student_en.lengths())
        return np.stack(cols, axis=1)

    def step(self, idx: np.ndarray) -> tuple[float, str | None, list[list[int]]]:
        """Loss, backward, clipping and optimizer step on rows ``idx``.

        Returns the loss value, a description of the problem when the loss or the gradient
        norm is not finite (the update is then not applied), and the student sequence
        lengths of each forward pass (for the padding share).
        """
        tokens, bf16 = bool(getattr(self.loss_fn, "uses_tokens", True)), bool(self.cfg["bf16"])
        teacher = teacher_features(self.data, idx, tokens=tokens, device=self.device)
        feats, lens = self.net.features(self.data.student_xx, idx, tokens=tokens, bf16=bf16)
        loss = self.loss_fn(feats, teacher)
        groups = [lens]
        if self.cfg["english_term"]:
            feats, lens = self.net.features(self.data.student_en, idx, tokens=tokens, bf16=bf16)
            loss = loss + self.loss_fn(feats, teacher)
            groups.append(lens)
        value, problem = float(loss.detach()), None
        if not math.isfinite(value):
            problem = f"non-finite loss {value}"
        else:
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.trainable, self.cfg["max_grad_norm"])
            if not bool(torch.isfinite(norm)):
                problem = f"non-finite gradient norm {float(norm)}"
            else:
                self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return value, problem, groups


def setup_run(
    arm: str,
    seed: int,
    settings: dict,
    student: dict,
    data: SplitData,
    *,
    projection: bool | str = False,
    projection_init: str | Path | None = None,
    device: str | torch.device | None = None,
) -> Run:
    """Seed everything, load the student, add a projection if needed, build loss/optimizer.

    Arguments as for :func:`train`; ``data`` is the loaded training split.
    """
    from transformers import get_linear_schedule_with_warmup

    cfg = fill_defaults(settings)
    device = torch.device(device) if device is not None else default_device()
    _set_seed(seed)
    profile = ModelProfile.from_config(student)
    model, tokenizer = load_model(profile.spec)
    vocab = model.get_input_embeddings().num_embeddings
    for side in ("student_xx", "student_en"):
        ids = getattr(data, side).ids
        if len(ids) and int(ids.max()) >= vocab:
            raise PipelineError(
                f"{side} token id {int(ids.max())} >= vocabulary size {vocab} of student "
                f"{profile.spec!r}: the tokens were not made with this student's tokenizer"
            )
    student_dim, teacher_dim = int(model.config.hidden_size), data.cache.dim
    proj = None
    if projection == "ridge":
        if projection_init is None:
            raise PipelineError(
                "config key 'models.projection' is 'ridge' but no fitted projection was "
                "given (rule fit_projection writes it)"
            )
        proj = load_projection(projection_init)
        if proj is None or tuple(proj.weight.shape) != (teacher_dim, student_dim):
            raise PipelineError(
                f"{projection_init}: no projection of shape ({teacher_dim}, {student_dim}) "
                "(student dimension to teacher dimension)"
            )
        log.info("ridge-initialised projection from %s", projection_init)
    elif student_dim != teacher_dim:
        if not projection:
            raise PipelineError(
                f"student {profile.spec!r} has dimension {student_dim} but the teacher cache "
                f"{data.cache.directory} has {teacher_dim}: set config key "
                f"'models.projection: true' to learn a linear projection, or use models of "
                f"the same dimension"
            )
        proj = torch.nn.Linear(student_dim, teacher_dim, bias=False)
        log.info("learned projection %d -> %d", student_dim, teacher_dim)
    net = Student(model, profile, proj).to(device)
    net.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    if cfg["freeze_word_embeddings"]:
        model.get_input_embeddings().weight.requires_grad_(False)
    net.train()

    idf = (None, None)
    if cfg.get("ot", {}).get("marginals", "uniform") == "idf":
        idf = _idf_tables(data)
    loss_fn = build_loss(arm, cfg, student_idf=idf[0], teacher_idf=idf[1]).to(device)
    optimizer = torch.optim.AdamW(_param_groups([net], cfg["weight_decay"]), lr=cfg["lr"])
    steps = int(cfg["steps"])
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(cfg["warmup_ratio"] * steps), steps
    )
    trainable = [p for p in net.parameters() if p.requires_grad]
    return Run(arm, cfg, net, tokenizer, loss_fn, optimizer, scheduler, trainable, data, device)


def train(
    arm: str,
    seed: int,
    settings: dict,
    student: dict,
    train_paths: SplitPaths,
    dev_paths: SplitPaths,
    *,
    train_log: str | Path,
    dev_curve: str | Path,
    model_dir: str | Path | None = None,
    projection: bool | str = False,
    projection_init: str | Path | None = None,
    device: str | torch.device | None = None,
) -> dict:
    """Train one (arm, seed) run; write the checkpoint, ``train_log.tsv`` and ``dev_curve.tsv``.

    Args:
        arm: ``mse``, ``kl``, ``ot`` or ``ot_kl`` (the loss, via :func:`otkd.losses.build_loss`).
        seed: seeds python ``random``, numpy, torch and the batch order.
        settings: the ``train`` config section, or :func:`arm_settings` of it.
        student: the ``models.student`` config section (spec, pooling, prefixes, max_length).
        train_paths, dev_paths: the token files, bitext and teacher cache of each split.
        train_log, dev_curve: TSV outputs (columns ``LOG_COLUMNS`` and ``step lang accuracy``).
        model_dir: checkpoint directory (the best-dev model), written atomically; None writes
            no checkpoint (dev sweep).
        projection: ``models.projection``; True: a learned linear map student -> teacher
            dimension when they differ (without it, differing dimensions are an error);
            ``"ridge"``: the map fitted by :mod:`otkd.projection` (``projection_init``, a
            directory holding ``projection.safetensors``), trained further with the student.
        device: defaults to CUDA when present.

    Returns:
        a summary dict (best step and dev accuracy, steps run, skipped batches, padding share,
        mean pairs/s).
    """
    train_data, dev_data = load_split(train_paths), load_split(dev_paths)
    if dev_data.cache.dim != train_data.cache.dim:
        raise PipelineError(
            f"{dev_paths.teacher_cache}: dimension {dev_data.cache.dim} differs from "
            f"{train_paths.teacher_cache} ({train_data.cache.dim})"
        )
    run = setup_run(
        arm,
        seed,
        settings,
        student,
        train_data,
        projection=projection,
        projection_init=projection_init,
        device=device,
    )
    cfg, net = run.cfg, run.net
    steps, batch_size, policy = int(cfg["steps"]), int(cfg["batch_size"]), cfg["nan_policy"]
    encoder = Encoder(
        net.profile,
        model=net.model,
        tokenizer=run.tokenizer,
        batch_size=DEV_BATCH_SIZE,
        bf16=bool(cfg["bf16"]),
        device=run.device,
        show_progress=False,
    )
    encoder.projection = net.projection
    rows, curve = [], []

    def evaluate(step: int) -> float:
        started = time.perf_counter()
        net.eval()  # the Encoder sets eval mode only once, at construction
        acc = dev_accuracy(encoder, dev_data)
        net.train()
        curve.extend({"step": step, "lang": lang, "accuracy": a} for lang, a in acc.items())
        log.info(
            "step %d: dev accuracy@1 %.4f (%.1f s)", step, acc["all"], time.perf_counter() - started
        )
        return acc["all"]

    used = budget_rows(train_data.langs, cfg["pairs_per_language"])
    positions = batch_stream(run.lengths()[used], batch_size, np.random.default_rng(seed))
    batches = (used[p] for p in positions)
    best = {"step": None, "accuracy": -math.inf, "state": None}
    skipped, stale, n_eval = 0, 0, max(1, int(cfg["eval_every"]))
    log.info(
        "train arm=%s seed=%d steps=%d batch=%d pairs=%d (of %d) dev=%d device=%s loss=%s",
        arm, seed, steps, batch_size, len(used), len(train_data), len(dev_data), run.device,
        run.loss_fn,
    )  # fmt: skip
    evaluate(0)
    start = time.perf_counter()
    step = 0
    for step in range(1, steps + 1):
        idx = next(batches)
        t0 = time.perf_counter()
        lr = run.scheduler.get_last_lr()[0]
        value, problem, groups = run.step(idx)
        if problem:
            _nonfinite(policy, arm, step, problem)
            skipped += 1
        dt = time.perf_counter() - t0
        rows.append(
            {
                "step": step,
                "loss": math.nan if problem else value,
                "lr": lr,
                "pairs_per_s": len(idx) / dt,
                "elapsed_s": time.perf_counter() - start,
                "padding_share": padding_share(groups),
                "skipped": skipped,
            }
        )
        if step % max(1, steps // 20) == 0:
            log.info(
                "step %d/%d loss %.5f lr %.2e %.1f pairs/s", step, steps, value, lr, len(idx) / dt
            )
        if step % n_eval == 0 or step == steps:
            accuracy = evaluate(step)
            if accuracy > best["accuracy"]:
                best = {"step": step, "accuracy": accuracy, "state": _trainable_state(net)}
                stale = 0
            else:
                stale += 1
                if cfg["patience"] and stale >= cfg["patience"]:
                    log.info("early stop at step %d: no dev gain in %d evaluations", step, stale)
                    break

    frame = pd.DataFrame(rows, columns=LOG_COLUMNS)
    summary = {
        "arm": arm,
        "seed": seed,
        "steps_run": step,
        "pairs": int(len(used)),
        "best_step": best["step"],
        "best_dev_accuracy": best["accuracy"],
        "skipped": skipped,
        "padding_share": float(frame["padding_share"].mean()) if len(frame) else 0.0,
        "pairs_per_s": float(frame["pairs_per_s"].mean()) if len(frame) else 0.0,
        "elapsed_s": time.perf_counter() - start,
    }
    log.info("summary %s", summary)
    if model_dir is not None:
        if best["state"] is not None:
            net.load_state_dict(best["state"], strict=False)
        save_checkpoint(net, run.tokenizer, net.profile, Path(model_dir), summary)
    write_df(train_log, frame, float_format="%.6g")
    write_df(dev_curve, pd.DataFrame(curve, columns=["step", "lang", "accuracy"]))
    return summary


def save_checkpoint(
    net: Student, tokenizer, profile: ModelProfile, model_dir: Path, summary: dict
) -> None:
    """Write model, tokenizer, ``otkd_model.json`` and the projection as one atomic directory.

    ``otkd_model.json`` holds the student's ModelProfile (``spec`` = the init spec) plus the
    run's arm, seed, best step and dev accuracy.
    """
    from safetensors.torch import save_file

    with atomic_path(model_dir, is_dir=True) as tmp:
        net.model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if net.projection is not None:
            state = {
                k: v.detach().cpu().contiguous() for k, v in net.projection.state_dict().items()
            }
            save_file(state, str(tmp / PROJECTION_FILE))
        info = profile.to_dict()
        info.update(
            arm=summary["arm"],
            seed=summary["seed"],
            best_step=summary["best_step"],
            best_dev_accuracy=summary["best_dev_accuracy"],
        )
        write_json(tmp / PROFILE_FILE, info)


# ---------------------------------------------------------------- sweep table


def summarize_sweep(
    runs: Sequence[tuple[str, str, float]], curves: Sequence[str | Path]
) -> pd.DataFrame:
    """The sweep table: one row per run with its best dev accuracy (``all``, steps > 0).

    Columns ``arm param value best_dev_accuracy best_step selected``; ``selected`` marks the
    best value of each arm (ties: the first listed).
    """
    rows = []
    for (arm, param, value), path in zip(runs, curves, strict=True):
        curve = pd.read_csv(path, sep="\t")
        mean = curve[(curve["lang"] == "all") & (curve["step"] > 0)]
        if mean.empty:
            raise PipelineError(f"{path}: no dev evaluation after training")
        top = mean.loc[mean["accuracy"].idxmax()]
        rows.append(
            {
                "arm": arm,
                "param": param,
                "value": value,
                "best_dev_accuracy": float(top["accuracy"]),
                "best_step": int(top["step"]),
            }
        )
    table = pd.DataFrame(rows)
    table["selected"] = False
    for _, group in table.groupby("arm", sort=False):
        table.loc[group["best_dev_accuracy"].idxmax(), "selected"] = True
    return table
