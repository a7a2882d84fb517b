"""The drift history on disk: one JSON line per run, one Parquet row per column and run.

    drift-history/runs.jsonl               a run: time, verdict, reasons, champion, metrics
    drift-history/columns/YYYY-MM.parquet  its columns: effect, threshold, p-value, drift

A run is identified by the sha256 of its drift.json, so one report is recorded once. Every read
checks the whole history and raises HistoryError (one line: the file and what is wrong) rather
than reading a damaged history as a shorter one.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUNS = "runs.jsonl"
SEGMENTS = "columns"
SEGMENT_NAME = re.compile(r"^\d{4}-\d{2}\.parquet$")
FORMAT = 1
BREAKS = {"schema", "type"}  # reasons that alert at once, whatever the k-of-n rule
COLUMN_FIELDS = {  # name: arrow type name, in segment order (figures in float32: seven digits are plenty here,
    "run": "string",  # and ten million rows stay near a hundred megabytes)
    "column": "string",
    "kind": "string",
    "method": "string",
    "statistic": "float",
    "threshold": "float",
    "p_value": "float",
    "drift": "bool",
    "null_reference": "float",
    "null_current": "float",
}
REQUIRED_FIELDS = ("run", "column", "kind", "method", "drift")  # a segment's other columns may be null
RUN_FIELDS = {  # name: allowed JSON types (None: null allowed)
    "format": (int,),
    "id": (str,),
    "at": (str,),
    "drift": (bool,),
    "reasons": (list,),
    "breaks": (list,),
    "share": (int, float),
    "columns": (int,),
    "drifted": (int,),
    "rows": (dict,),
    "champion": (str, type(None)),
    "champion_since": (str, type(None)),
    "model": (str, type(None)),
    "metric": (str, type(None)),
    "holdout": (int, float, type(None)),
    "estimate": (dict, type(None)),
    "realised": (int, float, type(None)),
    "commit": (str, type(None)),
    "run_url": (str, type(None)),
}


class HistoryError(ValueError):
    """The history is missing, damaged or cannot take this run (exit 2)."""


class AlreadyRecorded(HistoryError):
    """This check is in the history already: nothing to add (exit 0)."""


def moment(text: str) -> datetime.datetime:
    """A run's time (checked by check_run: ISO 8601 with a zone)."""
    return datetime.datetime.fromisoformat(text)


@dataclass
class History:
    """The runs, oldest first, and the folder their column rows are in."""

    folder: Path
    runs: list[dict[str, Any]]

    def ids(self) -> set[str]:
        return {run["id"] for run in self.runs}

    def segments(self) -> list[Path]:
        return sorted((self.folder / SEGMENTS).glob("*.parquet"))


def run_id(report: bytes, now: datetime.datetime) -> str:
    """A check's id: its report and the workflow run that recorded it (else the time it was recorded).

    The same batch checked twice gives the same report, and is two checks; a workflow run that
    records its report again (a re-run job) is the same check.
    """
    repository, ci_run = os.environ.get("GITHUB_REPOSITORY", ""), os.environ.get("GITHUB_RUN_ID", "")
    recorder = f"{repository}/actions/runs/{ci_run}" if ci_run else now.isoformat()
    return hashlib.sha256(report + b"\n" + recorder.encode()).hexdigest()[:16]


def finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def run_entry(result: Mapping[str, Any], report: bytes, metric: str | None, now: datetime.datetime) -> dict[str, Any]:
    """The history's line for one drift result (drift.json, as `report` bytes)."""
    model = result.get("model") or {}
    quality, estimate = model.get("quality") or {}, model.get("estimate") or {}
    breaks = sorted(set(result["reasons"]) & BREAKS)
    if any(part.get("status") == "failed" for part in (quality, estimate, model.get("predictions") or {})):
        breaks.append("model")  # the model could not score the batch
    primary = (estimate.get("metrics") or {}).get(metric) if metric else None
    realised = ((quality.get("metrics") or {}).get(metric) or {}).get("current") if metric else None
    holdout = (primary or {}).get("holdout")
    if holdout is None and metric:
        holdout = ((quality.get("metrics") or {}).get(metric) or {}).get("reference")
    server, repository, ci_run = (os.environ.get(name) for name in
                                  ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))  # fmt: skip
    return {
        "format": FORMAT,
        "id": run_id(report, now),
        "at": now.isoformat(timespec="seconds"),
        "drift": bool(result["dataset_drift"]),
        "reasons": list(result["reasons"]),
        "breaks": breaks,
        "share": float(result["drift_share"]),
        "columns": int(result["number_of_columns"]),
        "drifted": len(result["drifted_columns"]),
        "rows": {"reference": result["reference"]["rows"], "current": result["current"]["rows"]},
        "champion": model.get("version"),
        "champion_since": model.get("champion_since"),
        "model": model.get("source"),
        "metric": metric,
        "holdout": finite(holdout),
        "estimate": None if primary is None else {key: finite(primary.get(key)) for key in ("estimate", "low", "high")},
        "realised": finite(realised),
        "commit": os.environ.get("GITHUB_SHA") or None,
        "run_url": f"{server}/{repository}/actions/runs/{ci_run}" if server and repository and ci_run else None,
    }


