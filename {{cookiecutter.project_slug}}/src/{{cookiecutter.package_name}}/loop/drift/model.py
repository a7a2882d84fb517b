"""The model's side of drift: its predictions on both tables, and its quality on labelled current rows.

A model that cannot score the current rows is drift (the data no longer fits it), never a footnote.
A model or reference metrics that are missing are errors: the check would not have run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..data import DataError
from .columns import compare_column

PREDICTION_ROWS = 100_000  # holdout rows scored for the prediction distribution (a seeded sample beyond this)


def load_model(path: Path) -> Any:
    """Load the fitted model, or raise DataError saying how to get one."""
    if not path.is_file():
        raise DataError(f"{path}: model not found; run `make reference` (or `make repro`), or pass --no-model")
    import joblib

    try:
        return joblib.load(path)
    except Exception as error:  # any unpickling failure means the same thing: this file is not a usable model
        raise DataError(f"{path}: cannot be loaded as a model: {one_line(error)}") from error


def read_metrics(path: Path, metric: str) -> dict[str, float]:
    """Return the model's holdout metrics, or raise DataError if the file or the primary metric is missing."""
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DataError(f"{path}: reference metrics not found; run `make reference` (or `make repro`)") from error
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot be read as JSON metrics: {one_line(error)}") from error
    if not isinstance(metrics, dict) or not isinstance(metrics.get(metric), int | float):
        raise DataError(f"{path}: has no number for the primary metric {metric!r} (params.yaml gate.metric)")
    return {name: float(value) for name, value in metrics.items() if isinstance(value, int | float)}


def one_line(error: BaseException) -> str:
    """Return an exception as one short line."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]


def model_features(model: Any, frame: pd.DataFrame, target: str | None) -> pd.DataFrame:
    """Return the columns the model was fitted on, in its order."""
    features = frame.drop(columns=[target]) if target in frame.columns else frame
    expected = getattr(model, "feature_names_in_", None)
    return features if expected is None else features[list(expected)]


def predict(model: Any, frame: pd.DataFrame, target: str | None) -> pd.Series:
    """Return the model's predictions: class labels (as text) or numbers."""
    predicted = pd.Series(model.predict(model_features(model, frame, target)))
    return predicted.astype(str) if hasattr(model, "classes_") else predicted.astype(float)


def prediction_drift(
    model: Any, reference: pd.DataFrame, current: pd.DataFrame, target: str | None, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """Compare the distribution of predictions on rows the model never trained on (`reference`: the
    holdout) and on the current rows."""
    if len(reference) > PREDICTION_ROWS:
        reference = reference.sample(n=PREDICTION_ROWS, random_state=0)
    try:
        before = predict(model, reference, target)
    except Exception as error:  # the model does not fit the data it was trained on: a setup error
        raise DataError(f"the model cannot score the holdout rows: {one_line(error)}") from error
    try:
        after = predict(model, current, target)
    except Exception as error:  # scikit-learn raises many types; each means the batch does not fit the model
        return {
            "status": "failed",
            "drift": True,
            "message": f"the model could not score the current data: {one_line(error)}",
        }
    from .cells import effect_text

    result, plot = compare_column(before, after, settings)
    state = "moved" if result["drift"] else "stable"
    message = (
        f"predictions {state} ({effect_text(result)}) on {len(after)} current rows against {len(before)} holdout rows"
    )
    return {"status": "compared", "drift": result["drift"], "message": message, "column": result, "plot": plot}


def model_quality(
    model: Any,
    current: pd.DataFrame,
    target: str | None,
    task: str,
    metric: str,
    reference_metrics: Callable[[], dict[str, float]],
    drop: float,
) -> dict[str, Any]:
    """Score the model on the labelled current rows; drift when the primary metric fell by more than `drop`."""
    if target is None or target not in current.columns or current[target].isna().all():
        return {
            "status": "no_target",
            "drift": False,
            "message": f"the current data has no values of the target {target!r}",
        }
    reference = reference_metrics()
    labelled = current.dropna(subset=[target])
    from ..metrics import score

    try:
        scores = score(task, model, model_features(model, labelled, target), labelled[target])
    except Exception as error:  # as in prediction_drift: the batch does not fit the model
        return {
            "status": "failed",
            "drift": True,
            "message": f"the model could not score the current data: {one_line(error)}",
        }
    metrics = {name: metric_change(name, value, reference.get(name)) for name, value in scores.items()}
    primary = metrics[metric]
    worse_by = primary["worse_by"]
    fell = worse_by is None or worse_by > drop  # a metric that cannot be computed (NaN) did not pass
    message = f"{metric} {describe_change(primary)} on {len(labelled)} labelled current rows (allowed drop {drop:g})"
    return {
        "status": "scored",
        "drift": bool(fell),
        "message": message,
        "metric": metric,
        "drop": drop,
        "metrics": metrics,
    }


def metric_change(name: str, value: float, before: float | None) -> dict[str, Any]:
    """Return a metric before and after, with the change and whether it is worse or better."""
    from ..metrics import METRICS

    known = before is not None and math.isfinite(value) and math.isfinite(before)
    change = value - before if known else None
    higher_is_better = METRICS[name].higher_is_better if name in METRICS else True
    worse_by = None if change is None else (-change if higher_is_better else change)
    direction = None if worse_by is None else "worse" if worse_by > 0 else "better" if worse_by < 0 else "same"
    return {"reference": before, "current": value, "change": change, "worse_by": worse_by, "direction": direction}


def describe_change(values: Mapping[str, Any]) -> str:
    """Return "0.82 → 0.68 (-0.14, worse)" for a metric change."""
    if values["change"] is None:
        return f"{values['reference']} → {values['current']} (cannot be compared)"
    return f"{values['reference']:.4g} → {values['current']:.4g} ({values['change']:+.3g}, {values['direction']})"
