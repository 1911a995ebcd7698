"""Training stage on tiny random models and a tiny synthetic bitext the tests build."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import otkd.encode
import otkd.models
import otkd.train.setup
import pandas as pd
import pytest
import torch
from bitext_fixtures import PREFIX, build_split
from make_tiny_models import make_tiny_bert
from otkd.caches import TokenArrays
from otkd.encode import Encoder
from otkd.io import PipelineError
from otkd.losses import Features
from otkd.models import PROJECTION_FILE, ModelProfile, load_projection
from otkd.projection import fit_ridge, run_fit_projection
from otkd.runs import arm_settings, sweep_plan, sweep_settings
from otkd.train import (
    DEV_METRICS,
    LOG_COLUMNS,
    SplitPaths,
    batch_plan,
    budget_rows,
    dev_scores,
    load_split,
    padding_share,
    train,
)
from safetensors.torch import load_file

LEXICON = {
    "de": {
        "the": "der", "a": "ein", "man": "mann", "woman": "frau", "dog": "hund", "cat": "katze",
        "eating": "isst", "bread": "brot", "house": "haus", "city": "stadt", "river": "fluss",
        "big": "gross", "small": "klein", "red": "rot", "blue": "blau", "reads": "liest",
        "book": "buch", "water": "wasser", "tree": "baum", "hello": "hallo", "world": "welt",
    },
    "es": {
        "the": "el", "a": "un", "man": "hombre", "woman": "una", "dog": "perro", "cat": "gato",
        "eating": "come", "bread": "pan", "house": "casa", "city": "ciudad", "river": "rio",
        "big": "grande", "small": "pequeno", "red": "rojo", "blue": "azul", "reads": "lee",
        "book": "libro", "water": "agua", "tree": "arbol", "hello": "hola", "world": "mundo",
    },
}  # fmt: skip
STUDENT = {"pooling": "mean", "query_prefix": PREFIX, "passage_prefix": "", "max_length": 64}
SETTINGS = {
    "steps": 30,
    "batch_size": 8,
    "lr": 3e-3,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
    "freeze_word_embeddings": False,
    "bf16": False,
    "english_term": True,
    "eval_every": 15,
    "nan_policy": "error",
    "kl": {"temperature": 0.1},
    "ot": {"eps": 0.1, "n_iter": 30, "tol": 1e-6, "marginals": "uniform"},
    "ot_kl": {"ot_weight": 1.0, "kl_weight": 1.0},
}


pytestmark = pytest.mark.usefixtures("one_thread")


def sentences(n: int, seed: int) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    words = list(LEXICON["de"])
    rows = []
    for i in range(n):
        lang = ("de", "es")[i % 2]
        en = [rng.choice(words) for _ in range(rng.randint(2, 9))]
        rows.append((lang, " ".join(en), " ".join(LEXICON[lang][w] for w in en)))
    return rows


@pytest.fixture(scope="module")
def data(tmp_path_factory, tiny_bert_dir, tiny_bert_dir_b):
    root = tmp_path_factory.mktemp("train_data")
    return {
        "teacher": tiny_bert_dir,
        "student": tiny_bert_dir_b,
        "train": build_split(root, "train", sentences(48, 0), tiny_bert_dir, tiny_bert_dir_b),
        "dev": build_split(root, "dev", sentences(20, 1), tiny_bert_dir, tiny_bert_dir_b),
    }


def run(data, out: Path, arm="mse", seed=1, student_dir=None, **overrides):
    settings = {**SETTINGS, **overrides}
    projection = settings.pop("projection", False)
    projection_init = settings.pop("projection_init", None)
    student = {**STUDENT, "spec": str(student_dir or data["student"])}
    summary = train(
        arm,
        seed,
        settings,
        student,
        data["train"],
        data["dev"],
        train_log=out / "train_log.tsv",
        dev_curve=out / "dev_curve.tsv",
        model_dir=out / "model",
        projection=projection,
        projection_init=projection_init,
        device="cpu",
    )
    return summary, pd.read_csv(out / "train_log.tsv", sep="\t")


# ---------------------------------------------------------------- training runs


@pytest.mark.parametrize("arm", ["mse", "kl", "ot", "ot_kl"])
def test_each_arm_trains_and_its_loss_goes_down(data, tmp_path, arm):
    summary, log = run(data, tmp_path, arm=arm, steps=36)
    assert list(log.columns) == LOG_COLUMNS and len(log) == 36
    assert np.isfinite(log["loss"]).all() and log["skipped"].max() == 0
    first, last = log["loss"].iloc[:6].mean(), log["loss"].iloc[-6:].mean()
    assert last < 0.9 * first, (arm, first, last)
    curve = pd.read_csv(tmp_path / "dev_curve.tsv", sep="\t")
    assert set(curve["step"]) == {0, 15, 30, 36}
    assert set(curve["lang"]) == {"de", "es", "all"}
    assert summary["best_step"] in {15, 30, 36}
    profile = otkd.models.read_profile(tmp_path / "model")
    assert profile["arm"] == arm and profile["best_step"] == summary["best_step"]
    assert (log["padding_share"] >= 0).all() and (log["pairs_per_s"] > 0).all()


@pytest.mark.parametrize(
    "overrides",
    [
        {"ot": {**SETTINGS["ot"], "marginals": "idf"}},
        {"ot": {**SETTINGS["ot"], "plan_gradient": "unrolled"}},
        {"english_term": False, "freeze_word_embeddings": True},
    ],
    ids=["idf", "unrolled", "no_english_frozen"],
)
def test_ot_variants_train(data, tmp_path, overrides):
    summary, log = run(data, tmp_path, arm="ot", steps=6, eval_every=6, **overrides)
    assert np.isfinite(log["loss"]).all() and summary["skipped"] == 0
    if overrides.get("freeze_word_embeddings"):
        before = load_file(Path(data["student"]) / "model.safetensors")
        after = load_file(tmp_path / "model" / "model.safetensors")
        key = next(k for k in before if "word_embeddings" in k)
        assert torch.equal(before[key], after[key])
        assert any(not torch.equal(before[k], after[k]) for k in before if "layer" in k)


def test_same_seed_same_weights_different_seed_different_weights(data, tmp_path):
    weights = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        run(data, tmp_path / name, arm="ot", seed=seed, steps=8, eval_every=8)
        weights.append(load_file(tmp_path / name / "model" / "model.safetensors"))
    assert weights[0].keys() == weights[2].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert any(not torch.equal(weights[0][k], weights[2][k]) for k in weights[0])
    logs = [pd.read_csv(tmp_path / n / "train_log.tsv", sep="\t") for n in "ab"]
    assert logs[0]["loss"].tolist() == logs[1]["loss"].tolist()


def test_checkpoint_is_loadable_and_keeps_the_best_dev_model(data, tmp_path):
    summary, _ = run(data, tmp_path, arm="kl", steps=20, eval_every=5)
    model_dir = tmp_path / "model"
    assert otkd.models.resolve_model(str(model_dir)) == model_dir
    profile = otkd.models.read_profile(model_dir)
    assert profile["spec"] == str(data["student"])  # the init spec
    assert profile["query_prefix"] == PREFIX and profile["pooling"] == "mean"
    enc = Encoder(ModelProfile.from_config({**profile, "spec": str(model_dir)}), device="cpu",
                  show_progress=False)  # fmt: skip
    scores = dev_scores(enc, load_split(data["dev"]))
    curve = pd.read_csv(tmp_path / "dev_curve.tsv", sep="\t")
    assert list(curve.columns) == ["step", "lang", *DEV_METRICS]
    mean = curve[(curve["lang"] == "all") & (curve["step"] > 0)]
    assert summary["dev_metric"] == profile["dev_metric"] == "fidelity"  # the default
    assert summary["best_dev_score"] == pytest.approx(mean["fidelity"].max())
    assert len(set(mean["fidelity"])) > 1  # the choice is a real one
    best_step = int(mean.loc[mean["fidelity"].idxmax(), "step"])
    assert summary["best_step"] == best_step
    # the saved checkpoint is the best one: its scores are those of the curve's best step
    assert scores["fidelity"]["all"] == pytest.approx(summary["best_dev_score"], abs=1e-4)
    assert scores["accuracy"]["all"] == pytest.approx(
        float(mean.loc[mean["step"] == best_step, "accuracy"].iloc[0]), abs=1e-4
    )
    assert not list(tmp_path.glob(".*tmp"))


def test_training_never_loads_the_teacher(data, tmp_path, monkeypatch):
    loaded = []
    real = otkd.models.load_model

    def guarded(spec, **kw):
        loaded.append(spec)
        if Path(spec) == Path(data["teacher"]):
            raise AssertionError("training loaded the teacher")
        return real(spec, **kw)

    for module in (otkd.models, otkd.train.setup, otkd.encode):
        monkeypatch.setattr(module, "load_model", guarded)
    run(data, tmp_path, arm="ot", steps=4, eval_every=4)
    assert loaded == [str(data["student"])]


# ---------------------------------------------------------------- failures


class NaNAt(torch.nn.Module):
    """A loss that is fine until ``step`` (counting calls per step), then NaN."""

    uses_tokens = False

    def __init__(self, bad_steps, calls_per_step=2):
        super().__init__()
        self.bad_steps, self.calls, self.per_step = set(bad_steps), 0, calls_per_step

    def forward(self, student: Features, teacher: Features):
        step = self.calls // self.per_step + 1
        self.calls += 1
        value = (student.pooled - teacher.pooled).pow(2).sum(-1).mean()
        return value * float("nan") if step in self.bad_steps else value


def test_nan_loss_errors_naming_step_and_arm(data, tmp_path, monkeypatch):
    monkeypatch.setattr(otkd.train.setup, "build_loss", lambda *a, **k: NaNAt({3}))
    with pytest.raises(PipelineError, match=r"arm 'kl'.*step 3"):
        run(data, tmp_path, arm="kl", steps=6)
    assert not (tmp_path / "model").exists()
    assert not (tmp_path / "train_log.tsv").exists()


def test_nan_skip_policy_counts_skipped_batches(data, tmp_path, monkeypatch):
    monkeypatch.setattr(otkd.train.setup, "build_loss", lambda *a, **k: NaNAt({2, 4}))
    summary, log = run(data, tmp_path, arm="mse", steps=6, eval_every=6, nan_policy="skip")
    assert summary["skipped"] == 2
    assert log["skipped"].tolist() == [0, 1, 1, 2, 2, 2]
    assert log["loss"].isna().tolist() == [False, True, False, True, False, False]
    assert (tmp_path / "model" / "config.json").is_file()


def test_interrupted_training_leaves_no_model_directory(data, tmp_path, monkeypatch):
    class Boom(NaNAt):
        def forward(self, student, teacher):
            if self.calls >= 5:
                raise KeyboardInterrupt
            return super().forward(student, teacher)

    monkeypatch.setattr(otkd.train.setup, "build_loss", lambda *a, **k: Boom(set()))
    with pytest.raises(KeyboardInterrupt):
        run(data, tmp_path, arm="mse", steps=10, eval_every=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---------------------------------------------------------------- projection


@pytest.fixture(scope="module")
def wide_student(tmp_path_factory):
    return make_tiny_bert(tmp_path_factory.mktemp("wide") / "model", hidden=48, seed=3)


def test_projection_when_dimensions_differ(data, tmp_path, wide_student):
    with pytest.raises(PipelineError, match=r"48.*32.*models\.projection"):
        run(data, tmp_path / "no", arm="ot", student_dir=wide_student, steps=2)
    assert not (tmp_path / "no" / "model").exists()
    summary, log = run(
        data, tmp_path / "yes", arm="ot_kl", student_dir=wide_student, steps=20, projection=True
    )
    model_dir = tmp_path / "yes" / "model"
    assert (model_dir / PROJECTION_FILE).is_file()
    proj = load_projection(model_dir)
    assert (proj.in_features, proj.out_features) == (48, 32)
    enc = Encoder(ModelProfile(str(model_dir), query_prefix=PREFIX), device="cpu",
                  show_progress=False)  # fmt: skip
    assert enc.dim == 32 and enc.encode(["hello world"], role="query").shape == (1, 32)
    assert log["loss"].iloc[-5:].mean() < log["loss"].iloc[:5].mean()


def test_ridge_projection_is_fitted_once_and_starts_every_run(data, tmp_path):
    """fit_projection writes the map; a ridge run starts from it (dev accuracy at step 0
    above the raw student's), trains it further and saves it with the checkpoint."""
    student = {**STUDENT, "spec": str(data["student"])}
    info = run_fit_projection(student, data["train"], tmp_path / "proj", alpha=0.01)
    assert info["pairs"] == 48 and info["train_accuracy_after"] > info["train_accuracy_before"]
    again = run_fit_projection(
        student, data["train"], tmp_path / "proj10", alpha=0.01, pairs_per_language=10
    )
    assert again["pairs"] == 20 and again["fit_pairs"] == 20
    capped = run_fit_projection(student, data["train"], tmp_path / "cap", max_pairs=12)
    assert capped["pairs"] == 48 and capped["fit_pairs"] == 12
    with pytest.raises(PipelineError, match="no fitted projection"):
        run(data, tmp_path / "missing", arm="kl", steps=2, projection="ridge")
    run(data, tmp_path / "raw", arm="kl", steps=3, eval_every=3)
    summary, _ = run(
        data, tmp_path / "ridge", arm="kl", steps=3, eval_every=3, projection="ridge",
        projection_init=tmp_path / "proj",
    )  # fmt: skip
    raw = pd.read_csv(tmp_path / "raw" / "dev_curve.tsv", sep="\t")
    ridge = pd.read_csv(tmp_path / "ridge" / "dev_curve.tsv", sep="\t")
    at0 = lambda c: c[(c["step"] == 0) & (c["lang"] == "all")]["accuracy"].iloc[0]  # noqa: E731
    assert at0(ridge) > at0(raw)
    fitted = load_projection(tmp_path / "proj")
    saved = load_projection(tmp_path / "ridge" / "model")
    assert saved.weight.shape == fitted.weight.shape == (32, 32)
    if summary["best_step"] != 0:  # trained further: the map moved
        assert not torch.equal(saved.weight, fitted.weight)


def test_fit_ridge_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 8))
    w = rng.normal(size=(8, 5))
    assert np.allclose(fit_ridge(x, x @ w, 1e-8), w, atol=1e-6)
    shrunk = fit_ridge(x, x @ w, 1e4)
    assert np.linalg.norm(shrunk) < np.linalg.norm(w)
    with pytest.raises(PipelineError, match="ridge_alpha"):
        fit_ridge(x, x @ w, 0.0)
    with pytest.raises(PipelineError, match="do not pair up"):
        fit_ridge(x, x[:10] @ w, 0.1)
    with pytest.raises(PipelineError, match="non-finite"):
        fit_ridge(np.full((3, 8), np.nan), np.zeros((3, 5)), 0.1)


