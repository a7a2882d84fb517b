"""The registry: where it is, versions by alias, and the `status` command."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import registry


def test_tracking_uri_prefers_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert registry.tracking_uri({"tracking_uri": "sqlite:///other.db"}) == "http://mlflow.example:5000"


def test_tracking_uri_then_params_then_the_embedded_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert registry.tracking_uri({"tracking_uri": "sqlite:///other.db"}) == "sqlite:///other.db"
    assert registry.tracking_uri({"tracking_uri": ""}) == "sqlite:///mlflow.db"
    assert registry.tracking_uri({}) == registry.DEFAULT_TRACKING_URI


def test_alias_of_an_unknown_model_is_none(client: Any) -> None:
    assert registry.alias_version(client, "no-such-model", registry.CHAMPION) is None


def test_status_shows_each_version_with_its_aliases(
    client: Any, register_model: Callable[[Any], str], capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.dummy import DummyRegressor

    for _ in range(2):
        register_model(DummyRegressor().fit([[0.0], [1.0]], [0.0, 1.0]))
    client.set_registered_model_alias("test-model", registry.CHAMPION, "2")
    client.set_registered_model_alias("test-model", registry.CHALLENGER, "2")
    client.set_registered_model_alias("test-model", registry.PREVIOUS_CHAMPION, "1")
    capsys.readouterr()
    assert registry.status_main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("registry: sqlite:///")
    assert lines[1:] == [
        "model 'test-model' version 2: @champion @challenger (trained from commit unknown)",
        "model 'test-model' version 1: @previous-champion (trained from commit unknown)",
    ]


def test_status_of_an_empty_registry(client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert registry.status_main([]) == 0
    assert "model 'test-model': no aliased versions yet; run `make pipeline`" in capsys.readouterr().out
