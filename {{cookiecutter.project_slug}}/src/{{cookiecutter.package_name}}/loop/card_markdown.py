"""The model card as people read it, and where a registered version keeps it.

`document` joins the evaluate stage's numbers (card.py, reports/card.json) with what only `register`
knows: the project, the version, its commit and the gate's decision with every acknowledgement, and
what the numbers imply in words (card_limits.py); `markdown` renders it all. Every text that comes
from the data or a settings file (column names, category values, the project's name) goes through
markdown.py. `register` logs model-card.md and model-card.json under card/ of the version's run;
`status --version` reads them back (`logged_card`). `report_section` is the pull request's part,
shown only when the card is of the model this run's gate judged.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .card_limits import known_limits
from .markdown import Section, code_span, escape_cell, escape_text
from .provenance import Verdict, file_md5, read_result
from .strict_json import dumps, is_number

CARD_FOLDER, CARD_MARKDOWN, CARD_JSON = "card", "model-card.md", "model-card.json"
SWITCHES = ("allow_schema_change", "allow_leakage", "allow_unproven_champion")


def project_answers(path: str | Path) -> dict[str, str]:
    """The project's name and description from .cookiecutter.json; nothing when it is absent or unreadable."""
    try:
        answers = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(answers, dict):
        return {}
    return {key: str(answers[key]) for key in ("project_name", "description") if answers.get(key) is not None}


def document(
    card: dict[str, Any], decision: dict[str, Any], model: dict[str, str], project: dict[str, str]
) -> dict[str, Any]:
    """The whole card: `model` is {name, version, commit, dirty}; `card` the evaluate stage's numbers."""
    gate = {key: decision.get(key) for key in ("passed", "metric", "reasons", "baseline", "champion", "leakage")}
    gate.update({key: bool(decision.get(key, False)) for key in SWITCHES})
    found = {"project": project, "model": model, **card, "gate": gate}
    return {**found, "known_limits": known_limits(found)}


def value_cell(value: Any) -> str:
    """A slice's value in a table: verbatim in a code span, or an unquoted (missing)."""
    return "_(missing)_" if value is None else (code_span(value, cell=True) or '`""`')


def figure(value: Any) -> str:
    """A number for a table, or 'undefined'."""
    return f"{value:.4f}" if is_number(value) else "undefined"


