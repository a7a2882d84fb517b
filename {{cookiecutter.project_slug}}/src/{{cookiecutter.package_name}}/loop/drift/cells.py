"""What a drift result says, cell by cell: the text both readable reports show (drift.md and drift.html).

report.py lays it out as Markdown, page.py as HTML; each escapes it for its medium.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .verdict import CHECKS, percent

METHOD_NAMES = {
    "wasserstein": "Wasserstein / std",
    "psi": "PSI",
    "jensenshannon": "Jensen-Shannon",
    "missing": "missing",
}
TEST_NAMES = {"ks": "Kolmogorov-Smirnov", "chisquare": "chi-squared"}
NAME_LENGTH = 80  # longer names are cut in the readable reports; drift.json keeps them whole


def number(value: float | None) -> str:
    """Format a figure in up to four significant digits; a missing value as n/a."""
    return "n/a" if value is None or value != value else f"{value:.4g}"  # NaN is not equal to itself


def short(name: Any, length: int = NAME_LENGTH) -> str:
    """Return a name cut to `length` characters."""
    text = str(name)
    return text if len(text) <= length else text[: length - 1] + "…"


def ordered(columns: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """Return the columns, drifted ones first, each group by effect size, largest first."""

    def key(item: tuple[str, Mapping[str, Any]]) -> tuple[bool, float]:
        column = item[1]
        effect = column["statistic"] if column["statistic"] is not None else (1.0 if column["drift"] else -1.0)
        return (not column["drift"], -effect)

    return sorted(columns.items(), key=key)


def effect_text(column: Mapping[str, Any]) -> str:
    """Return the change a person can read: "median +0.8 sd" or "red: +30 pts"."""
    summary = column.get("summary") or {}
    if column["method"] == "missing":
        return "column missing"
    if "median_shift_sd" in summary:
        moved = [
            f"{name} {summary[f'{name}_shift_sd']:+.2g} sd"
            for name in ("median", "mean")
            if summary.get(f"{name}_shift_sd") is not None
        ]
        return ", ".join(moved) or "n/a"
    largest = summary.get("largest_change")
    if largest:
        return f"{short(largest['value'])}: {largest['change'] * 100:+.3g} pts"
    return "n/a"


def side_text(column: Mapping[str, Any], side: str) -> str:
    """Return one sample described in a few figures: quantiles or the top categories."""
    summary = column.get("summary") or {}
    if "top" in summary:
        return ", ".join(f"{short(item['value'])} {percent(item[side])}" for item in summary["top"])
    figures = summary.get(side) or {}
    if not figures.get("count"):
        return "no values"
    shown = moment if column.get("type") == "datetime" else number
    median, low, high = (shown(figures[name]) for name in ("median", "p05", "p95"))
    return f"median {median} (p05 {low}, p95 {high}), mean {shown(figures['mean'])}"


def moment(seconds: float | None) -> str:
    """Format seconds since 1970 as the UTC time they name, to the minute."""
    import datetime

    if seconds is None:
        return "n/a"
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%d %H:%M")


def column_cells(name: str, column: Mapping[str, Any]) -> list[str]:
    """Return the cells of one column row, as plain text."""
    kind = {"text": "text (length)", "datetime": "time"}.get(column["type"], column["type"])
    if "type_change" in column:
        kind = f"{column['type_change']['reference']} → {column['type_change']['current']}"
    nulls = column["null_fraction"]
    statistic = "n/a"
    if column["threshold"] is not None:
        statistic = f"{METHOD_NAMES[column['method']]} {number(column['statistic'])} (≥ {number(column['threshold'])})"
    return [
        short(name),
        kind,
        "yes" if column["drift"] else "no",
        effect_text(column),
        statistic,
        p_value_text(column),
        side_text(column, "reference"),
        side_text(column, "current"),
        f"{percent(nulls['reference'])} → {percent(nulls['current'])}",
    ]


def p_value_text(column: Mapping[str, Any]) -> str:
    """Return the p-value and the test that gave it: "0.003 (Kolmogorov-Smirnov)"."""
    text = ("< " if column.get("p_value_is_bound") else "") + number(column.get("p_value"))
    test = TEST_NAMES.get(column.get("test") or "")
    return f"{text} ({test})" if test and column.get("p_value") is not None else text


HEADERS = ["Column", "Type", "Drift", "Effect", "Statistic (threshold)", "p-value", "Reference", "Current", "Missing"]
QUALITY_HEADERS = ["Metric", "Reference (holdout)", "Current", "Change", "Direction"]


def quality_rows(quality: Mapping[str, Any]) -> list[list[str]]:
    """Return metric, reference, current, change and direction cells of the model-quality table."""
    rows = []
    for name, values in (quality.get("metrics") or {}).items():
        change = "n/a" if values["change"] is None else f"{values['change']:+.3g}"
        rows.append(
            [name, number(values["reference"]), number(values["current"]), change, values["direction"] or "n/a"]
        )
    return rows


def reason_lines(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return (mark, text) per check: ✗ drift, ✓ no drift, ○ not checked."""
    lines = []
    for name in CHECKS:
        check = result["checks"][name]
        mark = "✗" if check["drift"] else "✓" if check["ran"] else "○"
        lines.append((mark, f"{name}: {check['text']}"))
    return lines


def schema_items(result: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """Return each schema change kind with the names or values it lists (plain text)."""
    schema = result["schema_changes"]
    items = [
        ("Missing from the current data", list(schema["missing_in_current"])),
        ("New in the current data", list(schema["new_in_current"])),
    ]
    unseen = [
        f"{short(name)}: {percent(item['share'])} of rows, e.g. "
        + ", ".join(f"{short(value['value'])} ({percent(value['share'])})" for value in item["values"])
        for name, item in schema["unseen_categories"].items()
    ]
    types = [
        f"{short(name)}: {change['reference']} → {change['current']}, "
        f"{change['unparsed']} values ({percent(change['unparsed_share'])}) do not parse, e.g. "
        + ", ".join(repr(short(example)) for example in change["examples"])
        for name, change in schema["type_changed"].items()
    ]
    return [*items, ("Categories unseen in the reference", unseen), ("Type changes", types)]


ESTIMATE_HEADERS = ["Metric", "Holdout", "Estimated without labels (95% interval)", "Realised", "Estimated change"]


def estimate_rows(estimate: Mapping[str, Any]) -> list[list[str]]:
    """Return metric, holdout, estimate with interval, realised and change cells of the estimate table."""
    rows = []
    for name, values in (estimate.get("metrics") or {}).items():
        interval = f"{number(values['estimate'])} ({number(values['low'])} to {number(values['high'])})"
        worse_by = values.get("worse_by")
        change = "n/a" if worse_by is None else f"{'worse' if worse_by > 0 else 'not worse'} by {abs(worse_by):.3g}"
        rows.append([name, number(values.get("holdout")), interval, number(values.get("realised")), change])
    return rows
