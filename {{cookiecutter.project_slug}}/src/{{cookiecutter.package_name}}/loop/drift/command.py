"""Compare current data with the reference data: `python -m <package> drift`.

Exit code 0: no dataset drift; 3: dataset drift; 2: an error, explained in one line; 4: the
registry could not answer (`--champion`). The verdict is drift when any check finds it: the share
of drifted columns, the schema (missing or new columns, unseen categories), a column's type, the
model's quality on labelled rows, or its predictions.

With `--champion` the model scored is the registry's champion, the one serving, compared with the
holdout metrics it was registered with; while the registry has no champion, the pipeline's model
(drift.model) is scored and the report says so.
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .. import PACKAGE
from ..data import DataError
from ..errors import fail
from ..params import ParamsError, load_params, section
from ..registry import RegistryError
from .columns import compare_column, missing_column
from .tables import Table, open_table
from .verdict import verdict

DRIFT_EXIT_CODE = 3
ERROR_EXIT_CODE = 2
COLUMN_MEMORY_BUDGET = 1 << 30  # bytes that columns compared in parallel may hold at once


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
    """Compare every feature column; return the drift result and the plot data of every column."""
    features, current_features = feature_columns(reference, current, target)
    missing = [name for name in features if name not in current_features]

    def compare(name: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        if name in missing:
            return missing_column(reference.column(name)), None
        return compare_column(reference.column(name), current.column(name), settings)

    with ThreadPoolExecutor(workers or parallel_columns(reference.rows + current.rows, len(features))) as pool:
        results = dict(zip(features, pool.map(compare, features), strict=True))
    columns = {name: result for name, (result, _) in results.items()}
    plots = {name: plot for name, (_, plot) in results.items() if plot is not None}
    result = {
        "reference": {"path": str(reference.path), "rows": reference.rows},
        "current": {"path": str(current.path), "rows": current.rows},
        "target": target,
        "schema_changes": {
            "missing_in_current": missing,
            "new_in_current": [name for name in current_features if name not in features],
        },
        "columns": columns,
    }
    return result, plots


def check_model(
    args: argparse.Namespace, params: dict[str, Any], reference: Table, current: Table
) -> dict[str, Any] | None:
    """Score the model on both tables: prediction drift, quality on labelled rows, the estimate without labels."""
    if args.no_model:
        return None
    from .model import load_model, model_quality, prediction_drift, read_metrics

    settings, data = section(params, "drift"), section(params, "data")
    target, metric = data.get("target"), section(params, "gate")["metric"]
    if args.champion and (args.model or args.reference_metrics):
        raise DataError("--champion scores the registry's champion: give it, or --model and --reference-metrics")
    champion = champion_model(params, metric) if args.champion else None
    version = since = None
    if champion is None:
        path = Path(args.model or settings["model"])
        model = load_model(path)
        metrics_path = Path(args.reference_metrics or settings["reference_metrics"])
        reference_metrics = Lazy(lambda: read_metrics(metrics_path, metric))  # read only when needed
        source = f"{path}" + (" (the registry has no champion yet)" if args.champion else "")
        unseen = None  # the pipeline's model trained on none of the pipeline's holdout rows
    else:
        model, registered, source, version, unseen, since = champion
        reference_metrics = Lazy(lambda: registered)

    current_frame = current.frame()
    holdout, unseen = unseen_holdout(Path(args.holdout or settings["holdout"]), target, unseen)
    # Predictions are compared with the model's on rows it never trained on: on its training rows a
    # model predicts differently (it learned them), which would read as drift on any clean batch.
    compared = holdout if isinstance(unseen, str) or unseen is None else holdout[unseen]
    predictions = prediction_drift(model, compared, current_frame, target, settings)
    if isinstance(unseen, str) and predictions["status"] == "compared":  # say what the comparison rests on
        predictions["message"] += "; some may be rows the champion trained on (no record of its training rows)"
    quality = model_quality(
        model, current_frame, target, data.get("task", ""), metric, reference_metrics, settings["quality_drop"]
    )
    estimated = estimate_model(model, params, current_frame, holdout, unseen, quality)
    return {"source": source, "version": version, "champion_since": since, "predictions": predictions,
            "quality": quality, "estimate": estimated}  # fmt: skip


class Lazy:
    """A value computed on first use, once."""

    def __init__(self, compute: Any) -> None:
        self.compute, self.value = compute, None

    def __call__(self) -> Any:
        if self.value is None:
            self.value = self.compute()
        return self.value


def unseen_holdout(path: Path, target: str | None, unseen: Any) -> tuple[Any, Any]:
    """The holdout rows, and the mask of those the model never trained on (None: all of them), or why
    that cannot be known (a string)."""
    from ..data import read_table

    holdout = read_table(path)
    if target not in holdout.columns:
        raise DataError(f"{path}: has no target column {target!r} (the holdout rows, labelled)")
    return holdout, unseen(holdout) if callable(unseen) else unseen


def estimate_model(
    model: Any,
    params: dict[str, Any],
    current: Any,
    holdout: Any,
    unseen: Any,
    quality: dict[str, Any],
) -> dict[str, Any]:
    """Estimate gate.metric on the current rows without their labels (estimate.py); drift on a large drop."""
    from .estimate import EstimateError, estimate, estimate_check
    from .model import one_line

    settings, data = section(params, "drift"), section(params, "data")
    task, target, metric = data["task"], data["target"], section(params, "gate")["metric"]
    # With labels (scored, or a model that failed on them) the labelled check decides and the estimate
    # is shown, but only when every current row has its label: a few labelled rows (the first to
    # arrive) say little of the rest, which the estimate covers, so then both vote.
    realised = None if quality["status"] == "no_target" else quality.get("metrics") or {}
    labels = 0 if realised is None else int(current[target].notna().sum())
    every = realised is not None and labels == len(current)
    drop = settings["estimated_drop"]
    if isinstance(unseen, str):  # the champion's record of its training rows does not allow it
        return estimate_check(unseen, metric, {}, realised, drop, labelled=(labels, len(current)))
    rows = holdout if unseen is None else holdout[unseen]
    try:
        found: dict[str, Any] | str = estimate(task, model, rows, target, current)
    except EstimateError as error:
        found = str(error)
    except Exception as error:  # the batch or the holdout does not fit the model: not a pass
        message = f"the estimate could not be made: {one_line(error)}"
        if every:  # the labelled rows decide; they say what the model does on every row
            return {"status": "not_estimated", "drift": False, "message": f"not estimated: {message}"}
        return {"status": "failed", "drift": True, "message": message}
    # The estimate compares with the metric realised on the same holdout rows (estimate.anchored).
    return estimate_check(found, metric, {}, realised, drop, labelled=(labels, len(current)))


def champion_model(params: dict[str, Any], metric: str) -> tuple[Any, dict[str, float], str, str, Any, Any] | None:
    """The registry's champion, its holdout metrics, a name for the report, its version, its unseen rows,
    and when it became champion.

    The last is a function of the holdout giving the mask of rows the champion never trained on, or
    why that cannot be known. None only when the registry answers that there is no champion;
    RegistryError when it cannot answer.
    """
    from ..gate import rows_never_trained_on
    from ..registry import CHAMPION, connect, tracking_uri

    settings = section(params, "register")
    uri = tracking_uri(settings)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None  # no embedded registry here (`make registry-pull` fetches CI's): none is created
    registry = connect(settings)
    version = registry.alias_version(CHAMPION)
    if version is None:
        return None
    found = registry.version(version)
    if found is None or not found.run_id:
        raise RegistryError(f"champion v{version} of {registry.name!r} has no run with its holdout metrics")
    run = registry.call("reading the champion's run", registry.client.get_run, found.run_id)
    metrics = dict(run.data.metrics) if run is not None else {}
    if not isinstance(metrics.get(metric), int | float):
        raise RegistryError(f"champion v{version} of {registry.name!r} was registered without the metric {metric!r}")
    key = section(params, "data").get("key")

    def unseen(holdout: Any) -> Any:
        return rows_never_trained_on(registry, str(version), holdout, key)

    source = f"champion v{version} of {registry.name!r} (the registry)"
    return registry.load(version), metrics, source, str(version), unseen, champion_since(registry, str(version))


def champion_since(registry: Any, version: str) -> str | None:
    """When the champion alias last moved to `version` (the audit trail of aliases.py), if it says."""
    from ..aliases import last_moves

    for move in last_moves(registry, 50):
        if move.get("alias.champion", "").endswith(f"-> {version}"):
            return move.get("at") or None
    return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {PACKAGE} drift",
        description="Compare current data with the reference data.",
    )
    parser.add_argument("--reference", help="CSV or Parquet file (default: params.yaml drift.reference)")
    parser.add_argument("--current", help="CSV or Parquet file (default: params.yaml drift.current)")
    parser.add_argument("--report-dir", help="folder for drift.json/.md/.html (default: drift.report_dir)")
    parser.add_argument("--model", help="fitted model to score both tables (default: drift.model)")
    parser.add_argument("--reference-metrics", help="holdout metrics of that model (default: drift.reference_metrics)")
    parser.add_argument("--holdout", help="labelled rows the model never trained on (default: drift.holdout)")
    parser.add_argument("--no-model", action="store_true", help="check the data only; the report says so")
    parser.add_argument("--champion", action="store_true", help="score the champion, if any, not drift.model")
    parser.add_argument("--params", default="params.yaml", help="settings file (default: params.yaml)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[dict[str, Any], Path]:
    """Compare the two tables, score the model and write the reports; return the result and the report folder."""
    from .report import write_reports

    params = load_params(args.params)  # checked against the schema in params.py
    settings = section(params, "drift")
    target = section(params, "data").get("target")
    reference = open_table(args.reference or settings["reference"])
    current = open_table(args.current or settings["current"])
    result, plots = compare_tables(reference, current, settings, target)
    model = check_model(args, params, reference, current)
    prediction_plot = model["predictions"].pop("plot", None) if model else None
    result["model"] = model
    result.update(verdict(result, settings))
    report_dir = Path(args.report_dir or settings["report_dir"])
    write_reports(result, plots, report_dir, prediction_plot)
    return result, report_dir


def main(argv: list[str] | None = None) -> int:
    """Run the drift check; return 0 (no drift), 3 (drift), 2 (error) or 4 (the registry could not answer)."""
    args = parse_args(argv)
    try:
        result, report_dir = run(args)
    except (ParamsError, DataError, OSError) as error:
        return fail(error, ERROR_EXIT_CODE)
    except RegistryError as error:
        return fail(error)
    print(f"{result['headline']}; report in {report_dir}")
    return DRIFT_EXIT_CODE if result["dataset_drift"] else 0
