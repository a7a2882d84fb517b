"""The drift command: decisions on known shifts, schema changes, exit codes, errors and report files."""

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import drift

PROJECT_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
FEATURES = ["a", "b", "c", "d", "e", "f"]


def make_frame(rows: int, seed: int, shift: dict[str, float] | None = None) -> pd.DataFrame:
    """Return numeric features a..f, a categorical `colour` and a binary `target`."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(10, 2, rows) for name in FEATURES})
    frame["colour"] = rng.choice(["red", "green", "blue"], rows, p=[0.5, 0.3, 0.2])
    frame["target"] = (frame["a"] + rng.normal(0, 1, rows) > 10).astype(int)
    for name, amount in (shift or {}).items():
        if name == "colour":
            frame[name] = rng.choice(["red", "green", "blue"], rows, p=[0.2, 0.3, 0.5])
        else:
            frame[name] += amount * 2
    return frame


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with params.yaml (the project's drift settings) and no data yet."""
    params = yaml.safe_load(PROJECT_PARAMS.read_text(encoding="utf-8"))
    params["data"] = {"task": "classification", "target": "target"}
    params["drift"].update(reference="reference.csv", current="current.csv", report_dir="out")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_drift(reference: pd.DataFrame, current: pd.DataFrame, *args: str) -> tuple[int, dict]:
    reference.to_csv("reference.csv", index=False)
    current.to_csv("current.csv", index=False)
    code = drift.main(list(args))
    report = Path("out/drift.json")
    return code, json.loads(report.read_text()) if report.exists() else {}


@pytest.mark.parametrize(("reference_rows", "current_rows"), [(5000, 4000), (500, 300)])
def test_known_shifts_flag_exactly_the_shifted_columns(project, reference_rows, current_rows):
    shifted = {"a": 1.0, "c": 0.5, "d": 1.0, "colour": 1}
    code, report = run_drift(make_frame(reference_rows, 1), make_frame(current_rows, 2, shifted))
    assert code == drift.DRIFT_EXIT_CODE
    assert set(report["drifted_columns"]) == set(shifted)
    assert report["dataset_drift"] and report["drift_share"] == pytest.approx(4 / 7)
    assert report["sample_size"] == ("large" if reference_rows > 1000 else "small")


@pytest.mark.parametrize("rows", [5000, 500])
def test_unchanged_data_flags_no_column(project, rows):
    reference = make_frame(rows, 1)
    code, report = run_drift(reference, reference.sample(frac=0.6, random_state=0))
    assert code == 0
    assert report["drifted_columns"] == [] and not report["dataset_drift"]


def test_report_json_has_the_documented_fields(project):
    code, report = run_drift(make_frame(3000, 1), make_frame(3000, 2, {"b": 1.0}))
    assert code == 0
    assert {"dataset_drift", "drift_share", "threshold", "columns", "schema_changes"} <= report.keys()
    assert report["threshold"] == 0.5 and report["drift_share"] == pytest.approx(1 / 7)
    assert "target" not in report["columns"]
    column = report["columns"]["b"]
    assert {"type", "method", "statistic", "threshold", "drift"} <= column.keys()
    assert [column[key] for key in ("type", "method", "threshold", "drift")] == ["numeric", "wasserstein", 0.1, True]
    assert report["columns"]["colour"]["method"] == "jensenshannon"


def test_schema_changes_are_reported_not_fatal(project):
    current = make_frame(3000, 2).drop(columns=["e"]).rename(columns={"f": "f_renamed"})
    code, report = run_drift(make_frame(3000, 1), current)
    assert report["schema_changes"]["missing_in_current"] == ["e", "f"]
    assert report["schema_changes"]["new_in_current"] == ["f_renamed"]
    assert report["columns"]["e"]["drift"] and report["columns"]["e"]["method"] == "missing"
    assert code == 0  # 2 of 7 columns drifted
    assert "missing in current: e, f" in Path("out/drift.md").read_text()


def test_parquet_gives_the_same_result_as_csv(project):
    reference, current = make_frame(3000, 1), make_frame(2000, 2, {"a": 1.0})
    _, from_csv = run_drift(reference, current)
    reference.to_parquet("reference.parquet")
    current.to_parquet("current.parquet")
    assert drift.main(["--reference", "reference.parquet", "--current", "current.parquet", "--report-dir", "pq"]) == 0
    from_parquet = json.loads(Path("pq/drift.json").read_text())
    assert from_parquet["columns"] == from_csv["columns"]


