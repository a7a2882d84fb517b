"""Decide, column by column, whether the current data drifted from the reference data.

A column drifts when its distribution moved by at least the effect-size threshold and the move is
more than the noise of two samples of these sizes (p-value below `p_value`); when its share of
missing values moved the same way; when it holds values the reference never had; or when its type
changed. A numeric column is tested (Kolmogorov-Smirnov) only when its effect reaches the threshold:
below it the p-value cannot change the decision, and on a million rows the test costs more than
everything else. Each column is compared by its kind (kinds.py): numbers, and times as seconds
since 1970, by their distributions (Kolmogorov-Smirnov); categories, however many, by their shares
(chi-squared) and their unseen values; free text by its length. See drift/summary.py for the
figures that describe each column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..kinds import parse_times, series_kind
from .stats import (
    categorical_effect,
    chi_squared_pvalue,
    ks_pvalue_bound,
    ks_test,
    numeric_effect,
    two_proportions_pvalue,
    unseen_pvalue,
)
from .summary import bars, category_summary, histogram, number_summary, readable_value

EXAMPLES = 3  # offending values shown for a type change or unseen categories
EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


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


def distinct_at_most(sorted_values: np.ndarray, limit: int) -> np.ndarray | None:
    """Return the distinct values of a sorted array if there are at most `limit`, else None."""
    distinct, position = [], 0
    while position < sorted_values.size:
        if len(distinct) == limit:
            return None
        distinct.append(sorted_values[position])
        position = int(np.searchsorted(sorted_values, sorted_values[position], "right"))
    return np.array(distinct)


def align_type(reference: pd.Series, current: pd.Series) -> tuple[pd.Series, dict[str, Any] | None]:
    """Return the current values in the reference's type, and the type change if there was one.

    Text in a numeric column (junk cells, comma decimals, numbers written with units) is a type
    change; the values that still parse as numbers are compared, the others are given as examples.
    """
    if is_numeric(reference) == is_numeric(current):
        return current, None
    if is_numeric(current):
        examples = [readable_value(value) for value in current.dropna().unique()[:EXAMPLES]]
        change = {"reference": "text", "current": "numeric", "unparsed": 0, "unparsed_share": 0.0}
        return current.astype(object).where(current.notna()), {**change, "examples": examples}
    parsed = pd.to_numeric(current.astype(object), errors="coerce").astype(np.float64)
    offending = current.notna().to_numpy() & parsed.isna().to_numpy()
    bad = current[offending]
    change = {
        "reference": "numeric",
        "current": "text",
        "unparsed": int(offending.sum()),
        "unparsed_share": float(offending.mean()) if len(current) else 0.0,
        "examples": [readable_value(value) for value in pd.unique(bad.astype(str))[:EXAMPLES]],
    }
    return parsed[~offending], change


def null_fraction(missing: tuple[int, int], rows: tuple[int, int], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the shares of missing values and whether they moved by `null_change`, beyond noise."""
    reference, current = (count / total if total else 0.0 for count, total in zip(missing, rows, strict=True))
    change = current - reference
    p_value = two_proportions_pvalue((missing[0], rows[0]), (missing[1], rows[1]))
    return {
        "reference": reference,
        "current": current,
        "change": change,
        "p_value": p_value,
        "drift": abs(change) >= settings["null_change"] and p_value < settings["p_value"],
    }


