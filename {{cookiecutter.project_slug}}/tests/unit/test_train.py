"""Train: column kinds, the estimators params.yaml can name, the fitted pipeline and the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import train

TARGET = "target value"


def test_feature_kinds_group_columns(classification_data: pd.DataFrame) -> None:
    features = classification_data.drop(columns=[TARGET]).assign(**{"is active": [True, False] * 80})
    assert train.feature_kinds(features, max_categories=20) == {
        "numeric": ["monthly charges", "tenure months"],
        "categorical": ["contract type", "is active"],
        "datetime": [],
        "text": ["support notes"],
    }


def test_feature_kinds_threshold_is_inclusive() -> None:
    features = pd.DataFrame({"three values": list("abc") * 2, "four values": [*"abcd", None, "a"]})
    kinds = train.feature_kinds(features, max_categories=3)
    assert kinds["categorical"] == ["three values"]
    assert kinds["text"] == ["four values"]


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("model", train.MODELS)
def test_every_model_builds_for_every_task(task: str, model: str, params: dict[str, Any]) -> None:
    from sklearn.base import is_classifier, is_regressor

    estimator = train.build_estimator(task, model, params["train"], seed=3)
    assert (is_classifier if task == "classification" else is_regressor)(estimator)
    if model != "linear" or task == "classification":
        assert estimator.get_params()["random_state"] == 3


def test_linear_alpha_is_regularisation_strength() -> None:
    classifier = train.build_estimator("classification", "linear", {"linear": {"alpha": 4.0}}, seed=0)
    regressor = train.build_estimator("regression", "linear", {"linear": {"alpha": 4.0}}, seed=0)
    assert classifier.C == 0.25
    assert regressor.alpha == 4.0


def test_hyperparameters_come_from_the_model_section() -> None:
    settings = {"random_forest": {"n_estimators": 7, "max_depth": 3, "min_samples_leaf": 2}}
    forest = train.build_estimator("regression", "random_forest", settings, seed=0)
    assert (forest.n_estimators, forest.max_depth, forest.min_samples_leaf) == (7, 3, 2)


def test_unknown_model_name_lists_the_allowed_ones() -> None:
    with pytest.raises(train.ParamsError, match=r"train\.model='xgboost': unknown; allowed: random_forest, gradient"):
        train.build_estimator("classification", "xgboost", {}, seed=0)


def test_misspelt_hyperparameter_is_a_params_error() -> None:
    with pytest.raises(train.ParamsError, match=r"train.random_forest: .*n_estimator"):
        train.build_estimator("classification", "random_forest", {"random_forest": {"n_estimator": 5}}, seed=0)


@pytest.mark.parametrize("model", train.MODELS)
def test_fit_handles_text_categories_and_gaps(
    model: str, task: str, task_data: pd.DataFrame, data_settings: dict, params: dict[str, Any]
) -> None:
    settings = {**params["train"], "model": model}
    pipeline = train.fit(task_data, data_settings, settings)
    features = task_data.drop(columns=[TARGET])
    predicted = pipeline.predict(features)
    assert len(predicted) == len(features)
    if task == "classification":
        assert set(predicted) <= set(task_data[TARGET])
        assert np.allclose(pipeline.predict_proba(features).sum(axis=1), 1)
    else:
        assert np.isfinite(predicted).all()


def test_linear_models_get_scaled_numbers(task_data: pd.DataFrame, data_settings: dict, params: dict) -> None:
    linear = train.fit(task_data, data_settings, {**params["train"], "model": "linear"})
    forest = train.fit(task_data, data_settings, {**params["train"], "model": "random_forest"})
    assert "standardscaler" in linear.named_steps["preprocess"].named_transformers_["numeric"].named_steps
    assert "standardscaler" not in forest.named_steps["preprocess"].named_transformers_["numeric"].named_steps


def test_check_validation(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    with pytest.raises(train.DataError, match="no validation summary; run the validate stage first"):
        train.check_validation(path)
    path.write_text(json.dumps({"success": False}), encoding="utf-8")
    with pytest.raises(train.DataError, match="the data failed validation"):
        train.check_validation(path)
    path.write_text(json.dumps({"success": True}), encoding="utf-8")
    train.check_validation(path)


@pytest.fixture
def prepared(project, task_data: pd.DataFrame) -> list[str]:
    """A training file and a passed validation summary; returns the arguments of `train`."""
    project.use_synthetic(task_data, "data/prepared/train.csv")
    Path("summary.json").write_text('{"success": true}', encoding="utf-8")
    return ["--train", "data/prepared/train.csv", "--validation", "summary.json", "--model", "models/model.joblib"]


def test_main_writes_a_pipeline_that_takes_raw_columns(prepared: list[str], task_data: pd.DataFrame) -> None:
    import joblib

    assert train.main(prepared) == 0
    pipeline = joblib.load("models/model.joblib")
    assert pipeline.predict(task_data.drop(columns=[TARGET]).head(3)).shape == (3,)


def test_main_refuses_data_that_failed_validation(prepared: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    Path("summary.json").write_text('{"success": false}', encoding="utf-8")
    assert train.main(prepared) == 2
    err = capsys.readouterr().err
    assert err == "error: summary.json: the data failed validation; fix the data or the suite before training\n"
    assert not Path("models/model.joblib").exists()


def test_main_with_unknown_model_is_one_line_error(
    prepared: list[str], project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.params["train"]["model"] = "xgboost"
    project.save_params()
    assert train.main(prepared) == 2
    assert capsys.readouterr().err == (
        'error: params.yaml: train.model = "xgboost": must be one of random_forest, gradient_boosting, linear\n'
    )


def test_main_with_missing_target_is_one_line_error(
    prepared: list[str], project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.params["data"]["target"] = "no such column"
    project.save_params()
    assert train.main(prepared) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: target column 'no such column' not found; columns are: ")
    assert err.count("\n") == 1
