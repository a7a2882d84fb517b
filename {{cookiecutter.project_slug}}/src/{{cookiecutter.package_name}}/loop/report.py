"""Report: write the Markdown report of a training run, for the pull request and the job summary.

The report gives the data-validation and gate verdicts, the metrics and params against the
default branch (`dvc metrics diff`, `dvc params diff` with the merge base) and links to the
uploaded artifacts. A verdict is shown only when every input hash it records matches the file
on disk now, so a result left over from another run reads "did not run", with the reason.
Everything from the data is escaped for GitHub (markdown.py) and the report is cut to fit in
one pull-request comment. `--registry` writes instead where the registry is and where its
aliases point (registry_report.py). Inside GitHub Actions the Markdown is also appended to the job
summary.

When the gate's verdict is this run's, `--images-dir` (reports/report-images) receives the
evaluation plots and `comparison.png`, the candidate against the champion and the threshold;
otherwise it is emptied, so no image of another run can be shown as this one's. The workflow
puts these images in the pull-request comment. The model card's section (its top columns and
worst slices) and its chart `importance.png` appear only when `--card` names this run's model.

Settings a workflow passes through the environment (all optional):
  GITHUB_BASE_REF     base branch of a pull request; else origin/HEAD, main or master
  REPORT_LINKS        one `Label=URL` per line, e.g. the uploaded artifacts
  DVC_REMOTE_PULLED   'true' or 'false': whether the run pulled its data from the DVC remote
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from . import registry_report
from .errors import fail
from .markdown import GITHUB_LIMIT, Section, code_span, escape_cell, escape_text, fit, render
from .params import ParamsError, load_params, section
from .provenance import Base, Verdict, after_validation, base_revision, read_result, this_runs
from .strict_json import is_number

# The workflow puts a marker line before the report in the comment and the plots after it.
MAX_CHARS = GITHUB_LIMIT - 2_500
DID_NOT_RUN = "⏸"
IMPORTANCE_CHART = "importance.png"  # evaluate draws it with the card; shown only with this run's card
URL_SAFE = ":/?#@!$&'*+,;=%~"  # everything else, brackets and parentheses too, is percent-encoded


def did_not_run(title: str, verdict: Verdict) -> Section:
    """A section that says this run has no such verdict, and why."""
    return Section([f"### {DID_NOT_RUN} {title}: did not run", "", verdict.reason])


def number(value: Any) -> str:
    """Format a metric or param value for a table cell; a number that is not finite is undefined."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}" if is_number(value) else "undefined"
    return code_span(value, cell=True) if isinstance(value, str) else escape_cell(value)


def metric_cell(values: dict[str, Any], side: str) -> str:
    """One side of a metric's row: a metric written as null (strict_json.py) was undefined, not absent."""
    return "undefined" if side in values and values[side] is None else number(values.get(side))


