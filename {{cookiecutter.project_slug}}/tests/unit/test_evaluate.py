"""Evaluate: the tables behind the plots, and the metrics and plot files the command writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import evaluate, metrics, train

TARGET = "target value"
PLOTS = {"classification": ["confusion_matrix", "roc", "precision_recall"], "regression": ["predictions", "residuals"]}


@pytest.fixture
def model(task_data: pd.DataFrame, data_settings: dict, params: dict[str, Any]) -> Any:
    return train.fit(task_data, data_settings, params["train"])


def test_binary_curves_score_the_second_class() -> None:
    target = pd.Series(["no", "yes", "no", "yes"])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]])
    tables = evaluate.curve_tables(target, proba, ["no", "yes"])
    assert list(tables["roc"].columns) == ["fpr", "tpr"]
    assert list(tables["precision_recall"].columns) == ["recall", "precision"]
    assert tables["roc"]["tpr"].iloc[-1] == 1.0
    assert tables["precision_recall"]["precision"].max() == 1.0


def test_multiclass_curves_are_micro_averaged() -> None:
    target = pd.Series(["a", "b", "c", "a"])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]])
    tables = evaluate.curve_tables(target, proba, ["a", "b", "c"])
    assert tables["roc"]["fpr"].between(0, 1).all()
    assert not tables["precision_recall"].empty


def test_plot_tables_for_the_task(model: Any, task: str, task_data: pd.DataFrame) -> None:
    features, target = task_data.drop(columns=[TARGET]), task_data[TARGET]
    tables = evaluate.plot_tables(task, model, features, target)
    assert list(tables["predictions"].columns) == ["actual", "predicted"]
    if task == "classification":
        assert sorted(tables) == ["precision_recall", "predictions", "roc"]
    else:
        assert sorted(tables) == ["predictions", "residuals"]
        residuals = tables["residuals"]
        np.testing.assert_allclose(residuals["residual"], target - residuals["predicted"])


@pytest.fixture
def evaluated(project, model: Any, task_data: pd.DataFrame) -> list[str]:
    """A saved model and holdout rows in the project; returns the arguments of `evaluate`."""
    import joblib

    project.use_synthetic(task_data.sample(60, random_state=0), "data/prepared/holdout.csv")
    Path("models").mkdir()
    joblib.dump(model, "models/model.joblib")
    return [
        "--model",
        "models/model.joblib",
        "--holdout",
        "data/prepared/holdout.csv",
        "--metrics",
        "reports/metrics.json",
        "--plots-dir",
        "reports/plots",
    ]


def test_main_writes_metrics_and_plots(evaluated: list[str], task: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate.main(evaluated) == 0
    written = json.loads(Path("reports/metrics.json").read_text(encoding="utf-8"))
    assert sorted(written) == sorted([*metrics.names_for(task), "holdout_rows"])
    assert written["holdout_rows"] == 60
    for name in PLOTS[task]:
        assert Path(f"reports/plots/{name}.png").stat().st_size > 1000
        assert not pd.read_csv(f"reports/plots/{name}.csv").empty
    assert capsys.readouterr().out.startswith("evaluate: ")


def test_a_metric_undefined_on_the_holdout_is_written_as_null(
    evaluated: list[str], task: str, task_data: pd.DataFrame, project
) -> None:
    """One class in the holdout: roc_auc has no value. The file stays JSON that every parser reads."""
    if task != "classification":
        pytest.skip("roc_auc is a classification metric")
    one_class = task_data[task_data[TARGET] == task_data[TARGET].iloc[0]].head(30)
    project.use_synthetic(one_class, "data/prepared/holdout.csv")
    assert evaluate.main(evaluated) == 0
    text = Path("reports/metrics.json").read_text(encoding="utf-8")

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    written = json.loads(text, parse_constant=refuse)
    assert written["roc_auc"] is None and written["holdout_rows"] == 30


def test_main_with_missing_target_is_one_line_error(
    evaluated: list[str], project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.params["data"]["target"] = "gone"
    project.save_params()
    assert evaluate.main(evaluated) == 2
    assert capsys.readouterr().err.startswith("error: target column 'gone' not found; columns are: ")
    assert not Path("reports/metrics.json").exists()


def test_main_with_missing_model_is_one_line_error(evaluated: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    Path("models/model.joblib").unlink()
    assert evaluate.main(evaluated) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "models/model.joblib" in err
    assert err.count("\n") == 1
