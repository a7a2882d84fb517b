"""Write a drift result as drift.json, drift.md (for GitHub issues and job summaries) and drift.html."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

METHOD_NAMES = {
    "wasserstein": "Wasserstein / std",
    "ks": "KS p-value",
    "psi": "PSI",
    "jensenshannon": "Jensen-Shannon",
    "chisquare": "chi² p-value",
    "missing": "missing in current",
}
STYLE = """
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
tr.drift td { background: #fdecea; }
figure { margin: 1rem 0; }
"""


def write_reports(result: Mapping[str, Any], plots: Mapping[str, Mapping[str, Any]], report_dir: Path) -> None:
    """Write drift.json, drift.md and drift.html into `report_dir`."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "drift.json").write_text(to_json(result), encoding="utf-8")
    (report_dir / "drift.md").write_text(to_markdown(result), encoding="utf-8")
    images = {name: plot_png(name, plot) for name, plot in plots.items()}
    (report_dir / "drift.html").write_text(to_html(result, images), encoding="utf-8")


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


def number(value: float | None) -> str:
    """Format a statistic in four significant digits; a missing value as n/a."""
    if value is None:
        return "n/a"
    return f"{value:.4g}"


def share(value: float) -> str:
    """Format a share as a percentage with up to three significant digits."""
    return f"{value * 100:.3g}%"


def ordered(columns: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """Return the columns, drifted ones first, otherwise in file order."""
    return sorted(columns.items(), key=lambda item: not item[1]["drift"])


def column_cells(name: str, column: Mapping[str, Any]) -> list[str]:
    """Return the table cells of one column: name, type, method, statistic, threshold, missing, drift."""
    nulls = column["null_fraction"]
    kind = "text (length)" if column["type"] == "text" else column["type"]
    if "type_changed" in column:
        kind = f"{column['type_changed']['reference']} → {column['type_changed']['current']}"
    return [
        name,
        kind,
        METHOD_NAMES.get(column["method"], column["method"]),
        number(column["statistic"]),
        number(column["threshold"]),
        f"{share(nulls['reference'])} → {share(nulls['current'])}",
        "yes" if column["drift"] else "no",
    ]


HEADERS = ["Column", "Type", "Method", "Statistic", "Threshold", "Missing values", "Drift"]


def headline(result: Mapping[str, Any]) -> str:
    """Return the one-sentence verdict."""
    drifted, total = len(result["drifted_columns"]), result["number_of_columns"]
    return (
        f"{drifted} of {total} feature columns drifted ({share(result['drift_share'])}); "
        f"the dataset counts as drifted at {share(result['threshold'])} or more."
    )


def sources(result: Mapping[str, Any]) -> str:
    reference, current = result["reference"], result["current"]
    return (
        f"Reference {reference['path']} ({reference['rows']} rows), "
        f"current {current['path']} ({current['rows']} rows); {result['sample_size']}-sample methods."
    )


def schema_lines(result: Mapping[str, Any]) -> list[str]:
    """Return one line per kind of schema change; none when the columns match."""
    changes = result["schema_changes"]
    lines = []
    if changes["missing_in_current"]:
        lines.append("missing in current: " + ", ".join(changes["missing_in_current"]))
    if changes["new_in_current"]:
        lines.append("new in current: " + ", ".join(changes["new_in_current"]))
    for name, kinds in changes["type_changed"].items():
        lines.append(f"type changed: {name} ({kinds['reference']} → {kinds['current']})")
    return lines


def quality_rows(quality: Mapping[str, Any]) -> list[list[str]]:
    """Return metric, reference, current and change cells for the model-quality table."""
    rows = []
    for name, values in quality.get("metrics", {}).items():
        change = number(values["change"]) + (" (worse)" if values["worse"] else "")
        rows.append([name, number(values["reference"]), number(values["current"]), change])
    return rows


def markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(markdown_cell(cell) for cell in row) + " |" for row in rows]


def to_markdown(result: Mapping[str, Any]) -> str:
    """Return a Markdown summary for a GitHub issue or a job summary."""
    verdict = "drift detected" if result["dataset_drift"] else "no drift"
    lines = [f"## Data drift: {verdict}", "", f"**{headline(result)}**", "", sources(result), ""]
    changes = schema_lines(result)
    if changes:
        lines += ["**Schema changes**", ""] + [f"- {markdown_cell(line)}" for line in changes] + [""]
    quality = result.get("model_quality")
    if quality:
        lines += [f"**Model quality on current data:** {markdown_cell(quality['message'])}", ""]
        if quality.get("metrics"):
            lines += markdown_table(["Metric", "Reference (holdout)", "Current", "Change"], quality_rows(quality))
            lines.append("")
    rows = [column_cells(name, column) for name, column in ordered(result["columns"])]
    lines += markdown_table(HEADERS, rows)
    return "\n".join(lines) + "\n"


def html_table(headers: list[str], rows: list[list[str]], drifted: list[bool] | None = None) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in headers)
    body = []
    for index, row in enumerate(rows):
        marker = ' class="drift"' if drifted and drifted[index] else ""
        cells = "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
        body.append(f"<tr{marker}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def to_html(result: Mapping[str, Any], images: Mapping[str, str]) -> str:
    """Return one self-contained page: no scripts, styles or images from elsewhere."""
    verdict = "drift detected" if result["dataset_drift"] else "no drift"
    parts = [f"<h1>Data drift: {verdict}</h1>", f"<p><strong>{html.escape(headline(result))}</strong></p>"]
    parts.append(f"<p>{html.escape(sources(result))}</p>")
    changes = schema_lines(result)
    if changes:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in changes)
        parts.append(f"<h2>Schema changes</h2><ul>{items}</ul>")
    quality = result.get("model_quality")
    if quality:
        parts.append(f"<h2>Model quality on current data</h2><p>{html.escape(quality['message'])}</p>")
        if quality.get("metrics"):
            parts.append(html_table(["Metric", "Reference (holdout)", "Current", "Change"], quality_rows(quality)))
    columns = ordered(result["columns"])
    parts.append("<h2>Columns</h2>")
    rows = [column_cells(name, column) for name, column in columns]
    parts.append(html_table(HEADERS, rows, [column["drift"] for _, column in columns]))
    if images:
        parts.append("<h2>Distributions of the drifted columns</h2>")
    for name, image in images.items():
        label = html.escape(name)
        parts.append(
            f'<figure><img alt="reference and current distribution of {label}" '
            f'src="data:image/png;base64,{image}"><figcaption>{label}</figcaption></figure>'
        )
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Data drift report</title>'
        f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def plot_png(name: str, plot: Mapping[str, Any]) -> str:
    """Draw reference against current for one column; return the PNG as base64 text."""
    import numpy as np
    from matplotlib.figure import Figure  # a bare Figure draws with Agg and leaves pyplot's state alone

    figure = Figure(figsize=(6.4, 3.0), dpi=96, layout="constrained")
    axes = figure.subplots()
    if plot["kind"] == "histogram":
        for label in ("reference", "current"):
            axes.stairs(plot[label], plot["edges"], label=label, fill=True, alpha=0.45)
    else:
        positions = np.arange(len(plot["labels"]))
        axes.bar(positions - 0.2, plot["reference"], 0.4, label="reference")
        axes.bar(positions + 0.2, plot["current"], 0.4, label="current")
        axes.set_xticks(positions, plot["labels"], rotation=45, ha="right", fontsize=8)
    axes.set_title(name)
    axes.set_ylabel("share of rows")
    axes.legend()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})  # no tool URL inside the page
    return base64.b64encode(buffer.getvalue()).decode("ascii")
