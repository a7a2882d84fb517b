"""The drift report: verdict first, data escaped for Markdown and HTML, and drift.md within GitHub's limit."""

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.loop import drift
from {{ cookiecutter.package_name }}.loop.drift import report
from {{ cookiecutter.package_name }}.loop.drift.verdict import CHECKS

PROJECT_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
HOSTILE = ["<script>alert(1)</script>", "@octocat", "a|b", "two\nlines", "; touch X", "<img src=x onerror=alert(1)>"]


@pytest.fixture
def project(tmp_path, monkeypatch):
    params = yaml.safe_load(PROJECT_PARAMS.read_text(encoding="utf-8"))
    params["data"] = {"task": "classification", "target": "target"}
    params["gate"]["metric"] = "accuracy"
    params["drift"].update(reference="reference.csv", current="current.csv", report_dir="out")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def hostile_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Columns named with hostile text, categories with hostile values (new in the current data), a shift."""
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({name: rng.normal(0, 1, 1000) for name in HOSTILE})
    reference["@octocat category"] = rng.choice(["<b>bold</b>", "x|y"], 1000)
    current = pd.DataFrame({name: rng.normal(1, 1, 300) for name in HOSTILE})
    current["@octocat category"] = rng.choice(["<b>bold</b>", "@octocat", "<script>x</script>"], 300)
    current[HOSTILE[0]] = current[HOSTILE[0]].astype(object)
    current.loc[0, HOSTILE[0]] = "<script>junk</script>"  # a type change, with the value as an example
    return reference, current


def test_markdown_escapes_everything_from_the_data(project):
    reference, current = hostile_frames()
    reference.to_csv("reference.csv", index=False)
    current.to_csv("current.csv", index=False)
    assert drift.main(["--no-model"]) == drift.DRIFT_EXIT_CODE
    markdown = Path("out/drift.md").read_text()
    for raw in ("<script", "<img", "<b>", "@octocat"):
        assert raw not in markdown
    assert "@&#8203;octocat" in markdown and "&lt;script&gt;" in markdown
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    header = table[0]
    for row in table:
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) == len(re.split(r"(?<!\\)\|", header)), row


def test_html_has_no_script_and_loads_nothing(project):
    reference, current = hostile_frames()
    reference.to_csv("reference.csv", index=False)
    current.to_csv("current.csv", index=False)
    drift.main(["--no-model"])
    page = Path("out/drift.html").read_text()
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for external in ("http:", "https:", 'src="', "<link"):
        assert external not in page
    assert page.count("<svg") == len(HOSTILE) + 1  # a plot for every column


def test_report_leads_with_verdict_then_schema_then_model_then_columns(project):
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"age": rng.normal(40, 10, 2000), "colour": rng.choice(["red", "blue"], 2000)})
    current = pd.DataFrame({"age": rng.normal(48, 10, 300), "colour": ["green"] * 30 + ["red"] * 270})
    reference.to_csv("reference.csv", index=False)
    current.to_csv("current.csv", index=False)
    drift.main(["--no-model"])
    markdown = Path("out/drift.md").read_text()
    order = ["## Data drift: drift detected", "- ✗ schema:", "Categories unseen", "**Model**", "**Columns"]
    positions = [markdown.index(text) for text in order]
    assert positions == sorted(positions)
    assert "median +0.8 sd" in markdown  # a readable effect size, next to the statistic
    assert "green 10% → " not in markdown and "green (10%)" in markdown


def test_markdown_stays_under_githubs_limit_with_2000_columns(project):
    rng = np.random.default_rng(2)
    names = [f"feature number {index} with a rather long name | and a pipe" for index in range(2000)]
    reference = pd.DataFrame(rng.normal(0, 1, (300, 2000)), columns=names)
    current = pd.DataFrame(rng.normal(0.5, 1, (100, 2000)), columns=names)
    reference.to_parquet("reference.parquet")
    current.to_parquet("current.parquet")
    started = time.perf_counter()
    code = drift.main(["--no-model", "--reference", "reference.parquet", "--current", "current.parquet"])
    seconds = time.perf_counter() - started
    assert code == drift.DRIFT_EXIT_CODE
    markdown = Path("out/drift.md").read_text()
    assert len(markdown) < 65_536
    assert "more columns, with less effect: see drift.html and drift.json" in markdown
    assert len(json.loads(Path("out/drift.json").read_text())["columns"]) == 2000
    assert Path("out/drift.html").stat().st_size < 5_000_000
    assert seconds < 120  # about 20 s on two shared cores


def test_markdown_is_cut_to_any_limit_with_a_count():
    columns = {
        f"c{index}": {
            "type": "numeric",
            "method": "wasserstein",
            "statistic": 0.5,
            "threshold": 0.1,
            "p_value": 0.001,
            "drift": True,
            "null_fraction": {"reference": 0.0, "current": 0.0},
            "summary": {},
        }
        for index in range(300)
    }
    result = {
        "dataset_drift": True,
        "headline": "dataset drift (share)",
        "checks": {name: {"drift": False, "ran": True, "text": "x"} for name in CHECKS},
        "reference": {"path": "r.csv", "rows": 10},
        "current": {"path": "c.csv", "rows": 10},
        "schema_changes": {
            "missing_in_current": [f"gone {index}" for index in range(500)],
            "new_in_current": [],
            "unseen_categories": {},
            "type_changed": {},
        },
        "model": None,
        "columns": columns,
    }
    markdown = report.to_markdown(result, limit=8000)
    assert len(markdown) <= 8000
    assert "and 480 more: see drift.json" in markdown or "more rows not shown" in markdown
