"""The drift statistics equal scipy's or hand-computed values; column decisions follow the settings."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from {{ cookiecutter.package_name }}.loop.drift import columns as drift_columns
from {{ cookiecutter.package_name }}.loop.drift import stats as drift_stats
from {{ cookiecutter.package_name }}.loop.drift.verdict import share_check

SIZES = [(1000, 1000), (1000, 500), (999, 1000), (37, 1013), (1, 50), (5000, 3), (12_000, 15_001)]
SETTINGS = {
    "p_value": 0.01,
    "categorical_max_values": 5,
    "max_categories": 20,
    "null_change": 0.1,
    "unseen_share": 0.01,
    "psi_bins": 10,
    "numeric": {"method": "wasserstein", "threshold": 0.1},
    "categorical": {"method": "jensenshannon", "threshold": 0.1},
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


def test_a_few_distinct_numbers_are_compared_as_categories():
    reference, current = pd.Series([0, 1] * 1000), pd.Series([0, 1, 1, 1] * 500)
    result, plot = drift_columns.compare_column(reference, current, SETTINGS)
    assert (result["type"], result["method"], result["drift"]) == ("categorical", "jensenshannon", True)
    assert plot["kind"] == "bars"


def test_missing_values_are_counted_and_can_drift_alone():
    reference = pd.Series(np.arange(2000.0))
    current = reference.where(reference % 4 != 0)  # same values, a quarter missing
    current.iloc[1] = np.inf
    result, _ = drift_columns.compare_column(reference, current, SETTINGS)
    assert result["null_fraction"]["current"] == pytest.approx(0.2505)
    assert result["statistic"] < 0.1 and result["drift"]


def test_free_text_is_compared_by_length():
    rng = np.random.default_rng(0)

    def notes(rows: int, words: int) -> pd.Series:
        return pd.Series([f"ticket {i}: " + "word " * rng.poisson(words) for i in range(rows)])

    unchanged, _ = drift_columns.compare_column(notes(2000, 5), notes(1500, 5), SETTINGS)
    longer, plot = drift_columns.compare_column(notes(2000, 5), notes(1500, 8), SETTINGS)
    assert (unchanged["type"], unchanged["method"], unchanged["drift"]) == ("text", "wasserstein", False)
    assert longer["drift"] and plot["kind"] == "histogram"


def test_dataset_drifts_from_the_share_threshold():
    columns = {name: {"drift": name in "ab"} for name in "abcd"}
    assert share_check(columns, 0.5)["drift"]
    assert not share_check(columns, 0.75)["drift"]


def test_text_in_a_numeric_column_is_a_type_change_and_the_numbers_are_still_compared():
    rng = np.random.default_rng(1)
    reference = pd.Series(rng.normal(10, 2, 2000))
    current = pd.Series(rng.normal(16, 2, 300)).round(3).astype(object)
    current[[0, 5, 9, 11]] = ["n/a?", "3,5", "n/a?", "12 kg"]
    result, _ = drift_columns.compare_column(reference, current, SETTINGS)
    change = result["type_change"]
    assert (change["reference"], change["current"], change["unparsed"]) == ("numeric", "text", 4)
    assert change["examples"] == ["n/a?", "3,5", "12 kg"]
    assert result["type"] == "numeric" and result["distribution_drift"] and result["drift"]
    assert result["summary"]["median_shift_sd"] == pytest.approx(3, abs=0.3)
    assert result["null_fraction"]["current"] == 0  # junk cells are not counted as missing values


def test_a_type_change_drifts_even_when_the_numbers_that_parse_agree():
    reference = pd.Series(np.arange(1000.0))
    current = pd.Series([str(value) for value in np.arange(1000.0)] + ["oops"])
    result, _ = drift_columns.compare_column(reference, current, SETTINGS)
    assert not result["distribution_drift"] and result["drift"] and result["type_change"]["examples"] == ["oops"]


def test_numbers_where_the_reference_had_text_are_a_type_change():
    reference, current = pd.Series(["a", "b"] * 500), pd.Series([1.5, 2.5] * 100)
    result, _ = drift_columns.compare_column(reference, current, SETTINGS)
    assert result["type_change"]["reference"] == "text" and result["drift"]


def test_unseen_categories_are_reported_with_their_share():
    rng = np.random.default_rng(2)
    reference = pd.Series(rng.choice(["red", "green", "blue"], 1000))
    current = pd.Series(list(rng.choice(["red", "green", "blue"], 170)) + ["purple"] * 30)
    result, _ = drift_columns.compare_column(reference, current, SETTINGS)
    unseen = result["unseen"]
    assert unseen["drift"] and unseen["share"] == pytest.approx(0.15)
    assert unseen["values"] == [{"value": "purple", "share": pytest.approx(0.15)}]


def test_an_integer_code_the_reference_never_had_is_an_unseen_category():
    reference, current = pd.Series([1, 2, 3] * 300), pd.Series([1, 2, 3] * 60 + [4] * 20)
    result, _ = drift_columns.compare_column(reference, current, SETTINGS)
    assert result["type"] == "categorical" and result["unseen"]["values"][0]["value"] == "4"
    assert result["unseen"]["drift"]


def test_a_rare_value_missing_from_a_small_reference_is_not_an_alarm():
    rng = np.random.default_rng(3)
    values, shares = ["a", "b", "c", "rare"], [0.5, 0.3, 0.199, 0.001]
    reference = pd.Series(rng.choice(values, 500, p=shares)).replace("rare", "a")
    current = pd.Series(rng.choice(values, 100_000, p=shares))
    result, _ = drift_columns.compare_column(reference, current, SETTINGS)
    assert result["unseen"]["count"] == 1 and not result["unseen"]["drift"] and not result["drift"]


def test_a_small_batch_needs_a_significant_change_and_a_large_one_a_meaningful_change():
    rng = np.random.default_rng(4)
    reference = pd.Series(rng.lognormal(0, 1, 100_000))
    noisy, _ = drift_columns.compare_column(reference, pd.Series(rng.lognormal(0, 1, 50)), SETTINGS)
    trivial, _ = drift_columns.compare_column(reference, pd.Series(rng.lognormal(0.02, 1, 100_000)), SETTINGS)
    assert not noisy["drift"] and not trivial["drift"]
    assert noisy["statistic"] >= 0.1 and noisy["p_value"] >= 0.01  # large, but within the noise of 50 rows
    assert trivial["statistic"] < 0.1 and trivial["p_value"] is None  # too small to matter: no test needed
    ordered = [np.sort(rng.lognormal(shift, 1, 100_000)) for shift in (0, 0.02)]
    assert drift_stats.ks_test(*ordered)[1] < 0.01  # though a test alone would call it drift


def test_missing_share_drifts_only_beyond_noise():
    rng = np.random.default_rng(5)
    reference = pd.Series(np.where(rng.random(5000) < 0.3, np.nan, rng.normal(size=5000)))
    current = pd.Series(np.where(rng.random(20) < 0.45, np.nan, rng.normal(size=20)))
    result, _ = drift_columns.compare_column(reference, current, SETTINGS)
    assert not result["null_fraction"]["drift"]


def test_two_proportions_p_value_is_the_z_test():
    pooled = (30 + 60) / 300
    z = (30 / 100 - 60 / 200) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 200))
    assert drift_stats.two_proportions_pvalue((30, 100), (60, 200)) == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert drift_stats.two_proportions_pvalue((0, 100), (0, 50)) == 1.0


def test_chi_squared_pools_rare_categories():
    reference, current = np.array([500, 480, 10, 10]), np.array([50, 48, 1, 1])
    pooled = drift_stats.chi_squared_pvalue(reference, current)
    assert pooled == pytest.approx(drift_stats.chi_squared_pvalue(np.array([500, 480, 20]), np.array([50, 48, 2])))


def test_the_ks_bound_from_wasserstein_is_never_below_the_p_value():
    rng = np.random.default_rng(6)
    for shift, tail in [(0.1, 1), (0.3, 5), (0.05, 50)]:
        reference = np.sort(rng.standard_t(tail, 20_000))
        current = np.sort(rng.standard_t(tail, 15_000) + shift)
        bound = drift_stats.ks_pvalue_bound(reference, current, drift_stats.wasserstein(reference, current))
        assert bound >= drift_stats.ks_test(reference, current)[1]
    assert drift_stats.ks_pvalue_bound(reference[:500], current[:500], 0.5) is None  # small: the exact test


def test_a_large_shift_on_large_samples_is_decided_by_the_bound():
    rng = np.random.default_rng(7)
    reference, current = pd.Series(rng.normal(0, 1, 50_000)), pd.Series(rng.normal(0.5, 1, 40_000))
    result, _ = drift_columns.compare_column(reference, current, SETTINGS)
    assert result["drift"] and result["p_value_is_bound"] and result["p_value"] < 0.01
