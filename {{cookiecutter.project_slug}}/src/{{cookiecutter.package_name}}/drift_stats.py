"""Drift statistics: pure functions from a reference and a current sample to one number.

Numeric samples are passed sorted: sorting is the expensive step, and every numeric statistic
here reuses it. Each statistic is exact (no sampling, no sketches), so a decision never depends
on how many rows were read.
"""

from __future__ import annotations

import math

import numpy as np

NUMERIC_METHODS = ("wasserstein", "ks", "psi")
CATEGORICAL_METHODS = ("jensenshannon", "chisquare", "psi")
P_VALUE_METHODS = frozenset({"ks", "chisquare"})  # drift when p < threshold; the others when value >= threshold
KS_EXACT_MAX_ROWS = 10_000  # scipy.stats.ks_2samp(method="auto") computes the exact p-value up to this size
PSI_FLOOR = 1e-4  # share given to an empty bin, so that PSI stays finite
CHUNK = 1 << 20  # values handled per vectorised step, which bounds memory on very large columns
SHORT_PERIOD = 64  # step patterns up to this length are summed column by column (no gather)


def wasserstein(
    reference: np.ndarray, current: np.ndarray, chunk: int = CHUNK, short_period: int = SHORT_PERIOD
) -> float:
    """Return the first Wasserstein distance between two sorted samples (scipy.stats.wasserstein_distance).

    W1 is the area between the two quantile functions. With n and m values these are step functions
    that change at multiples of 1/n and 1/m, so the area is a weighted sum of |larger[i] - smaller[j]|
    over the merged steps, found by arithmetic: no search and no merge sort.
    """
    larger, smaller = (reference, current) if reference.size >= current.size else (current, reference)
    n, m = larger.size, smaller.size
    g = math.gcd(n, m)
    # In units of 1 / (n p), larger[i] covers (i p, (i + 1) p] and smaller[j] covers (j q, (j + 1) q].
    q, p = n // g, m // g
    if p + q - 1 <= short_period:
        return _wasserstein_short_period(larger.reshape(g, q), smaller.reshape(g, p)) / (n * p)
    total = 0.0
    for start in range(0, n, chunk):  # q >= p, so each larger[i] meets smaller[first] and maybe smaller[first + 1]
        stop = min(start + chunk, n)
        begin = np.arange(start, stop, dtype=np.int64) * p
        first = begin // q
        first_width = np.minimum((first + 1) * q - begin, p)
        values = larger[start:stop]
        total += float(np.sum(np.abs(values - smaller[first]) * first_width))
        second = np.minimum(first + 1, m - 1)
        total += float(np.sum(np.abs(values - smaller[second]) * (p - first_width)))
    return total / (n * p)


def _wasserstein_short_period(larger: np.ndarray, smaller: np.ndarray) -> float:
    """Sum the weighted gaps when the step pattern repeats every few values (equal or commensurate sizes)."""
    q, p = larger.shape[1], smaller.shape[1]
    steps = np.union1d(np.arange(1, q + 1) * p, np.arange(1, p + 1) * q)  # one period of the merged steps
    total = 0.0
    widths = np.diff(steps, prepend=0).tolist()
    larger_index, smaller_index = ((steps - 1) // p).tolist(), ((steps - 1) // q).tolist()
    for width, i, j in zip(widths, larger_index, smaller_index, strict=True):
        gaps = np.subtract(larger[:, i], smaller[:, j])
        total += width * float(np.sum(np.abs(gaps, out=gaps)))
    return total


def normalised_wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """Return the Wasserstein distance in units of the reference standard deviation."""
    distance = wasserstein(reference, current)
    spread = float(np.std(reference))
    if spread > 0:
        return distance / spread
    return 0.0 if distance == 0 else math.inf


def ks_statistic(reference: np.ndarray, current: np.ndarray) -> float:
    """Return the two-sample Kolmogorov-Smirnov statistic of two sorted samples, as scipy computes it."""
    n, m = reference.size, current.size
    largest = 0.0
    for points in (reference, current):  # the CDFs only change at sample values
        gap = np.searchsorted(reference, points, "right") / n - np.searchsorted(current, points, "right") / m
        largest = max(largest, float(np.abs(gap).max()))
    return largest


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Return (statistic, p-value) of the two-sided KS test, equal to scipy.stats.ks_2samp(method="auto")."""
    from scipy import stats

    n, m = reference.size, current.size
    if max(n, m) <= KS_EXACT_MAX_ROWS:  # scipy's exact distribution; cheap at this size
        result = stats.ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    statistic = ks_statistic(reference, current)
    larger, smaller = max(n, m), min(n, m)
    effective = np.round(larger * smaller / (larger + smaller))  # scipy's asymptotic branch, same formula
    return statistic, float(np.clip(stats.distributions.kstwo.sf(statistic, effective), 0.0, 1.0))


def psi_from_counts(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Return the population stability index of two count vectors over the same bins."""
    reference_share = np.maximum(np.asarray(reference_counts, float) / np.sum(reference_counts), PSI_FLOOR)
    current_share = np.maximum(np.asarray(current_counts, float) / np.sum(current_counts), PSI_FLOOR)
    return float(np.sum((current_share - reference_share) * np.log(current_share / reference_share)))


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Return the PSI of two sorted samples over bins holding equal shares of the reference."""
    edges = np.unique(np.quantile(reference, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    counts = [
        np.diff(np.searchsorted(values, edges, "right"), prepend=0, append=values.size)
        for values in (reference, current)
    ]
    return psi_from_counts(*counts)


def jensen_shannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Return the Jensen-Shannon distance (natural log, like scipy) between two count vectors."""
    from scipy.special import rel_entr

    reference_share = np.asarray(reference_counts, float) / np.sum(reference_counts)
    current_share = np.asarray(current_counts, float) / np.sum(current_counts)
    middle = (reference_share + current_share) / 2
    divergence = (np.sum(rel_entr(reference_share, middle)) + np.sum(rel_entr(current_share, middle))) / 2
    return float(np.sqrt(max(divergence, 0.0)))


def chi_squared_pvalue(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Return the p-value of the chi-squared test that both samples come from one category distribution.

    Without Yates' correction, so that for two categories it equals the two-proportion z-test.
    """
    from scipy.stats import chi2_contingency

    if len(reference_counts) < 2:
        return 1.0
    table = np.vstack([reference_counts, current_counts])
    return float(chi2_contingency(table, correction=False).pvalue)


def numeric_statistic(method: str, reference: np.ndarray, current: np.ndarray, psi_bins: int) -> float:
    """Return the value a numeric method compares with its threshold."""
    if method == "wasserstein":
        return normalised_wasserstein(reference, current)
    if method == "ks":
        return ks_test(reference, current)[1]
    return psi(reference, current, psi_bins)


def categorical_statistic(method: str, reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Return the value a categorical method compares with its threshold."""
    if method == "jensenshannon":
        return jensen_shannon(reference_counts, current_counts)
    if method == "chisquare":
        return chi_squared_pvalue(reference_counts, current_counts)
    return psi_from_counts(reference_counts, current_counts)


def is_drift(method: str, statistic: float, threshold: float) -> bool:
    """Apply a method's threshold: p-values drift below it, distances at or above it."""
    return statistic < threshold if method in P_VALUE_METHODS else statistic >= threshold
