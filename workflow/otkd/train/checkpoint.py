"""The best-dev checkpoint: kept in memory during training, written as one atomic directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..export import write_sentence_transformers
from ..io import atomic_path, write_json
from ..model_profile import PROFILE_FILE, PROJECTION_FILE, ModelProfile
from ..models import write_checksums
from .student import Student


def trainable_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the trainable parameters (the best-dev state so far)."""
    return {
        k: v.detach().to("cpu", copy=True) for k, v in module.named_parameters() if v.requires_grad
    }


def save_checkpoint(
    net: Student,
    tokenizer,
    profile: ModelProfile,
    model_dir: Path,
    summary: dict,
    *,
    card: Mapping | None = None,
    st_max_length: int | None = None,
) -> None:
    """Write model, tokenizer, ``otkd_model.json`` and the projection as one atomic directory,
    which is also a sentence-transformers model with a model card.

    ``otkd_model.json`` holds the student's ModelProfile (``spec`` = the init spec) plus the
    run's arm, seed, best step and dev accuracy. :func:`otkd.export.write_sentence_transformers`
    adds the module chain (``modules.json``, pooling, the map as ``2_Dense``, normalisation),
    prompts and ``README.md``; ``card``: :class:`otkd.export.ModelCardInfo` fields (None: a
    card naming experiment ``main`` and no languages); ``st_max_length``: sentence-transformers'
    ``max_seq_length`` (the passage length of evaluation; None: the profile's ``max_length``).
    """
    card = dict(card) if card is not None else {"experiment": "main", "languages": []}
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
            dev_metric=summary["dev_metric"],
            best_dev_score=summary["best_dev_score"],
        )
        write_json(tmp / PROFILE_FILE, info)
        write_sentence_transformers(tmp, card=card, max_length=st_max_length)
        write_checksums(tmp)  # last: load_model checks every file against it
