"""Write the tiny random teacher and student of the tiny end-to-end config.

    .venv/bin/python tests/make_tiny_models.py DIR

writes ``DIR/teacher`` (seed 0) and ``DIR/student`` (seed 1), the models
tests/workflow/test_workflow_e2e.py builds for ``tests/configs/tiny/config.yaml`` (whose specs
``tiny_models/teacher`` and ``tiny_models/student`` are relative to the working directory).
"""

from __future__ import annotations

import argparse
from pathlib import Path

WORDS = (
    "the a man woman dog cat is are eating food bread piece of house city river "
    "big small red blue green runs walks reads book books water tree hello world "
    "der die das ein eine mann frau hund katze isst brot haus stadt fluss gross "
    "klein rot blau liest buch wasser baum hallo welt el la un una perro gato come "
    "pan casa ciudad rio grande pequeno rojo azul lee libro agua arbol hola mundo "
    "query passage : . , ? !"
).split()


def make_tiny_bert(
    path: Path,
    *,
    hidden: int = 32,
    layers: int = 2,
    seed: int = 0,
    words: list[str] = WORDS,
    max_positions: int = 64,
) -> Path:
    """Save a random few-layer BERT with a word-level tokenizer to ``path`` (``max_positions``
    position embeddings, the tokenizer's ``model_max_length`` too)."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {tok: i for i, tok in enumerate(specials + sorted(set(words)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()]
    )
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_positions,
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=hidden * 2,
        max_position_embeddings=max_positions,
    )
    model = BertModel(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


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
