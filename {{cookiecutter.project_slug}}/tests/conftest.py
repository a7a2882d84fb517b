"""Shared fixtures: small synthetic tables, a throwaway project folder and a throwaway registry.

Tests run from the project root. Every test that writes files or touches MLflow gets its own
folder (`project`) with a params.yaml built from the real one, and a sqlite registry inside
that folder, so no test can reach the project's own data outputs or its real registry.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

PROJECT_ROOT = Path(__file__).parents[1]
RAW_DATA = PROJECT_ROOT / "data" / "raw" / "data.csv"
# The synthetic tables name their target like this; the project's own target comes from params.yaml.
TARGET = "target value"
MODEL_NAME = "test-model"
# As the Makefile does: no telemetry from tests run with a bare `pytest` either.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def classification_frame(rows: int = 160, seed: int = 0) -> pd.DataFrame:
    """Numbers, a category, free text and string class labels, with some values missing."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    churned = signal + rng.normal(scale=0.7, size=rows) > 0
    # Words that go with the label for most rows, not all: a hint, never the answer itself.
    words = np.where(churned ^ (rng.random(rows) < 0.25), "slow refund angry", "happy quick thanks")
    frame = pd.DataFrame(
        {
            "monthly charges": np.round(60 + 15 * signal + rng.normal(size=rows), 2),
            "tenure months": rng.integers(1, 72, size=rows),
            "contract type": rng.choice(["monthly", "yearly", "two-year"], size=rows),
            # Every row has its own note, so the column has far more values than a category may.
            "support notes": [f"{word} ticket {number}" for word, number in zip(words, range(rows), strict=True)],
            TARGET: np.where(churned, "churned", "stayed"),
        }
    )
    frame.loc[::7, "monthly charges"] = np.nan
    frame.loc[3::11, "contract type"] = None
    frame.loc[5::13, "support notes"] = None
    return frame


def regression_frame(rows: int = 160, seed: int = 0) -> pd.DataFrame:
    """Numbers, a category and free text with a numeric target, with some values missing."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=rows)
    region = rng.choice(["north", "south", "east"], size=rows)
    frame = pd.DataFrame(
        {
            "floor area": np.round(80 + 25 * size, 1),
            "room count": rng.integers(1, 6, size=rows),
            "region name": region,
            "listing text": [f"bright flat number {number} near park" for number in range(rows)],
            TARGET: np.round(200 + 60 * size + np.where(region == "south", 30, 0) + rng.normal(scale=10, size=rows), 1),
        }
    )
    frame.loc[::7, "floor area"] = np.nan
    frame.loc[3::11, "region name"] = None
    frame.loc[5::13, "listing text"] = None
    return frame


def synthetic_frame(task: str, rows: int = 160, seed: int = 0) -> pd.DataFrame:
    """A small table for the given task, with the target column TARGET."""
    return classification_frame(rows, seed) if task == "classification" else regression_frame(rows, seed)


def fast_train_settings(train: dict[str, Any]) -> dict[str, Any]:
    """The project's train settings with small ensembles, so tests fit in a fraction of a second."""
    train = copy.deepcopy(train)
    train.setdefault("random_forest", {})["n_estimators"] = 20
    train.setdefault("gradient_boosting", {})["max_iter"] = 30
    return train


