"""Validate: reading the suite, failures in words, and the exit codes of the command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import profile, validate


def test_load_suite_reads_a_suite(tmp_path: Path) -> None:
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "data", "expectations": []}), encoding="utf-8")
    assert validate.load_suite(path) == {"name": "data", "expectations": []}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "suite not found; create it with `make suite`"),
        ("{not json", "not valid JSON"),
        ('["a list"]', "not a suite; expected an object with an 'expectations' list"),
        ('{"expectations": {}}', "not a suite"),
    ],
)
def test_load_suite_names_the_problem(tmp_path: Path, text: str | None, message: str) -> None:
    path = tmp_path / "suite.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(validate.DataError, match=message):
        validate.load_suite(path)


@pytest.mark.parametrize(
    ("kind", "kwargs", "words"),
    [
        ("expect_column_values_to_be_between", {"min_value": 0.123456789, "max_value": 10}, "between 0.123457 and 10"),
        ("expect_table_row_count_to_be_between", {"min_value": 50, "max_value": None}, "at least 50"),
        ("expect_column_values_to_be_in_set", {"value_set": ["a", "b"]}, "one of ['a', 'b']"),
        ("expect_column_values_to_be_in_type_list", {"type_list": ["int64"]}, "a type in ['int64']"),
        ("expect_table_columns_to_match_set", {"column_set": ["a", "b", "c"]}, "exactly the 3 profiled columns"),
        ("expect_column_values_to_not_be_null", {"mostly": 0.95}, "at least 95% non-null"),
        ("expect_column_values_to_not_be_null", {}, "at least 100% non-null"),
        ("expect_something_else", {"column": "a"}, '{"column": "a"}'),
    ],
)
def test_describe_expected(kind: str, kwargs: dict, words: str) -> None:
    assert validate.describe_expected(kind, kwargs) == words


def test_exception_message_is_found_in_nested_info() -> None:
    info = {
        "first": {"raised_exception": False, "exception_message": None},
        "second": {"raised_exception": True, "exception_message": "Error: column 'x' does not exist"},
    }
    assert validate.exception_message(info) == "column 'x' does not exist"
    assert validate.exception_message({"raised_exception": False}) is None
    assert validate.exception_message(None) is None


@pytest.mark.parametrize(
    ("kwargs", "result", "error", "words"),
    [
        ({"column": "gone"}, {}, "boom", "the column is missing from the data"),
        ({"column_set": ["a", "gone"]}, {}, None, "missing columns ['gone'], unexpected columns ['new']"),
        ({"column": "a"}, {}, "cannot compare str and float", "could not be checked: cannot compare str and float"),
        ({}, {"observed_value": 12}, None, "observed 12"),
        (
            {"column": "a"},
            {
                "unexpected_count": 2,
                "element_count": 8,
                "unexpected_percent": 25.0,
                "partial_unexpected_list": [-1, 99],
            },
            None,
            "2 of 8 values (25.0%) fail, e.g. -1, 99",
        ),
    ],
)
def test_describe_observed(kwargs: dict, result: dict, error: str | None, words: str) -> None:
    assert validate.describe_observed(kwargs, result, ["a", "new"], error) == words


def test_failures_keep_only_failed_results_in_words() -> None:
    results = [
        {"success": True, "expectation_config": {"type": "expect_column_values_to_not_be_null", "kwargs": {}}},
        {
            "success": False,
            "expectation_config": {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "age", "min_value": 0, "max_value": 120, "batch_id": "prepared-data"},
            },
            "result": {"unexpected_count": 1, "element_count": 4, "unexpected_percent": 25.0},
            "exception_info": {"raised_exception": False},
        },
    ]
    assert validate.failures(results, ["age"]) == [
        {
            "column": "age",
            "expectation": "expect_column_values_to_be_between",
            "expected": "between 0 and 120",
            "observed": "1 of 4 values (25.0%) fail, e.g. ",
        }
    ]


def test_table_failures_are_reported_for_the_table() -> None:
    results = [
        {
            "success": False,
            "expectation_config": {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10}},
            "result": {"observed_value": 3},
        }
    ]
    [row] = validate.failures(results, [])
    assert row["column"] == "(table)"
    assert (row["expected"], row["observed"]) == ("at least 10", "observed 3")


def write_suite_for(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv("profiled.csv", index=False)
    suite = profile.profile_columns(profile.read_columns("profiled.csv"))
    path.write_text(json.dumps(suite), encoding="utf-8")


def test_main_fails_bad_data_with_readable_lines(
    project, task_data: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    write_suite_for(task_data, Path("suite.json"))
    bad = task_data.drop(columns=[task_data.columns[1]])
    project.write_csv(bad, "bad.csv")
    assert validate.main(["--suite", "suite.json", "--data", "bad.csv", "--report-dir", "reports/validation"]) == 1
    summary = json.loads(Path("reports/validation/summary.json").read_text(encoding="utf-8"))
    assert summary["success"] is False
    assert summary["rows"] == len(bad)
    assert summary["failed"] == len(summary["failures"]) >= 1
    err = capsys.readouterr().err
    assert err.startswith(f"validate: {summary['failed']} of {summary['evaluated']} expectations failed on bad.csv:")
    assert f"  - (table): expect_table_columns_to_match_set: expected exactly the {len(task_data.columns)}" in err
    assert f"missing columns ['{task_data.columns[1]}']" in err
    assert Path("reports/validation/docs/index.html").is_file()


def test_main_with_missing_suite_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate.main(["--suite", "nothing.json", "--data", "data.csv", "--report-dir", "reports"]) == 2
    assert capsys.readouterr().err == "error: nothing.json: suite not found; create it with `make suite`\n"


def test_main_with_missing_data_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    Path("suite.json").write_text('{"expectations": []}', encoding="utf-8")
    assert validate.main(["--suite", "suite.json", "--data", "missing.csv", "--report-dir", "reports"]) == 2
    assert capsys.readouterr().err == "error: missing.csv: file not found\n"
