"""The Markdown report of a training run: each section from the pipeline's files and DVC's diffs."""

import json

import pytest

from {{ cookiecutter.package_name }} import report

PASSED = {"passed": True, "reasons": ["roc_auc 0.9900 meets the threshold 0.9", "no champion yet"]}
FAILED = {"passed": False, "reasons": ["roc_auc 0.8000 misses the threshold 0.9"]}
METRICS_DIFF = {"reports/metrics.json": {"roc_auc": {"old": 0.95, "new": 0.99, "diff": 0.04}, "f1": {"new": 0.9}}}
PARAMS_DIFF = {"params.yaml": {"train.random_forest.n_estimators": {"old": 200, "new": 100, "diff": -100}}}
VALIDATION_OK = {"success": True, "evaluated": 95, "rows": 569, "failed": 0, "failures": []}
VALIDATION_BAD = {
    "success": False,
    "evaluated": 95,
    "rows": 569,
    "failed": 1,
    "failures": [{"column": "age", "expectation": "between", "expected": "0 | 120", "observed": "observed 140"}],
}


def test_gate_section_gives_the_verdict_and_every_reason():
    assert report.gate_section(PASSED) == ["### ✅ Gate: passed", "", *(f"- {r}" for r in PASSED["reasons"])]
    assert report.gate_section(FAILED)[0] == "### ❌ Gate: failed"
    assert "did not run" in report.gate_section(None)[0]


def test_metrics_table_shows_base_value_this_run_and_change():
    lines = report.metrics_section(METRICS_DIFF, "origin/main")
    assert "| Metric | `origin/main` | this run | change |" in lines
    assert "| roc_auc | 0.9500 | 0.9900 | +0.0400 |" in lines
    assert "| f1 | — | 0.9000 |  |" in lines
    assert "could not compare" in report.metrics_section(None, "HEAD")[-1]
    assert report.metrics_section({}, "HEAD")[-1] == "No metrics yet."


def test_params_table_lists_only_what_changed():
    assert "| train.random_forest.n_estimators | 200 | 100 |" in report.params_section(PARAMS_DIFF, "HEAD")
    assert report.params_section({}, "HEAD")[-1] == "None."


def test_validation_section_lists_failures_and_escapes_table_pipes():
    assert report.validation_section(VALIDATION_OK)[0] == "### ✅ Data validation: passed"
    failed = report.validation_section(VALIDATION_BAD)
    assert failed[0] == "### ❌ Data validation: failed"
    assert "| age | between | 0 \\| 120 | observed 140 |" in failed


def test_links_drop_artifacts_that_were_not_uploaded():
    links = report.parse_links("Plots=https://x/1\nData Docs=\n\nGate=https://x/3")
    assert links == {"Plots": "https://x/1", "Gate": "https://x/3"}
    assert report.links_section(links)[-1] == "[Plots](https://x/1) · [Gate](https://x/3)"
    assert report.links_section({}) == []


@pytest.mark.parametrize(
    ("pulled", "remote", "expected"),
    [
        (None, "s3://bucket", None),
        ("true", "s3://bucket", "pulled from the DVC remote `s3://bucket`"),
        ("false", "s3://bucket", "CI has no credentials"),
        ("false", "/home/me/dvc-storage", "out of CI's reach"),
        ("false", None, "No DVC remote"),
    ],
)
def test_data_note_says_where_the_data_came_from(pulled, remote, expected):
    note = report.data_note(pulled, remote)
    assert note == [] if expected is None else expected in note[-1]


def test_redact_hides_credentials_in_a_tracking_uri():
    assert report.redact("https://user:secret@mlflow.example.com:5000/x") == "https://mlflow.example.com:5000/x"
    assert report.redact("sqlite:///mlflow.db") == "sqlite:///mlflow.db"


def test_main_writes_the_report_and_appends_it_to_the_job_summary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("register:\n  model_name: churn\n", encoding="utf-8")
    (tmp_path / "reports/validation").mkdir(parents=True)
    (tmp_path / "reports/gate.json").write_text(json.dumps(FAILED), encoding="utf-8")
    (tmp_path / "reports/validation/summary.json").write_text(json.dumps(VALIDATION_OK), encoding="utf-8")
    asked = []
    monkeypatch.setattr(report, "dvc_json", lambda *args: asked.append(args) or {})
    monkeypatch.setattr(report, "default_remote", lambda: None)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    monkeypatch.setenv("DVC_REMOTE_PULLED", "false")
    monkeypatch.setenv("REPORT_LINKS", "Plots=https://example.com/plots")

    assert report.main(["--out", "reports/report.md"]) == 0

    written = (tmp_path / "reports/report.md").read_text(encoding="utf-8")
    assert written.startswith("## Training report: `churn`")
    assert "### ❌ Gate: failed" in written and "[Plots](https://example.com/plots)" in written
    assert "No DVC remote" in written
    assert summary.read_text(encoding="utf-8") == written
    assert asked == [("metrics", "diff", "--all", "origin/main"), ("params", "diff", "origin/main")]


def test_main_without_params_fails_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert report.main(["--out", "report.md"]) == 2
    assert "params.yaml" in capsys.readouterr().err
