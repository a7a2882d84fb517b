"""Predict: score a table with the champion, a registered version, or the pipeline's model.

The input (a CSV or Parquet file, a glob of them, a URL, an object store or `dvc`) is checked
against the expectation suite's feature columns before anything is scored (predict_input.py), then
scored chunk by chunk into a temporary file beside the output, which replaces the output only when
every chunk scored. The output holds the input's other columns (an id, the target) in their order,
`prediction` and, for classification, `probability_<class>`; `<output>.json` says which model
(version, registry hash), which input (its sha256, rows) and when.

Exit codes: 0 written, 2 a bad input, setting or version (nothing written), 4 the registry could
not answer or a registered model failed its checks (model_file.py).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .data import DataError
from .errors import fail
from .params import ParamsError, load_params, section
from .predict_input import InputTable, PredictError, check_chunk, feature_kinds_of
from .predict_output import SIDECAR, Destination, Writer
from .registry import CHAMPION, RegistryError, redact

PREDICTION = "prediction"
PROBABILITY = "probability_"
CHUNK_ROWS = 100_000
ENGINES = ("local", "spark")  # spark: predict_spark.py, through mlflow.pyfunc.spark_udf


@dataclass
class Chosen:
    """A model read the way this project reads models, and what the sidecar says about it."""

    model: Any
    about: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None  # a registered version's downloaded MLflow folder (serve, spark)


def choose(params: dict[str, Any], version: str | None, model_path: str | None, keep: Path | None = None) -> Chosen:
    """Return the pipeline's model (`model_path`), registered `version`, or the champion.

    `keep`: a folder to download a registered version's files into and leave there.
    """
    if model_path:
        return pipeline_model(Path(model_path))
    from .aliases import champion_of
    from .model_file import MODEL_SHA256, read_model
    from .registry import connect

    registry = connect(section(params, "register"))
    alias = None
    if version is None:
        version, alias = champion_of(registry), CHAMPION
        if version is None:
            raise PredictError(
                f"{registry.name!r} has no {CHAMPION} yet: run `make pipeline`, or give VERSION=<n> or MODEL=<file>"
            )
    found = registry.version(version)
    if found is None:
        raise PredictError(f"version {version} of {registry.name!r} does not exist; `make status` lists the versions")
    tags = dict(found.tags or {})
    uri = f"models:/{registry.name}/{version}"
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        local = registry.download(uri, str(keep or scratch))
        model = read_model(local, tags.get(MODEL_SHA256), f"registry {redact(registry.uri)}: {uri}")
    about = {
        "source": "registry",
        "registry": redact(registry.uri),
        "name": registry.name,
        "version": str(version),
        "alias": alias,
        "model_sha256": tags.get(MODEL_SHA256),
        "run_id": found.run_id,
        "git_commit": tags.get("git_commit"),
    }
    return Chosen(model, about, local if keep else None)


def pipeline_model(path: Path) -> Chosen:
    from .drift.model import load_model
    from .gate import file_md5

    model = load_model(path)
    return Chosen(model, {"source": "pipeline", "path": str(path), "model_md5": file_md5(path)})


def argmax_of_probabilities(estimator: Any) -> bool:
    """Whether the estimator's predict is the class of highest probability (forests, histogram boosting)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.ensemble._forest import ForestClassifier

    own = type(estimator).predict
    return own in (ForestClassifier.predict, HistGradientBoostingClassifier.predict)


def score(model: Any, features: pd.DataFrame, classification: bool) -> pd.DataFrame:
    """Return `prediction` (and `probability_<class>`) for each row: the features transformed once."""
    from sklearn.pipeline import Pipeline

    final, transformed = model, features
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        final, transformed = model.steps[-1][1], model[:-1].transform(features)
    scored = pd.DataFrame(index=features.index)
    if classification and hasattr(final, "predict_proba"):
        probabilities = final.predict_proba(transformed)
        if argmax_of_probabilities(final):
            scored[PREDICTION] = final.classes_.take(probabilities.argmax(axis=1))
        else:
            scored[PREDICTION] = final.predict(transformed)
        for position, name in enumerate(final.classes_):
            scored[f"{PROBABILITY}{name}"] = probabilities[:, position]
    else:
        scored[PREDICTION] = final.predict(transformed)
    return scored


def model_columns(model: Any, fallback: Iterable[str]) -> list[str]:
    """The columns the model was fitted on; `fallback` (the suite's feature columns) for a model that does not say."""
    names = getattr(model, "feature_names_in_", None)
    return [str(name) for name in names] if names is not None else list(fallback)


