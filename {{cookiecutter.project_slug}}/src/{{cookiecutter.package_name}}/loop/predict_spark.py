"""Predict on Spark (`--engine spark`): the same verified model, scored by `mlflow.pyfunc.spark_udf`.

The model is chosen and read as `predict` reads it (predict.choose, model_file.py), then saved
again by this process into a fresh MLflow folder (serve.export); only that folder is handed to
Spark, once answering `predict` and once, for classification, `predict_proba`. MLflow may load
it inside the UDF alone (`extra_env`): the driver keeps MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false,
and a cluster's executors need no setting of their own, only this project's wheel and the
`spark` extra (they rebuild the features.py transformers the model holds).

The session: an existing one (spark-submit, a notebook, a Databricks job) as configured, its
master untouched; else a new one on SPARK_MASTER when set, else `local[*]`. Its time zone is set
to UTC. A classic session is needed (not Spark Connect): the sidecar of a remote output is written
through Hadoop's file system on the driver.

Input: local CSV or Parquet files, globs or folders, or their URLs on a cluster (s3a://, gs://,
abfss://, hdfs://, dbfs:/). A CSV is read as text and each column given the type pandas would
give it (predict_spark_csv.py), so the model sees what the local engine shows it.
Output: a folder of part files at the output path (Spark's layout, `part-*.csv` with a header or
`part-*.parquet`), replaced whole only once every row scored, and the sidecar `<output>.json`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

from .chosen import PREDICTION, PROBABILITY, check_columns, choose, model_columns
from .params import section
from .predict_input import CSV, PARQUET, TEXT_KINDS, PredictError, feature_kinds_of, files_sha256, one_line
from .predict_output import SIDECAR
from .predict_spark_csv import check_kinds, column, read_csv_as_pandas_would
from .register import ALLOW_LOADING

SETUP = "make setup-spark"
# Hadoop file systems Spark reads and writes on a cluster; their data is not hashed by the driver.
SPARK_STORES = {"s3a", "s3", "s3n", "gs", "abfs", "abfss", "wasb", "wasbs", "hdfs", "dbfs"}


def run_spark(params: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Score args.input into args.output on Spark and write the sidecar; return the sidecar."""
    from .serve import export
    from .validate import load_suite

    require_pyspark()
    data = section(params, "data")
    classification = data["task"] == "classification"
    source, output = Location(args.input), Location(args.output)
    check_locations(source, output)
    kinds = feature_kinds_of(load_suite(args.suite), data["target"])
    spark, owned = session()
    try:
        with tempfile.TemporaryDirectory(prefix="predict-spark-") as scratch:
            chosen = choose(params, args.version, args.model, keep=Path(scratch) / "registered")
            features = model_columns(chosen.model, kinds)
            frame, rows = read(
                spark, source, {name for name in features if kinds.get(name) in TEXT_KINDS}, set(features)
            )
            check_columns(list(frame.columns), features, args.input)
            check_kinds(frame, {name: kinds[name] for name in features if name in kinds}, args.input)
            if rows == 0:
                raise PredictError(f"{args.input}: no rows to score")
            folder = export(chosen, Path(scratch) / "model")
            # As the local engine: probabilities when the model has them (predict.score).
            has_proba = classification and hasattr(chosen.model, "predict_proba")
            classes = getattr(chosen.model, "classes_", None) if classification else None
            scored = score(spark, frame, features, folder, classes, has_proba)
            written = write(scored, output)
            sidecar = describe(chosen, source, rows, written, data, args, spark)
            write_sidecar(spark, output, (json.dumps(sidecar, indent=2, default=str) + "\n").encode())
    finally:
        if owned:
            spark.stop()
    return sidecar


class Location:
    """An input or output named on the command line: a local path or glob, or a Hadoop URL."""

    def __init__(self, text: str) -> None:
        self.text = text
        parts = urllib.parse.urlsplit(text)
        self.scheme = parts.scheme.lower() if len(parts.scheme) > 1 else ""
        self.remote = self.scheme in SPARK_STORES
        self.suffix = Path(parts.path if self.remote else text).suffix.lower()
        self.csv = self.suffix in CSV

    def local_files(self) -> list[Path]:
        """The files a local input names (a file, a glob, or Spark's folder of part files), sorted."""
        import glob

        found = []
        for match in sorted(glob.glob(self.text)) if glob.has_magic(self.text) else [self.text]:
            path = Path(match)
            if path.is_dir():
                found += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))
            elif path.is_file():
                found.append(path)
        return found


