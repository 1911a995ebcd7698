"""The training loop of one run: steps, dev evaluations, best-checkpoint tracking, logs."""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..encode import Encoder
from ..io import PipelineError, write_df
from ..model_profile import EvalLengths
from ..models import model_max_length
from .checkpoint import save_checkpoint, trainable_state
from .data import SplitData, SplitPaths, budget_rows, load_split
from .dev import DEV_BATCH_SIZE, DEV_METRICS, dev_scores
from .sampler import batch_stream, padding_share
from .setup import TrainingRun, setup_run

log = logging.getLogger(__name__)

LOG_COLUMNS = ["step", "loss", "lr", "pairs_per_s", "elapsed_s", "padding_share", "skipped"]
CURVE_COLUMNS = ["step", "lang", *DEV_METRICS]


def _nonfinite(policy: str, arm: str, step: int, what: str) -> None:
    if policy == "error":
        raise PipelineError(
            f"train arm {arm!r}: {what} at step {step} (config key 'train.nan_policy' is "
            f"'error'; set it to 'skip' to skip such batches)"
        )
    log.warning("arm %s step %d: %s; batch skipped (train.nan_policy: skip)", arm, step, what)


@dataclass
class DevTracker:
    """Dev evaluations of one run: the curve rows and the best-dev state so far, selected
    by ``metric`` (one of :data:`otkd.train.dev.DEV_METRICS`, mean over languages)."""

    encoder: Encoder
    dev: SplitData
    patience: int
    metric: str = "fidelity"
    curve: list = field(default_factory=list)
    best_step: int | None = None
    best_score: float = -math.inf
    best_state: dict | None = None
    stale: int = 0
    last_score: float = math.nan

    def __post_init__(self):
        if self.metric not in DEV_METRICS:
            raise PipelineError(
                f"config key 'train.dev_metric': {self.metric!r} is not one of {DEV_METRICS}"
            )

    def evaluate(self, net: torch.nn.Module, step: int) -> float:
        """The dev scores at ``step`` (appended to the curve); returns the selection score."""
        started = time.perf_counter()
        net.eval()  # the Encoder sets eval mode only once, at construction
        scores = dev_scores(self.encoder, self.dev)
        net.train()
        for lang in scores[DEV_METRICS[0]]:
            self.curve.append(
                {"step": step, "lang": lang, **{m: scores[m][lang] for m in DEV_METRICS}}
            )
        log.info(
            "step %d: dev %s (%.1f s)",
            step,
            " ".join(f"{m} {scores[m]['all']:.4f}" for m in DEV_METRICS),
            time.perf_counter() - started,
        )
        self.last_score = scores[self.metric]["all"]
        return self.last_score

    def update(self, net: torch.nn.Module, step: int) -> bool:
        """Evaluate, keep the state when it beats the best; True when patience runs out."""
        score = self.evaluate(net, step)
        if score > self.best_score:
            self.best_step, self.best_score = step, score
            self.best_state, self.stale = trainable_state(net), 0
            return False
        self.stale += 1
        if self.patience and self.stale >= self.patience:
            log.info("early stop at step %d: no dev gain in %d evaluations", step, self.stale)
            return True
        return False


def _dev_encoder(run: TrainingRun) -> Encoder:
    """An Encoder sharing the run's student and projection, for dev accuracy."""
    net = run.net
    encoder = Encoder(
        net.profile,
        model=net.model,
        tokenizer=run.tokenizer,
        batch_size=DEV_BATCH_SIZE,
        bf16=bool(run.cfg["bf16"]),
        device=run.device,
        show_progress=False,
    )
    encoder.projection = net.projection
    return encoder


def _load_splits(train_paths: SplitPaths, dev_paths: SplitPaths) -> tuple[SplitData, SplitData]:
    train_data, dev_data = load_split(train_paths), load_split(dev_paths)
    if dev_data.cache.dim != train_data.cache.dim:
        raise PipelineError(
            f"{dev_paths.teacher_cache}: dimension {dev_data.cache.dim} differs from "
            f"{train_paths.teacher_cache} ({train_data.cache.dim})"
        )
    return train_data, dev_data


