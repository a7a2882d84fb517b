"""Reading and writing tables, and separating the target."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import data


def test_csv_round_trip_creates_the_folder(tmp_path: Path, classification_data: pd.DataFrame) -> None:
    path = tmp_path / "nested" / "folder" / "table.csv"
    data.write_table(classification_data, path)
    read = data.read_table(path)
    assert list(read.columns) == list(classification_data.columns)
    assert len(read) == len(classification_data)
    assert read["monthly charges"].isna().sum() == classification_data["monthly charges"].isna().sum()


def test_parquet_is_read(tmp_path: Path, regression_data: pd.DataFrame) -> None:
    path = tmp_path / "table.parquet"
    regression_data.to_parquet(path)
    pd.testing.assert_frame_equal(data.read_table(path), regression_data)


def test_unsupported_format_is_named(tmp_path: Path) -> None:
    with pytest.raises(data.DataError, match=r"unsupported format '\.xlsx'; use one of \.csv, \.parquet, \.pq"):
        data.read_table(tmp_path / "table.xlsx")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(data.DataError, match=r"missing\.csv: file not found"):
        data.read_table(tmp_path / "missing.csv")


def test_unreadable_file_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_text("not parquet at all", encoding="utf-8")
    with pytest.raises(data.DataError, match=r"broken\.parquet: cannot be read as parquet"):
        data.read_table(path)


def test_empty_csv_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(data.DataError, match="cannot be read as csv"):
        data.read_table(path)


def test_split_target_separates_the_target(classification_data: pd.DataFrame) -> None:
    target = "target value"
    features, labels = data.split_target(classification_data, target)
    assert target not in features.columns
    assert labels.name == target
    assert len(features) == len(labels) == len(classification_data)


def test_missing_target_lists_the_columns(classification_data: pd.DataFrame) -> None:
    with pytest.raises(data.DataError, match=r"target column 'label' not found; columns are: monthly charges, "):
        data.split_target(classification_data, "label")
