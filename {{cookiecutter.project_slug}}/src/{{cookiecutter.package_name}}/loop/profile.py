"""Profile a CSV file into a Great Expectations suite (plain JSON).

This module uses only the standard library on purpose: the template's post-generation hook
imports it to write the first suite before the project's environment exists.
For each column it records the kind (kinds.py), the range with a margin (numbers, never below zero
for a column that has no negative value; times, a lower bound only), the allowed values (columns
with few distinct strings) and the null fraction; for the table, the columns and a minimum row
count. With `--column NAME` only that column is profiled again, and every other expectation of the
existing suite is kept as it is.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

from .errors import fail
from .kinds import canonical, kind_of, utc_instant
from .strict_json import dumps

# The strings pandas.read_csv reads as missing by default.
NULL_TOKENS = frozenset(
    [
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    ]
)
# What a time column holds once validate has parsed it to UTC (pandas' resolutions), or a parsed cell.
DATETIME_TYPES = [f"datetime64[{unit}]" for unit in ("ns", "us", "ms", "s")] + ["Timestamp"]
NUMERIC_TYPES = ["int8", "int16", "int32", "int64", "Int64", "float16", "float32", "float64", "Float64"]
DEFAULTS = {"range_margin": 0.1, "null_margin": 0.05, "max_categories": 20, "row_count_margin": 0.5}


def read_columns(path: str | Path) -> dict[str, list[str]]:
    """Read a CSV file into {column: [raw string values]}."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path}: the file is empty or has no header row")
        columns: dict[str, list[str]] = {name: [] for name in header}
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
            for name, value in zip(header, row, strict=True):
                columns[name].append(value)
    return columns


def column_kind(values: list[str], max_categories: int) -> str:
    """Return the column's kind (kinds.KINDS) from its cells as the CSV holds them."""
    present = [value for value in values if value not in NULL_TOKENS]
    return kind_of(set(present), len(present), max_categories)


def expectation(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {}}


def column_expectations(name: str, values: list[str], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the expectations for one column."""
    kind = column_kind(values, settings["max_categories"])
    present = [value for value in values if value not in NULL_TOKENS]
    result = []
    if kind == "numeric":
        numbers = [float(value) for value in present]
        finite = [number for number in numbers if math.isfinite(number)] or [0.0]
        low, high = min(finite), max(finite)
        margin = settings["range_margin"] * (high - low or abs(high) or 1.0)
        # The margin never makes a column that was never negative accept negative values.
        floor = 0.0 if min(numbers) >= 0 else -math.inf
        # An infinite value seen in the data leaves that side of the range open.
        bounds = {
            "min_value": max(low - margin, floor) if min(numbers) > -math.inf else None,
            "max_value": high + margin if max(numbers) < math.inf else None,
        }
        result.append(expectation("expect_column_values_to_be_in_type_list", column=name, type_list=NUMERIC_TYPES))
        result.append(expectation("expect_column_values_to_be_between", column=name, **bounds))
    elif kind == "datetime":
        moments = sorted(filter(None, map(utc_instant, set(present))))
        earliest = moments[0] - settings["range_margin"] * (moments[-1] - moments[0])
        result.append(expectation("expect_column_values_to_be_in_type_list", column=name, type_list=DATETIME_TYPES))
        # No upper bound: data that grows moves forward in time (docs/design-decisions.md).
        result.append(expectation("expect_column_values_to_be_between", column=name, min_value=canonical(earliest)))
    elif kind == "boolean":
        result.append(expectation("expect_column_values_to_be_in_set", column=name, value_set=[True, False]))
    elif kind == "categorical" and len(set(present)) <= settings["max_categories"]:
        result.append(expectation("expect_column_values_to_be_in_set", column=name, value_set=sorted(set(present))))
    null_fraction = 1 - len(present) / len(values) if values else 0.0
    allowed_nulls = min(1.0, null_fraction + settings["null_margin"])
    if allowed_nulls < 1.0:
        mostly = round(1.0 - allowed_nulls, 6)
        result.append(expectation("expect_column_values_to_not_be_null", column=name, mostly=mostly))
    for item in result:
        item["meta"] = {"kind": kind, "observed_null_fraction": round(null_fraction, 6)}
    return result


def profile_columns(columns: dict[str, list[str]], settings: dict[str, Any] | None = None, name: str = "data") -> dict:
    """Return a suite (as a JSON-ready dict) describing the given columns."""
    settings = {**DEFAULTS, **(settings or {})}
    rows = len(next(iter(columns.values()), []))
    expectations = [
        expectation("expect_table_columns_to_match_set", column_set=list(columns), exact_match=True),
        expectation(
            "expect_table_row_count_to_be_between",
            min_value=math.floor(rows * (1 - settings["row_count_margin"])),
            max_value=None,  # data may grow; a shrinking table is the suspicious change
        ),
    ]
    for column, values in columns.items():
        expectations.extend(column_expectations(column, values, settings))
    return {"name": name, "expectations": expectations, "meta": {"profiled_rows": rows, "settings": settings}}


def read_suite(path: str | Path) -> dict[str, Any]:
    """Read an existing suite, or raise ValueError saying how to create it."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no suite to update; run `make suite` without COLUMN to create one")
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise ValueError(f"{path}: not a suite; expected an object with an 'expectations' list")
    return suite