def compare_column(
    reference: pd.Series, current: pd.Series, settings: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compare one column; return its result and the data for its plot."""
    kind = "numeric" if is_numeric(reference) else series_kind(reference, settings["max_categories"])
    if kind == "datetime":
        return _compare_times(reference, current, settings)
    current, type_change = align_type(reference, current)
    if is_numeric(reference):
        result, plot = _compare_numbers(reference, current, settings)
    else:
        nulls = null_fraction(
            (int(reference.isna().sum()), int(current.isna().sum())), _rows(reference, current), settings
        )
        reference, current = reference.dropna(), current.dropna()
        if kind == "text":
            # Free text hardly repeats a value, so its values are not categories: compare their lengths.
            lengths = [
                np.sort(values.astype(str).str.len().to_numpy(dtype=np.float64)) for values in (reference, current)
            ]
            result, plot = _numeric_result(*lengths, settings, nulls, kind="text")
        else:
            result, plot = _categorical_result(reference.astype(str), current.astype(str), settings, nulls)
    if type_change:
        result["type_change"] = type_change
        result["drift"] = True
    return result, plot


def _compare_times(
    reference: pd.Series, current: pd.Series, settings: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compare a time column as instants (seconds since 1970, UTC); a cell that is no time is a type change."""
    before, after = parse_times(reference), parse_times(current)
    missing = (int(reference.isna().sum()), int(current.isna().sum()))
    nulls = null_fraction(missing, _rows(reference, current), settings)
    seconds = [np.sort((times.dropna() - EPOCH).dt.total_seconds().to_numpy(np.float64)) for times in (before, after)]
    result, plot = _numeric_result(*seconds, settings, nulls, kind="datetime")
    offending = current.notna() & after.isna()
    if offending.any():
        result["type_change"] = {
            "reference": "datetime",
            "current": "text",
            "unparsed": int(offending.sum()),
            "unparsed_share": float(offending.mean()),
            "examples": [readable_value(value) for value in pd.unique(current[offending].astype(str))[:EXAMPLES]],
        }
        result["drift"] = True
    return result, plot


def _rows(reference: pd.Series, current: pd.Series) -> tuple[int, int]:
    return len(reference), len(current)


def _compare_numbers(
    reference: pd.Series, current: pd.Series, settings: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = _rows(reference, current)
    reference_values, current_values = sorted_finite(reference), sorted_finite(current)
    nulls = null_fraction((rows[0] - reference_values.size, rows[1] - current_values.size), rows, settings)
    codes = distinct_at_most(reference_values, settings["categorical_max_values"])
    if codes is None:
        return _numeric_result(reference_values, current_values, settings, nulls)
    # A handful of distinct numbers in the reference (flags, codes) is compared as categories,
    # so a code the reference never had is reported as an unseen category.
    labels = [pd.Series(values).map(readable_value) for values in (reference_values, current_values)]
    return _categorical_result(*labels, settings, nulls)


def _numeric_result(
    reference: np.ndarray,
    current: np.ndarray,
    settings: Mapping[str, Any],
    nulls: dict[str, Any],
    kind: str = "numeric",
) -> tuple[dict[str, Any], dict[str, Any]]:
    rule = settings["numeric"]
    effect = p_value = None
    bound = False
    if reference.size and current.size:
        effect = numeric_effect(rule["method"], reference, current, settings["psi_bins"])
        if effect >= rule["threshold"]:  # the test costs most on large samples; below the threshold it cannot matter
            p_value, bound = _ks_p_value(reference, current, effect, rule["method"], settings["p_value"])
    result = _decide(kind, rule, "ks", effect, p_value, settings, nulls)
    if bound:
        result["p_value_is_bound"] = True  # the p-value is at most this; the exact value was not needed
    result["summary"] = number_summary(reference, current)
    return result, histogram(reference, current)


def _ks_p_value(
    reference: np.ndarray, current: np.ndarray, effect: float, method: str, threshold: float
) -> tuple[float, bool]:
    """Return the KS p-value, or an upper bound of it when that bound already decides (and True)."""
    if method == "wasserstein":
        bound = ks_pvalue_bound(reference, current, effect * float(np.std(reference)))
        if bound is not None and bound < threshold:
            return bound, True
    return ks_test(reference, current)[1], False


def _categorical_result(
    reference: pd.Series, current: pd.Series, settings: Mapping[str, Any], nulls: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    rule = settings["categorical"]
    counts = pd.concat([reference.value_counts(), current.value_counts()], axis=1, keys=["reference", "current"])
    counts = counts.fillna(0)
    reference_counts, current_counts = counts["reference"].to_numpy(float), counts["current"].to_numpy(float)
    effect = p_value = None
    if len(reference) and len(current):
        effect = categorical_effect(rule["method"], reference_counts, current_counts)
        p_value = chi_squared_pvalue(reference_counts, current_counts)
    result = _decide("categorical", rule, "chisquare", effect, p_value, settings, nulls)
    categories = list(counts.index)
    result["unseen"] = unseen(categories, reference_counts, current_counts, settings)
    result["drift"] = result["drift"] or result["unseen"]["drift"]
    result["summary"] = category_summary(categories, reference_counts, current_counts)
    return result, bars(categories, reference_counts, current_counts)


def unseen(
    categories: list[Any], reference_counts: np.ndarray, current_counts: np.ndarray, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the categories of the current data absent from the reference, with their share."""
    new = (reference_counts == 0) & (current_counts > 0)
    total = max(current_counts.sum(), 1)
    share = float(current_counts[new].sum() / total)
    order = np.argsort(-current_counts[new], kind="stable")[:EXAMPLES]
    names, counts = np.asarray(categories, dtype=object)[new], current_counts[new]
    p_value = unseen_pvalue(int(current_counts[new].sum()), int(current_counts.sum()), int(reference_counts.sum()))
    return {
        "share": share,
        "count": int(new.sum()),
        "values": [{"value": str(names[i]), "share": float(counts[i] / total)} for i in order],
        "p_value": p_value,
        "drift": share > 0 and share >= settings["unseen_share"] and p_value < settings["p_value"],
    }


def _decide(
    kind: str,
    rule: Mapping[str, Any],
    test: str,
    effect: float | None,
    p_value: float | None,
    settings: Mapping[str, Any],
    nulls: dict[str, Any],
) -> dict[str, Any]:
    large = effect is not None and effect >= rule["threshold"]
    significant = p_value is not None and p_value < settings["p_value"]
    return {
        "type": kind,
        "method": rule["method"],
        "statistic": effect,
        "threshold": rule["threshold"],
        "test": test,
        "p_value": p_value,
        "distribution_drift": bool(large and significant),
        "drift": bool((large and significant) or nulls["drift"]),
        "null_fraction": nulls,
    }


def missing_column(reference: pd.Series) -> dict[str, Any]:
    """Return the result for a feature absent from the current data: all of its values are missing."""
    reference_missing = float(reference.isna().mean()) if len(reference) else 0.0
    return {
        "type": "numeric" if is_numeric(reference) else "categorical",
        "method": "missing",
        "statistic": None,
        "threshold": None,
        "test": None,
        "p_value": None,
        "distribution_drift": False,
        "drift": True,
        "null_fraction": {"reference": reference_missing, "current": 1.0, "change": 1.0 - reference_missing},
    }
