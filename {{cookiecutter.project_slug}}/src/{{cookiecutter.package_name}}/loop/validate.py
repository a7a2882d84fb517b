"""Validate: check the prepared data against the Great Expectations suite.

Writes `summary.json` (one entry per failed expectation, in words, and the md5 of every input so a
reader can tell this run's verdict from a stale one) and the HTML to the report folder: GE's Data
Docs, sanitised, and our own report (data_docs.py). Prints each failure and exits 1 when any
expectation fails so that `dvc repro` stops before training on bad data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from .data import DataError, read_table
from .errors import fail
from .strict_json import dumps

HINT = (
    "hint: if this change of the data is deliberate, update the suite: `make suite` profiles every column again, "
    "`make suite COLUMN=<name>` profiles one column again and keeps the others, "
    "or edit that one expectation in {suite}"
)


def load_suite(path: str | Path) -> dict[str, Any]:
    """Read the suite JSON, or raise DataError naming the problem."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: suite not found; create it with `make suite`")
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise DataError(f"{path}: not a suite; expected an object with an 'expectations' list")
    return suite


def describe_expected(kind: str, kwargs: dict[str, Any]) -> str:
    """Say in words what an expectation asks for."""
    if "min_value" in kwargs or "max_value" in kwargs:
        low, high = (
            (f"{value:.6g}" if isinstance(value, int | float) else str(value)) if value is not None else None
            for value in (kwargs.get("min_value"), kwargs.get("max_value"))
        )
        return f"between {low} and {high}" if high is not None else f"at least {low}"
    if "value_set" in kwargs:
        return f"one of {kwargs['value_set']}"
    if "type_list" in kwargs:
        return f"a type in {kwargs['type_list']}"
    if "column_set" in kwargs:
        return f"exactly the {len(kwargs['column_set'])} profiled columns"
    if kind == "expect_column_values_to_not_be_null":
        return f"at least {kwargs.get('mostly', 1.0):.0%} non-null"
    return json.dumps(kwargs, default=str)


def exception_message(info: Any) -> str | None:
    """Find the first error message in GE's (possibly nested) exception info."""
    if isinstance(info, dict):
        if info.get("raised_exception") and info.get("exception_message"):
            return str(info["exception_message"]).removeprefix("Error: ")
        return next(filter(None, map(exception_message, info.values())), None)
    return None


def describe_observed(kwargs: dict[str, Any], result: dict[str, Any], columns: list[str], error: str | None) -> str:
    """Say in words what the data showed for a failed expectation."""
    if "column" in kwargs and kwargs["column"] not in columns:
        return "the column is missing from the data"
    if "column_set" in kwargs:
        missing = [name for name in kwargs["column_set"] if name not in columns]
        unexpected = [name for name in columns if name not in kwargs["column_set"]]
        return f"missing columns {missing}, unexpected columns {unexpected}"
    if error:
        return f"could not be checked: {error}"
    if "observed_value" in result:
        return f"observed {result['observed_value']}"
    if "unexpected_count" in result:
        examples = ", ".join(map(repr, result.get("partial_unexpected_list", [])[:5]))
        share = result.get("unexpected_percent") or 0.0
        counted = f"{result['unexpected_count']} of {result.get('element_count')} values ({share:.1f}%) fail"
        return f"{counted}, e.g. {examples}" if examples else counted
    return json.dumps(result, default=str)


def describe_result(item: dict[str, Any], columns: list[str]) -> dict[str, str]:
    """Turn one GE result (as a JSON dict) into a readable row; `columns` are the data's columns."""
    config = item["expectation_config"]
    kwargs = {key: value for key, value in config["kwargs"].items() if key != "batch_id"}
    return {
        "column": str(kwargs.get("column", "(table)")),
        "expectation": config["type"],
        "expected": describe_expected(config["type"], kwargs),
        "observed": describe_observed(
            kwargs, item.get("result") or {}, columns, exception_message(item.get("exception_info"))
        ),
    }


def failures(results: list[dict[str, Any]], columns: list[str]) -> list[dict[str, str]]:
    """Turn failed GE results (as JSON dicts) into readable rows; `columns` are the data's columns."""
    return [describe_result(item, columns) for item in results if not item.get("success")]


def file_md5(path: str | Path) -> str:
    """Return the md5 of a file's bytes, the content hash DVC records."""
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def input_hashes(data: list[str], suite: str) -> dict[str, str]:
    """Return {each data path: md5, "suite": md5 of the suite file}."""
    return {**{path: file_md5(path) for path in data}, "suite": file_md5(suite)}