def column_rows(result: Mapping[str, Any], identifier: str) -> dict[str, list[Any]]:
    """The segment rows of one result: one per feature column."""
    rows: dict[str, list[Any]] = {name: [] for name in COLUMN_FIELDS}
    for name, column in result["columns"].items():
        nulls = column.get("null_fraction") or {}
        for key, value in (
            ("run", identifier),
            ("column", str(name)),
            ("kind", str(column.get("type"))),
            ("method", str(column.get("method"))),
            ("statistic", finite(column.get("statistic"))),
            ("threshold", finite(column.get("threshold"))),
            ("p_value", finite(column.get("p_value"))),
            ("drift", bool(column.get("drift"))),
            ("null_reference", finite(nulls.get("reference"))),
            ("null_current", finite(nulls.get("current"))),
        ):
            rows[key].append(value)
    return rows


def check_run(line: str, number: int, where: Path) -> dict[str, Any]:
    try:
        run = json.loads(line)
    except ValueError as error:
        raise HistoryError(f"{where}: line {number} is not JSON ({error})") from None
    if not isinstance(run, dict):
        raise HistoryError(f"{where}: line {number} is not an object")
    for name, types in RUN_FIELDS.items():
        if name not in run:
            raise HistoryError(f"{where}: line {number} has no {name!r}")
        if not isinstance(run[name], types) or (isinstance(run[name], bool) and bool not in types):
            raise HistoryError(f"{where}: line {number}: {name!r} is {type(run[name]).__name__}, not as written")
    nested = {
        "reasons": all(isinstance(item, str) for item in run["reasons"]),
        "breaks": all(isinstance(item, str) for item in run["breaks"]),
        "rows": all(isinstance(run["rows"].get(side), int) for side in ("reference", "current")),
        "estimate": run["estimate"] is None
        or all(value is None or type(value) in (int, float) for value in
               (run["estimate"].get(key, "missing") for key in ("estimate", "low", "high"))),
    }  # fmt: skip
    wrong = [name for name, fine in nested.items() if not fine]
    if wrong:
        raise HistoryError(f"{where}: line {number}: {wrong[0]!r} holds values of the wrong type")
    if run["format"] != FORMAT:
        raise HistoryError(f"{where}: line {number} is format {run['format']}; this project reads format {FORMAT}")
    try:
        moment = datetime.datetime.fromisoformat(run["at"])
    except ValueError:
        raise HistoryError(f"{where}: line {number}: 'at' is {run['at'][:40]!r}, not an ISO time") from None
    if moment.tzinfo is None:
        raise HistoryError(f"{where}: line {number}: 'at' has no time zone")
    return run


