"""Metrics per task: how to compute them, which direction is better, and their range."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Metric:
    task: str
    higher_is_better: bool
    low: float
    high: float


# The pre-generation hook keeps a copy of these names and ranges to check answers before a
# project exists; tests/test_hooks.py in the template checks the two agree.
METRICS = {
    "roc_auc": Metric("classification", True, 0.0, 1.0),
    "accuracy": Metric("classification", True, 0.0, 1.0),
    "f1": Metric("classification", True, 0.0, 1.0),
    "r2": Metric("regression", True, -math.inf, 1.0),
    "rmse": Metric("regression", False, 0.0, math.inf),
    "mae": Metric("regression", False, 0.0, math.inf),
}


def names_for(task: str) -> list[str]:
    """Return the metric names that apply to a task."""
    return [name for name, metric in METRICS.items() if metric.task == task]


def is_worse(metric: str, value: float, reference: float, tolerance: float = 0.0) -> bool:
    """Return True if `value` is worse than `reference` by more than `tolerance`."""
    if METRICS[metric].higher_is_better:
        return value < reference - tolerance
    return value > reference + tolerance


def meets_threshold(metric: str, value: float, threshold: float) -> bool:
    """Return True if `value` reaches the threshold in the metric's better direction."""
    return value >= threshold if METRICS[metric].higher_is_better else value <= threshold


def classification_metrics(y_true: Any, y_pred: Any, proba: np.ndarray, classes: list[Any]) -> dict[str, float]:
    """Accuracy, macro F1 and ROC AUC (one-vs-rest for more than two classes)."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y_true = np.asarray(y_true)
    result = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1": float(f1_score(y_true, y_pred, average="macro")),
    }
    present = set(np.unique(y_true))
    if len(present) < 2:
        result["roc_auc"] = float("nan")
    elif len(classes) == 2:
        result["roc_auc"] = float(roc_auc_score(y_true == classes[1], proba[:, 1]))
    else:
        result["roc_auc"] = float(roc_auc_score(y_true, proba, multi_class="ovr", labels=classes))
    return result


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """R², RMSE and MAE."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {
        "r2": float(r2_score(y_true, y_pred)),
        "rmse": float(math.sqrt(mean_squared_error(y_true, y_pred))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
    }


def one_metric(metric: str, truth: np.ndarray, predicted: np.ndarray, proba: Any, classes: list[Any]) -> float:
    """One metric of the task, as `classification_metrics` / `regression_metrics` compute it (for resampling)."""
    from sklearn.metrics import f1_score, roc_auc_score

    if metric == "accuracy":
        return float(np.mean(truth == predicted))
    if metric == "f1":
        return float(f1_score(truth, predicted, average="macro"))
    if metric == "roc_auc":
        if len(classes) == 2:
            return float(roc_auc_score(truth == classes[1], proba[:, 1]))
        return float(roc_auc_score(truth, proba, multi_class="ovr", labels=classes))
    errors = np.asarray(truth, dtype=float) - np.asarray(predicted, dtype=float)
    if metric == "rmse":
        return float(math.sqrt(np.mean(errors**2)))
    if metric == "mae":
        return float(np.mean(np.abs(errors)))
    total = np.sum((np.asarray(truth, dtype=float) - np.mean(truth)) ** 2)
    return float(1 - np.sum(errors**2) / total) if total > 0 else float("nan")


def score(task: str, model: Any, features: Any, target: Any) -> dict[str, float]:
    """Compute every metric of the task for a fitted model on the given rows."""
    predicted = model.predict(features)
    if task == "classification":
        return classification_metrics(target, predicted, model.predict_proba(features), list(model.classes_))
    return regression_metrics(target, predicted)
