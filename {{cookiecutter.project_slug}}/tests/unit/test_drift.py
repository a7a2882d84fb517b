"""The drift command: the verdict and its reasons, exit codes, errors and the report files agree."""

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.loop import drift
from {{ cookiecutter.package_name }}.loop.drift import command

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
    params["gate"]["metric"] = "accuracy"
    params["drift"].update(reference="reference.csv", current="current.csv", report_dir="out", holdout="holdout.csv")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_drift(reference: pd.DataFrame, current: pd.DataFrame, *args: str) -> tuple[int, dict]:
    reference.to_csv("reference.csv", index=False)
    current.to_csv("current.csv", index=False)
    code = drift.main(["--no-model", *args] if "--model" not in args else list(args))
    report = Path("out/drift.json")
    return code, json.loads(report.read_text()) if report.exists() else {}


def fit_model(reference: pd.DataFrame, task: str = "classification") -> list[str]:
    """Save a model of `a`..`f` on the reference and its holdout metrics; return the arguments that use them."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    model = LogisticRegression() if task == "classification" else LinearRegression()
    model.fit(reference[FEATURES], reference["target"])
    Path("models").mkdir(exist_ok=True)
    joblib.dump(model, "models/model.joblib")
    make_frame(500, 99).to_csv("holdout.csv", index=False)  # rows it never trained on: they calibrate the estimate
    return ["--model", "models/model.joblib", "--reference-metrics", "metrics.json", "--holdout", "holdout.csv"]


def write_metrics(**metrics: float) -> None:
    Path("metrics.json").write_text(json.dumps(metrics))


def assert_agree(code: int, report: dict, printed: str, reasons: list[str]) -> None:
    """The exit code, drift.json, drift.md and the printed line tell the same verdict and reasons."""
    assert report["reasons"] == reasons
    assert report["dataset_drift"] == bool(reasons) == (code == drift.DRIFT_EXIT_CODE)
    assert printed.startswith(report["headline"])
    markdown = Path("out/drift.md").read_text()
    assert markdown.startswith("## Data drift: drift detected" if reasons else "## Data drift: no drift")
    for name in ("share", "schema", "type", "quality", "estimate", "predictions"):
        mark = "✗" if name in reasons else ("○" if report["checks"][name]["ran"] is False else "✓")
        assert f"- {mark} {name}: " in markdown


@pytest.mark.parametrize(("reference_rows", "current_rows"), [(5000, 4000), (500, 300)])
def test_known_shifts_flag_exactly_the_shifted_columns(project, capsys, reference_rows, current_rows):
    shifted = {"a": 1.0, "c": 0.5, "d": 1.0, "colour": 1}
    code, report = run_drift(make_frame(reference_rows, 1), make_frame(current_rows, 2, shifted))
    assert set(report["drifted_columns"]) == set(shifted)
    assert report["drift_share"] == pytest.approx(4 / 7)
    assert_agree(code, report, capsys.readouterr().out, ["share"])


@pytest.mark.parametrize("seed", range(6))
def test_200_random_rows_of_the_same_data_do_not_alarm(project, capsys, seed):
    rng = np.random.default_rng(seed)
    population = make_frame(20_000, 100)
    population["carat"] = rng.lognormal(-0.5, 0.6, len(population))
    population["price"] = np.round(rng.pareto(2.5, len(population)) * 1000, 0)
    shares = [0.3, 0.2, 0.15, 0.1, 0.1, 0.1, 0.04, 0.005, 0.003, 0.002]  # three rare values
    population["cut"] = rng.choice(list("ABCDEFGHIJ"), len(population), p=shares)
    population["grade"] = rng.integers(1, 4, len(population))
    rows = rng.permutation(len(population))
    code, report = run_drift(population.iloc[rows[:5000]], population.iloc[rows[5000:5200]])
    assert len(report["drifted_columns"]) <= 1  # a column alarms on noise in about 1% of batches (benchmarks/)
    assert_agree(code, report, capsys.readouterr().out, [])


def test_junk_cells_and_a_3_sd_shift_of_every_column_are_type_changes_and_drift(project, capsys):
    reference = make_frame(3000, 1).drop(columns="colour")
    current = make_frame(500, 2, dict.fromkeys(FEATURES, 3.0)).drop(columns="colour").round(4).astype(object)
    current.loc[7, FEATURES] = "n/a?"
    current.loc[9, "b"] = "12,5"
    code, report = run_drift(reference, current)
    assert set(report["schema_changes"]["type_changed"]) == set(FEATURES)
    assert report["columns"]["b"]["type_change"]["examples"] == ["n/a?", "12,5"]
    assert all(report["columns"][name]["distribution_drift"] for name in FEATURES)  # the numbers that parse
    assert report["drifted_columns"] == FEATURES
    assert_agree(code, report, capsys.readouterr().out, ["share", "type"])
    assert "n/a?" in Path("out/drift.md").read_text()


def test_a_missing_column_unseen_categories_and_age_x12_are_schema_drift(project, capsys):
    reference = make_frame(3000, 1).rename(columns={"a": "age"})
    current = make_frame(200, 2).rename(columns={"a": "age"}).drop(columns="f")
    current["age"] *= 12
    current.loc[:29, "colour"] = "purple"
    code, report = run_drift(reference, current)
    schema = report["schema_changes"]
    assert schema["missing_in_current"] == ["f"]
    assert schema["unseen_categories"]["colour"]["values"] == [{"value": "purple", "share": 0.15}]
    assert {"age", "f", "colour"} <= set(report["drifted_columns"])
    assert_agree(code, report, capsys.readouterr().out, ["schema"])
    markdown = Path("out/drift.md").read_text()
    assert markdown.index("Missing from the current data") < markdown.index("Columns, drifted first")
    assert markdown.index("purple (15%)") < markdown.index("Columns, drifted first")


def times(start: str, rows: int, seed: int) -> pd.Series:
    """Booking times spread over one week from `start`, as a CSV holds them."""
    rng = np.random.default_rng(seed)
    moments = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 7 * 24 * 60, rows), unit="min")
    return pd.Series(moments.strftime("%Y-%m-%d %H:%M:%S"))


def test_times_are_compared_as_times_and_zones_as_categories(project, capsys):
    reference = make_frame(2000, 1).assign(booked=times("2024-03-04", 2000, 1))
    reference["zone"] = [f"Zone {number % 70}" for number in range(2000)]  # 70 names: categories, not free text
    same_week = make_frame(500, 2).assign(booked=times("2024-03-04", 500, 2), zone=reference["zone"][:500])
    _, report = run_drift(reference, same_week)
    assert report["columns"]["booked"]["type"] == "datetime" and report["columns"]["booked"]["test"] == "ks"
    assert report["columns"]["zone"]["type"] == "categorical" and report["columns"]["zone"]["test"] == "chisquare"
    assert not report["columns"]["booked"]["drift"] and not report["columns"]["zone"]["drift"]

    next_week = same_week.assign(booked=times("2024-03-11", 500, 2))  # same lengths, same hours: another week
    _, report = run_drift(reference, next_week)
    assert report["columns"]["booked"]["distribution_drift"] and "booked" in report["drifted_columns"]
    markdown = Path("out/drift.md").read_text()
    assert "| booked | time | yes |" in markdown and "(Kolmogorov-Smirnov)" in markdown
    assert "median 2024-03-14" in markdown  # figures are times, not seconds

    junk = same_week.copy()
    junk.loc[:9, "booked"] = "next Tuesday"
    _, report = run_drift(reference, junk)
    change = report["columns"]["booked"]["type_change"]
    assert (change["reference"], change["current"], change["unparsed"]) == ("datetime", "text", 10)
    assert change["examples"] == ["next Tuesday"] and report["columns"]["booked"]["drift"]


def test_a_new_column_is_schema_drift(project):
    code, report = run_drift(make_frame(2000, 1), make_frame(500, 2).assign(extra=1.0))
    assert report["schema_changes"]["new_in_current"] == ["extra"] and report["reasons"] == ["schema"]
    assert code == drift.DRIFT_EXIT_CODE


def flip(frame: pd.DataFrame, share: float, seed: int = 0) -> pd.DataFrame:
    """Return the frame with the label of a random `share` of its rows flipped."""
    frame = frame.copy()
    rows = np.random.default_rng(seed).random(len(frame)) < share
    frame.loc[rows, "target"] = 1 - frame.loc[rows, "target"]
    return frame


def test_accuracy_falling_from_082_to_068_is_quality_drift(project, capsys):
    reference = make_frame(3000, 1)
    args = fit_model(reference)
    write_metrics(accuracy=0.82, f1=0.82, roc_auc=0.9)
    current = flip(make_frame(1000, 2), 0.2)  # the model is right on ~83% of clean rows; ~68% after the flips
    code, report = run_drift(reference, current, *args)
    quality = report["model"]["quality"]
    assert 0.62 < quality["metrics"]["accuracy"]["current"] < 0.72
    assert quality["metrics"]["accuracy"]["direction"] == "worse" and quality["drift"]
    assert report["model"]["predictions"]["drift"] is False
    assert_agree(code, report, capsys.readouterr().out, ["quality"])
    assert "accuracy 0.82 → 0.7" in report["headline"]
    assert "| accuracy |" in Path("out/drift.md").read_text() and "| worse |" in Path("out/drift.md").read_text()


def test_a_small_quality_change_is_not_drift(project, capsys):
    reference = make_frame(3000, 1)
    args = fit_model(reference)
    write_metrics(accuracy=0.85, f1=0.85, roc_auc=0.9)
    code, report = run_drift(reference, make_frame(1000, 2), *args)
    assert abs(report["model"]["quality"]["metrics"]["accuracy"]["change"]) < 0.05
    assert_agree(code, report, capsys.readouterr().out, [])


def test_r2_falling_from_044_to_negative_is_quality_drift(project, capsys):
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["data"]["task"], params["gate"]["metric"] = "regression", "r2"
    Path("params.yaml").write_text(yaml.safe_dump(params))
    noise = np.random.default_rng(3).normal(0, 2.2, 3500)
    reference = make_frame(3000, 1).assign(target=lambda frame: frame["a"] + noise[:3000])
    args = fit_model(reference, "regression")
    write_metrics(r2=0.44, rmse=2.2, mae=1.8)
    # The relation turned around: the target now falls as `a` rises.
    current = make_frame(500, 2).assign(target=lambda frame: 20 - frame["a"] + noise[3000:])
    code, report = run_drift(reference, current, *args)
    quality = report["model"]["quality"]["metrics"]
    assert quality["r2"]["current"] < 0 and quality["r2"]["direction"] == "worse"
    assert quality["rmse"]["direction"] == "worse"  # rmse got larger: worse, though the number went up
    assert_agree(code, report, capsys.readouterr().out, ["quality"])


def test_a_model_that_cannot_score_the_batch_is_drift(project, capsys):
    reference = make_frame(3000, 1)
    args = fit_model(reference)  # LogisticRegression refuses missing values
    write_metrics(accuracy=0.82, f1=0.82, roc_auc=0.9)
    current = make_frame(1000, 2)
    current.loc[:3, "b"] = np.nan
    code, report = run_drift(reference, current, *args)
    assert report["model"]["quality"]["status"] == "failed"
    assert "could not score the current data" in report["checks"]["quality"]["text"]
    assert_agree(code, report, capsys.readouterr().out, ["quality", "predictions"])


def test_prediction_drift_is_reported_without_the_target(project, capsys):
    reference = make_frame(3000, 1)
    args = fit_model(reference)
    write_metrics(accuracy=0.84, f1=0.84, roc_auc=0.92)
    current = make_frame(1000, 2, {"a": 1.0}).drop(columns="target")
    code, report = run_drift(reference, current, *args)
    assert report["model"]["quality"]["status"] == "no_target"
    assert report["model"]["predictions"]["column"]["type"] == "categorical"
    assert_agree(code, report, capsys.readouterr().out, ["predictions"])


def register_champion(
    project, monkeypatch, empty_registry, file_tags, reference: pd.DataFrame, accuracy: float, record: bool = False
) -> str:
    """Register a model of `a`..`f` with its holdout accuracy, make it champion; return its name.

    `record`: also record the rows it trained on, as `register` does.
    """
    import shutil

    import mlflow
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression
    from skops.io import dumps, get_untrusted_types

    shutil.copyfile(empty_registry, project / "mlflow.db")
    uri = f"sqlite:///{(project / 'mlflow.db').as_posix()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    name = yaml.safe_load(Path("params.yaml").read_text())["register"]["model_name"]
    model = LogisticRegression().fit(reference[FEATURES], reference["target"])
    mlflow.set_experiment(name)
    with mlflow.start_run():
        mlflow.log_metrics({"accuracy": accuracy})
        if record:
            from {{ cookiecutter.package_name }}.loop.register import training_record
            from {{ cookiecutter.package_name }}.loop.registry import TRAINING_ROWS

            training_tags, trained_on = training_record(reference, None)
            Path("rows.u64").write_bytes(trained_on)
            mlflow.log_artifact("rows.u64", artifact_path=str(Path(TRAINING_ROWS).parent))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=name,
            pip_requirements=["scikit-learn"],
            skops_trusted_types=get_untrusted_types(data=dumps(model)),
        )
    for tag, value in {**file_tags(info.model_uri), **(training_tags if record else {})}.items():
        mlflow.MlflowClient().set_model_version_tag(name, str(info.registered_model_version), tag, value)
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", str(info.registered_model_version))
    return name


def test_the_champion_is_scored_against_the_metrics_it_was_registered_with(
    project, monkeypatch, empty_registry, file_tags, capsys
):
    reference = make_frame(3000, 1)
    name = register_champion(project, monkeypatch, empty_registry, file_tags, reference, accuracy=1.0)
    reference.to_csv("reference.csv", index=False)
    make_frame(1000, 2).to_csv("current.csv", index=False)
    make_frame(500, 99).to_csv("holdout.csv", index=False)
    code = drift.main(["--champion"])  # there is no models/model.joblib: only the champion can be scored
    report = json.loads(Path("out/drift.json").read_text())
    assert report["model"]["source"] == f"champion v1 of {name!r} (the registry)"
    assert report["model"]["version"] == "1"
    estimate = report["model"]["estimate"]  # no record of its training rows: no holdout row is known unseen
    assert estimate["status"] == "not_estimated" and "no record of the rows it trained on" in estimate["message"]
    assert report["model"]["quality"]["metrics"]["accuracy"]["reference"] == 1.0
    assert_agree(code, report, capsys.readouterr().out, ["quality"])  # about 0.85 now, registered 1.0
    assert f"**Model scored**: champion v1 of {name!r} (the registry)" in Path("out/drift.md").read_text()


def test_the_champions_estimate_is_calibrated_only_on_holdout_rows_it_never_trained_on(
    project, monkeypatch, empty_registry, file_tags
):
    reference = make_frame(3000, 1)
    register_champion(project, monkeypatch, empty_registry, file_tags, reference, accuracy=0.84, record=True)
    reference.to_csv("reference.csv", index=False)
    make_frame(1000, 2).drop(columns="target").to_csv("current.csv", index=False)
    pd.concat([reference.head(300), make_frame(400, 99)]).to_csv("holdout.csv", index=False)
    code = drift.main(["--champion"])
    estimate = json.loads(Path("out/drift.json").read_text())["model"]["estimate"]
    assert estimate["status"] == "estimated" and estimate["holdout_rows"] == 400  # the 300 it learned are left out
    from sklearn.linear_model import LogisticRegression

    unseen = make_frame(400, 99)
    same = LogisticRegression().fit(reference[FEATURES], reference["target"])  # the champion, fitted again
    realised = float((same.predict(unseen[FEATURES]) == unseen["target"]).mean())
    accuracy = estimate["metrics"]["accuracy"]  # compared with the accuracy realised on those 400 rows
    assert accuracy["holdout"] == pytest.approx(realised)
    assert accuracy["low"] <= accuracy["estimate"] <= accuracy["high"]
    assert abs(accuracy["estimate"] - realised) < 0.05 and code == 0  # the same population: no estimated drop


def test_without_a_champion_the_pipeline_model_is_scored_and_the_report_says_so(
    project, monkeypatch, empty_registry, capsys
):
    import shutil

    shutil.copyfile(empty_registry, project / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{(project / 'mlflow.db').as_posix()}")
    reference = make_frame(3000, 1)
    fit_model(reference)  # models/model.joblib, params.yaml's drift.model
    Path("reports").mkdir()
    Path("reports/metrics.json").write_text(json.dumps({"accuracy": 0.85, "f1": 0.85, "roc_auc": 0.9}))
    reference.to_csv("reference.csv", index=False)
    make_frame(1000, 2).to_csv("current.csv", index=False)
    assert drift.main(["--champion"]) in (0, drift.DRIFT_EXIT_CODE)
    report = json.loads(Path("out/drift.json").read_text())
    assert report["model"]["source"] == "models/model.joblib (the registry has no champion yet)"


def test_champion_and_a_named_model_together_are_refused(project, capsys):
    make_frame(200, 1).to_csv("reference.csv", index=False)
    make_frame(200, 2).to_csv("current.csv", index=False)
    assert drift.main(["--champion", "--model", "models/model.joblib"]) == drift.ERROR_EXIT_CODE
    assert "give it, or --model and --reference-metrics" in capsys.readouterr().err


def test_without_a_registry_file_the_champion_check_creates_none(project, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{(project / 'mlflow.db').as_posix()}")
    reference = make_frame(3000, 1)
    fit_model(reference)
    Path("reports").mkdir()
    Path("reports/metrics.json").write_text(json.dumps({"accuracy": 0.85, "f1": 0.85, "roc_auc": 0.9}))
    reference.to_csv("reference.csv", index=False)
    make_frame(1000, 2).to_csv("current.csv", index=False)
    assert drift.main(["--champion"]) in (0, drift.DRIFT_EXIT_CODE)
    assert not (project / "mlflow.db").exists()  # a later `make registry-pull` finds nothing in its way


def test_a_registry_that_cannot_answer_stops_the_drift_check(project, monkeypatch, capsys):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params = yaml.safe_load(Path("params.yaml").read_text())
    params["register"]["retry_seconds"] = 1
    Path("params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    reference = make_frame(2000, 1)
    reference.to_csv("reference.csv", index=False)
    make_frame(1000, 2).to_csv("current.csv", index=False)
    assert drift.main(["--champion"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: registry http://127.0.0.1:") and err.count("\n") == 1
    assert not Path("out/drift.json").exists()  # no verdict, and certainly not "no drift"


def test_no_model_is_said_in_the_verdict(project, capsys):
    code, report = run_drift(make_frame(2000, 1), make_frame(1000, 2))
    assert report["checks"]["quality"] == {"drift": False, "ran": False, "text": "not checked: --no-model"}
    assert_agree(code, report, capsys.readouterr().out, [])
    assert "quality, estimate and predictions not checked" in report["headline"]


def test_parquet_gives_the_same_result_as_csv(project):
    reference, current = make_frame(3000, 1), make_frame(2000, 2, {"a": 1.0})
    _, from_csv = run_drift(reference, current)
    reference.to_parquet("reference.parquet")
    current.to_parquet("current.parquet")
    args = ["--no-model", "--reference", "reference.parquet", "--current", "current.parquet", "--report-dir", "pq"]
    assert drift.main(args) == 0
    from_parquet = json.loads(Path("pq/drift.json").read_text())
    assert from_parquet["columns"] == from_csv["columns"]


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
    assert drift.main(["--no-model", "--current", current]) == drift.ERROR_EXIT_CODE
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1
    assert message in error


MODEL_ERRORS = {
    "no model": ([], "models/model.joblib: model not found; run `make reference`"),
    "not a model": (["--model", "params.yaml"], "params.yaml: cannot be loaded as a model"),
    "no metrics": (["--model", "models/fitted.joblib"], "metrics.json: reference metrics not found"),
}


@pytest.mark.parametrize("case", MODEL_ERRORS)
def test_a_model_check_that_cannot_run_is_an_error_not_a_pass(project, capsys, case):
    reference = make_frame(500, 1)
    fit_model(reference)
    Path("models/model.joblib").rename("models/fitted.joblib")
    args, message = MODEL_ERRORS[case]
    reference.to_csv("reference.csv", index=False)
    make_frame(100, 2).to_csv("current.csv", index=False)
    assert drift.main([*args, "--reference-metrics", "metrics.json"]) == drift.ERROR_EXIT_CODE
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and message in error


WRONG_SETTINGS = {
    ("numeric", "method"): ("ks", 'drift.numeric.method = "ks": must be one of wasserstein, psi'),
    ("p_value",): ("0.01", "drift.p_value = "),
    ("quality_drop",): (-1, "drift.quality_drop = -1"),
    ("unseen_share",): (None, "drift.unseen_share = "),
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
    assert drift.main(["--no-model"]) == drift.ERROR_EXIT_CODE
    error = capsys.readouterr().err
    assert error.startswith("error: params.yaml: ") and error.count("\n") == 1 and message in error


def test_columns_compared_at_once_fit_the_memory_budget():
    assert command.parallel_columns(rows=20_000_000, columns=20) == 1
    assert 1 <= command.parallel_columns(rows=2_000, columns=20) <= 20
    assert command.parallel_columns(rows=2_000, columns=1) == 1
