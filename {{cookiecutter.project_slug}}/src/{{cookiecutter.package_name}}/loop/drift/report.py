"""Write a drift result as drift.json, drift.md (GitHub issues and job summaries) and drift.html.

Both readable reports lead with the verdict and its reasons, then schema and type changes, then the
model, then the columns sorted by effect. Every value that comes from the data (column names,
categories, paths, error messages) is escaped for its medium: markdown.py for GitHub, html.escape
for the page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..markdown import GITHUB_LIMIT, Section, code_span, escape_cell, escape_text, fit, render
from .cells import (
    ESTIMATE_HEADERS,
    HEADERS,
    NAME_LENGTH,
    QUALITY_HEADERS,
    column_cells,
    effect_text,
    estimate_rows,
    ordered,
    quality_rows,
    reason_lines,
    schema_items,
    short,
    side_text,
)
from .page import to_html

MARKDOWN_COLUMNS = 100  # column rows in drift.md; the rest are counted and left to drift.html and drift.json
LISTED = 20  # names listed per schema change in drift.md


def write_reports(
    result: Mapping[str, Any],
    plots: Mapping[str, Mapping[str, Any]],
    report_dir: Path,
    prediction_plot: Mapping[str, Any] | None = None,
) -> None:
    """Write drift.json, drift.md and drift.html into `report_dir`."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "drift.json").write_text(to_json(result), encoding="utf-8")
    (report_dir / "drift.md").write_text(to_markdown(result), encoding="utf-8")
    (report_dir / "drift.html").write_text(to_html(result, plots, prediction_plot), encoding="utf-8")


def plain(value: Any) -> Any:
    """Return `value` with NaN and infinities as None, so that the JSON is valid everywhere."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(result: Mapping[str, Any]) -> str:
    """Return the result as indented JSON."""
    return json.dumps(plain(result), indent=2, allow_nan=False) + "\n"


def markdown_table(headers: list[str], rows: list[list[str]]) -> tuple[list[str], list[str]]:
    head = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return head, ["| " + " | ".join(escape_cell(cell) for cell in row) + " |" for row in rows]


def to_markdown(result: Mapping[str, Any], limit: int = GITHUB_LIMIT) -> str:
    """Return the Markdown report, cut to fit in a GitHub issue or job summary."""
    verdict = "drift detected" if result["dataset_drift"] else "no drift"
    reference, current = result["reference"], result["current"]
    head = [f"## Data drift: {verdict}", "", f"**{escape_text(result['headline'])}**", ""]
    head += [f"- {mark} {escape_text(text)}" for mark, text in reason_lines(result)]
    head += [
        "",
        f"Reference {code_span(reference['path'])} ({reference['rows']:,} rows), "
        f"current {code_span(current['path'])} ({current['rows']:,} rows).",
    ]
    sections = [Section(head)]
    for title, names in schema_items(result):
        if names:
            rows = [f"- {escape_text(short(name, 4 * NAME_LENGTH))}" for name in names[:LISTED]]
            if len(names) > LISTED:
                rows.append(f"- … and {len(names) - LISTED:,} more: see drift.json")
            sections.append(Section([f"**{title}**", ""], rows, "drift.json"))
    sections.append(Section(model_lines(result)))
    shown = ordered(result["columns"])
    table_head, rows = markdown_table(
        HEADERS, [column_cells(name, column) for name, column in shown[:MARKDOWN_COLUMNS]]
    )
    if len(shown) > MARKDOWN_COLUMNS:
        rows.append(
            f"\n_… {len(shown) - MARKDOWN_COLUMNS:,} more columns, with less effect: see drift.html and drift.json._"
        )
    sections.append(Section(["**Columns, drifted first, by effect**", "", *table_head], rows, "drift.html"))
    return render(fit(sections, limit - 1))


def model_lines(result: Mapping[str, Any]) -> list[str]:
    """Return the model section of drift.md."""
    model = result.get("model")
    if model is None:
        return ["**Model**: not checked (`--no-model`)."]
    quality, predictions = model["quality"], model["predictions"]
    lines = [f"**Model scored**: {escape_text(model.get('source', '?'))}", ""]
    lines += ["**Model quality on current data**", "", escape_text(quality["message"])]
    if quality.get("metrics"):
        head, rows = markdown_table(QUALITY_HEADERS, quality_rows(quality))
        lines += ["", *head, *rows]
    estimate = model.get("estimate")
    if estimate is not None:
        lines += ["", "**Model quality estimated without labels**", "", escape_text(estimate["message"])]
        if estimate.get("metrics"):
            head, rows = markdown_table(ESTIMATE_HEADERS, estimate_rows(estimate))
            lines += ["", *head, *rows]
    lines += ["", "**Model predictions**", "", escape_text(predictions["message"])]
    if predictions.get("column"):
        column = predictions["column"]
        lines.append(
            escape_text(
                f"Reference: {side_text(column, 'reference')}. Current: {side_text(column, 'current')}. "
                f"Effect: {effect_text(column)}; drift: {'yes' if column['drift'] else 'no'}."
            )
        )
    return lines