def change(value: Any) -> str:
    """Format a metric's change with its sign; nothing for a value that is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f"{value:+.4f}" if isinstance(value, float) else f"{value:+d}"


def gate_section(gate: Verdict) -> Section:
    """The verdict and its reasons, or why there is none from this run."""
    if gate.content is None:
        return did_not_run("Gate", gate)
    verdict = "✅ Gate: passed" if gate.content.get("passed") is True else "❌ Gate: failed"
    reasons = gate.content.get("reasons")
    rows = [f"- {escape_text(reason)}" for reason in (reasons if isinstance(reasons, list) else [reasons])]
    return Section([f"### {verdict}", ""], rows, str(gate.path))


def validation_section(validation: Verdict) -> Section:
    """Whether the prepared data met the expectation suite, and each failure in words."""
    summary = validation.content
    if summary is None:
        return did_not_run("Data validation", validation)
    counts = {key: escape_text(summary.get(key)) for key in ("evaluated", "rows", "failed")}
    if summary.get("success") is True:
        head = [f"All {counts['evaluated']} expectations passed on {counts['rows']} rows."]
        return Section(["### ✅ Data validation: passed", "", *head])
    head = [
        "### ❌ Data validation: failed",
        "",
        f"{counts['failed']} of {counts['evaluated']} expectations failed on {counts['rows']} rows.",
        "",
        "| Column | Expectation | Expected | Observed |",
        "|---|---|---|---|",
    ]
    keys = ("column", "expectation", "expected", "observed")
    failures = [row for row in summary.get("failures") or [] if isinstance(row, dict)]
    rows = ["| " + " | ".join(escape_cell(row.get(key, "")) for key in keys) + " |" for row in failures]
    return Section(head, rows, str(validation.path))


def metrics_section(diff: dict[str, Any] | None, base: Base | None, source: str) -> Section:
    """A table of every metric: base value, this run's value and the change (`dvc metrics diff --all`)."""
    against = code_span(base.branch) if base else "no base"
    head = ["### Metrics", ""]
    if diff is None:
        return Section([*head, f"`dvc metrics diff` could not compare with {against}: see the job log."])
    rows = [(path, name, values) for path, metrics in diff.items() for name, values in sorted(metrics.items())]
    if not rows:
        return Section([*head, "No metrics yet."])
    head += [f"| Metric | {against} | this run | change |", "|---|---:|---:|---:|"]
    cells = []
    for path, name, values in rows:
        label = escape_cell(name if len(diff) == 1 else f"{path}: {name}")
        old, new = (metric_cell(values, side) for side in ("old", "new"))
        cells.append(f"| {label} | {old} | {new} | {change(values.get('diff'))} |")
    return Section(head, cells, source)


def params_section(diff: dict[str, Any] | None, base: Base | None) -> Section:
    """A table of the params that differ from the base (`dvc params diff`)."""
    if base is None:
        return Section(["### Params changed", "", "No base to compare the params with."])
    against = code_span(base.branch)
    head = ["### Params changed", ""]
    if diff is None:
        return Section([*head, f"`dvc params diff` could not compare with {against}: see the job log."])
    rows = [(name, values) for params in diff.values() for name, values in sorted(params.items())]
    if not rows:
        return Section([*head, "None."])
    head += [f"| Param | {against} | this run |", "|---|---|---|"]
    cells = [f"| {escape_cell(name)} | {number(v.get('old'))} | {number(v.get('new'))} |" for name, v in rows]
    return Section(head, cells, "params.yaml")


def link(label: str, url: str) -> str:
    """A Markdown link to an http(s) URL; the label alone for any other scheme."""
    if urlsplit(url).scheme not in {"http", "https"}:
        return escape_text(label)
    return f"[{escape_text(label)}]({quote(url, safe=URL_SAFE)})"


def links_section(links: dict[str, str]) -> Section:
    """Links to the uploaded artifacts; nothing when there are none."""
    return Section(["### Artifacts", "", " · ".join(link(label, url) for label, url in links.items())] if links else [])


def data_note(pulled: str | None, remote: str | None) -> Section:
    """Say where the run's data came from; nothing when the caller did not say (a laptop run)."""
    if pulled is None:
        return Section([])
    fallback = "the run used the data in the repository and the DVC cache of the latest main run."
    where = code_span(remote) if remote else ""
    if pulled == "true":
        text = f"Data and outputs were pulled from the DVC remote {where}."
    elif not remote:
        text = f"No DVC remote: {fallback}"
    elif "://" in remote:
        text = f"The DVC remote {where} was not used, CI has no credentials for it (docs/ci.md): {fallback}"
    else:
        text = f"The DVC remote {where} is a folder on another machine, out of CI's reach: {fallback}"
    return Section(["### Data", "", text])


def dvc_json(*args: str) -> dict[str, Any] | None:
    """Run a `dvc ... --json` command; None if it fails (e.g. the base revision is unknown)."""
    try:
        found = subprocess.run(["dvc", *args, "--json"], check=False, capture_output=True, text=True)
        if found.returncode == 0:
            return json.loads(found.stdout or "{}")
        problem = found.stderr.strip()
    except (OSError, ValueError) as error:  # dvc missing, or output that is not JSON
        problem = str(error)
    print(f"report: dvc {' '.join(args)}: {problem}", file=sys.stderr)
    return None


