"""Describe a column in both samples: the figures and plot data a person reads next to the decision."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

PLOT_BINS = 30
PLOT_CATEGORIES = 20
TOP_CATEGORIES = 3
QUANTILES = {"p05": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}


def readable_value(value: Any) -> str:
    """Return a value as a short label: floats in up to six significant digits, 2.0 as 2."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return str(value)


def sorted_quantile(values: np.ndarray, share: float) -> float:
    """Return a quantile of a sorted array with linear interpolation, as numpy's default."""
    position = share * (values.size - 1)
    low = math.floor(position)
    high = min(low + 1, values.size - 1)
    return float(values[low] + (values[high] - values[low]) * (position - low))


def describe(values: np.ndarray) -> dict[str, float | int | None]:
    """Return count, mean, standard deviation and quantiles of a sorted sample."""
    if not values.size:
        return {"count": 0}
    summary: dict[str, float | int | None] = {
        "count": int(values.size),
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "min": float(values[0]),
        "max": float(values[-1]),
    }
    summary.update({name: sorted_quantile(values, share) for name, share in QUANTILES.items()})
    return summary


def number_summary(reference: np.ndarray, current: np.ndarray) -> dict[str, Any]:
    """Return both samples described, and how far the mean and median moved in reference standard deviations."""
    before, after = describe(reference), describe(current)
    spread = before.get("std") or 0.0
    moved = {}
    for name in ("mean", "median"):
        known = before.get(name) is not None and after.get(name) is not None and spread > 0
        moved[f"{name}_shift_sd"] = (after[name] - before[name]) / spread if known else None
    return {"reference": before, "current": after, **moved}


def category_summary(categories: list[Any], reference_counts: np.ndarray, current_counts: np.ndarray) -> dict[str, Any]:
    """Return the most common categories with their share in both samples."""
    reference_share = reference_counts / max(reference_counts.sum(), 1)
    current_share = current_counts / max(current_counts.sum(), 1)
    top = np.argsort(-(reference_share + current_share), kind="stable")[:TOP_CATEGORIES]
    largest = int(np.argmax(np.abs(current_share - reference_share))) if len(categories) else None
    return {
        "top": [
            {"value": str(categories[i]), "reference": float(reference_share[i]), "current": float(current_share[i])}
            for i in top
        ],
        "largest_change": None
        if largest is None
        else {
            "value": str(categories[largest]),
            "change": float(current_share[largest] - reference_share[largest]),
        },
        "categories": len(categories),
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
        "labels": [readable_value(categories[i]) for i in top],
        "reference": reference_share[top].tolist(),
        "current": current_share[top].tolist(),
    }
