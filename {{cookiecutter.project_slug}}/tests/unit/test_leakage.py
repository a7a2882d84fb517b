"""Leakage: a column that gives the answer away is found; honest columns are not."""

from __future__ import annotations

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }}.loop import leakage


def honest(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    return pd.DataFrame(
        {
            "signal": signal.round(3),
            "noise": rng.normal(size=rows),
            "group": rng.choice(["a", "b", "c"], rows),
            "id": [f"row {number}" for number in range(rows)],  # unique text, no relation to the label
            "label": np.where(signal + rng.normal(scale=1.0, size=rows) > 0, "yes", "no"),
        }
    )


def test_honest_columns_are_not_flagged() -> None:
    assert leakage.leaky_columns(honest(), "label", "classification") == {}


def test_a_copy_of_the_label_in_other_words_is_flagged_even_with_gaps() -> None:
    frame = honest().assign(alive=lambda f: f["label"].map({"yes": "survived", "no": "died"}))
    frame.loc[::3, "alive"] = None
    assert leakage.leaky_columns(frame, "label", "classification") == {"alive": 1.0}


def test_a_copy_of_a_twenty_class_label_is_flagged() -> None:
    rng = np.random.default_rng(1)
    label = rng.integers(0, 20, 600)
    frame = pd.DataFrame({"noise": rng.normal(size=600), "code": label * 7, "label": label})
    assert list(leakage.leaky_columns(frame, "label", "classification")) == ["code"]


def test_a_bent_copy_of_a_regression_target_is_flagged_and_infinity_is_no_crash() -> None:
    rng = np.random.default_rng(2)
    target = rng.lognormal(3, 1.5, 500)
    frame = pd.DataFrame({"log": np.log(target), "noise": rng.normal(size=500), "target": target})
    frame.loc[0, "noise"] = np.inf
    assert list(leakage.leaky_columns(frame, "target", "regression")) == ["log"]


def test_a_perfect_score_counts_only_on_a_large_holdout() -> None:
    assert leakage.perfect_score("roc_auc", 1.0, 250) and not leakage.perfect_score("roc_auc", 1.0, 40)
    assert leakage.perfect_score("rmse", 0.0, 300) and not leakage.perfect_score("r2", 0.97, 300)
