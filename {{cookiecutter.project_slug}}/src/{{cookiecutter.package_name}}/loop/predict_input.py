"""The table `predict` scores: read in chunks, each chunk checked against what the model expects.

A local CSV or Parquet file (or a glob of them) is read `chunk_rows` rows at a time, so a table
larger than memory scores in bounded memory. A URL, an object store or `dvc` is read whole, by the
readers `refresh` uses, within their size cap. Before any row is scored, every feature column must
be there; then each chunk's feature columns must hold what their kind (from the expectation suite)
allows: numbers in a numeric column, times in a time column, true/false in a boolean one. A
retyped column stops the command with one line naming the column, the value and its row.
"""

from __future__ import annotations

import glob
import hashlib
import threading
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .data import DataError

CSV, PARQUET = (".csv",), (".parquet", ".pq")
TRUE_FALSE = {"true", "false", "1", "0", "1.0", "0.0"}
TEXT_KINDS = {"categorical", "text", "datetime"}  # kinds whose values a whole-file CSV read keeps as text
REMOTE = {"http", "https", "s3", "gs", "gcs", "az", "abfs"}


class PredictError(DataError):
    """The input or a setting of `predict` is wrong; nothing is written (exit 2)."""


def feature_kinds_of(suite: dict[str, Any], target: str) -> dict[str, str]:
    """Return {column: kind} for the suite's columns other than the target (profile.py writes the kinds)."""
    kinds: dict[str, str] = {}
    for item in suite.get("expectations", []):
        kwargs = item.get("kwargs") or {}
        if item.get("type") == "expect_table_columns_to_match_set":
            for column in kwargs.get("column_set") or []:
                kinds.setdefault(str(column), "categorical")
        column, kind = kwargs.get("column"), (item.get("meta") or {}).get("kind")
        if column is not None and kind:
            kinds[str(column)] = str(kind)
    kinds.pop(target, None)
    return kinds


def retyped(values: pd.Series, kind: str) -> int | None:
    """Return the position of the first present value the kind does not allow, or None."""
    from .kinds import parse_times

    present = values.notna()
    if kind == "numeric":
        if pd.api.types.is_numeric_dtype(values.dtype):
            return None
        wrong = present & pd.to_numeric(values.astype(object).where(present), errors="coerce").isna()
    elif kind == "datetime":
        wrong = present & parse_times(values).isna()
    elif kind == "boolean":
        if pd.api.types.is_bool_dtype(values.dtype):
            return None
        wrong = present & ~values.astype(str).str.lower().isin(TRUE_FALSE)
    else:
        return None
    found = wrong.to_numpy().nonzero()[0]
    return int(found[0]) if len(found) else None


def as_booleans(values: pd.Series) -> pd.Series:
    """True/False for every spelling TRUE_FALSE allows (1, "true", "0.0" ...), missing kept: what training saw.

    pandas reads "True"/"False" cells as bools; a batch that writes 1/0, or a Parquet file holding
    "true", would otherwise reach the encoder as values it never saw and be scored as unseen.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values
    truth = values.astype(str).str.lower().isin({"true", "1", "1.0"}).astype(object)
    truth[values.isna()] = float("nan")  # missing, as a gap in a CSV column of True/False reads
    return truth


def check_chunk(chunk: pd.DataFrame, kinds: dict[str, str], first_row: int, name: str) -> None:
    """Raise PredictError for the first feature value its column's kind does not allow."""
    for column, kind in kinds.items():
        if column not in chunk.columns:
            continue
        position = retyped(chunk[column], kind)
        if position is not None:
            value = str(chunk[column].iloc[position])[:60]
            what = {"numeric": "a number", "datetime": "an ISO-8601 time", "boolean": "true or false"}[kind]
            raise PredictError(
                f"{name}: column {column!r} holds {value!r} on row {first_row + position + 1}; the model expects "
                f"{what} there (expectations/suite.json); fix the input"
            )


