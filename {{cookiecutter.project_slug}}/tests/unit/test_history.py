"""The drift history: recorded once per report, k-of-n alerts, the page, the branch, and damage refused."""

import datetime
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.loop import drift, history
from {{ cookiecutter.package_name }}.loop.history import page, store

HOSTILE = '<script>alert("x")</script> & co'


def frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    red = min(0.5 + 0.25 * shift, 0.95)  # a shift moves the amount and the colours' shares
    return pd.DataFrame(
        {
            "amount": rng.normal(10 + 2 * shift, 2, rows),
            HOSTILE: rng.choice(["red", "<b>blue</b>"], rows, p=[red, 1 - red]),
            "count": rng.poisson(3, rows),
            "target": rng.integers(0, 2, rows),
        }
    )


@pytest.fixture
def project(drift_folder):
    """The drift check's folder (conftest) with 2,000 reference rows."""
    frame(2000, 0).to_csv("reference.csv", index=False)
    return drift_folder


def set_alert(k: int, n: int) -> None:
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["drift"]["alert"] = {"k": k, "n": n}
    Path("params.yaml").write_text(yaml.safe_dump(params))


def check(current: pd.DataFrame) -> int:
    """Run the drift check (data only) on a batch, as `make drift` does; return its exit code."""
    current.to_csv("current.csv", index=False)
    return drift.main(["--no-model"])


def record(capsys) -> tuple[int, str, str]:
    code = history.main(["record", "--report", "out/drift.json"])
    out, err = capsys.readouterr()
    return code, out, err


def test_each_check_is_recorded_once_and_the_alert_counts_k_of_n(project, capsys, monkeypatch):
    verdicts = []
    for seed, shift in ((1, 0.0), (2, 1.5), (3, 0.0), (4, 1.5), (5, 1.5)):
        verdicts.append(check(frame(400, seed, shift)) == drift.DRIFT_EXIT_CODE)
        assert record(capsys)[0] == 0
    assert verdicts == [False, True, False, True, True]
    runs = store.read_history(Path("drift-history")).runs
    assert [run["drift"] for run in runs] == verdicts and len({run["id"] for run in runs}) == 5
    assert record(capsys)[0] == 0  # the same batch checked again is another check
    assert len(store.read_history(Path("drift-history")).runs) == 6
    monkeypatch.setenv("GITHUB_RUN_ID", "77")  # a workflow run records its check once, however often it runs
    assert record(capsys)[0] == 0
    code, out, _ = record(capsys)
    assert code == 0 and "already recorded" in out and "nothing to add" in out
    assert len(store.read_history(Path("drift-history")).runs) == 7
    for (k, n), expected in {(1, 1): "yes", (2, 2): "yes", (5, 5): "no", (4, 6): "yes", (6, 7): "no"}.items():
        set_alert(k, n)
        output = Path(f"output-{k}-{n}")
        monkeypatch.setenv("GITHUB_OUTPUT", str(output))
        assert history.main(["alert", "--report", "out/drift.json"]) == 0
        assert capsys.readouterr().out.startswith(f"alert: {expected}: ")
        assert output.read_text() == f"alert={'true' if expected == 'yes' else 'false'}\n"


def test_a_workflow_run_judges_its_own_check_not_a_later_one(project, capsys, monkeypatch):
    set_alert(1, 1)
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    assert check(frame(400, 2, 1.5)) == drift.DRIFT_EXIT_CODE
    assert record(capsys)[0] == 0
    shutil.copy("out/drift.json", "drift-77.json")
    monkeypatch.setenv("GITHUB_RUN_ID", "78")  # a later scheduled run records a clean batch
    assert check(frame(400, 3)) == 0
    assert record(capsys)[0] == 0
    assert history.main(["alert", "--report", "out/drift.json"]) == 0
    assert capsys.readouterr().out.startswith("alert: no: ")
    monkeypatch.setenv("GITHUB_RUN_ID", "77")  # run 77's history job is re-run: its drifted check decides
    Path("drift-77.json").replace("out/drift.json")
    code, out, _ = record(capsys)
    assert code == 0 and "already recorded" in out
    assert history.main(["alert", "--report", "out/drift.json"]) == 0
    assert capsys.readouterr().out.startswith("alert: yes: drift in 1 of the last 1 run")
    monkeypatch.setenv("GITHUB_RUN_ID", "79")  # a check the history does not hold is not judged as another
    assert history.main(["alert", "--report", "out/drift.json"]) == 2
    err = capsys.readouterr().err
    assert "this workflow run's check: record it first" in err and len(err.strip().splitlines()) == 1


