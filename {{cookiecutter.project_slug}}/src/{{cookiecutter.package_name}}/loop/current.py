"""Write a demo batch of "current" data: `python -m <package> current [--shift X]`.

The batch is sampled from rows the model never trained on (params.yaml `current.source`, the
holdout split by default) and goes where `drift` looks for it (`drift.current`), so the scheduled
drift check has data to compare from the first day. `--shift 1` makes drift the check must report,
without values the data could never hold: measurements (numbers with decimals) move by one
standard deviation; whole numbers (codes, counts) and categories are drawn again with frequencies
tilted towards their larger or rarer values, so each column keeps its type and its set of values.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import PACKAGE
from .data import DataError, read_table, write_table
from .drift.columns import is_numeric
from .errors import fail
from .params import ParamsError, load_params, section


def is_measurement(values: pd.Series, code_max_values: int = 5) -> bool:
    """Return True for numbers with decimals and many values, which a shift may move.

    Whole numbers are codes or counts, and a handful of distinct values (flags, scaled codes) are
    categories in all but name: moving them would make values the data cannot hold.
    """
    if not is_numeric(values):
        return False
    finite = values.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = finite[np.isfinite(finite)]
    whole = np.array_equal(finite, np.round(finite))
    return bool(finite.size) and not whole and np.unique(finite).size > code_max_values


def shifted_columns(frame: pd.DataFrame, columns: list[str], target: str | None) -> list[str]:
    """Return the feature columns to shift: the ones named, or every feature column."""
    features = [name for name in frame.columns if name != target]
    for name in columns:
        if name not in features:
            raise DataError(f"cannot shift {name!r}: not a feature column of the source data")
    return list(columns) or features


def tilted_weights(values: pd.Series, shift: float) -> np.ndarray:
    """Return sampling weights that move a column towards larger (codes) or rarer (categories) values."""
    if is_numeric(values):
        score = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:  # categories ordered from most to least common
        rank = values.map(values.value_counts().rank(method="first", ascending=False))
        score = rank.to_numpy(dtype=np.float64, na_value=np.nan)
    spread = np.nanstd(score)
    z = (score - np.nanmean(score)) / spread if spread > 0 else np.zeros_like(score)
    weights = np.exp(np.clip(shift * np.nan_to_num(z), -30, 30))
    return weights / weights.sum()


def make_batch(
    frame: pd.DataFrame, rows: int, seed: int, shift: float, columns: list[str], code_max_values: int = 5
) -> pd.DataFrame:
    """Return `rows` random rows of `frame`, with `columns` shifted by `shift` standard deviations."""
    rng = np.random.default_rng(seed)
    batch = frame.sample(n=min(rows, len(frame)), random_state=seed).reset_index(drop=True)
    for name in columns if shift else []:
        values = frame[name]
        if is_measurement(values, code_max_values):
            batch[name] = batch[name] + shift * float(values.std())
        elif values.nunique() > 1:
            # Draw this column's values again, from the whole source, with tilted frequencies.
            drawn = rng.choice(len(values), size=len(batch), p=tilted_weights(values, shift))
            batch[name] = values.iloc[drawn].to_numpy()
    return batch


def write_batch(batch: pd.DataFrame, path: Path) -> None:
    """Write the batch as Parquet or CSV, following the file name."""
    if path.suffix.lower() in {".parquet", ".pq"}:
        path.parent.mkdir(parents=True, exist_ok=True)
        batch.to_parquet(path, index=False)
    else:
        write_table(batch, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PACKAGE} current", description="Write a demo batch of current data from the holdout rows."
    )
    parser.add_argument("--shift", type=float, help="drift to add, in standard deviations (default: current.shift)")
    parser.add_argument("--rows", type=int, help="rows in the batch (default: params.yaml current.rows)")
    parser.add_argument("--seed", type=int, help="sample seed (default: params.yaml current.seed)")
    parser.add_argument("--source", help="data to sample from (default: params.yaml current.source)")
    parser.add_argument("--out", help="file to write (default: params.yaml drift.current)")
    parser.add_argument("--params", default="params.yaml", help="settings file (default: params.yaml)")
    return parser.parse_args(argv)


def build(args: argparse.Namespace, params: dict[str, Any]) -> tuple[pd.DataFrame, Path, Path, int]:
    """Return the batch, where it goes, where it came from and how many columns were shifted."""
    settings = section(params, "current")
    if args.rows is not None and args.rows < 1:
        raise ParamsError(f"--rows must be at least 1, got {args.rows}")
    out = Path(args.out or section(params, "drift")["current"])
    source = Path(args.source or settings["source"])
    if not source.is_file():
        raise DataError(f"{source}: file not found; the ingest stage writes it (make repro, or make reference)")
    frame = read_table(source)
    shift = settings["shift"] if args.shift is None else args.shift
    columns = shifted_columns(frame, settings.get("shift_columns") or [], section(params, "data").get("target"))
    seed = settings["seed"] if args.seed is None else args.seed
    codes = section(params, "drift")["categorical_max_values"]  # what drift compares as categories
    batch = make_batch(frame, args.rows or settings["rows"], seed, shift, columns, codes)
    return batch, out, source, len(columns) if shift else 0


def main(argv: list[str] | None = None) -> int:
    """Write the batch; return 0, or 2 with one line on stderr if something is wrong."""
    args = parse_args(argv)
    try:
        params = load_params(args.params)
        batch, out, source, shifted = build(args, params)
        write_batch(batch, out)
    except (ParamsError, DataError, OSError) as error:
        return fail(error, 2)
    moved = f"; {shifted} feature columns shifted" if shifted else ""
    print(f"wrote {out}: {len(batch)} rows sampled from {source}{moved}")
    return 0
