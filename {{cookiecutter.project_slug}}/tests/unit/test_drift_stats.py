"""The drift statistics equal scipy's or hand-computed values; column decisions follow the settings."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from {{ cookiecutter.package_name }} import drift_columns, drift_stats

SIZES = [(1000, 1000), (1000, 500), (999, 1000), (37, 1013), (1, 50), (5000, 3), (12_000, 15_001)]
SETTINGS = {
    "small_sample_rows": 1000,
    "categorical_max_values": 5,
    "max_categories": 20,
    "null_change": 0.1,
    "psi_bins": 10,
    "numeric": {"large": {"method": "wasserstein", "threshold": 0.1}, "small": {"method": "ks", "threshold": 0.05}},
    "categorical": {
        "large": {"method": "jensenshannon", "threshold": 0.1},
        "small": {"method": "chisquare", "threshold": 0.05},
    },
}


def samples(n: int, m: int, seed: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    reference, current = rng.normal(0, 1, n), rng.normal(0.2, 1.3, m)
    if ties:  # few distinct values, shared by both samples
        reference, current = np.round(reference * 2), np.round(current * 2)
    return np.sort(reference), np.sort(current)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_wasserstein_equals_scipy(n, m, ties):
    reference, current = samples(n, m, seed=n + m, ties=ties)
    expected = stats.wasserstein_distance(reference, current)
    assert drift_stats.wasserstein(reference, current) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(("n", "m"), [(1000, 1000), (1000, 600), (997, 1009), (40, 7), (3, 3000)])
def test_wasserstein_in_small_chunks_without_the_short_path_equals_scipy(n, m):
    reference, current = samples(n, m, seed=1, ties=n == 1000)
    expected = stats.wasserstein_distance(reference, current)
    result = drift_stats.wasserstein(reference, current, chunk=16, short_period=0)
    assert result == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_normalised_wasserstein_divides_by_the_reference_standard_deviation():
    reference, current = samples(2000, 1500, seed=3)
    expected = stats.wasserstein_distance(reference, current) / np.std(reference)
    assert drift_stats.normalised_wasserstein(reference, current) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(("n", "m"), SIZES)
def test_ks_equals_scipy(n, m, ties):
    reference, current = samples(n, m, seed=n * m, ties=ties)
    expected = stats.ks_2samp(reference, current)
    statistic, pvalue = drift_stats.ks_test(reference, current)
    assert statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-9)
    assert pvalue == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-9)


def test_ks_p_value_equals_scipy_when_large_samples_agree():
    reference, current = samples(20_000, 30_000, seed=5)
    current = np.sort(current - 0.2) / 1.3
    expected = stats.ks_2samp(reference, current)
    assert drift_stats.ks_test(reference, current) == pytest.approx((expected.statistic, expected.pvalue), abs=1e-9)


def test_psi_of_hand_computed_bins():
    # Median 2.5 splits the reference 2 | 2 and the current 1 | 3:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.25 ln 3
    psi = drift_stats.psi(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 4, 5]), bins=2)
    assert psi == pytest.approx(0.25 * math.log(3), abs=1e-12)


def test_psi_of_counts_floors_empty_bins():
    assert drift_stats.psi_from_counts(np.array([50, 50]), np.array([25, 75])) == pytest.approx(0.25 * math.log(3))
    assert drift_stats.psi_from_counts(np.array([10, 30]), np.array([1, 3])) == 0
    floored = (0.5 - 1) * math.log(0.5 / 1) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert drift_stats.psi_from_counts(np.array([100, 0]), np.array([50, 50])) == pytest.approx(floored)


def test_jensen_shannon_of_hand_computed_cases():
    assert drift_stats.jensen_shannon(np.array([5, 0]), np.array([0, 5])) == pytest.approx(math.sqrt(math.log(2)))
    half_and_half = math.sqrt(0.75 * math.log(4 / 3))  # middle (3/4, 1/4); KL terms 1/2 ln(4/3) and ln(4/3)
    assert drift_stats.jensen_shannon(np.array([1, 1]), np.array([2, 0])) == pytest.approx(half_and_half)
    assert drift_stats.jensen_shannon(np.array([3, 6, 1]), np.array([30, 60, 10])) == pytest.approx(0, abs=1e-12)


def test_jensen_shannon_equals_scipy():
    rng = np.random.default_rng(7)
    reference, current = rng.integers(0, 100, 12), rng.integers(0, 100, 12)
    assert drift_stats.jensen_shannon(reference, current) == pytest.approx(jensenshannon(reference, current))


def test_chi_squared_of_two_categories_is_the_two_proportion_z_test():
    reference, current = np.array([40, 60]), np.array([55, 45])
    pooled = (40 + 55) / 200
    z = (40 / 100 - 55 / 100) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert drift_stats.chi_squared_pvalue(reference, current) == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_chi_squared_of_one_category_is_no_evidence():
    assert drift_stats.chi_squared_pvalue(np.array([10]), np.array([3])) == 1.0


def test_thresholds_read_p_values_downwards_and_distances_upwards():
    assert drift_stats.is_drift("ks", 0.01, 0.05) and not drift_stats.is_drift("ks", 0.05, 0.05)
    assert drift_stats.is_drift("wasserstein", 0.1, 0.1) and not drift_stats.is_drift("wasserstein", 0.09, 0.1)


def test_a_few_distinct_numbers_are_compared_as_categories():
    reference, current = pd.Series([0, 1] * 1000), pd.Series([0, 1, 1, 1] * 500)
    result, plot = drift_columns.compare_column(reference, current, SETTINGS, reference_rows=2000)
    assert (result["type"], result["method"], result["drift"]) == ("categorical", "jensenshannon", True)
    assert plot["kind"] == "bars"


def test_missing_values_are_counted_and_can_drift_alone():
    reference = pd.Series(np.arange(2000.0))
    current = reference.where(reference % 4 != 0)  # same values, a quarter missing
    current.iloc[1] = np.inf
    result, _ = drift_columns.compare_column(reference, current, SETTINGS, reference_rows=2000)
    assert result["null_fraction"]["current"] == pytest.approx(0.2505)
    assert result["statistic"] < 0.1 and result["drift"]


def test_a_column_that_changed_type_is_compared_as_text():
    reference, current = pd.Series([1.0, 2.0] * 50), pd.Series(["1.0", "2.0", "n/a", "2.0"] * 25)
    result, _ = drift_columns.compare_column(reference, current, SETTINGS, reference_rows=100)
    assert result["type_changed"] == {"reference": "numeric", "current": "categorical"}
    assert result["method"] == "chisquare" and result["drift"]


def test_free_text_is_compared_by_length():
    rng = np.random.default_rng(0)

    def notes(rows: int, words: int) -> pd.Series:
        return pd.Series([f"ticket {i}: " + "word " * rng.poisson(words) for i in range(rows)])

    unchanged, _ = drift_columns.compare_column(notes(2000, 5), notes(1500, 5), SETTINGS, reference_rows=2000)
    longer, plot = drift_columns.compare_column(notes(2000, 5), notes(1500, 8), SETTINGS, reference_rows=2000)
    assert (unchanged["type"], unchanged["method"], unchanged["drift"]) == ("text", "wasserstein", False)
    assert longer["drift"] and plot["kind"] == "histogram"


def test_dataset_drifts_from_the_share_threshold():
    columns = {name: {"drift": name in "ab"} for name in "abcd"}
    assert drift_columns.dataset_summary(columns, 0.5)["dataset_drift"]
    assert not drift_columns.dataset_summary(columns, 0.75)["dataset_drift"]
