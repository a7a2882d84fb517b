"""What a column is: one rule for the suite, training and drift; times parsed as UTC instants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.features import DatetimeFeatures
from {{ cookiecutter.package_name }}.loop import kinds


@pytest.mark.parametrize(
    ("cells", "rows", "kind"),
    [
        (["1", "2.5", "-3e2"], 3, "numeric"),
        (["true", "False"], 9, "boolean"),
        (["2019-03-23", "2019-03-23 20:21:09", "2019-03-23T20:21:09.123Z", "2019-03-23T20:21+01:00"], 4, "datetime"),
        (["2019-03-23", "2019-02-30"], 2, "categorical"),  # February 30th is no time
        (["03/23/2019", "03/24/2019"], 2, "categorical"),  # not ISO 8601: month or day first is a guess
        ([f"zone {number}" for number in range(70)], 140, "categorical"),  # many values, each on 2 rows
        ([f"zone {number}" for number in range(70)], 139, "text"),  # fewer repeats: free text
        (["a", "b"], 2, "categorical"),  # few values: categories, however rare
        ([], 0, "categorical"),
    ],
)
def test_kind_of(cells: list[str], rows: int, kind: str) -> None:
    assert kinds.kind_of(cells, rows, max_categories=20) == kind


def test_a_series_has_the_kind_of_its_csv_cells() -> None:
    assert kinds.series_kind(pd.Series([True, None, False], dtype=object), 20) == "boolean"
    assert kinds.series_kind(pd.Series([1, None, 3], dtype="Int64"), 20) == "numeric"
    assert kinds.series_kind(pd.Series(["2024-01-01", None]), 20) == "datetime"
    assert kinds.series_kind(pd.Series(pd.to_datetime(["2024-01-01"])), 20) == "datetime"


def test_times_are_utc_instants_and_anything_else_is_missing() -> None:
    cells = pd.Series(["2024-03-31T01:30:00+02:00", "2024-03-30 23:30", "2024-03-30", None, "soon", 5, "2024-13-01"])
    parsed = kinds.parse_times(cells)
    expected = ("2024-03-30 23:30", "2024-03-30 23:30", "2024-03-30")
    assert list(parsed[:3]) == [pd.Timestamp(text, tz="UTC") for text in expected]
    assert parsed[3:].isna().all()


def test_time_features_are_numbers_with_gaps_for_the_imputer() -> None:
    frame = pd.DataFrame({"booked": ["1970-01-02T06:30:00Z", "2024-03-31T01:30:00+02:00", None, "not a time"]})
    features = DatetimeFeatures().fit(frame)
    values = features.transform(frame)
    assert list(features.get_feature_names_out()) == [
        "booked_days_since_1970", "booked_hour", "booked_weekday", "booked_month"
    ]  # fmt: skip
    assert values[0].tolist() == pytest.approx([1.0 + 6.5 / 24, 6.5, 4.0, 1.0])  # a Friday in January
    assert values[1].tolist() == pytest.approx([19812.979166, 23.5, 5.0, 3.0], rel=1e-6)  # Saturday 23:30 UTC
    assert np.isnan(values[2:]).all()
