"""Metrics: directions, thresholds, tolerances, and the values for each task."""

from __future__ import annotations

import math

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.loop import metrics


def test_every_metric_belongs_to_one_task() -> None:
    assert metrics.names_for("classification") == ["roc_auc", "accuracy", "f1"]
    assert metrics.names_for("regression") == ["r2", "rmse", "mae"]
    assert metrics.names_for("clustering") == []


@pytest.mark.parametrize(
    ("metric", "value", "reference", "tolerance", "worse"),
    [
        ("roc_auc", 0.80, 0.90, 0.0, True),
        ("roc_auc", 0.95, 0.90, 0.0, False),
        ("roc_auc", 0.875, 1.0, 0.125, False),  # exactly the tolerance away is still fine
        ("roc_auc", 0.87, 1.0, 0.125, True),
        ("rmse", 12.0, 10.0, 0.0, True),
        ("rmse", 8.0, 10.0, 0.0, False),
        ("rmse", 10.5, 10.0, 0.5, False),  # exactly the tolerance away is still fine
        ("rmse", 10.6, 10.0, 0.5, True),
        ("mae", 3.0, 3.0, 0.0, False),
    ],
)
def test_is_worse_follows_the_metric_direction(
    metric: str, value: float, reference: float, tolerance: float, worse: bool
) -> None:
    assert metrics.is_worse(metric, value, reference, tolerance) is worse


@pytest.mark.parametrize(
    ("metric", "value", "threshold", "meets"),
    [
        ("r2", 0.3, 0.3, True),
        ("r2", 0.29, 0.3, False),
        ("accuracy", 0.91, 0.9, True),
        ("mae", 5.0, 5.0, True),
        ("mae", 5.1, 5.0, False),
        ("rmse", 1.0, 5.0, True),
    ],
)
def test_meets_threshold_follows_the_metric_direction(metric: str, value: float, threshold: float, meets: bool) -> None:
    assert metrics.meets_threshold(metric, value, threshold) is meets


def test_binary_metrics_with_string_labels_score_the_second_class() -> None:
    truth = ["no", "yes", "yes", "no"]
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.6, 0.4]])
    result = metrics.classification_metrics(truth, ["no", "yes", "yes", "yes"], proba, ["no", "yes"])
    assert result["accuracy"] == 0.75
    assert result["roc_auc"] == 1.0
    assert 0 < result["f1"] < 1


def test_multiclass_roc_auc_is_one_vs_rest() -> None:
    truth = ["a", "b", "c", "a", "b", "c"]
    proba = np.eye(3)[[0, 1, 2, 0, 1, 2]] * 0.8 + 0.2 / 3
    result = metrics.classification_metrics(truth, truth, proba, ["a", "b", "c"])
    assert result == {"accuracy": 1.0, "f1": 1.0, "roc_auc": 1.0}


def test_roc_auc_of_a_single_class_is_nan() -> None:
    proba = np.array([[0.7, 0.3], [0.6, 0.4]])
    result = metrics.classification_metrics(["no", "no"], ["no", "no"], proba, ["no", "yes"])
    assert math.isnan(result["roc_auc"])
    assert result["accuracy"] == 1.0


def test_regression_metrics_known_values() -> None:
    result = metrics.regression_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 6.0])
    assert result["mae"] == pytest.approx(0.5)
    assert result["rmse"] == pytest.approx(1.0)
    assert result["r2"] == pytest.approx(1 - 4 / 5)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_score_returns_every_metric_of_the_task(task: str) -> None:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    features = np.arange(12).reshape(-1, 1)
    if task == "classification":
        target = np.array(["a", "b"] * 6)
        model = DummyClassifier(strategy="prior").fit(features, target)
    else:
        target = np.arange(12, dtype=float)
        model = DummyRegressor().fit(features, target)
    result = metrics.score(task, model, features, target)
    assert sorted(result) == sorted(metrics.names_for(task))
    assert all(isinstance(value, float) for value in result.values())


def test_one_metric_agrees_with_the_full_computation() -> None:
    """The gate's resampling computes one metric at a time; it must be the metric evaluate reports."""
    rng = np.random.default_rng(0)
    truth = rng.choice(["a", "b", "c"], 80)
    proba = rng.dirichlet([1, 1, 1], 80)
    predicted = np.array(["a", "b", "c"])[proba.argmax(axis=1)]
    full = metrics.classification_metrics(truth, predicted, proba, ["a", "b", "c"])
    for name in ("accuracy", "f1", "roc_auc"):
        assert metrics.one_metric(name, truth, predicted, proba, ["a", "b", "c"]) == pytest.approx(full[name])
    binary = truth == "a"
    full = metrics.classification_metrics(binary, binary ^ (rng.random(80) < 0.2), proba[:, :2], [False, True])
    assert metrics.one_metric("roc_auc", binary, binary, proba[:, :2], [False, True]) == pytest.approx(full["roc_auc"])
    values, guesses = rng.normal(size=80), rng.normal(size=80)
    full = metrics.regression_metrics(values, guesses)
    for name in ("r2", "rmse", "mae"):
        assert metrics.one_metric(name, values, guesses, None, []) == pytest.approx(full[name])
