"""Train: column kinds, the estimators params.yaml can name, their settings, the fitted pipeline and the command."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import estimators
from {{ cookiecutter.package_name }}.features import feature_kinds
from {{ cookiecutter.package_name }}.loop import model_file, register, train
from {{ cookiecutter.package_name }}.loop import params as schema

TARGET = "target value"
MODELS = tuple(estimators.ESTIMATORS)


def test_feature_kinds_group_columns(classification_data: pd.DataFrame) -> None:
    features = classification_data.drop(columns=[TARGET]).assign(**{"is active": [True, False] * 80})
    assert feature_kinds(features, max_categories=20) == {
        "numeric": ["monthly charges", "tenure months"],
        "categorical": ["contract type", "is active"],
        "datetime": [],
        "text": ["support notes"],
    }


def test_feature_kinds_threshold_is_inclusive() -> None:
    features = pd.DataFrame({"three values": list("abc") * 2, "four values": [*"abcd", None, "a"]})
    kinds = feature_kinds(features, max_categories=3)
    assert kinds["categorical"] == ["three values"]
    assert kinds["text"] == ["four values"]


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("model", MODELS)
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
    allowed = re.escape(", ".join(MODELS))
    with pytest.raises(train.ParamsError, match=rf"train\.model: unknown model; one of {allowed} \(estimators"):
        train.build_estimator("classification", "xgboost", {}, seed=0)


def test_misspelt_hyperparameter_is_refused_with_the_closest_name() -> None:
    with pytest.raises(train.ParamsError) as refused:
        train.build_estimator("classification", "random_forest", {"random_forest": {"n_estimator": 5}}, seed=0)
    assert str(refused.value).startswith(
        "params.yaml: train.random_forest.n_estimator = 5: unknown key; did you mean n_estimators? allowed keys of "
        "RandomForestClassifier: bootstrap, ccp_alpha"
    )
    assert "\n" not in str(refused.value)


def test_any_parameter_of_the_estimator_is_a_setting() -> None:
    """max_features is in no schema of the project: the estimator's own get_params() allows it."""
    forest = train.build_estimator("classification", "random_forest", {"random_forest": {"max_features": "sqrt"}}, 0)
    assert forest.max_features == "sqrt"
    boosting = train.build_estimator(
        "regression", "gradient_boosting", {"gradient_boosting": {"l2_regularization": 0.5}}, 0
    )
    assert boosting.l2_regularization == 0.5


@pytest.mark.parametrize(
    ("model", "options", "words"),
    [
        ("random_forest", {"max_features": "sqrtt"}, "The 'max_features' parameter of RandomForestClassifier must be"),
        ("random_forest", {"n_estimators": 0}, "The 'n_estimators' parameter of RandomForestClassifier must be an int"),
        ("gradient_boosting", {"learning_rate": -1.0}, "The 'learning_rate' parameter"),
        ("linear", {"alpha": 0.0}, "alpha must be a number > 0, got 0.0"),
    ],
)
def test_a_value_the_estimator_refuses_is_one_line(model: str, options: dict, words: str) -> None:
    with pytest.raises(train.ParamsError) as refused:
        train.build_estimator("classification", model, {model: options}, seed=0)
    assert str(refused.value).startswith(f"params.yaml: train.{model}: {words}")
    assert "\n" not in str(refused.value)


def extra_trees(classification: bool) -> Any:
    """The model estimators.py's docstring shows how to add."""
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    return ExtraTreesClassifier(n_jobs=-1) if classification else ExtraTreesRegressor(n_jobs=-1)


