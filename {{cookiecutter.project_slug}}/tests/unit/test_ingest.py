"""Ingest: cleaning, a split where a row's side never changes, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import source
from {{ cookiecutter.package_name }}.loop import data, ingest, params

TARGET = "target value"


def test_clean_drops_rows_without_target_and_empty_columns(classification_data: pd.DataFrame) -> None:
    frame = classification_data.assign(**{"never filled": np.nan})
    frame.loc[[0, 1], TARGET] = None
    cleaned = source.clean(frame, TARGET)
    assert len(cleaned) == len(frame) - 2
    assert "never filled" not in cleaned.columns
    assert cleaned.index.tolist() == list(range(len(cleaned)))
    assert cleaned["monthly charges"].isna().any()  # missing features are the model's job, not ingest's


def test_clean_without_target_column_names_the_columns(classification_data: pd.DataFrame) -> None:
    with pytest.raises(data.DataError, match="target column 'churn' not found; columns are: monthly charges, "):
        source.clean(classification_data, "churn")


def test_split_holds_about_the_holdout_fraction(classification_data: pd.DataFrame) -> None:
    train, holdout = ingest.split(classification_data, TARGET, "classification", 0.25, seed=1)
    assert len(train) + len(holdout) == len(classification_data)
    assert 0.15 < len(holdout) / len(classification_data) < 0.35
    assert set(holdout[TARGET]) == set(classification_data[TARGET])


def sides(frame: pd.DataFrame, key: list[str] | None = None, seed: int = 42) -> dict[int, bool]:
    """Row number -> True when the row is in the holdout."""
    _, holdout = ingest.split(frame, TARGET, "regression", 0.2, seed=seed, key=key)
    return {index: index in holdout.index for index in frame.index}


def test_appending_rows_never_moves_an_old_row(task_data: pd.DataFrame, task: str) -> None:
    before = sides(task_data.head(100))
    after = sides(task_data)  # 60 rows appended
    assert {index: after[index] for index in before} == before


def test_a_rows_side_does_not_depend_on_how_its_columns_were_read(task_data: pd.DataFrame) -> None:
    """An integer column that gains a missing value is read as floats: no row may move for that."""
    counts = task_data.assign(count=np.arange(len(task_data)))
    with_gap = pd.concat([counts, counts.tail(1).assign(count=np.nan)], ignore_index=True)
    assert with_gap["count"].dtype == "float64" and counts["count"].dtype == "int64"
    assert {index: side for index, side in sides(with_gap).items() if index < len(counts)} == sides(counts)


def test_identical_rows_are_on_one_side(task_data: pd.DataFrame) -> None:
    doubled = pd.concat([task_data, task_data], ignore_index=True)
    placed = sides(doubled)
    assert all(placed[index] == placed[index + len(task_data)] for index in range(len(task_data)))


def test_with_a_key_a_corrected_row_keeps_its_side(task_data: pd.DataFrame) -> None:
    keyed = task_data.assign(id=[f"row-{number}" for number in range(len(task_data))])
    corrected = keyed.copy()
    corrected[TARGET] = corrected[TARGET].sample(frac=1, random_state=0).to_numpy()  # every label changed
    assert sides(keyed, key=["id"]) == sides(corrected, key=["id"])
    with pytest.raises(params.ParamsError, match=r"data\.key names columns the data does not have: 'nope'"):
        sides(keyed, key=["nope"])


def test_split_is_a_partition(task_data: pd.DataFrame, task: str) -> None:
    train, holdout = ingest.split(task_data, TARGET, task, 0.2, seed=3)
    assert sorted([*train.index, *holdout.index]) == list(task_data.index)


def test_split_is_repeatable_for_a_seed(task_data: pd.DataFrame, task: str) -> None:
    first, second, other = (ingest.split(task_data, TARGET, task, 0.2, seed=seed) for seed in (42, 42, 7))
    assert first[1].index.tolist() == second[1].index.tolist()
    assert first[1].index.tolist() != other[1].index.tolist()


def test_a_class_missing_from_the_holdout_is_named() -> None:
    """Sides are fixed for good, so a class the holdout never holds would make every gate unscorable."""
    frame = pd.DataFrame({"x": range(100), TARGET: ["a", "b"] * 49 + ["c", "only once"]})
    outcomes = []
    for seed in range(10):
        try:
            _, holdout = ingest.split(frame, TARGET, "classification", 0.3, seed=seed)
        except data.DataError as error:
            assert "lack classes of 'target value':" in str(error) and "(1 rows)" in str(error)
            outcomes.append("refused")
        else:
            outcomes.append(set(holdout[TARGET]) == set(frame[TARGET]))  # every class is held out
    assert "refused" in outcomes and set(outcomes) <= {True, "refused"}


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.2, "0.2"])
def test_bad_holdout_fraction_is_a_params_error(task_data: pd.DataFrame, task: str, fraction: object) -> None:
    with pytest.raises(params.ParamsError, match=r"ingest\.holdout_fraction=.*: must be between 0 and 1"):
        ingest.split(task_data, TARGET, task, fraction, seed=0)


@pytest.mark.parametrize(
    ("frame", "task"),
    [
        (pd.DataFrame({"x": [1.0], TARGET: [2.0]}), "regression"),
        (pd.DataFrame({"x": [1.0, 2.0], TARGET: ["a", "b"]}), "classification"),  # one side empty, or one class
    ],
)
def test_too_few_rows_is_a_data_error(frame: pd.DataFrame, task: str) -> None:
    with pytest.raises(data.DataError, match=r"too few to split with holdout_fraction=0\.2|lack classes of"):
        ingest.split(frame, TARGET, task, 0.2, seed=0)


def test_main_writes_train_and_holdout(project, task_data: pd.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    raw = project.use_synthetic(task_data)
    args = ["--raw", str(raw), "--train", "data/prepared/train.csv", "--holdout", "data/prepared/holdout.csv"]
    assert ingest.main(args) == 0
    train, holdout = pd.read_csv("data/prepared/train.csv"), pd.read_csv("data/prepared/holdout.csv")
    assert len(train) + len(holdout) == len(task_data)
    assert len(holdout) == pytest.approx(len(task_data) * project.params["ingest"]["holdout_fraction"], abs=12)
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
