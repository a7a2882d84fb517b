"""Validate: reading the suite, failures in words, and the exit codes of the command."""

from __future__ import annotations

import hashlib
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import data_docs, profile, validate

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(1)>"


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
            "observed": "1 of 4 values (25.0%) fail",
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
    assert err.endswith(validate.HINT.format(suite="suite.json") + "\n")
    assert "`make suite COLUMN=<name>`" in summary["hint"]
    assert Path("reports/validation/docs/index.html").is_file()


def test_times_are_checked_as_times(project, capsys: pytest.CaptureFixture[str]) -> None:
    """A time column: every cell must be a time (the bad one is named) and not earlier than the bound, in UTC."""
    booked = pd.date_range("2024-03-01", periods=40, freq="6h").strftime("%Y-%m-%d %H:%M:%S")
    good = pd.DataFrame({"booked": booked, "plan": ["basic", "pro"] * 20})
    write_suite_for(good, Path("suite.json"))
    arguments = ["--suite", "suite.json", "--report-dir", "reports/validation", "--data"]
    later_times = pd.date_range("2024-05-01T10:00:00+02:00", periods=40, freq="h")
    later = good.assign(booked=later_times.strftime("%Y-%m-%dT%H:%M:%S%z"))
    project.write_csv(later, "later.csv")
    assert validate.main([*arguments, "later.csv"]) == 0  # later times, another spelling and offset: still times

    broken = good.copy()
    broken.loc[3, "booked"] = "31/03/2024 10:00"
    broken.loc[5, "booked"] = "1970-01-01 00:00:00"  # a default that is no booking time
    project.write_csv(broken, "broken.csv")
    capsys.readouterr()
    assert validate.main([*arguments, "broken.csv"]) == 1
    failed = json.loads(Path("reports/validation/summary.json").read_text(encoding="utf-8"))["failures"]
    typed = next(row for row in failed if row["expectation"] == "expect_column_values_to_be_in_type_list")
    assert typed["column"] == "booked" and "'31/03/2024 10:00'" in typed["observed"]
    assert "1 of 40 values" in typed["observed"]

    early = good.copy()
    early.loc[5, "booked"] = "1970-01-01 00:00:00"
    project.write_csv(early, "early.csv")
    assert validate.main([*arguments, "early.csv"]) == 1
    (row,) = json.loads(Path("reports/validation/summary.json").read_text(encoding="utf-8"))["failures"]
    assert row["expectation"] == "expect_column_values_to_be_between"
    assert row["expected"] == "at least 2024-02-29T00:36:00"  # 10% of the 9 days 18 hours before the first
    assert "1 of 40 values" in row["observed"] and "1970-01-01" in row["observed"]


def test_a_column_name_cannot_start_a_line_of_the_log(project, capsys: pytest.CaptureFixture[str]) -> None:
    """On GitHub a log line that starts with `::` is a workflow command (`::add-mask::`, `::error::`)."""
    name = "age\n::error title=pwned::@octocat | <b>x</b>"
    clean = pd.DataFrame({name: range(40), "plan": ["basic", "pro"] * 20})
    project.write_csv(clean, "clean.csv")
    Path("suite.json").write_text(json.dumps(profile.profile_columns(profile.read_columns("clean.csv"))))
    project.write_csv(clean.drop(columns=[name]), "bad.csv")
    assert validate.main(["--suite", "suite.json", "--data", "bad.csv", "--report-dir", "reports/validation"]) == 1
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert not [line for line in lines if line.lstrip().startswith("::")], lines
    assert any("age ::error title=pwned::@octocat" in line for line in lines), lines


def test_main_with_missing_suite_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate.main(["--suite", "nothing.json", "--data", "data.csv", "--report-dir", "reports"]) == 2
    assert capsys.readouterr().err == "error: nothing.json: suite not found; create it with `make suite`\n"


def test_main_with_missing_data_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    Path("suite.json").write_text('{"expectations": []}', encoding="utf-8")
    assert validate.main(["--suite", "suite.json", "--data", "missing.csv", "--report-dir", "reports"]) == 2
    assert capsys.readouterr().err == "error: missing.csv: file not found\n"


