"""`predict --engine spark` without Spark: one line that says how to install it; the checks made before Spark starts.

Scoring on Spark itself (identical predictions to the local engine) is tested by the template's
slow tier, which installs the `spark` extra; these tests need neither pyspark nor Java.
"""

from __future__ import annotations

import sys

import pytest

from {{ cookiecutter.package_name }}.loop import predict_spark
from {{ cookiecutter.package_name }}.loop.predict_input import PredictError
from {{ cookiecutter.package_name }}.loop.predict_spark import Location, check_locations
from {{ cookiecutter.package_name }}.loop.predict_spark_csv import pandas_type


def test_without_pyspark_the_error_names_the_command_that_installs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark...` raises ImportError
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(PredictError) as raised:
        predict_spark.require_pyspark()
    assert str(raised.value) == "--engine spark needs pyspark, which is not installed: run `make setup-spark`"


def test_without_pyspark_predict_exits_2_with_one_line(monkeypatch, capsys, tmp_path):
    from {{ cookiecutter.package_name }}.loop import predict

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    monkeypatch.setattr(predict, "load_params", lambda path: {})  # pyspark is checked before anything is read
    code = predict.main(["--input", "in.csv", "--output", str(tmp_path / "out.csv"), "--engine", "spark"])
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --engine spark needs pyspark, which is not installed: run `make setup-spark`"
    ]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((0, 0, 0, 0, 5), "double"),  # all missing: NaN
        ((5, 5, 5, 0, 5), "long"),  # whole numbers, no gap
        ((4, 4, 4, 0, 5), "double"),  # whole numbers with a gap become floats
        ((5, 3, 5, 0, 5), "double"),
        ((4, 0, 0, 4, 5), "boolean"),  # True/False with a gap
        ((5, 0, 0, 2, 5), "string"),
        ((5, 0, 0, 0, 5), "string"),  # times and categories stay text, as in pandas
    ],
)
def test_a_csv_column_gets_the_type_pandas_gives_it(counts, expected):
    assert pandas_type(*counts) == expected


def test_locations_are_checked_before_spark_starts(tmp_path):
    table = tmp_path / "batch.csv"
    table.write_text("a,b\n1,2\n", encoding="utf-8")
    for source, output, message in [
        (str(tmp_path / "none.csv"), str(tmp_path / "out.csv"), "no such file"),
        (str(table), str(tmp_path / "out.json"), "unsupported format '.json'"),
        ("https://example.org/batch.csv", str(tmp_path / "out.csv"), "not https://; use the local engine"),
        (str(table), str(table), "is the input"),
    ]:
        with pytest.raises(PredictError, match=message):
            check_locations(Location(source), Location(output))
    (tmp_path / "mine.csv").mkdir()
    with pytest.raises(PredictError, match="a folder Spark did not write"):
        check_locations(Location(str(table)), Location(str(tmp_path / "mine.csv")))
    assert Location("s3a://bucket/batch/*.parquet").remote
