"""The data source: how the raw file becomes clean rows. Yours to edit.

The `ingest` stage (loop/ingest.py) calls `load` on the raw file dvc.yaml names, then `clean`,
then splits the rows into training and holdout by a hash of each row (loop/rows.py). Change
`load` to read another format, `clean` to drop or fix rows; keep the signatures, they are the
loop's contract with this file. Raise DataError for data you refuse: it is shown as one line.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .loop.data import DataError, read_table


def load(path: str | Path) -> pd.DataFrame:
    """Read the raw rows (CSV or Parquet): times, categories and ids stay text until `train` reads them."""
    return read_table(path)


def clean(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Drop rows without a target and columns with no value at all."""
    if target not in frame.columns:
        raise DataError(f"target column {target!r} not found; columns are: {', '.join(map(str, frame.columns))}")
    frame = frame.dropna(subset=[target])
    features = frame.columns.drop(target)
    empty = [column for column in features if frame[column].isna().all()]
    return frame.drop(columns=empty).reset_index(drop=True)
