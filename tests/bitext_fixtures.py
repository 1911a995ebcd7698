"""A tiny bitext split laid out as the training stage reads it (bitext TSV, token files and a
teacher cache), for the train and OT-plan tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from otkd.caches import TokenArrays, write_teacher_cache
from otkd.encode import pad_batch, pool
from otkd.models import load_model
from otkd.train import SplitPaths

PREFIX = "query: "


def tokenize(tokenizer, texts, prefix=""):
    """Token arrays of ``texts`` (with ``prefix``): content = every token but the specials
    and the prefix."""
    n_prefix = len(tokenizer(prefix, add_special_tokens=False)["input_ids"]) if prefix else 0
    seqs, contents = [], []
    for text in texts:
        ids = tokenizer(prefix + text)["input_ids"]
        seqs.append(ids)
        contents.append([False] * (1 + n_prefix) + [True] * (len(ids) - 2 - n_prefix) + [False])
    return TokenArrays.from_lists(seqs, contents, [False] * len(seqs))


def build_split(root: Path, split: str, rows, teacher_dir: Path, student_dir: Path) -> SplitPaths:
    """Bitext TSV of ``rows`` ``(lang, en, xx)``, token files (student sides with
    :data:`PREFIX`) and a teacher cache; only here does the teacher run."""
    paths = SplitPaths.of(split, root)
    paths.bitext.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["lang", "en", "xx"]).to_csv(paths.bitext, sep="\t", index=False)
    teacher, t_tok = load_model(str(teacher_dir))
    _, s_tok = load_model(str(student_dir))
    tokenize(s_tok, [r[2] for r in rows], PREFIX).save(paths.student_xx)
    tokenize(s_tok, [r[1] for r in rows], PREFIX).save(paths.student_en)
    teacher_en = tokenize(t_tok, [r[1] for r in rows])
    teacher_en.save(paths.teacher_en)
    seqs = [teacher_en.seq(i).tolist() for i in range(len(rows))]
    ids, mask = pad_batch(seqs, t_tok.pad_token_id)
    with torch.no_grad():
        hidden = teacher(input_ids=ids, attention_mask=mask).last_hidden_state
    pooled = F.normalize(pool(hidden, mask), dim=-1).numpy()
    tokens = [
        F.normalize(
            hidden[i, : len(s)][torch.from_numpy(teacher_en.content_mask(i))], dim=-1
        ).numpy()
        for i, s in enumerate(seqs)
    ]
    write_teacher_cache(paths.teacher_cache, pooled, tokens, {"spec": str(teacher_dir)})
    return paths
