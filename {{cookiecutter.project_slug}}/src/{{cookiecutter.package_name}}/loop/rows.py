"""Rows: one identity per row, whatever types a reader inferred, and the side of the split it is on.

A row's identity is its filled cells, each written as `column=value` in the order of the column
names: `3`, `3.0`, `"3"` and `"03"` are one value, `true` and `True` one bool, a missing cell is
left out (so a column that appears, empty for the old rows, changes no old row). With `data.key`
the identity is the key columns alone, unless a key cell is missing: such a row is identified by
all its cells. Every cell is read on its own, never by its column's type: a column that gains a
text value or a gap moves no row. Its side is fixed by a hash of that identity salted with
`ingest.seed`: the same row lands on the same side in every run, so appending data never moves a
row the champion trained on into the holdout, and identical rows never straddle it.
Fingerprints (the first 8 bytes of the unsalted hash) record which rows a model trained on.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

SEPARATOR = "\x1f"  # the ASCII unit separator: never part of a CSV value a user typed
FINGERPRINT = np.dtype("<u8")
INTEGER = re.compile(r"^\s*[+-]?\d+\s*$")
DECIMAL = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
BOOLEAN = {"true": "True", "false": "False"}


class IdentityError(ValueError):
    """Rows cannot be told apart as asked (a key column the data does not have)."""


def number_text(number: float) -> str:
    if math.isnan(number):
        return ""
    return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)


def cell_text(value: Any) -> str:
    """One cell as text by what it means: numbers by value, bools by truth, a missing cell as ''."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))  # exact, whatever its size
    if isinstance(value, float | np.floating):
        return number_text(float(value))
    text = str(value)
    if INTEGER.match(text):
        return str(int(text))
    if DECIMAL.match(text):
        return number_text(float(text))
    return BOOLEAN.get(text.strip().lower(), text)


def identities(frame: pd.DataFrame, key: Sequence[str] = ()) -> list[str]:
    """The identity text of every row: its key cells, or all its filled cells, by column name."""
    missing = [name for name in key if name not in frame.columns]
    if missing:
        allowed = ", ".join(map(str, frame.columns))
        raise IdentityError(
            f"data.key names columns the data does not have: {', '.join(map(repr, missing))}; allowed: {allowed}"
        )
    names = sorted(map(str, frame.columns))
    by_name = {str(column): column for column in frame.columns}
    texts = {name: [cell_text(value) for value in frame[by_name[name]].tolist()] for name in names}

    def whole(row: int) -> str:
        return SEPARATOR.join(f"{name}={texts[name][row]}" for name in names if texts[name][row] != "")

    result = []
    for row in range(len(frame)):
        cells = [texts[str(name)][row] for name in key]
        keyed = bool(key) and all(cells)
        result.append("key:" + SEPARATOR.join(cells) if keyed else whole(row))
    return result


def digest(texts: list[str], salt: bytes = b"") -> np.ndarray:
    joined = b"".join(hashlib.blake2b(text.encode(), digest_size=8, key=salt).digest() for text in texts)
    return np.frombuffer(joined, dtype=FINGERPRINT)


def fingerprints(frame: pd.DataFrame, key: Sequence[str] = ()) -> np.ndarray:
    """The rows' fingerprints (8-byte hashes of their identities), as unsigned 64-bit integers."""
    return digest(identities(frame, key))


def in_holdout(frame: pd.DataFrame, fraction: float, salt: int | str, key: Sequence[str] = ()) -> np.ndarray:
    """True for the rows whose salted identity hash falls in the holdout's share of the hash range."""
    hashes = digest(identities(frame, key), str(salt).encode()[:64])
    return hashes < np.uint64(int(fraction * 2**64))


def columns_digest(frame: pd.DataFrame) -> str:
    """A short hash of the column names: fingerprints compare only between tables with the same columns."""
    names = SEPARATOR.join(sorted(map(str, frame.columns)))
    return hashlib.sha256(names.encode()).hexdigest()[:12]


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
