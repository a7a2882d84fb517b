"""Refresh: every source kind that runs here, both policies, and every bad input stopping with one line
and nothing written."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import refresh

PROJECT_ROOT = Path(__file__).parents[2]


@pytest.fixture
def refreshing(project, raw_data: pd.DataFrame, project_params: dict[str, Any], monkeypatch):
    """The project folder with the demo data as data/raw/data.csv, its suite, and a refresh section."""
    project.params["data"] = dict(project_params["data"])
    project.params["refresh"] = {"source": "demo", "policy": "append", "key": [], "max_rows": 0,
                                 "time_column": None, "demo_rows": 40}  # fmt: skip
    project.save_params()
    # Three quarters of the data as what the project holds (the suite asks for at least half of the
    # rows it profiled), the rest as rows a source can bring.
    held = len(raw_data) * 3 // 4
    base = raw_data.head(held).copy()
    project.write_csv(base, "data/raw/data.csv")
    (project.root / "expectations").mkdir()
    shutil.copy(PROJECT_ROOT / "expectations" / "suite.json", project.root / "expectations" / "suite.json")
    project.base, project.unseen = base, raw_data.iloc[held:].copy()
    return project


@pytest.fixture
def run(capsys):
    def run_refresh(*args: str) -> tuple[int, list[str], list[str]]:
        capsys.readouterr()
        code = refresh.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out.splitlines(), captured.err.splitlines()

    return run_refresh


def raw(project) -> pd.DataFrame:
    return pd.read_csv(project.root / "data/raw/data.csv")


def nothing_written(project, before: bytes) -> bool:
    return (project.root / "data/raw/data.csv").read_bytes() == before and not (
        project.root / "reports/refresh"
    ).exists()


def test_demo_source_appends_a_valid_new_batch(refreshing, run) -> None:
    (refreshing.root / "data/raw/data.csv").chmod(0o640)
    code, out, _ = run()
    held = len(refreshing.base)
    assert code == 0 and out[-1] == "changed=true"
    summary = json.loads((refreshing.root / "reports/refresh/summary.json").read_text(encoding="utf-8"))
    added = summary["rows_added"]  # a drawn row equal to one the data holds adds nothing
    assert 0 < added <= 40 and len(raw(refreshing)) == held + added
    assert (summary["rows_before"], summary["rows_after"], summary["rows_removed"]) == (held, held + added, 0)
    assert summary["sha256_before"] != summary["sha256_after"]
    # The old rows are kept byte for byte: git shows only the added lines.
    assert (
        (refreshing.root / "data/raw/data.csv")
        .read_text(encoding="utf-8")
        .startswith(refreshing.base.to_csv(index=False))
    )
    code, out, _ = run()  # the next refresh brings different rows
    assert code == 0 and len(raw(refreshing)) > held + added
    assert ((refreshing.root / "data/raw/data.csv").stat().st_mode & 0o777) == 0o640  # the file keeps its mode
    assert [path.name for path in (refreshing.root / "data/raw").iterdir()] == ["data.csv"]  # nothing left beside it


def test_without_a_key_every_row_is_kept_and_a_batch_read_twice_adds_nothing(refreshing, run) -> None:
    """Different records with equal values (two passengers alike) are rows of their own, never merged."""
    doubled = pd.concat([refreshing.base, refreshing.base.head(7)], ignore_index=True)
    refreshing.write_csv(doubled, "data/raw/data.csv")
    batch = pd.concat([refreshing.unseen.head(6), refreshing.unseen.head(6), refreshing.base.head(3)])
    refreshing.write_csv(batch, "incoming/batch.csv")
    refreshing.params["refresh"].update(source="incoming/batch.csv")
    refreshing.save_params()
    code, _, err = run()
    assert code == 0, err
    after = raw(refreshing)
    assert len(after) == len(doubled) + 12  # both copies of the 6 new rows; the 3 held rows already are
    assert after.head(len(doubled)).to_csv(index=False) == doubled.to_csv(index=False)
    summary = json.loads((refreshing.root / "reports/refresh/summary.json").read_text(encoding="utf-8"))
    assert (summary["rows_added"], summary["rows_removed"]) == (12, 0)
    assert pd.read_csv(refreshing.root / "reports/refresh/removed.csv").empty
    code, out, _ = run()
    assert code == 0 and out[-1] == "changed=false"  # the same batch again


def test_path_source_appends_and_deduplicates_on_the_key(refreshing, run) -> None:
    batch = refreshing.base.head(10).copy()
    column = next(c for c in batch.columns if c != refreshing.params["data"]["target"])
    batch[column] = batch[column] * 1.01  # same rows by key, newer values
    batch["row id"] = range(10)
    held = len(refreshing.base)
    base = refreshing.base.assign(**{"row id": range(held)})
    refreshing.write_csv(base, "data/raw/data.csv")
    refreshing.write_csv(batch, "incoming/batch.csv")
    refreshing.params["refresh"].update(source="incoming/*.csv", key=["row id"])
    refreshing.save_params()
    shutil.copy(PROJECT_ROOT / "expectations" / "suite.json", refreshing.root / "expectations" / "suite.json")
    suite = json.loads((refreshing.root / "expectations/suite.json").read_text(encoding="utf-8"))
    for expectation in suite["expectations"]:  # the suite profiled the columns without `row id`
        if expectation["type"] == "expect_table_columns_to_match_set":
            expectation["kwargs"]["column_set"].append("row id")
    (refreshing.root / "expectations/suite.json").write_text(json.dumps(suite), encoding="utf-8")
    code, _, err = run()
    assert code == 0, err
    after = raw(refreshing)
    assert len(after) == held  # ten rows replaced, none added
    assert after.set_index("row id").loc[range(10), column].tolist() == pytest.approx(batch[column].tolist())
    summary = json.loads((refreshing.root / "reports/refresh/summary.json").read_text(encoding="utf-8"))
    assert (summary["rows_added"], summary["rows_removed"]) == (10, 10)
    removed = pd.read_csv(refreshing.root / "reports/refresh/removed.csv")
    assert sorted(removed["row id"]) == list(range(10))  # the replaced rows, as they were


def test_a_time_column_is_checked_as_times_before_anything_is_written(refreshing, run) -> None:
    from {{ cookiecutter.package_name }}.loop import profile

    held = len(refreshing.base)
    booked = pd.date_range("2024-01-01", periods=held, freq="h").strftime("%Y-%m-%d %H:%M:%S")
    refreshing.write_csv(refreshing.base.assign(booked=booked), "data/raw/data.csv")
    suite = profile.profile_columns(profile.read_columns(refreshing.root / "data/raw/data.csv"))
    (refreshing.root / "expectations/suite.json").write_text(json.dumps(suite), encoding="utf-8")
    later = pd.date_range("2024-06-01T08:00:00+02:00", periods=10, freq="h").strftime("%Y-%m-%dT%H:%M:%S%z")
    refreshing.write_csv(refreshing.unseen.head(10).assign(booked=later), "incoming/batch.csv")
    refreshing.params["refresh"].update(source="incoming/batch.csv", time_column="booked")
    refreshing.save_params()
    code, _, err = run()
    assert code == 0, err  # later times with an offset are times; the suite has no upper bound
    assert len(raw(refreshing)) == held + 10

    before = (refreshing.root / "data/raw/data.csv").read_bytes()
    refreshing.write_csv(
        refreshing.unseen.iloc[10:20].assign(booked=["1970-01-01 00:00:00"] * 10), "incoming/batch.csv"
    )
    code, _, err = run()
    assert code == 2 and any("booked: expect_column_values_to_be_between" in line for line in err), err
    assert (refreshing.root / "data/raw/data.csv").read_bytes() == before


def test_append_keeps_a_rolling_window(refreshing, run) -> None:
    held = len(refreshing.base)
    refreshing.params["refresh"].update(max_rows=held)  # 40 rows in, the 40 oldest out
    refreshing.save_params()
    code, _, err = run()
    assert code == 0, err
    after = raw(refreshing)
    assert len(after) == held
    summary = json.loads((refreshing.root / "reports/refresh/summary.json").read_text(encoding="utf-8"))
    dropped = summary["rows_removed"]
    assert dropped == summary["rows_added"] > 0
    assert len(pd.read_csv(refreshing.root / "reports/refresh/removed.csv")) == dropped
    kept = held - dropped
    assert after.head(kept).to_csv(index=False) == refreshing.base.tail(kept).to_csv(index=False)


def test_replace_takes_the_source_as_the_whole_data_set(refreshing, run) -> None:
    whole = refreshing.base.tail(len(refreshing.base) - 10)
    refreshing.write_csv(whole, "incoming/all.csv")
    refreshing.params["refresh"].update(source="incoming/all.csv", policy="replace")
    refreshing.save_params()
    code, _, err = run()
    assert code == 0, err
    assert raw(refreshing).to_csv(index=False) == whole.to_csv(index=False)


def test_nothing_new_changes_nothing(refreshing, run) -> None:
    refreshing.write_csv(refreshing.base.head(5), "incoming/old.csv")
    refreshing.params["refresh"].update(source="incoming/old.csv")
    refreshing.save_params()
    before = (refreshing.root / "data/raw/data.csv").read_bytes()
    code, out, _ = run()
    assert code == 0 and out[-1] == "changed=false"
    assert nothing_written(refreshing, before)


class Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def serving(handler: Any) -> Any:
    """Serve `handler` on a free port of 127.0.0.1 in a thread; yield host:port, then stop."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def http_server(refreshing):
    (refreshing.root / "served").mkdir()
    for address in serving(lambda *args: Files(*args, directory=str(refreshing.root / "served"))):
        yield f"http://{address}"


