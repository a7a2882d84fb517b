"""Compare current data with the reference data: `python -m <package> drift`.

Exit code 0: no dataset drift; 3: dataset drift; 2: an error, explained in one line. Settings come
from params.yaml `drift`; the statistics are in drift_stats.py, the decisions per column in
drift_columns.py and the report files in drift_report.py.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from .data import DataError, read_table, split_target
from .drift_columns import compare_column, dataset_summary, missing_column
from .drift_stats import CATEGORICAL_METHODS, NUMERIC_METHODS
from .params import ParamsError, load_params, section

PARQUET_SUFFIXES = {".parquet", ".pq"}
DRIFT_EXIT_CODE = 3
ERROR_EXIT_CODE = 2
COLUMN_MEMORY_BUDGET = 1 << 30  # bytes that columns compared in parallel may hold at once
PATH_SETTINGS = ("reference", "current", "report_dir", "model", "reference_metrics")
# Settings in params.yaml `drift` that are numbers: name -> (type, smallest, largest allowed value).
NUMBER_SETTINGS = {
    "dataset_drift_share": (float, 0.0, 1.0),
    "small_sample_rows": (int, 0, math.inf),
    "categorical_max_values": (int, 0, math.inf),
    "max_categories": (int, 1, math.inf),
    "null_change": (float, 0.0, 1.0),
    "psi_bins": (int, 2, math.inf),
}


class FrameTable:
    """A CSV (or any) table held in memory."""

    def __init__(self, path: Path, frame: pd.DataFrame):
        self.path, self._frame = path, frame
        self.columns = list(frame.columns)
        self.rows = len(frame)

    def column(self, name: str) -> pd.Series:
        return self._frame[name]

    def frame(self) -> pd.DataFrame:
        return self._frame


class ParquetTable:
    """A Parquet file read one column at a time, so files larger than memory can be compared."""

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        self.path = path
        try:
            metadata = pq.read_metadata(path)
            schema = pq.read_schema(path)
        except (OSError, ValueError) as error:  # pyarrow's ArrowInvalid is a ValueError
            raise DataError(f"{path}: cannot be read as parquet: {error}") from error
        self.columns, self.rows = list(schema.names), metadata.num_rows

    def column(self, name: str) -> pd.Series:
        import pyarrow.parquet as pq

        try:
            return pq.read_table(self.path, columns=[name]).column(0).to_pandas()
        except (OSError, ValueError) as error:
            raise DataError(f"{self.path}: cannot read column {name!r}: {error}") from error

    def frame(self) -> pd.DataFrame:
        return read_table(self.path)


Table = FrameTable | ParquetTable


def open_table(path: str | Path) -> Table:
    """Open a CSV or Parquet file, or raise DataError if it is missing, empty or unreadable."""
    path = Path(path)
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    if path.suffix.lower() in PARQUET_SUFFIXES and path.is_file():
        table = ParquetTable(path)
    else:
        table = FrameTable(path, read_table(path))
    if not table.columns:
        raise DataError(f"{path}: has no columns")
    if table.rows == 0:
        raise DataError(f"{path}: has no rows")
    return table


def drift_settings(params: dict[str, Any]) -> dict[str, Any]:
    """Return params.yaml `drift`, or raise ParamsError naming the first setting that is wrong."""
    settings = section(params, "drift")
    for name in PATH_SETTINGS:
        if not isinstance(settings.get(name), str) or not settings[name]:
            raise ParamsError(f"params.yaml: drift.{name} must be a file path, got {settings.get(name)!r}")
    for name, (kind, low, high) in NUMBER_SETTINGS.items():
        value = settings.get(name)
        allowed = int if kind is int else int | float
        if isinstance(value, bool) or not isinstance(value, allowed) or not low <= value <= high:
            noun = "a whole number" if kind is int else "a number"
            raise ParamsError(f"params.yaml: drift.{name} must be {noun} from {low} to {high}, got {value!r}")
    for kind, methods in (("numeric", NUMERIC_METHODS), ("categorical", CATEGORICAL_METHODS)):
        for sample in ("large", "small"):
            rule = (settings.get(kind) or {}).get(sample) or {}
            if rule.get("method") not in methods:
                raise ParamsError(
                    f"params.yaml: drift.{kind}.{sample}.method must be one of {', '.join(methods)}, "
                    f"got {rule.get('method')!r}"
                )
            threshold = rule.get("threshold")
            if isinstance(threshold, bool) or not isinstance(threshold, int | float):
                raise ParamsError(f"params.yaml: drift.{kind}.{sample}.threshold must be a number, got {threshold!r}")
    return settings


def feature_columns(reference: Table, current: Table, target: str | None) -> tuple[list[str], list[str]]:
    """Return the feature columns of both tables, or raise DataError if there is nothing to compare."""
    features = [name for name in reference.columns if name != target]
    current_features = [name for name in current.columns if name != target]
    for table, names in ((reference, features), (current, current_features)):
        if not names:
            raise DataError(f"{table.path}: has no feature columns, only the target {target!r}")
    if not set(features) & set(current_features):
        raise DataError(
            f"no feature columns in common: {reference.path} has {', '.join(map(str, features))}; "
            f"{current.path} has {', '.join(map(str, current_features))}"
        )
    return features, current_features


def parallel_columns(rows: int, columns: int) -> int:
    """Return how many columns to compare at once: one per CPU, within COLUMN_MEMORY_BUDGET.

    numpy sorts without holding the GIL, so threads compare columns in parallel; each holds its
    reference and current column, a sorted copy of both and some working space (about 32 bytes a row).
    """
    by_memory = COLUMN_MEMORY_BUDGET // max(32 * rows, 1)
    return max(1, min(columns, os.cpu_count() or 1, by_memory))


def compare_tables(
    reference: Table,
    current: Table,
    settings: dict[str, Any],
    target: str | None,
    workers: int | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Compare every feature column; return the drift result and the plot data of drifted columns."""
    features, current_features = feature_columns(reference, current, target)
    missing = [name for name in features if name not in current_features]

    def compare(name: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        if name in missing:
            return missing_column(reference.column(name)), None
        return compare_column(reference.column(name), current.column(name), settings, reference.rows)

    with ThreadPoolExecutor(workers or parallel_columns(reference.rows + current.rows, len(features))) as pool:
        results = dict(zip(features, pool.map(compare, features), strict=True))
    columns = {name: result for name, (result, _) in results.items()}
    plots = {name: plot for name, (_, plot) in results.items() if plot is not None}
    schema_changes = {
        "missing_in_current": missing,
        "new_in_current": [name for name in current_features if name not in features],
        "type_changed": {name: result["type_changed"] for name, result in columns.items() if "type_changed" in result},
    }
    sample = "small" if reference.rows <= settings["small_sample_rows"] else "large"
    summary = dataset_summary(columns, settings["dataset_drift_share"])
    result = {
        "reference": {"path": str(reference.path), "rows": reference.rows},
        "current": {"path": str(current.path), "rows": current.rows},
        **summary,
        "sample_size": sample,
        "target": target,
        "schema_changes": schema_changes,
        "columns": columns,
    }
    return result, plots


def read_metrics(path: Path) -> dict[str, float]:
    """Return the reference holdout metrics, or an empty dict if the file is absent or unreadable."""
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(metrics, dict):
        return {}
    return {name: value for name, value in metrics.items() if isinstance(value, int | float)}


def model_quality(
    current: pd.DataFrame, target: str | None, task: str, model_path: Path, metrics_path: Path
) -> dict[str, Any]:
    """Score the model on the current rows that have the target, or say why it cannot be done."""
    if target is None or target not in current.columns:
        return {"status": "no_target", "message": f"the current data has no target column {target!r}"}
    if not model_path.is_file():
        return {"status": "no_model", "message": f"{model_path} not found; train a model first (make repro)"}
    labelled = current.dropna(subset=[target])
    if labelled.empty:
        return {"status": "no_target", "message": f"every value of the target column {target!r} is missing"}
    import joblib

    from .metrics import METRICS, is_worse, score

    try:
        model = joblib.load(model_path)
        features, truth = split_target(labelled, target)
        expected = getattr(model, "feature_names_in_", None)
        if expected is not None:
            features = features[list(expected)]
        scores = score(task, model, features, truth)
    except Exception as error:  # a model that cannot score this data must not stop the drift report
        return {"status": "failed", "message": f"{model_path} could not score the current data: {error}"}
    reference = read_metrics(metrics_path)
    metrics = {}
    for name, value in scores.items():
        before = reference.get(name)
        known = before is not None and math.isfinite(value) and math.isfinite(before)
        metrics[name] = {
            "reference": before,
            "current": value,
            "change": value - before if known else None,
            "worse": bool(known and name in METRICS and is_worse(name, value, before)),
        }
    note = "" if reference else f"; no reference metrics in {metrics_path}"
    return {"status": "scored", "message": f"scored on {len(labelled)} current rows{note}", "metrics": metrics}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__} drift", description="Compare current data with the reference data."
    )
    parser.add_argument("--reference", help="CSV or Parquet file (default: params.yaml drift.reference)")
    parser.add_argument("--current", help="CSV or Parquet file (default: params.yaml drift.current)")
    parser.add_argument("--report-dir", help="folder for drift.json/.md/.html (default: drift.report_dir)")
    parser.add_argument("--model", help="fitted model to score current data (default: drift.model)")
    parser.add_argument("--reference-metrics", help="holdout metrics of that model (default: drift.reference_metrics)")
    parser.add_argument("--params", default="params.yaml", help="settings file (default: params.yaml)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[dict[str, Any], Path]:
    """Compare the two tables and write the reports; return the result and the report folder."""
    from .drift_report import write_reports

    params = load_params(args.params)
    settings = drift_settings(params)
    data = section(params, "data")
    target = data.get("target")
    reference = open_table(args.reference or settings["reference"])
    current = open_table(args.current or settings["current"])
    result, plots = compare_tables(reference, current, settings, target)
    model_path = Path(args.model or settings["model"])
    metrics_path = Path(args.reference_metrics or settings["reference_metrics"])
    # Rows are read again only when they can be scored; the columns alone explain why not.
    scorable = target in current.columns and model_path.is_file()
    frame = current.frame() if scorable else pd.DataFrame(columns=current.columns)
    result["model_quality"] = model_quality(frame, target, data.get("task", ""), model_path, metrics_path)
    report_dir = Path(args.report_dir or settings["report_dir"])
    write_reports(result, plots, report_dir)
    return result, report_dir


def main(argv: list[str] | None = None) -> int:
    """Run the drift check; return 0 (no drift), 3 (drift) or 2 (error)."""
    args = parse_args(argv)
    try:
        result, report_dir = run(args)
    except (ParamsError, DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return ERROR_EXIT_CODE
    drifted = len(result["drifted_columns"])
    verdict = "dataset drift" if result["dataset_drift"] else "no dataset drift"
    print(f"{verdict}: {drifted} of {result['number_of_columns']} feature columns drifted; report in {report_dir}")
    return DRIFT_EXIT_CODE if result["dataset_drift"] else 0
