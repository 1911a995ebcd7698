"""The conda env used by every rule pins exactly what the pip requirements pin."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.lower()] = version
    return pins


def test_conda_env_matches_requirements():
    env = yaml.safe_load((ROOT / "envs" / "pipeline.yaml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = {}
    for spec in pip_section:
        name, sep, version = spec.partition("==")
        assert sep, f"envs/pipeline.yaml: {spec!r} is not pinned with =="
        conda_pins[name.lower()] = version
    expected = _pins(ROOT / "requirements.txt") | _pins(ROOT / "requirements-models.txt")
    assert conda_pins == expected
    assert "python=3.11" in env["dependencies"]


def test_every_rule_that_runs_code_uses_the_pinned_env():
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        blocks = ("\n" + smk.read_text()).split("\nrule ")[1:]
        for block in blocks:
            name = block.split(":")[0]
            if "script:" in block or "shell:" in block:
                assert '"../../envs/pipeline.yaml"' in block, (
                    f"{smk.name}: rule {name} lacks conda:"
                )
                assert "log:" in block, f"{smk.name}: rule {name} lacks log:"