def test_http_source_on_localhost(refreshing, run, http_server) -> None:
    refreshing.unseen.head(50).to_parquet(refreshing.root / "served" / "batch.parquet", index=False)
    code, _, err = run("--source", f"{http_server}/batch.parquet?token=hunter2")
    assert code == 0, err
    summary = json.loads((refreshing.root / "reports/refresh/summary.json").read_text(encoding="utf-8"))
    assert summary["source"] == f"{http_server}/batch.parquet"  # no query string: it may hold a token
    assert len(raw(refreshing)) == len(refreshing.base) + 50


@pytest.fixture(scope="module")
def data_registry(tmp_path_factory, raw_data: pd.DataFrame) -> dict[str, Any]:
    """Another repository whose DVC tracks a batch of labelled rows (pushed to its local remote), tagged v1,
    then changed; no DVC cache is left behind, so reading v1 goes through the remote as `dvc import` does.
    Made once for the module (no test changes it): the rows are those `refreshing` leaves unseen."""
    unseen = raw_data.iloc[len(raw_data) * 3 // 4 :]
    root = tmp_path_factory.mktemp("data-registry")
    remote = tmp_path_factory.mktemp("data-registry-remote")
    environment = {**os.environ, "GIT_AUTHOR_NAME": "Data", "GIT_AUTHOR_EMAIL": "data@example.com",
                   "GIT_COMMITTER_NAME": "Data", "GIT_COMMITTER_EMAIL": "data@example.com"}  # fmt: skip

    def step(*command: str) -> str:
        found = subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, check=True)
        return found.stdout.strip()

    dvc = (sys.executable, "-m", "dvc")
    step("git", "init", "-q", "-b", "main")
    step(*dvc, "init", "-q")
    step(*dvc, "remote", "add", "-d", "store", str(remote))
    (root / "churn").mkdir()
    unseen.head(30).to_csv(root / "churn/labelled.csv", index=False)
    step(*dvc, "add", "-q", "churn/labelled.csv")
    step(*dvc, "push", "-q")
    step("git", "add", "-A")
    step("git", "commit", "-q", "-m", "thirty rows")
    step("git", "tag", "v1")
    commit = step("git", "rev-parse", "HEAD")
    unseen.head(45).to_csv(root / "churn/labelled.csv", index=False)
    step(*dvc, "add", "-q", "churn/labelled.csv")
    step(*dvc, "push", "-q")
    step("git", "commit", "-q", "-am", "forty-five rows")
    shutil.rmtree(root / ".dvc" / "cache")
    return {"repo": str(root), "commit": commit}


