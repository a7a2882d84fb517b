"""Leakage: find a column that gives the answer away, before a model that read it becomes champion.

Two signs, each enough to stop the gate (unless `gate.allow_leakage` accepts them, recorded in the
decision):

- one feature column alone predicts the target almost perfectly: a shallow decision tree on that
  column (deep enough for a leaf per class), cross-validated over the labelled rows where the
  column is filled, reaches a balanced accuracy (classification) or R² (regression) of at least
  `NEAR_PERFECT`; for a numeric column R² also counts its squared linear and rank correlation
  with the target. A column such as `alive` next to `survived` scores 1.0; the best single column
  of honest data sets (iris, wine, breast cancer) stays below (benchmarks/). A target that truly
  is a function of one column (an exact trend over time) is flagged too: accept it on purpose.
- the candidate's holdout metric is at its best possible value on a holdout of at least
  `PERFECT_MIN_ROWS` rows. Smaller holdouts of easy data are scored perfectly by honest models
  (iris, wine), so there only the first sign is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

NEAR_PERFECT = 0.99
PERFECT_MIN_ROWS = 200
SAMPLE_ROWS = 20_000  # the single-column check reads at most this many rows (a fixed sample)
FOLDS = 5
DEPTH = {"classification": 4, "regression": 6}


def encode(column: pd.Series) -> np.ndarray:
    """One column as numbers a tree can split: values (missing as -1 with a flag), or category codes."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        # Trees split float32 values: infinities and huge numbers are brought inside its range.
        values = np.clip(column.astype("float64").to_numpy(), -3e38, 3e38)
        missing = np.isnan(values)
        filled = np.where(missing, np.nanmin(values) - 1 if (~missing).any() else 0.0, values)
        return np.column_stack([filled, missing])
    codes = pd.Categorical(column.astype("string").fillna("\x00missing")).codes
    return codes.reshape(-1, 1).astype("float64")


def lookup_predictions(column: pd.Series, labels: np.ndarray, folds: Any) -> np.ndarray:
    """Cross-validated predictions of a lookup table: each value's most frequent label in the other folds.

    Catches a column that names the label in its own words, however many classes there are; a value
    the other folds never had (an id) gets their most frequent label, so ids score like chance.
    """
    values = column.astype("string").fillna("\x00missing").to_numpy()
    predicted = np.empty(len(labels), dtype=object)
    for train_rows, test_rows in folds.split(values.reshape(-1, 1), labels):
        seen = pd.DataFrame({"value": values[train_rows], "label": labels[train_rows]})
        counts = seen.value_counts().reset_index()  # most frequent (value, label) pairs first
        table = counts.drop_duplicates("value").set_index("value")["label"]
        fallback = pd.Series(labels[train_rows]).value_counts().index[0]
        predicted[test_rows] = pd.Series(values[test_rows]).map(table).fillna(fallback).to_numpy()
    return predicted.astype(labels.dtype)


def single_column_score(column: pd.Series, target: pd.Series, task: str, seed: int = 0) -> float:
    """How well this one column alone predicts the target, cross-validated (balanced accuracy or R²)."""
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    features = encode(column)
    if task == "classification":
        labels = target.astype("string").to_numpy()
        smallest = pd.Series(labels).value_counts().min()
        folds = StratifiedKFold(min(FOLDS, int(smallest)), shuffle=True, random_state=seed) if smallest >= 2 else None
        if folds is None:
            return 0.0
        tree = DecisionTreeClassifier(max_depth=DEPTH[task], random_state=seed)
        predicted = cross_val_predict(tree, features, labels, cv=folds)
        from sklearn.metrics import balanced_accuracy_score

        looked_up = lookup_predictions(column, labels, folds)
        return max(float(balanced_accuracy_score(labels, predicted)), float(balanced_accuracy_score(labels, looked_up)))
    values = target.astype("float64").to_numpy()
    tree = DecisionTreeRegressor(max_depth=DEPTH[task], random_state=seed)
    predicted = cross_val_predict(tree, features, values, cv=KFold(FOLDS, shuffle=True, random_state=seed))
    from sklearn.metrics import r2_score

    best = float(r2_score(values, predicted))
    if features.shape[1] == 2 and np.std(features[:, 0]) > 0 and np.std(values) > 0:
        from scipy.stats import spearmanr

        # A column the target follows exactly, even bent (a log, a rank), is a leak a shallow tree can miss.
        best = max(
            best,
            float(np.corrcoef(features[:, 0], values)[0, 1] ** 2),
            float(spearmanr(features[:, 0], values)[0] ** 2),
        )
    return best


def leaky_columns(rows: pd.DataFrame, target: str, task: str) -> dict[str, float]:
    """The feature columns that alone predict the target almost perfectly, with their scores."""
    labelled = rows.dropna(subset=[target])
    if len(labelled) > SAMPLE_ROWS:
        labelled = labelled.sample(SAMPLE_ROWS, random_state=0)
    if len(labelled) < 2 * FOLDS:
        return {}
    found = {}
    for name in labelled.columns.drop(target):
        filled = labelled[labelled[name].notna()]  # a copy of the target with gaps still gives it away where filled
        if len(filled) < 2 * FOLDS:
            continue
        value = single_column_score(filled[name], filled[target], task)
        if value >= NEAR_PERFECT:
            found[str(name)] = round(value, 4)
    return found


def perfect_score(metric: str, value: float, holdout_rows: int) -> bool:
    """True when a holdout large enough to mean it is scored at the metric's best value."""
    from .metrics import METRICS

    spec = METRICS[metric]
    best = spec.high if spec.higher_is_better else spec.low
    return holdout_rows >= PERFECT_MIN_ROWS and bool(np.isclose(value, best, rtol=0, atol=1e-12))


def check(
    train: pd.DataFrame, holdout: pd.DataFrame, target: str, task: str, metric: str, value: float
) -> dict[str, Any]:
    """Both signs of leakage for a candidate: {"columns": {name: score}, "perfect": bool}."""
    rows = pd.concat([train, holdout], ignore_index=True)
    return {
        "columns": leaky_columns(rows, target, task),
        "perfect": perfect_score(metric, value, len(holdout)),
        "near_perfect": NEAR_PERFECT,
    }
