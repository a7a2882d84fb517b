"""Estimate the model's metrics on current rows that have no labels yet.

Classification: confidence-based performance estimation (CBPE). With calibrated probabilities, a
row predicted as class c is right with probability p(c); the expected confusion matrix gives
accuracy and macro F1, and ROC AUC counts each row as a positive with weight p and a negative with
weight 1 - p. Calibration (isotonic, one class against the rest) is fitted on holdout rows the model
never trained on, and used only when it lowers the Brier score out of fold.

Regression: direct loss estimation (DLE). Two gradient boosting models fitted on the holdout predict
a row's absolute and squared error from its features and the model's prediction; their means over
the batch estimate MAE and RMSE, and R² is 1 - MSE / (var(prediction) + MSE).

The 95% interval adds, in quadrature, the batch's own sampling spread (labels drawn from the calibrated
probabilities; for regression the spread of the per-row loss over sqrt(rows)) and the same spread on
the holdout, since the calibration or the loss models were learned from that many rows.
docs/design-decisions.md, "Performance without labels, and drift over time", says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

MIN_HOLDOUT_ROWS = 50  # fewer unseen holdout rows and nothing is estimated (the report says so)
MAX_HOLDOUT_ROWS = 100_000  # a larger holdout is sampled (seeded): the estimate needs no more
DRAWS = 200  # label draws for a classification interval
DRAWN_ROWS = 20_000  # rows the draws use at most; the interval's width is scaled to the batch's rows
FOLDS = 5  # cross-fitting folds that decide whether calibration helps
Z95 = 1.959964
LOSS_CATEGORIES = 250  # most frequent values of a text column the loss model tells apart


class EstimateError(ValueError):
    """The estimate cannot be made from these rows (one line: why)."""


# --- classification: CBPE --------------------------------------------------------------------


def label_key(value: Any) -> tuple[str, Any]:
    """A label as the same key whatever its type: 1, 1.0 and numpy's 1 alike (a column with a missing
    label is read as floats), text as text."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_):
        return ("number", float(value))
    return ("text", str(value))


def class_indices(values: Any, classes: np.ndarray) -> np.ndarray:
    """Return the index in `classes` of each label; -1 for a label the model does not know."""
    lookup = {label_key(label): index for index, label in enumerate(classes)}
    return np.array([lookup.get(label_key(value), -1) for value in values], dtype=np.int64)


def isotonic_fit(scores: np.ndarray, hits: np.ndarray) -> Any:
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, hits)


def apply_calibration(calibrators: list[Any | None], proba: np.ndarray) -> np.ndarray:
    """Calibrate each class's probability and make every row sum to 1 again."""
    calibrated = np.column_stack(
        [proba[:, c] if model is None else model.predict(proba[:, c]) for c, model in enumerate(calibrators)]
    )
    if calibrated.shape[1] == 2:  # binary: one curve decides both columns, as the model's own do
        calibrated[:, 0] = 1.0 - calibrated[:, 1]
        return calibrated
    totals = calibrated.sum(axis=1, keepdims=True)
    even = np.full_like(calibrated, 1.0 / calibrated.shape[1])
    return np.divide(calibrated, totals, out=even, where=totals > 0)


def fit_calibrators(proba: np.ndarray, truth: np.ndarray) -> list[Any | None]:
    """One isotonic curve per class (None where the holdout has only one outcome for that class)."""
    calibrators: list[Any | None] = []
    for c in range(proba.shape[1]):
        hits = (truth == c).astype(float)
        calibrators.append(isotonic_fit(proba[:, c], hits) if 0 < hits.sum() < hits.size else None)
    return calibrators