def check_locations(source: Location, output: Location) -> None:
    for where, location in (("input", source), ("output", output)):
        if location.scheme and not location.remote:
            raise PredictError(
                f"{where} {location.text}: --engine spark reads and writes files and Hadoop URLs "
                f"({', '.join(sorted(SPARK_STORES))}://), not {location.scheme}://; use the local engine"
            )
        if location.suffix not in CSV + PARQUET:
            raise PredictError(f"{where} {location.text}: unsupported format {location.suffix!r}; use .csv or .parquet")
    if not source.remote and not source.local_files():
        raise PredictError(f"input {source.text}: no such file")
    if not output.remote:
        path = Path(output.text)
        if path.resolve() in {file.resolve() for file in source.local_files()} | {Path(source.text).resolve()}:
            raise PredictError(f"output {output.text} is the input; write the predictions elsewhere")
        if path.is_dir() and not (path / "_SUCCESS").is_file():
            raise PredictError(f"output {output.text} is a folder Spark did not write; give a new path")


def require_pyspark() -> None:
    """Stop with the command that installs pyspark, when it is not installed (it is an extra)."""
    try:
        import pyspark.sql  # noqa: F401
    except ImportError:
        raise PredictError(f"--engine spark needs pyspark, which is not installed: run `{SETUP}`") from None


def session() -> tuple[Any, bool]:
    """The active Spark session, or a new one (SPARK_MASTER, else Spark's default local[*]); and whether it is new."""
    import warnings

    from pyspark.sql import SparkSession

    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)  # it works; tested
    active = SparkSession.getActiveSession()
    builder = SparkSession.builder.appName("predict").config("spark.sql.session.timeZone", "UTC")
    if active is None and "PYSPARK_GATEWAY_PORT" not in os.environ:  # neither a notebook's nor spark-submit's
        if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
            raise PredictError("--engine spark needs Java 17 or later (no `java` on PATH, JAVA_HOME unset); install it")
        master = os.environ.get("SPARK_MASTER") or "local[*]"
        builder = builder.master(master)
        if master.startswith("local"):
            # One machine: the model runs in Python workers started with this interpreter, and no
            # network address is needed (nor a warning about finding one).
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        quiet = {"spark.log.level": "ERROR", "spark.ui.showConsoleProgress": "false"}
        spark = active or builder.config(map=quiet).getOrCreate()
    except Exception as error:  # the JVM did not start: no or an old Java, a wrong master
        raise PredictError(f"Spark did not start: {spark_message(error)} (it needs Java 17 or later)") from None
    spark.conf.set("spark.sql.session.timeZone", "UTC")  # times read and shown as UTC, as pandas does
    return spark, active is None


def read(spark: Any, source: Location, text_columns: set[str], features: set[str]) -> tuple[Any, int]:
    """The input as a Spark DataFrame and its rows; a CSV's `text_columns` and every column that is not a
    feature (an id, passed through) stay text, as predict reads them."""
    try:
        if source.csv:
            return read_csv_as_pandas_would(spark, source.text, text_columns, features)
        frame = spark.read.parquet(source.text)
        return frame, frame.count()
    except PredictError:
        raise
    except Exception as error:  # Spark's AnalysisException, Py4JJavaError: a missing path, a file that is not a table
        raise PredictError(f"input {source.text}: cannot be read: {spark_message(error)}") from None


def result_type(classes: Any) -> str:
    """The Spark type of `prediction`: the classes' own (numbers stay numbers), or double for regression."""
    import numpy as np

    if classes is None:
        return "double"
    kind = np.asarray(classes).dtype
    if np.issubdtype(kind, np.bool_):
        return "boolean"
    if np.issubdtype(kind, np.integer):
        return "long"
    return "double" if np.issubdtype(kind, np.floating) else "string"