@pytest.fixture(scope="session")
def project_params() -> dict[str, Any]:
    """The project's own params.yaml, read once; copy it before changing anything."""
    return yaml.safe_load((PROJECT_ROOT / "params.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def drift_folder(project_params: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder of a drift check: params.yaml for a classification on `target` gated on
    accuracy, comparing reference.csv with current.csv into out/. CI's variables are unset, so each
    test decides the workflow run it plays (a CI job, or the rehearsal's, sets them)."""
    params = copy.deepcopy(project_params)
    params["data"] = {"task": "classification", "target": "target"}
    params["gate"]["metric"] = "accuracy"
    params["drift"].update(reference="reference.csv", current="current.csv", report_dir="out")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_RUN_ID", "GITHUB_REPOSITORY", "GITHUB_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def task(project_params: dict[str, Any]) -> str:
    return project_params["data"]["task"]


@pytest.fixture
def params(project_params: dict[str, Any]) -> dict[str, Any]:
    """A copy of the project's params with fast training settings and a test model name."""
    params = copy.deepcopy(project_params)
    params["train"] = fast_train_settings(params["train"])
    params["register"] = {**params["register"], "model_name": MODEL_NAME, "tracking_uri": ""}
    return params


@pytest.fixture
def classification_data() -> pd.DataFrame:
    return classification_frame()


@pytest.fixture
def regression_data() -> pd.DataFrame:
    return regression_frame()


@pytest.fixture
def task_data(task: str) -> pd.DataFrame:
    """A synthetic table for the project's task."""
    return synthetic_frame(task)


@pytest.fixture
def make_frame() -> Callable[..., pd.DataFrame]:
    """synthetic_frame(task, rows, seed), for tests that need more than one table."""
    return synthetic_frame


@pytest.fixture
def data_settings(task: str) -> dict[str, str]:
    """The `data` params section that goes with the synthetic tables."""
    return {"task": task, "target": TARGET}


@pytest.fixture(scope="session")
def raw_data() -> pd.DataFrame:
    """The project's data/raw/data.csv (copy before changing it); skipped if it was moved to DVC and not pulled."""
    if not RAW_DATA.is_file():
        pytest.skip(f"{RAW_DATA.relative_to(PROJECT_ROOT)} is not here; fetch it with `make pull`")
    return pd.read_csv(RAW_DATA)


@dataclass
class Project:
    """A throwaway project folder; the test runs inside it."""

    root: Path
    params: dict[str, Any]
    tracking_uri: str

    def save_params(self) -> Path:
        """Write the current `params` to params.yaml and return its path."""
        path = self.root / "params.yaml"
        path.write_text(yaml.safe_dump(self.params, sort_keys=False), encoding="utf-8")
        return path

    def write_csv(self, frame: pd.DataFrame, relative: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        return path

    def use_synthetic(self, frame: pd.DataFrame, relative: str = "data/raw/data.csv") -> Path:
        """Write a synthetic table (target column TARGET), point the params at its target, save them."""
        self.params["data"]["target"] = TARGET
        self.save_params()
        return self.write_csv(frame, relative)


@pytest.fixture
def project(params: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A tmp project folder with params.yaml, the working directory for the test, and its own registry."""
    root = tmp_path / "project"
    root.mkdir()
    tracking_uri = f"sqlite:///{(root / 'mlflow.db').as_posix()}"
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    created = Project(root=root, params=params, tracking_uri=tracking_uri)
    created.save_params()
    return created


@pytest.fixture(scope="session")
def empty_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised, empty MLflow sqlite database; creating its tables takes seconds, copying it does not."""
    import mlflow

    path = tmp_path_factory.mktemp("registry") / "mlflow.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{path.as_posix()}").search_registered_models()
    return path


@pytest.fixture
def client(project: Project, empty_registry: Path) -> Any:
    """An MlflowClient on the project's own, empty sqlite registry."""
    import mlflow

    shutil.copyfile(empty_registry, project.root / "mlflow.db")
    with sqlite3.connect(project.root / "mlflow.db") as connection:  # as if MLflow had made it here
        default = (project.root / "mlruns" / "0").as_posix()
        connection.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0", (default,))
    connection.close()
    mlflow.set_tracking_uri(project.tracking_uri)
    return mlflow.MlflowClient()


@pytest.fixture
def aliases(client: Any) -> Callable[..., dict[str, str]]:
    """A function that returns {alias: version} of a registered model, as MLflow reports them."""

    def read(name: str = MODEL_NAME) -> dict[str, str]:
        return {alias: str(version) for alias, version in client.get_registered_model(name).aliases.items()}

    return read


def model_file_tags(model_uri: str) -> dict[str, str]:
    """The tag `register` records for a logged model: the sha256 of its model file."""
    import tempfile

    import mlflow.artifacts

    from {{ cookiecutter.package_name }}.loop.model_file import MODEL_SHA256, model_path, sha256

    with tempfile.TemporaryDirectory() as folder:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=folder))
        return {MODEL_SHA256: sha256(model_path(local, model_uri))}


@pytest.fixture
def file_tags() -> Callable[[str], dict[str, str]]:
    """model_file_tags, for tests that log a model themselves."""
    return model_file_tags


@pytest.fixture
def register_model(client: Any) -> Callable[[Any], str]:
    """A function that logs a fitted scikit-learn model to the test registry and returns its version."""
    import mlflow
    import mlflow.sklearn
    from skops.io import dumps, get_untrusted_types

    def register(model: Any, name: str = MODEL_NAME, trained_on: pd.DataFrame | None = None) -> str:
        """Register `model`; with `trained_on`, record its training rows as `register` does."""
        import tempfile

        from {{ cookiecutter.package_name }}.loop.register import training_record
        from {{ cookiecutter.package_name }}.loop.registry import TRAINING_ROWS

        mlflow.set_experiment(name)
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=name,
                pip_requirements=["scikit-learn"],  # given, so MLflow does not spend seconds inferring them
                skops_trusted_types=get_untrusted_types(data=dumps(model)),
            )
            version = str(info.registered_model_version)
            for tag, value in model_file_tags(info.model_uri).items():
                mlflow.MlflowClient().set_model_version_tag(name, version, tag, value)
            if trained_on is not None:
                tags, data = training_record(trained_on, None)
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / Path(TRAINING_ROWS).name
                    path.write_bytes(data)
                    mlflow.log_artifact(str(path), artifact_path=str(Path(TRAINING_ROWS).parent))
                for tag, value in tags.items():
                    mlflow.MlflowClient().set_model_version_tag(name, version, tag, value)
        return version

    return register


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server() -> Any:
    """Start a real `mlflow server` on 127.0.0.1 (sqlite store, proxied artifacts) for these tests; stop it after.

    It runs under tests/server_watchdog.py: however the tests end, even killed, the server stops and its folder goes.
    """
    import sys
    import tempfile
    import time
    import urllib.request

    from server_watchdog import WatchedServer

    folder, port = Path(tempfile.mkdtemp(prefix="mlflow-test-server-")), free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{(folder / 'server.db').as_posix()}"]
    command += ["--serve-artifacts", "--artifacts-destination", (folder / "artifacts").as_uri()]
    # No background job runner: the registry needs none, and its workers cost CPU the tests need.
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    server = WatchedServer(command, folder, folder / "server.log", env=env)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 180
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log_text = (folder / "server.log").read_text()[-2000:]
                    raise RuntimeError(f"mlflow server did not start: {log_text}") from None
                time.sleep(0.5)
        yield url
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "server"])
def backend(request: pytest.FixtureRequest, project: Project, monkeypatch: pytest.MonkeyPatch) -> str:
    """The registry a test runs against: the project's sqlite file, or a real MLflow server on 127.0.0.1."""
    if request.param == "server":
        uri = request.getfixturevalue("mlflow_server")
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        project.tracking_uri = uri
    return request.param


