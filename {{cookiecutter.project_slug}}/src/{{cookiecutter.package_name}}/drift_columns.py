"""Decide, column by column, whether the current data drifted from the reference data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .drift_stats import categorical_statistic, is_drift, numeric_statistic

PLOT_BINS = 30
PLOT_CATEGORIES = 20


def is_numeric(values: pd.Series) -> bool:
    """Return True for numbers that are compared as a distribution (booleans are categories)."""
    return pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)


def sorted_finite(values: pd.Series) -> np.ndarray:
    """Return the finite values of a numeric column as a sorted float array."""
    if isinstance(values.dtype, np.dtype):  # NumPy-backed: NaN already marks missing values, so no copy
        array = values.to_numpy(dtype=np.float64)
    else:  # nullable or Arrow-backed: pd.NA becomes NaN
        array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    ordered = np.sort(array)  # NaN sorts last, after +inf: the finite values are one slice
    return ordered[np.searchsorted(ordered, -np.inf, "right") : np.searchsorted(ordered, np.inf, "left")]


def missing_count(values: pd.Series) -> int:
    """Return how many values are missing: NaN or None, and infinities in numeric columns."""
    if is_numeric(values):
        return int(np.count_nonzero(~np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))))
    return int(values.isna().sum())


def distinct_at_most(sorted_values: np.ndarray, limit: int) -> np.ndarray | None:
    """Return the distinct values of a sorted array if there are at most `limit`, else None."""
    distinct, position = [], 0
    while position < sorted_values.size:
        if len(distinct) == limit:
            return None
        distinct.append(sorted_values[position])
        position = int(np.searchsorted(sorted_values, sorted_values[position], "right"))
    return np.array(distinct)


def category_counts(reference: pd.Series, current: pd.Series) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Return the categories seen in either sample and the count of each in both."""
    counts = pd.concat([reference.value_counts(), current.value_counts()], axis=1, keys=["reference", "current"])
    counts = counts.fillna(0)
    return list(counts.index), counts["reference"].to_numpy(float), counts["current"].to_numpy(float)


