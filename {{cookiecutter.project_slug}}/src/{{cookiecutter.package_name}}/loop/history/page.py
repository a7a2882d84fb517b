"""Draw the drift history as one self-contained page: no script, nothing loaded from elsewhere.

Charts are inline SVG: the primary metric (holdout, estimated with its interval, realised), the
share of drifted columns, and each feature's effect over time as a multiple of its threshold (1 is
the line where a column can drift). A dashed line marks the first check that scored a new
champion version. More runs than MAX_POINTS are drawn as buckets (the largest value of each).
The column rows are read one segment and a few columns at a time, as integer codes, so ten million
rows fit in a few hundred megabytes. Every text from the data goes through html.escape.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from .store import History, segment_table

MAX_POINTS = 400  # points per line; more runs are bucketed
DRAWN_FEATURES = 40  # features with a chart: the largest recent effect first
RECENT_RUNS = 10  # "recent" for choosing them
LISTED_RUNS = 100  # rows of the runs table, newest first
WIDTH, HEIGHT, SMALL = 720, 200, 120
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 12, 28
COLOURS = {"estimate": "#4e79a7", "realised": "#f28e2b", "holdout": "#59a14f", "drift": "#c0392b", "line": "#555"}
STYLE = """
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; }
tr.drift td { background: #fdecea; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; }
section { margin: 1.5rem 0; }
"""


class Columns:
    """Every segment row as codes: run index, column index, effect / threshold, drift."""

    def __init__(self, history: History):
        order = {run["id"]: index for index, run in enumerate(history.runs)}
        self.names: list[str] = []
        known: dict[str, int] = {}
        runs, columns, ratios, drifts = [], [], [], []
        for path in history.segments():
            table = segment_table(path, ["run", "column", "statistic", "threshold", "drift"])
            run = table.column("run").dictionary_encode().combine_chunks()
            column = table.column("column").dictionary_encode().combine_chunks()
            run_codes = np.array([order[value] for value in run.dictionary.to_pylist()], dtype=np.int32)
            for name in column.dictionary.to_pylist():
                known.setdefault(name, len(known))
            column_codes = np.array([known[name] for name in column.dictionary.to_pylist()], dtype=np.int32)
            runs.append(run_codes[run.indices.to_numpy(zero_copy_only=False)])
            columns.append(column_codes[column.indices.to_numpy(zero_copy_only=False)])
            statistic = table.column("statistic").to_numpy().astype(np.float32)
            threshold = table.column("threshold").to_numpy().astype(np.float32)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios.append(np.where(threshold > 0, statistic / threshold, np.nan).astype(np.float32))
            drifts.append(table.column("drift").to_numpy(zero_copy_only=False))
            del table, run, column
        self.names = list(known)
        self.run = np.concatenate(runs) if runs else np.zeros(0, np.int32)
        self.column = np.concatenate(columns) if columns else np.zeros(0, np.int32)
        self.ratio = np.concatenate(ratios) if ratios else np.zeros(0, np.float32)
        self.drift = np.concatenate(drifts) if drifts else np.zeros(0, bool)

    def summary(self, runs: int) -> list[dict[str, Any]]:
        """Per column: runs seen, drifted runs, the latest run's ratio and drift, the recent largest ratio."""
        count = len(self.names)
        seen = np.bincount(self.column, minlength=count)
        drifted = np.bincount(self.column, weights=self.drift, minlength=count)
        latest_run = np.full(count, -1, np.int64)
        np.maximum.at(latest_run, self.column, self.run)
        is_latest = self.run == latest_run[self.column]
        latest_ratio = np.full(count, np.nan, np.float32)
        latest_drift = np.zeros(count, bool)
        latest_ratio[self.column[is_latest]] = self.ratio[is_latest]
        latest_drift[self.column[is_latest]] = self.drift[is_latest]
        recent = self.run >= runs - RECENT_RUNS
        largest = np.full(count, -np.inf, np.float32)
        np.fmax.at(largest, self.column[recent], np.nan_to_num(self.ratio[recent], nan=-np.inf))
        return [
            {"name": name, "seen": int(seen[i]), "drifted": int(drifted[i]), "latest_run": int(latest_run[i]),
             "ratio": float(latest_ratio[i]), "drift": bool(latest_drift[i]), "recent": float(largest[i])}
            for i, name in enumerate(self.names)
        ]  # fmt: skip

    def series(self, index: int, runs: int) -> tuple[np.ndarray, np.ndarray]:
        """One column's ratio and drift per run (NaN and False where it was not checked)."""
        rows = self.column == index
        ratio, drift = np.full(runs, np.nan, np.float32), np.zeros(runs, bool)
        ratio[self.run[rows]], drift[self.run[rows]] = self.ratio[rows], self.drift[rows]
        return ratio, drift


def moments(history: History) -> np.ndarray:
    return np.array([datetime.datetime.fromisoformat(run["at"]).timestamp() for run in history.runs])


def buckets(count: int) -> np.ndarray:
    """The bucket of each run: at most MAX_POINTS, consecutive runs together."""
    return (np.arange(count) * min(count, MAX_POINTS)) // max(count, 1)


def bucketed(values: np.ndarray, group: np.ndarray, how: Any = np.fmax) -> np.ndarray:
    """The largest (or `how`) value of each bucket, NaN where a bucket has none."""
    out = np.full(int(group.max()) + 1 if group.size else 0, np.nan)
    how.at(out, group, values.astype(float))
    return out


class Frame:
    """An SVG plot area: times across, values up."""

    def __init__(self, times: np.ndarray, low: float, high: float, height: int):
        self.start, self.end = float(times.min()), float(times.max())
        if self.end <= self.start:
            self.start, self.end = self.start - 1, self.end + 1
        if not high > low:
            low, high = low - 0.5, high + 0.5
        self.low, self.high, self.height = low, high, height

    def x(self, moment: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (moment - self.start) / (self.end - self.start)

    def y(self, value: float) -> float:
        return TOP + (self.height - TOP - BOTTOM) * (self.high - value) / (self.high - self.low)

    def axes(self) -> str:
        bottom = self.height - BOTTOM
        parts = [f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#888"/>']
        for value in (self.low, (self.low + self.high) / 2, self.high):
            parts.append(f'<text x="{LEFT - 4}" y="{self.y(value) + 4:.1f}" font-size="11" '
                         f'text-anchor="end">{value:.3g}</text>')  # fmt: skip
        shown = "%Y-%m-%d" if self.end - self.start > 2 * 86400 else "%Y-%m-%d %H:%M"
        for moment, anchor in ((self.start, "start"), (self.end, "end")):
            day = datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime(shown)
            parts.append(f'<text x="{self.x(moment):.1f}" y="{self.height - 8}" font-size="11" '
                         f'text-anchor="{anchor}">{day}</text>')  # fmt: skip
        return "".join(parts)

    def line(self, times: np.ndarray, values: np.ndarray, colour: str, dashed: bool = False) -> str:
        """A polyline, broken where a value is missing."""
        parts, points = [], []
        for moment, value in zip(times, values, strict=True):
            if math.isfinite(value):
                points.append(f"{self.x(moment):.1f},{self.y(value):.1f}")
            elif points:
                parts.append(points)
                points = []
        if points:
            parts.append(points)
        dash = ' stroke-dasharray="4 3"' if dashed else ""
        return "".join(
            f'<polyline points="{" ".join(chunk)}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>'
            for chunk in parts
        )

    def band(self, times: np.ndarray, low: np.ndarray, high: np.ndarray, colour: str) -> str:
        keep = np.isfinite(low) & np.isfinite(high)
        if keep.sum() < 2:
            return ""
        upper = [f"{self.x(t):.1f},{self.y(v):.1f}" for t, v in zip(times[keep], high[keep], strict=True)]
        lower = [f"{self.x(t):.1f},{self.y(v):.1f}" for t, v in zip(times[keep][::-1], low[keep][::-1], strict=True)]
        return f'<polygon points="{" ".join(upper + lower)}" fill="{colour}" fill-opacity="0.18" stroke="none"/>'

    def dots(self, times: np.ndarray, values: np.ndarray, colour: str, label: str) -> str:
        return "".join(
            f'<circle cx="{self.x(t):.1f}" cy="{self.y(v):.1f}" r="3" fill="{colour}"><title>{escape(label)} '
            f"{v:.4g}</title></circle>"
            for t, v in zip(times, values, strict=True)
            if math.isfinite(v)
        )

    def level(self, value: float, colour: str, label: str) -> str:
        y = self.y(value)
        return (f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{colour}" '
                f'stroke-dasharray="2 3"/><text x="{WIDTH - RIGHT}" y="{y - 3:.1f}" font-size="11" '
                f'text-anchor="end" fill="{colour}">{escape(label)}</text>')  # fmt: skip

    def markers(self, changes: Sequence[tuple[float, str]]) -> str:
        return "".join(
            f'<line x1="{self.x(t):.1f}" y1="{TOP}" x2="{self.x(t):.1f}" y2="{self.height - BOTTOM}" '
            f'stroke="#777" stroke-dasharray="5 4"/><text x="{self.x(t) + 3:.1f}" y="{TOP + 10}" '
            f'font-size="11" fill="#555">{escape(name)}</text>'
            for t, name in changes
        )


def svg(frame: Frame, body: str, label: str) -> str:
    return (
        f'<svg width="{WIDTH}" height="{frame.height}" role="img" aria-label="{escape(label)}">'
        f"{frame.axes()}{body}</svg>"
    )


def champion_changes(history: History, times: np.ndarray) -> list[tuple[float, str]]:
    """Where each new champion version begins: (time, "v3 champion").

    At the time the alias moved (the registry's audit trail, recorded with the check) when it falls
    within the history, else at the first check that scored the version.
    """
    changes, previous = [], None
    for run, moment in zip(history.runs, times, strict=True):
        if run["champion"] and run["champion"] != previous:
            at = float(moment)
            try:
                since = datetime.datetime.fromisoformat(run["champion_since"] or "").timestamp()
                at = since if times[0] <= since <= moment else at
            except (ValueError, TypeError, OverflowError):
                pass  # no or an unreadable audit time: the first check that scored it
            changes.append((at, f"v{run['champion']} champion"))
        previous = run["champion"] or previous
    return changes


def span(*arrays: np.ndarray) -> tuple[float, float]:
    values = np.concatenate([np.asarray(a, dtype=float) for a in arrays])
    values = values[np.isfinite(values)]
    return (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)


def metric_chart(history: History, times: np.ndarray, group: np.ndarray, changes: list) -> str:
    metric = next((run["metric"] for run in reversed(history.runs) if run["metric"]), None)
    if metric is None:
        return "<p>No metric recorded (the checks ran with --no-model).</p>"

    def field(get: Any) -> np.ndarray:  # checks scored with another metric (gate.metric changed) are left out
        return np.array([get(run) if get(run) is not None and run["metric"] == metric else np.nan
                         for run in history.runs], dtype=float)  # fmt: skip

    estimate = field(lambda run: (run["estimate"] or {}).get("estimate"))
    low = field(lambda run: (run["estimate"] or {}).get("low"))
    high = field(lambda run: (run["estimate"] or {}).get("high"))
    realised, holdout = field(lambda run: run["realised"]), field(lambda run: run["holdout"])
    at = bucketed(times, group, np.fmin)
    estimate, low, high = (bucketed(v, group, np.fmin) for v in (estimate, low, high))
    realised, holdout = bucketed(realised, group, np.fmin), bucketed(holdout, group, np.fmax)
    frame = Frame(at, *span(low, high, realised, holdout, estimate), HEIGHT)
    body = (
        frame.band(at, low, high, COLOURS["estimate"])
        + frame.line(at, holdout, COLOURS["holdout"], dashed=True)
        + frame.line(at, estimate, COLOURS["estimate"])
        + frame.dots(at, realised, COLOURS["realised"], f"realised {metric}")
        + frame.markers(changes)
    )
    legend = (
        f'<p class="legend"><span style="background:{COLOURS["estimate"]}"></span>estimated without labels '
        f'(band: 95% interval)<span style="background:{COLOURS["realised"]}"></span>realised, when the batch '
        f'had labels<span style="background:{COLOURS["holdout"]}"></span>holdout (the champion\'s)</p>'
    )
    note = " (the lowest of each bucket of runs)" if len(history.runs) > MAX_POINTS else ""
    if any(run["metric"] not in (metric, None) for run in history.runs):
        note += "; checks scored with another metric are not drawn"
    return f"<h2>{escape(metric)}{note}</h2>{legend}{svg(frame, body, f'{metric} over time')}"


def share_chart(history: History, times: np.ndarray, group: np.ndarray, threshold: float, changes: list) -> str:
    share = np.array([run["share"] for run in history.runs], dtype=float)
    drifted = np.array([1.0 if run["drift"] else np.nan for run in history.runs])
    at, share = bucketed(times, group, np.fmin), bucketed(share, group)
    marks = bucketed(drifted, group)
    frame = Frame(at, 0.0, max(1.0, float(np.nanmax(share)) if share.size else 1.0), HEIGHT)
    body = (
        frame.level(threshold, COLOURS["drift"], f"dataset drift from {threshold:.0%}")
        + frame.line(at, share, COLOURS["line"])
        + frame.dots(at[np.isfinite(marks)], share[np.isfinite(marks)], COLOURS["drift"], "drift; share")
        + frame.markers(changes)
    )
    return f"<h2>Share of drifted feature columns (red: the run's verdict was drift)</h2>{svg(frame, body, 'share')}"


def feature_chart(columns: Columns, index: int, times: np.ndarray, group: np.ndarray, changes: list) -> str:
    ratio, drift = columns.series(index, len(times))
    at, ratio = bucketed(times, group, np.fmin), bucketed(ratio, group)
    flagged = bucketed(np.where(drift, 1.0, np.nan), group)
    frame = Frame(at, 0.0, max(1.5, *(v for v in ratio if math.isfinite(v))), SMALL)
    keep = np.isfinite(flagged)
    body = (
        frame.level(1.0, COLOURS["drift"], "threshold")
        + frame.line(at, ratio, COLOURS["estimate"])
        + frame.dots(at[keep], ratio[keep], COLOURS["drift"], "drifted; effect / threshold")
        + frame.markers(changes)
    )
    return svg(frame, body, f"effect of {columns.names[index]} over time")


def short(text: Any, length: int = 80) -> str:
    text = str(text)
    return text if len(text) <= length else text[: length - 1] + "…"


def utc(text: str) -> str:
    return datetime.datetime.fromisoformat(text).astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def cell(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.3g}"


def safe_link(url: str | None) -> str:
    if not url or not url.startswith(("https://", "http://")):
        return ""
    return f'<a href="{escape(url, quote=True)}">run</a>'


def runs_table(history: History) -> str:
    rows = []
    for run in reversed(history.runs[-LISTED_RUNS:]):
        estimate = run["estimate"] or {}
        marker = ' class="drift"' if run["drift"] else ""
        figures = [
            utc(run["at"]), "drift" if run["drift"] else "no drift", ", ".join(run["reasons"]) or "-",
            f"{run['drifted']} of {run['columns']}", f"v{run['champion']}" if run["champion"] else "-",
            cell(estimate.get("estimate") if estimate.get("estimate") is not None else math.nan),
            cell(run["realised"] if run["realised"] is not None else math.nan),
            f"{run['rows']['current']:,}" if isinstance(run["rows"].get("current"), int) else "?",
        ]  # fmt: skip
        cells = "".join(f"<td>{escape(str(value))}</td>" for value in figures)
        rows.append(f"<tr{marker}>{cells}<td>{safe_link(run['run_url'])}</td></tr>")
    head = "".join(f"<th>{name}</th>" for name in ("Time (UTC)", "Verdict", "Reasons", "Columns drifted",
                   "Champion", "Estimated", "Realised", "Rows", "Workflow"))  # fmt: skip
    more = f"<p>The latest {LISTED_RUNS} of {len(history.runs):,} runs; all are in runs.jsonl.</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>" + (
        more if len(history.runs) > LISTED_RUNS else ""
    )


def to_html(history: History, settings: Mapping[str, Any]) -> str:
    times = moments(history)
    group = buckets(len(times))
    changes = champion_changes(history, times)
    columns = Columns(history)
    summary = columns.summary(len(history.runs))
    drawn = sorted(range(len(summary)), key=lambda i: (-summary[i]["recent"], summary[i]["name"]))[:DRAWN_FEATURES]
    anchors = {index: f"feature-{position}" for position, index in enumerate(drawn)}
    drifted = sum(run["drift"] for run in history.runs)
    rule = settings["alert"]
    first, last = utc(history.runs[0]["at"]), utc(history.runs[-1]["at"])
    parts = [
        "<h1>Drift history</h1>",
        f"<p>{len(history.runs):,} checks from {escape(first)} to {escape(last)} (UTC); {drifted:,} found drift. "
        f"The drift issue opens on drift in {rule['k']} of the last {rule['n']} checks "
        "(a schema or type change, or a batch the model cannot score, at once).</p>",
        metric_chart(history, times, group, changes),
        share_chart(history, times, group, settings["dataset_drift_share"], changes),
        "<h2>Checks, newest first</h2>",
        runs_table(history),
        f"<h2>Features: effect / threshold over time (the {len(drawn)} with the largest recent effect)</h2>",
        "<p>1 is the column's threshold: above it and beyond noise (the test's p-value), the column drifts "
        "(red dots).</p>",
    ]
    for index in drawn:
        name = columns.names[index]
        parts.append(
            f'<section id="{anchors[index]}"><h3>{escape(short(name))}</h3>'
            f"{feature_chart(columns, index, times, group, changes)}</section>"
        )
    rows = []
    for index in sorted(range(len(summary)), key=lambda i: (-summary[i]["drifted"], summary[i]["name"])):
        item = summary[index]
        name = escape(short(item["name"]))
        linked = f'<a href="#{anchors[index]}">{name}</a>' if index in anchors else name
        rows.append(
            f"<tr{' class=drift' if item['drift'] else ''}><td>{linked}</td><td>{item['seen']:,}</td>"
            f"<td>{item['drifted']:,}</td><td>{cell(item['ratio'])}</td>"
            f"<td>{'yes' if item['drift'] else 'no'}</td></tr>"
        )
    parts.append(
        "<h2>Every feature, most often drifted first</h2><table><thead><tr><th>Feature</th><th>Checks</th>"
        "<th>Drifted</th><th>Latest effect / threshold</th><th>Latest drift</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Drift history</title>'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def write_page(history: History, settings: Mapping[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "index.html"
    target.write_text(to_html(history, settings), encoding="utf-8")
    return target