def write_card(params: dict[str, Any], model: str = "models/model.joblib", path: str = "reports/card.json",
               model_md5: str | None = None) -> list[str]:  # fmt: skip
    """Write the evaluate stage's card numbers for a saved model (or name another model's md5); return --card."""
    import joblib

    from {{ cookiecutter.package_name }}.loop import card, gate

    found = card.build_card(
        params,
        joblib.load(model),
        model_md5 or gate.file_md5(model),
        pd.read_csv("data/prepared/holdout.csv"),
        pd.read_csv("data/prepared/train.csv"),
        gate.file_md5("data/prepared/train.csv"),
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(found), encoding="utf-8")
    return ["--card", path]


@pytest.fixture
def registered(project, client: Any, make_frame: Callable[..., pd.DataFrame]) -> Callable[[str], str]:
    """Train on a synthetic table of the given task, register it through the command; return the model name."""
    import joblib

    from {{ cookiecutter.package_name }}.loop import gate, register, train

    def run(task: str) -> str:
        frame = make_frame(task, rows=160, seed=3)
        frame.insert(0, "paperless billing", np.arange(len(frame)) % 3 == 0)  # a bool column
        signed_up = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(frame)) * 7, unit="h")
        frame.insert(1, "signed up", signed_up.strftime("%Y-%m-%d %H:%M:%S").where(np.arange(len(frame)) % 9 > 0))
        frame.insert(2, "zone", [f"zone {number % 30}" for number in range(len(frame))])  # 30 values, repeated
        project.params["data"] = {"task": task, "target": TARGET}
        project.params["gate"]["metric"] = "roc_auc" if task == "classification" else "r2"
        project.save_params()
        project.write_csv(frame.tail(60), "data/prepared/holdout.csv")
        project.write_csv(frame.head(100), "data/prepared/train.csv")
        Path("models").mkdir(exist_ok=True)
        joblib.dump(train.fit(frame.head(100), project.params["data"], project.params["train"]), "models/model.joblib")
        Path("reports/plots").mkdir(parents=True, exist_ok=True)
        Path("reports/plots/residuals.png").write_bytes(b"\x89PNG\r\n\x1a\n")
        Path("reports/validation").mkdir(parents=True, exist_ok=True)
        Path("reports/validation/summary.json").write_text(json.dumps({"success": True}), encoding="utf-8")
        Path("reports/metrics.json").write_text(json.dumps({"r2": 0.5, "roc_auc": 0.5}), encoding="utf-8")
        decision = {"passed": True, "metric": project.params["gate"]["metric"], "candidate": 0.5, "champion": None}
        decision["model_md5"] = gate.file_md5("models/model.joblib")
        Path("reports/gate.json").write_text(json.dumps(decision), encoding="utf-8")
        write_card(project.params)
        args = ["--model", "models/model.joblib", "--holdout", "data/prepared/holdout.csv"]
        args += ["--train", "data/prepared/train.csv"]
        assert register.main([*args, "--gate", "reports/gate.json", "--metrics", "reports/metrics.json"]) == 0
        return project.params["register"]["model_name"]

    return run