def brier(proba: np.ndarray, truth: np.ndarray) -> float:
    onehot = np.zeros_like(proba)
    onehot[np.arange(truth.size), truth] = 1.0
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def choose_calibration(
    proba: np.ndarray, truth: np.ndarray
) -> tuple[list[Any | None] | None, np.ndarray, dict[str, float]]:
    """Calibrators fitted on every holdout row when cross-fitting shows they help (else None), and the
    holdout's probabilities as the estimate sees them without their own labels (out of fold)."""
    from sklearn.model_selection import KFold

    out_of_fold = proba.copy()
    for fitted_rows, held_rows in KFold(FOLDS, shuffle=True, random_state=0).split(proba):
        out_of_fold[held_rows] = apply_calibration(
            fit_calibrators(proba[fitted_rows], truth[fitted_rows]), proba[held_rows]
        )
    scores = {"brier_raw": brier(proba, truth), "brier_calibrated": brier(out_of_fold, truth)}
    helps = scores["brier_calibrated"] < scores["brier_raw"]
    return (fit_calibrators(proba, truth) if helps else None), (out_of_fold if helps else proba), scores


class RankedScores:
    """A score column ranked once, so that AUCs with many weightings are each one pass."""

    def __init__(self, scores: np.ndarray):
        _, self.group = np.unique(scores, return_inverse=True)
        self.groups = int(self.group.max()) + 1 if scores.size else 0

    def auc(self, positive: np.ndarray, negative: np.ndarray) -> float:
        """P(score of a positive > score of a negative), ties counting half, with row weights."""
        pos = np.bincount(self.group, positive, self.groups)
        neg = np.bincount(self.group, negative, self.groups)
        total = pos.sum() * neg.sum()
        if total <= 0:
            return math.nan
        below = np.cumsum(neg) - neg
        return float(np.sum(pos * (below + 0.5 * neg)) / total)


def macro_f1(hit: np.ndarray, predicted: np.ndarray, classes: int) -> float:
    """Macro F1 from the (expected or drawn) chance that each row's true class is the predicted one.

    hit[i, c] is the probability (or 0/1) that row i's true class is c.
    """
    scores = []
    for c in range(classes):
        chosen = predicted == c
        true_positive = hit[chosen, c].sum()
        false_positive = chosen.sum() - true_positive
        false_negative = hit[~chosen, c].sum()
        denominator = 2 * true_positive + false_positive + false_negative
        if denominator > 0:  # a class neither predicted nor present is left out, as scikit-learn does
            scores.append(2 * true_positive / denominator)
    return float(np.mean(scores)) if scores else math.nan


def classification_metrics(hit: np.ndarray, predicted: np.ndarray, ranked: list[RankedScores]) -> dict[str, float]:
    """Accuracy, macro F1 and ROC AUC (one-vs-rest macro beyond two classes) as metrics.py computes them."""
    classes = hit.shape[1]
    accuracy = float(np.mean(hit[np.arange(predicted.size), predicted]))
    if classes == 2:
        roc_auc = ranked[1].auc(hit[:, 1], 1.0 - hit[:, 1])
    else:
        roc_auc = float(np.nanmean([ranked[c].auc(hit[:, c], 1.0 - hit[:, c]) for c in range(classes)]))
    return {"accuracy": accuracy, "f1": macro_f1(hit, predicted, classes), "roc_auc": roc_auc}