# ---------------------------------------------------------------- pure helpers


def test_batch_plan_buckets_by_length_and_is_seeded():
    rng = np.random.default_rng(0)
    base = rng.integers(5, 60, size=1000)  # translation lengths follow the English ones
    lengths = np.stack([base + rng.integers(0, 4, 1000), 2 * base + rng.integers(0, 4, 1000)], 1)
    plan = batch_plan(lengths, 16, np.random.default_rng(1))
    assert all(len(b) == 16 for b in plan) and len(plan) == 1000 // 16
    flat = np.concatenate(plan)
    assert len(set(flat.tolist())) == len(flat)
    bucketed = padding_share([lengths[b, 0] for b in plan] + [lengths[b, 1] for b in plan])
    shuffled = np.random.default_rng(2).permutation(1000)[: len(flat)].reshape(-1, 16)
    random_share = padding_share(
        [lengths[b, 0] for b in shuffled] + [lengths[b, 1] for b in shuffled]
    )
    assert bucketed < 0.15 < random_share
    again = batch_plan(lengths, 16, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(plan, again, strict=True))
    other = batch_plan(lengths, 16, np.random.default_rng(3))
    assert not all(np.array_equal(a, b) for a, b in zip(plan, other, strict=True))


def test_padding_share():
    assert padding_share([[2, 4], [3]]) == pytest.approx(1 - 9 / 11)
    assert padding_share([[5, 5]]) == 0.0


