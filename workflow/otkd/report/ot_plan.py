"""What the OT loss aligns: the entropic transport plan of a trained ``ot`` student between
its translation tokens and the teacher's English tokens, for a few dev bitext pairs
(rule ``ot_plan_figure``, ``results/figures_ot/ot_plan.png``).

The plan is computed exactly as training computes it (:class:`otkd.losses.OTDistillation`
with the run's ``train.ot`` settings, :func:`otkd.losses.sinkhorn_log`): student content-token
states of the translation (through the map when there is one), teacher content-token
embeddings of the English side from the teacher cache, cost ``1 - cos``, marginals uniform or
IDF (IDF tables from the training split, as in training).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import PipelineError, atomic_path

log = logging.getLogger(__name__)


@dataclass
class TransportPlan:
    """The plan of one bitext pair: rows = student translation tokens, columns = teacher
    English tokens; ``a``/``b`` the marginals the plan was solved for."""

    lang: str
    source: str  # the translation
    english: str
    student_tokens: list[str]
    teacher_tokens: list[str]
    plan: np.ndarray  # (n, m)
    cost: np.ndarray  # (n, m)
    a: np.ndarray  # (n,)
    b: np.ndarray  # (m,)


def pick_rows(langs: Sequence[str], lengths: np.ndarray, n: int, max_tokens: int = 16) -> list:
    """Up to ``n`` dev rows, one per language in turn (languages in file order, then round
    again): each time the language's first unused row of at most ``max_tokens`` content
    tokens, else its shortest unused row."""
    langs, lengths = np.asarray(langs), np.asarray(lengths)
    order = list(dict.fromkeys(langs.tolist()))
    chosen: list[int] = []
    while len(chosen) < min(n, len(langs)):
        for lang in order:
            rows = [int(i) for i in np.flatnonzero(langs == lang) if int(i) not in chosen]
            if not rows or len(chosen) == n:
                continue
            short = [i for i in rows if lengths[i] <= max_tokens]
            chosen.append(short[0] if short else min(rows, key=lambda i: lengths[i]))
    return chosen


def _read_bitext(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False,
                           quoting=csv.QUOTE_NONE)  # fmt: skip
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path}: cannot read the bitext ({exc})") from exc


def transport_plans(
    model_dir: str | Path,
    dev_paths,
    settings: dict,
    *,
    teacher_spec: str,
    rows: Sequence[int] | None = None,
    n_pairs: int = 4,
    train_paths=None,
) -> list[TransportPlan]:
    """The OT plans of a trained checkpoint on dev bitext pairs (see the module docstring).

    ``dev_paths`` / ``train_paths``: :class:`otkd.train.SplitPaths` (the training split is
    read only for ``ot.marginals: idf``); ``settings``: the run's ``train`` settings
    (:func:`otkd.runs.arm_settings` of ``ot``); ``teacher_spec`` gives the teacher tokenizer
    for the column labels; ``rows``: dev rows (default :func:`pick_rows`).
    """
    import torch

    from ..config import train_defaults
    from ..losses import build_loss, idf_table, sinkhorn_log
    from ..model_profile import ModelProfile
    from ..models import load_model, load_projection, load_tokenizer, read_profile
    from ..train.data import content_ids, load_split
    from ..train.student import Student, teacher_features

    cfg = train_defaults(settings)
    dev = load_split(dev_paths)
    idf = (None, None)
    if cfg["ot"]["marginals"] == "idf":
        if train_paths is None:
            raise PipelineError("OT plan with 'train.ot.marginals: idf' needs the train split")
        data = load_split(train_paths)
        n = len(data)
        student = [content_ids(data.student_xx, i) for i in range(n)]
        student += [content_ids(data.student_en, i) for i in range(n)]
        idf = (idf_table(student), idf_table([content_ids(data.teacher_en, i) for i in range(n)]))
    loss_fn = build_loss("ot", cfg, student_idf=idf[0], teacher_idf=idf[1])

    model_dir = Path(model_dir)
    profile = ModelProfile.from_config(read_profile(model_dir))
    model, tokenizer = load_model(str(model_dir))
    net = Student(model, profile, load_projection(model_dir)).eval()
    net.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    teacher_tok = load_tokenizer(teacher_spec)
    bitext = _read_bitext(Path(dev_paths.bitext))
    if rows is None:
        content = np.array([int(dev.student_xx.content_mask(i).sum()) for i in range(len(dev))])
        rows = pick_rows(dev.langs, content, n_pairs)
    plans = []
    with torch.no_grad():
        for i in rows:
            idx = np.array([i])
            s, _ = net.features(dev.student_xx, idx, tokens=True, bf16=False)
            t = teacher_features(dev, idx, tokens=True, device=torch.device("cpu"))
            a = loss_fn._masses(s.mask, s.token_ids, loss_fn.student_idf)
            b = loss_fn._masses(t.mask, t.token_ids, loss_fn.teacher_idf)
            cost = 1.0 - s.tokens.float() @ t.tokens.float().transpose(1, 2)
            plan = sinkhorn_log(cost, a, b, loss_fn.eps, n_iter=loss_fn.n_iter, tol=loss_fn.tol)
            sm, tm = s.mask[0].bool(), t.mask[0].bool()
            plans.append(
                TransportPlan(
                    lang=str(dev.langs[i]),
                    source=str(bitext["xx"].iloc[i]),
                    english=str(bitext["en"].iloc[i]),
                    student_tokens=tokenizer.convert_ids_to_tokens(
                        content_ids(dev.student_xx, i).tolist()
                    ),
                    teacher_tokens=teacher_tok.convert_ids_to_tokens(
                        content_ids(dev.teacher_en, i).tolist()
                    ),
                    plan=plan[0][sm][:, tm].numpy(),
                    cost=cost[0][sm][:, tm].numpy(),
                    a=a[0][sm].numpy(),
                    b=b[0][tm].numpy(),
                )
            )
    return plans


def plot_plans(plans: Sequence[TransportPlan], path, *, title: str = "") -> None:
    """One heatmap per pair (rows: student translation tokens, columns: teacher English
    tokens), each row scaled by its mass so that a row reads as where that token's mass goes."""
    import matplotlib.pyplot as plt

    if not plans:
        raise PipelineError("no OT plans to plot")
    cols = min(2, len(plans))
    nrows = -(-len(plans) // cols)
    size = [max(p.plan.shape) for p in plans]
    cell = max(3.5, 0.32 * max(size))
    fig, axes = plt.subplots(nrows, cols, figsize=(cell * cols + 1, cell * nrows), squeeze=False)
    for ax in axes.flat[len(plans) :]:
        ax.axis("off")
    for ax, p in zip(axes.flat, plans, strict=False):
        share = p.plan / np.maximum(p.a[:, None], 1e-12)  # row-normalised: sums to 1 per row
        im = ax.imshow(share, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(p.teacher_tokens)), p.teacher_tokens, rotation=60, ha="right",
                      rotation_mode="anchor", fontsize=7)  # fmt: skip
        ax.set_yticks(range(len(p.student_tokens)), p.student_tokens, fontsize=7)
        ax.set_xlabel("teacher English tokens", fontsize=8)
        ax.set_ylabel(f"student {p.lang} tokens", fontsize=8)
        ax.set_title(f"{p.lang}: {p.source[:50]}", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.04, label="share of the token's mass")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def make_ot_plan_figure(
    model_dir, dev_paths, settings: dict, out_path, *, teacher_spec: str, train_paths=None,
    n_pairs: int = 4,
) -> list[TransportPlan]:  # fmt: skip
    """Rule ``ot_plan_figure``: :func:`transport_plans` of ``model_dir`` drawn by
    :func:`plot_plans` into ``out_path`` (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    plans = transport_plans(model_dir, dev_paths, settings, teacher_spec=teacher_spec,
                            n_pairs=n_pairs, train_paths=train_paths)  # fmt: skip
    eps = settings.get("ot", {}).get("eps", "default")
    with atomic_path(out_path) as tmp:
        plot_plans(plans, tmp, title=f"OT plans of {model_dir} (eps {eps}); rows sum to 1")
    for p in plans:
        log.info(
            "%s: %d x %d plan, cost %.4f", p.lang, *p.plan.shape, float((p.plan * p.cost).sum())
        )
    return plans
