"""Everything one training run holds before its first step: seeded student, projection,
loss, optimizer and schedule (:func:`setup_run`), and one optimisation step
(:meth:`TrainingRun.step`)."""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from ..config import train_defaults
from ..encode import default_device
from ..io import PipelineError
from ..losses import build_loss, idf_table
from ..model_profile import ModelProfile
from ..models import load_model, load_projection
from .data import SplitData, content_ids
from .student import Student, teacher_features

log = logging.getLogger(__name__)


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


def _idf_tables(data: SplitData) -> tuple[torch.Tensor, torch.Tensor]:
    n = len(data)
    student = [content_ids(data.student_xx, i) for i in range(n)]
    student += [content_ids(data.student_en, i) for i in range(n)]
    teacher = [content_ids(data.teacher_en, i) for i in range(n)]
    return idf_table(student), idf_table(teacher)


def _check_vocabulary(model, profile: ModelProfile, data: SplitData) -> None:
    """Student token ids must fit the student's vocabulary (same tokenizer)."""
    vocab = model.get_input_embeddings().num_embeddings
    for side in ("student_xx", "student_en"):
        ids = getattr(data, side).ids
        if len(ids) and int(ids.max()) >= vocab:
            raise PipelineError(
                f"{side} token id {int(ids.max())} >= vocabulary size {vocab} of student "
                f"{profile.spec!r}: the tokens were not made with this student's tokenizer"
            )


def build_projection(
    projection: bool | str,
    projection_init: str | Path | None,
    student_dim: int,
    teacher_dim: int,
    spec: str,
    cache_dir,
) -> torch.nn.Linear | None:
    """The student -> teacher map of config ``models.projection``: the fitted ridge map
    (``"ridge"``, read from ``projection_init``), a fresh learned map (True, only when the
    dimensions differ) or none; differing dimensions without a map are an error."""
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
        return proj
    if student_dim == teacher_dim:
        return None
    if not projection:
        raise PipelineError(
            f"student {spec!r} has dimension {student_dim} but the teacher cache "
            f"{cache_dir} has {teacher_dim}: set config key "
            f"'models.projection: true' to learn a linear projection, or use models of "
            f"the same dimension"
        )
    log.info("learned projection %d -> %d", student_dim, teacher_dim)
    return torch.nn.Linear(student_dim, teacher_dim, bias=False)


@dataclass
class TrainingRun:
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
) -> TrainingRun:
    """Seed everything, load the student, add a projection if needed, build loss/optimizer.

    Arguments as for :func:`otkd.train.train`; ``data`` is the loaded training split; keys
    missing from ``settings`` take the config schema's defaults.
    """
    cfg = train_defaults(settings)
    device = torch.device(device) if device is not None else default_device()
    _set_seed(seed)
    profile = ModelProfile.from_config(student)
    model, tokenizer = load_model(profile.spec)
    _check_vocabulary(model, profile, data)
    proj = build_projection(
        projection,
        projection_init,
        int(model.config.hidden_size),
        data.cache.dim,
        profile.spec,
        data.cache.directory,
    )
    net = Student(model, profile, proj).to(device)
    net.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    if cfg["freeze_word_embeddings"]:
        model.get_input_embeddings().weight.requires_grad_(False)
    net.train()

    idf = _idf_tables(data) if cfg["ot"]["marginals"] == "idf" else (None, None)
    loss_fn = build_loss(arm, cfg, student_idf=idf[0], teacher_idf=idf[1]).to(device)
    optimizer = torch.optim.AdamW(_param_groups([net], cfg["weight_decay"]), lr=cfg["lr"])
    steps = int(cfg["steps"])
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(cfg["warmup_ratio"] * steps), steps
    )
    trainable = [p for p in net.parameters() if p.requires_grad]
    return TrainingRun(
        arm, cfg, net, tokenizer, loss_fn, optimizer, scheduler, trainable, data, device
    )
