"""Drift statistics: pure functions from a reference and a current sample to one number.

Two kinds of number decide a column: an effect size (Wasserstein distance in reference standard
deviations, Jensen-Shannon distance, PSI) that says whether a change is large enough to matter, and
a p-value (Kolmogorov-Smirnov, chi-squared, two proportions) that says whether it is more than the
noise of samples this size. Numeric samples are passed sorted: sorting is the expensive step, and
every numeric statistic here reuses it. Each statistic is exact (no sampling, no sketches).
"""

from __future__ import annotations

import math

import numpy as np

NUMERIC_METHODS = ("wasserstein", "psi")
CATEGORICAL_METHODS = ("jensenshannon", "psi")
MIN_EXPECTED = 5  # categories expected fewer times than this in the current sample are pooled for chi-squared
TAIL = 1e-10  # p-values below this are taken from the asymptotic distribution
KS_EXACT_MAX_ROWS = 10_000  # scipy.stats.ks_2samp(method="auto") computes the exact p-value up to this size
EXACT_CHEAP = 1_000_000  # n x m up to which the exact p-value is always cheap
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
    """Return the two-sample Kolmogorov-Smirnov statistic of two sorted samples, as scipy computes it.

    The empirical CDFs only change at sample values, and a sample's own CDF at its values is known
    from positions (the last of each run of ties), so each sample is only counted in the other one.
    """
    largest = 0.0
    for own, other in ((reference, current), (current, reference)):
        last = np.append(np.flatnonzero(own[1:] != own[:-1]), own.size - 1)  # last position of each run of ties
        gap = (last + 1) / own.size - counts_at_most(own[last], other) / other.size
        largest = max(largest, float(np.abs(gap).max()))
    return largest


def counts_at_most(values: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Return how many of the sorted `other` are <= each of the sorted, distinct `values`.

    Binary search runs for the shorter array into the longer one, which is several times faster
    than a million searches into a small batch.
    """
    if values.size <= other.size:
        return np.searchsorted(other, values, "right")
    below = np.searchsorted(values, other, "left")  # other[i] <= values[k] exactly when below[i] <= k
    return np.cumsum(np.bincount(below, minlength=values.size + 1))[: values.size]


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Return (statistic, p-value) of the two-sided KS test, equal to scipy.stats.ks_2samp(method="auto")."""
    from scipy import stats

    n, m = reference.size, current.size
    if max(n, m) <= KS_EXACT_MAX_ROWS and n * m <= EXACT_CHEAP:
        result = stats.ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    statistic = ks_statistic(reference, current)
    larger, smaller = max(n, m), min(n, m)
    effective = np.round(larger * smaller / (larger + smaller))  # scipy's asymptotic branch, same formula
    asymptotic = float(np.clip(stats.distributions.kstwo.sf(statistic, effective), 0.0, 1.0))
    # Far in the tail scipy's exact distribution is slow and equals the asymptotic value within
    # 1e-10, which no threshold can tell apart.
    if max(n, m) <= KS_EXACT_MAX_ROWS and asymptotic >= TAIL:
        return statistic, float(stats.ks_2samp(reference, current).pvalue)
    return statistic, asymptotic


def ks_pvalue_bound(reference: np.ndarray, current: np.ndarray, distance: float) -> float | None:
    """Return an upper bound of the KS p-value of two large sorted samples from their Wasserstein distance.

    The area between two CDFs is at most their largest gap times the range of the values, so the
    KS statistic D is at least W1 / range; the p-value scipy gives for large samples,
    kstwo.sf(D, n), is at most 2 exp(-2 n D^2) (the Dvoretzky-Kiefer-Wolfowitz inequality with
    Massart's constant). A bound below the threshold decides without the test, which on a million
    rows costs more than everything else. None for samples small enough for the exact test.
    """
    n, m = reference.size, current.size
    spread = max(reference[-1], current[-1]) - min(reference[0], current[0])
    if max(n, m) <= KS_EXACT_MAX_ROWS or not spread > 0:
        return None
    effective = np.round(max(n, m) * min(n, m) / (n + m))  # scipy's asymptotic branch, same formula
    least = min(distance / spread, 1.0)
    return float(min(1.0, 2 * math.exp(-2 * effective * least**2)))


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
    Categories expected fewer than MIN_EXPECTED times in the current sample are pooled into one,
    because rare categories make the chi-squared approximation raise false alarms.
    """
    from scipy.stats import chi2_contingency

    reference_counts = np.asarray(reference_counts, float)
    current_counts = np.asarray(current_counts, float)
    expected = (reference_counts + current_counts) / (reference_counts.sum() + current_counts.sum())
    rare = expected * current_counts.sum() < MIN_EXPECTED
    if rare.any() and not rare.all():
        reference_counts = np.append(reference_counts[~rare], reference_counts[rare].sum())
        current_counts = np.append(current_counts[~rare], current_counts[rare].sum())
    if len(reference_counts) < 2:
        return 1.0
    table = np.vstack([reference_counts, current_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    return float(chi2_contingency(table, correction=False).pvalue)


def two_proportions_pvalue(reference: tuple[int, int], current: tuple[int, int]) -> float:
    """Return the two-sided p-value that two shares (count, rows) are equal (pooled z-test).

    The normal tail is `erfc` from the standard library (scipy's `norm.sf` computes the same
    function): importing scipy.stats for it took longer than comparing a million rows.
    """
    (hits_a, rows_a), (hits_b, rows_b) = reference, current
    if not rows_a or not rows_b:
        return 1.0
    pooled = (hits_a + hits_b) / (rows_a + rows_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / rows_a + 1 / rows_b))
    if spread == 0:
        return 1.0
    return float(math.erfc(abs(hits_a / rows_a - hits_b / rows_b) / spread / math.sqrt(2)))


def unseen_pvalue(unseen_rows: int, current_rows: int, reference_rows: int) -> float:
    """Return the chance that `unseen_rows` rows of one kind all fall in the current sample by luck.

    Fisher's exact test, one-sided, of the table [[0, reference_rows], [unseen_rows, current_rows -
    unseen_rows]]: C(current, k) / C(current + reference, k). One row of a 50-row batch is no
    evidence; 30 rows of a 200-row batch that a 3,000-row reference never had are.
    """
    k, m, n = unseen_rows, current_rows, reference_rows
    if k == 0:
        return 1.0
    log_p = math.lgamma(m + 1) - math.lgamma(m - k + 1) - math.lgamma(m + n + 1) + math.lgamma(m + n - k + 1)
    return float(math.exp(log_p))


def numeric_effect(method: str, reference: np.ndarray, current: np.ndarray, psi_bins: int) -> float:
    """Return the effect size a numeric method compares with its threshold."""
    if method == "wasserstein":
        return normalised_wasserstein(reference, current)
    return psi(reference, current, psi_bins)


def categorical_effect(method: str, reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Return the effect size a categorical method compares with its threshold."""
    if method == "jensenshannon":
        return jensen_shannon(reference_counts, current_counts)
    return psi_from_counts(reference_counts, current_counts)
