"""What a run is: its identity, name, directories, settings, the sweep plan and curve points.

A *run* is one training of the student with one loss (``arm``) and one ``seed``, optionally on
a bitext ``budget`` (pairs per language, the learning curve) and, later, in an ``experiment``
setting. Its *model name* (``kl_seed1``, ``ot_n250_seed1``) names its evaluation folder; its
*directory* (``results/train/kl/seed1``) holds its checkpoint and logs. The two baselines
(``teacher``, ``student_init``) are evaluated but not trained.

Plain Python only (no torch, no faiss): the Snakemake files import this module while the DAG
is built. ``ARMS`` is the one list of arms: the config schema, ``otkd.losses`` and the
``arm`` wildcard of ``workflow/rules/common.smk`` are checked against it (tests/unit/test_runs.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from .io import PipelineError

ARMS = ("mse", "kl", "ot", "ot_kl", "wkd", "gkl")
BASELINES = ("teacher", "student_init")
TRAIN_DIR = "results/train"
SWEEP_DIR = "results/sweep"
# config sections of `train` that only some arms read (so a change reruns only those arms)
LOSS_SECTIONS = {
    "mse": (),
    "kl": ("kl",),
    "ot": ("ot",),
    "ot_kl": ("ot", "kl", "ot_kl"),
    "wkd": ("wkd",),
    "gkl": ("gkl",),
}
NOT_TRAINING = ("arms", "seeds")  # lists of runs, not parameters of one run
# sweep: arm -> (loss parameter inside train.<arm>, list key inside the sweep section)
SWEEP_PARAMS = {
    "kl": ("temperature", "kl_temperature"),
    "ot": ("eps", "ot_eps"),
    "wkd": ("eps", "wkd_eps"),
    "gkl": ("temperature", "gkl_temperature"),
}

_ARM = "|".join(sorted(ARMS, key=len, reverse=True))
_NAME = re.compile(
    rf"(?P<arm>{_ARM})(?:_n(?P<budget>\d+))?_seed(?P<seed>\d+)(?:__(?P<experiment>[a-z0-9_]+))?"
)
_EXPERIMENT = re.compile(r"[a-z0-9][a-z0-9_]*")


@dataclass(frozen=True)
class Run:
    """One training run: ``arm`` and ``seed``, the bitext ``budget`` of a learning-curve run
    (None: the main budget) and the ``experiment`` setting (None: the main experiment).

    ``name`` and ``directory`` are the only places the naming scheme is written down: a
    run of the main experiment is named ``{arm}[_n{budget}]_seed{seed}``; a named
    experiment appends ``__{experiment}`` to the name and inserts ``{experiment}/`` after
    the root directory.
    """

    arm: str
    seed: int
    budget: int | None = None
    experiment: str | None = None

    def __post_init__(self) -> None:
        if self.arm not in ARMS:
            raise PipelineError(f"unknown arm {self.arm!r} (expected one of {', '.join(ARMS)})")
        if int(self.seed) < 0:
            raise PipelineError(f"run {self.arm}: seed must be >= 0, got {self.seed}")
        if self.budget is not None and int(self.budget) < 1:
            raise PipelineError(f"run {self.arm}: budget must be >= 1, got {self.budget}")
        if self.experiment is not None and not _EXPERIMENT.fullmatch(self.experiment):
            raise PipelineError(
                f"experiment {self.experiment!r}: use lower-case letters, digits and '_'"
            )
        object.__setattr__(self, "seed", int(self.seed))
        if self.budget is not None:
            object.__setattr__(self, "budget", int(self.budget))

    @property
    def name(self) -> str:
        """The model name: ``kl_seed1``, ``ot_n250_seed1`` (``..__{experiment}``)."""
        budget = "" if self.budget is None else f"_n{self.budget}"
        experiment = "" if self.experiment is None else f"__{self.experiment}"
        return f"{self.arm}{budget}_seed{self.seed}{experiment}"

    def directory(self, root: str = TRAIN_DIR) -> str:
        """``{root}[/{experiment}]/{arm}[/n{budget}]/seed{seed}``."""
        parts = [root] + ([self.experiment] if self.experiment is not None else [])
        parts += [self.arm] + ([f"n{self.budget}"] if self.budget is not None else [])
        return "/".join([*parts, f"seed{self.seed}"])

    def model_dir(self, root: str = TRAIN_DIR) -> str:
        """The checkpoint directory of the run."""
        return f"{self.directory(root)}/model"

    def __str__(self) -> str:
        return self.name


def parse_model(model: str) -> Run | None:
    """The Run a model name names, or None for a baseline (``teacher``, ``student_init``).

    Raises PipelineError naming the accepted forms for anything else.
    """
    if model in BASELINES:
        return None
    match = _NAME.fullmatch(model)
    if match is None:
        raise PipelineError(
            f"unknown model name {model!r}: expected 'teacher', 'student_init', "
            f"'{{arm}}_seed{{seed}}' (e.g. 'ot_seed1') or '{{arm}}_n{{budget}}_seed{{seed}}' "
            f"with arm one of {', '.join(ARMS)}"
        )
    budget = match["budget"]
    return Run(
        match["arm"], int(match["seed"]), int(budget) if budget else None, match["experiment"]
    )


def model_arm_seed(model: str) -> tuple[str, int | None]:
    """``teacher`` -> ("teacher", None); ``ot_kl_seed2`` -> ("ot_kl", 2);
    ``ot_n250_seed1`` (a learning-curve run) -> ("ot", 1)."""
    run = parse_model(model)
    return (model, None) if run is None else (run.arm, run.seed)


def model_budget(model: str) -> int | None:
    """The bitext budget of a learning-curve run (``ot_n250_seed1`` -> 250), else None."""
    run = parse_model(model)
    return None if run is None else run.budget


def main_runs(train_cfg: dict) -> list[Run]:
    """The runs of config ``train``: every arm of ``train.arms`` with every seed, arm-major."""
    return [Run(arm, seed) for arm in train_cfg["arms"] for seed in train_cfg["seeds"]]


# ---------------------------------------------------------------- per-arm settings


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


# ---------------------------------------------------------------- the dev sweep


class SweepRun(NamedTuple):
    """One run of the dev sweep: ``arm`` with its loss parameter ``param`` set to ``value``."""

    arm: str
    param: str
    value: float

    def directory(self, root: str = SWEEP_DIR) -> str:
        """``{root}/{arm}/{param}_{value}``."""
        return f"{root}/{self.arm}/{self.param}_{self.value}"


def sweep_plan(sweep_cfg: dict) -> list[SweepRun]:
    """The ``(arm, param, value)`` runs of the dev sweep.

    An arm is tuned when its list key (:data:`SWEEP_PARAMS`) is in ``sweep_cfg``. Every tuned
    arm gets the same budget (same number of runs of ``sweep.steps`` steps each): lists of
    different lengths raise PipelineError naming both keys.
    """
    runs, counts = [], {}
    for arm, (param, key) in SWEEP_PARAMS.items():
        if key not in sweep_cfg:
            continue
        values = list(sweep_cfg[key])
        if not values:
            raise PipelineError(f"config key 'sweep.{key}': no values to sweep")
        counts[key] = len(values)
        runs += [SweepRun(arm, param, float(v)) for v in values]
    if not counts:
        keys = ", ".join(f"sweep.{key}" for _, key in SWEEP_PARAMS.values())
        raise PipelineError(f"config key 'sweep': no values to sweep (set one of {keys})")
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"sweep.{k} has {n}" for k, n in counts.items())
        raise PipelineError(
            f"config keys {', '.join('sweep.' + k for k in counts)}: every arm needs the "
            f"same tuning budget (same number of values), but {detail}"
        )
    return runs


def sweep_settings(train_cfg: dict, sweep_cfg: dict, arm: str, param: str, value: float) -> dict:
    """``arm_settings`` of one sweep run: the swept value and ``sweep.steps`` steps
    (``train.steps`` when ``sweep.steps`` is unset)."""
    if SWEEP_PARAMS.get(arm, (None,))[0] != param:
        raise PipelineError(f"sweep: arm {arm!r} has no swept parameter {param!r}")
    settings = arm_settings(train_cfg, arm)
    settings[arm] = dict(settings.get(arm, {}), **{param: float(value)})
    settings["steps"] = int(sweep_cfg["steps"] if "steps" in sweep_cfg else settings["steps"])
    return settings


# ---------------------------------------------------------------- the learning curve


class CurvePoint(NamedTuple):
    """One learning-curve point: ``arm`` trained with ``seed`` on ``budget`` pairs per
    language, evaluated as ``model``."""

    arm: str
    budget: int
    seed: int
    model: str


def curve_points(config: dict) -> list[CurvePoint]:
    """Every point of config ``learning_curve`` (budget-major, then arm, then seed).

    The point at ``bitext.budget_per_language`` of a main arm and seed reuses the main run
    (``{arm}_seed{seed}``); every other point is the run ``{arm}_n{budget}_seed{seed}``,
    trained on a prefix of the curve pool.
    """
    curve, train = config["learning_curve"], config["train"]
    main = config["bitext"]["budget_per_language"]
    points = []
    for budget in curve["budgets"]:
        for arm in curve["arms"]:
            for seed in curve["seeds"]:
                reuse = budget == main and arm in train["arms"] and seed in train["seeds"]
                run = Run(arm, seed, None if reuse else budget)
                points.append(CurvePoint(arm, budget, seed, run.name))
    return points
