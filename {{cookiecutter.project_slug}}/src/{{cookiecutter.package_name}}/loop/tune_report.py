"""The report of a tuning study, in reports/tune/: best.json, trials.csv, tune.md and Optuna's plots.

Written in a temporary folder and moved whole; a folder holding files tune did not write is refused.
Every value from the study reaches Markdown escaped (markdown.py).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .errors import TuneError
from .markdown import GITHUB_LIMIT, code_span, escape_cell, escape_text
from .strict_json import dumps

OUT_DEFAULT = "reports/tune"
PLOTS = {"optimization_history": "Optimisation history", "param_importances": "Parameter importances"}


def finished(study: Any) -> list[Any]:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def summary(study: Any, params: dict[str, Any]) -> dict[str, Any]:
    """What best.json holds: the best trial, the baseline (current values) and counts."""
    from collections import Counter

    model = params["train"]["model"]
    space = params["tune"]["space"][model]  # checked when the study started (tune.dimensions)
    metric = params["gate"]["metric"]
    complete = finished(study)
    if not complete:
        failed = [trial for trial in study.trials if trial.state.name == "FAIL"]
        reason = failed[-1].system_attrs.get("fail_reason", "") if failed else ""
        raise TuneError(
            f"study {study.study_name!r}: no trial finished ({len(failed)} failed){': ' + reason if reason else ''}"
        )
    best = study.best_trial
    baseline = next((trial for trial in complete if trial.user_attrs.get("baseline")), None)
    states = Counter(trial.state.name.lower() for trial in study.trials)
    return {
        "study": study.study_name,
        "model": model,
        "metric": metric,
        "direction": study.direction.name.lower(),
        "cv_folds": params["tune"]["cv_folds"],
        "best": {"number": best.number, "value": best.value, "params": best.params},
        "baseline": {"number": baseline.number, "value": baseline.value, "params": baseline.params}
        if baseline
        else None,
        "current": {key: params["train"][model][key] for key in space},
        "trials": dict(sorted(states.items())),
        "workers": dict(sorted(Counter(str(trial.user_attrs.get("worker", "")) for trial in complete).items())),
    }


def draw(study: Any, out: Path) -> list[str]:
    """Save Optuna's plots as PNG; return the names drawn (importances need two finished trials)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    drawn = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        for name in PLOTS:
            try:
                axes = getattr(plots, f"plot_{name}")(study)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # too few distinct trials for this plot
            figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
            figure.set_size_inches(8, 4.5)
            figure.tight_layout()
            figure.savefig(out / f"{name}.png", dpi=100)
            plt.close(figure)
            drawn.append(name)
    return drawn


def number(value: Any) -> str:
    """A value of a trial as a table cell: numbers as written, anything else escaped."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return code_span(json.dumps(value), cell=True)


def markdown(result: dict[str, Any], trials: list[Any], drawn: list[str], images: str | None) -> str:
    """The tuning report (also the pull request's body): untrusted text escaped for GitHub."""
    metric, model = result["metric"], result["model"]
    best, baseline = result["best"], result["baseline"]
    lines = [
        f"## Tuning {code_span(model)} by {code_span(metric)}",
        "",
        f"Study {code_span(result['study'])}: {', '.join(f'{n} {s}' for s, n in result['trials'].items())}; "
        f"score: mean {escape_text(metric)} over {result['cv_folds']} folds of the training rows "
        "(the holdout is not used).",
        "",
        "| | " + escape_cell(metric) + " | trial |",
        "|---|---|---|",
        f"| best | {number(best['value'])} | {best['number']} |",
    ]
    if baseline:
        lines.append(f"| values the study started from | {number(baseline['value'])} | {baseline['number']} |")
    lines += ["", f"| `train.{model}` key | current | best |", "|---|---|---|"]
    for key, value in best["params"].items():
        lines.append(f"| {code_span(key, cell=True)} | {number(result['current'].get(key))} | {number(value)} |")
    if not baseline:
        lines += ["", "The current values were not a trial (outside the space, or the study began elsewhere)."]
    lines += [
        "",
        "Trials per worker: " + ", ".join(f"{escape_text(w or 'local')} {n}" for w, n in result["workers"].items()),
    ]
    top = sorted(trials, key=lambda trial: trial.value, reverse=result["direction"] == "maximize")[:10]
    keys = list(best["params"])
    header = ["trial", escape_cell(metric), *(code_span(key, cell=True) for key in keys)]
    lines += ["", "### Best trials", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for trial in top:
        cells = [str(trial.number), number(trial.value)] + [number(trial.params.get(k)) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    for name in drawn:
        target = f"{images.rstrip('/')}/{name}.png" if images else f"{name}.png"
        lines += ["", f"![{PLOTS[name]}]({target})"]
    text = "\n".join(lines) + "\n"
    return text if len(text) <= GITHUB_LIMIT else text[: GITHUB_LIMIT - 40] + "\n\n(report cut at GitHub's limit)\n"


def check_out(out: Path) -> None:
    """Refuse a report folder holding anything this command did not write: it is replaced whole."""
    if out.exists() and (not out.is_dir() or any(entry.name not in REPORT_FILES for entry in out.iterdir())):
        raise TuneError(
            f"--out {out}: holds files tune did not write; give an empty or new folder (default {OUT_DEFAULT})"
        )


REPORT_FILES = {"best.json", "trials.csv", "tune.md", "tune.bundle", "images.sha", *(f"{name}.png" for name in PLOTS)}


def write_report(study: Any, params: dict[str, Any], out: Path, images: str | None = None) -> dict[str, Any]:
    """Write best.json, trials.csv, tune.md and the plots to `out`, replacing it whole."""
    check_out(out)
    result = summary(study, params)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".tune-", dir=out.parent))
    try:
        (scratch / "best.json").write_text(dumps(result, indent=2) + "\n", encoding="utf-8")
        study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs", "duration")).to_csv(
            scratch / "trials.csv", index=False
        )
        drawn = draw(study, scratch)
        (scratch / "tune.md").write_text(markdown(result, finished(study), drawn, images), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        scratch.rename(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result