def this_run_metrics(path: Path) -> dict[str, Any] | None:
    """This run's metrics alone, in the shape of `dvc metrics diff` (no base to compare with)."""
    content, _ = read_result(path)
    if content is None:
        return None
    return {str(path): {name: {"new": value} for name, value in content.items() if name != "inputs"}}


def default_remote() -> str | None:
    """The URL of the default DVC remote, or None when there is none."""
    name = subprocess.run(["dvc", "config", "core.remote"], check=False, capture_output=True, text=True)
    if name.returncode != 0 or not name.stdout.strip():
        return None
    url = subprocess.run(
        ["dvc", "config", f"remote.{name.stdout.strip()}.url"], check=False, capture_output=True, text=True
    )
    return url.stdout.strip() or None


def write_images(gate: dict[str, Any] | None, args: argparse.Namespace, with_card: bool = False) -> None:
    """Fill the images folder with this run's plots and comparison chart; empty it when the gate is not this run's."""
    folder = Path(args.images_dir)
    shutil.rmtree(folder, ignore_errors=True)
    if gate is None:
        return
    folder.mkdir(parents=True)
    for plot in sorted(Path(args.plots_dir).glob("*.png")):
        if plot.name != IMPORTANCE_CHART or with_card:
            shutil.copyfile(plot, folder / plot.name)
    if gate.get("metric") and is_number(gate.get("candidate")):
        draw_comparison(gate, folder / "comparison.png")


def draw_comparison(gate: dict[str, Any], path: Path) -> None:
    """A bar per model (this run, the champion, the trivial baseline) on the gate's metric, the threshold as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    champion, baseline = gate.get("champion") or {}, gate.get("baseline") or {}
    bars = {"this run": gate["candidate"]}
    if is_number(champion.get("value")):
        bars[f"champion v{champion['version']}"] = champion["value"]
    if is_number(baseline.get("value")):
        bars["trivial baseline"] = baseline["value"]
    threshold = gate.get("threshold") if is_number(gate.get("threshold")) else None
    figure, axes = plt.subplots(figsize=(5, 2.2))
    colours = ["tab:green" if gate.get("passed") else "tab:red", "tab:blue", "tab:grey"]
    axes.barh(list(bars), list(bars.values()), color=colours[: len(bars)])
    if threshold is not None:
        axes.axvline(threshold, color="grey", linestyle="--")
    for row, value in enumerate(bars.values()):
        axes.text(value, row, f" {value:.4f}", va="center")
    shown = [*bars.values(), *([threshold] if threshold is not None else [])]
    low, high = min(shown), max(shown)
    margin = max((high - low) * 0.5, abs(high) * 0.02, 1e-6)
    axes.set_xlim(low - margin, high + margin * 1.5)
    axes.invert_yaxis()
    verdict = "passed" if gate.get("passed") else "failed"
    line = f" (dashed: the threshold {threshold:g})" if threshold is not None else ""
    axes.set(xlabel=f"{gate['metric']}{line}", title=f"Gate: {verdict}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def comparison(base: Base | None) -> Section:
    """Say what the metrics and params are compared with."""
    if base is None:
        return Section(["No default branch to compare with (looked for origin/HEAD, main and master): this run alone."])
    return Section([f"Metrics and params are compared with {base.name}."])


def training_sections(params: dict[str, Any], args: argparse.Namespace, base: Base | None) -> list[Section]:
    """Check which results belong to this run, ask DVC for the diffs, and build the report's sections."""
    from .card_markdown import this_runs_section, why_no_section
    from .gate import params_md5  # the same hash of the settings the gate records

    # Validation must record the suite and at least one data file; the gate all four of its inputs.
    validation = this_runs(Path(args.validation), {"suite": Path(args.suite)}, required=("suite",), at_least=2)
    files = {"model": Path(args.model), "holdout": Path(args.holdout), "metrics": Path(args.metrics)}
    required = ("model", "holdout", "metrics", "params")
    checked = this_runs(Path(args.gate), files, {"params": params_md5(params)}, required=required)
    gate = after_validation(validation, checked)
    card = this_runs_section(Path(args.card), gate, Path(args.model))
    write_images(gate.content if gate.content and "metrics" in gate.content["inputs"] else None, args, card is not None)
    if gate.content is None or "metrics" not in gate.content["inputs"]:
        # Only the gate's input hashes tie the metrics file to this run's model.
        tie = f"Nothing ties {code_span(args.metrics)} to this run's model"
        why = f"{tie}: the gate did not run in this run." if gate is checked else gate.reason
        why = why if gate.content is None else f"{tie}: {code_span(gate.path)} records no hash of it."
        metrics = did_not_run("Metrics", Verdict(Path(args.metrics), None, why))
    elif base is None:
        metrics = metrics_section(this_run_metrics(Path(args.metrics)), None, args.metrics)
    else:
        metrics = metrics_section(dvc_json("metrics", "diff", "--all", base.commit), base, args.metrics)
    params_diff = dvc_json("params", "diff", base.commit) if base else None
    return [
        comparison(base),
        validation_section(validation),
        gate_section(gate),
        metrics,
        card or did_not_run("Model card", why_no_section(Path(args.card), gate)),
        params_section(params_diff, base),
    ]