def null_fraction(missing: tuple[int, int], rows: tuple[int, int], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the share of missing values in (reference, current) and whether it moved by `null_change`."""
    reference, current = (count / total if total else 0.0 for count, total in zip(missing, rows, strict=True))
    change = current - reference
    return {
        "reference": reference,
        "current": current,
        "change": change,
        "drift": abs(change) >= settings["null_change"],
    }


def compare_column(
    reference: pd.Series, current: pd.Series, settings: Mapping[str, Any], reference_rows: int
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Compare one column; return its result and, when it drifted, the data for its plot."""
    sample = "small" if reference_rows <= settings["small_sample_rows"] else "large"
    rows = (len(reference), len(current))
    if is_numeric(reference) and is_numeric(current):
        return _compare_numbers(reference, current, settings, sample, rows)
    nulls = null_fraction((missing_count(reference), missing_count(current)), rows, settings)
    reference, current = reference.dropna(), current.dropna()
    extra = {}
    if is_numeric(reference) or is_numeric(current):
        kinds = ["numeric" if is_numeric(values) else "categorical" for values in (reference, current)]
        extra["type_changed"] = {"reference": kinds[0], "current": kinds[1]}
        reference, current = reference.astype(str), current.astype(str)
    elif reference.nunique() > settings["max_categories"]:
        # Free text hardly repeats a value, so its values are not categories: compare their lengths.
        lengths = [np.sort(values.astype(str).str.len().to_numpy(dtype=np.float64)) for values in (reference, current)]
        return _numeric_result(*lengths, settings, sample, nulls, kind="text")
    return _categorical_result(reference, current, settings, sample, nulls, extra)


def _compare_numbers(
    reference: pd.Series, current: pd.Series, settings: Mapping[str, Any], sample: str, rows: tuple[int, int]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    reference_values, current_values = sorted_finite(reference), sorted_finite(current)
    nulls = null_fraction((rows[0] - reference_values.size, rows[1] - current_values.size), rows, settings)
    limit = settings["categorical_max_values"]
    few = [distinct_at_most(values, limit) for values in (reference_values, current_values)]
    if few[0] is None or few[1] is None or np.union1d(*few).size > limit:
        return _numeric_result(reference_values, current_values, settings, sample, nulls)
    # A handful of distinct numbers (flags, codes) is compared as categories.
    return _categorical_result(pd.Series(reference_values), pd.Series(current_values), settings, sample, nulls, {})


def _numeric_result(
    reference: np.ndarray,
    current: np.ndarray,
    settings: Mapping[str, Any],
    sample: str,
    nulls: dict[str, Any],
    kind: str = "numeric",
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    rule = settings["numeric"][sample]
    statistic = None
    if reference.size and current.size:
        statistic = numeric_statistic(rule["method"], reference, current, settings["psi_bins"])
    result = _decide(kind, rule, statistic, nulls)
    return result, histogram(reference, current) if result["drift"] else None


def _categorical_result(
    reference: pd.Series,
    current: pd.Series,
    settings: Mapping[str, Any],
    sample: str,
    nulls: dict[str, Any],
    extra: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    rule = settings["categorical"][sample]
    categories, reference_counts, current_counts = category_counts(reference, current)
    statistic = None
    if len(reference) and len(current):
        statistic = categorical_statistic(rule["method"], reference_counts, current_counts)
    result = {**_decide("categorical", rule, statistic, nulls), **extra}
    return result, bars(categories, reference_counts, current_counts) if result["drift"] else None


def _decide(kind: str, rule: Mapping[str, Any], statistic: float | None, nulls: dict[str, Any]) -> dict[str, Any]:
    method, threshold = rule["method"], rule["threshold"]
    distribution_drift = statistic is not None and is_drift(method, statistic, threshold)
    return {
        "type": kind,
        "method": method,
        "statistic": statistic,
        "threshold": threshold,
        "drift": bool(distribution_drift or nulls["drift"]),
        "null_fraction": nulls,
    }


def missing_column(reference: pd.Series) -> dict[str, Any]:
    """Return the result for a feature absent from the current data: all of its values are missing."""
    reference_missing = missing_count(reference) / len(reference) if len(reference) else 0.0
    return {
        "type": "numeric" if is_numeric(reference) else "categorical",
        "method": "missing",
        "statistic": None,
        "threshold": None,
        "drift": True,
        "null_fraction": {
            "reference": reference_missing,
            "current": 1.0,
            "change": 1.0 - reference_missing,
            "drift": True,
        },
    }


def dataset_summary(columns: Mapping[str, Mapping[str, Any]], threshold: float) -> dict[str, Any]:
    """Return whether the dataset drifted: at least `threshold` of the feature columns drifted."""
    drifted = [name for name, result in columns.items() if result["drift"]]
    share = len(drifted) / len(columns) if columns else 0.0
    return {
        "dataset_drift": share >= threshold,
        "drift_share": share,
        "threshold": threshold,
        "drifted_columns": drifted,
        "number_of_columns": len(columns),
    }


def histogram(reference: np.ndarray, current: np.ndarray, bins: int = PLOT_BINS) -> dict[str, Any]:
    """Return the share of each sorted sample in common equal-width bins, for a plot."""
    low = min(reference[0] if reference.size else np.inf, current[0] if current.size else np.inf)
    high = max(reference[-1] if reference.size else -np.inf, current[-1] if current.size else -np.inf)
    if not np.isfinite(low):
        low = high = 0.0
    edges = np.linspace(low, high, bins + 1) if high > low else np.array([low - 0.5, low + 0.5])
    shares = []
    for values in (reference, current):
        counts = np.diff(np.searchsorted(values, edges[1:-1], "left"), prepend=0, append=values.size)
        shares.append((counts / max(values.size, 1)).tolist())
    return {"kind": "histogram", "edges": edges.tolist(), "reference": shares[0], "current": shares[1]}


def bars(categories: list[Any], reference_counts: np.ndarray, current_counts: np.ndarray) -> dict[str, Any]:
    """Return the share of the most common categories in both samples, for a plot."""
    reference_share = reference_counts / max(reference_counts.sum(), 1)
    current_share = current_counts / max(current_counts.sum(), 1)
    top = np.argsort(-(reference_share + current_share), kind="stable")[:PLOT_CATEGORIES]
    return {
        "kind": "bars",
        "labels": [f"{categories[i]:.4g}" if isinstance(categories[i], float) else str(categories[i]) for i in top],
        "reference": reference_share[top].tolist(),
        "current": current_share[top].tolist(),
    }