def test_arm_settings_pass_only_the_arms_own_loss_sections():
    cfg = {**SETTINGS, "arms": ["mse", "kl"], "seeds": [1, 2]}
    assert "kl" not in arm_settings(cfg, "mse") and "arms" not in arm_settings(cfg, "mse")
    assert set(arm_settings(cfg, "kl")) - set(arm_settings(cfg, "mse")) == {"kl"}
    assert set(arm_settings(cfg, "ot_kl")) >= {"ot", "kl", "ot_kl", "lr", "steps"}
    changed = {**cfg, "kl": {"temperature": 0.02}}
    assert arm_settings(changed, "ot") == arm_settings(cfg, "ot")
    assert arm_settings(changed, "kl") != arm_settings(cfg, "kl")


def test_sweep_plan_and_settings():
    sweep = {"steps": 7, "kl_temperature": [0.02, 0.05], "ot_eps": [0.05, 0.1]}
    assert sweep_plan(sweep) == [
        ("kl", "temperature", 0.02), ("kl", "temperature", 0.05),
        ("ot", "eps", 0.05), ("ot", "eps", 0.1),
    ]  # fmt: skip
    with pytest.raises(PipelineError, match="same tuning budget"):
        sweep_plan({**sweep, "ot_eps": [0.05]})
    settings = sweep_settings(SETTINGS, sweep, "ot", "eps", 0.07)
    assert settings["steps"] == 7 and settings["ot"]["eps"] == 0.07
    assert settings["ot"]["n_iter"] == SETTINGS["ot"]["n_iter"] and "kl" not in settings
    assert SETTINGS["ot"]["eps"] == 0.1 and SETTINGS["steps"] == 30  # not mutated


