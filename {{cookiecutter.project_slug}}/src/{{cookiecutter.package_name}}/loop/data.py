"""Read and write tables, and separate features from the target."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


class DataError(ValueError):
    """A data file is missing, unreadable, or lacks what a stage needs."""


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unsupported format {path.suffix!r}; use one of {', '.join(READERS)}")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return reader(path)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise DataError(f"{path}: cannot be read as {path.suffix[1:]}: {error}") from error


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a DataFrame as CSV, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def split_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Return (features, target), or raise DataError if the target column is absent."""
    if target not in frame.columns:
        raise DataError(f"target column {target!r} not found; columns are: {', '.join(map(str, frame.columns))}")
    return frame.drop(columns=[target]), frame[target]
