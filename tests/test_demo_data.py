"""The demo CSVs the template ships are exactly scikit-learn's bundled datasets."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import TEMPLATE
from sklearn.datasets import load_breast_cancer, load_diabetes

RAW = TEMPLATE / "{{cookiecutter.project_slug}}/data/raw"


@pytest.mark.parametrize(
    ("name", "load"),
    [
        ("breast_cancer.csv", lambda: load_breast_cancer(as_frame=True).frame),
        ("diabetes.csv", lambda: load_diabetes(as_frame=True, scaled=False).frame),
    ],
)
def test_demo_csv_equals_the_bundled_dataset(name, load):
    shipped = pd.read_csv(RAW / name)
    pd.testing.assert_frame_equal(shipped, load(), check_dtype=False, rtol=1e-12)
