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
from typing import Any

import pandas as pd

from .chosen import PREDICTION, PROBABILITY, Chosen, check_columns, choose, model_columns
from .data import DataError
from .errors import fail
from .params import ParamsError, load_params, section
from .predict_input import (
    TEXT_KINDS,
    InputTable,
    PredictError,
    as_booleans,
    check_chunk,
    feature_kinds_of,
    read_ahead,
)
from .predict_output import SIDECAR, Destination, Writer
from .registry import RegistryError

# Rows read and scored at a time, unless given: about 8 million values (64 MB of numbers) a chunk,
# 250,000 rows of 32 columns. Larger chunks score faster (the model's threads have more to share)
# and cost memory in proportion; benchmarks/README.md, "Batch prediction", measured both.
CHUNK_VALUES = 8_000_000
CHUNK_ROWS_BOUNDS = (10_000, 1_000_000)
ENGINES = ("local", "spark")  # spark: predict_spark.py, through mlflow.pyfunc.spark_udf


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


def run(params: dict[str, Any], args: argparse.Namespace, chosen: Chosen | None = None) -> dict[str, Any]:
    """Score the input into the output with `chosen` (else args' model) and write the sidecar; return the sidecar."""
    from .validate import load_suite

    destination = Destination(args.output, args.input)
    data = section(params, "data")
    classification = data["task"] == "classification"
    table = InputTable(args.input, args.chunk_rows)
    table.open()
    destination.check_not_among(table.paths)
    kinds = feature_kinds_of(load_suite(args.suite), data["target"])
    chosen = chosen or choose(params, args.version, args.model)
    features = model_columns(chosen.model, kinds)
    # Text as read: category, text and time features, and every column passed through (an id of 17
    # digits or "02134" comes out as it went in, whatever the chunk).
    passthrough = [column for column in table.columns() if column not in features]
    table.text_columns = {name for name in features if kinds.get(name) in TEXT_KINDS} | set(passthrough)
    if not table.chunk_rows:
        low, high = CHUNK_ROWS_BOUNDS
        table.chunk_rows = max(low, min(high, CHUNK_VALUES // max(len(table.columns() or features), 1)))
    if table.is_local:
        check_columns(table.columns(), features, args.input)
    with destination.writer() as writer, progress(table.total_rows) as bar:
        for chunk in read_ahead(table.chunks(params)):
            if table.rows == 0:
                check_columns([str(column) for column in chunk.columns], features, args.input)
            if chunk.empty:  # a file with a header and no rows
                continue
            check_chunk(chunk, {name: kinds[name] for name in features if name in kinds}, table.rows, args.input)
            writer.write(score_chunk(chosen.model, chunk, features, kinds, classification, args.input))
            table.rows += len(chunk)
            bar.update(len(chunk))
        if table.rows == 0:
            raise PredictError(f"{args.input}: no rows to score")
        sidecar = describe(chosen, table, writer, data, args)
        writer.sidecar = (json.dumps(sidecar, indent=2, default=str) + "\n").encode()
    return sidecar


def score_chunk(
    model: Any, chunk: pd.DataFrame, features: list[str], kinds: dict[str, str], classification: bool, name: str
) -> pd.DataFrame:
    passthrough = chunk[[column for column in chunk.columns if column not in features]]
    rows = chunk[features].copy()
    for column in features:
        if kinds.get(column) == "boolean":
            rows[column] = as_booleans(rows[column])
    try:
        scored = score(model, rows, classification)
    except Exception as error:  # scikit-learn raises many kinds; each means these rows do not fit the model
        raise PredictError(f"{name}: the model cannot score these rows: {' '.join(str(error).split())[:300]}") from None
    return pd.concat([passthrough, scored], axis=1)


def describe(chosen: Chosen, table: InputTable, writer: Writer, data: dict[str, Any], args: argparse.Namespace) -> dict:
    classes = getattr(chosen.model, "classes_", None)
    return {
        "model": chosen.about,
        "input": {"source": args.input, "sha256": table.digest(), "sha256_of": table.hashed, "rows": table.rows},
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
    parser.add_argument("--chunk-rows", type=int, default=0, help="rows a chunk (0: 8 million values)")
    parser.add_argument("--suite", default="expectations/suite.json", help="the feature columns and their kinds")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    if args.version is not None and not (args.version.isdigit() and int(args.version) > 0):
        parser.error(f"--version must be a positive integer such as 3, not {args.version!r}")
    if args.chunk_rows < 0:
        parser.error("--chunk-rows must be 0 (as many rows as hold 8 million values) or more")
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
