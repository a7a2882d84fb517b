"""Gate: the decision rule, the champion scored on the same rows, and the command's exit codes."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import gate, metrics, train
from {{ cookiecutter.package_name }}.loop.params import load_params

TARGET = "target value"


def test_first_model_is_judged_by_the_threshold_alone() -> None:
    decision = gate.decide("roc_auc", 0.9, 0.01, 0.95)
    assert decision["passed"] is True
    assert decision["champion"] is None
    assert decision["reasons"] == [
        "roc_auc 0.9500 meets the threshold 0.9 (higher is better)",
        "no champion yet: the checks above decide",
    ]


@pytest.mark.parametrize(
    ("metric", "threshold", "candidate", "passed"),
    [
        ("roc_auc", 0.9, 0.89, False),
        ("roc_auc", 0.9, 0.9, True),  # reaching the threshold is enough
        ("r2", 0.3, -0.5, False),
        ("rmse", 10.0, 12.0, False),
        ("rmse", 10.0, 10.0, True),
        ("mae", 10.0, 3.0, True),
    ],
)
def test_threshold_in_the_metric_direction(metric: str, threshold: float, candidate: float, passed: bool) -> None:
    decision = gate.decide(metric, threshold, 0.01, candidate)
    assert decision["passed"] is passed
    better = "higher" if metrics.METRICS[metric].higher_is_better else "lower"
    assert f"({better} is better)" in decision["reasons"][0]
    assert ("misses" in decision["reasons"][0]) is not passed


@pytest.mark.parametrize(
    ("metric", "champion", "candidate", "passed"),
    [
        ("roc_auc", 0.96, 0.99, True),
        ("roc_auc", 0.96, 0.96 - 0.125, True),  # exactly the tolerance worse still passes
        ("roc_auc", 0.96, 0.96 - 0.126, False),
        ("rmse", 4.0, 3.0, True),
        ("rmse", 4.0, 4.0 + 0.125, True),
        ("rmse", 4.0, 4.0 + 0.126, False),
    ],
)
def test_tolerance_against_the_champion(metric: str, champion: float, candidate: float, passed: bool) -> None:
    threshold = 0.5 if metrics.METRICS[metric].higher_is_better else 100.0
    decision = gate.decide(metric, threshold, 0.125, candidate, {"version": "3", "value": champion})
    assert decision["passed"] is passed
    assert "champion v3" in decision["reasons"][1]
    assert ("worse than champion" in decision["reasons"][1]) is not passed


def test_nan_candidate_fails() -> None:
    decision = gate.decide("roc_auc", 0.0, 0.01, math.nan)
    assert decision["passed"] is False
    assert decision["reasons"][0] == "roc_auc nan misses the threshold 0.0 (higher is better)"


def test_champion_that_cannot_be_scored_fails_the_gate_and_names_the_switch() -> None:
    champion = {"version": "2", "error": "ValueError: columns are missing", "missing": ["x"]}
    decision = gate.decide("r2", 0.3, 0.01, 0.99, champion)
    assert decision["passed"] is False
    assert decision["reasons"][1] == (
        "champion v2 could not be scored on the holdout rows: ValueError: columns are missing; "
        "if the change of columns is deliberate, set gate.allow_schema_change: true in params.yaml for this change only"
    )


def test_allowed_schema_change_lets_the_threshold_decide_and_says_so() -> None:
    champion = {"version": "2", "error": "ValueError: columns are missing", "schema_change_allowed": True}
    decision = gate.decide("r2", 0.3, 0.01, 0.99, champion)
    assert decision["passed"] is True
    assert "not compared, because gate.allow_schema_change is true" in decision["reasons"][1]
    assert gate.decide("r2", 0.3, 0.01, 0.1, champion)["passed"] is False  # the threshold still applies


def test_unknown_metric_is_a_params_error() -> None:
    with pytest.raises(gate.ParamsError, match=r"gate.metric='auc': unknown; allowed: roc_auc, accuracy"):
        gate.decide("auc", 0.9, 0.01, 0.95)


def test_metric_of_the_other_task_is_a_params_error(params: dict[str, Any]) -> None:
    with pytest.raises(gate.ParamsError, match=r"not among the evaluated metrics \['r2'\]"):
        gate.evaluate_gate({**params, "gate": {**params["gate"], "metric": "accuracy"}}, {"r2": 0.5}, None, None, None)


@pytest.fixture
def holdout(task_data: pd.DataFrame) -> pd.DataFrame:
    return task_data.tail(60)


@pytest.fixture
def champion(
    task_data: pd.DataFrame, data_settings: dict, params: dict[str, Any], register_model: Callable[[Any], str]
) -> str:
    """A champion in the test registry, fitted on the synthetic rows."""
    import mlflow

    rows = task_data.head(100)
    version = register_model(train.fit(rows, data_settings, params["train"]), trained_on=rows)
    mlflow.MlflowClient().set_registered_model_alias("test-model", "champion", version)
    return version


def test_no_champion_scores_none(client: Any, params: dict[str, Any], holdout: pd.DataFrame, task: str) -> None:
    metric = metrics.names_for(task)[0]
    assert gate.score_champion(params["register"], task, metric, holdout, TARGET) is None


def test_champion_is_scored_on_the_holdout_rows(
    champion: str, params: dict[str, Any], holdout: pd.DataFrame, task: str
) -> None:
    metric = metrics.names_for(task)[0]
    scored = gate.score_champion(params["register"], task, metric, holdout, TARGET)
    assert scored is not None
    assert scored["version"] == champion
    assert metrics.METRICS[metric].low <= scored["value"] <= metrics.METRICS[metric].high


def test_champion_that_needs_other_columns_is_an_error(
    champion: str, params: dict[str, Any], holdout: pd.DataFrame, task: str
) -> None:
    metric = metrics.names_for(task)[0]
    renamed = holdout.rename(columns={holdout.columns[0]: "renamed column"})
    scored = gate.score_champion(params["register"], task, metric, renamed, TARGET)
    assert scored == {
        "version": champion,
        "error": f"ValueError: feature columns {holdout.columns[0]!r} are not in the holdout rows",
        "missing": [holdout.columns[0]],
    }
    allowed = gate.score_champion(params["register"], task, metric, renamed, TARGET, allow_schema_change=True)
    assert allowed == {**scored, "schema_change_allowed": True}


def test_main_with_a_removed_column_fails_unless_the_switch_is_set(
    champion: str,
    gate_args: Callable,
    project,
    task_data: pd.DataFrame,
    holdout: pd.DataFrame,
    data_settings: dict,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import joblib

    removed = holdout.columns[-2]  # not the main signal; the candidate does without it, the champion needs it
    project.use_synthetic(holdout.drop(columns=removed), "data/prepared/holdout.csv")
    project.use_synthetic(task_data.head(100).drop(columns=removed), "data/prepared/train.csv")
    fitted = train.fit(task_data.head(100).drop(columns=removed), data_settings, project.params["train"])
    joblib.dump(fitted, "model.joblib")
    good = {project.params["gate"]["metric"]: passing_value(project.params)}
    assert gate.main(gate_args(good)) == 1
    assert "set gate.allow_schema_change: true in params.yaml" in capsys.readouterr().err
    project.params["gate"]["allow_schema_change"] = True
    project.save_params()
    assert gate.main(gate_args(good)) == 0
    decision = json.loads(Path("reports/gate.json").read_text(encoding="utf-8"))
    assert decision["allow_schema_change"] is True
    assert decision["champion"]["schema_change_allowed"] is True


def test_main_stops_with_exit_4_when_the_registry_cannot_answer(
    gate_args: Callable, project, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    project.params["register"]["retry_seconds"] = 1
    project.save_params()
    assert gate.main(gate_args({project.params["gate"]["metric"]: passing_value(project.params)})) == 4
    captured = capsys.readouterr()
    assert "PASSED" not in captured.out and "no champion" not in captured.out
    assert captured.err.splitlines()[-1].startswith(f"error: registry http://127.0.0.1:{port}: reading model")
    assert not Path("reports/gate.json").exists()


def test_main_stops_with_exit_4_when_the_champion_cannot_be_loaded(
    champion: str, client: Any, gate_args: Callable, project, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil
    from urllib.parse import urlparse

    location = client.get_model_version_download_uri("test-model", champion)
    shutil.rmtree(urlparse(location).path)
    assert gate.main(gate_args({project.params["gate"]["metric"]: passing_value(project.params)})) == 4
    lines = [line for line in capsys.readouterr().err.splitlines() if " INFO mlflow." not in line]  # off in the CLI
    assert len(lines) == 1 and f"models:/test-model/{champion} has no model files" in lines[0]
    assert not Path("reports/gate.json").exists()


@pytest.fixture
def gate_args(
    project, task_data: pd.DataFrame, holdout: pd.DataFrame, data_settings: dict
) -> Callable[[dict[str, float]], list[str]]:
    """Write candidate metrics, a fitted model and the training and holdout rows; return the arguments of `gate`."""
    import joblib

    project.use_synthetic(task_data.head(100), "data/prepared/train.csv")
    project.use_synthetic(holdout, "data/prepared/holdout.csv")
    joblib.dump(train.fit(task_data.head(100), data_settings, project.params["train"]), "model.joblib")

    def args(candidate_metrics: dict[str, float]) -> list[str]:
        Path("metrics.json").write_text(json.dumps(candidate_metrics), encoding="utf-8")
        return [
            "--model",
            "model.joblib",
            "--train",
            "data/prepared/train.csv",
            "--holdout",
            "data/prepared/holdout.csv",
            "--metrics",
            "metrics.json",
            "--decision",
            "reports/gate.json",
        ]

    return args


def passing_value(params: dict[str, Any]) -> float:
    """A value of the gate metric that clears its threshold (if any) and the baseline."""
    metric, threshold = params["gate"]["metric"], params["gate"]["threshold"]
    if metrics.METRICS[metric].higher_is_better:
        return 0.98 if threshold is None else min(float(threshold) + 0.05, 1.0)
    return 1e-3 if threshold is None else float(threshold) / 2


def test_main_passes_first_candidate(
    client: Any, gate_args: Callable, params: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    value = passing_value(params)
    assert gate.main(gate_args({params["gate"]["metric"]: value})) == 0
    decision = json.loads(Path("reports/gate.json").read_text(encoding="utf-8"))
    assert decision["passed"] is True
    assert decision["candidate"] == value
    assert decision["model_md5"] == gate.file_md5("model.joblib")
    assert decision["inputs"] == {
        "model": gate.file_md5("model.joblib"),
        "holdout": gate.file_md5("data/prepared/holdout.csv"),
        "metrics": gate.file_md5("metrics.json"),
        "params": gate.params_md5(load_params("params.yaml")),
    }
    assert capsys.readouterr().out.startswith("gate: PASSED\n  - ")


def test_main_fails_a_candidate_below_the_threshold(
    client: Any, gate_args: Callable, project, capsys: pytest.CaptureFixture[str]
) -> None:
    metric = project.params["gate"]["metric"]
    higher = metrics.METRICS[metric].higher_is_better
    project.params["gate"]["threshold"] = 0.9 if higher else 1.0
    project.save_params()
    assert gate.main(gate_args({metric: 0.5 if higher else 2.0})) == 1
    assert json.loads(Path("reports/gate.json").read_text(encoding="utf-8"))["passed"] is False
    assert capsys.readouterr().err.startswith(f"gate: FAILED\n  - {metric} ")


def test_main_fails_a_candidate_worse_than_the_champion(
    champion: str, gate_args: Callable, project, holdout: pd.DataFrame, task: str
) -> None:
    metric = metrics.names_for(task)[0]
    low = metrics.METRICS[metric].low  # r2 has no lowest value, and params.yaml takes finite numbers only
    project.params["gate"] = {"metric": metric, "threshold": low if math.isfinite(low) else -1e9, "tolerance": 0.01}
    project.save_params()
    scored = gate.score_champion(project.params["register"], task, metric, holdout, TARGET)
    worse = scored["value"] - 0.02 if metrics.METRICS[metric].higher_is_better else scored["value"] + 0.02
    assert gate.main(gate_args({metric: worse})) == 1
    decision = json.loads(Path("reports/gate.json").read_text(encoding="utf-8"))
    assert decision["champion"] == {"version": champion, "value": scored["value"], "rows": 60, "overlap": 0}
    assert f"is worse than champion v{champion}" in decision["reasons"][-1]


def test_main_with_unknown_metric_is_one_line_error(
    gate_args: Callable, project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.params["gate"]["metric"] = "precision"
    project.save_params()
    assert gate.main(gate_args({"accuracy": 0.9})) == 2
    assert capsys.readouterr().err == (
        'error: params.yaml: gate.metric = "precision": must be one of roc_auc, accuracy, f1, r2, rmse, mae\n'
    )
    assert not Path("reports/gate.json").exists()


def test_main_with_missing_metrics_is_one_line_error(gate_args: Callable, capsys: pytest.CaptureFixture[str]) -> None:
    args = gate_args({})
    Path("metrics.json").unlink()
    assert gate.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "metrics.json" in err
    assert err.count("\n") == 1


BASELINE = {"estimator": "DummyClassifier, class shares", "value": 0.5}


@pytest.mark.parametrize(
    ("metric", "baseline", "candidate", "passed"),
    [
        ("roc_auc", 0.5, 0.56, True),  # removes 12% of the baseline's error (0.5)
        ("roc_auc", 0.5, 0.54, False),  # removes 8%: no real skill
        ("r2", -0.01, 0.3, True),
        ("r2", -0.01, 0.05, False),
        ("rmse", 10.0, 8.9, True),  # 11% below the baseline's error
        ("rmse", 10.0, 9.5, False),
        ("accuracy", 0.9, 0.9, False),  # the majority class: exactly no skill
    ],
)
def test_the_candidate_must_beat_a_trivial_baseline(
    metric: str, baseline: float, candidate: float, passed: bool
) -> None:
    decision = gate.decide(metric, None, 0.01, candidate, None, {"estimator": "dummy", "value": baseline}, 0.1)
    assert decision["passed"] is passed
    assert decision["reasons"][0].startswith(f"{metric} {candidate:.4f} {'beats' if passed else 'does not beat'}")
    assert decision["threshold"] is None and decision["baseline"]["value"] == baseline


def test_a_leaky_column_or_a_perfect_score_stops_the_gate_unless_accepted() -> None:
    leak = {"columns": {"alive": 1.0}, "perfect": True}
    decision = gate.decide("roc_auc", None, 0.01, 1.0, None, BASELINE, 0.1, leak)
    assert decision["passed"] is False
    assert decision["reasons"][1] == (
        "leakage suspected: column 'alive' alone predicts the target (1.000); the holdout roc_auc is perfect; a "
        "model that reads the answer from its input is not evidence: drop the column(s), or set "
        "gate.allow_leakage: true in params.yaml if it is deliberate"
    )
    accepted = gate.decide("roc_auc", None, 0.01, 1.0, None, BASELINE, 0.1, leak, allow_leakage=True)
    assert accepted["passed"] is True and accepted["allow_leakage"] is True
    assert "accepted by gate.allow_leakage: true" in accepted["reasons"][1]


def test_a_champion_that_cannot_be_proven_clean_fails_unless_accepted() -> None:
    champion = {"version": "4", "unproven": "champion v4 has no record of the rows it trained on"}
    decision = gate.decide("roc_auc", None, 0.01, 0.9, champion, BASELINE, 0.1)
    assert decision["passed"] is False
    assert decision["reasons"][-1].endswith(
        "set gate.allow_unproven_champion: true in params.yaml for this change only"
    )
    allowed = gate.decide("roc_auc", None, 0.01, 0.9, {**champion, "unproven_allowed": True}, BASELINE, 0.1)
    assert allowed["passed"] is True
    assert "not compared, because gate.allow_unproven_champion is true" in allowed["reasons"][-1]


def test_a_champion_is_compared_on_the_rows_it_never_trained_on() -> None:
    champion = {"version": "2", "value": 0.80, "rows": 56, "overlap": 101, "candidate_value": 0.84}
    decision = gate.decide("roc_auc", None, 0.01, 0.86, champion, BASELINE, 0.1)
    assert decision["passed"] is True
    assert decision["reasons"][-1] == (
        "roc_auc 0.8400 is within 0.01 of champion v2 (0.8000) on the 56 holdout rows it never trained on or better"
    )


def test_the_champion_is_scored_only_on_holdout_rows_it_never_trained_on(
    task_data: pd.DataFrame, data_settings: dict, params: dict[str, Any], register_model: Callable, task: str
) -> None:
    import mlflow

    seen = task_data.head(100)
    model = train.fit(seen, data_settings, params["train"])
    version = register_model(model, trained_on=seen)
    mlflow.MlflowClient().set_registered_model_alias("test-model", "champion", version)
    metric = metrics.names_for(task)[0]
    mixed = pd.concat([seen.head(40), task_data.tail(60)], ignore_index=True)  # 40 rows it learned, 60 it did not
    scored = gate.score_champion(params["register"], task, metric, mixed, TARGET, candidate_model=model)
    assert (scored["rows"], scored["overlap"]) == (60, 40)
    features, truth = task_data.tail(60).drop(columns=[TARGET]), task_data.tail(60)[TARGET]
    assert scored["value"] == pytest.approx(metrics.score(task, model, features, truth)[metric])
    assert scored["candidate_value"] == pytest.approx(scored["value"])  # the same model, on the same rows
    learned = gate.score_champion(params["register"], task, metric, seen.head(50), TARGET, candidate_model=model)
    assert learned["unproven"].startswith(f"champion v{version} trained on 50 of the 50 holdout rows")
    keyed = gate.score_champion(params["register"], task, metric, mixed, TARGET, key=[mixed.columns[0]])
    assert "(data.key and the columns): they cannot be compared" in keyed["unproven"]


def test_a_champion_without_a_record_of_its_rows_is_unproven(
    task_data: pd.DataFrame, data_settings: dict, params: dict[str, Any], register_model: Callable, task: str
) -> None:
    import mlflow

    version = register_model(train.fit(task_data.head(100), data_settings, params["train"]))
    mlflow.MlflowClient().set_registered_model_alias("test-model", "champion", version)
    scored = gate.score_champion(params["register"], task, metrics.names_for(task)[0], task_data.tail(60), TARGET)
    assert scored == {
        "version": version,
        "unproven": f"champion v{version} has no record of the rows it trained on, so its holdout score may come "
        "from rows it learned: run `make holdout-migrate` to record them (README, 'The holdout')",
        "unproven_allowed": False,
    }


def test_an_undefined_comparison_never_passes() -> None:
    nan = float("nan")
    for champion in ({"version": "3", "value": nan}, {"version": "3", "value": 0.8, "candidate_value": nan}):
        decision = gate.decide("roc_auc", None, 0.01, 0.9, {**champion, "rows": 40, "overlap": 196}, BASELINE, 0.1)
        assert decision["passed"] is False
        assert "is undefined on the rows compared" in decision["reasons"][-1]
    written = gate.strict_json({"value": nan, "rows": [float("inf"), 1.0]})
    assert json.loads(written) == {"value": None, "rows": [None, 1.0]}
