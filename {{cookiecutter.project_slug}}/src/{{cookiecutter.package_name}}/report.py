"""Report: write the Markdown report of a training run, for the pull request and the job summary.

The report gives the gate verdict with its reasons, the metrics and params against the base
branch (`dvc metrics diff`, `dvc params diff`), the data-validation summary and links to the
uploaded artifacts. `--registry` writes instead where the model registry is and where its
aliases point. Inside GitHub Actions the Markdown is also appended to the job summary.

Settings a workflow passes through the environment (all optional):
  GITHUB_BASE_REF     base branch of a pull request; the diffs compare with origin/<it>, else HEAD
  REPORT_LINKS        one `Label=URL` per line, e.g. the uploaded artifacts
  DVC_REMOTE_PULLED   'true' or 'false': whether the run pulled its data from the DVC remote
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .params import ParamsError, load_params, section

EMBEDDED_NOTE = (
    "The registry is the embedded sqlite file `mlflow.db` of this run, uploaded as the `model-registry` "
    "artifact; it starts empty on every runner. Set the `MLFLOW_TRACKING_URI` variable to keep one "
    "registry across runs (docs/ci.md)."
)


def number(value: Any) -> str:
    """Format a metric or param value for a table cell."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"`{value}`" if isinstance(value, str) else str(value)