class Elements(HTMLParser):
    """Collect every tag and attribute of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert_and_offline(html: str) -> None:
    """Nothing in the page can run a script or load anything from the network."""
    parser = Elements()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in {"script", "img", "link", "iframe", "object", "embed", "svg", "base", "meta"} or (
            tag == "meta" and attrs == [("charset", "utf-8")]
        ), tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, value)
            assert name != "src", tag
            assert tag == "a" or name != "href", tag
    assert "<script" not in html.lower()
    assert "url(http" not in html.replace("'", "").replace('"', "")


def test_sanitised_page_keeps_text_and_drops_what_runs() -> None:
    html = (
        '<html><head><title>t</title><link rel="stylesheet" href="https://cdn.example/x.css">'
        '<script src="https://cdn.example/x.js"></script></head><body><div class="card" onclick="x()">'
        f'<td>{SCRIPT}</td><td>{IMAGE}</td><a href="javascript:alert(1)">j</a><a href="../index.html">home</a>'
        "</div></body></html>"
    )
    body = data_docs.sanitise_page(html)
    assert_inert_and_offline(body)
    assert '<div class="card">' in body
    assert '<a href="../index.html" rel="noopener noreferrer">home</a>' in body


def test_report_escapes_every_value() -> None:
    summary = {"success": False, "failed": 1, "evaluated": 2, "rows": 3, "hint": "edit <b>x</b>"}
    summary["inputs"] = {f"{SCRIPT}.csv": "0" * 32, "suite": "1" * 32}
    rows = [
        {"column": SCRIPT, "expectation": "e", "expected": "one of ['a']", "observed": IMAGE, "passed": False},
        {"column": "@octocat | x", "expectation": "e", "expected": "x", "observed": "y", "passed": True},
    ]
    body = data_docs.report_body(summary, rows)
    assert_inert_and_offline(body)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "edit &lt;b&gt;x&lt;/b&gt;" in body


def test_hostile_names_and_values_never_reach_the_html_alive(project) -> None:
    clean = pd.DataFrame({SCRIPT: range(40), "plan": ["basic", "pro"] * 20})
    project.write_csv(clean, "clean.csv")
    Path("suite.json").write_text(json.dumps(profile.profile_columns(profile.read_columns("clean.csv"))))
    hostile = clean.assign(plan=["basic", IMAGE] * 20)
    data = project.write_csv(hostile, "hostile.csv")
    Path("reports/validation/docs/stale").mkdir(parents=True)  # an earlier run's pages must not survive

    assert validate.main(["--suite", "suite.json", "--data", "hostile.csv", "--report-dir", "reports/validation"]) == 1

    docs = Path("reports/validation/docs")
    pages = sorted(docs.rglob("*.html"))
    assert {path.name for path in pages} >= {"index.html", "report.html"}
    assert not (docs / "stale").exists()
    assert len(pages) >= 3  # index, the validation result, our report
    for path in pages:
        html = path.read_text(encoding="utf-8")
        assert_inert_and_offline(html)
        assert "<style>" in html, path
    report = (docs / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "&lt;img src=x onerror=alert(1)&gt;" in report
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert data_docs.ge_stylesheet() in index
    assert ".card{" in index and ".table{" in index  # Bootstrap 4's layout, inlined: styled offline
    for path in pages:  # GE lists its pages with JavaScript; the index links each one without it
        if path.name != "index.html":
            assert f'href="{path.relative_to(docs).as_posix()}"' in index, path
    summary = json.loads(Path("reports/validation/summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"] == {
        "hostile.csv": hashlib.md5(data.read_bytes()).hexdigest(),
        "suite": hashlib.md5(Path("suite.json").read_bytes()).hexdigest(),
    }
    assert summary["report"] == str(docs / "report.html")


def test_failed_run_leaves_no_earlier_summary(project, capsys: pytest.CaptureFixture[str]) -> None:
    Path("reports").mkdir()
    Path("reports/summary.json").write_text('{"success": true}', encoding="utf-8")
    assert validate.main(["--suite", "nothing.json", "--data", "data.csv", "--report-dir", "reports"]) == 2
    assert not Path("reports/summary.json").exists()


def test_inputs_are_hashed_like_dvc(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_bytes(b"x,y\n1,2\n")
    (tmp_path / "s.json").write_bytes(b"{}")
    hashes = validate.input_hashes([str(tmp_path / "a.csv")], str(tmp_path / "s.json"))
    assert hashes == {
        str(tmp_path / "a.csv"): hashlib.md5(b"x,y\n1,2\n").hexdigest(),
        "suite": hashlib.md5(b"{}").hexdigest(),
    }
