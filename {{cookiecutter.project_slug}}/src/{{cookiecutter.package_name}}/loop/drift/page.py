"""Write the drift result as one self-contained HTML page: no script, nothing loaded from elsewhere.

Plots are inline SVG drawn here (a few rectangles per column), so a page with thousands of columns
is written in well under a second and opens offline. Every text from the data goes through
html.escape.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from .cells import HEADERS, QUALITY_HEADERS, column_cells, ordered, quality_rows, reason_lines, schema_items, short

PLOTTED = 300  # columns with a plot, drifted first; the table lists every column
LISTED = 500  # names listed per schema change
WIDTH, HEIGHT, MARGIN = 480, 150, 20
COLOURS = {"reference": "#4e79a7", "current": "#f28e2b"}
STYLE = """
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; padding: 0 1rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; }
tr.drift td { background: #fdecea; }
li.drift { color: #a61b1b; }
details { margin: .5rem 0; } summary { cursor: pointer; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; }
"""


def table(headers: list[str], rows: list[list[str]], drifted: list[bool] | None = None) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in headers)
    body = []
    for index, row in enumerate(rows):
        marker = ' class="drift"' if drifted and drifted[index] else ""
        body.append(f"<tr{marker}>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def svg(plot: Mapping[str, Any], label: str) -> str:
    """Draw reference and current shares as bars in one small SVG."""
    series = [plot["reference"], plot["current"]]
    count = len(series[0])
    top = max([*series[0], *series[1], 1e-12])
    slot = (WIDTH - 2 * MARGIN) / max(count, 1)
    shapes = []
    for index in range(count):
        for side, (name, values) in enumerate(zip(("reference", "current"), series, strict=True)):
            height = (HEIGHT - 2 * MARGIN) * values[index] / top
            if plot["kind"] == "bars":
                x, width = MARGIN + index * slot + side * slot * 0.45, slot * 0.45
                what = escape(short(plot["labels"][index], 60))
            else:
                x, width = MARGIN + index * slot, slot
                what = f"{plot['edges'][index]:.4g} to {plot['edges'][index + 1]:.4g}"
            shapes.append(
                f'<rect x="{x:.1f}" y="{HEIGHT - MARGIN - height:.1f}" width="{width:.1f}" height="{height:.1f}" '
                f'fill="{COLOURS[name]}" fill-opacity="0.55">'
                f"<title>{name} {what}: {values[index] * 100:.3g}%</title></rect>"
            )
    axis = f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" stroke="#888"/>'
    ends = ""
    if plot["kind"] == "histogram":
        low, high = plot["edges"][0], plot["edges"][-1]
        ends = (
            f'<text x="{MARGIN}" y="{HEIGHT - 4}" font-size="11">{low:.4g}</text>'
            f'<text x="{WIDTH - MARGIN}" y="{HEIGHT - 4}" font-size="11" text-anchor="end">{high:.4g}</text>'
        )
    return (
        f'<svg width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="reference and current distribution of {escape(label)}">{"".join(shapes)}{axis}{ends}</svg>'
    )


def plot_section(name: str, plot: Mapping[str, Any], drifted: bool) -> str:
    opened = " open" if drifted else ""
    mark = "drift" if drifted else "no drift"
    return f"<details{opened}><summary>{escape(short(name))} ({mark})</summary>{svg(plot, short(name))}</details>"


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
    parts.append(f"<h2>Model predictions</h2><p>{escape(predictions['message'])}</p>")
    if predictions.get("column"):
        parts.append(table(HEADERS, [column_cells("predictions", predictions["column"])], [predictions["drift"]]))
    if prediction_plot:
        parts.append(plot_section("predictions", prediction_plot, predictions["drift"]))
    return parts


def to_html(
    result: Mapping[str, Any], plots: Mapping[str, Mapping[str, Any]], prediction_plot: Mapping[str, Any] | None = None
) -> str:
    """Return one self-contained page: verdict and reasons, schema and types, model, columns, plots."""
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
    columns = ordered(result["columns"])
    parts.append("<h2>Columns, drifted first, by effect</h2>")
    parts.append(
        table(HEADERS, [column_cells(name, column) for name, column in columns], [c["drift"] for _, c in columns])
    )
    with_plots = [(name, column) for name, column in columns if name in plots]
    parts.append(
        '<h2>Distributions</h2><p class="legend">share of rows:<span style="background:#4e79a7"></span>reference'
        '<span style="background:#f28e2b"></span>current</p>'
    )
    parts += [plot_section(name, plots[name], column["drift"]) for name, column in with_plots[:PLOTTED]]
    if len(with_plots) > PLOTTED:
        parts.append(
            f"<p>… {len(with_plots) - PLOTTED:,} more columns without a plot here; "
            "their figures are in the table and drift.json.</p>"
        )
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Data drift report</title>'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )
