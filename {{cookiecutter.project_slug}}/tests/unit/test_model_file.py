"""A registered model is read without running code it carries: skops only, the recorded hash, allowed types.

The hostile cases are what anyone who can push branch `mlflow-registry` could write into it.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import estimators
from {{ cookiecutter.package_name }}.loop import gate, model_file, train
from {{ cookiecutter.package_name }}.loop.registry import RegistryError, connect

TARGET = "target value"


class Payload:
    """What a crafted pickle runs when it is loaded: it leaves a file behind."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def champion(project, client: Any, register_model: Callable, make_frame: Callable) -> tuple[str, Path]:
    """A real champion, registered with its hash; return (version, the folder its model files are kept in)."""
    frame = make_frame("regression", rows=120, seed=1)
    model = train.fit(frame, {"task": "regression", "target": TARGET}, project.params["train"])
    version = register_model(model)
    client.set_registered_model_alias("test-model", "champion", version)
    return version, Path(urlparse(client.get_model_version_download_uri("test-model", version)).path)


def load(project, version: str) -> Any:
    return connect(project.params["register"]).load(version)


def test_every_type_a_project_model_holds_is_allowed(make_frame: Callable) -> None:
    from skops.io import dumps, get_untrusted_types

    frame = make_frame("classification", rows=80, seed=2)
    frame["booked"] = pd.date_range("2024-01-01", periods=len(frame), freq="h").strftime("%Y-%m-%d %H:%M")
    seen = set()
    for task in ("classification", "regression"):
        data = make_frame(task, rows=80, seed=2).assign(booked=frame["booked"])
        for model in estimators.ESTIMATORS:
            small = {"random_forest": {"n_estimators": 3}, "gradient_boosting": {"max_iter": 3}, "linear": {}}
            settings = {"model": model, "seed": 0, "max_categories": 20, "text_max_features": 20, **small}
            fitted = train.fit(data, {"task": task, "target": TARGET}, settings)
            seen |= set(get_untrusted_types(data=dumps(fitted)))
    assert seen <= model_file.allowed_types(), seen - model_file.allowed_types()


def test_the_champion_loads_through_its_checks(project, champion) -> None:
    version, _ = champion
    assert hasattr(load(project, version), "predict")


def test_a_pickled_model_on_the_branch_is_refused_before_it_runs(project, champion, tmp_path: Path) -> None:
    version, folder = champion
    marker = tmp_path / "payload-ran"
    (folder / "model.pkl").write_bytes(pickle.dumps(Payload(marker)))
    description = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
    description["flavors"]["sklearn"].update(serialization_format="cloudpickle", pickled_model="model.pkl")
    description["flavors"]["python_function"]["model_path"] = "model.pkl"
    (folder / "MLmodel").write_text(yaml.safe_dump(description), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"stored as 'cloudpickle'; only 'skops' is loaded"):
        load(project, version)
    assert not marker.exists()


def test_a_changed_model_file_is_refused(project, champion, client: Any) -> None:
    from sklearn.dummy import DummyRegressor
    from skops.io import dump

    version, folder = champion
    dump(DummyRegressor().fit([[0.0]], [1.0]), folder / "model.skops")
    with pytest.raises(RegistryError, match="changed after registration"):
        load(project, version)
    client.delete_model_version_tag("test-model", version, model_file.MODEL_SHA256)
    with pytest.raises(RegistryError, match=r"no tag model_sha256.*make holdout-migrate"):
        load(project, version)


def test_a_skops_file_with_foreign_types_is_refused_even_with_a_forged_hash(project, champion, client: Any) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from skops.io import dump

    version, folder = champion
    dump(make_pipeline(FunctionTransformer(os.system)), folder / "model.skops")
    forged = model_file.sha256(folder / "model.skops")
    client.set_model_version_tag(
        "test-model", version, model_file.MODEL_SHA256, forged
    )  # the branch holds the tags too
    with pytest.raises(RegistryError, match=r"types this project never saves \(posix.system\)"):
        load(project, version)


def test_the_gate_stops_with_one_line_and_exit_4_on_a_hostile_champion(
    project, champion, tmp_path: Path, make_frame: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    import joblib

    version, folder = champion
    marker = tmp_path / "payload-ran"
    (folder / "model.skops").write_bytes(pickle.dumps(Payload(marker)))
    frame = make_frame("regression", rows=200, seed=4)
    project.params["data"] = {"task": "regression", "target": TARGET}
    project.params["gate"]["metric"] = "r2"
    project.save_params()
    project.write_csv(frame.head(150), "data/prepared/train.csv")
    project.write_csv(frame.tail(50), "data/prepared/holdout.csv")
    Path("models").mkdir()
    joblib.dump(train.fit(frame.head(150), project.params["data"], project.params["train"]), "models/model.joblib")
    Path("reports").mkdir()
    Path("reports/metrics.json").write_text('{"r2": 0.5}', encoding="utf-8")
    arguments = ["--model", "models/model.joblib", "--train", "data/prepared/train.csv"]
    arguments += ["--holdout", "data/prepared/holdout.csv", "--metrics", "reports/metrics.json"]
    capsys.readouterr()
    assert gate.main([*arguments, "--decision", "reports/gate.json"]) == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"models:/test-model/{version}" in err[0] and "changed after registration" in err[0]
    assert not marker.exists()


def test_only_the_transformers_of_features_py_are_trusted(monkeypatch) -> None:
    """A helper class of features.py is not an estimator: a model file naming it is refused."""
    from {{ cookiecutter.package_name }} import features

    helper = type("Lookup", (), {"__module__": features.__name__})
    monkeypatch.setattr(features, "Lookup", helper, raising=False)
    allowed = model_file.allowed_types()
    assert f"{features.__name__}.DatetimeFeatures" in allowed
    assert f"{features.__name__}.Lookup" not in allowed