@pytest.fixture
def github_project(tmp_path: Path) -> Path:
    """The project's workflows with the answers the recorded GitHub answers were made for.

    tests/unit/github_answers records repositories of a project with a local DVC remote and no
    tracking server; a project baked with other answers expects other variables, so its tests read
    these answers rather than its own.
    """
    from {{ cookiecutter.package_name }}.loop import github_expected

    root = tmp_path / "github-project"
    shutil.copytree(PROJECT_ROOT / ".github", root / ".github")
    answers = github_expected.answers(PROJECT_ROOT) | {"dvc_remote": "local", "mlflow_tracking_uri": ""}
    (root / ".cookiecutter.json").write_text(json.dumps(answers), encoding="utf-8")
    return root


@pytest.fixture
def gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Put the fake gh (tests/unit/github_answers) on PATH; return a function that picks the recorded
    repository and its failures, with `.calls()` listing the calls made so far."""
    import sys

    answers = PROJECT_ROOT / "tests" / "unit" / "github_answers"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(f"#!/bin/sh\nexec '{sys.executable}' '{answers / 'fake_gh.py'}' \"$@\"\n")
    (bin_dir / "gh").chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    calls.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("GH_CALLS", str(calls))
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "VARIABLES"):
        monkeypatch.delenv(name, raising=False)

    def use(plan: str, fail: dict | None = None) -> None:
        monkeypatch.setenv("GH_ANSWERS", str(answers / plan))
        monkeypatch.setenv("GH_FAIL", json.dumps(fail or {}))

    use.calls = lambda: [json.loads(line) for line in calls.read_text().splitlines()]
    return use