def draw_labels(calibrated: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw of every row's class from its calibrated probabilities, as one-hot rows."""
    cumulative = np.cumsum(calibrated, axis=1)
    drawn = (rng.random((calibrated.shape[0], 1)) > cumulative).sum(axis=1)
    drawn = np.minimum(drawn, calibrated.shape[1] - 1)
    onehot = np.zeros_like(calibrated)
    onehot[np.arange(drawn.size), drawn] = 1.0
    return onehot


def spreads(calibrated: np.ndarray, predicted: np.ndarray, scores: np.ndarray) -> dict[str, tuple[float, float]]:
    """How far below and above the expected value each metric falls (2.5 and 97.5 percentiles) over labels
    drawn from the calibrated probabilities: the spread of a realised metric on rows like these."""
    rows = calibrated.shape[0]
    rng = np.random.default_rng(0)
    if rows > DRAWN_ROWS:
        chosen = rng.choice(rows, DRAWN_ROWS, replace=False)
        calibrated, predicted, scores = calibrated[chosen], predicted[chosen], scores[chosen]
    ranked = [RankedScores(scores[:, c]) for c in range(scores.shape[1])]
    drawn = [classification_metrics(draw_labels(calibrated, rng), predicted, ranked) for _ in range(DRAWS)]
    scale = math.sqrt(calibrated.shape[0] / rows)  # more rows than the draws used: a narrower spread
    centre = classification_metrics(calibrated, predicted, ranked)
    found = {}
    for name, middle in centre.items():
        values = np.array([one[name] for one in drawn], dtype=float)
        values = values[np.isfinite(values)]
        if not values.size or not math.isfinite(middle):
            found[name] = (math.nan, math.nan)
            continue
        low, high = np.percentile(values, [2.5, 97.5])
        found[name] = (max(middle - low, 0.0) * scale, max(high - middle, 0.0) * scale)
    return found


def anchored(
    batch: float,
    batch_spread: tuple[float, float],
    on_holdout: float,
    realised: float,
    holdout_spread: tuple[float, float],
    low: float = -math.inf,
    high: float = math.inf,
) -> dict[str, float]:
    """The estimate anchored to the holdout: its realised value plus the change the estimator sees
    from the holdout to the batch, so that the estimator's own bias cancels.

    The interval adds, in quadrature, the batch's sampling spread and the holdout's.
    """
    value = realised + (batch - on_holdout)
    below, above = math.hypot(batch_spread[0], holdout_spread[0]), math.hypot(batch_spread[1], holdout_spread[1])

    def bounded(figure: float) -> float:  # within the metric's range, such as [0, 1]
        return min(max(figure, low), high)

    return {"estimate": bounded(value), "low": bounded(value - below), "high": bounded(value + above),
            "on_batch": batch, "on_holdout": on_holdout, "holdout": realised}  # fmt: skip


def estimate_classification(
    model: Any, holdout: pd.DataFrame, truth: pd.Series, current: pd.DataFrame
) -> dict[str, Any]:
    """CBPE: the expected metrics on the current rows, with intervals, from calibrated probabilities."""
    if not hasattr(model, "predict_proba"):
        raise EstimateError("the model gives no probabilities (predict_proba), which the estimate needs")
    classes = np.asarray(model.classes_)
    known = class_indices(truth, classes)
    if (known < 0).any():
        unknown = truth[known < 0].iloc[0]
        raise EstimateError(f"holdout label {str(unknown)[:80]!r} is not a class the model knows")
    if len(set(known.tolist())) < 2:
        raise EstimateError(f"the holdout rows hold one class only ({truth.iloc[0]!s:.80}); the estimate needs two")
    held_scores = np.asarray(model.predict_proba(holdout), dtype=float)
    calibrators, held_estimated, brier_scores = choose_calibration(held_scores, known)
    scores = np.asarray(model.predict_proba(current), dtype=float)
    predicted = class_indices(model.predict(current), classes)
    held_predicted = class_indices(model.predict(holdout), classes)
    calibrated = scores if calibrators is None else apply_calibration(calibrators, scores)
    ranked = [RankedScores(scores[:, c]) for c in range(scores.shape[1])]
    held_ranked = [RankedScores(held_scores[:, c]) for c in range(held_scores.shape[1])]
    expected = classification_metrics(calibrated, predicted, ranked)
    on_holdout = classification_metrics(held_estimated, held_predicted, held_ranked)
    realised = classification_metrics(np.eye(len(classes))[known], held_predicted, held_ranked)
    batch, held = spreads(calibrated, predicted, scores), spreads(held_estimated, held_predicted, held_scores)
    return {
        "method": "CBPE",
        "calibrated": calibrators is not None,
        **brier_scores,
        "metrics": {
            name: anchored(value, batch[name], on_holdout[name], realised[name], held[name], 0.0, 1.0)
            for name, value in expected.items()
        },
    }


# --- regression: DLE ---------------------------------------------------------------------------


def loss_features(frame: pd.DataFrame, prediction: np.ndarray, categories: Mapping[str, list[str]]) -> pd.DataFrame:
    """The loss models' input: every feature as a number or a category, and the model's prediction."""
    columns: dict[str, Any] = {"__prediction__": prediction}
    for name in frame.columns:
        values = frame[name]
        if name in categories:
            text = values.astype("string")
            columns[str(name)] = pd.Categorical(text.where(text.isin(categories[name])), categories=categories[name])
        else:
            columns[str(name)] = pd.to_numeric(values, errors="coerce").astype(float)
    return pd.DataFrame(columns, index=frame.index)


def category_values(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The columns read as categories (not numbers or true/false) and their most frequent values."""
    found = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        counts = values.dropna().astype("string").value_counts()
        found[name] = [str(value) for value in counts.index[:LOSS_CATEGORIES]]
    return found


def loss_model(features: pd.DataFrame, loss: np.ndarray) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    leaf = max(20, len(features) // 50)
    settings = {"max_iter": 100, "learning_rate": 0.05, "max_leaf_nodes": 15, "l2_regularization": 1.0}
    return HistGradientBoostingRegressor(
        **settings, min_samples_leaf=leaf, categorical_features="from_dtype", random_state=0
    ).fit(features, loss)


def out_of_fold(held: pd.DataFrame, loss: np.ndarray) -> np.ndarray:
    """Each holdout row's loss as a loss model predicts it without having seen that row."""
    from sklearn.model_selection import KFold

    found = np.zeros(len(held))
    for fitted_rows, held_rows in KFold(FOLDS, shuffle=True, random_state=0).split(held):
        model = loss_model(held.iloc[fitted_rows], loss[fitted_rows])
        found[held_rows] = model.predict(held.iloc[held_rows])
    return np.clip(found, 0.0, None)


def r2_from(mse: float, spread: float) -> float:
    """R² when the residual is taken as uncorrelated with the prediction: 1 - MSE / (var(prediction) + MSE)."""
    return 1.0 - mse / (spread + mse) if spread + mse > 0 else math.nan


def estimate_regression(model: Any, holdout: pd.DataFrame, truth: pd.Series, current: pd.DataFrame) -> dict[str, Any]:
    """DLE: the MAE, RMSE and R² on the current rows from models of the holdout's errors."""
    target = pd.to_numeric(truth, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(target).all():
        raise EstimateError("the holdout's target has values that are not numbers")
    held_prediction = np.asarray(model.predict(holdout), dtype=float)
    errors = target - held_prediction
    categories = category_values(holdout)
    held = loss_features(holdout, held_prediction, categories)
    prediction = np.asarray(model.predict(current), dtype=float)
    now = loss_features(current, prediction, categories)
    absolute, squared = np.abs(errors), errors**2
    on_batch = {"mae": float(np.clip(loss_model(held, absolute).predict(now), 0.0, None).mean()),
                "mse": float(np.clip(loss_model(held, squared).predict(now), 0.0, None).mean())}  # fmt: skip
    on_holdout = {"mae": float(out_of_fold(held, absolute).mean()), "mse": float(out_of_fold(held, squared).mean())}
    realised = {"mae": float(absolute.mean()), "mse": float(squared.mean())}
    # The spread of a mean loss over the batch's rows and over the holdout's, as (below, above).
    batch_half = {name: (Z95 * float(np.std(loss)) / math.sqrt(len(current)),) * 2
                  for name, loss in (("mae", absolute), ("mse", squared))}  # fmt: skip
    held_half = {name: (Z95 * float(np.std(loss)) / math.sqrt(len(holdout)),) * 2
                 for name, loss in (("mae", absolute), ("mse", squared))}  # fmt: skip
    mae = anchored(on_batch["mae"], batch_half["mae"], on_holdout["mae"], realised["mae"], held_half["mae"], 0.0)
    mse = anchored(on_batch["mse"], batch_half["mse"], on_holdout["mse"], realised["mse"], held_half["mse"], 0.0)
    rmse = {key: math.sqrt(value) for key, value in mse.items()}
    total = float(np.sum((target - target.mean()) ** 2))
    r2_realised = 1.0 - float(squared.sum()) / total if total > 0 else math.nan
    batch_spread = float(np.var(prediction))
    r2_batch, r2_holdout = (
        r2_from(on_batch["mse"], batch_spread),
        r2_from(on_holdout["mse"], float(np.var(held_prediction))),
    )
    wide = math.hypot(batch_half["mse"][0], held_half["mse"][0])

    def r2_at(value: float) -> float:  # R² anchored to the holdout's, for the batch's MSE `value`, at most 1
        return min(r2_realised + (r2_from(max(value, 0.0), batch_spread) - r2_holdout), 1.0)

    middle = on_batch["mse"]
    r2 = {"estimate": r2_at(middle), "low": r2_at(middle + wide), "high": r2_at(middle - wide),
          "on_batch": r2_batch, "on_holdout": r2_holdout, "holdout": r2_realised}  # fmt: skip
    return {"method": "DLE", "metrics": {"mae": mae, "rmse": rmse, "r2": r2}}


# --- the check ---------------------------------------------------------------------------------


def estimate(task: str, model: Any, holdout: pd.DataFrame, target: str, current: pd.DataFrame) -> dict[str, Any]:
    """Estimate the metrics of `task` on `current` (its target, if any, is not read)."""
    from .model import model_features

    labelled = holdout.dropna(subset=[target])
    if len(labelled) < MIN_HOLDOUT_ROWS:
        raise EstimateError(
            f"{len(labelled)} labelled holdout rows the model never trained on; the estimate needs {MIN_HOLDOUT_ROWS}"
        )
    if len(labelled) > MAX_HOLDOUT_ROWS:
        labelled = labelled.sample(n=MAX_HOLDOUT_ROWS, random_state=0)
    features = model_features(model, labelled, target)
    batch = model_features(model, current, target)
    how = estimate_classification if task == "classification" else estimate_regression
    found = how(model, features, labelled[target], batch)
    return {**found, "holdout_rows": len(labelled), "rows": len(current)}


def estimate_check(
    found: dict[str, Any] | str,
    metric: str,
    reference: Mapping[str, float],
    realised: Mapping[str, Any] | None,
    drop: float,
    labelled: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The estimate next to the holdout (and realised) metrics, and whether it drifts.

    `found` is what `estimate` returned, or why nothing could be estimated. `realised` is the labelled
    check's metrics and `labelled` (labelled rows, rows) how many current rows it scored; when every
    row has its label, the labels decide and the estimate does not vote. When only some have (or
    `labelled` is not given with `realised`), the estimate votes too.
    """
    from ..metrics import METRICS

    if isinstance(found, str):
        return {"status": "not_estimated", "drift": False, "message": f"not estimated: {found}"}
    metrics = {}
    for name, values in found["metrics"].items():
        before = values.get("holdout", reference.get(name))  # realised on the same holdout rows
        known = before is not None and math.isfinite(values["estimate"]) and math.isfinite(before)
        worse_by = None
        if known:
            worse_by = before - values["estimate"] if METRICS[name].higher_is_better else values["estimate"] - before
        now = (realised or {}).get(name, {}).get("current") if realised else None
        metrics[name] = {**values, "holdout": before, "realised": now, "worse_by": worse_by}
    primary = metrics.get(metric)
    if primary is None:
        return {"status": "not_estimated", "drift": False, "message": f"not estimated: {metric} has no estimate"}
    worse_by = primary["worse_by"]
    some = labelled is not None and 0 < labelled[0] < labelled[1]
    decides = realised is None or labelled is None or some
    drifted = decides and (worse_by is None or worse_by > drop)
    what = (
        f"estimated {metric} {primary['estimate']:.4g} (95% {primary['low']:.4g} to {primary['high']:.4g}) "
        f"without labels ({found['method']}, {found['holdout_rows']} holdout rows)"
    )
    holdout = primary["holdout"]
    compared = "holdout n/a" if holdout is None else f"holdout {holdout:.4g}"
    if not decides:
        message = f"{what}; {compared}; labelled rows decide"
    else:
        if some:
            what += f"; {labelled[0]} of {labelled[1]} rows labelled, the estimate votes for the rest"
        allowed = f"allowed drop {drop:g}"
        message = f"{what}; {compared}, " + (
            "cannot be compared"
            if worse_by is None
            else f"{'worse' if worse_by > 0 else 'not worse'} by {abs(worse_by):.3g} ({allowed})"
        )
    return {
        "status": "estimated",
        "drift": bool(drifted),
        "decides": decides,
        "message": message,
        "metric": metric,
        "drop": drop,
        **{key: found[key] for key in ("method", "holdout_rows", "rows", "calibrated") if key in found},
        "metrics": metrics,
    }
