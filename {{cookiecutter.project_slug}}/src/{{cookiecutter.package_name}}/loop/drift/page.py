"""Write the drift result as one self-contained HTML page: no script, nothing loaded from elsewhere.

Plots are inline SVG drawn here (a few shapes per column), so a page with thousands of columns is
written in well under a second and opens offline. Every text from the data goes through html.escape.
Each name in the columns table links to that column's detail section, whose id is the column's
position in the table (`column-<index>`), never its name: any name gives a safe, unique id.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from html import escape
from typing import Any

from .cells import (
    ESTIMATE_HEADERS,
    HEADERS,
    QUALITY_HEADERS,
    column_cells,
    estimate_rows,
    moment,
    number,
    ordered,
    quality_rows,
    reason_lines,
    schema_items,
    short,
)
from .verdict import percent

PLOTTED = 300  # columns with a plot, drifted first; every column has a detail section with its figures
LISTED = 500  # names listed per schema change
SIDES = ("reference", "current")
WIDTH, HEIGHT, MARGIN = 480, 150, 20  # every plot is WIDTH wide; a histogram is HEIGHT high
HOVER_LENGTH = 60  # characters of a name in a plot's hover title
CATEGORY_ROW = 26  # px per category in a bar chart: its reference bar above its current bar
CATEGORY_BAR = 10  # px thickness of one bar
CATEGORY_PAD = 6  # px above the first and below the last category
CATEGORY_LABEL_WIDTH = 160  # px left of the bars for the category's name
CATEGORY_LABEL_LENGTH = 24  # narrow characters of a category's name drawn left of its bars (wide ones count 2)
SHARE_LABEL_WIDTH = 44  # px right of the longest bar for its percentage
TABLE_ID = "columns"  # the columns table; each detail section links back to it
PREDICTIONS_ID = "predictions"
STYLE = """
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; }
tr.drift td { background: #fdecea; }
li.drift { color: #a61b1b; }
details { margin: .5rem 0; } summary { cursor: pointer; }
details:target > summary { background: #fff3bf; }
.detail { display: flex; flex-wrap: wrap; gap: 0 1.5rem; align-items: flex-start; }
table.figures { margin: .5rem 0; } table.figures th { font-weight: normal; color: #555; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; }
svg text { font-size: 11px; fill: #333; } svg text.share { font-size: 10px; fill: #555; }
svg line { stroke: #888; } svg rect { fill-opacity: .55; }
.reference { fill: #4e79a7; background: #4e79a7; } .current { fill: #f28e2b; background: #f28e2b; }
"""
LEGEND = '<p class="legend">share of rows:' + "".join(f'<span class="{side}"></span>{side}' for side in SIDES) + "</p>"


def table(
    headers: list[str], rows: list[list[str]], drifted: list[bool] | None = None, targets: list[str] | None = None
) -> str:
    """Return a table of plain-text cells; with `targets`, each row's first cell links to that id on the page."""
    head = "".join(f"<th>{escape(cell)}</th>" for cell in headers)
    body = []
    for index, row in enumerate(rows):
        marker = ' class="drift"' if drifted and drifted[index] else ""
        cells = [escape(cell) for cell in row]
        if targets:
            cells[0] = f'<a href="#{escape(targets[index])}">{cells[0]}</a>'
        body.append(f"<tr{marker}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def drawing(height: float, label: str, shapes: str) -> str:
    """Wrap shapes in an SVG as wide as every plot, named for screen readers."""
    return (
        f'<svg width="{WIDTH}" height="{height:.0f}" role="img" '
        f'aria-label="reference and current distribution of {escape(short(label))}">{shapes}</svg>'
    )


def hover(what: str, shares: list[float]) -> str:
    """Return the hover title of a category or bin: `what` (HTML, escaped) and its reference and current share."""
    return f"<title>{what}: reference {percent(shares[0])}, current {percent(shares[1])}</title>"


def category_label(name: str) -> str:
    """Return a category's name cut to fit left of its bars; a wide (East Asian) character counts as two."""
    width = 0
    for length, character in enumerate(name):
        width += 2 if unicodedata.east_asian_width(character) in "WF" else 1
        if width > CATEGORY_LABEL_LENGTH:
            return short(name, length)
    return name


def bars_svg(plot: Mapping[str, Any], label: str) -> str:
    """Draw one row per category: its name, then its reference and current share as bars ending in a percentage."""
    top = max([*plot["reference"], *plot["current"], 1e-12])
    room = WIDTH - CATEGORY_LABEL_WIDTH - SHARE_LABEL_WIDTH
    rows = []
    for index, name in enumerate(plot["labels"]):
        y = CATEGORY_PAD + index * CATEGORY_ROW + (CATEGORY_ROW - 2 * CATEGORY_BAR) / 2
        shares = [plot[side][index] for side in SIDES]
        bars = []
        for offset, (side, share) in enumerate(zip(SIDES, shares, strict=True)):
            length, bar_y = room * share / top, y + offset * CATEGORY_BAR
            bars.append(
                f'<rect class="{side}" x="{CATEGORY_LABEL_WIDTH}" y="{bar_y:.1f}" width="{length:.1f}" '
                f'height="{CATEGORY_BAR}"/><text class="share" x="{CATEGORY_LABEL_WIDTH + length + 4:.1f}" '
                f'y="{bar_y + CATEGORY_BAR - 1:.1f}">{percent(share)}</text>'
            )
        rows.append(
            f"<g>{hover(escape(short(name, HOVER_LENGTH)), shares)}"
            f'<text x="{CATEGORY_LABEL_WIDTH - 6}" y="{y + CATEGORY_BAR + 4:.1f}" text-anchor="end">'
            f"{escape(category_label(name))}</text>{''.join(bars)}</g>"
        )
    if not rows:
        rows.append(f'<text x="{CATEGORY_LABEL_WIDTH - 6}" y="{CATEGORY_ROW}" text-anchor="end">no values</text>')
    height = 2 * CATEGORY_PAD + max(len(plot["labels"]), 1) * CATEGORY_ROW
    axis = f'<line x1="{CATEGORY_LABEL_WIDTH}" y1="0" x2="{CATEGORY_LABEL_WIDTH}" y2="{height}"/>'
    return drawing(height, label, "".join(rows) + axis)


def histogram_svg(plot: Mapping[str, Any], label: str, tick: Callable[[float], str]) -> str:
    """Draw reference and current shares per bin, overlaid, with the low, middle and high values on the axis."""
    edges = plot["edges"]
    count = len(plot["reference"])
    top = max([*plot["reference"], *plot["current"], 1e-12])
    slot, base = (WIDTH - 2 * MARGIN) / max(count, 1), HEIGHT - MARGIN
    shapes = []
    for index in range(count):
        shares = [plot[side][index] for side in SIDES]
        heights = [(HEIGHT - 2 * MARGIN) * share / top for share in shares]
        bars = "".join(
            f'<rect class="{side}" x="{MARGIN + index * slot:.1f}" y="{base - height:.1f}" width="{slot:.1f}" '
            f'height="{height:.1f}"/>'
            for side, height in zip(SIDES, heights, strict=True)
        )
        span = f"{escape(tick(edges[index]))} to {escape(tick(edges[index + 1]))}"
        shapes.append(f"<g>{hover(span, shares)}{bars}</g>")
    shapes.append(f'<line x1="{MARGIN}" y1="{base}" x2="{WIDTH - MARGIN}" y2="{base}"/>')
    middle = (edges[0] + edges[-1]) / 2  # the bins have equal widths: the axis is linear
    ticks = ((MARGIN, edges[0], "start"), (WIDTH / 2, middle, "middle"), (WIDTH - MARGIN, edges[-1], "end"))
    for x, value, anchor in ticks:
        shapes.append(
            f'<line x1="{x}" y1="{base}" x2="{x}" y2="{base + 4}"/>'
            f'<text x="{x}" y="{HEIGHT - 4}" text-anchor="{anchor}">{escape(tick(value))}</text>'
        )
    return drawing(HEIGHT, label, "".join(shapes))


def svg(plot: Mapping[str, Any], label: str, kind: str | None = None) -> str:
    """Draw a column's reference and current shares: a bar per category, or a histogram of its values."""
    if plot["kind"] == "bars":
        return bars_svg(plot, label)
    return histogram_svg(plot, label, moment if kind == "datetime" else number)


def details(anchor: str, name: str, drifted: bool, content: str) -> str:
    """Return a section with the given id, open when it shows drift."""
    opened = " open" if drifted else ""
    summary = f"{escape(short(name))} ({'drift' if drifted else 'no drift'})"
    return f'<details id="{escape(anchor)}"{opened}><summary>{summary}</summary>{content}</details>'


def column_section(anchor: str, cells: list[str], column: Mapping[str, Any], plot: Mapping[str, Any] | None) -> str:
    """Return one column's detail section: its plot when it has one, and its figures from the table."""
    picture = svg(plot, cells[0], column.get("type")) if plot else ""
    figures = "".join(
        f"<tr><th>{escape(header)}</th><td>{escape(cell)}</td></tr>"
        for header, cell in zip(HEADERS[1:], cells[1:], strict=True)
    )
    content = f'<div class="detail">{picture}<table class="figures">{figures}</table></div>'
    return details(anchor, cells[0], column["drift"], f'{content}<a href="#{TABLE_ID}">back to the table</a>')


def listing(items: list[str]) -> str:
    shown = "".join(f"<li>{escape(short(item, 400))}</li>" for item in items[:LISTED])
    more = f"<li>… and {len(items) - LISTED:,} more: see drift.json</li>" if len(items) > LISTED else ""
    return f"<ul>{shown}{more}</ul>"


def model_part(result: Mapping[str, Any], prediction_plot: Mapping[str, Any] | None) -> list[str]:
    model = result.get("model")
    if model is None:
        return ["<h2>Model</h2><p>Not checked (--no-model).</p>"]
    quality, predictions = model["quality"], model["predictions"]
    parts = [f"<p>Model scored: {escape(model.get('source', '?'))}</p>"]
    parts.append(f"<h2>Model quality on current data</h2><p>{escape(quality['message'])}</p>")
    if quality.get("metrics"):
        parts.append(table(QUALITY_HEADERS, quality_rows(quality)))
    estimate = model.get("estimate")
    if estimate is not None:
        parts.append(f"<h2>Model quality estimated without labels</h2><p>{escape(estimate['message'])}</p>")
        if estimate.get("metrics"):
            parts.append(table(ESTIMATE_HEADERS, estimate_rows(estimate)))
    parts.append(f"<h2>Model predictions</h2><p>{escape(predictions['message'])}</p>")
    column = predictions.get("column")
    if column:
        targets = [PREDICTIONS_ID] if prediction_plot else None
        parts.append(table(HEADERS, [column_cells("predictions", column)], [predictions["drift"]], targets))
    if prediction_plot:
        picture = svg(prediction_plot, "predictions", (column or {}).get("type"))
        parts.append(details(PREDICTIONS_ID, "predictions", predictions["drift"], picture))
    return parts


def columns_part(columns: list[tuple[str, Mapping[str, Any]]], plots: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Return the columns table, each name linking to its detail section, then the sections in the same order."""
    anchors = [f"column-{index}" for index in range(len(columns))]
    rows = [column_cells(name, column) for name, column in columns]
    drifted = [column["drift"] for _, column in columns]
    with_plots = [name for name, _ in columns if name in plots]
    plotted = set(with_plots[:PLOTTED])
    parts = [
        f'<h2 id="{TABLE_ID}">Columns, drifted first, by effect</h2>',
        table(HEADERS, rows, drifted, anchors),
        f"<h2>Column details</h2>{LEGEND}",
    ]
    if len(with_plots) > PLOTTED:
        parts.append(
            f"<p>Plots for the first {PLOTTED:,} columns; the other {len(with_plots) - PLOTTED:,} "
            "show their figures only (all of them are in drift.json).</p>"
        )
    parts += [
        column_section(anchor, cells, column, plots[name] if name in plotted else None)
        for anchor, cells, (name, column) in zip(anchors, rows, columns, strict=True)
    ]
    return parts


def to_html(
    result: Mapping[str, Any], plots: Mapping[str, Mapping[str, Any]], prediction_plot: Mapping[str, Any] | None = None
) -> str:
    """Return one self-contained page: verdict and reasons, schema and types, model, columns, their details."""
    verdict = "drift detected" if result["dataset_drift"] else "no drift"
    reasons = "".join(
        f"<li{' class=drift' if mark == '✗' else ''}>{escape(mark)} {escape(text)}</li>"
        for mark, text in reason_lines(result)
    )
    reference, current = result["reference"], result["current"]
    parts = [
        f"<h1>Data drift: {verdict}</h1>",
        f"<p><strong>{escape(result['headline'])}</strong></p><ul>{reasons}</ul>",
        f"<p>Reference {escape(reference['path'])} ({reference['rows']:,} rows), "
        f"current {escape(current['path'])} ({current['rows']:,} rows).</p>",
    ]
    changes = [(title, items) for title, items in schema_items(result) if items]
    if changes:
        parts.append("<h2>Schema and type changes</h2>")
        parts += [f"<h3>{escape(title)}</h3>{listing(items)}" for title, items in changes]
    parts += model_part(result, prediction_plot)
    parts += columns_part(ordered(result["columns"]), plots)
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Data drift report</title>'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