def read_runs(folder: Path) -> History:
    """Read and check runs.jsonl; a folder without it has no history (HistoryError)."""
    where = folder / RUNS
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HistoryError(
            f"{where}: no drift history here (the scheduled drift workflow writes it on branch drift-history)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise HistoryError(f"{where}: cannot be read: {error}") from None
    runs = [check_run(line, number, where) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    seen: set[str] = set()
    for number, run in enumerate(runs, 1):
        if run["id"] in seen:
            raise HistoryError(f"{where}: run {run['id']} is recorded twice (line {number})")
        seen.add(run["id"])
    if not runs:
        raise HistoryError(f"{where}: holds no runs")
    return History(folder, runs)


def segment_table(path: Path, columns: list[str] | None = None) -> Any:
    """Read one segment (only `columns`, if given), after checking its schema."""
    import pyarrow.parquet as pq

    if not SEGMENT_NAME.match(path.name):
        raise HistoryError(f"{path}: not a segment name (YYYY-MM.parquet)")
    try:
        file = pq.ParquetFile(path)
        found = {field.name: str(field.type) for field in file.schema_arrow}
        if found != COLUMN_FIELDS:
            raise HistoryError(f"{path}: columns {found} are not the history's {COLUMN_FIELDS}")
        table = file.read(columns=columns, use_threads=False)
    except (OSError, ValueError) as error:
        if isinstance(error, HistoryError):
            raise
        raise HistoryError(f"{path}: cannot be read as Parquet: {error}") from None
    empty = [name for name in REQUIRED_FIELDS if name in table.column_names and table.column(name).null_count]
    if empty:
        raise HistoryError(f"{path}: has rows without {', '.join(empty)} (only figures may be missing)")
    return table


def read_history(folder: Path, allow_orphan: str | None = None) -> History:
    """Read runs.jsonl and check that every segment row names a recorded run.

    `allow_orphan`: a run id whose rows may be in a segment without its line (a record that was
    stopped between its two writes, and is being recorded again).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    history = read_runs(folder)
    known = pa.array(sorted(history.ids() | ({allow_orphan} if allow_orphan else set())))
    for path in history.segments():
        runs = segment_table(path, ["run"]).column("run")
        unknown = pc.filter(runs, pc.invert(pc.is_in(runs, value_set=known)))
        if len(unknown):
            raise HistoryError(
                f"{path}: has rows of run {unknown[0].as_py()!r}, which {RUNS} does not record (a record stopped "
                "halfway?): delete the folder and fetch the branch again (`make drift-history`)"
            )
    return history


def write_atomically(path: Path, data: bytes) -> None:
    scratch = path.with_name(f".{path.name}.writing")
    scratch.write_bytes(data)
    os.replace(scratch, path)


def append(folder: Path, result: Mapping[str, Any], report: bytes, metric: str | None,
           now: datetime.datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Add one drift result to the history (created if absent); return its run line."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    now = now or datetime.datetime.now(datetime.UTC)
    entry = run_entry(result, report, metric, now)
    if (folder / RUNS).exists() or any((folder / SEGMENTS).glob("*")):  # a damaged history is not a new one
        history = read_history(folder, allow_orphan=entry["id"])
        if entry["id"] in history.ids():
            raise AlreadyRecorded(f"this workflow run's check is already recorded as run {entry['id']}")
        if moment(history.runs[-1]["at"]) > now:
            raise HistoryError(f"the history's last run is at {history.runs[-1]['at']}, later than now ({entry['at']})")
    (folder / SEGMENTS).mkdir(parents=True, exist_ok=True)
    segment = folder / SEGMENTS / f"{now:%Y-%m}.parquet"
    types = {"string": pa.string(), "float": pa.float32(), "bool": pa.bool_()}
    schema = pa.schema([(name, types[kind]) for name, kind in COLUMN_FIELDS.items()])
    table = pa.table(column_rows(result, entry["id"]), schema=schema)
    if segment.exists():
        earlier = segment_table(segment)
        earlier = earlier.filter(pc.not_equal(earlier.column("run"), entry["id"]))  # a stopped record's rows
        table = pa.concat_tables([earlier, table])
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    write_atomically(segment, sink.getvalue().to_pybytes())
    lines = (folder / RUNS).read_bytes() if (folder / RUNS).exists() else b""
    if lines and not lines.endswith(b"\n"):
        lines += b"\n"
    write_atomically(folder / RUNS, lines + (json.dumps(entry, sort_keys=True, allow_nan=False) + "\n").encode())
    return entry


def alert(history: History, k: int, n: int, at: str | None = None) -> tuple[bool, str]:
    """Whether the drift issue should open: the latest run drifted and so did k of the last n (it included),
    or the latest run has a break (a schema or type change, a model that could not score).

    `at`: the id of the run to judge (a workflow run's own check, when later runs were recorded
    since); the runs after it are left out.
    """
    runs = history.runs
    if at is not None:
        place = next((number for number, run in enumerate(runs) if run["id"] == at), None)
        if place is None:
            raise HistoryError(f"{history.folder}: has no run {at}, this workflow run's check: record it first")
        runs = runs[: place + 1]
    latest, recent = runs[-1], runs[-n:]
    drifted = sum(run["drift"] for run in recent)
    runs = f"{len(recent)} run{'s' if len(recent) != 1 else ''}"
    counted = f"drift in {drifted} of the last {runs} (alert from {k} of {n})"
    if latest["breaks"]:
        return True, f"{counted}; the latest run has a break ({', '.join(latest['breaks'])}), which alerts at once"
    if not latest["drift"]:
        return False, f"{counted}; the latest run found no drift"
    return drifted >= k, counted
