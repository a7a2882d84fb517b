"""`predict` and `score`: the champion scores a messy table in chunks, checked first, written whole or not at all.

The tables are what a user's batch looks like: an id and the target passed through, duplicated
rows, bools with gaps in some chunks only, times with gaps, a category the training rows never had.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TARGET

from {{ cookiecutter.package_name }}.loop import cli, predict, profile, score, train
from {{ cookiecutter.package_name }}.loop.registry import connect

INPUT = "incoming/batch.csv"


def one_error(captured: pytest.CaptureFixture[str]) -> str:
    lines = captured.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture
def champion(project, registered: Callable[[str], str], task: str) -> dict[str, Any]:
    """A registered champion, the suite of its training rows, and a messy batch of rows to score."""
    name = registered(task)
    assert profile.main(["--data", "data/prepared/train.csv", "--suite", "expectations/suite.json"]) == 0
    batch = pd.read_csv("data/prepared/holdout.csv")
    batch = pd.concat([batch, batch.head(5)], ignore_index=True)  # duplicated rows
    batch.insert(0, "customer id", [f"c-{number}" for number in range(len(batch))])
    batch["paperless billing"] = batch["paperless billing"].astype(object)
    batch.loc[40:50:3, "paperless billing"] = np.nan  # a bool with gaps, in some chunks only
    batch.loc[2, "zone"] = "a zone never seen"
    project.write_csv(batch, INPUT)
    registry = connect(project.params["register"])
    return {"name": name, "batch": batch, "model": registry.load("1"), "version": registry.version("1")}


def run(*args: str) -> int:
    return cli.main(["predict", "--input", INPUT, *args])


def test_the_champion_scores_a_messy_batch_in_chunks_as_it_scores_it_whole(project, champion, task) -> None:
    assert run("--output", "out/chunked.csv", "--chunk-rows", "7") == 0
    assert run("--output", "out/whole.parquet", "--chunk-rows", "100000") == 0
    chunked, whole = pd.read_csv("out/chunked.csv"), pd.read_parquet("out/whole.parquet")
    features = champion["batch"].drop(columns=["customer id", TARGET])
    model = champion["model"]
    # The id and the target are passed through, in their order, then what the model says.
    assert list(chunked.columns[:2]) == ["customer id", TARGET]
    assert chunked["customer id"].tolist() == champion["batch"]["customer id"].tolist()
    assert len(chunked) == len(whole) == len(champion["batch"])
    expected = model.predict(features)
    assert chunked["prediction"].astype(str).tolist() == pd.Series(expected).astype(str).tolist()
    assert whole["prediction"].astype(str).tolist() == pd.Series(expected).astype(str).tolist()
    if task == "classification":
        probabilities = model.predict_proba(features)
        for position, name in enumerate(model.classes_):
            np.testing.assert_allclose(chunked[f"probability_{name}"], probabilities[:, position], atol=1e-12)
            np.testing.assert_allclose(whole[f"probability_{name}"], probabilities[:, position], atol=1e-12)
    else:
        assert [column for column in chunked.columns if column.startswith("probability_")] == []


def test_a_chunk_of_number_like_categories_is_read_as_the_whole_file_is(project, make_frame, task) -> None:
    import joblib

    frame = make_frame(task, rows=160, seed=5)
    frame.insert(0, "plan", np.array(["1", "2", "B"])[np.arange(len(frame)) % 3])
    frame.loc[::10, "plan"] = None
    signal = (frame["plan"] == "1").to_numpy()  # the plan decides the target: a misread plan shows
    frame[TARGET] = np.where(signal, "churned", "stayed") if task == "classification" else np.where(signal, 100.0, 0.0)
    project.params["data"] = {"task": task, "target": TARGET}
    project.save_params()
    project.write_csv(frame, "data/prepared/train.csv")
    Path("models").mkdir()
    model = train.fit(frame, project.params["data"], project.params["train"])
    joblib.dump(model, "models/model.joblib")
    assert profile.main(["--data", "data/prepared/train.csv", "--suite", "expectations/suite.json"]) == 0
    batch = frame.drop(columns=[TARGET]).sort_values("plan", key=lambda plan: plan == "B", kind="stable")
    project.write_csv(batch, INPUT)  # the first chunks hold only "1", "2" and gaps: numbers to a reader that guesses
    assert run("--output", "out/p.csv", "--model", "models/model.joblib", "--chunk-rows", "10") == 0
    expected = model.predict(pd.read_csv(INPUT))
    assert pd.read_csv("out/p.csv")["prediction"].astype(str).tolist() == pd.Series(expected).astype(str).tolist()


def test_passed_through_columns_come_out_as_they_went_in_and_true_false_spellings_agree(project, champion) -> None:
    batch = champion["batch"].copy()
    batch.insert(1, "account", [str(12345678901234567 + number) for number in range(len(batch))])
    batch.insert(2, "zip", "02134")
    batch.insert(3, "row", pd.array(range(len(batch)), dtype="Int64"))
    batch.loc[7, ["account", "row"]] = None  # a gap: the whole column would read as floats
    project.write_csv(batch, INPUT)
    assert run("--output", "out/a.csv", "--chunk-rows", "5") == 0
    sent, got = (pd.read_csv(path, dtype=str, keep_default_na=False) for path in (INPUT, "out/a.csv"))
    for column in ("customer id", "account", "zip", "row", TARGET):
        assert got[column].tolist() == sent[column].tolist(), column
    # 1/0 and lower-case true/false mean what True/False meant in training, not an unseen value.
    spelled = batch.assign(**{"paperless billing": batch["paperless billing"].map({True: "1", False: "false"})})
    project.write_csv(spelled, INPUT)
    assert run("--output", "out/b.csv") == 0
    assert pd.read_csv("out/b.csv").iloc[:, -1].tolist() == pd.read_csv("out/a.csv").iloc[:, -1].tolist()


def test_an_output_among_the_inputs_or_a_sidecar_path_taken_by_a_folder_is_refused(project, champion, capsys) -> None:
    Path("out").mkdir()
    project.write_csv(champion["batch"], "out/a.csv")
    assert cli.main(["predict", "--input", "out/*.csv", "--output", "out/predictions.csv"]) == 0
    capsys.readouterr()
    assert cli.main(["predict", "--input", "out/*.csv", "--output", "out/predictions.csv"]) == 2
    assert "is one of the input's files" in one_error(capsys)
    Path("out/other.csv.json").mkdir()
    assert run("--output", "out/other.csv") == 2
    assert "out/other.csv.json is a folder" in one_error(capsys)
    assert not Path("out/other.csv").exists()


def test_the_sidecar_names_the_version_its_registry_hash_and_the_input(project, champion) -> None:
    assert run("--output", "out/predictions.csv") == 0
    sidecar = json.loads(Path("out/predictions.csv.json").read_text(encoding="utf-8"))
    assert sidecar["model"]["version"] == "1" and sidecar["model"]["alias"] == "champion"
    assert sidecar["model"]["model_sha256"] == champion["version"].tags["model_sha256"]
    assert sidecar["input"]["sha256"] == hashlib.sha256(Path(INPUT).read_bytes()).hexdigest()
    assert sidecar["input"]["rows"] == sidecar["output"]["rows"] == len(champion["batch"])
    assert run("--output", "out/v1.csv", "--version", "1") == 0
    assert json.loads(Path("out/v1.csv.json").read_text())["model"]["alias"] is None
    assert run("--output", "out/pipeline.csv", "--model", "models/model.joblib") == 0
    assert json.loads(Path("out/pipeline.csv.json").read_text())["model"]["source"] == "pipeline"
    assert pd.read_csv("out/pipeline.csv").equals(pd.read_csv("out/predictions.csv"))


def whole_numbers(batch: pd.DataFrame) -> str:
    """The synthetic tables' column of whole numbers: "tenure months" (classification), "room count" (regression)."""
    return next(column for column in ("tenure months", "room count") if column in batch.columns)