def test_dvc_source_reads_a_file_of_another_repository_at_a_revision(refreshing, run, data_registry) -> None:
    refreshing.params["refresh"].update(source="dvc", dvc={"repo": data_registry["repo"], "path": "churn/labelled.csv",
                                                           "rev": "v1"})  # fmt: skip
    refreshing.save_params()
    code, _, err = run()
    assert code == 0, err
    assert len(raw(refreshing)) == len(refreshing.base) + 30
    summary = json.loads((refreshing.root / "reports/refresh/summary.json").read_text(encoding="utf-8"))
    assert summary["source"] == f"dvc {data_registry['repo']} churn/labelled.csv@v1"
    assert summary["commit"] == data_registry["commit"] and summary["rows_added"] == 30
    report = (refreshing.root / "reports/refresh/refresh.md").read_text(encoding="utf-8")
    assert f"`{data_registry['commit']}`" in report

    refreshing.params["refresh"]["dvc"]["rev"] = None  # the default branch: the later commit
    refreshing.save_params()
    code, _, err = run()
    assert code == 0, err
    assert len(raw(refreshing)) == len(refreshing.base) + 45


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"repo": "/no/such/repository"}, "the repository cannot be cloned; check refresh.dvc.repo"),
        # Git options and remote helpers in the URL are refused by the clone, never run.
        ({"repo": "--upload-pack=touch pwned"}, "the repository cannot be cloned; check refresh.dvc.repo"),
        ({"repo": "ext::sh -c touch% pwned"}, "the repository cannot be cloned; check refresh.dvc.repo"),
        ({"rev": "v9"}, "no such revision in the repository; check refresh.dvc.rev"),
        ({"path": "churn/none.csv"}, "no such file in the repository; check refresh.dvc.path"),
        (None, "refresh.source dvc needs refresh.dvc: {repo: <Git URL or path>, path: <file>, rev: <optional>}"),
    ],
)
def test_a_dvc_source_that_cannot_be_read_stops_with_one_line(
    refreshing, run, data_registry, change: dict | None, expected: str
) -> None:
    refreshing.params["refresh"]["source"] = "dvc"
    if change is not None:
        refreshing.params["refresh"]["dvc"] = {"repo": data_registry["repo"], "path": "churn/labelled.csv", **change}
    refreshing.save_params()
    before = (refreshing.root / "data/raw/data.csv").read_bytes()
    code, _, err = run()
    assert code == 2
    [line] = err
    assert line.startswith("error: ") and expected in line, line
    assert nothing_written(refreshing, before)
    assert not (refreshing.root / "pwned").exists()


