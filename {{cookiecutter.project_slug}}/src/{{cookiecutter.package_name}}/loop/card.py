"""The numbers of a model card, computed on the holdout rows only (the `evaluate` stage writes them).

For every metric of the task, a bootstrap 95% interval; for each category or true/false column,
the values the gate's metric is worst on; for each raw input column, how much the gate's metric
drops when that column is shuffled (permutation importance); and what the model trained on. The
card names the model file's md5, so `register` and the report use it only for that model.
card_markdown.py turns it into Markdown.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .kinds import parse_times, series_kind
from .metrics import METRICS, names_for, one_metric

RESAMPLES, CONFIDENCE = 200, 0.95
MIN_SLICE_ROWS, WORST_SLICES = 10, 3
IMPORTANCE_REPEATS, IMPORTANCE_MAX_ROWS = 5, 2_000
RARE_EXAMPLES = 5
SLICED_KINDS = ("categorical", "boolean")


def metric_value(metric: str, truth: np.ndarray, predicted: Any, proba: Any, classes: list[Any]) -> float:
    """One metric on these rows, or NaN where it is undefined (roc_auc on one class, r2 on a constant target)."""
    if metric == "roc_auc" and len(set(truth.tolist())) < 2:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # f1 of a class absent from a resample: sklearn's warning, not ours
        try:
            return one_metric(metric, truth, predicted, proba, classes)
        except ValueError:  # scikit-learn's way of saying the metric is undefined on these rows
            return math.nan


def predictions(task: str, model: Any, features: pd.DataFrame) -> tuple[np.ndarray, Any, list[Any]]:
    """The model's predictions, class probabilities (classification) and classes, computed once."""
    predicted = np.asarray(model.predict(features))
    if task != "classification":
        return predicted, None, []
    return predicted, model.predict_proba(features), list(model.classes_)