BAD_BATCHES = {  # what is wrong with the batch: (how it is made, what the one line says)
    "missing": (lambda batch: batch.drop(columns=["zone"]), "missing feature column(s) 'zone'"),
    "retyped late": (
        lambda batch: batch.assign(**{whole_numbers(batch): ["12"] * 60 + ["twelve"] + ["3"] * (len(batch) - 61)}),
        "holds 'twelve' on row 61; the model expects a number",
    ),
    "not a time": (
        lambda batch: batch.assign(**{"signed up": "yesterday"}),
        "holds 'yesterday' on row 1; the model expects an",
    ),
    "not a bool": (
        lambda batch: batch.assign(**{"paperless billing": "maybe"}),
        "holds 'maybe' on row 1; the model expects true",
    ),
    "taken name": (lambda batch: batch.assign(prediction=1), "column 'prediction' would be overwritten by the output"),
    "empty": (lambda batch: batch.head(0), "no rows to score"),
}


def test_a_bad_batch_is_one_line_and_the_old_output_stays(project, champion, capsys) -> None:
    Path("out").mkdir()
    Path("out/predictions.csv").write_text("earlier predictions\n", encoding="utf-8")
    for case, (change, message) in BAD_BATCHES.items():
        project.write_csv(change(champion["batch"]), INPUT)
        capsys.readouterr()
        assert run("--output", "out/predictions.csv", "--chunk-rows", "20") == 2, case
        assert message in one_error(capsys), case
        assert Path("out/predictions.csv").read_text(encoding="utf-8") == "earlier predictions\n"
        assert sorted(path.name for path in Path("out").iterdir()) == ["predictions.csv"]  # no partial file left