def schema_change(project) -> None:
    project.write_csv(project.base.drop(columns=[project.base.columns[0]]).assign(extra=1), "incoming/new.csv")


def failing_batch(project) -> None:
    column = next(c for c in project.base.select_dtypes("number").columns if c != project.params["data"]["target"])
    project.write_csv(project.base.head(20).assign(**{column: 1e12}), "incoming/new.csv")


BAD = {
    "unreachable http": ("http://127.0.0.1:9/batch.csv?token=hunter2", None, "cannot be fetched"),
    "no such file": ("incoming/none-*.csv", None, "no such file matches"),
    "unknown scheme": ("ftp://example.com/x.csv", None, "unsupported scheme ftp://"),
    "schema change": ("incoming/new.csv", schema_change, "the columns changed (missing"),
    "fails validation": ("incoming/new.csv", failing_batch, "fails 1 expectation(s) of expectations/suite.json"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_stops_with_one_line_and_writes_nothing(refreshing, run, case) -> None:
    source, prepare, expected = BAD[case]
    if prepare:
        prepare(refreshing)
    refreshing.params["refresh"]["source"] = source
    refreshing.save_params()
    before = (refreshing.root / "data/raw/data.csv").read_bytes()
    code, _, err = run()
    assert code == 2
    [line] = err
    assert line.startswith("error: ") and expected in line and "hunter2" not in line, line
    assert nothing_written(refreshing, before)


def test_a_missing_section_and_a_bad_key_are_named(refreshing, run) -> None:
    refreshing.params["refresh"]["key"] = ["no such column"]
    refreshing.save_params()
    code, _, err = run()
    assert code == 2 and err == [f"error: params.yaml: refresh.key = 'no such column': not a column; allowed: "
                                 f"{', '.join(map(str, refreshing.base.columns))}"]  # fmt: skip
    del refreshing.params["refresh"]
    refreshing.save_params()
    code, _, err = run()
    assert code == 2 and err == ["error: params.yaml: section refresh is missing: add it (see the README, 'New data')"]


def test_the_summary_escapes_what_it_quotes() -> None:
    text = refresh.markdown({"source": "x`<script>@octocat", "policy": "append", "rows_before": 1, "rows_after": 2,
                             "rows_added": 1, "rows_removed": 0, "sha256_before": "a" * 64, "sha256_after": "b" * 64,
                             "time_range": ["<img src=x>", "@octocat\n| x |"]})  # fmt: skip
    assert "<img" not in text and "\n| x |" not in text
    assert "@&#8203;octocat" in text  # a mention that notifies nobody
    assert "``x`<script>@octocat``" in text  # the source verbatim in a code span, where nothing renders


def test_a_row_without_a_key_is_never_taken_over() -> None:
    raw = pd.DataFrame({"id": [1.0, None, None], "x": [1, 2, 3]})
    new = pd.DataFrame({"id": [None, 1.0], "x": [4, 5]})
    settings = {"policy": "append", "key": ["id"], "time_column": None, "max_rows": 0}
    snapshot = refresh.combine(raw, new, settings, ["id"])
    assert sorted(snapshot["x"]) == [2, 3, 4, 5]  # id 1 is replaced; the rows without an id all stay
    assert len(refresh.removed_rows(raw, snapshot)) == 1


def test_counts_hold_when_a_column_changes_type() -> None:
    raw = pd.DataFrame({"x": [1.0, 2.5], "y": [0, 1]})
    new = pd.DataFrame({"x": ["unknown"], "y": [1]})
    snapshot = refresh.combine(raw, new, {"policy": "append", "key": [], "time_column": None, "max_rows": 0}, [])
    assert (len(refresh.added_rows(raw, snapshot)), len(refresh.removed_rows(raw, snapshot))) == (1, 0)


def test_a_time_column_that_cannot_be_ordered_is_one_line() -> None:
    raw, new = pd.DataFrame({"t": [1, 2], "y": [0, 1]}), pd.DataFrame({"t": ["2024-01-03"], "y": [1]})
    with pytest.raises(refresh.RefreshError, match=r"refresh\.time_column = 't': 2 value\(s\) are not ISO-8601"):
        refresh.combine(raw, new, {"policy": "append", "key": [], "time_column": "t", "max_rows": 0}, [])


def test_a_rolling_window_orders_times_as_times_and_refuses_guessing_dates() -> None:
    settings = {"policy": "append", "key": [], "time_column": "t", "max_rows": 2}
    raw = pd.DataFrame({"t": ["2024-01-09T23:00:00Z", "2024-01-10 08:00"], "y": [0, 1]})
    new = pd.DataFrame({"t": ["2024-01-10T09:30:00+01:00"], "y": [1]})  # 08:30 UTC: the newest, not the oldest
    kept = refresh.combine(raw, new, settings, [])
    assert kept["t"].tolist() == ["2024-01-10 08:00", "2024-01-10T09:30:00+01:00"]
    us_dates = pd.DataFrame({"t": ["12/31/2023", "01/02/2024"], "y": [0, 1]})  # as text, 01/.. sorts first
    with pytest.raises(refresh.RefreshError, match=r"e\.g\. '12/31/2023'; allowed: 2019-03-23"):
        refresh.combine(us_dates, us_dates.tail(1).assign(y=0), settings, [])


def test_a_batch_of_one_class_is_said_in_the_summary_and_the_terminal(refreshing, run) -> None:
    target = refreshing.params["data"]["target"]
    if refreshing.params["data"]["task"] != "classification":
        pytest.skip("classes belong to classification")
    batch = refreshing.unseen[refreshing.unseen[target] == refreshing.unseen[target].iloc[0]].head(5)
    refreshing.write_csv(batch, "incoming/batch.csv")
    refreshing.params["refresh"].update(source="incoming/batch.csv")
    refreshing.save_params()
    code, out, err = run()
    assert code == 0, err
    summary = json.loads((refreshing.root / "reports/refresh/summary.json").read_text(encoding="utf-8"))
    only = str(batch[target].iloc[0])
    assert summary["classes"]["batch"] == {only: 5} and summary["classes"]["missing_from_batch"]
    assert any(line.startswith("refresh: warning: the new batch has no row of class(es)") for line in out)
    assert "the new batch has no row of class(es)" in (refreshing.root / "reports/refresh/refresh.md").read_text()


class Server(http.server.BaseHTTPRequestHandler):
    """Answers by path: a redirect elsewhere, or a body sent a byte at a time."""

    def do_GET(self) -> None:
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd?token=s3cr3t-token")
            self.end_headers()
        elif self.path.startswith("/slow"):
            self.send_response(200)
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.2)
        else:
            self.send_response(401)
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_server() -> Any:
    yield from serving(Server)


def test_hostile_http_sources_are_one_line_without_secrets(
    refreshing, run, hostile_server: str, monkeypatch, tmp_path: Path
) -> None:
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setattr(refresh, "HTTP_DEADLINE", 1)
    cases = {
        f"http://user:pa55word@{hostile_server}/denied.csv": "HTTP 401",
        "http://user:pa55word@localhost/no-port.csv": "cannot be fetched",
        f"http://{hostile_server}/redirect.csv": "redirected to file:///etc/passwd; only a redirect to http(s)",
        f"http://{hostile_server}/slow.csv?key=s3cr3t-token": "not downloaded within 1 s",
    }
    for source, expected in cases.items():
        code, _, err = run("--source", source)
        assert code == 2 and len(err) == 1 and expected in err[0], err
        assert "pa55word" not in err[0] and "s3cr3t" not in err[0]
    written = outputs.read_text(encoding="utf-8")
    assert "pa55word" not in written and "s3cr3t" not in written


def test_a_parquet_file_that_expands_past_the_limit_is_refused_before_it_is_read(refreshing, run, monkeypatch) -> None:
    path = refreshing.root / "incoming" / "batch.parquet"
    path.parent.mkdir()
    pd.DataFrame({"x": ["same text"] * 50_000}).to_parquet(path)  # compresses to a few kB
    monkeypatch.setattr(refresh, "MAX_BYTES", 100_000)
    code, _, err = run("--source", str(path))
    assert code == 2 and len(err) == 1 and "decompresses to" in err[0], err
