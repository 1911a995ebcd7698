"""Configuration validation: JSON schema first, then cross-key checks.

Errors name the offending config key (``train.steps``) and say what was wrong.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

from .io import PipelineError
from .languages import LANGUAGES

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


def _key(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def validate_config(config: dict, schema_path: str | Path = SCHEMA) -> dict:
    """Validate ``config`` against the schema and cross-key rules; return it.

    Raises PipelineError whose message lists every problem with its key.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = [
        f"config key '{_key(e)}': {e.message}"
        for e in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    ]
    if "downloads" in config:
        problems.insert(
            0,
            "config key 'downloads': the download list is now the manifest "
            "workflow/resources/downloads.tsv; add or override entries with config key "
            "'extra_downloads', or point 'downloads_manifest' at another manifest",
        )
    if not problems:
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