def test_load_split_rejects_mismatched_files(data, tmp_path):
    bad = SplitPaths(**{**data["dev"].__dict__, "bitext": tmp_path / "short.tsv"})
    pd.DataFrame([("de", "a", "b")], columns=["lang", "en", "xx"]).to_csv(
        bad.bitext, sep="\t", index=False
    )
    with pytest.raises(PipelineError, match="row counts"):
        load_split(bad)
    tokens = TokenArrays.load(data["dev"].teacher_en)
    tokens.content[tokens.offsets[3] + 1] = False  # sentence 3 loses a content token
    tokens.save(tmp_path / "teacher_en.npz")
    swapped = SplitPaths(**{**data["dev"].__dict__, "teacher_en": tmp_path / "teacher_en.npz"})
    with pytest.raises(PipelineError, match="sentence 3 has"):
        load_split(swapped)


def test_disk_full_while_checkpointing_leaves_nothing_behind(data, tmp_path, monkeypatch):
    """A write failure (ENOSPC) mid-checkpoint raises and leaves no model directory."""
    import errno

    from transformers import PreTrainedModel

    real_save = PreTrainedModel.save_pretrained

    def full_disk(self, directory, *args, **kwargs):
        real_save(self, directory, *args, **kwargs)  # part of the checkpoint is written ...
        raise OSError(errno.ENOSPC, "No space left on device")  # ... then the disk is full

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run(data, tmp_path, arm="mse", steps=4, eval_every=2)
    assert not (tmp_path / "model").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model")], "temp dir left"


