"""The current command: a reproducible sample of the holdout rows, shifted on request without impossible values."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.loop import current, drift

PROJECT_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def source_frame(rows: int = 600) -> pd.DataFrame:
    """Measurements with decimals, a class code 1-3, a count, a category, and the target."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{index}": rng.gamma(2 + index, 1, rows).round(3) for index in range(3)})
    frame["pclass"] = rng.choice([1, 2, 3], rows, p=[0.25, 0.2, 0.55])
    frame["siblings"] = rng.poisson(1.5, rows)
    frame["port"] = rng.choice(["S", "C", "Q"], rows, p=[0.7, 0.2, 0.1])
    frame["target"] = rng.integers(0, 2, rows)
    return frame


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with the project's params.yaml `current` and `drift` sections, training rows and holdout rows."""
    params = yaml.safe_load(PROJECT_PARAMS.read_text(encoding="utf-8"))
    params["data"] = {"task": "classification", "target": "target"}
    params["gate"]["metric"] = "accuracy"
    params["drift"].update(reference="prepared/train.csv", current="batch/current.csv", report_dir="out")
    params["current"]["source"] = "prepared/holdout.csv"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    source = source_frame(1500)
    Path("prepared").mkdir()
    source.iloc[:1200].to_csv("prepared/train.csv", index=False)
    source.iloc[1200:].to_csv("prepared/holdout.csv", index=False)
    return tmp_path


def test_the_shipped_batch_comes_from_the_holdout_rows():
    params = yaml.safe_load(PROJECT_PARAMS.read_text(encoding="utf-8"))
    assert params["current"]["source"] == "data/prepared/holdout.csv"


def test_batch_is_a_reproducible_sample():
    frame = source_frame()
    batch = current.make_batch(frame, rows=100, seed=3, shift=0.0, columns=["x0"])
    assert batch.equals(current.make_batch(frame, rows=100, seed=3, shift=0.0, columns=["x0"]))
    assert len(batch) == 100
    assert len(batch.merge(frame)) == 100  # every row comes from the source
    assert len(current.make_batch(frame, rows=10_000, seed=3, shift=0.0, columns=[])) == len(frame)


def test_shift_moves_measurements_and_redraws_codes_and_categories_without_new_values():
    frame = source_frame()
    columns = current.shifted_columns(frame, [], target="target")
    assert columns == ["x0", "x1", "x2", "pclass", "siblings", "port"]
    plain = current.make_batch(frame, rows=300, seed=1, shift=0.0, columns=columns)
    moved = current.make_batch(frame, rows=300, seed=1, shift=1.0, columns=columns)
    for name in ["x0", "x1", "x2"]:
        assert np.allclose(moved[name] - plain[name], frame[name].std())
    for name in ["pclass", "siblings", "port"]:
        assert set(moved[name]) <= set(frame[name])  # no pclass 2.16
        assert moved[name].dtype == frame[name].dtype
    assert moved["pclass"].mean() > plain["pclass"].mean() + 0.3
    assert moved["siblings"].mean() > plain["siblings"].mean() + 0.5
    assert (moved["port"] != "S").mean() > (plain["port"] != "S").mean() + 0.2  # rarer ports more common
    assert moved["target"].equals(plain["target"])


def test_a_scaled_flag_is_redrawn_not_moved():
    frame = source_frame().assign(sex=lambda f: np.where(f["x0"] > 2, 0.0507, -0.0446))  # scaled like diabetes
    moved = current.make_batch(frame, rows=300, seed=1, shift=3.0, columns=["sex"])
    assert set(moved["sex"]) <= {0.0507, -0.0446}


def test_written_batch_keeps_each_column_type(project):
    assert current.main(["--shift", "1", "--out", "batch/one.csv"]) == 0
    assert current.main(["--shift", "2", "--seed", "3", "--out", "batch/two.csv"]) == 0
    one, two, source = (pd.read_csv(path) for path in ("batch/one.csv", "batch/two.csv", "prepared/holdout.csv"))
    assert dict(one.dtypes) == dict(two.dtypes) == dict(source.dtypes)


def test_only_feature_columns_can_be_shifted():
    with pytest.raises(current.DataError, match="not a feature column"):
        current.shifted_columns(source_frame(), ["target"], target="target")


def test_unshifted_batch_passes_and_shifted_batch_drifts(project, capsys):
    assert current.main([]) == 0
    assert "sampled from prepared/holdout.csv" in capsys.readouterr().out
    assert drift.main(["--no-model"]) == 0
    assert current.main(["--shift", "1"]) == 0
    assert drift.main(["--no-model"]) == drift.DRIFT_EXIT_CODE


def test_missing_source_exits_2_and_says_how_to_make_it(project, capsys):
    assert current.main(["--source", "absent.csv"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: absent.csv: file not found; the ingest stage writes it") and error.count("\n") == 1