def metrics_lines(found: dict[str, Any]) -> list[str]:
    """The metrics table: each value, its interval, the baseline and the previous champion."""
    gate = found.get("gate") or {}
    baseline, champion = gate.get("baseline") or {}, gate.get("champion") or {}
    against = f"champion v{escape_cell(champion['version'])}" if champion.get("version") else "champion"
    boot = found.get("bootstrap") or {}
    lines = [
        f"## Holdout metrics ({found.get('holdout_rows')} rows)",
        "",
        f"95% percentile intervals from {boot.get('resamples')} bootstrap resamples of the holdout rows "
        f"(seed {boot.get('seed')}); a resample where a metric is undefined is skipped. The trivial baseline and the "
        "champion are scored on the gate's metric only.",
        "",
        f"| Metric | Value | 95% interval | Resamples used | Trivial baseline | Previous {against} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for metric, value in (found.get("metrics") or {}).items():
        gated = metric == gate.get("metric")
        base = figure(baseline.get("value")) if gated and baseline else "—"
        champ = figure(champion.get("value")) if gated and "value" in champion else "—"
        interval = f"{figure(value.get('low'))} to {figure(value.get('high'))}"
        lines.append(
            f"| {escape_cell(metric)} | {figure(value.get('value'))} | {interval} | {escape_cell(value.get('used'))} "
            f"| {base} | {champ} |"
        )
    return lines


def slices_table(slices: dict[str, Any]) -> list[str]:
    """The worst values of each column, and those the metric is undefined on, as table rows."""
    metric = escape_cell(slices.get("metric"))
    rows = [f"| Column | Value | Holdout rows | {metric} |", "|---|---|---:|---:|"]
    for column in slices.get("columns") or []:
        name = escape_cell(column.get("column"))
        for entry in column.get("worst") or []:
            rows.append(f"| {name} | {value_cell(entry['value'])} | {entry['rows']} | {figure(entry['metric'])} |")
        for entry in column.get("undefined") or []:
            why = escape_cell(entry.get("why", ""))
            rows.append(f"| {name} | {value_cell(entry['value'])} | {entry['rows']} | undefined ({why}) |")
    return rows if len(rows) > 2 else []


def slices_lines(slices: dict[str, Any]) -> list[str]:
    """The worst slices, and how many values had too few rows to be scored."""
    lines = [
        "## Worst slices",
        "",
        f"{escape_text(slices.get('metric'))} on the holdout rows of each value of each category or true/false column "
        f"with at least {slices.get('min_rows')} rows, the worst {slices.get('worst_per_column')} of each; "
        f"overall {figure(slices.get('overall'))}.",
        "",
    ]
    if not slices.get("columns"):
        return [*lines, "No category or true/false columns."]
    lines += slices_table(slices) or ["No value has enough holdout rows."]
    for column in slices["columns"]:
        small = column.get("too_few_rows") or {}
        if small.get("values"):
            lines.append(
                f"\n{escape_text(column['column'])}: {small['values']} values on {small['rows']} holdout rows in all "
                f"have fewer than {slices.get('min_rows')} rows each, not scored."
            )
    return lines


def importance_lines(importance: dict[str, Any], top: int | None = None) -> list[str]:
    """The permutation importance table, the `top` columns only when given."""
    metric = escape_text(importance.get("metric"))
    head = [
        f"How much {metric} drops when one raw input column is shuffled, on {importance.get('rows')} holdout rows, "
        f"{importance.get('repeats')} shuffles each (seed {importance.get('seed')}).",
        "",
    ]
    if importance.get("skipped"):
        return [*head[:1], "", f"Not computed: {escape_text(importance['skipped'])}."]
    columns = (importance.get("columns") or [])[:top]
    rows = [f"| {escape_cell(item['column'])} | {figure(item['mean'])} | {figure(item['std'])} |" for item in columns]
    return [*head, "| Column | Mean drop | Std |", "|---|---:|---:|", *rows]


def training_lines(training: dict[str, Any]) -> list[str]:
    """What the model learned from: rows, file hash, columns and kinds, time ranges."""
    columns = training.get("columns") or []
    lines = [
        "## Training data",
        "",
        f"{training.get('rows')} rows (`data/prepared/train.csv`, md5 {code_span(training.get('md5'))}), "
        f"{len(columns)} columns:",
        "",
        "| Column | Kind |",
        "|---|---|",
    ]
    for column in columns:
        role = ", the target" if column.get("target") else ""
        lines.append(f"| {escape_cell(column.get('name'))} | {escape_cell(column.get('kind'))}{role} |")
    for column, span in (training.get("time_ranges") or {}).items():
        low, high = escape_text(span.get("min")), escape_text(span.get("max"))
        lines.append(f"\nTime range of {escape_text(column)}: {low} to {high}.")
    return lines


def gate_lines(gate: dict[str, Any]) -> list[str]:
    """The gate's verdict, its reasons and every acknowledgement it recorded."""
    verdict = "passed" if gate.get("passed") else "failed"
    lines = ["## Gate decision", "", f"The gate {verdict} on {escape_text(gate.get('metric'))}:", ""]
    lines += [f"- {escape_text(reason)}" for reason in gate.get("reasons") or []]
    switches = ", ".join(f"gate.{name}: {str(gate.get(name, False)).lower()}" for name in SWITCHES)
    lines += ["", f"Acknowledgements, as the decision recorded them: {switches}."]
    leakage = gate.get("leakage") or {}
    found = [f"{escape_text(name)} ({figure(value)})" for name, value in (leakage.get("columns") or {}).items()]
    if leakage.get("perfect"):
        found.append("a perfect holdout score")
    lines.append(f"Leakage found: {', '.join(found) if found else 'none'}.")
    return lines


def markdown(card: dict[str, Any]) -> str:
    """The card as Markdown; every text from the data or the project's answers escaped."""
    model, project = card.get("model") or {}, card.get("project") or {}
    title = escape_text(f"{model.get('name')} version {model.get('version')}")
    lines = [f"# Model card: {title}", ""]
    if project:
        name, about = project.get("project_name", ""), project.get("description", "")
        lines += [f"{escape_text(name)}{': ' if name and about else ''}{escape_text(about)}", ""]
    dirty = " (with uncommitted changes)" if str(model.get("dirty")) == "True" else ""
    lines += [
        "## What it predicts",
        "",
        f"- {escape_text(card.get('task'))} of {code_span(card.get('target'))} from the columns below",
        f"- Trained from commit {code_span(str(model.get('commit'))[:12])}{dirty}",
        f"- Model file md5 {code_span(card.get('model_md5'))}",
        "",
        *training_lines(card.get("training") or {}),
        "",
        *metrics_lines(card),
        "",
        *slices_lines(card.get("slices") or {}),
        "",
        "## Permutation importance",
        "",
        *importance_lines(card.get("importance") or {}),
        "",
        *gate_lines(card.get("gate") or {}),
        "",
        "## Known limits",
        "",
        *([f"- {escape_text(limit)}" for limit in card.get("known_limits") or []] or ["None found in the data."]),
    ]
    return "\n".join(lines) + "\n"


def log_card(registry: Any, version: str, card: dict[str, Any]) -> None:
    """Log model-card.md and model-card.json under card/ of the version's run."""
    run_id = getattr(registry.version(version), "run_id", None)
    if not run_id:
        from .registry import RegistryError, redact

        raise RegistryError(f"registry {redact(registry.uri)}: version {version} has no run to keep its card")
    with tempfile.TemporaryDirectory() as folder:
        for name, text in ((CARD_MARKDOWN, markdown(card)), (CARD_JSON, dumps(card, indent=2) + "\n")):
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8")
            what = f"logging {name} of version {version}"
            registry.call(what, registry.client.log_artifact, run_id, str(path), CARD_FOLDER, write=True)


def logged_card(registry: Any, found: Any) -> str | None:
    """The Markdown card of a model version (found by registry.version); None when it has none."""
    if not getattr(found, "run_id", None):
        return None
    what = f"listing the card of version {found.version}"
    listed = registry.call(what, registry.client.list_artifacts, found.run_id, CARD_FOLDER) or []
    if f"{CARD_FOLDER}/{CARD_MARKDOWN}" not in {entry.path for entry in listed}:
        return None
    with tempfile.TemporaryDirectory() as folder:
        what = f"downloading the card of version {found.version}"
        path = registry.call(
            what, registry.client.download_artifacts, found.run_id, f"{CARD_FOLDER}/{CARD_MARKDOWN}", folder
        )
        return None if path is None else Path(path).read_text(encoding="utf-8", errors="replace")


def report_section(card: dict[str, Any], top: int = 5) -> Section:
    """The pull request's part of the card: the importance chart (with the plots), the top columns, the worst slices."""
    importance = card.get("importance") or {}
    head = [
        "### Model card",
        "",
        "The importance chart is with the plots (`importance`); the card is logged with the version at `register`.",
        "",
        *importance_lines(importance, top),
        "",
        f"Worst slices on {escape_text((card.get('slices') or {}).get('metric'))} "
        f"(overall {figure((card.get('slices') or {}).get('overall'))}):",
        "",
    ]
    rows = slices_table(card.get("slices") or {})
    if not rows:
        return Section([*head, "No category or true/false column has a value with enough holdout rows."])
    return Section([*head, *rows[:2]], rows[2:], "reports/card.json")


def this_runs_section(path: Path, gate: Verdict, model: Path) -> Section | None:
    """The report's section when the card is of the model this run's gate judged (and on disk now); else None."""
    card, _ = read_result(path)
    judged = ((gate.content or {}).get("inputs") or {}).get("model")
    if card is None or judged is None or card.get("model_md5") != judged or judged != file_md5(model):
        return None
    return report_section(card)


def why_no_section(path: Path, gate: Verdict) -> Verdict:
    """Why the report has no card section: no gate of this run, no readable card, or another model's card."""
    _, unreadable = read_result(path)
    if gate.content is None:
        why = f"Nothing ties {code_span(path)} to this run's model: the gate did not run in this run."
        return Verdict(path, None, why)
    other = f"{code_span(path)} is the card of another model than the one this run's gate judged."
    return Verdict(path, None, unreadable or other)