def test_html_report_is_self_contained(project):
    run_drift(make_frame(3000, 1), make_frame(3000, 2, {"a": 1.0, "colour": 1}))
    page = Path("out/drift.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    for external in ("http:", "https:", 'src="//', "<script", "<link"):
        assert external not in page


def test_model_quality_on_current_data_is_reported(project):
    from sklearn.linear_model import LogisticRegression

    reference = make_frame(2000, 1)
    features = reference.drop(columns=["target", "colour"])
    Path("models").mkdir()
    joblib.dump(LogisticRegression().fit(features, reference["target"]), "models/model.joblib")
    Path("reports").mkdir()
    Path("reports/metrics.json").write_text(json.dumps({"accuracy": 0.8, "f1": 0.8, "roc_auc": 0.9}))
    args = ["--model", "models/model.joblib", "--reference-metrics", "reports/metrics.json"]
    _, report = run_drift(reference, make_frame(1000, 2), *args)
    quality = report["model_quality"]
    assert quality["status"] == "scored"
    assert quality["metrics"]["accuracy"]["reference"] == 0.8
    assert 0.5 < quality["metrics"]["accuracy"]["current"] <= 1


def test_a_missing_model_is_reported_not_fatal(project):
    code, report = run_drift(make_frame(2000, 1), make_frame(1000, 2), "--model", "models/absent.joblib")
    assert code == 0
    assert report["model_quality"]["status"] == "no_model"
    assert "models/absent.joblib not found" in Path("out/drift.md").read_text()


def test_current_data_without_target_is_fine(project):
    code, report = run_drift(make_frame(2000, 1), make_frame(1000, 2).drop(columns="target"))
    assert code == 0
    assert report["model_quality"]["status"] == "no_target"
    assert report["schema_changes"]["missing_in_current"] == []


def write(path: str, content: str | bytes) -> None:
    Path(path).write_bytes(content if isinstance(content, bytes) else content.encode())


ERRORS = {
    "missing file": (lambda: None, "current.csv: file not found"),
    "empty file": (lambda: write("current.csv", ""), "current.csv: file is empty"),
    "header only": (lambda: write("current.csv", "a,b,target\n"), "current.csv: has no rows"),
    "unreadable parquet": (lambda: write("current.parquet", b"not parquet"), "cannot be read as parquet"),
    "unknown format": (lambda: write("current.xlsx", b"x"), "unsupported format '.xlsx'"),
    "no columns in common": (lambda: write("current.csv", "x,y\n1,2\n"), "no feature columns in common"),
    "target only": (lambda: write("current.csv", "target\n1\n0\n"), "current.csv: has no feature columns"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_exit_2_with_one_clear_line(project, capsys, case):
    make_frame(100, 1).to_csv("reference.csv", index=False)
    prepare, message = ERRORS[case]
    prepare()
    current = {"unreadable parquet": "current.parquet", "unknown format": "current.xlsx"}.get(case, "current.csv")
    assert drift.main(["--current", current]) == drift.ERROR_EXIT_CODE
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert message in error


WRONG_SETTINGS = {
    ("numeric", "large", "method"): ("jensenshannon", "drift.numeric.large.method must be one of wasserstein, ks, psi"),
    ("categorical", "small", "threshold"): ("low", "drift.categorical.small.threshold must be a number"),
    ("psi_bins",): (2.5, "drift.psi_bins must be a whole number"),
    ("dataset_drift_share",): (1.5, "drift.dataset_drift_share must be a number from 0.0 to 1.0"),
}


@pytest.mark.parametrize("keys", WRONG_SETTINGS)
def test_a_wrong_setting_exits_2(project, capsys, keys):
    params = yaml.safe_load(Path("params.yaml").read_text())
    value, message = WRONG_SETTINGS[keys]
    parent = params["drift"]
    for key in keys[:-1]:
        parent = parent[key]
    parent[keys[-1]] = value
    Path("params.yaml").write_text(yaml.safe_dump(params))
    make_frame(100, 1).to_csv("reference.csv", index=False)
    make_frame(100, 2).to_csv("current.csv", index=False)
    assert drift.main([]) == drift.ERROR_EXIT_CODE
    assert message in capsys.readouterr().err


def test_columns_compared_at_once_fit_the_memory_budget():
    assert drift.parallel_columns(rows=20_000_000, columns=20) == 1
    assert 1 <= drift.parallel_columns(rows=2_000, columns=20) <= 20
    assert drift.parallel_columns(rows=2_000, columns=1) == 1