def test_a_new_estimator_is_one_function_and_its_settings(
    monkeypatch: pytest.MonkeyPatch, task: str, task_data: pd.DataFrame, data_settings: dict, tmp_path: Path
) -> None:
    """Added as a user would (a function in ESTIMATORS, a section in params.yaml): it validates, fits,
    is read back from a registered file through the allow-list, and its serving requirements follow it."""
    from skops.io import dump

    monkeypatch.setitem(estimators.ESTIMATORS, "extra_trees", extra_trees)
    raw = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    raw["train"].update(model="extra_trees", extra_trees={"n_estimators": 30, "max_features": "sqrt"})
    settings = schema.validate(raw)["train"]
    pipeline = train.fit(task_data, data_settings, settings)
    assert type(pipeline[-1]).__name__.startswith("ExtraTrees")
    assert (pipeline[-1].n_estimators, pipeline[-1].max_features, pipeline[-1].random_state) == (30, "sqrt", 42)
    path = tmp_path / "model.skops"
    dump(pipeline, path)
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    serialization_format: skops\n    pickled_model: model.skops\n"
    )
    loaded = model_file.read_model(tmp_path, model_file.sha256(path), "version 1")
    features = task_data.drop(columns=[TARGET])
    assert (loaded.predict(features) == pipeline.predict(features)).all()
    assert any(line.startswith("scikit-learn==") for line in register.serving_requirements(pipeline))

    raw["train"]["extra_trees"] = {"n_estimatorz": 30}
    with pytest.raises(
        train.ParamsError, match=r"train\.extra_trees\.n_estimatorz = 30: unknown key; did you mean n_estimators\?"
    ):
        train.fit(task_data, data_settings, schema.validate(raw)["train"])


def test_a_model_params_yaml_names_must_be_in_estimators() -> None:
    raw = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    raw["train"]["model"] = "no_such_model"
    allowed = rf"must be one of {re.escape(', '.join(MODELS))} \(estimators\.ESTIMATORS\)"
    with pytest.raises(schema.ParamsError, match=r"train\.model = \"no_such_model\": " + allowed):
        schema.validate(raw)
    raw["train"]["model"] = "random_forest"
    raw["train"]["max_categries"] = 20
    with pytest.raises(
        schema.ParamsError, match=r"train\.max_categries = 20: must be a key of train: one of model, seed"
    ):
        schema.validate(raw)


def test_serving_requirements_follow_the_model_s_imports(
    task_data: pd.DataFrame, data_settings: dict, params: dict
) -> None:
    pipeline = train.fit(task_data, data_settings, params["train"])
    pinned = {line.split("==")[0] for line in register.serving_requirements(pipeline)}
    assert {"scikit-learn", "numpy", "pandas", "scipy"} <= pinned
    assert not pinned & {"{{ cookiecutter.project_slug }}", "mlflow", "great-expectations", "dvc", "optuna"}


@pytest.mark.parametrize("model", MODELS)
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
        f'error: params.yaml: train.model = "xgboost": must be one of {", ".join(MODELS)} (estimators.ESTIMATORS)\n'
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


def test_true_or_false_for_a_number_is_refused_and_a_real_flag_is_not() -> None:
    """YAML reads `n_estimators: yes` as true, which scikit-learn would take as one tree."""
    with pytest.raises(train.ParamsError) as refused:
        train.build_estimator("classification", "random_forest", {"random_forest": {"n_estimators": True}}, 0)
    assert str(refused.value) == (
        "params.yaml: train.random_forest.n_estimators = true: must not be true or false here: "
        "write the number or the word it means"
    )
    forest = train.build_estimator("classification", "random_forest", {"random_forest": {"bootstrap": False}}, 0)
    assert forest.bootstrap is False
    boosting = train.build_estimator(
        "regression", "gradient_boosting", {"gradient_boosting": {"early_stopping": True}}, 0
    )
    assert boosting.early_stopping is True  # 'auto' by default, and true or false by scikit-learn's constraints


def test_a_parameter_set_twice_is_refused() -> None:
    with pytest.raises(train.ParamsError) as refused:
        train.build_estimator("classification", "linear", {"linear": {"alpha": 100.0, "C": 5.0}}, 0)
    assert str(refused.value) == "params.yaml: train.linear.C = 5: set by alpha (estimators.linear): give one of them"


def test_settings_scikit_learn_refuses_only_when_fitting_are_one_line(
    task_data: pd.DataFrame, data_settings: dict, params: dict
) -> None:
    settings = {**params["train"], "model": "random_forest", "random_forest": {"max_samples": 0.5, "bootstrap": False}}
    with pytest.raises(train.ParamsError) as refused:
        train.fit(task_data, data_settings, settings)
    assert str(refused.value).startswith("params.yaml: train.random_forest: fitting refused the settings: ")
    assert "\n" not in str(refused.value)


def test_every_models_section_is_checked_not_only_the_trained_one(params: dict) -> None:
    settings = {**params["train"], "model": "random_forest", "gradient_boosting": {"max_iterr": 10}}
    with pytest.raises(
        train.ParamsError, match=r"train\.gradient_boosting\.max_iterr = 10: unknown key; did you mean max_iter\?"
    ):
        train.check_sections("classification", settings, 0)