def test_a_break_alerts_at_once_whatever_k(project, capsys):
    set_alert(3, 5)
    check(frame(400, 1))
    record(capsys)
    check(frame(400, 2).drop(columns="count"))  # a feature column missing: a schema break
    record(capsys)
    assert history.main(["alert"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("alert: yes: drift in 1 of the last 2 runs") and "break (schema)" in out


def test_k_above_n_is_refused_in_one_line(project, capsys):
    set_alert(4, 3)
    assert history.main(["alert"]) == 2
    err = capsys.readouterr().err
    assert "drift.alert" in err and "at most n (3)" in err and len(err.strip().splitlines()) == 1


def anchors_resolve(html: str) -> None:
    targets = set(re.findall(r'href="#([^"]+)"', html))
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids)) and targets <= set(ids)


def test_the_page_is_offline_escaped_and_every_link_lands(project, capsys):
    for seed, shift in ((1, 0.0), (2, 2.0), (3, 0.0)):
        check(frame(400, seed, shift))
        record(capsys)
    assert history.main(["page"]) == 0
    html = Path("reports/drift-history/index.html").read_text()
    assert "<script" not in html and "&lt;script&gt;" in html and "src=" not in html
    assert "3 checks from" in html and "1 found drift" in html
    anchors_resolve(html)
    assert html.count("<section id=") == 3  # every feature drawn: three columns


