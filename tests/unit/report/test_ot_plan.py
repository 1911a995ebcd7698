"""The OT transport-plan figure of a trained ``ot`` student (otkd.report.ot_plan) on a tiny
model and a tiny bitext the test builds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from bitext_fixtures import PREFIX, build_split
from otkd.losses import OTDistillation
from otkd.models import load_model
from otkd.report.ot_plan import make_ot_plan_figure, pick_rows, transport_plans
from otkd.train import train

PAIRS = [
    ("de", "the man is eating bread", "der mann isst brot"),
    ("es", "the cat reads a book", "el gato lee un libro"),
    ("de", "a big dog", "ein gross hund"),
    ("es", "the water is blue", "el agua es azul"),
] * 3
SETTINGS = {
    "steps": 2, "batch_size": 4, "eval_every": 2, "bf16": False, "lr": 1e-3,
    "warmup_ratio": 0.0, "weight_decay": 0.0, "max_grad_norm": 1.0,
    "freeze_word_embeddings": False, "english_term": False, "nan_policy": "error",
    "ot": {"eps": 0.1, "n_iter": 200, "tol": 0.0, "marginals": "uniform"},
}  # fmt: skip


@pytest.fixture(scope="module")
def ot_run(tmp_path_factory, tiny_bert_dir, tiny_bert_dir_b):
    root = tmp_path_factory.mktemp("ot_plan")
    paths = {
        s: build_split(root, s, PAIRS, tiny_bert_dir, tiny_bert_dir_b) for s in ("train", "dev")
    }
    student = {"spec": str(tiny_bert_dir_b), "pooling": "mean", "query_prefix": PREFIX,
               "passage_prefix": "", "max_length": 64}  # fmt: skip
    train("ot", 1, SETTINGS, student, paths["train"], paths["dev"],
          train_log=root / "train_log.tsv", dev_curve=root / "dev_curve.tsv",
          model_dir=root / "model", device="cpu")  # fmt: skip
    return root / "model", paths


def test_pick_rows_one_short_pair_per_language():
    langs = ["de", "de", "es", "es", "zh"]
    lengths = np.array([30, 5, 4, 3, 40])
    assert pick_rows(langs, lengths, 3) == [1, 2, 4]  # zh: none short, its shortest
    assert pick_rows(langs, lengths, 5) == [1, 2, 4, 0, 3]
    assert pick_rows(langs, lengths, 9) == [1, 2, 4, 0, 3]


@pytest.mark.parametrize("marginals", ["uniform", "idf"])
def test_plans_meet_their_marginals_and_match_the_loss(ot_run, tiny_bert_dir, marginals):
    model_dir, paths = ot_run
    settings = {**SETTINGS, "ot": {**SETTINGS["ot"], "marginals": marginals}}
    plans = transport_plans(model_dir, paths["dev"], settings, teacher_spec=str(tiny_bert_dir),
                            rows=[0, 1], train_paths=paths["train"])  # fmt: skip
    assert [p.lang for p in plans] == ["de", "es"]
    first = plans[0]
    assert first.student_tokens == ["der", "mann", "isst", "brot"]
    assert first.teacher_tokens == ["the", "man", "is", "eating", "bread"]
    assert first.plan.shape == first.cost.shape == (4, 5)
    for p in plans:
        np.testing.assert_allclose(p.plan.sum(1), p.a, atol=1e-5)
        np.testing.assert_allclose(p.plan.sum(0), p.b, atol=1e-5)
        assert p.a.sum() == pytest.approx(1.0) and p.b.sum() == pytest.approx(1.0)
        assert (p.cost >= -1e-6).all() and (p.cost <= 2 + 1e-6).all()
    if marginals == "uniform":
        np.testing.assert_allclose(first.a, 0.25)
        np.testing.assert_allclose(first.b, 0.2)
    else:
        assert first.b.argmin() == 0 and first.b.std() > 0  # "the": in most sentences
    # the plan's transport cost is the OT loss of that pair (uniform marginals)
    if marginals == "uniform":
        loss = OTDistillation(eps=0.1, n_iter=200, tol=0.0)
        from otkd.models import load_projection
        from otkd.train.data import load_split
        from otkd.train.student import Student, teacher_features

        model, _ = load_model(str(model_dir))
        net = Student(model, _profile(model_dir), load_projection(model_dir)).eval()
        dev = load_split(paths["dev"])
        with torch.no_grad():
            s, _ = net.features(dev.student_xx, np.array([0]), tokens=True, bf16=False)
            t = teacher_features(dev, np.array([0]), tokens=True, device=torch.device("cpu"))
            expected = float(loss(s, t))
        assert float((first.plan * first.cost).sum()) == pytest.approx(expected, rel=1e-5)


def _profile(model_dir):
    from otkd.models import ModelProfile, read_profile

    return ModelProfile.from_config(read_profile(model_dir))


def test_figure_is_a_png(ot_run, tiny_bert_dir, tmp_path):
    model_dir, paths = ot_run
    out = tmp_path / "figures_ot" / "ot_plan.png"
    plans = make_ot_plan_figure(model_dir, paths["dev"], SETTINGS, out,
                                teacher_spec=str(tiny_bert_dir), n_pairs=3)  # fmt: skip
    assert len(plans) == 3 and [p.lang for p in plans] == ["de", "es", "de"]
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in out.parent.iterdir()) == ["ot_plan.png"]
