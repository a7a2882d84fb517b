"""Slow tier: `make predict ENGINE=spark` scores exactly as the local engine, on messy data.

A project is baked on a passenger table with duplicated rows, booking times, a bool column with
gaps, an integer column with gaps and categories, set up and run as its README says. A new batch
(with gaps in every feature, an unseen category and an id column to pass through) is scored by
`make predict` twice: locally, then on Spark (`local[*]`, one session), after `make setup-spark`.
Before that install, the Spark engine must say in one line how to install it.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TEMPLATE
from test_messy_data import passengers, run

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]


def messy(rows: int, seed: int) -> pd.DataFrame:
    """Passengers without the leaky column, with gaps in the bool, time and category columns too."""
    rng = np.random.default_rng(seed)
    frame = passengers(rows, seed).drop(columns=["alive"])
    frame["alone"] = frame["alone"].astype(object)
    for name in ("alone", "booked", "embark_town", "fare"):
        frame.loc[rng.random(len(frame)) < 0.1, name] = np.nan
    return frame


def part_files(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_csv(path) for path in sorted(folder.glob("part-*.csv"))], ignore_index=True)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("spark")
    messy(500, seed=3).to_csv(root / "passengers.csv", index=False)
    # A linear model: its probabilities move with every digit of every value, so a value Spark reads
    # differently from pandas shows (a forest's are fractions of its trees, and would hide most).
    answers = "dataset=csv data_path=passengers.csv target_column=survived project_name=Passengers model=linear"
    run(f"{sys.executable} -m cookiecutter --no-input {TEMPLATE} {answers}", root)
    project = root / "passengers"
    timings: dict[str, float] = {}

    def timed(name: str, command: str, check: bool = True):
        started = time.monotonic()
        result = run(command, project, check=check)
        timings[name] = round(time.monotonic() - started, 1)
        return result

    timed("setup pipeline", "make setup pipeline")
    batch = messy(200, seed=4)
    batch.loc[batch.index[:5], "embark_town"] = "Belfast"  # a category the model never saw
    batch.insert(0, "passenger_id", [f"p{index:04d}" for index in range(len(batch))])
    batch.to_csv(project / "batch.csv", index=False)
    predict = "make predict INPUT=batch.csv OUTPUT={} {}"
    record = {"project": project, "batch": batch, "timings": timings}
    record["no_pyspark"] = timed("no pyspark", predict.format("spark.csv", "ENGINE=spark"), check=False)
    record["written_without_pyspark"] = (project / "spark.csv").exists()
    timed("local", predict.format("local.csv", ""))
    timed("setup-spark", "make setup-spark")
    record["spark"] = timed("spark", predict.format("spark.csv", "ENGINE=spark"))
    print(f"durations (s): {timings}")
    return record


def test_without_pyspark_the_spark_engine_says_how_to_install_it(scored):
    result = scored["no_pyspark"]
    errors = [line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert result.returncode == 2 and errors == [
        "error: --engine spark needs pyspark, which is not installed: run `make setup-spark`"
    ], result.stderr
    assert not scored["written_without_pyspark"]


def test_spark_predicts_exactly_what_the_local_engine_predicts(scored):
    project = scored["project"]
    local = pd.read_csv(project / "local.csv")
    spark = part_files(project / "spark.csv").set_index("passenger_id").loc[local["passenger_id"]].reset_index()
    assert list(spark.columns) == list(local.columns) == [*scored["batch"].columns.drop(
        ["pclass", "sex", "age", "sibsp", "fare", "alone", "embark_town", "booked"]
    ), "prediction", "probability_0", "probability_1"]  # fmt: skip
    assert len(spark) == len(local) == len(scored["batch"])
    assert spark["prediction"].tolist() == local["prediction"].tolist()
    probabilities = ["probability_0", "probability_1"]
    np.testing.assert_allclose(spark[probabilities], local[probabilities], rtol=0, atol=1e-9)
    assert local["prediction"].nunique() == 2  # both classes occur: the comparison means something


def test_the_sidecar_names_the_champion_the_input_and_the_engine(scored):
    project = scored["project"]
    local = json.loads((project / "local.csv.json").read_text(encoding="utf-8"))
    spark = json.loads((project / "spark.csv.json").read_text(encoding="utf-8"))
    assert spark["model"] == local["model"] and spark["model"]["version"] == "1"
    assert spark["model"]["alias"] == "champion" and spark["model"]["model_sha256"]
    assert spark["input"] == local["input"] and spark["input"]["rows"] == len(scored["batch"])
    assert spark["engine"]["name"] == "spark" and spark["engine"]["master"].startswith("local")
    assert spark["output"]["rows"] == len(scored["batch"]) and spark["classes"] == ["0", "1"]
