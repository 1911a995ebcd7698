"""Write the tiny random teacher and student of the tiny end-to-end config.

    .venv/bin/python tests/make_tiny_models.py DIR

writes ``DIR/teacher`` (seed 0) and ``DIR/student`` (seed 1), the models
tests/workflow/test_workflow_e2e.py builds for ``tests/configs/tiny/config.yaml`` (whose specs
``tiny_models/teacher`` and ``tiny_models/student`` are relative to the working directory).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from conftest import make_tiny_bert

SEEDS = {"teacher": 0, "student": 1}


def make_tiny_models(out_dir: str | Path) -> dict[str, Path]:
    """The tiny teacher and student under ``out_dir`` (role -> model directory)."""
    return {role: make_tiny_bert(Path(out_dir) / role, seed=seed) for role, seed in SEEDS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="directory to write teacher/ and student/ to")
    for role, path in make_tiny_models(parser.parse_args().out_dir).items():
        print(f"{role}: {path}")


if __name__ == "__main__":
    main()
