"""otkd: OT vs KL distillation for zero-shot cross-lingual retrieval on XQuAD.

Data flows one way through the modules, each named after its pipeline stage:
download -> xquad / bitext -> models -> tokenize -> teacher_cache -> train
-> evaluate -> stats -> report. A module never imports a later stage (docs/ARCHITECTURE.md).
"""

__version__ = "0.1.0"


def lazy_exports(package: str, exports: dict[str, list[str]]):
    """``(__getattr__, __dir__, __all__)`` for a subpackage that re-exports the public names of
    its modules (``exports``: module -> names) on first access, so importing one light module
    of it does not import the heavy ones."""
    import importlib

    module_of = {name: module for module, names in exports.items() for name in names}
    names = sorted(module_of)

    def __getattr__(name: str):
        if name not in module_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{module_of[name]}", package), name)

    def __dir__() -> list[str]:
        return sorted([*vars(importlib.import_module(package)), *names])

    return __getattr__, __dir__, names