def time_columns(suite: dict[str, Any]) -> list[str]:
    """Return the columns the suite expects to hold times (profile.DATETIME_TYPES)."""
    columns = []
    for item in suite["expectations"]:
        kwargs = item.get("kwargs") if isinstance(item, dict) else None
        types = kwargs.get("type_list") if isinstance(kwargs, dict) else None
        if isinstance(types, list) and any(str(name).startswith("datetime64") for name in types):
            columns.append(str(kwargs.get("column")))
    return columns


def with_times(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return the frame with each time column's cells parsed to UTC instants (written without a zone).

    A cell that is not a time stays as it was, so the type expectation names it; a column whose
    every cell parsed becomes a datetime column, so the range expectation compares times.
    """
    from .kinds import parse_times

    frame = frame.copy()
    for column in columns:
        if column not in frame.columns:
            continue
        parsed = parse_times(frame[column]).dt.tz_localize(None)  # UTC, as the suite's bound is written
        unparsed = frame[column].notna() & parsed.isna()
        if unparsed.any():
            frame[column] = frame[column].astype(object).where(unparsed, parsed.astype(object))
        else:
            frame[column] = parsed
    return frame


def run_suite(frame: pd.DataFrame, suite: dict[str, Any], docs_dir: Path) -> list[dict[str, Any]]:
    """Validate a DataFrame with Great Expectations, build Data Docs, and return the results as dicts.

    Time columns are parsed first (with_times), so the suite's time bounds compare times.
    """
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.exceptions import InvalidExpectationConfigurationError

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.add_data_docs_site(
        site_name="local",
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir.resolve())},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    batch = context.data_sources.add_pandas("prepared").add_dataframe_asset("data")
    try:
        expectation_suite = context.suites.add(gx.ExpectationSuite(**suite))
    except (InvalidExpectationConfigurationError, TypeError) as error:
        raise DataError(f"the suite has an invalid expectation: {error}") from error
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name="prepared", data=batch.add_batch_definition_whole_dataframe("all"), suite=expectation_suite
        )
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="validate",
            validation_definitions=[definition],
            actions=[UpdateDataDocsAction(name="data_docs")],
            result_format="SUMMARY",
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": with_times(frame, time_columns(suite))})
    return [item.to_json_dict() for run in result.run_results.values() for item in run.results]


def summarise(args: argparse.Namespace, frame: pd.DataFrame, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the summary of this run: verdict, failures in words and the inputs' hashes."""
    failed = failures(results, [str(column) for column in frame.columns])
    docs = Path(args.report_dir) / "docs"
    return {
        "success": not failed,
        "data": args.data,
        "inputs": input_hashes(args.data, args.suite),
        "rows": len(frame),
        "evaluated": len(results),
        "failed": len(failed),
        "failures": failed,
        "hint": HINT.format(suite=args.suite) if failed else "",
        "data_docs": str(docs / "index.html"),
        "report": str(docs / "report.html"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="validate", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", required=True, help="expectation suite JSON")
    parser.add_argument("--data", required=True, action="append", help="data file; repeat to validate them together")
    parser.add_argument("--report-dir", required=True, help="where summary.json and docs/ go")
    args = parser.parse_args(argv)

    from .data_docs import sanitise_site, write_report

    report_dir, docs = Path(args.report_dir), Path(args.report_dir) / "docs"
    # A verdict belongs to the run that made it: nothing of an earlier run may be left to read.
    (report_dir / "summary.json").unlink(missing_ok=True)
    shutil.rmtree(docs, ignore_errors=True)
    report_dir.mkdir(parents=True, exist_ok=True)
    try:
        suite = load_suite(args.suite)
        frame = pd.concat([read_table(path) for path in args.data], ignore_index=True)
        results = run_suite(frame, suite, docs)
        summary = summarise(args, frame, results)
    except (DataError, OSError) as error:
        return fail(error, 2)
    sanitise_site(docs)
    columns = [str(column) for column in frame.columns]
    rows = [{**describe_result(item, columns), "passed": bool(item.get("success"))} for item in results]
    write_report(docs, summary, rows)
    (report_dir / "summary.json").write_text(dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not summary["success"]:
        failed = summary["failures"]
        print(
            f"validate: {len(failed)} of {len(results)} expectations failed on {', '.join(args.data)}:", file=sys.stderr
        )
        for row in failed:
            line = f"{row['column']}: {row['expectation']}: expected {row['expected']}; {row['observed']}"
            print("  - " + " ".join(line.split()), file=sys.stderr)  # one line each, whatever a column is called
        print(f"details: {report_dir / 'summary.json'} and {summary['report']}", file=sys.stderr)
        print(summary["hint"], file=sys.stderr)
        return 1
    print(f"validate: all {len(results)} expectations passed on {len(frame)} rows; report: {summary['report']}")
    return 0