def score(spark: Any, frame: Any, features: list[str], folder: Path, classes: Any, has_proba: bool) -> Any:
    """Add `prediction` (and `probability_<class>`) to the frame through MLflow's Spark UDF on `folder`."""
    import logging

    import mlflow.pyfunc
    from pyspark.sql import functions

    # The folder is the one serve.export just wrote from the verified model: MLflow may load it, there only.
    allow = {ALLOW_LOADING: "true"}
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)  # env_manager="local" is this project's choice
    inputs = functions.struct(*[column(name) for name in features])
    passthrough = [column(name) for name in frame.columns if name not in features]
    predict = mlflow.pyfunc.spark_udf(spark, str(folder), result_type=result_type(classes), extra_env=allow)
    outputs = [predict(inputs).alias(PREDICTION)]
    if classes is not None and has_proba:
        probabilities = mlflow.pyfunc.spark_udf(
            spark, str(answering(folder, "predict_proba")), result_type="array<double>", extra_env=allow
        )
        frame = frame.withColumn("__probabilities", probabilities(inputs))
        outputs += [
            functions.col("__probabilities")[position].alias(f"{PROBABILITY}{name}")
            for position, name in enumerate(classes)
        ]
    return frame.select(*passthrough, *outputs)


def answering(folder: Path, method: str) -> Path:
    """A copy of the exported folder whose python_function answers `method` (MLflow's `predict_fn`)."""
    from mlflow.models import Model

    copy = folder.with_name(f"{folder.name}-{method}")
    shutil.copytree(folder, copy)
    model = Model.load(str(copy))
    model.flavors["python_function"]["predict_fn"] = method
    model.save(str(copy / "MLmodel"))
    return copy


def write(scored: Any, output: Location) -> list[str]:
    """Write the scored frame at the output, whole or not at all (local: a folder beside it, then moved)."""
    writer = scored.write.mode("overwrite")
    writer = writer.option("header", True).csv if output.csv else writer.parquet
    try:
        if output.remote:
            writer(output.text)
        else:
            target = Path(output.text)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
            try:
                writer(str(partial))
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
                partial.rename(target)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
    except PredictError:
        raise
    except Exception as error:  # a UDF failure arrives as Spark's PythonException or Py4JJavaError
        raise PredictError(f"{output.text}: the model cannot score these rows: {spark_message(error)}") from None
    return list(scored.columns)


def write_sidecar(spark: Any, output: Location, sidecar: bytes) -> None:
    if not output.remote:
        from .files import replace_bytes

        replace_bytes(Path(f"{output.text}{SIDECAR}"), sidecar)
        return
    jvm = spark.sparkContext._jvm  # Hadoop's file system: the one Spark wrote the output with
    path = jvm.org.apache.hadoop.fs.Path(f"{output.text}{SIDECAR}")
    stream = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).create(path, True)
    try:
        stream.write(bytearray(sidecar))
    finally:
        stream.close()


def describe(chosen: Any, source: Location, rows: int, columns: list[str], data: dict, args: Any, spark: Any) -> dict:
    """The sidecar, as the local engine writes it, with the engine and the output's layout."""
    classes = getattr(chosen.model, "classes_", None)
    if source.remote:
        digest, hashed = None, f"not hashed: read by Spark from {source.scheme}://"
    else:
        digest, hashed = files_sha256(source.local_files()), "file bytes"
    return {
        "model": chosen.about,
        "input": {"source": args.input, "sha256": digest, "sha256_of": hashed, "rows": rows},
        "output": {"path": args.output, "rows": rows, "columns": columns, "layout": "a folder of part files"},
        "engine": {"name": "spark", "master": spark.conf.get("spark.master", None), "spark_version": spark.version},
        "task": data["task"],
        "target": data["target"],
        "classes": [str(name) for name in classes] if classes is not None else None,
        "scored_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def spark_message(error: BaseException) -> str:
    """One line from Spark's many-line errors: the Python error a UDF raised, else the first line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    raised = [line for line in lines if line.split(":", 1)[0].endswith(("Error", "Exception")) and ": " in line]
    python = [line for line in raised if not line.startswith(("org.", "java.", "py4j", "pyspark"))]
    return one_line(python[-1] if python else (lines[0] if lines else type(error).__name__))
