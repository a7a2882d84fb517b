"""Ingest: read and clean the raw data (the project's source.py), then split it into training and holdout sets.

The split is by row, not by chance: each row's side is fixed by a hash of its identity (rows.py),
so the champion and every later candidate are judged on rows none of them trained on.
"""

from __future__ import annotations

import argparse

import pandas as pd

from .data import DataError, write_table
from .errors import fail
from .params import ParamsError, load_params, section
from .rows import IdentityError, in_holdout


def split(
    frame: pd.DataFrame, target: str, task: str, holdout_fraction: float, seed: int, key: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (train, holdout) by a salted hash of each row's identity (rows.py).

    A row's side never changes: new rows appended to the data never move an old row across, and
    identical rows are on one side. `task` and `target` only shape the message for data too small.
    """
    if not isinstance(holdout_fraction, int | float) or not 0 < holdout_fraction < 1:
        raise ParamsError(f"ingest.holdout_fraction={holdout_fraction}: must be between 0 and 1 (exclusive)")
    try:
        holdout = in_holdout(frame, holdout_fraction, seed, key or ())
    except IdentityError as error:
        raise ParamsError(f"params.yaml: {error}") from None
    train, kept = frame[~holdout], frame[holdout]
    if train.empty or kept.empty:
        raise DataError(
            f"{len(frame)} rows are too few to split with holdout_fraction={holdout_fraction}: "
            f"{len(train)} training and {len(kept)} holdout rows"
        )
    if task == "classification":
        absent = frame[target][~frame[target].isin(set(kept[target]))].value_counts()
        if kept[target].nunique() < 2 or len(absent):
            shown = ", ".join(f"{label!r} ({count} rows)" for label, count in absent.head(5).items())
            raise DataError(
                f"the holdout's {len(kept)} rows lack classes of {target!r}: {shown or 'all but one'}; the gate "
                "cannot score a model on a class it never sees: add rows of those classes, or raise "
                "ingest.holdout_fraction"
            )
    return train, kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ingest", description=__doc__)
    parser.add_argument("--raw", required=True, help="raw data (CSV or Parquet)")
    parser.add_argument("--train", required=True, help="where to write the training rows (CSV)")
    parser.add_argument("--holdout", required=True, help="where to write the holdout rows (CSV)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        data, settings = section(params, "data"), section(params, "ingest")
        from .. import source

        frame = source.clean(source.load(args.raw), data["target"])
        train, holdout = split(
            frame, data["target"], data["task"], settings["holdout_fraction"], settings["seed"], data.get("key")
        )
    except (DataError, ParamsError) as error:
        return fail(error, 2)
    write_table(train, args.train)
    write_table(holdout, args.holdout)
    print(f"ingest: {len(train)} training rows -> {args.train}, {len(holdout)} holdout rows -> {args.holdout}")
    return 0
