"""Read a CSV on Spark so each value means what pandas reads (the local engine, training, serving).

Spark's own schema inference would turn an ISO time into a timestamp, `true` with gaps into a
boolean where pandas keeps objects, and the cell `NA` into text. So every column is read as text,
the values pandas takes as missing (its default `na_values`: "", "NA", "null", "NaN", ...) become
null, and one pass over the data counts, per column, the values that read as whole numbers,
numbers and true/false (pandas' own spellings). Then each column gets the type pandas would give
it: whole numbers without gaps `long`, numbers (whole ones with gaps too) `double`, only
true/false `boolean`, anything else stays text; so do the feature columns the suite calls
categories, text or times, as `predict` reads them (predict_input.TEXT_KINDS), whatever they
hold. A quoted value may span lines, as pandas allows: each CSV file is then read by one task, so
a large input scores faster as many files, or as Parquet.
"""

from __future__ import annotations

from typing import Any

from .predict_input import TRUE_FALSE, PredictError

# What pandas' C parser reads as numbers: surrounding spaces allowed, inf/infinity/nan in any case.
WHOLE = r"^\s*[+-]?[0-9]+\s*$"
NUMBER = r"(?i)^\s*[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?|inf|infinity|nan)\s*$"
TRUE_VALUES, FALSE_VALUES = ["True", "TRUE", "true"], ["False", "FALSE", "false"]  # pandas' defaults
WHAT = {"numeric": "a number", "boolean": "true or false"}


def read_csv_as_pandas_would(
    spark: Any, path: str, text_columns: set[str], features: set[str] | None = None
) -> tuple[Any, int]:
    """The CSV file(s) at `path` typed as pandas would type them (`text_columns`, and columns that are not
    `features` when given, kept text), and the rows."""
    from pandas._libs.parsers import STR_NA_VALUES  # the default na_values of pandas.read_csv
    from pyspark.sql import functions

    raw = spark.read.options(header=True, inferSchema=False, escape='"', multiLine=True).csv(path)
    missing = sorted(STR_NA_VALUES)
    text = raw.select(
        *[functions.when(column(name).isin(missing), None).otherwise(column(name)).alias(name) for name in raw.columns]
    )
    counts = [functions.count(functions.lit(1)).alias("rows")]
    for position, name in enumerate(text.columns):
        value = column(name)
        counts += [
            functions.count(value).alias(f"present{position}"),
            functions.count(functions.when(value.rlike(WHOLE), 1)).alias(f"whole{position}"),
            functions.count(functions.when(value.rlike(NUMBER), 1)).alias(f"number{position}"),
            functions.count(functions.when(value.isin(TRUE_VALUES + FALSE_VALUES), 1)).alias(f"bool{position}"),
        ]
    found = text.agg(*counts).first().asDict()
    typed = []
    for position, name in enumerate(text.columns):
        counted = (found[f"{what}{position}"] for what in ("present", "whole", "number", "bool"))
        kind = pandas_type(*counted, found["rows"])
        # predict reads category, text and time columns as text, and the columns it passes through
        kept = kind == "string" or name in text_columns or (features is not None and name not in features)
        typed.append(column(name) if kept else column(name).try_cast(kind).alias(name))
    return text.select(*typed), int(found["rows"])


def column(name: str) -> Any:
    """A Spark column by its exact name (spaces, dots and backticks included)."""
    from pyspark.sql import functions

    return functions.col("`" + name.replace("`", "``") + "`")


def pandas_type(present: int, whole: int, number: int, true_false: int, rows: int) -> str:
    """The Spark type of the column pandas would read from these counts of its values."""
    if present == 0:
        return "double"  # an empty column is all NaN
    if whole == present:
        return "long" if present == rows else "double"  # a gap makes whole numbers floats
    if number == present:
        return "double"
    return "boolean" if true_false == present else "string"


def check_kinds(frame: Any, kinds: dict[str, str], name: str) -> None:
    """Refuse a feature column holding text where its kind (the expectation suite) wants numbers or true/false."""
    from pyspark.sql import functions
    from pyspark.sql.types import StringType

    types = {field.name: field.dataType for field in frame.schema.fields}
    for feature, kind in kinds.items():
        if kind not in WHAT or not isinstance(types.get(feature), StringType):
            continue
        value = column(feature)
        wrong = value.try_cast("double").isNull() if kind == "numeric" else ~functions.lower(value).isin(TRUE_FALSE)
        first = frame.filter(value.isNotNull() & wrong).select(value).first()
        if first is not None:
            raise PredictError(
                f"{name}: column {feature!r} holds {str(first[0])[:60]!r}; the model expects {WHAT[kind]} there "
                "(expectations/suite.json); fix the input"
            )
