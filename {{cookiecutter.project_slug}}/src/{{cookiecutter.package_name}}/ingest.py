"""Ingest: clean the raw data and split it into training and holdout sets."""

from __future__ import annotations

import argparse

import pandas as pd

from .data import DataError, read_table, write_table
from .errors import fail
from .params import ParamsError, load_params, section


def clean(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Drop rows without a target and columns with no value at all."""
    if target not in frame.columns:
        raise DataError(f"target column {target!r} not found; columns are: {', '.join(map(str, frame.columns))}")
    frame = frame.dropna(subset=[target])
    features = frame.columns.drop(target)
    empty = [column for column in features if frame[column].isna().all()]
    return frame.drop(columns=empty).reset_index(drop=True)


def split(
    frame: pd.DataFrame, target: str, task: str, holdout_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (train, holdout); stratified by class when every class has two rows or more."""
    from sklearn.model_selection import train_test_split

    if not isinstance(holdout_fraction, int | float) or not 0 < holdout_fraction < 1:
        raise ParamsError(f"ingest.holdout_fraction={holdout_fraction}: must be between 0 and 1 (exclusive)")
    stratify = None
    if task == "classification" and frame[target].value_counts().min() >= 2:
        stratify = frame[target]
    try:
        train, holdout = train_test_split(frame, test_size=holdout_fraction, random_state=seed, stratify=stratify)
    except ValueError as error:  # too few rows for a non-empty split, or for one row of each class on each side
        raise DataError(
            f"{len(frame)} rows are too few to split with holdout_fraction={holdout_fraction}: {error}"
        ) from error
    return train, holdout


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
        frame = clean(read_table(args.raw), data["target"])
        train, holdout = split(frame, data["target"], data["task"], settings["holdout_fraction"], settings["seed"])
    except (DataError, ParamsError) as error:
        return fail(error, 2)
    write_table(train, args.train)
    write_table(holdout, args.holdout)
    print(f"ingest: {len(train)} training rows -> {args.train}, {len(holdout)} holdout rows -> {args.holdout}")
    return 0