def macro_f1(truth: np.ndarray, predicted: np.ndarray, labels: int) -> float:
    """Macro F1 over the labels in either array, as scikit-learn's f1_score(average="macro"); inputs are label codes."""
    true_positive = np.bincount(truth[truth == predicted], minlength=labels)
    counted = np.bincount(truth, minlength=labels) + np.bincount(predicted, minlength=labels)
    present = counted > 0
    return float(np.mean(2 * true_positive[present] / counted[present]))


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half), equal to scikit-learn's roc_auc_score."""
    from scipy.stats import rankdata

    positives = int(positive.sum())
    negatives = len(positive) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    return float((rankdata(scores)[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def resampler(metric: str, truth: np.ndarray, predicted: np.ndarray, proba: Any, classes: list[Any]) -> Any:
    """A function of row positions giving the metric on those rows; direct formulas where scikit-learn's
    input checks would cost more than the metric itself (it runs once per resample)."""
    if metric in {"accuracy", "f1"}:
        _, codes = np.unique(np.concatenate([truth, predicted]).astype(str), return_inverse=True)
        truth_codes, predicted_codes, labels = codes[: len(truth)], codes[len(truth) :], int(codes.max()) + 1
        if metric == "accuracy":
            return lambda rows: float(np.mean(truth_codes[rows] == predicted_codes[rows]))
        return lambda rows: macro_f1(truth_codes[rows], predicted_codes[rows], labels)
    if metric == "roc_auc" and len(classes) == 2:
        positive, scores = truth == classes[1], proba[:, 1]
        return lambda rows: binary_auc(positive[rows], scores[rows])
    return lambda rows: metric_value(
        metric, truth[rows], predicted[rows], None if proba is None else proba[rows], classes
    )


def bootstrap_intervals(
    task: str, truth: Any, predicted: Any, proba: Any, classes: list[Any], seed: int, resamples: int = RESAMPLES
) -> dict[str, dict[str, Any]]:
    """Every metric of the task with its percentile interval over `resamples` bootstrap resamples of the rows.

    A resample on which a metric is undefined is skipped for that metric; `used` says how many counted.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    rng = np.random.default_rng(seed)
    on_rows = {name: resampler(name, truth, predicted, proba, classes) for name in names_for(task)}
    drawn: dict[str, list[float]] = {name: [] for name in on_rows}
    for _ in range(resamples):
        rows = rng.integers(0, len(truth), len(truth))
        for name, values in drawn.items():
            value = on_rows[name](rows)
            if not math.isnan(value):
                values.append(value)
    tail = (1 - CONFIDENCE) / 2 * 100
    intervals = {}
    for name, values in drawn.items():
        low, high = np.percentile(values, [tail, 100 - tail]) if values else (math.nan, math.nan)
        point = metric_value(name, truth, predicted, proba, classes)
        intervals[name] = {"value": point, "low": float(low), "high": float(high), "used": len(values)}
    return intervals


def undefined_why(task: str, truth: np.ndarray) -> str:
    """Why a metric has no value on these rows, in a few words."""
    if task == "classification":
        return "one class only" if len(set(truth.tolist())) < 2 else "undefined on these rows"
    return "the target is constant" if len(set(truth.tolist())) < 2 else "undefined on these rows"


def column_slices(
    task: str, metric: str, cells: pd.Series, truth: np.ndarray, predicted: np.ndarray, proba: Any, classes: list
) -> dict[str, Any]:
    """The gate's metric per value of one column (missing cells are one more value, None), worst first."""
    labels = cells.astype(object).where(cells.notna(), None).map(lambda cell: None if cell is None else str(cell))
    groups = pd.Series(np.arange(len(labels))).groupby(labels.to_numpy(), dropna=False, sort=True)
    scored, undefined, small = [], [], {"values": 0, "rows": 0}
    for value, positions in groups:
        rows = positions.to_numpy()
        key = None if isinstance(value, float) and math.isnan(value) else value
        if len(rows) < MIN_SLICE_ROWS:
            small["values"] += 1
            small["rows"] += len(rows)
            continue
        found = metric_value(metric, truth[rows], predicted[rows], None if proba is None else proba[rows], classes)
        entry = {"value": key, "rows": len(rows)}
        if math.isnan(found):
            undefined.append({**entry, "why": undefined_why(task, truth[rows])})
        else:
            scored.append({**entry, "metric": found})
    worse_first = sorted(scored, key=lambda entry: entry["metric"], reverse=not METRICS[metric].higher_is_better)
    return {
        "values": len(groups),
        "evaluated": len(scored) + len(undefined),
        "worst": worse_first[:WORST_SLICES],
        "undefined": undefined,
        "too_few_rows": small,
    }


def worst_slices(
    task: str, metric: str, features: pd.DataFrame, truth: Any, found: tuple, kinds: dict[str, str]
) -> dict[str, Any]:
    """The worst values of each category or true/false column on the gate's metric, with the overall value."""
    truth = np.asarray(truth)
    predicted, proba, classes = found
    columns = [
        {"column": str(column), "kind": kind, **column_slices(task, metric, features[column], truth, *found)}
        for column, kind in kinds.items()
        if kind in SLICED_KINDS and column in features.columns
    ]
    overall = metric_value(metric, truth, predicted, proba, classes)
    return {
        "metric": metric,
        "overall": overall,
        "min_rows": MIN_SLICE_ROWS,
        "worst_per_column": WORST_SLICES,
        "columns": columns,
    }


def scorer(task: str, metric: str) -> Any:
    """The gate's metric as a scikit-learn scorer (greater is better: error metrics are negated)."""
    sign = 1.0 if METRICS[metric].higher_is_better else -1.0

    def score(estimator: Any, features: Any, truth: Any) -> float:
        truth = np.asarray(truth)
        if metric == "roc_auc":  # probabilities only: predicting the class too would double the cost
            return sign * metric_value(metric, truth, None, estimator.predict_proba(features), list(estimator.classes_))
        classes = list(getattr(estimator, "classes_", []))
        return sign * metric_value(metric, truth, np.asarray(estimator.predict(features)), None, classes)

    return score


@contextmanager
def one_thread(model: Any) -> Iterator[None]:
    """Run the model on one thread: on a few hundred rows, starting threads costs more than it saves."""
    settings = {name: value for name, value in model.get_params(deep=True).items() if name.endswith("n_jobs")}
    if settings:
        model.set_params(**dict.fromkeys(settings, 1))
    try:
        yield
    finally:
        if settings:
            model.set_params(**settings)


def permutation_importances(
    task: str, metric: str, model: Any, features: pd.DataFrame, truth: Any, seed: int
) -> dict[str, Any]:
    """How much the gate's metric drops when each raw input column is shuffled, on at most IMPORTANCE_MAX_ROWS rows."""
    from sklearn.inspection import permutation_importance

    truth = pd.Series(np.asarray(truth), index=features.index)
    if len(features) > IMPORTANCE_MAX_ROWS:
        features = features.sample(IMPORTANCE_MAX_ROWS, random_state=seed)
        truth = truth.loc[features.index]
    found = {"metric": metric, "rows": len(features), "repeats": IMPORTANCE_REPEATS, "seed": seed, "columns": []}
    score = scorer(task, metric)
    with one_thread(model):
        if math.isnan(score(model, features, truth)):
            return {**found, "skipped": f"{metric} is undefined on the holdout rows"}
        result = permutation_importance(
            model, features, truth.to_numpy(), scoring=score, n_repeats=IMPORTANCE_REPEATS, random_state=seed
        )
    columns = [
        {"column": str(column), "mean": float(mean), "std": float(std)}
        for column, mean, std in zip(features.columns, result.importances_mean, result.importances_std, strict=True)
    ]
    return {**found, "columns": sorted(columns, key=lambda entry: (math.isnan(entry["mean"]), -entry["mean"]))}


def training_summary(
    train: pd.DataFrame, target: str, kinds: dict[str, str], md5: str, min_category_rows: int
) -> dict[str, Any]:
    """What the model learned from: rows, columns and kinds, each time column's range, rare category values."""
    ranges, rare = {}, {}
    for column, kind in kinds.items():
        if kind == "datetime":
            times = parse_times(train[column]).dropna()
            ranges[str(column)] = {
                "min": times.min().isoformat() if len(times) else None,
                "max": times.max().isoformat() if len(times) else None,
            }
        elif kind in SLICED_KINDS and column != target:
            counts = train[column].dropna().astype(str).value_counts()
            few = counts[counts < min_category_rows]
            if len(few):
                examples = [str(value) for value in few.sort_values(kind="stable").index[:RARE_EXAMPLES]]
                rare[str(column)] = {"values": len(few), "rows": int(few.sum()), "examples": examples}
    columns = [{"name": str(column), "kind": kind, "target": column == target} for column, kind in kinds.items()]
    return {
        "md5": md5,
        "rows": len(train),
        "columns": columns,
        "time_ranges": ranges,
        "rare_values": {"min_rows": min_category_rows, "columns": rare},
    }


def build_card(
    params: dict[str, Any], model: Any, model_md5: str, holdout: pd.DataFrame, train: pd.DataFrame, train_md5: str
) -> dict[str, Any]:
    """Every number of the card, from the model, its holdout rows and its training rows."""
    data, training = params["data"], params["train"]
    task, target, metric, seed = data["task"], data["target"], params["gate"]["metric"], int(training["seed"])
    kinds = {column: series_kind(train[column], int(training["max_categories"])) for column in train.columns}
    features, truth = holdout.drop(columns=[target]), holdout[target]
    with one_thread(model):
        found = predictions(task, model, features)
    return {
        "model_md5": model_md5,
        "task": task,
        "target": str(target),
        "holdout_rows": len(holdout),
        "bootstrap": {"resamples": RESAMPLES, "confidence": CONFIDENCE, "seed": seed},
        "metrics": bootstrap_intervals(task, truth, *found, seed),
        "slices": worst_slices(task, metric, features, truth, found, kinds),
        "importance": permutation_importances(task, metric, model, features, truth, seed),
        "training": training_summary(train, target, kinds, train_md5, int(training.get("min_category_rows", 5))),
    }


def draw_importance(importance: dict[str, Any], path: Path, top: int = 15) -> None:
    """A horizontal bar per column, the most important on top, with the spread over the repeats."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [entry for entry in importance.get("columns", []) if math.isfinite(entry["mean"])][:top]
    figure, axes = plt.subplots(figsize=(6, 0.9 + 0.3 * max(len(shown), 1)))
    # A `$` in a column name would start matplotlib's math text; long names are cut.
    labels = [entry["column"][:40].replace("$", r"\$") for entry in shown]
    axes.barh(labels, [entry["mean"] for entry in shown], xerr=[entry["std"] for entry in shown], color="tab:blue")
    axes.invert_yaxis()
    axes.axvline(0, color="grey", linewidth=0.8)
    title = "Permutation importance" if shown else f"Permutation importance: {importance.get('skipped', 'no columns')}"
    axes.set(xlabel=f"drop in {importance['metric']} when shuffled", title=title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
