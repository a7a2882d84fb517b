"""The trained pipeline behaves: repeatable, robust to new categories and gaps, better than a guess.

Fitted on a sample of the project's own data with the settings of params.yaml (smaller ensembles,
so the tests stay fast).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import estimators, source
from {{ cookiecutter.package_name }}.features import feature_kinds
from {{ cookiecutter.package_name }}.loop import ingest, metrics, train

SAMPLE_ROWS = 400
SYNTHETIC_TARGET = "target value"


@pytest.fixture(scope="module")
def settings(project_params: dict[str, Any]) -> dict[str, Any]:
    settings = copy.deepcopy(project_params["train"])
    settings.setdefault("random_forest", {})["n_estimators"] = 25
    settings.setdefault("gradient_boosting", {})["max_iter"] = 50
    return settings


@pytest.fixture(scope="module")
def split(raw_data: pd.DataFrame, project_params: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and holdout rows of a sample of the project's data, split the way ingest splits."""
    data, split_settings = project_params["data"], project_params["ingest"]
    frame = source.clean(raw_data, data["target"])
    frame = frame.sample(min(SAMPLE_ROWS, len(frame)), random_state=0)
    return ingest.split(frame, data["target"], data["task"], split_settings["holdout_fraction"], split_settings["seed"])


@pytest.fixture(scope="module")
def model(split: tuple[pd.DataFrame, pd.DataFrame], project_params: dict[str, Any], settings: dict) -> Any:
    return train.fit(split[0], project_params["data"], settings)


def features_of(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    return frame.drop(columns=[target])


def with_gaps(features: pd.DataFrame, rows: slice) -> pd.DataFrame:
    """Every feature missing on `rows`, as a CSV with empty cells reads: integers as floats, the rest as objects."""
    gapped = features.copy()
    for column in gapped.columns:
        values = gapped[column]
        if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
            gapped[column] = values.astype(float)
        elif not pd.api.types.is_float_dtype(values):
            gapped[column] = values.astype(object)
    gapped.iloc[rows, :] = np.nan
    return gapped


# Two fits with the same seed agree to rounding: a forest's trees are summed in the order its
# parallel workers finish, so the last bit of a probability may differ.
SAME = {"rtol": 1e-9, "atol": 1e-12}


def outputs(model: Any, features: pd.DataFrame) -> np.ndarray:
    """Probabilities for a classifier, predictions for a regressor."""
    return model.predict_proba(features) if hasattr(model, "predict_proba") else model.predict(features)


def test_same_seed_same_model(
    model: Any, split: tuple[pd.DataFrame, pd.DataFrame], project_params: dict[str, Any], settings: dict
) -> None:
    again = train.fit(split[0], project_params["data"], settings)
    features = features_of(split[1], project_params["data"]["target"])
    np.testing.assert_allclose(outputs(model, features), outputs(again, features), **SAME)


def test_column_order_does_not_matter(
    model: Any, split: tuple[pd.DataFrame, pd.DataFrame], project_params: dict[str, Any]
) -> None:
    features = features_of(split[1], project_params["data"]["target"])
    reversed_columns = features[features.columns[::-1]]
    np.testing.assert_allclose(outputs(model, features), outputs(model, reversed_columns), **SAME)


def test_missing_values_at_predict_time(
    model: Any, split: tuple[pd.DataFrame, pd.DataFrame], project_params: dict[str, Any]
) -> None:
    features = with_gaps(features_of(split[1], project_params["data"]["target"]).head(10), slice(None, None, 2))
    result = outputs(model, features)
    assert len(result) == 10
    assert np.isfinite(result).all()


def test_scores_better_than_a_guess(
    model: Any, split: tuple[pd.DataFrame, pd.DataFrame], project_params: dict[str, Any]
) -> None:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    data, metric = project_params["data"], project_params["gate"]["metric"]
    train_rows, holdout = split
    guess = DummyClassifier(strategy="prior") if data["task"] == "classification" else DummyRegressor()
    guess.fit(features_of(train_rows, data["target"]), train_rows[data["target"]])
    features, target = features_of(holdout, data["target"]), holdout[data["target"]]
    scored = metrics.score(data["task"], model, features, target)[metric]
    guessed = metrics.score(data["task"], guess, features, target)[metric]
    assert metrics.is_worse(metric, guessed, scored), f"{metric}: model {scored:.4f}, guessing {guessed:.4f}"


@pytest.mark.parametrize("model_name", tuple(estimators.ESTIMATORS))
def test_unseen_categories_and_words_at_predict_time(
    model_name: str, task: str, make_frame: Any, settings: dict
) -> None:
    data, training = {"task": task, "target": SYNTHETIC_TARGET}, make_frame(task)
    fitted = train.fit(training, data, {**settings, "model": model_name})
    kinds = feature_kinds(features_of(training, SYNTHETIC_TARGET), settings["max_categories"])
    category, text = kinds["categorical"][0], kinds["text"][0]
    new = make_frame(task, rows=12, seed=1).drop(columns=[SYNTHETIC_TARGET])
    new[category] = "a value never seen in training"
    new[text] = "completely unknown vocabulary here"
    result = outputs(fitted, with_gaps(new, slice(None, None, 3)))
    assert len(result) == 12
    assert np.isfinite(result).all()
