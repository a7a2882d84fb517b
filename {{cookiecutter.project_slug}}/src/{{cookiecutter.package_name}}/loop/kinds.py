"""What a column is: numbers, true/false, times, categories or free text, decided from its cells.

One rule for every stage: `train` encodes a column by it, the suite (`profile`) checks it, `drift`
compares it. Standard library only, like profile.py: the bake's first suite is written before the
project's environment exists. See docs/design-decisions.md, "A column's kind is what its values mean".
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any

KINDS = ("numeric", "boolean", "datetime", "categorical", "text")
NUMBER = re.compile(r"^\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity)\s*$", re.IGNORECASE)
BOOLEANS = frozenset({"True", "False", "TRUE", "FALSE", "true", "false"})
# ISO 8601 as data sets write it: a date, optionally a time (`T` or a space), fractions, `Z` or an offset.
ISO_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$",
)
# A column whose distinct values each appear on at least this many rows on average is made of
# categories (zone names, product codes), however many there are; below it, of free text.
MIN_REPEATS = 2
# How the suite writes an instant: in UTC, without an offset, as validate gives the column to Great
# Expectations (pandas refuses to compare times with and without a zone).
CANONICAL = "%Y-%m-%dT%H:%M:%S.%f"


def utc_instant(text: str) -> datetime.datetime | None:
    """Return the UTC instant an ISO-8601 cell names (no offset: UTC), or None if it is not one."""
    if not ISO_TIME.match(text):
        return None
    cell = text
    fraction = re.search(r"\.(\d{7,9})", cell)
    if fraction:  # the standard library reads at most microseconds
        cell = cell.replace(fraction.group(0), "." + fraction.group(1)[:6])
    try:
        moment = datetime.datetime.fromisoformat(cell)
    except ValueError:  # month 13, hour 25, February 30
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def canonical(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime(CANONICAL)


def kind_of(distinct: Iterable[str], rows: int, max_categories: int) -> str:
    """Return the kind of a column from its distinct non-missing cells (as text) and its non-missing row count."""
    values = set(distinct)
    if values and all(NUMBER.match(value) for value in values):
        return "numeric"
    if values and values <= BOOLEANS:
        return "boolean"
    if values and all(utc_instant(value) is not None for value in values):
        return "datetime"
    if len(values) <= max_categories or rows >= MIN_REPEATS * len(values):
        return "categorical"
    return "text"


def series_kind(values: Any, max_categories: int) -> str:
    """Return the kind of a pandas Series, by its dtype where that decides, else by `kind_of`."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(values.dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(values.dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return "datetime"
    present = values.dropna()  # True/False with gaps are objects: their text is a boolean's
    return kind_of((str(value) for value in pd.unique(present)), len(present), max_categories)


def parse_times(values: Any) -> Any:
    """Return a pandas Series of UTC instants (NaT where a cell is missing or is not an ISO-8601 time)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
    text = values.astype(object).where(values.notna())
    shaped = text.map(lambda cell: isinstance(cell, str) and bool(ISO_TIME.match(cell)))
    return pd.to_datetime(text.where(shaped), utc=True, format="ISO8601", errors="coerce")
