"""The shipped expectation suite accepts the project's data and rejects broken copies in words."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import data, validate

SUITE = Path(__file__).parents[2] / "expectations" / "suite.json"


@pytest.fixture(scope="module")
def suite() -> dict[str, Any]:
    return validate.load_suite(SUITE)


def numeric_features(suite: dict[str, Any], target: str) -> list[str]:
    """Columns the suite checks for a numeric range (not a time's), without the target."""
    return [
        item["kwargs"]["column"]
        for item in suite["expectations"]
        if item["type"] == "expect_column_values_to_be_between"
        and item.get("meta", {}).get("kind", "numeric") == "numeric"
        and item["kwargs"].get("column") not in (None, target)
    ]


def check(frame: pd.DataFrame, suite: dict[str, Any], docs: Path) -> list[dict[str, str]]:
    results = validate.run_suite(frame, suite, docs)
    assert len(results) == len(suite["expectations"])
    return validate.failures(results, [str(column) for column in frame.columns])


def test_suite_matches_the_data_columns(suite: dict[str, Any], raw_data: pd.DataFrame) -> None:
    column_set = suite["expectations"][0]["kwargs"]["column_set"]
    assert column_set == list(raw_data.columns), "the data changed since the suite was made; run `make suite`"


def test_suite_accepts_the_project_data(suite: dict[str, Any], raw_data: pd.DataFrame, tmp_path: Path) -> None:
    failed = check(raw_data, suite, tmp_path / "docs")
    assert failed == [], "\n".join(f"{row['column']}: expected {row['expected']}; {row['observed']}" for row in failed)
    assert (tmp_path / "docs" / "index.html").is_file()


@pytest.fixture(scope="module")
def corrupted(
    suite: dict[str, Any],
    raw_data: pd.DataFrame,
    project_params: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Damage a copy of the data three ways and read it back; return (damaged columns, failures)."""
    target = project_params["data"]["target"]
    numeric = numeric_features(suite, target)
    others = [column for column in raw_data.columns if column not in (target, *numeric[:2])]
    if len(numeric) < 2 or not others:
        pytest.skip("the data needs two numeric feature columns and one more feature column for these checks")
    damaged = {"out of range": numeric[0], "text in numbers": numeric[1], "dropped": others[0]}
    frame = raw_data.copy()
    column = damaged["out of range"]
    frame[column] = frame[column].astype(float)
    frame.loc[frame.index[:5], column] = frame[column].max() + 1000 * (frame[column].std() + 1)
    frame[damaged["text in numbers"]] = frame[damaged["text in numbers"]].astype(object)
    frame.loc[frame.index[:3], damaged["text in numbers"]] = "not a number"
    frame = frame.drop(columns=[damaged["dropped"]])
    folder = tmp_path_factory.mktemp("corrupted")
    frame.to_csv(folder / "data.csv", index=False)
    frame = data.read_table(folder / "data.csv")  # as validate would see it
    return damaged, check(frame, suite, folder / "docs")


def rows_for(failures: list[dict[str, str]], column: str) -> dict[str, dict[str, str]]:
    return {row["expectation"]: row for row in failures if row["column"] == column}


def test_dropped_column_is_reported(corrupted: tuple[dict[str, str], list[dict[str, str]]]) -> None:
    damaged, failures = corrupted
    table = rows_for(failures, "(table)")["expect_table_columns_to_match_set"]
    assert table["observed"] == f"missing columns [{damaged['dropped']!r}], unexpected columns []"
    for row in rows_for(failures, damaged["dropped"]).values():
        assert row["observed"] == "the column is missing from the data"


def test_out_of_range_values_are_reported(corrupted: tuple[dict[str, str], list[dict[str, str]]]) -> None:
    damaged, failures = corrupted
    row = rows_for(failures, damaged["out of range"])["expect_column_values_to_be_between"]
    assert row["expected"].startswith("between ")
    assert row["observed"].startswith("5 of ") and " fail, e.g. " in row["observed"]


def test_text_in_a_numeric_column_is_reported(corrupted: tuple[dict[str, str], list[dict[str, str]]]) -> None:
    damaged, failures = corrupted
    rows = rows_for(failures, damaged["text in numbers"])
    assert rows["expect_column_values_to_be_in_type_list"]["expected"].startswith("a type in ['int8'")
    assert rows["expect_column_values_to_be_in_type_list"]["observed"].startswith("observed ")
    assert all(row["observed"] for row in rows.values())


def test_untouched_columns_pass(corrupted: tuple[dict[str, str], list[dict[str, str]]]) -> None:
    damaged, failures = corrupted
    assert {row["column"] for row in failures} <= {"(table)", *damaged.values()}


def test_corrupted_rows_are_readable_json(corrupted: tuple[dict[str, str], list[dict[str, str]]]) -> None:
    _, failures = corrupted
    assert failures
    for row in failures:
        assert set(row) == {"column", "expectation", "expected", "observed"}
        assert all(isinstance(value, str) and value for value in row.values())
    json.dumps(failures)


def test_missing_values_beyond_the_allowed_share_are_reported(
    suite: dict[str, Any], raw_data: pd.DataFrame, project_params: dict[str, Any], tmp_path: Path
) -> None:
    numeric = numeric_features(suite, project_params["data"]["target"])
    if not numeric:
        pytest.skip("the data has no numeric feature column")
    frame = raw_data.copy()
    frame[numeric[0]] = frame[numeric[0]].astype(float)  # an integer column with gaps reads as floats
    frame.loc[frame.index[: len(frame) // 2], numeric[0]] = np.nan
    row = rows_for(check(frame, suite, tmp_path / "docs"), numeric[0])["expect_column_values_to_not_be_null"]
    assert row["expected"].endswith("non-null")
