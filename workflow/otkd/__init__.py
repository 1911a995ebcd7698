"""otkd: OT vs KL distillation for zero-shot cross-lingual retrieval on XQuAD.

Data flows one way through the modules, each named after its pipeline stage:
download -> xquad / bitext -> models -> tokenize -> teacher_cache -> train
-> evaluate -> stats -> report. A module never imports a later stage (docs/ARCHITECTURE.md).
"""

__version__ = "0.1.0"
