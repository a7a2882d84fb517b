"""Slow tier: honest verdicts on a messy, changing table, through the generated project's own commands.

A passenger table such as public data sets hold: duplicated rows, integers with gaps, a bool
column, booking times, categories, and a column that spells out the outcome (`alive` next to
`survived`). It is baked as a project and run the way its README says:

1. the leaky table: the gate stops on leakage and names the column; nothing is registered;
2. without that column: the gate passes against the trivial baseline; champion v1;
3. new rows arrive (`make refresh` from a file, with rows equal to old ones): no row is lost,
   the counts are the true difference, and no holdout row moves;
4. the candidate trained on more rows is gated against v1 on holdout rows v1 never trained on
   (none of the holdout rows, since no row moved);
5. booking times are times (suite, model), and the project's own `make test` passes on this data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TEMPLATE

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("messy-data")]


def passengers(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    klass = rng.choice([1, 2, 3], rows, p=[0.25, 0.2, 0.55])
    sex = rng.choice(["male", "female"], rows, p=[0.64, 0.36])
    age = rng.normal(30, 13, rows).clip(1, 80).round()
    chance = 1 / (1 + np.exp(-(2.2 * (sex == "female") - 1.1 * (klass - 2) - 0.03 * (age - 30) - 0.6)))
    survived = (rng.random(rows) < chance).astype(int)
    booked = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24 * 60, rows), unit="min")
    frame = pd.DataFrame(
        {
            "pclass": klass,
            "sex": sex,
            "age": age,
            # Bounded like real fares and family sizes, so a later batch stays inside the suite's ranges.
            "sibsp": rng.poisson(0.5, rows).clip(0, 3),
            "fare": (rng.lognormal(3, 0.9, rows) * (4 - klass)).clip(5, 400).round(2),
            "alone": rng.random(rows) < 0.6,
            "embark_town": rng.choice(["Southampton", "Cherbourg", "Queenstown"], rows, p=[0.72, 0.19, 0.09]),
            "booked": booked.strftime("%Y-%m-%d %H:%M:%S"),
            "alive": np.where(survived == 1, "yes", "no"),
            "survived": survived,
        }
    )
    frame.loc[rng.random(rows) < 0.2, "age"] = np.nan  # an integer column with gaps
    return pd.concat([frame, frame.sample(25, random_state=seed)], ignore_index=True)  # duplicated rows


def run(command: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    result = subprocess.run(command, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{command} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def gate_decision(project: Path) -> dict:
    return json.loads((project / "reports/gate.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("messy")
    passengers(700, seed=1).to_csv(root / "passengers.csv", index=False)
    answers = "dataset=csv data_path=passengers.csv target_column=survived project_name=Passengers"
    run(f"{sys.executable} -m cookiecutter --no-input {TEMPLATE} {answers}", root)
    project = root / "passengers"
    record: dict = {"project": project}
    leaky = run("make setup pipeline", project, check=False)
    record["leaky"] = (leaky, gate_decision(project), run("make status", project).stdout)

    raw = pd.read_csv(project / "data/raw/data.csv").drop(columns=["alive"])
    raw.to_csv(project / "data/raw/data.csv", index=False)
    run("make suite pipeline", project)
    record["v1"] = gate_decision(project)
    record["holdout_v1"] = pd.read_csv(project / "data/prepared/holdout.csv")

    batch = pd.concat([passengers(300, seed=2).drop(columns=["alive"]), raw.head(10)], ignore_index=True)
    batch.to_csv(project / "incoming.csv", index=False)
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    text = (project / "params.yaml").read_text(encoding="utf-8")
    assert params["refresh"]["source"] == "demo"
    (project / "params.yaml").write_text(text.replace("source: demo ", "source: incoming.csv ", 1), encoding="utf-8")
    record["raw_before"], record["batch"] = raw, batch
    record["refresh"] = run("make refresh", project)
    record["summary"] = json.loads((project / "reports/refresh/summary.json").read_text(encoding="utf-8"))
    record["v2"] = run("make pipeline", project, check=False)
    record["v2_decision"] = gate_decision(project)
    record["holdout_v2"] = pd.read_csv(project / "data/prepared/holdout.csv")
    record["own_tests"] = run("make test", project, check=False)
    record["suite_option"] = run("make suite COLUMN=--data", project, check=False)
    return record


def test_a_leaky_column_stops_the_gate_and_is_named(loop):
    result, decision, status = loop["leaky"]
    assert result.returncode != 0 and "make register" not in result.stdout
    assert decision["passed"] is False and "alive" in decision["leakage"]["columns"]
    assert "leakage suspected: column 'alive' alone predicts the target" in result.stderr
    assert "no aliased versions yet: the last gate failed" in status


def test_the_honest_table_beats_the_baseline_and_becomes_champion(loop):
    decision = loop["v1"]
    assert decision["passed"] is True and decision["threshold"] is None
    assert decision["leakage"]["columns"] == {} and decision["champion"] is None
    assert decision["baseline"]["value"] == pytest.approx(0.5) and decision["candidate"] > 0.7


def test_a_refresh_keeps_every_row_and_counts_truly(loop):
    summary, before = loop["summary"], loop["raw_before"]
    after = pd.read_csv(loop["project"] / "data/raw/data.csv")
    assert summary["rows_removed"] == 0
    # The batch's own duplicated rows are rows of their own; the 10 rows the data holds already add nothing.
    assert summary["rows_added"] == len(loop["batch"]) - 10 == len(after) - len(before)
    assert after.head(len(before)).to_csv(index=False) == before.to_csv(index=False)


def test_no_holdout_row_moves_and_the_champion_is_judged_on_rows_it_never_saw(loop):
    old, new = loop["holdout_v1"], loop["holdout_v2"]
    lines = lambda frame: set(frame.to_csv(index=False, header=False).splitlines())  # noqa: E731
    assert lines(old) <= lines(new)  # every old holdout row is still in the holdout
    champion = loop["v2_decision"]["champion"]
    assert champion["version"] == "1" and champion["overlap"] == 0 and champion["rows"] == len(new)
    verdict = "PASSED" if loop["v2_decision"]["passed"] else "FAILED"
    assert f"gate: {verdict}" in loop["v2"].stdout + loop["v2"].stderr


def test_booking_times_are_times_in_the_suite_the_model_and_drift(loop):
    project = loop["project"]
    suite = json.loads((project / "expectations/suite.json").read_text(encoding="utf-8"))
    kinds = {item["kwargs"].get("column"): item["meta"].get("kind") for item in suite["expectations"]}
    assert kinds["booked"] == "datetime" and kinds["embark_town"] == "categorical"
    bound = next(
        item["kwargs"]["min_value"]
        for item in suite["expectations"]
        if item["type"] == "expect_column_values_to_be_between" and item["kwargs"]["column"] == "booked"
    )
    assert "2023-12-" in bound  # the earliest booking (2024-01-01) less 10% of the 90-day span
    model = project / "models/model.joblib"
    check = (
        "import joblib; pipeline = joblib.load('models/model.joblib'); "
        "print(dict((name, list(columns)) for name, _, columns in pipeline.named_steps['preprocess'].transformers_))"
    )
    assert model.is_file()
    groups = run(f'.venv/bin/python -c "{check}"', project).stdout
    assert "'datetime': ['booked']" in groups and "text booked" not in groups


def test_the_projects_own_tests_pass_on_this_data(loop):
    """The generated tests read the project's data: floats, bools with gaps and times must all be respected."""
    result = loop["own_tests"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_a_column_named_like_an_option_is_one_line(loop):
    result = loop["suite_option"]
    errors = [line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert result.returncode != 0 and len(errors) == 1, result.stderr
    assert errors[0].startswith("error: column '--data' is not in the data; its columns are: 'pclass'")
