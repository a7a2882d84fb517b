"""Promote and rollback: alias moves on a real (throwaway) sqlite registry with tiny models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.loop import cli, promote, registry

NAME = "test-model"


@pytest.fixture
def versions(client: Any, register_model: Callable[[Any], str], task: str) -> Any:
    """Three registered versions of a tiny model, version 1 champion; returns the client."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    features, target = [[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1]
    model = DummyClassifier() if task == "classification" else DummyRegressor()
    assert [register_model(model.fit(features, target)) for _ in range(3)] == ["1", "2", "3"]
    client.set_registered_model_alias(NAME, "champion", "1")
    return registry.connect({"model_name": NAME})


@pytest.fixture
def champions(aliases: Callable[..., dict[str, str]]) -> Callable[[], tuple[str | None, str | None]]:
    """A function that returns (champion, previous-champion)."""

    def read() -> tuple[str | None, str | None]:
        found = aliases(NAME)
        return found.get("champion"), found.get("previous-champion")

    return read


def test_promote_keeps_the_replaced_version_as_previous(champions: Callable, versions: Any) -> None:
    assert promote.promote(versions, "3") == "1"
    assert champions() == ("3", "1")
    assert promote.promote(versions, "2") == "3"
    assert champions() == ("2", "3")


def test_promote_the_champion_changes_nothing(champions: Callable, versions: Any) -> None:
    promote.promote(versions, "2")
    assert promote.promote(versions, "2") == "2"
    assert champions() == ("2", "1")


def test_promote_without_a_champion_sets_only_champion(champions: Callable, versions: Any) -> None:
    versions.client.delete_registered_model_alias(NAME, "champion")
    assert promote.promote(versions, "2") is None
    assert champions() == ("2", None)


@pytest.mark.parametrize(("name", "version"), [(NAME, "9"), ("no-such-model", "1")])
def test_promote_an_unknown_version_is_refused(champions: Callable, versions: Any, name: str, version: str) -> None:
    with pytest.raises(promote.AliasError, match=f"model '{name}' has no version {version}$"):
        promote.promote(registry.connect({"model_name": name}), version)
    assert champions() == ("1", None)


def test_rollback_when_both_aliases_point_at_one_version_is_refused(champions: Callable, versions: Any) -> None:
    versions.client.set_registered_model_alias(NAME, "previous-champion", "1")
    with pytest.raises(promote.AliasError, match="champion and previous-champion are both v1: nothing to roll back"):
        promote.rollback(versions)
    assert champions() == ("1", "1")


@pytest.mark.parametrize("hostile", ["2; touch X #", "0", "-1", "1.5", "", "$(touch X)", "2\nrm", "v2", "01"])
def test_promote_refuses_a_version_that_is_not_a_positive_integer(
    hostile: str, champions: Callable, versions: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert promote.main(["--version", hostile]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --version ") and "give a positive integer" in err and err.count("\n") == 1
    assert champions() == ("1", None)
    assert not Path("X").exists()


def test_rollback_swaps_and_twice_returns(champions: Callable, versions: Any) -> None:
    promote.promote(versions, "3")
    assert promote.rollback(versions) == ("1", "3")
    assert champions() == ("1", "3")
    assert promote.rollback(versions) == ("3", "1")
    assert champions() == ("3", "1")


def test_rollback_without_previous_champion_is_refused(champions: Callable, versions: Any) -> None:
    with pytest.raises(promote.AliasError, match=f"model '{NAME}' has no previous-champion to roll back to"):
        promote.rollback(versions)
    assert champions() == ("1", None)


def test_main_promotes(champions: Callable, versions: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert promote.main(["--version", "2"]) == 0
    assert capsys.readouterr().out == f"promote: '{NAME}' champion -> v2 (was v1)\n"
    assert champions() == ("2", "1")


def test_main_with_unknown_version_is_one_line_error(versions: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert promote.main(["--version", "42"]) == 1
    assert capsys.readouterr().err == f"error: model '{NAME}' has no version 42\n"


def test_rollback_command_through_the_cli(
    champions: Callable, versions: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["rollback"]) == 1
    assert capsys.readouterr().err == f"error: model '{NAME}' has no previous-champion to roll back to\n"
    assert cli.main(["promote", "--version", "3"]) == 0
    assert cli.main(["rollback"]) == 0
    assert capsys.readouterr().out.endswith(f"rollback: '{NAME}' champion -> v1, previous-champion -> v3\n")
    assert champions() == ("1", "3")


def test_main_without_params_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    Path("params.yaml").unlink()
    assert promote.rollback_main([]) == 2
    assert capsys.readouterr().err == "error: params.yaml: file not found; run commands from the project root\n"
