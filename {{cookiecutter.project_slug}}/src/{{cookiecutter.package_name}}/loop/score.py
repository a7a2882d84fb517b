"""Score: predict `score.source` with the champion into `score.output`, and summarise it for the job summary.

What `make score` and the scheduled score.yml workflow run. The summary (reports/score/summary.md
and summary.json) gives the rows scored, the version that scored them, and the distribution of
its predictions next to the same model's predictions on the holdout rows, so a batch whose
predictions moved shows it before anyone reads them. The drift check says why they moved.
Exit codes as predict's: 0 written, 2 a bad input or setting, 4 the registry could not answer.
"""

from __future__ import annotations

import argparse
import datetime
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pandas as pd

from .chosen import PREDICTION, Chosen, choose, model_columns
from .data import DataError, read_table, split_target
from .errors import fail, output
from .markdown import code_span, escape_cell
from .params import ParamsError, load_params, section
from .predict import run, score
from .predict_input import one_line
from .predict_output import SIDECAR, shown
from .registry import RegistryError

OUT = Path("reports/score")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
MAX_CLASSES = 20  # more predicted classes than this are summarised by the most frequent


def distribution(predictions: pd.Series, classification: bool) -> dict[str, float]:
    """Share of each predicted class, or the mean and quantiles of predicted numbers."""
    if classification:
        shares = predictions.astype(str).value_counts(normalize=True)
        return {str(name): float(share) for name, share in shares.head(MAX_CLASSES).items()}
    numbers = pd.to_numeric(predictions, errors="coerce")
    summary = {"mean": float(numbers.mean())}
    summary.update({f"p{round(q * 100)}": float(numbers.quantile(q)) for q in QUANTILES})
    return summary


def output_predictions(location: str) -> pd.Series:
    """Read back only the prediction column of what predict wrote (a path or an object-store URL)."""
    try:
        if Path(urllib.parse.urlsplit(location).path).suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(location, columns=[PREDICTION])[PREDICTION]
        return pd.read_csv(location, usecols=[PREDICTION])[PREDICTION]
    except Exception as error:  # pandas, pyarrow and the object store's package raise their own kinds
        reason = one_line(error)
        raise DataError(f"{shown(location)}: the predictions just written cannot be read back: {reason}") from None


def dated(output: str) -> str:
    """`score.output` with `{date}` replaced by today's date (UTC), so each day's run keeps its own file."""
    return output.replace("{date}", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"))


def summarise(sidecar: dict, scored: dict, holdout: dict, drift_url: str | None) -> dict[str, Any]:
    model = sidecar["model"]
    return {
        "rows": sidecar["input"]["rows"],
        "model": {key: model.get(key) for key in ("name", "version", "alias", "model_sha256", "path")},
        "input": sidecar["input"],
        "output": sidecar["output"]["path"],
        "task": sidecar["task"],
        "predictions": scored,
        "holdout_predictions": holdout,
        "drift_check": drift_url,
    }


def markdown(summary: dict[str, Any]) -> str:
    from .report import link

    model = summary["model"]
    which = f"v{model['version']} of {code_span(model['name'])}" if model.get("version") else code_span(model["path"])
    lines = [
        "## Batch scoring",
        "",
        f"{summary['rows']:,} rows of {code_span(summary['input']['source'])} scored by {which} into "
        f"{code_span(summary['output'])} (input sha256 {code_span(str(summary['input']['sha256'])[:16])}).",
        "",
    ]
    what = "Predicted class" if summary["task"] == "classification" else "Prediction"
    lines += [f"| {what} | this batch | holdout rows |", "|---|---:|---:|"]
    scored, holdout = summary["predictions"], summary["holdout_predictions"]
    share = summary["task"] == "classification"
    for key in list(dict.fromkeys([*holdout, *scored])):
        cells = [f"{value:.1%}" if share else f"{value:.4g}" for value in (scored.get(key, 0.0), holdout.get(key, 0.0))]
        lines.append(f"| {escape_cell(key)} | {cells[0]} | {cells[1]} |")
    lines.append("")
    if summary.get("drift_check"):
        lines.append(f"Why predictions move: {link('the drift check', summary['drift_check'])}.")
    else:
        lines.append(f"Why predictions move: the drift check ({code_span('make drift')}).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="score", description=__doc__.splitlines()[0])
    parser.add_argument("--holdout", default="data/prepared/holdout.csv", help="holdout rows, scored for comparison")
    parser.add_argument("--suite", default="expectations/suite.json")
    parser.add_argument("--drift-url", help="a link to the drift check, for the summary")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        settings = params.get("score")
        if not settings:
            raise ParamsError("params.yaml: section score is missing: add it (see the README, 'Using the model')")
        data = section(params, "data")
        holdout, _ = split_target(read_table(args.holdout), data["target"])  # before scoring: nothing half done
        chosen: Chosen = choose(params, None, None)
        destination = dated(settings["output"])
        request = argparse.Namespace(input=settings["source"], output=destination, version=None, model=None,
                                     chunk_rows=settings["chunk_rows"], suite=args.suite)  # fmt: skip
        sidecar = run(params, request, chosen)
        classification = data["task"] == "classification"
        scored = distribution(output_predictions(destination), classification)
        features = holdout[model_columns(chosen.model, list(holdout.columns))]
        reference = distribution(score(chosen.model, features, classification)[PREDICTION], classification)
    except RegistryError as error:
        return fail(error)
    except (DataError, ParamsError, OSError) as error:
        return fail(error, 2)
    summary = summarise(sidecar, scored, reference, args.drift_url)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    (OUT / "summary.md").write_text(markdown(summary), encoding="utf-8")
    output("rows", str(summary["rows"]))
    output("version", str(summary["model"].get("version") or ""))
    written = f"{destination} (and {destination}{SIDECAR})"
    print(f"score: {summary['rows']} rows -> {written}; the summary in {OUT}/summary.md")
    return 0