def synthetic_history(folder: Path, runs: int, columns: int, champion_at: dict[int, str]) -> None:
    """Write `runs` runs of `columns` columns straight into the store's files (fast, for size and shape)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    lines, champion = [], None
    for index in range(runs):
        champion = champion_at.get(index, champion)
        drifted = index % 7 == 0
        entry = {
            "format": 1, "id": f"{index:016x}", "at": (start + datetime.timedelta(hours=index)).isoformat(),
            "drift": drifted, "reasons": ["share"] if drifted else [], "breaks": [], "share": drifted * 0.6,
            "columns": columns, "drifted": 0, "rows": {"reference": 1000, "current": 200}, "champion": champion,
            "champion_since": None,
            "model": "m", "metric": "accuracy", "holdout": 0.9, "realised": None, "commit": None, "run_url": None,
            "estimate": {"estimate": 0.88, "low": 0.85, "high": 0.91},
        }  # fmt: skip
        lines.append(json.dumps(entry))
    (folder / "columns").mkdir(parents=True)
    (folder / "runs.jsonl").write_text("\n".join(lines) + "\n")
    rng = np.random.default_rng(0)
    size = runs * columns
    table = pa.table({
        "run": [f"{index:016x}" for index in np.repeat(np.arange(runs), columns)],
        "column": [f"col {index}" for index in np.tile(np.arange(columns), runs)],
        "kind": ["numeric"] * size, "method": ["wasserstein"] * size,
        "statistic": rng.random(size, np.float32) * 0.2, "threshold": np.full(size, 0.1, np.float32),
        "p_value": rng.random(size, np.float32), "drift": rng.random(size) < 0.05,
        "null_reference": np.zeros(size, np.float32), "null_current": np.zeros(size, np.float32),
    })  # fmt: skip
    pq.write_table(table, folder / "columns" / "2026-01.parquet")


def test_a_long_history_is_drawn_in_buckets_with_the_champions_marked(project, capsys):
    synthetic_history(Path("drift-history"), runs=1200, columns=60, champion_at={0: "1", 500: "2", 900: "3"})
    assert history.main(["page"]) == 0
    html = Path("reports/drift-history/index.html").read_text()
    assert all(f"v{version} champion" in html for version in "123")
    longest = max(len(points.split()) for points in re.findall(r'<polyline points="([^"]*)"', html))
    assert longest <= page.MAX_POINTS
    assert html.count("<section id=") == page.DRAWN_FEATURES and html.count("<tr") > 60  # every feature listed
    assert "The latest 100 of 1,200 runs" in html
    anchors_resolve(html)


def test_a_champion_is_marked_when_its_alias_moved_else_at_its_first_check():
    def run(hour: int, champion: str | None, since: str | None) -> dict:
        return {"at": f"2026-03-01T{hour:02d}:00:00+00:00", "champion": champion, "champion_since": since}

    runs = [run(1, "1", None), run(2, "1", None), run(5, "2", "2026-03-01T03:30:00Z"),
            run(6, "3", "1999-01-01T00:00:00Z"), run(7, "3", "garbage")]  # fmt: skip
    found = store.History(Path("unused"), runs)
    times = page.moments(found)
    changes = page.champion_changes(found, times)
    moved = datetime.datetime(2026, 3, 1, 3, 30, tzinfo=datetime.UTC).timestamp()
    assert changes == [(times[0], "v1 champion"), (moved, "v2 champion"), (times[3], "v3 champion")]


def damage(kind: str, folder: Path) -> None:
    runs = folder / "runs.jsonl"
    lines = runs.read_text().splitlines()
    segment = next((folder / "columns").glob("*.parquet"))
    if kind == "truncated line":
        runs.write_text("\n".join([*lines[:-1], lines[-1][:40]]) + "\n")
    elif kind == "missing field":
        entry = json.loads(lines[0])
        del entry["drift"]
        runs.write_text("\n".join([json.dumps(entry), *lines[1:]]) + "\n")
    elif kind == "wrong type":
        runs.write_text("\n".join([lines[0].replace('"drift": false', '"drift": "no"'), *lines[1:]]) + "\n")
    elif kind == "newer format":
        runs.write_text("\n".join([lines[0].replace('"format": 1', '"format": 9'), *lines[1:]]) + "\n")
    elif kind == "duplicate run":
        runs.write_text("\n".join([*lines, lines[0]]) + "\n")
    elif kind == "empty":
        runs.write_text("")
    elif kind == "no runs file":
        runs.unlink()
    elif kind == "not parquet":
        segment.write_bytes(b"PAR1 not really")
    elif kind == "segment of another shape":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"run": ["x"], "effect": [0.1]}), segment)
    elif kind == "rows of an unrecorded run":
        runs.write_text("\n".join(lines[:-1]) + "\n")
    elif kind == "a break that is not text":
        runs.write_text("\n".join([lines[0].replace('"breaks": []', '"breaks": [1]'), *lines[1:]]) + "\n")
    elif kind == "an estimate that is not a number":
        entry = json.loads(lines[0])
        entry["estimate"] = {"estimate": "x", "low": 0, "high": 1}
        runs.write_text("\n".join([json.dumps(entry), *lines[1:]]) + "\n")
    elif kind.startswith("a segment row without its "):
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table, name = pq.read_table(segment), kind.split()[-1]
        values = table.column(name)
        missing = pc.if_else(pc.equal(table.column("column"), table.column("column")[0]), None, values)
        pq.write_table(table.set_column(table.schema.get_field_index(name), name, missing), segment)
    elif kind == "stray file":
        (folder / "columns" / "notes.parquet").write_bytes(segment.read_bytes())


DAMAGES = ["truncated line", "missing field", "wrong type", "newer format", "duplicate run", "empty", "no runs file",
           "not parquet", "segment of another shape", "rows of an unrecorded run", "stray file",
           "a break that is not text", "an estimate that is not a number",
           "a segment row without its run"]  # fmt: skip


@pytest.mark.parametrize("kind", DAMAGES)
def test_a_damaged_history_fails_closed_in_one_line_and_is_not_overwritten(project, capsys, kind):
    for seed, shift in ((1, 0.0), (2, 2.0)):
        check(frame(400, seed, shift))
        record(capsys)
    folder = Path("drift-history")
    damage(kind, folder)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    check(frame(400, 3))
    for action in (["page"], ["alert"], ["record", "--report", "out/drift.json"]):
        assert history.main(action) == 2, (kind, action)
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert "runs.jsonl" in err or ".parquet" in err
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


def test_a_record_stopped_between_its_writes_is_finished_by_the_next(project, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_RUN_ID", "41")  # the job is run again: the same check
    check(frame(400, 1))
    record(capsys)
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    check(frame(400, 2, 2.0))
    real = store.write_atomically

    def stop_before_the_runs_line(path, data):
        if path.name == store.RUNS:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(store, "write_atomically", stop_before_the_runs_line)
    with pytest.raises(KeyboardInterrupt):
        history.main(["record", "--report", "out/drift.json"])
    monkeypatch.setattr(store, "write_atomically", real)
    assert history.main(["page"]) == 2  # the segment holds rows of a run runs.jsonl does not: refused
    assert "does not record" in capsys.readouterr().err
    assert record(capsys)[0] == 0  # recording the same report again finishes it, rows not doubled
    folder = store.read_history(Path("drift-history"))
    import pyarrow.parquet as pq

    rows = pq.read_table(folder.segments()[0]).column("run").to_pylist()
    assert len(folder.runs) == 2 and rows.count(folder.runs[1]["id"]) == 3


def test_a_report_that_is_not_a_drift_report_is_refused(project, capsys):
    Path("out").mkdir()
    Path("out/drift.json").write_text(json.dumps({"dataset_drift": True}))
    code, _, err = record(capsys)
    assert code == 2 and "is not a drift report" in err
    assert not Path("drift-history").exists()
    assert history.main(["record", "--report", "missing.json"]) == 2
    assert "no drift report" in capsys.readouterr().err
    check(frame(400, 1))
    good = json.loads(Path("out/drift.json").read_text())
    for key, value in (("reasons", 5), ("columns", []), ("columns", {"x": 1}), ("current", {"rows": -1}),
                       ("drift_share", "0.1"), ("dataset_drift", None)):  # fmt: skip
        Path("out/drift.json").write_text(json.dumps({**good, key: value}))
        code, _, err = record(capsys)
        assert code == 2 and f"({key} of the wrong type)" in err and len(err.strip().splitlines()) == 1
    assert not Path("drift-history").exists()


def test_a_history_path_that_is_a_file_is_one_line_and_left_alone(project, remote, capsys):
    check(frame(400, 1))
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["drift"]["history"] = "notes.txt"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    Path("notes.txt").write_text("mine")
    for action in (["record", "--report", "out/drift.json"], ["pull"], ["page"], ["alert"]):
        assert history.main(action) == 2, action
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "notes.txt" in err and len(err.strip().splitlines()) == 1
    assert Path("notes.txt").read_text() == "mine"
    params["drift"]["history"] = "drift-history"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    assert record(capsys)[0] == 0
    Path("page.html").write_text("mine")
    assert history.main(["page", "--out", "page.html"]) == 2  # the page's folder is a file
    assert "page.html" in capsys.readouterr().err and Path("page.html").read_text() == "mine"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def remote(project, tmp_path_factory, monkeypatch):
    """A bare origin; the project is a clone with one commit, and git has a committer."""
    for name, value in (("NAME", "t"), ("EMAIL", "t@x")):
        monkeypatch.setenv(f"GIT_AUTHOR_{name}", value)
        monkeypatch.setenv(f"GIT_COMMITTER_{name}", value)
    origin = tmp_path_factory.mktemp("origin") / "project.git"
    git("init", "--quiet", "--bare", str(origin), cwd=project)
    git("init", "--quiet", cwd=project)
    git("-c", "user.name=t", "-c", "user.email=t@x", "commit", "--quiet", "--allow-empty", "-m", "start", cwd=project)
    git("remote", "add", "origin", str(origin), cwd=project)
    return origin


def test_the_history_goes_to_the_branch_and_comes_back_in_another_clone(project, remote, capsys, monkeypatch):
    assert history.main(["pull"]) == 0
    assert "does not exist" in capsys.readouterr().out
    check(frame(400, 1))
    record(capsys)
    assert history.main(["page"]) == 0
    assert history.main(["push"]) == 0
    files = git("ls-tree", "-r", "--name-only", "drift-history", cwd=remote).split()
    assert {"runs.jsonl", "index.html", ".nojekyll", "README.md"} <= set(files)
    assert any(name.startswith("columns/") and name.endswith(".parquet") for name in files)
    assert git("rev-list", "--count", "drift-history", cwd=remote).strip() == "1"

    # Another clone (another runner) fetches it, records and publishes; the first is now behind.
    other = project.parent / "other"
    git("clone", "--quiet", str(remote), str(other), cwd=project.parent)
    for name in ("params.yaml", "reference.csv"):
        (other / name).write_bytes((project / name).read_bytes())
    monkeypatch.chdir(other)
    assert history.main(["pull"]) == 0
    check(frame(400, 2, 2.0))
    record(capsys)
    assert history.main(["push"]) == 0
    assert len(store.read_history(Path("drift-history")).runs) == 2
    assert git("rev-list", "--count", "drift-history", cwd=remote).strip() == "1"  # one commit, replaced

    monkeypatch.chdir(project)
    check(frame(400, 3))
    record(capsys)
    capsys.readouterr()
    assert history.main(["push"]) == 2  # the branch moved since this history was fetched: refused
    assert "fetch it first" in capsys.readouterr().err
    assert history.main(["pull"]) == 2  # and a fetch would drop the run recorded here: refused too
    assert "1 run(s) recorded here are not on branch" in capsys.readouterr().err
    assert len(store.read_history(Path("drift-history")).runs) == 2
    assert history.main(["pull", "--force"]) == 0
    assert len(store.read_history(Path("drift-history")).runs) == 2
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["drift"]["history"] = "var/monitoring/history"  # a folder whose parents do not exist yet
    Path("params.yaml").write_text(yaml.safe_dump(params))
    assert history.main(["pull"]) == 0
    assert len(store.read_history(Path("var/monitoring/history")).runs) == 2


def test_a_fetch_never_replaces_a_folder_that_is_not_a_history(project, remote, capsys, monkeypatch):
    check(frame(400, 1))
    record(capsys)
    assert history.main(["push"]) == 0
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["drift"]["history"] = "out"  # the drift report's folder
    Path("params.yaml").write_text(yaml.safe_dump(params))
    before = sorted(path.name for path in Path("out").iterdir())
    capsys.readouterr()
    assert history.main(["pull"]) == 2
    assert "not a drift history" in capsys.readouterr().err
    assert sorted(path.name for path in Path("out").iterdir()) == before
    for outside in (".", "../elsewhere", "/tmp/x"):
        params["drift"]["history"] = outside
        Path("params.yaml").write_text(yaml.safe_dump(params))
        assert history.main(["pull"]) == 2
        assert "drift.history" in capsys.readouterr().err


def test_a_damaged_branch_is_refused_and_the_local_history_kept(project, remote, capsys, monkeypatch):
    check(frame(400, 1))
    record(capsys)
    history.main(["push"])
    # Someone commits a broken runs.jsonl on the branch.
    work = project.parent / "editor"
    git("clone", "--quiet", "--branch", "drift-history", str(remote), str(work), cwd=project.parent)
    (work / "runs.jsonl").write_text("{not json\n")
    git("-c", "user.name=t", "-c", "user.email=t@x", "commit", "--quiet", "-am", "break", cwd=work)
    git("push", "--quiet", "origin", "drift-history", cwd=work)
    before = Path("drift-history/runs.jsonl").read_bytes()
    capsys.readouterr()
    assert history.main(["pull"]) == 2
    err = capsys.readouterr().err
    assert "branch drift-history" in err and "not JSON" in err and len(err.strip().splitlines()) == 1
    assert Path("drift-history/runs.jsonl").read_bytes() == before
