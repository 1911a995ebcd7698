"""Configuration validation: JSON schema first, then cross-key checks.

Errors name the offending config key (``train.steps``) and say what was wrong.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

from .io import PipelineError
from .languages import LANGUAGES

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


def _extend_with_default(validator_class):
    """A validator class that also fills every missing property that has a ``default`` in the
    schema (the jsonschema FAQ recipe); defaults are deep-copied, so a default object such as
    ``{}`` is filled in turn by its own properties' defaults."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if validator.is_type(instance, "object"):
            for prop, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(prop, copy.deepcopy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


DefaultFillingValidator = _extend_with_default(jsonschema.Draft202012Validator)


def _cross_key_defaults(config: dict) -> None:
    """Defaults that are other keys: ``sweep.steps`` is ``train.steps`` and
    ``learning_curve.seeds`` the first of ``train.seeds`` when unset."""
    config["sweep"].setdefault("steps", config["train"]["steps"])
    config["learning_curve"].setdefault("seeds", config["train"]["seeds"][:1])


def section_defaults(section: str, settings: dict, schema_path: str | Path = SCHEMA) -> dict:
    """A copy of ``settings`` (config section ``section`` or part of it) with every missing key
    set to the schema's default; for callers that build settings in code."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    sub = {k: v for k, v in schema["properties"][section].items() if k != "required"}
    sub["definitions"] = schema.get("definitions", {})  # for its $refs (#/definitions/...)
    filled = copy.deepcopy(dict(settings))
    for _ in DefaultFillingValidator(sub).iter_errors(filled):
        pass  # only the filling matters here; validate_config reports errors
    return filled


def train_defaults(settings: dict, schema_path: str | Path = SCHEMA) -> dict:
    """:func:`section_defaults` of the ``train`` section."""
    return section_defaults("train", settings, schema_path)


def _key(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


MOVED_KEYS = {
    ("models", "projection"): (
        "the student -> teacher map is set per experiment now: move it to "
        "'experiments.<name>.projection'"
    ),
}


def _experiment_problems(config: dict, schema: dict) -> list[str]:
    """Each experiment's ``train`` and ``sweep`` overrides merged into their sections and
    checked against those sections' schema; its ``teacher``; ``learning_curve.experiment``."""
    from .runs import NAMED_TEACHER, merge_settings

    problems = []
    for name, exp in config["experiments"].items():
        if exp["teacher"] == NAMED_TEACHER and "teacher" not in config["models"]:
            problems.append(
                f"config key 'experiments.{name}.teacher': 'teacher' names models.teacher, "
                "which is not set; set it or give the teacher's profile here"
            )
        for section in ("train", "sweep"):
            if section not in exp:
                continue
            sub = dict(schema["properties"][section])
            sub["definitions"] = schema.get("definitions", {})
            merged = merge_settings(config.get(section, {}), exp[section])
            for e in sorted(
                DefaultFillingValidator(sub).iter_errors(merged), key=lambda e: list(e.path)
            ):
                key = ".".join(["experiments", name, section, *map(str, e.absolute_path)])
                problems.append(f"config key '{key}': {e.message}")
    chosen = config.get("learning_curve", {}).get("experiment")
    if chosen is not None and chosen not in config["experiments"]:
        problems.append(
            f"config key 'learning_curve.experiment': no experiment {chosen!r} "
            f"(configured: {', '.join(config['experiments'])})"
        )
    return problems


def validate_config(config: dict, schema_path: str | Path = SCHEMA) -> dict:
    """Validate ``config`` against the schema and cross-key rules; return it, with every
    missing key that has a ``default`` in the schema filled in (in place).

    Raises PipelineError whose message lists every problem with its key.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = DefaultFillingValidator(schema)
    problems = [
        f"config key '{_key(e)}': {e.message}"
        for e in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    ]
    for (section, key), hint in MOVED_KEYS.items():
        if key in (config.get(section) or {}):
            problems = [p for p in problems if f"'{key}' was unexpected" not in p]
            problems.insert(0, f"config key '{section}.{key}': {hint}")
    if "downloads" in config:
        problems.insert(
            0,
            "config key 'downloads': the download list is now the manifest "
            "workflow/resources/downloads.tsv; add or override entries with config key "
            "'extra_downloads', or point 'downloads_manifest' at another manifest",
        )
    if not problems:
        problems += _experiment_problems(config, schema)
    if not problems:
        _cross_key_defaults(config)
        langs = set(config["languages"])
        for group, members in config["groups"].items():
            for code in members:
                if code not in LANGUAGES:
                    problems.append(f"config key 'groups.{group}': unknown language {code!r}")
        for code in langs:
            if code not in LANGUAGES:
                problems.append(f"config key 'languages': unknown language {code!r}")
    if problems:
        raise PipelineError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def load_config(path: str | Path) -> dict:
    """Read a YAML config file and validate it."""
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    if not isinstance(config, dict):
        raise PipelineError(f"{path}: config must be a YAML mapping")
    return validate_config(config)
