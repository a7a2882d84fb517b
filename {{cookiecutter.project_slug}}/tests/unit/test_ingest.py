"""Ingest: cleaning, a stratified and repeatable split, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import data, ingest, params

TARGET = "target value"


def test_clean_drops_rows_without_target_and_empty_columns(classification_data: pd.DataFrame) -> None:
    frame = classification_data.assign(**{"never filled": np.nan})
    frame.loc[[0, 1], TARGET] = None
    cleaned = ingest.clean(frame, TARGET)
    assert len(cleaned) == len(frame) - 2
    assert "never filled" not in cleaned.columns
    assert cleaned.index.tolist() == list(range(len(cleaned)))
    assert cleaned["monthly charges"].isna().any()  # missing features are the model's job, not ingest's


def test_clean_without_target_column_names_the_columns(classification_data: pd.DataFrame) -> None:
    with pytest.raises(data.DataError, match="target column 'churn' not found; columns are: monthly charges, "):
        ingest.clean(classification_data, "churn")


def test_split_keeps_class_shares(classification_data: pd.DataFrame) -> None:
    train, holdout = ingest.split(classification_data, TARGET, "classification", 0.25, seed=1)
    assert len(holdout) == 40 and len(train) == 120
    shares = classification_data[TARGET].value_counts(normalize=True)
    for part in (train, holdout):
        part_shares = part[TARGET].value_counts(normalize=True)
        assert (part_shares - shares).abs().max() < 0.02


def test_split_is_a_partition(task_data: pd.DataFrame, task: str) -> None:
    train, holdout = ingest.split(task_data, TARGET, task, 0.2, seed=3)
    assert sorted([*train.index, *holdout.index]) == list(task_data.index)


def test_split_is_repeatable_for_a_seed(task_data: pd.DataFrame, task: str) -> None:
    first, second, other = (ingest.split(task_data, TARGET, task, 0.2, seed=seed) for seed in (42, 42, 7))
    assert first[1].index.tolist() == second[1].index.tolist()
    assert first[1].index.tolist() != other[1].index.tolist()


def test_split_of_a_rare_class_is_not_stratified() -> None:
    frame = pd.DataFrame({"x": range(10), TARGET: ["a"] * 5 + ["b"] * 4 + ["only once"]})
    train, holdout = ingest.split(frame, TARGET, "classification", 0.3, seed=0)
    assert len(train) + len(holdout) == 10


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.2, "0.2"])
def test_bad_holdout_fraction_is_a_params_error(task_data: pd.DataFrame, task: str, fraction: object) -> None:
    with pytest.raises(params.ParamsError, match=r"ingest\.holdout_fraction=.*: must be between 0 and 1"):
        ingest.split(task_data, TARGET, task, fraction, seed=0)


@pytest.mark.parametrize(
    ("frame", "task"),
    [
        (pd.DataFrame({"x": [1.0], TARGET: [2.0]}), "regression"),
        (pd.DataFrame({"x": range(6), TARGET: list("aabbcc")}), "classification"),  # 2 holdout rows, 3 classes
    ],
)
def test_too_few_rows_is_a_data_error(frame: pd.DataFrame, task: str) -> None:
    with pytest.raises(data.DataError, match=r"rows are too few to split with holdout_fraction=0\.2"):
        ingest.split(frame, TARGET, task, 0.2, seed=0)


def test_main_writes_train_and_holdout(project, task_data: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    raw = project.use_synthetic(task_data)
    args = ["--raw", str(raw), "--train", "data/prepared/train.csv", "--holdout", "data/prepared/holdout.csv"]
    assert ingest.main(args) == 0
    train, holdout = pd.read_csv("data/prepared/train.csv"), pd.read_csv("data/prepared/holdout.csv")
    assert len(train) + len(holdout) == len(task_data)
    assert len(holdout) == pytest.approx(len(task_data) * project.params["ingest"]["holdout_fraction"], abs=1)
    assert list(train.columns) == list(task_data.columns)
    assert capsys.readouterr().out.startswith(f"ingest: {len(train)} training rows -> data/prepared/train.csv")


def run_main(raw: str) -> int:
    return ingest.main(["--raw", raw, "--train", "train.csv", "--holdout", "holdout.csv"])


def test_main_with_missing_file_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main("data/raw/nothing.csv") == 2
    assert capsys.readouterr().err == "error: data/raw/nothing.csv: file not found\n"
    assert not Path("train.csv").exists()


def test_main_with_missing_target_is_one_line_error(
    project, task_data: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = project.use_synthetic(task_data.drop(columns=[TARGET]))
    assert run_main(str(raw)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: target column '{TARGET}' not found; columns are: ")
    assert err.count("\n") == 1


def test_main_with_bad_params_value_is_one_line_error(
    project, task_data: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = project.use_synthetic(task_data)
    project.params["ingest"]["holdout_fraction"] = 20
    project.save_params()
    assert run_main(str(raw)) == 2
    assert capsys.readouterr().err == (
        "error: params.yaml: ingest.holdout_fraction = 20: must be a number between 0 and 1, exclusive\n"
    )


def test_main_without_params_file_is_one_line_error(project, capsys: pytest.CaptureFixture[str]) -> None:
    Path("params.yaml").unlink()
    assert run_main("data.csv") == 2
    assert capsys.readouterr().err == "error: params.yaml: file not found; run commands from the project root\n"
