"""The profiler: column kinds as pandas reads them, and the suite it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import kinds, profile

SETTINGS = {**profile.DEFAULTS, "max_categories": 5}


def pandas_kind(values: pd.Series, max_categories: int) -> str:
    """The kind of a column as train and drift see it, from what pandas.read_csv reads."""
    return kinds.series_kind(values, max_categories)


@pytest.fixture
def tricky_csv(tmp_path: Path) -> Path:
    rows = 12
    columns = {
        "price with nulls": ["1.5", "", "3", "NA", "-2.25", "1e3", "+4", ".5", "7.", "nan", "8", "9"],
        "count": [str(number) for number in range(rows)],
        "count with gaps": ["1", "", "3", "", "5", "6", "7", "8", "9", "10", "11", "12"],
        "flag": ["True", "False"] * 6,
        "flag with gaps": ["true", "", "false", "TRUE", "FALSE", "", "true", "true", "false", "", "true", "false"],
        "plan": ["basic", "pro", "", "basic", "team", "pro", "basic", "N/A", "pro", "team", "basic", "pro"],
        "code": ["A1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
        "free text": [f"note number {number}" for number in range(rows)],
        "booked": [f"2024-01-0{1 + row % 9} 10:1{row % 10}:00" for row in range(rows - 1)] + [""],
        "booked with offsets": ["2024-03-31T01:30:00+02:00", "2024-03-31", "2024-03-31T23:59:59.123456789Z"] * 4,
        "zone": [f"Zone {row % 6}" for row in range(rows)],  # 6 > max_categories values, each on 2 rows
        "not a date": ["2024-02-30"] + ["2024-01-01"] * 11,  # February 30th: text, not a time
    }
    lines = [",".join(f'"{name}"' for name in columns)]
    lines += [",".join(values[row] for values in columns.values()) for row in range(rows)]
    path = tmp_path / "tricky.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_column_kinds_match_what_pandas_reads(tricky_csv: Path) -> None:
    columns = profile.read_columns(tricky_csv)
    frame = pd.read_csv(tricky_csv)
    kinds = {name: profile.column_kind(values, SETTINGS["max_categories"]) for name, values in columns.items()}
    expected = {name: pandas_kind(frame[name], SETTINGS["max_categories"]) for name in frame.columns}
    assert kinds == expected
    assert kinds["price with nulls"] == "numeric"
    assert kinds["flag with gaps"] == "boolean"
    assert kinds["code"] == "text"
    assert kinds["booked"] == kinds["booked with offsets"] == "datetime"
    assert kinds["zone"] == kinds["not a date"] == "categorical"


def test_synthetic_table_kinds_match_pandas(tmp_path: Path, task_data: pd.DataFrame) -> None:
    path = tmp_path / "data.csv"
    task_data.to_csv(path, index=False)
    columns, frame = profile.read_columns(path), pd.read_csv(path)
    for name, values in columns.items():
        assert profile.column_kind(values, 20) == pandas_kind(frame[name], 20), name


def test_numeric_column_gets_type_range_and_nulls() -> None:
    expectations = profile.column_expectations("age", ["10", "20", "", "30"], profile.DEFAULTS)
    by_type = {item["type"]: item["kwargs"] for item in expectations}
    assert by_type["expect_column_values_to_be_in_type_list"]["type_list"] == profile.NUMERIC_TYPES
    between = by_type["expect_column_values_to_be_between"]
    assert between["min_value"] == pytest.approx(10 - 2)  # 10% of the observed range on each side
    assert between["max_value"] == pytest.approx(30 + 2)
    assert by_type["expect_column_values_to_not_be_null"]["mostly"] == pytest.approx(1 - (0.25 + 0.05))
    assert all(item["meta"] == {"kind": "numeric", "observed_null_fraction": 0.25} for item in expectations)


def test_constant_numeric_column_still_gets_a_margin() -> None:
    expectations = profile.column_expectations("rate", ["5", "5"], profile.DEFAULTS)
    between = next(item["kwargs"] for item in expectations if item["type"] == "expect_column_values_to_be_between")
    assert between["min_value"] < 5 < between["max_value"]


def test_categorical_column_lists_its_values() -> None:
    expectations = profile.column_expectations("plan", ["pro", "basic", "pro", ""], SETTINGS)
    value_set = next(item["kwargs"]["value_set"] for item in expectations if "value_set" in item["kwargs"])
    assert value_set == ["basic", "pro"]


def test_text_column_only_checks_nulls() -> None:
    values = [f"free text {number}" for number in range(10)]
    expectations = profile.column_expectations("note", values, SETTINGS)
    assert [item["type"] for item in expectations] == ["expect_column_values_to_not_be_null"]


def test_time_column_gets_its_type_and_a_lower_bound_in_utc() -> None:
    values = ["2024-01-01 00:00:00", "2024-01-11T00:00:00+02:00", "", "2024-01-06"]
    expectations = profile.column_expectations("booked", values, profile.DEFAULTS)
    by_type = {item["type"]: item["kwargs"] for item in expectations}
    assert by_type["expect_column_values_to_be_in_type_list"]["type_list"] == profile.DATETIME_TYPES
    # The span is 9 days 22 hours (the offset moves the last one back two hours): 10% of it is 23h48m.
    assert by_type["expect_column_values_to_be_between"] == {
        "column": "booked",
        "min_value": "2023-12-31T00:12:00.000000",
    }
    assert all(item["meta"]["kind"] == "datetime" for item in expectations)


def test_many_valued_category_is_not_listed_and_not_text() -> None:
    values = [f"zone {number % 30}" for number in range(90)]  # 30 values > max_categories, 3 rows each
    expectations = profile.column_expectations("zone", values, SETTINGS)
    assert [item["type"] for item in expectations] == ["expect_column_values_to_not_be_null"]
    assert expectations[0]["meta"]["kind"] == "categorical"


def test_column_with_no_values_gets_no_null_check() -> None:
    expectations = profile.column_expectations("unused", ["", "NA", ""], profile.DEFAULTS)
    assert "expect_column_values_to_not_be_null" not in [item["type"] for item in expectations]


def test_mostly_null_column_allows_its_nulls_plus_the_margin() -> None:
    expectations = profile.column_expectations("rare", ["", "", "", "", "1"], profile.DEFAULTS)
    not_null = next(item["kwargs"] for item in expectations if item["type"] == "expect_column_values_to_not_be_null")
    assert not_null["mostly"] == pytest.approx(1 - (0.8 + 0.05))


def test_table_expectations_fix_the_columns_and_a_minimum_row_count() -> None:
    suite = profile.profile_columns({"a": ["1"] * 10, "b b": ["x"] * 10}, {"row_count_margin": 0.5})
    table = {item["type"]: item["kwargs"] for item in suite["expectations"][:2]}
    assert table["expect_table_columns_to_match_set"] == {"column_set": ["a", "b b"], "exact_match": True}
    assert table["expect_table_row_count_to_be_between"] == {"min_value": 5, "max_value": None}
    assert suite["meta"]["profiled_rows"] == 10


def test_ragged_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3 has 1 fields, the header has 2"):
        profile.read_columns(path)


def test_main_writes_the_suite(project, task_data: pd.DataFrame) -> None:
    data = project.use_synthetic(task_data)
    assert profile.main(["--data", str(data), "--suite", "expectations/suite.json"]) == 0
    suite = json.loads(Path("expectations/suite.json").read_text(encoding="utf-8"))
    assert suite["meta"]["settings"] == project.params["profile"]
    assert suite["expectations"][0]["kwargs"]["column_set"] == list(task_data.columns)


def test_main_with_empty_file_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    Path("empty.csv").write_text("", encoding="utf-8")
    assert profile.main(["--data", "empty.csv", "--suite", "suite.json"]) == 2
    assert capsys.readouterr().err == "error: empty.csv: the file is empty or has no header row\n"
    assert not Path("suite.json").exists()


def test_main_with_missing_file_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    assert profile.main(["--data", "missing.csv", "--suite", "suite.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.csv" in err
    assert err.count("\n") == 1


def between_of(expectations: list[dict]) -> dict:
    return next(item["kwargs"] for item in expectations if item["type"] == "expect_column_values_to_be_between")


@pytest.mark.parametrize(
    ("values", "low"),
    [
        (["0", "5", "10"], 0.0),  # the margin would give -1
        (["0", "0"], 0.0),  # a constant zero
        (["1", "", "3"], 0.8),  # 1 - 0.1 * 2 stays positive: kept
        (["-1", "0", "1"], -1.2),  # a column with a negative value keeps its margin below
    ],
)
def test_range_of_a_never_negative_column_does_not_go_below_zero(values: list[str], low: float) -> None:
    between = between_of(profile.column_expectations("amount", values, profile.DEFAULTS))
    assert between["min_value"] == pytest.approx(low)


def write_csv(path: Path, columns: dict[str, list[str]]) -> Path:
    lines = [",".join(columns)] + [",".join(row) for row in zip(*columns.values(), strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_one_column_is_profiled_again_and_hand_edits_of_the_others_are_kept(project) -> None:
    data = write_csv(Path("data.csv"), {"age": ["20", "30", "40"], "plan": ["a", "b", "a"], "score": ["1", "2", "3"]})
    assert profile.main(["--data", str(data), "--suite", "suite.json"]) == 0
    suite = json.loads(Path("suite.json").read_text(encoding="utf-8"))
    for item in suite["expectations"]:  # a person widens the range of `score` by hand
        if item["kwargs"].get("column") == "score" and "max_value" in item["kwargs"]:
            item["kwargs"]["max_value"] = 100
            item["meta"]["note"] = "scores up to 100 are valid"
    Path("suite.json").write_text(json.dumps(suite), encoding="utf-8")
    write_csv(data, {"age": ["20", "30", "90"], "plan": ["a", "b", "c"], "score": ["1", "2", "3"]})

    assert profile.main(["--data", str(data), "--suite", "suite.json", "--column", "age", "--column", "plan"]) == 0
    updated = json.loads(Path("suite.json").read_text(encoding="utf-8"))
    by_column = {
        name: [item for item in updated["expectations"] if item["kwargs"].get("column") == name]
        for name in ("age", "plan", "score")
    }
    assert between_of(by_column["age"])["max_value"] == pytest.approx(90 + 7)
    assert next(item["kwargs"]["value_set"] for item in by_column["plan"] if "value_set" in item["kwargs"]) == [
        "a",
        "b",
        "c",
    ]
    assert by_column["score"] == [item for item in suite["expectations"] if item["kwargs"].get("column") == "score"]
    assert between_of(by_column["score"])["max_value"] == 100
    assert [item["kwargs"].get("column") for item in updated["expectations"]] == [
        item["kwargs"].get("column") for item in suite["expectations"]
    ]  # same order: the new expectations take the place of the old ones


def test_a_new_column_is_added_to_the_table_columns(project) -> None:
    suite = profile.profile_columns({"age": ["1", "2"]})
    updated = profile.reprofile_columns(suite, {"age": ["1", "2"], "city": ["x", "y"]}, ["city"])
    assert updated["expectations"][0]["kwargs"]["column_set"] == ["age", "city"]
    assert suite["expectations"][0]["kwargs"]["column_set"] == ["age"]  # the input is not changed
    assert {item["kwargs"].get("column") for item in updated["expectations"][-2:]} == {"city"}


def test_column_not_in_the_data_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_csv(Path("data.csv"), {"age": ["1", "2"], "plan": ["a", "b"]})
    assert profile.main(["--data", str(data), "--suite", "suite.json"]) == 0
    before = Path("suite.json").read_text(encoding="utf-8")
    capsys.readouterr()
    assert profile.main(["--data", str(data), "--suite", "suite.json", "--column", "<b>agee"]) == 2
    assert capsys.readouterr().err == "error: column '<b>agee' is not in the data; its columns are: 'age', 'plan'\n"
    assert Path("suite.json").read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "suite.json: no suite to update; run `make suite` without COLUMN to create one"),
        ("{broken", "suite.json: not valid JSON"),
        ("[]", "suite.json: not a suite; expected an object with an 'expectations' list"),
    ],
)
def test_column_without_a_usable_suite_is_one_line_error(
    project, capsys: pytest.CaptureFixture[str], text: str | None, message: str
) -> None:
    data = write_csv(Path("data.csv"), {"age": ["1", "2"]})
    if text is not None:
        Path("suite.json").write_text(text, encoding="utf-8")
    assert profile.main(["--data", str(data), "--suite", "suite.json", "--column", "age"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}")
    assert err.count("\n") == 1


def test_bad_params_are_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    project.params["profile"]["range_margin"] = -1
    project.save_params()
    data = write_csv(Path("data.csv"), {"age": ["1", "2"]})
    assert profile.main(["--data", str(data), "--suite", "suite.json"]) == 2
    assert capsys.readouterr().err == "error: params.yaml: profile.range_margin = -1: must be a number >= 0\n"
    assert not Path("suite.json").exists()
