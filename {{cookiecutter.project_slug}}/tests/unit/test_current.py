"""The current command: a reproducible sample of the demo data, shifted on request, that drift then checks."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import current, drift

PROJECT_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def source_frame(rows: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{index}": rng.gamma(2 + index, 1, rows) for index in range(4)})
    frame["count"] = rng.integers(0, 50, rows)
    frame["target"] = rng.integers(0, 2, rows)
    return frame


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with the project's params.yaml `current` and `drift` sections and a source file."""
    params = yaml.safe_load(PROJECT_PARAMS.read_text(encoding="utf-8"))
    params["data"] = {"task": "classification", "target": "target"}
    params["current"]["source"] = "raw.csv"
    params["drift"].update(reference="train.csv", current="batch/current.csv", report_dir="out")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    source = source_frame()
    source.to_csv("raw.csv", index=False)
    source.sample(frac=0.8, random_state=42).to_csv("train.csv", index=False)
    return tmp_path


def test_batch_is_a_reproducible_sample():
    frame = source_frame()
    batch = current.make_batch(frame, rows=100, seed=3, shift=0.0, columns=["x0"])
    assert batch.equals(current.make_batch(frame, rows=100, seed=3, shift=0.0, columns=["x0"]))
    assert len(batch) == 100
    assert len(batch.merge(frame)) == 100  # every row comes from the source
    assert len(current.make_batch(frame, rows=10_000, seed=3, shift=0.0, columns=[])) == len(frame)


def test_shift_moves_numeric_features_by_standard_deviations():
    frame = source_frame()
    columns = current.shifted_columns(frame, [], target="target")
    assert columns == ["x0", "x1", "x2", "x3", "count"]
    plain = current.make_batch(frame, rows=200, seed=1, shift=0.0, columns=columns)
    moved = current.make_batch(frame, rows=200, seed=1, shift=1.5, columns=columns)
    for name in columns:
        assert np.allclose(moved[name] - plain[name], 1.5 * frame[name].std())
    assert moved["target"].equals(plain["target"])


def test_only_numeric_features_can_be_shifted():
    frame = source_frame().assign(colour="red")
    with pytest.raises(current.DataError, match="only numeric columns"):
        current.shifted_columns(frame, ["colour"], target="target")
    with pytest.raises(current.DataError, match="not a feature column"):
        current.shifted_columns(frame, ["target"], target="target")


def test_unshifted_batch_passes_and_shifted_batch_drifts(project):
    assert current.main([]) == 0
    assert Path("batch/current.csv").is_file()
    assert drift.main([]) == 0
    assert current.main(["--shift", "1"]) == 0
    assert drift.main([]) == drift.DRIFT_EXIT_CODE


def test_missing_source_exits_2(project, capsys):
    assert current.main(["--source", "absent.csv"]) == 2
    assert capsys.readouterr().err.strip() == "error: absent.csv: file not found"