def change(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    return f"{value:+.4f}" if isinstance(value, float) else f"{value:+d}"


def gate_section(decision: dict[str, Any] | None) -> list[str]:
    """The verdict and its reasons, or why there is none."""
    if decision is None:
        return ["### ⚠️ Gate: did not run", "", "An earlier stage failed: see the data validation and the job log."]
    verdict = "✅ Gate: passed" if decision.get("passed") else "❌ Gate: failed"
    lines = [f"### {verdict}", ""]
    lines += [f"- {reason}" for reason in decision.get("reasons", [])]
    return lines


def metrics_section(diff: dict[str, Any] | None, base: str) -> list[str]:
    """A table of every metric: base value, this run's value and the change (`dvc metrics diff --all`)."""
    lines = [f"### Metrics (against `{base}`)", ""]
    if diff is None:
        return [*lines, f"`dvc metrics diff` could not compare with `{base}`."]
    rows = [(path, name, values) for path, metrics in diff.items() for name, values in sorted(metrics.items())]
    if not rows:
        return [*lines, "No metrics yet."]
    lines += [f"| Metric | `{base}` | this run | change |", "|---|---:|---:|---:|"]
    for path, name, values in rows:
        label = name if len(diff) == 1 else f"{path}: {name}"
        lines.append(
            f"| {label} | {number(values.get('old'))} | {number(values.get('new'))} | {change(values.get('diff'))} |"
        )
    return lines


def params_section(diff: dict[str, Any] | None, base: str) -> list[str]:
    """A table of the params that differ from the base (`dvc params diff`)."""
    lines = [f"### Params changed (against `{base}`)", ""]
    if diff is None:
        return [*lines, f"`dvc params diff` could not compare with `{base}`."]
    rows = [(name, values) for params in diff.values() for name, values in sorted(params.items())]
    if not rows:
        return [*lines, "None."]
    lines += [f"| Param | `{base}` | this run |", "|---|---|---|"]
    lines += [f"| {name} | {number(values.get('old'))} | {number(values.get('new'))} |" for name, values in rows]
    return lines


def validation_section(summary: dict[str, Any] | None) -> list[str]:
    """Whether the prepared data met the expectation suite, and each failure in words."""
    if summary is None:
        return ["### ⚠️ Data validation: did not run", "", "See the job log."]
    if summary.get("success"):
        return [
            "### ✅ Data validation: passed",
            "",
            f"All {summary.get('evaluated')} expectations passed on {summary.get('rows')} rows.",
        ]
    lines = [
        "### ❌ Data validation: failed",
        "",
        f"{summary.get('failed')} of {summary.get('evaluated')} expectations failed on {summary.get('rows')} rows.",
        "",
        "| Column | Expectation | Expected | Observed |",
        "|---|---|---|---|",
    ]
    for row in summary.get("failures", []):
        cells = (row.get(key, "") for key in ("column", "expectation", "expected", "observed"))
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |")
    return lines


def links_section(links: dict[str, str]) -> list[str]:
    if not links:
        return []
    return ["### Artifacts", "", " · ".join(f"[{label}]({url})" for label, url in links.items())]


def data_note(pulled: str | None, remote: str | None) -> list[str]:
    """Say where the run's data came from; nothing when the caller did not say (a laptop run)."""
    if pulled is None:
        return []
    fallback = "the run used the data in the repository and the DVC cache of the latest main run."
    if pulled == "true":
        text = f"Data and outputs were pulled from the DVC remote `{remote}`."
    elif not remote:
        text = f"No DVC remote: {fallback}"
    elif "://" in remote:
        text = f"The DVC remote `{remote}` was not used, CI has no credentials for it (docs/ci.md): {fallback}"
    else:
        text = f"The DVC remote `{remote}` is a folder on another machine, out of CI's reach: {fallback}"
    return ["### Data", "", text]


def render_report(
    title: str,
    base: str,
    decision: dict[str, Any] | None,
    metrics_diff: dict[str, Any] | None,
    params_diff: dict[str, Any] | None,
    validation: dict[str, Any] | None,
    links: dict[str, str],
    data: list[str],
) -> str:
    """Assemble the report from what the pipeline and DVC produced."""
    sections = [
        [f"## {title}"],
        gate_section(decision),
        metrics_section(metrics_diff, base),
        params_section(params_diff, base),
        validation_section(validation),
        links_section(links),
        data,
    ]
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"


def parse_links(text: str) -> dict[str, str]:
    """Parse `Label=URL` lines; lines without a URL (an artifact that was not uploaded) are dropped."""
    links = {}
    for line in text.splitlines():
        label, _, url = line.partition("=")
        if label.strip() and url.strip():
            links[label.strip()] = url.strip()
    return links


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def dvc_json(*args: str) -> dict[str, Any] | None:
    """Run a `dvc ... --json` command; None if it fails (e.g. the base revision is unknown)."""
    found = subprocess.run(["dvc", *args, "--json"], check=False, capture_output=True, text=True)
    if found.returncode != 0:
        print(f"report: dvc {' '.join(args)}: {found.stderr.strip()}", file=sys.stderr)
        return None
    return json.loads(found.stdout or "{}")


def default_remote() -> str | None:
    """The URL of the default DVC remote, or None when there is none."""
    name = subprocess.run(["dvc", "config", "core.remote"], check=False, capture_output=True, text=True)
    if name.returncode != 0 or not name.stdout.strip():
        return None
    url = subprocess.run(
        ["dvc", "config", f"remote.{name.stdout.strip()}.url"], check=False, capture_output=True, text=True
    )
    return url.stdout.strip() or None


def redact(uri: str) -> str:
    """Drop a user name and password from a URI before it is shown."""
    parts = urlsplit(uri)
    if parts.hostname and "@" in parts.netloc:
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def registry_markdown(settings: dict[str, Any]) -> str:
    """Where the registry is and which version each alias points at."""
    from .registry import (
        CHALLENGER,
        CHAMPION,
        DEFAULT_TRACKING_URI,
        PREVIOUS_CHAMPION,
        alias_version,
        connect,
        tracking_uri,
    )

    name = settings["model_name"]
    client = connect(settings)
    aliases = (CHAMPION, CHALLENGER, PREVIOUS_CHAMPION)
    rows = [f"| `{alias}` | {alias_version(client, name, alias) or '—'} |" for alias in aliases]
    uri = tracking_uri(settings)
    where = EMBEDDED_NOTE if uri == DEFAULT_TRACKING_URI else f"Registry: `{redact(uri)}`."
    lines = [f"## Model registry: `{name}`", "", where, "", "| Alias | Version |", "|---|---:|", *rows]
    return "\n".join(lines) + "\n"


def training_markdown(params: dict[str, Any], args: argparse.Namespace, links: dict[str, str]) -> str:
    """Collect the run's outputs and DVC's diffs, and render the training report."""
    base_ref = os.environ.get("GITHUB_BASE_REF")
    base = f"origin/{base_ref}" if base_ref else "HEAD"
    pulled = os.environ.get("DVC_REMOTE_PULLED")
    return render_report(
        title=f"Training report: `{section(params, 'register')['model_name']}`",
        base=base,
        decision=read_json(Path(args.gate)),
        metrics_diff=dvc_json("metrics", "diff", "--all", base),
        params_diff=dvc_json("params", "diff", base),
        validation=read_json(Path(args.validation)),
        links=links,
        data=data_note(pulled, default_remote() if pulled is not None else None),
    )


def publish(markdown: str, out: Path) -> None:
    """Write the report, and append it to the job summary when running in GitHub Actions."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as stream:
            stream.write(markdown)
    print(f"report: wrote {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="report", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the Markdown report")
    parser.add_argument("--registry", action="store_true", help="report the model registry instead of the run")
    parser.add_argument("--gate", default="reports/gate.json", help="gate decision JSON")
    parser.add_argument("--validation", default="reports/validation/summary.json", help="validation summary JSON")
    parser.add_argument("--link", action="append", default=[], help="LABEL=URL of an artifact; repeat as needed")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    links = parse_links("\n".join([os.environ.get("REPORT_LINKS", ""), *args.link]))
    try:
        params = load_params(args.params)
        if args.registry:
            markdown = registry_markdown(section(params, "register"))
        else:
            markdown = training_markdown(params, args, links)
    except ParamsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    publish(markdown, Path(args.out))
    return 0
