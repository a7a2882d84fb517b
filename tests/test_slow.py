"""Slow tier: bake representative projects, set them up as their README says, and run them for real.

Each scenario runs once per module (a fixture) and records what happened; the tests below
assert on the record. The scenario follows a user: quick start from the README, the
project's own tests, a second `dvc repro`, then bad data and a worse model, each of which
must leave the champion where it was.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import answers_for

pytestmark = pytest.mark.slow

SNAPSHOT = Path(__file__).with_name("registry_snapshot.py")
SCENARIOS = {
    "classification-demo": {"task": "classification", "dataset": "demo"},
    "regression-csv": {"task": "regression", "dataset": "csv", "model": "gradient_boosting", "dvc_remote": "none"},
}
METRIC_FLOORS = {"classification-demo": {"roc_auc": 0.95, "accuracy": 0.9}, "regression-csv": {"r2": 0.5}}


def run(command: str | list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    args = shlex.split(command) if isinstance(command, str) else command
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{command} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def quickstart_commands(readme: str) -> list[str]:
    """The commands of the README's quick start block (```sh ... ``` after 'Quick start')."""
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```(?:sh|bash)\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def registry(project: Path) -> dict:
    return json.loads(run([str(project / ".venv/bin/python"), str(SNAPSHOT)], project).stdout)


def champion(snapshot: dict) -> str | None:
    return next((version for version, info in snapshot.items() if "champion" in info["aliases"]), None)


def corrupt(path: Path) -> None:
    """Simulate a broken upstream export: a dropped column and impossible values in another."""
    frame = pd.read_csv(path)
    numeric = [c for c in frame.select_dtypes("number").columns if c != frame.columns[-1]]
    frame[numeric[0]] = frame[numeric[0]].abs().max() * 100
    frame.drop(columns=[numeric[1]]).to_csv(path, index=False)


def make_worse(params_path: Path) -> None:
    """Swap the model for a one-split stump: clearly worse than the champion on the same rows."""
    params = yaml.safe_load(params_path.read_text())
    params["train"]["model"] = "random_forest"
    params["train"]["random_forest"] = {"n_estimators": 1, "max_depth": 1, "min_samples_leaf": 1}
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module", params=SCENARIOS, ids=list(SCENARIOS))
def scenario(request, tmp_path_factory, sample_csvs) -> dict:
    name = request.param
    answers = answers_for({**SCENARIOS[name]}, sample_csvs)
    output = tmp_path_factory.mktemp(name)
    extra = [f"{key}={value}" for key, value in answers.items()]
    run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(Path(__file__).parents[1]), "-o", str(output), *extra],
        output,
    )
    project = next(output.iterdir())
    record: dict = {"name": name, "project": project, "answers": answers}

    for command in quickstart_commands((project / "README.md").read_text()):
        record.setdefault("quickstart", []).append(run(command, project))
    record["own_tests"] = run("make test", project, check=False)
    record["lint"] = run("make lint", project, check=False)
    record["metrics"] = json.loads((project / "reports/metrics.json").read_text())
    record["gate"] = json.loads((project / "reports/gate.json").read_text())
    record["after_first"] = registry(project)
    lock = (project / "dvc.lock").read_text()
    record["second_repro"] = run("make repro", project, check=False)
    record["lock_unchanged"] = (project / "dvc.lock").read_text() == lock

    raw = project / "data/raw/data.csv"
    original = raw.read_bytes()
    corrupt(raw)
    record["bad_data"] = run("make pipeline", project, check=False)
    record["validation"] = json.loads((project / "reports/validation/summary.json").read_text())
    record["after_bad_data"] = registry(project)
    raw.write_bytes(original)

    params = (project / "params.yaml").read_text()
    make_worse(project / "params.yaml")
    record["worse_model"] = run("make pipeline", project, check=False)
    record["worse_gate"] = json.loads((project / "reports/gate.json").read_text())
    record["after_worse_model"] = registry(project)
    (project / "params.yaml").write_text(params)
    return record


def test_quickstart_registers_a_champion_with_provenance(scenario):
    snapshot = scenario["after_first"]
    assert list(snapshot) == ["1"]
    assert snapshot["1"]["aliases"] == ["challenger", "champion"]
    tags = snapshot["1"]["tags"]
    project = scenario["project"]
    head = run("git rev-parse HEAD", project).stdout.strip()
    assert tags["git_commit"] == head
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    raw_md5 = next(dep["md5"] for dep in lock["stages"]["ingest"]["deps"] if dep["path"] == "data/raw/data.csv")
    assert tags["dvc.data/raw/data.csv"] == raw_md5
    assert json.loads(tags["params"])["gate"]["metric"] == scenario["gate"]["metric"]


def test_metrics_are_in_a_sane_range(scenario):
    for metric, floor in METRIC_FLOORS[scenario["name"]].items():
        assert floor <= scenario["metrics"][metric] <= 1.0, scenario["metrics"]
    assert scenario["gate"]["passed"] is True


def test_the_projects_own_tests_and_lint_pass(scenario):
    for key in ("own_tests", "lint"):
        result = scenario[key]
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert re.search(r"\d+ passed", scenario["own_tests"].stdout)


def test_second_repro_does_nothing(scenario):
    result = scenario["second_repro"]
    assert result.returncode == 0, result.stderr
    assert "repro: everything is up to date (nothing changed since dvc.lock)" in result.stdout
    assert "Running stage" not in result.stdout
    assert scenario["lock_unchanged"]


def test_bad_data_fails_validation_readably_and_keeps_the_champion(scenario):
    result = scenario["bad_data"]
    assert result.returncode != 0
    assert "expectations failed" in result.stderr
    assert "the column is missing from the data" in result.stderr
    assert re.search(
        r"expect_column_values_to_be_between: expected between \S+ and \S+; \d+ of \d+ values", result.stderr
    )
    assert scenario["validation"]["success"] is False
    assert scenario["after_bad_data"] == scenario["after_first"]


def test_worse_model_fails_the_gate_and_keeps_the_champion(scenario):
    result = scenario["worse_model"]
    assert result.returncode != 0
    assert "gate: FAILED" in result.stderr
    gate = scenario["worse_gate"]
    assert gate["passed"] is False
    assert gate["champion"]["version"] == "1"
    assert any("worse than champion v1" in reason for reason in gate["reasons"])
    assert scenario["after_worse_model"] == scenario["after_first"]
    assert champion(scenario["after_worse_model"]) == "1"
