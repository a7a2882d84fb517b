"""Rows: an identity that depends on what a row means, never on the types a reader inferred."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import rows


def moved(before: pd.DataFrame, after: pd.DataFrame) -> int:
    """How many rows of `before` are on another side once `after` (before + appended rows) is split."""
    first = rows.in_holdout(before, 0.2, 42)
    second = rows.in_holdout(after, 0.2, 42)[: len(before)]
    return int((first != second).sum())


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=400).round(1),
            "code": rng.choice([1, 2, 3], 400),  # read from "01", "02", "03"
            "flag": rng.random(400) < 0.5,
            "note": [np.nan] * 400,
            "id": np.arange(10**17, 10**17 + 400),  # beyond what a float holds exactly
        }
    )


@pytest.mark.parametrize(
    "appended",
    [
        {"x": "unknown"},  # the column becomes text
        {"code": "A1"},  # codes become text: "01" is still 1
        {"note": "the first note"},  # a column that was empty everywhere
        {"flag": None},  # a bool column gains a gap
        {"x": None, "code": None},  # numbers gain gaps
    ],
)
def test_an_appended_row_moves_no_old_row(table: pd.DataFrame, appended: dict) -> None:
    after = pd.concat([table, pd.DataFrame([{**table.iloc[0].to_dict(), **appended}])], ignore_index=True)
    assert moved(table, after) == 0


def test_the_order_of_columns_and_the_spelling_of_values_do_not_matter(table: pd.DataFrame) -> None:
    spelled = table.astype({"x": str, "code": str, "flag": str})
    spelled["code"] = spelled["code"].str.zfill(2)
    spelled["flag"] = spelled["flag"].str.lower()
    assert rows.identities(spelled[list(reversed(table.columns))]) == rows.identities(table)


def test_large_integers_stay_apart(table: pd.DataFrame) -> None:
    assert len(set(rows.fingerprints(table[["id"]]))) == len(table)
    assert rows.cell_text(12345678901234567) != rows.cell_text(12345678901234568)


def test_a_row_with_a_missing_key_is_identified_by_all_its_cells(table: pd.DataFrame) -> None:
    keyed = table.astype({"id": "float64"})
    keyed.loc[[3, 4], "id"] = np.nan
    ids = rows.identities(keyed, ["id"])
    assert ids[0].startswith("key:") and not ids[3].startswith("key:") and ids[3] != ids[4]
    with pytest.raises(rows.IdentityError, match=r"data\.key names columns the data does not have: 'nope'"):
        rows.identities(table, ["nope"])


def test_fingerprints_survive_their_file() -> None:
    values = np.array([5, 1, 2**64 - 1], dtype=np.uint64)
    assert rows.from_bytes(rows.to_bytes(values)).tolist() == [1, 5, 2**64 - 1]
    with pytest.raises(ValueError, match="8-byte numbers; 9 bytes"):
        rows.from_bytes(b"123456789")
