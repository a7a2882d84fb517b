"""Open the reference and current tables: CSV in memory, Parquet one column at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd

from ..data import DataError, read_table

PARQUET_SUFFIXES = {".parquet", ".pq"}


class FrameTable:
    """A CSV (or any) table held in memory."""

    def __init__(self, path: Path, frame: pd.DataFrame):
        self.path, self._frame = path, frame
        self.columns = list(frame.columns)
        self.rows = len(frame)

    def column(self, name: str) -> pd.Series:
        return self._frame[name]

    def frame(self) -> pd.DataFrame:
        return self._frame


class ParquetTable:
    """A Parquet file read one column at a time, so files larger than memory can be compared.

    The file is opened once: its footer describes every column, and parsing it again for each of
    thousands of columns would cost more than the comparison.
    """

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
            raise DataError(f"{path}: cannot be read as parquet: {error}") from error
        self.columns, self.rows = list(self._file.schema_arrow.names), self._file.metadata.num_rows
        self._lock = threading.Lock()  # one reader of the file at a time; the comparisons run in parallel

    def column(self, name: str) -> pd.Series:
        try:
            with self._lock:
                table = self._file.read(columns=[name])
        except (OSError, ValueError) as error:
            raise DataError(f"{self.path}: cannot read column {name!r}: {error}") from error
        return table.column(0).to_pandas()

    def frame(self) -> pd.DataFrame:
        return read_table(self.path)


Table = FrameTable | ParquetTable


def open_table(path: str | Path) -> Table:
    """Open a CSV or Parquet file, or raise DataError if it is missing, empty or unreadable."""
    path = Path(path)
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    if path.suffix.lower() in PARQUET_SUFFIXES and path.is_file():
        table = ParquetTable(path)
    else:
        table = FrameTable(path, read_table(path))
    if not table.columns:
        raise DataError(f"{path}: has no columns")
    if table.rows == 0:
        raise DataError(f"{path}: has no rows")
    return table
