"""Shared fixtures: the option matrix (built from cookiecutter.json), baking, and sample CSVs."""

from __future__ import annotations

import contextlib
import getpass
import itertools
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Users' machines write bytecode; with PYTHONDONTWRITEBYTECODE set, .pyc files that break template
# updates would stay hidden. Every command the tests start inherits this environment.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

TEMPLATE = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
# Options whose values change which files exist or how the data is read: every pair is baked.
INTERACTING = ("task", "dataset")
TOPICS = ["billing", "network", "device", "speed"]
EXTRAS = ["balcony", "garden", "garage", "view"]


def choice_options() -> dict[str, list[str]]:
    """Every option that offers a list of choices, as cookiecutter.json declares it."""
    return {key: value for key, value in CONTEXT.items() if isinstance(value, list) and not key.startswith("_")}


def cycled_matrix(options: dict[str, list[str]], interacting: list[str] | tuple[str, ...]) -> list[dict[str, str]]:
    """Every combination of the interacting options; every other option cycles through its values across them.

    Built from the options given (ultimately cookiecutter.json): a new choice, or a new value of
    one, is covered without editing any list.
    """
    products = list(itertools.product(*(options[key] for key in interacting)))
    others = {key: values for key, values in options.items() if key not in interacting}
    size = max([len(products), *map(len, others.values())])
    matrix = []
    for index in range(size):
        combination = dict(zip(interacting, products[index % len(products)], strict=True))
        combination.update({key: values[index % len(values)] for key, values in others.items()})
        matrix.append(combination)
    return matrix


def option_matrix() -> list[dict[str, str]]:
    """The bake matrix: all pairs of the options that change files, the others cycled."""
    return cycled_matrix(choice_options(), INTERACTING)


def combination_id(combination: dict[str, str]) -> str:
    return "-".join(combination[key] for key in (*INTERACTING, "model", "dvc_remote"))


def classification_csv(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """A realistic CSV: spaces in names, missing values, a categorical and a free-text column, string labels."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows).astype(float)
    charges = rng.normal(70, 20, rows).round(2)
    plan = rng.choice(["basic", "plus", "premium"], rows)
    churn_score = -0.04 * tenure + 0.03 * charges + (plan == "basic") * 0.8 + rng.normal(0, 0.5, rows)
    frame = pd.DataFrame(
        {
            "monthly charges": charges,
            "tenure months": tenure,
            "plan type": plan,
            "support notes": [f"ticket {i} about {topic}" for i, topic in enumerate(rng.choice(TOPICS, rows))],
            "churned": np.where(churn_score > np.median(churn_score), "yes", "no"),
        }
    )
    frame.loc[rng.choice(rows, 12, replace=False), "monthly charges"] = np.nan
    frame.loc[rng.choice(rows, 8, replace=False), "plan type"] = np.nan
    return frame


def regression_csv(rows: int = 240, seed: int = 1) -> pd.DataFrame:
    """A regression CSV with missing values and string columns."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(30, 200, rows).round(1)
    rooms = rng.integers(1, 7, rows).astype(float)
    district = rng.choice(["north", "south", "east", "west"], rows)
    price = 2.5 * area + 10 * rooms + np.select([district == "north", district == "south"], [40, -20], 0)
    frame = pd.DataFrame(
        {
            "floor area": area,
            "rooms": rooms,
            "district": district,
            "listing text": [f"flat {i} with {extra}" for i, extra in enumerate(rng.choice(EXTRAS, rows))],
            "price": (price + rng.normal(0, 15, rows)).round(1),
        }
    )
    frame.loc[rng.choice(rows, 10, replace=False), "rooms"] = np.nan
    frame.loc[rng.choice(rows, 6, replace=False), "district"] = np.nan
    return frame


CSV_TARGETS = {"classification": "churned", "regression": "price"}
CSV_FRAMES = {"classification": classification_csv, "regression": regression_csv}


@pytest.fixture(scope="session")
def sample_csvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One user CSV per task, written once per session."""
    folder = tmp_path_factory.mktemp("csv")
    paths = {}
    for task, make in CSV_FRAMES.items():
        paths[task] = folder / f"{task}.csv"
        make().to_csv(paths[task], index=False)
    return paths


def answers_for(combination: dict[str, str], csvs: dict[str, Path]) -> dict[str, str]:
    """Complete a combination with the free-text answers it needs (CSV path and target for dataset=csv)."""
    answers = dict(combination)
    if combination["dataset"] == "csv":
        answers["data_path"] = str(csvs[combination["task"]])
        answers["target_column"] = CSV_TARGETS[combination["task"]]
    return answers


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep every test of one baked project on one xdist worker, so each project is baked once."""
    for item in items:
        params = getattr(item, "callspec", None) and item.callspec.params
        for fixture in ("scenario", "baked"):
            if params and fixture in params:
                value = params[fixture]
                key = value if isinstance(value, str) else combination_id(value)
                item.add_marker(pytest.mark.xdist_group(f"{fixture}-{key}"))


def release_dead_basetemp_locks(root: Path) -> list[Path]:
    """Remove the `.lock` of every pytest-N folder whose pytest process is gone; return the folders.

    pytest keeps the last three basetemp folders and removes older ones, except those whose lock
    is younger than three days: a run killed before its exit handler leaves its lock behind.
    Without the lock, pytest's own retention treats such a folder like any other.
    """
    released = []
    for lock in root.glob("pytest-*/.lock"):
        try:
            os.kill(int(lock.read_text()), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                lock.unlink()
                released.append(lock.parent)
        except (OSError, ValueError):  # unreadable, or alive as another user: leave it to pytest
            continue
    return released


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or config.option.basetemp:  # xdist workers live inside the main basetemp
        return
    temproot = Path(os.environ.get("PYTEST_DEBUG_TEMPROOT") or tempfile.gettempdir())  # where pytest puts it
    with contextlib.suppress(KeyError, OSError):
        release_dead_basetemp_locks(temproot / f"pytest-of-{getpass.getuser()}")