def training_markdown(params: dict[str, Any], args: argparse.Namespace, links: dict[str, str]) -> str:
    """Render the training report, cut to fit in one pull-request comment."""
    pulled = os.environ.get("DVC_REMOTE_PULLED")
    title = Section([f"## Training report: {code_span(section(params, 'register')['model_name'])}"])
    body = training_sections(params, args, base_revision())
    data = data_note(pulled, default_remote() if pulled is not None else None)
    return render(fit([title, *body, links_section(links), data], MAX_CHARS))


def parse_links(text: str) -> dict[str, str]:
    """Parse `Label=URL` lines; lines without a URL (an artifact that was not uploaded) are dropped."""
    links = {}
    for line in text.splitlines():
        label, _, url = line.partition("=")
        if label.strip() and url.strip():
            links[label.strip()] = url.strip()
    return links


def publish(markdown: str, out: Path) -> None:
    """Write the report, and append it to the job summary when running in GitHub Actions."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as stream:
            stream.write(markdown)
    print(f"report: wrote {out}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line; the default paths are those of dvc.yaml."""
    parser = argparse.ArgumentParser(prog="report", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the Markdown report")
    parser.add_argument("--registry", action="store_true", help="report the model registry instead of the run")
    parser.add_argument("--gate", default="reports/gate.json", help="gate decision JSON")
    parser.add_argument("--validation", default="reports/validation/summary.json", help="validation summary JSON")
    parser.add_argument("--suite", default="expectations/suite.json", help="expectation suite the validation used")
    parser.add_argument("--model", default="models/model.joblib", help="candidate model the gate judged")
    parser.add_argument("--holdout", default="data/prepared/holdout.csv", help="holdout rows the gate used")
    parser.add_argument("--metrics", default="reports/metrics.json", help="candidate metrics JSON")
    parser.add_argument("--plots-dir", default="reports/plots", help="the evaluation plots (PNG)")
    parser.add_argument("--card", default="reports/card.json", help="the model card's numbers (evaluate)")
    parser.add_argument("--images-dir", default="reports/report-images", help="where to put this run's images")
    parser.add_argument("--link", action="append", default=[], help="LABEL=URL of an artifact; repeat as needed")
    parser.add_argument("--params", default="params.yaml")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Write the training report (or, with --registry, the registry report); return the exit code."""
    args = parse_args(argv)
    links = parse_links("\n".join([os.environ.get("REPORT_LINKS", ""), *args.link]))
    try:
        params = load_params(args.params)
        if args.registry:
            from .registry import RegistryError

            try:
                markdown = registry_report.registry_markdown(section(params, "register"))
            except RegistryError as error:
                return fail(error)
        else:
            markdown = training_markdown(params, args, links)
    except ParamsError as error:
        return fail(error, 2)
    publish(markdown, Path(args.out))
    return 0