BAD_ARGUMENTS = {  # (input, more arguments, what the one line says)
    "unknown version": (INPUT, ["--version", "7"], "version 7 of 'test-model' does not exist"),
    "not a table format": (INPUT, ["--output", "out/p.txt"], "unsupported format '.txt'; use .csv, .parquet or .pq"),
    "no input": ("incoming/nothing.csv", [], "input incoming/nothing.csv: no such file"),
    "not parquet": ("incoming/garbage.parquet", [], "cannot be read as parquet"),
    "overwrite input": (INPUT, ["--output", INPUT], "is the input; write the predictions to another file"),
    "scheme": (INPUT, ["--output", "ftp://host/p.csv"], "unsupported scheme ftp://"),
}


def test_bad_arguments_are_one_line_exit_2_and_write_nothing(project, champion, capsys) -> None:
    Path("incoming/garbage.parquet").write_bytes(b"not a parquet file")
    for case, (source, arguments, message) in BAD_ARGUMENTS.items():
        capsys.readouterr()
        output = [] if "--output" in arguments else ["--output", "out/p.csv"]
        assert cli.main(["predict", "--input", source, *output, *arguments]) == 2, case
        assert message in one_error(capsys), case
        assert not Path("out").exists(), case


def test_a_changed_model_file_stops_with_exit_4(project, champion, client, capsys) -> None:
    from urllib.parse import urlparse

    from sklearn.dummy import DummyClassifier, DummyRegressor
    from skops.io import dump

    folder = Path(urlparse(client.get_model_version_download_uri(champion["name"], "1")).path)
    dump((DummyClassifier() if hasattr(champion["model"], "classes_") else DummyRegressor()).fit([[0]], [1]),
         folder / "model.skops")  # fmt: skip
    capsys.readouterr()
    assert run("--output", "out/p.csv") == 4
    assert "changed after registration" in one_error(capsys)
    assert not Path("out").exists()


def test_no_champion_and_a_registry_that_cannot_answer_are_told_apart(project, client, capsys, monkeypatch) -> None:
    project.write_csv(pd.DataFrame({"a": [1]}), INPUT)
    Path("expectations").mkdir()
    Path("expectations/suite.json").write_text(json.dumps({"expectations": []}), encoding="utf-8")
    assert run("--output", "out/p.csv") == 2
    assert "has no champion yet: run `make pipeline`" in one_error(capsys)
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    project.params["register"]["retry_seconds"] = 1
    project.save_params()
    assert run("--output", "out/p.csv") == 4
    assert "Connection refused" in capsys.readouterr().err.strip().splitlines()[-1]
    assert not Path("out").exists()


def test_probabilities_come_from_one_pass_only_where_predict_is_their_argmax() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    assert predict.argmax_of_probabilities(RandomForestClassifier())
    assert predict.argmax_of_probabilities(HistGradientBoostingClassifier())
    assert not predict.argmax_of_probabilities(LogisticRegression())

    class Thresholded(RandomForestClassifier):  # a user's estimator with its own rule
        def predict(self, X: Any) -> Any:
            return self.classes_.take((self.predict_proba(X)[:, 1] > 0.9).astype(int))

    assert not predict.argmax_of_probabilities(Thresholded())


def test_score_summarises_the_batch_next_to_the_holdout(project, champion, capsys) -> None:
    output = "data/predictions/{date}/predictions.parquet"
    project.params["score"] = {"source": INPUT, "output": output, "chunk_rows": 11}
    project.save_params()
    assert cli.main(["score", "--drift-url", "https://github.com/o/r/actions/workflows/drift.yml"]) == 0
    summary = json.loads(Path("reports/score/summary.json").read_text(encoding="utf-8"))
    assert summary["rows"] == len(champion["batch"]) and summary["model"]["version"] == "1"
    assert summary["holdout_predictions"] and summary["predictions"]
    text = Path("reports/score/summary.md").read_text(encoding="utf-8")
    assert "scored by v1 of `test-model`" in text
    assert "[the drift check](https://github.com/o/r/actions/workflows/drift.yml)" in text
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")  # {date}: each day's run keeps its file
    assert len(pd.read_parquet(f"data/predictions/{today}/predictions.parquet")) == len(champion["batch"])
    assert summary["output"] == f"data/predictions/{today}/predictions.parquet"


def test_the_score_summary_escapes_what_comes_from_the_data() -> None:
    summary = {
        "rows": 3,
        "model": {"name": "m`x", "version": "2"},
        "input": {"source": "in|put.csv", "sha256": "ab" * 32},
        "output": "out.csv",
        "task": "classification",
        "predictions": {"<script>@team": 1.0},
        "holdout_predictions": {"<script>@team": 0.5, "stayed": 0.5},
        "drift_check": "javascript:alert(1)",
    }
    text = score.markdown(summary)
    assert "<script>" not in text and "@team" not in text and "javascript:" not in text
    assert "| 100.0% | 50.0% |" in text and "| stayed | 0.0% | 50.0% |" in text
