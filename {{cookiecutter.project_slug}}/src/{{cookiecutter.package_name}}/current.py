"""Write a batch of "current" data sampled from the demo data: `python -m <package> current [--shift X]`.

The batch goes where `drift` looks for it (params.yaml `drift.current`), so the scheduled drift
check has data to compare from the first day. `--shift 1` moves the numeric features by one
standard deviation, which `drift` must then report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from .data import DataError, read_table, write_table
from .drift_columns import is_numeric
from .params import ParamsError, load_params, section


def shifted_columns(frame: pd.DataFrame, columns: list[str], target: str | None) -> list[str]:
    """Return the columns to shift: the ones named, or every numeric feature column."""
    features = [name for name in frame.columns if name != target]
    if not columns:
        return [name for name in features if is_numeric(frame[name])]
    for name in columns:
        if name not in features:
            raise DataError(f"cannot shift {name!r}: not a feature column of the source data")
        if not is_numeric(frame[name]):
            raise DataError(f"cannot shift {name!r}: only numeric columns can be shifted")
    return list(columns)


def make_batch(frame: pd.DataFrame, rows: int, seed: int, shift: float, columns: list[str]) -> pd.DataFrame:
    """Return `rows` random rows of `frame`, with `columns` moved by `shift` standard deviations."""
    batch = frame.sample(n=min(rows, len(frame)), random_state=seed).reset_index(drop=True)
    for name in columns if shift else []:
        batch[name] = batch[name] + shift * float(frame[name].std())
    return batch


def settings_from(params: dict[str, Any]) -> dict[str, Any]:
    """Return params.yaml `current`, or raise ParamsError naming the first setting that is wrong."""
    settings = section(params, "current")
    if not isinstance(settings.get("source"), str) or not settings["source"]:
        raise ParamsError(f"params.yaml: current.source must be a file path, got {settings.get('source')!r}")
    for name in ("rows", "seed"):
        value = settings.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "rows" else 0):
            raise ParamsError(f"params.yaml: current.{name} must be a whole number, got {value!r}")
    shift = settings.get("shift")
    if isinstance(shift, bool) or not isinstance(shift, int | float):
        raise ParamsError(f"params.yaml: current.shift must be a number, got {shift!r}")
    columns = settings.get("shift_columns") or []
    if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
        raise ParamsError("params.yaml: current.shift_columns must be a list of column names")
    return {**settings, "shift_columns": columns}


def write_batch(batch: pd.DataFrame, path: Path) -> None:
    """Write the batch as Parquet or CSV, following the file name."""
    if path.suffix.lower() in {".parquet", ".pq"}:
        path.parent.mkdir(parents=True, exist_ok=True)
        batch.to_parquet(path, index=False)
    else:
        write_table(batch, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__} current", description="Write a batch of current data from the demo data."
    )
    parser.add_argument("--shift", type=float, help="standard deviations added to the numeric features (default: 0)")
    parser.add_argument("--rows", type=int, help="rows in the batch (default: params.yaml current.rows)")
    parser.add_argument("--seed", type=int, help="sample seed (default: params.yaml current.seed)")
    parser.add_argument("--source", help="data to sample from (default: params.yaml current.source)")
    parser.add_argument("--out", help="file to write (default: params.yaml drift.current)")
    parser.add_argument("--params", default="params.yaml", help="settings file (default: params.yaml)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Write the batch; return 0, or 2 with one line on stderr if something is wrong."""
    args = parse_args(argv)
    try:
        params = load_params(args.params)
        settings = settings_from(params)
        out = Path(args.out or section(params, "drift").get("current") or "")
        if not out.name:
            raise ParamsError("params.yaml: drift.current must be a file path")
        if args.rows is not None and args.rows < 1:
            raise ParamsError(f"--rows must be at least 1, got {args.rows}")
        source = Path(args.source or settings["source"])
        frame = read_table(source)
        shift = settings["shift"] if args.shift is None else args.shift
        columns = shifted_columns(frame, settings["shift_columns"], section(params, "data").get("target"))
        seed = settings["seed"] if args.seed is None else args.seed
        batch = make_batch(frame, args.rows or settings["rows"], seed, shift, columns)
        write_batch(batch, out)
    except (ParamsError, DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    moved = f"; {len(columns)} numeric columns shifted by {shift:g} x their standard deviation" if shift else ""
    print(f"wrote {out}: {len(batch)} rows sampled from {source}{moved}")
    return 0