def test_budget_rows_take_the_first_rows_of_each_language():
    langs = np.array(["de", "es", "de", "de", "es", "th"])
    assert budget_rows(langs, None).tolist() == [0, 1, 2, 3, 4, 5]
    assert budget_rows(langs, 1).tolist() == [0, 1, 5]
    assert budget_rows(langs, 2).tolist() == [0, 1, 2, 4, 5]
    with pytest.raises(PipelineError, match="pairs_per_language"):
        budget_rows(langs, 0)


def test_pairs_per_language_trains_on_exactly_that_prefix(data, tmp_path):
    """Training on the first n pairs per language of a larger split gives the same run as
    training on a split that holds only those pairs."""
    rows = sentences(48, 0)
    seen = {"de": 0, "es": 0}
    subset = []
    for r in rows:  # file order kept, as budget_rows keeps it
        if seen[r[0]] < 10:
            subset.append(r)
            seen[r[0]] += 1
    small = build_split(tmp_path / "small", "train", subset, data["teacher"], data["student"])
    _, full_log = run(data, tmp_path / "a", arm="ot", steps=6, eval_every=6, pairs_per_language=10)
    _, small_log = run({**data, "train": small}, tmp_path / "b", arm="ot", steps=6, eval_every=6)
    assert np.allclose(full_log["loss"], small_log["loss"], rtol=1e-5, atol=1e-6)
    _, other = run(data, tmp_path / "c", arm="ot", steps=6, eval_every=6)
    assert not np.allclose(full_log["loss"], other["loss"], rtol=1e-5, atol=1e-6)