def run(params: dict[str, Any], args: argparse.Namespace, chosen: Chosen | None = None) -> dict[str, Any]:
    """Score the input into the output with `chosen` (else args' model) and write the sidecar; return the sidecar."""
    from .validate import load_suite

    destination = Destination(args.output, args.input)
    data = section(params, "data")
    classification = data["task"] == "classification"
    table = InputTable(args.input, args.chunk_rows)
    table.open()
    kinds = feature_kinds_of(load_suite(args.suite), data["target"])
    chosen = chosen or choose(params, args.version, args.model)
    features = model_columns(chosen.model, kinds)
    if table.is_local:
        check_columns(table.columns(), features, args.input)
    with destination.writer() as writer, progress(table.total_rows) as bar:
        for chunk in table.chunks(params):
            if table.rows == 0:
                check_columns([str(column) for column in chunk.columns], features, args.input)
            if chunk.empty:  # a file with a header and no rows
                continue
            check_chunk(chunk, {name: kinds[name] for name in features if name in kinds}, table.rows, args.input)
            writer.write(score_chunk(chosen.model, chunk, features, classification, args.input))
            table.rows += len(chunk)
            bar.update(len(chunk))
        if table.rows == 0:
            raise PredictError(f"{args.input}: no rows to score")
        sidecar = describe(chosen, table, writer, data, args)
        writer.sidecar = (json.dumps(sidecar, indent=2, default=str) + "\n").encode()
    return sidecar


def check_columns(columns: list[str], features: list[str], name: str) -> None:
    missing = [column for column in features if column not in columns]
    if missing:
        shown = ", ".join(repr(column) for column in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise PredictError(f"{name}: missing feature column(s) {shown}; the model needs {len(features)} columns "
                           "(expectations/suite.json lists them)")  # fmt: skip
    taken = [column for column in columns if column == PREDICTION or column.startswith(PROBABILITY)]
    if taken:
        raise PredictError(f"{name}: column {taken[0]!r} would be overwritten by the output; rename it")


def score_chunk(model: Any, chunk: pd.DataFrame, features: list[str], classification: bool, name: str) -> pd.DataFrame:
    passthrough = chunk[[column for column in chunk.columns if column not in features]]
    try:
        scored = score(model, chunk[features], classification)
    except Exception as error:  # scikit-learn raises many kinds; each means these rows do not fit the model
        raise PredictError(f"{name}: the model cannot score these rows: {' '.join(str(error).split())[:300]}") from None
    return pd.concat([passthrough, scored], axis=1)


def describe(chosen: Chosen, table: InputTable, writer: Writer, data: dict[str, Any], args: argparse.Namespace) -> dict:
    classes = getattr(chosen.model, "classes_", None)
    return {
        "model": chosen.about,
        "input": {"source": args.input, "sha256": table.sha256, "sha256_of": table.hashed, "rows": table.rows},
        "output": {"path": args.output, "rows": writer.rows, "columns": writer.columns},
        "task": data["task"],
        "target": data["target"],
        "classes": [str(name) for name in classes] if classes is not None else None,
        "scored_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def progress(total: int | None) -> Any:
    """A progress bar in rows on a terminal; silent in a log."""
    from tqdm import tqdm

    return tqdm(total=total, unit=" rows", unit_scale=True, disable=not sys.stderr.isatty(), file=sys.stderr)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="predict", description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="a CSV or Parquet file or glob, a URL, or dvc")
    parser.add_argument(
        "--output", required=True, help="the predictions' file (.csv or .parquet), or s3://, gs://, az://"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--version", help="a registered version (default: the champion)")
    which.add_argument("--model", help="a model file of the pipeline, e.g. models/model.joblib")
    parser.add_argument("--engine", choices=ENGINES, default="local", help="local (chunks, this process) or spark")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="rows read and scored at a time")
    parser.add_argument("--suite", default="expectations/suite.json", help="the feature columns and their kinds")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    if args.version is not None and not (args.version.isdigit() and int(args.version) > 0):
        parser.error(f"--version must be a positive integer such as 3, not {args.version!r}")
    if args.chunk_rows < 1:
        parser.error("--chunk-rows must be 1 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        params = load_params(args.params)
        if args.engine == "spark":
            from .predict_spark import run_spark

            sidecar = run_spark(params, args)
        else:
            sidecar = run(params, args)
    except RegistryError as error:
        return fail(error)
    except (DataError, ParamsError, OSError) as error:
        return fail(error, 2)
    model = sidecar["model"]
    which = f"v{model['version']} of {model['name']!r}" if model["source"] == "registry" else model["path"]
    print(f"predict: {sidecar['input']['rows']} rows scored by {which} -> {args.output} (and {args.output}{SIDECAR})")
    return 0
