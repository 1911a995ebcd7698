"""The conda env used by every rule pins exactly the runtime pip requirements; development
tools live in requirements-dev.txt only."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


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


DEV_TOOLS = {"pytest", "pytest-xdist", "execnet", "ruff", "snakefmt", "sentence-transformers"}


def test_dev_tools_are_pinned_in_dev_requirements_only():
    dev = _pins(ROOT / "requirements-dev.txt")
    assert set(dev) == DEV_TOOLS and all(dev.values()), dev
    runtime = _pins(ROOT / "requirements.txt") | _pins(ROOT / "requirements-models.txt")
    assert not DEV_TOOLS & set(runtime), sorted(DEV_TOOLS & set(runtime))
    env_text = (ROOT / "envs" / "pipeline.yaml").read_text()
    assert not [tool for tool in DEV_TOOLS if f"- {tool}==" in env_text]


def test_make_test_installs_dev_tools_and_make_run_does_not():
    makefile = (ROOT / "Makefile").read_text()
    rules = {}
    for line in makefile.splitlines():
        target, sep, deps = line.partition(":")
        if sep and not line.startswith(("\t", " ", "#")) and "=" not in target:
            rules[target.strip()] = deps.split()
    assert rules["test"] == ["lint"] and rules["lint"] == ["install-dev"]
    assert "requirements-dev.txt" in rules["$(VENV)/.dev-installed"]
    assert rules["run"] == ["install"]
    assert "requirements-dev.txt" not in rules["$(VENV)/.installed"]


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