# ------------------------------------------------ the checkpoint as a sentence-transformers model

EVAL_LENGTHS = {
    "query_max_length": 32,
    "passage_max_length": 48,
    "lareqa_query_max_length": 16,
    "lareqa_max_length": "model",
}


def test_checkpoint_is_a_sentence_transformers_model_with_a_card(data, tmp_path, wide_student):
    """save_checkpoint writes the module chain (with the map as Dense), the prompts, the
    evaluation passage length and a card: SentenceTransformer reproduces the Encoder."""
    from huggingface_hub import ModelCard
    from otkd.export import cosine_floor
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "run"
    student = {**STUDENT, "passage_prefix": "passage: ", "spec": str(wide_student)}
    card = {"experiment": "main", "teacher": "tiny-teacher", "bitext": {"dev_source": "flores"}}
    summary = train(
        "ot", 2, {**SETTINGS, "steps": 10, "eval_every": 5}, student, data["train"], data["dev"],
        train_log=out / "train_log.tsv", dev_curve=out / "dev_curve.tsv", model_dir=out / "model",
        projection=True, device="cpu", card=card, eval_lengths=EVAL_LENGTHS,
    )  # fmt: skip
    model_dir = out / "model"
    assert [m["path"] for m in json_file(model_dir / "modules.json")] == [
        "", "1_Pooling", "2_Dense", "3_Normalize",
    ]  # fmt: skip
    checksums = json_file(model_dir / "checksums.json")
    assert {"modules.json", "README.md", "2_Dense/model.safetensors"} <= set(checksums)
    otkd.models.verify_checksums(model_dir)  # written last: covers the export's files
    st = SentenceTransformer(str(model_dir), device="cpu")
    assert st.max_seq_length == 48  # evaluation.passage_max_length, not the profile's 64
    texts = ["the man is eating bread", "der hund isst brot", "el gato come pan", "hello world"]
    profile = ModelProfile.from_config({**student, "spec": str(model_dir)})
    enc = Encoder(profile, device="cpu", show_progress=False)
    for role in ("query", "passage"):
        ours = enc.encode(texts, role)
        theirs = st.encode(texts, prompt_name=role, convert_to_numpy=True)
        assert ours.shape == theirs.shape == (4, 32)
        assert cosine_floor(ours, theirs) >= 0.99999, role
    card_data = ModelCard.load(model_dir / "README.md").data
    assert (card_data.otkd["arm"], card_data.otkd["seed"]) == ("ot", 2)
    assert card_data.otkd["experiment"] == "main" and card_data.otkd["teacher"] == "tiny-teacher"
    assert card_data.otkd["best_step"] == summary["best_step"]
    assert card_data.otkd["hyperparameters"]["ot.eps"] == SETTINGS["ot"]["eps"]
    assert card_data.otkd["bitext"] == {"dev_source": "flores", "pairs": 48}
    assert card_data.language == ["en", "de", "es"]


def test_passage_length_resolves_model_against_the_initial_student(data):
    from otkd.train.loop import passage_length

    assert passage_length(None, str(data["student"])) is None
    assert passage_length(EVAL_LENGTHS, str(data["student"])) == 48
    lengths = {**EVAL_LENGTHS, "passage_max_length": "model"}
    assert passage_length(lengths, str(data["student"])) == 64  # tiny BERT: 64 positions
    with pytest.raises(PipelineError, match="evaluation.passage_max_length"):
        passage_length({**EVAL_LENGTHS, "passage_max_length": 65}, str(data["student"]))


def json_file(path):
    import json

    return json.loads(Path(path).read_text())
