"""Rows: one identity per row, whatever types a reader inferred, and the side of the split it is on.

A row's identity is the text of its `data.key` columns (the whole row when there is no key),
written the same way whether a column was read as integers or as floats with gaps: `3`, `3.0`
and `3.00` are one value, a missing cell is empty. Its side is fixed by a hash of that identity
salted with `ingest.seed`: the same row lands on the same side in every run, so appending data
never moves a row the champion trained on into the holdout, and identical rows never straddle it.
Fingerprints (the first 8 bytes of the unsalted hash) record which rows a model trained on.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

SEPARATOR = "\x1f"  # the ASCII unit separator: never part of a CSV value a user typed
FINGERPRINT = np.dtype("<u8")


def cell_text(values: pd.Series) -> list[str]:
    """Each value of one column as text: numbers by value (integers without a point), missing as ''."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return ["" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
                for value in values.tolist()]  # fmt: skip
    numbers = values.astype("float64").to_numpy()
    return [
        ""
        if math.isnan(number)
        else (str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number))
        for number in numbers.tolist()
    ]


def identities(frame: pd.DataFrame, key: Sequence[str] = ()) -> list[str]:
    """The identity text of every row: its key columns, or all its columns in the frame's order."""
    columns = list(key) or list(frame.columns)
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise KeyError(f"data.key names columns the data does not have: {', '.join(map(repr, missing))}")
    texts = [cell_text(frame[name]) for name in columns]
    return [SEPARATOR.join(cells) for cells in zip(*texts, strict=True)] if texts else []


def fingerprints(frame: pd.DataFrame, key: Sequence[str] = ()) -> np.ndarray:
    """The rows' fingerprints (8-byte hashes of their identities), as unsigned 64-bit integers."""
    digests = b"".join(hashlib.blake2b(text.encode(), digest_size=8).digest() for text in identities(frame, key))
    return np.frombuffer(digests, dtype=FINGERPRINT)


def in_holdout(frame: pd.DataFrame, fraction: float, salt: int | str, key: Sequence[str] = ()) -> np.ndarray:
    """True for the rows whose salted identity hash falls in the holdout's share of the hash range."""
    salt_bytes = str(salt).encode()[:64]
    digests = b"".join(
        hashlib.blake2b(text.encode(), digest_size=8, key=salt_bytes).digest() for text in identities(frame, key)
    )
    return np.frombuffer(digests, dtype=FINGERPRINT) < np.uint64(int(fraction * 2**64))


def to_bytes(values: np.ndarray) -> bytes:
    """The fingerprints as a file: sorted little-endian 64-bit integers (read back by `from_bytes`)."""
    return np.sort(values.astype(FINGERPRINT)).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    """Read fingerprints written by `to_bytes`; no code runs, only numbers are read."""
    if len(data) % FINGERPRINT.itemsize:
        raise ValueError(f"a fingerprint file holds 8-byte numbers; {len(data)} bytes is not a whole number of them")
    return np.frombuffer(data, dtype=FINGERPRINT)


def shared(rows: np.ndarray, trained_on: np.ndarray) -> np.ndarray:
    """True for each row whose fingerprint is among `trained_on`."""
    return np.isin(rows, trained_on)
