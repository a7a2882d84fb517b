"""JSON every parser reads: a number that is not finite (an undefined metric) is written as null.

Python's json writes NaN and Infinity as bare words that JSON does not have; jq, JavaScript,
GitHub's fromJSON and DVC's metrics parsers stop on them. Every file a command writes goes through
`dumps`, which also refuses (ValueError) anything else JSON cannot hold instead of guessing.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """The value with every NaN or infinite number replaced by None (JSON's null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def dumps(value: Any, **options: Any) -> str:
    """json.dumps of `value` with non-finite numbers as null; `options` as json.dumps takes them."""
    return json.dumps(finite(value), allow_nan=False, **options)


def is_number(value: Any) -> bool:
    """True for a finite int or float (not a bool): a value a report can show and a chart can draw."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