def _run_steps(run: TrainingRun, seed: int, used: np.ndarray, tracker: DevTracker):
    """The optimisation steps with dev evaluations; returns (log rows, last step, skipped,
    start time). A tqdm bar on stderr (at most every 30 s) shows the ETA and the last dev
    accuracy; the periodic log lines carry the same bar into the rule's log."""
    cfg, arm = run.cfg, run.arm
    steps, batch_size, policy = int(cfg["steps"]), int(cfg["batch_size"]), cfg["nan_policy"]
    positions = batch_stream(run.lengths()[used], batch_size, np.random.default_rng(seed))
    batches = (used[p] for p in positions)
    skipped, n_eval, rows = 0, max(1, int(cfg["eval_every"])), []
    tracker.evaluate(run.net, 0)
    start = time.perf_counter()
    step = 0
    bar = tqdm(total=steps, desc=f"{arm} seed {seed}", unit="step", file=sys.stderr,
               mininterval=30, ascii=True, dynamic_ncols=False, ncols=100)  # fmt: skip
    bar.set_postfix(dev=f"{tracker.last_score:.4f}", refresh=False)
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
        bar.update(1)
        if step % max(1, steps // 20) == 0:
            log.info(
                "step %d/%d loss %.5f lr %.2e %.1f pairs/s | %s",
                step, steps, value, lr, len(idx) / dt, bar,
            )  # fmt: skip
        if step % n_eval == 0 or step == steps:
            stop = tracker.update(run.net, step)
            bar.set_postfix(dev=f"{tracker.last_score:.4f}", refresh=False)
            if stop:
                break
    bar.close()
    return rows, step, skipped, start


def flat_settings(settings: dict, prefix: str = "") -> dict:
    """``{"kl": {"temperature": 0.1}}`` -> ``{"kl.temperature": 0.1}`` (the card's table)."""
    out = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            out.update(flat_settings(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def card_info(card: dict | None, settings: dict, langs, pairs: int) -> dict:
    """The model card fields of a run: ``card`` completed with the languages, the
    hyper-parameters and the number of training pairs."""
    info = {"experiment": "main", **(card or {})}
    info.setdefault("languages", list(dict.fromkeys(str(x) for x in langs)))
    info.setdefault("hyperparameters", flat_settings(settings))
    info["bitext"] = {**info.get("bitext", {}), "pairs": int(pairs)}
    return info


def passage_length(eval_lengths: dict | None, init_spec: str) -> int | None:
    """The passage length evaluation encodes at (config ``evaluation.passage_max_length``,
    "model" = the documented maximum of the initial student ``init_spec``), or None."""
    if eval_lengths is None:
        return None
    model_max, _ = model_max_length(init_spec)
    return EvalLengths.resolve(eval_lengths, model_max, model="student").passage


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
    card: dict | None = None,
    eval_lengths: dict | None = None,
) -> dict:
    """Train one (arm, seed) run; write the checkpoint, ``train_log.tsv`` and ``dev_curve.tsv``.

    Args:
        arm: one of :data:`otkd.runs.ARMS` (the loss, via :func:`otkd.losses.build_loss`).
        seed: seeds python ``random``, numpy, torch and the batch order.
        settings: the ``train`` config section, or :func:`otkd.runs.arm_settings` of it
            (missing keys take the schema's defaults; ``pairs_per_language``, when present
            and not None, trains on that prefix of every language's rows).
        student: the ``models.student`` config section (spec, pooling, prefixes, max_length).
        train_paths, dev_paths: the token files, bitext and teacher cache of each split.
        train_log, dev_curve: TSV outputs (columns ``LOG_COLUMNS`` and ``CURVE_COLUMNS``).
        model_dir: checkpoint directory (the best-dev model), written atomically; None writes
            no checkpoint (dev sweep).
        projection: ``models.projection``; True: a learned linear map student -> teacher
            dimension when they differ (without it, differing dimensions are an error);
            ``"ridge"``: the map fitted by :mod:`otkd.projection` (``projection_init``, a
            directory holding ``projection.safetensors``), trained further with the student.
        device: defaults to CUDA when present.
        card: model card fields (:class:`otkd.export.ModelCardInfo`: ``experiment``,
            ``teacher``, ``base_spec``, ``bitext``, ...); ``languages`` defaults to the
            training split's, ``hyperparameters`` to ``settings`` (flattened, ``kl.temperature``)
            and ``bitext.pairs`` to the pairs trained on.
        eval_lengths: config ``evaluation`` length keys (:data:`otkd.model_profile.LENGTH_KEYS`):
            the checkpoint's sentence-transformers ``max_seq_length`` is the passage length
            evaluation uses (resolved against the initial student's documented maximum);
            None: the student profile's ``max_length``.

    Returns:
        a summary dict (best step and dev accuracy, steps run, skipped batches, padding share,
        mean pairs/s).
    """
    train_data, dev_data = _load_splits(train_paths, dev_paths)
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
    cfg = run.cfg
    tracker = DevTracker(_dev_encoder(run), dev_data, cfg["patience"], cfg["dev_metric"])
    used = budget_rows(train_data.langs, cfg.get("pairs_per_language"))
    log.info(
        "train arm=%s seed=%d steps=%d batch=%d pairs=%d (of %d) dev=%d device=%s loss=%s",
        arm, seed, int(cfg["steps"]), int(cfg["batch_size"]), len(used), len(train_data),
        len(dev_data), run.device, run.loss_fn,
    )  # fmt: skip
    rows, step, skipped, start = _run_steps(run, seed, used, tracker)
    frame = pd.DataFrame(rows, columns=LOG_COLUMNS)
    summary = {
        "arm": arm,
        "seed": seed,
        "steps_run": step,
        "pairs": int(len(used)),
        "best_step": tracker.best_step,
        "dev_metric": tracker.metric,
        "best_dev_score": tracker.best_score,
        "skipped": skipped,
        "padding_share": float(frame["padding_share"].mean()) if len(frame) else 0.0,
        "pairs_per_s": float(frame["pairs_per_s"].mean()) if len(frame) else 0.0,
        "elapsed_s": time.perf_counter() - start,
    }
    log.info("summary %s", summary)
    if model_dir is not None:
        if tracker.best_state is not None:
            run.net.load_state_dict(tracker.best_state, strict=False)
        save_checkpoint(
            run.net,
            run.tokenizer,
            run.net.profile,
            Path(model_dir),
            summary,
            card=card_info(card, settings, train_data.langs, summary["pairs"]),
            st_max_length=passage_length(eval_lengths, student["spec"]),
        )
    write_df(train_log, frame, float_format="%.6g")
    write_df(dev_curve, pd.DataFrame(tracker.curve, columns=CURVE_COLUMNS))
    return summary
