"""The registered champion serves: pyfunc loads `models:/<name>@champion` and predicts raw rows.

The synthetic tables hold every kind of column a project meets: integers, floats with gaps,
bools, times with gaps, categories with gaps, a category of 30 repeated values and free text.
The run also carries what a reviewer needs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import gate

TARGET = "target value"
pytestmark = pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer column:UserWarning")


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_champion_predicts_raw_holdout_rows_and_its_input_example(
    task: str, registered: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import Model

    # A serving process loads with MLflow's loader, which deserializes only when allowed: the
    # project's commands never allow it (model_file.py reads models there), a server of its own
    # champion may.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")

    name = registered(task)
    uri = f"models:/{name}@champion"
    served = mlflow.pyfunc.load_model(uri)
    rows = pd.read_csv("data/prepared/holdout.csv").drop(columns=[TARGET])
    assert rows.dtypes.map(str).tolist().count("int64") >= 1  # an integer column, as read from the CSV
    assert len(served.predict(rows)) == len(rows)

    local = mlflow.artifacts.download_artifacts(uri)
    example = Model.load(local).load_input_example(local)
    assert len(served.predict(example)) == len(example)

    assert rows["paperless billing"].dtype == bool
    gaps = rows.head(3).copy()
    for column in gaps.select_dtypes(["float", "integer"]).columns:  # an integer column with a gap is a float
        gaps[column] = np.nan
    text_like = [*gaps.select_dtypes(["object", "string"]).columns, "paperless billing"]
    for missing in (np.nan, None):  # an empty CSV cell, and a JSON null in a served request
        for column in text_like:
            gaps[column] = pd.Series([missing] * len(gaps), index=gaps.index, dtype=object)
        # Numbers, bools, categories and text may all be missing at serving time.
        assert len(served.predict(gaps)) == 3
    unseen = rows.head(3).copy()
    category = next(column for column in unseen.select_dtypes(["object", "string"]).columns if column != TARGET)
    unseen[category] = "a value the training rows never had"
    assert len(served.predict(unseen)) == 3
    unseen["zone"] = "zone 99"  # a many-valued category: its unseen value joins the infrequent ones
    unseen["signed up"] = ["2031-05-06T07:08:09+02:00", "2031-05-06", "not a time"]  # any time; junk is missing
    assert len(served.predict(unseen)) == 3


def test_times_and_many_valued_categories_are_encoded_by_their_kind(project, registered: Callable) -> None:
    from {{ cookiecutter.package_name }}.loop.registry import connect

    registered("regression")
    model = connect(project.params["register"]).load("1")  # read back as the gate and drift read it
    fitted = {label: (steps, columns) for label, steps, columns in model.named_steps["preprocess"].transformers_}
    times, columns = fitted["datetime"]
    assert columns == ["signed up"]
    assert list(times[0].get_feature_names_out()) == [
        f"signed up_{part}" for part in ("days_since_1970", "hour", "weekday", "month")
    ]
    steps, columns = fitted["categorical"]
    encoder = steps[-1]
    assert "zone" in columns and "text zone" not in fitted  # a category, not free text
    zones = encoder.categories_[columns.index("zone")]
    assert len(zones) == 30 and encoder.infrequent_categories_[columns.index("zone")] is not None


def test_the_run_carries_what_a_reviewer_needs(registered: Callable, client: Any) -> None:
    name = registered("regression")
    version = client.get_model_version(name, "1")
    run = client.get_run(version.run_id)
    assert run.data.metrics["model_size_bytes"] == Path("models/model.joblib").stat().st_size
    assert run.data.params["gate.metric"] == "r2"
    logged = {item.path for item in client.list_artifacts(version.run_id, "reports")}
    assert {"reports/gate.json", "reports/summary.json", "reports/plots"} <= logged
    plots = {item.path for item in client.list_artifacts(version.run_id, "reports/plots")}
    assert plots == {"reports/plots/residuals.png"}
    assert version.tags["model_md5"] == gate.file_md5("models/model.joblib")
    assert version.tags["gate"] == "passed"