def with_columns(item: Any, names: list[str]) -> Any:
    """Return a table-columns expectation that also lists `names`; any other expectation unchanged."""
    kwargs = item.get("kwargs") if isinstance(item, dict) else None
    if not isinstance(kwargs, dict) or not isinstance(kwargs.get("column_set"), list):
        return item
    added = [name for name in names if name not in kwargs["column_set"]]
    return {**item, "kwargs": {**kwargs, "column_set": kwargs["column_set"] + added}} if added else item


def reprofile_columns(
    suite: dict[str, Any], columns: dict[str, list[str]], names: list[str], settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return `suite` with the expectations of the columns `names` profiled again; all others are kept as they are."""
    settings = {**DEFAULTS, **(settings or {})}
    for name in names:
        if name not in columns:
            raise ValueError(f"column {name!r} is not in the data; its columns are: {', '.join(map(repr, columns))}")
    expectations, done = [], set()
    for item in suite["expectations"]:
        kwargs = item.get("kwargs") if isinstance(item, dict) else None
        column = kwargs.get("column") if isinstance(kwargs, dict) else None
        if column not in names:
            expectations.append(with_columns(item, names))
        elif column not in done:  # the new expectations take the place of the first old one
            expectations.extend(column_expectations(column, columns[column], settings))
            done.add(column)
    for name in names:
        if name not in done:
            expectations.extend(column_expectations(name, columns[name], settings))
            done.add(name)
    return {**suite, "expectations": expectations}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="profile", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="CSV file to profile")
    parser.add_argument("--suite", required=True, help="where to write the suite JSON")
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        help="profile only this column again, keeping every other expectation of --suite; repeat for more",
    )
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    from .params import load_params, section

    try:
        settings = section(load_params(args.params), "profile")
        columns = read_columns(args.data)
        if args.column:
            suite = reprofile_columns(read_suite(args.suite), columns, args.column, settings)
        else:
            suite = profile_columns(columns, settings)
    except (OSError, ValueError) as error:  # ParamsError is a ValueError
        return fail(error, 2)
    Path(args.suite).parent.mkdir(parents=True, exist_ok=True)
    Path(args.suite).write_text(dumps(suite, indent=2) + "\n", encoding="utf-8")
    if args.column:
        print(f"updated {args.suite}: profiled {', '.join(map(repr, args.column))} again; other expectations kept")
    else:
        rows = suite["meta"]["profiled_rows"]
        print(f"wrote {args.suite}: {len(suite['expectations'])} expectations from {rows} rows")
    return 0
