"""params.yaml: the shipped file is complete and valid, and bad files fail with one clear line."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import metrics, params, train

PROJECT_ROOT = Path(__file__).parents[2]


def test_project_params_have_every_stage_section() -> None:
    loaded = params.load_params(PROJECT_ROOT / "params.yaml")
    for name in ("data", "ingest", "profile", "train", "gate", "register"):
        assert isinstance(params.section(loaded, name), dict), name


def test_project_params_values_are_allowed(project_params: dict[str, Any]) -> None:
    task = project_params["data"]["task"]
    gate = project_params["gate"]
    assert task in {"classification", "regression"}
    assert project_params["train"]["model"] in train.MODELS
    assert gate["metric"] in metrics.names_for(task)
    allowed = metrics.METRICS[gate["metric"]]
    assert allowed.low <= float(gate["threshold"]) <= allowed.high
    assert 0 <= float(gate["tolerance"]) < math.inf
    assert 0 < project_params["ingest"]["holdout_fraction"] < 1
    assert project_params["register"]["model_name"]


def test_missing_file_says_where_to_run(tmp_path: Path) -> None:
    with pytest.raises(params.ParamsError, match=r"nowhere\.yaml: file not found; run commands from the project root"):
        params.load_params(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("just text\n", "str"), ("", "NoneType")])
def test_file_that_is_not_a_mapping_is_rejected(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(params.ParamsError, match=f"expected a mapping of sections, got {kind}"):
        params.load_params(path)


@pytest.mark.parametrize("value", [None, 3, ["a"]])
def test_missing_or_malformed_section_is_named(value: object) -> None:
    with pytest.raises(params.ParamsError, match="section 'train' is missing or not a mapping"):
        params.section({"train": value}, "train")


def test_section_returns_the_mapping() -> None:
    assert params.section({"gate": {"metric": "r2"}}, "gate") == {"metric": "r2"}