@dataclass
class InputTable:
    """Where the rows come from, and what was read of them."""

    source: str
    chunk_rows: int
    paths: list[Path] = field(default_factory=list)
    rows: int = 0
    total_rows: int | None = None
    sha256: str = ""
    hashed: str = "file bytes"
    # Columns read as text from CSV, as a whole-file read gives them: a chunk whose values all look
    # like numbers ("1", "2", gaps) must not turn into floats ("1.0") that the model never saw.
    text_columns: set[str] = field(default_factory=set)
    _hashing: Future | None = None

    @property
    def is_local(self) -> bool:
        scheme = urllib.parse.urlsplit(self.source).scheme.lower()
        return self.source != "dvc" and scheme not in REMOTE

    def open(self) -> None:
        """Find the files (local sources) and check they can be read as tables, before anything is scored."""
        if self.source in {"", "demo"}:
            raise PredictError(f"input {self.source!r}: give a CSV or Parquet file, a glob, a URL or `dvc`")
        if not self.is_local:
            return
        paths = sorted(glob.glob(self.source)) if glob.has_magic(self.source) else [self.source]
        self.paths = [Path(path) for path in paths]
        if not self.paths or not all(path.is_file() for path in self.paths):
            matches = " matches" if glob.has_magic(self.source) else ""
            raise PredictError(f"input {self.source}: no such file{matches}")
        for path in self.paths:
            if path.suffix.lower() not in CSV + PARQUET:
                raise PredictError(f"input {path}: unsupported format {path.suffix!r}; use .csv, .parquet or .pq")
        # Hashed on another thread while the rows are scored (hashlib lets go of the GIL); `digest()` waits
        # for it. A daemon thread: a command that stops early does not wait for the rest of the file.
        self._hashing = Future()
        threading.Thread(target=hash_into, args=(self._hashing, self.paths), daemon=True).start()
        self.total_rows = parquet_rows(self.paths)

    def digest(self) -> str:
        """The input's sha256 (local files: of their bytes, hashed while they were scored)."""
        if self._hashing is not None:
            self.sha256, self._hashing = self._hashing.result(), None
        return self.sha256

    def columns(self) -> list[str]:
        """The input's columns (the first file's; every other file must have the same)."""
        found = None
        for path in self.paths:
            columns = header(path)
            if found is not None and columns != found:
                raise PredictError(f"input {path}: its columns differ from {self.paths[0]}'s; score them separately")
            found = columns
        return found or []

    def chunks(self, params: dict[str, Any]) -> Iterator[pd.DataFrame]:
        """Yield the rows, `chunk_rows` at a time for local files, whole for the other sources."""
        if not self.is_local:
            frame = remote_table(self.source, params)
            self.sha256, self.hashed = rows_sha256(frame), "rows"
            self.total_rows = len(frame)
            for start in range(0, max(len(frame), 1), self.chunk_rows):
                yield frame.iloc[start : start + self.chunk_rows].reset_index(drop=True)
            return
        for path in self.paths:
            yield from file_chunks(path, self.chunk_rows, self.text_columns)


def header(path: Path) -> list[str]:
    try:
        if path.suffix.lower() in PARQUET:
            import pyarrow.parquet

            return list(pyarrow.parquet.read_schema(path).names)
        return [str(column) for column in pd.read_csv(path, nrows=0).columns]
    except Exception as error:  # pandas and pyarrow raise their own kinds for a file that is not a table
        raise PredictError(f"input {path}: cannot be read as {path.suffix[1:]}: {one_line(error)}") from None


def file_chunks(path: Path, chunk_rows: int, text_columns: set[str] = frozenset()) -> Iterator[pd.DataFrame]:
    try:
        if path.suffix.lower() in PARQUET:
            import pyarrow.parquet

            # pre_buffer off: with it, pyarrow keeps every row group it read, and memory grows with the file.
            for batch in pyarrow.parquet.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
        else:
            text = {column: str for column in header(path) if column in text_columns}
            with pd.read_csv(path, chunksize=chunk_rows, dtype=text) as reader:
                yield from reader
    except PredictError:
        raise
    except Exception as error:  # a cut-off or malformed file, found part way
        raise PredictError(f"input {path}: cannot be read as {path.suffix[1:]}: {one_line(error)}") from None


def remote_table(source: str, params: dict[str, Any]) -> pd.DataFrame:
    """Read a URL, an object store or `dvc` (refresh.dvc) whole, as `refresh` reads its source."""
    from . import refresh

    try:
        return refresh.fetch(source, pd.DataFrame(), params.get("refresh") or {}, params)
    except DataError as error:
        raise PredictError(str(error).replace("refresh.source ", "input ", 1)) from None


def hash_into(result: Future, paths: list[Path]) -> None:
    try:
        result.set_result(files_sha256(paths))
    except OSError as error:
        result.set_exception(PredictError(f"input {paths[0]}: cannot be read: {one_line(error)}"))


def files_sha256(paths: list[Path]) -> str:
    """The sha256 of the file's bytes; for several files, of their names and digests in order."""
    digests = []
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digests.append((path.name, digest.hexdigest()))
    if len(digests) == 1:
        return digests[0][1]
    return hashlib.sha256("\n".join(f"{name} {digest}" for name, digest in digests).encode()).hexdigest()


def rows_sha256(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def parquet_rows(paths: list[Path]) -> int | None:
    """The number of rows when every file is Parquet (its footer says), else None."""
    if not all(path.suffix.lower() in PARQUET for path in paths):
        return None
    import pyarrow.parquet

    try:
        return sum(pyarrow.parquet.ParquetFile(path).metadata.num_rows for path in paths)
    except Exception as error:  # not Parquet after all
        raise PredictError(f"input {paths[0]}: cannot be read as parquet: {one_line(error)}") from None


def one_line(error: BaseException) -> str:
    return (" ".join(str(error).split()) or type(error).__name__)[:300]


def read_ahead(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Yield the chunks, reading the next one on another thread while this one is scored."""
    with ThreadPoolExecutor(1) as reader:
        pending = reader.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = reader.submit(next, chunks, None)
            yield chunk
