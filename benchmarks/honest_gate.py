"""How honest the gate's verdicts are on public data: leakage, the baseline, and the holdout after refreshes.

    .venv/bin/python benchmarks/honest_gate.py [--repeats 20]      (from the template root, after `make env`)

Uses the template's own code (rows.py, leakage.py, gate.py, metrics.py, train.py), loaded from its
folder, on scikit-learn's bundled data sets (iris, wine, breast cancer, diabetes) and a generated
passenger table with missing values, integers and categories. Each repeat salts the split anew.

1. Leakage and baseline: for each data set, honestly; with a planted leak (a copy of the target in
   other words: `alive` yes/no next to `survived`, or the target plus 1% noise); and with shuffled
   labels (a model with no skill). Counts how often the leakage guard fires and how often the
   default gate (10% of the baseline's error) passes.
2. Refresh, then retrain: the data arrives in batches (60% first, then four batches of 10%). After
   each batch a candidate is trained and gated against the previous champion. For the template's
   hash split and for the random re-split it replaced, counts the holdout rows the champion trained
   on (must be 0 for the hash split) and how often a candidate trained on more rows is blocked.

Prints Markdown tables (kept in benchmarks/README.md) and writes benchmarks/data/honest_gate.json.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE.parent / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.package_name}}"
PARAMS = HERE.parent / "{{cookiecutter.project_slug}}" / "params.yaml"
TARGET = "target"


def load(name: str):
    """Import one module of the template's package from its folder (its name is a template variable)."""
    if "template_pkg" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "template_pkg", PACKAGE_DIR / "__init__.py", submodule_search_locations=[str(PACKAGE_DIR)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules["template_pkg"] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"template_pkg.loop.{name}")


def shipped_settings() -> tuple[dict, dict]:
    """The train and gate sections of the shipped params.yaml (template variables filled for a forest)."""
    text = PARAMS.read_text(encoding="utf-8")
    for variable, value in {"task": "classification", "model": "random_forest", "primary_metric": "roc_auc"}.items():
        text = text.replace(f"{{{{ cookiecutter.{variable} }}}}", value)
    text = text.replace("{{ cookiecutter.metric_threshold or 'null' }}", "null")
    for variable in ("target_column", "model_name", "mlflow_tracking_uri"):
        text = text.replace(f"{{{{ cookiecutter.{variable} | tojson }}}}", '"x"')
    params = yaml.safe_load(text)
    params["train"]["random_forest"]["n_estimators"] = 100  # half the trees: the same verdicts, twice as fast
    return params["train"], params["gate"]


def passengers(rows: int = 900, seed: int = 0) -> pd.DataFrame:
    """A passenger-survival-like table: integers with gaps, categories, a fare, duplicates of features."""
    rng = np.random.default_rng(seed)
    klass = rng.choice([1, 2, 3], rows, p=[0.25, 0.2, 0.55])
    sex = rng.choice(["male", "female"], rows, p=[0.64, 0.36])
    age = rng.normal(30, 13, rows).clip(1, 80).round()
    chance = 1 / (1 + np.exp(-(1.2 * (sex == "female") - 0.8 * (klass - 2) - 0.02 * (age - 30) - 0.4)))
    frame = pd.DataFrame(
        {
            "pclass": klass,
            "sex": sex,
            "age": age,
            "sibsp": rng.poisson(0.5, rows),
            "fare": (rng.lognormal(3, 0.9, rows) * (4 - klass)).round(2),
            "embarked": rng.choice(["S", "C", "Q"], rows, p=[0.72, 0.19, 0.09]),
            TARGET: (rng.random(rows) < chance).astype(int),
        }
    )
    frame.loc[rng.random(rows) < 0.2, "age"] = np.nan
    return frame


def data_sets() -> dict[str, tuple[pd.DataFrame, str]]:
    from sklearn import datasets

    found = {}
    for name, task in (("iris", "classification"), ("wine", "classification"),
                       ("breast_cancer", "classification"), ("diabetes", "regression")):  # fmt: skip
        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        found[name] = (bunch.frame.rename(columns={"target": TARGET}), task)
    found["passengers"] = (passengers(), "classification")
    return found


def planted(frame: pd.DataFrame, task: str, seed: int) -> pd.DataFrame:
    """The same rows with one column that gives the answer away."""
    if task == "classification":
        return frame.assign(alive=frame[TARGET].map(lambda label: f"answer {label}"))
    noise = np.random.default_rng(seed).normal(0, 0.01 * frame[TARGET].std(), len(frame))
    return frame.assign(leak=frame[TARGET] + noise)


def shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    return frame.assign(**{TARGET: frame[TARGET].sample(frac=1, random_state=seed).to_numpy()})


def one_verdict(frame: pd.DataFrame, task: str, seed: int, train_settings: dict, gate_settings: dict) -> dict:
    """Split as ingest does, train as train does, and return what the gate's checks say."""
    rows, leakage, gate, train, metrics = (load(name) for name in ("rows", "leakage", "gate", "train", "metrics"))
    holdout_mask = rows.in_holdout(frame, 0.2, seed)
    training, holdout = frame[~holdout_mask], frame[holdout_mask]
    metric = "roc_auc" if task == "classification" else "r2"
    model = train.fit(training, {"task": task, "target": TARGET}, {**train_settings, "seed": seed})
    features, truth = holdout.drop(columns=[TARGET]), holdout[TARGET]
    value = metrics.score(task, model, features, truth)[metric]
    baseline = gate.baseline_score(task, metric, training, holdout, TARGET, model)
    found = leakage.check(training, holdout, TARGET, task, metric, value)
    decision = gate.decide(metric, None, 0.01, value, None, baseline, gate_settings["baseline_margin"], found)
    gained = gate.improvement(metric, value, baseline["value"])
    return {"value": value, "leak_column": bool(found["columns"]), "perfect": found["perfect"],
            "passed": decision["passed"],
            "baseline_ok": gained >= gate_settings["baseline_margin"] and baseline["improvement_low"] > 0}  # fmt: skip


def leakage_rates(repeats: int) -> list[dict]:
    train_settings, gate_settings = shipped_settings()
    results = []
    for name, (frame, task) in data_sets().items():
        for variant in ("honest", "planted leak", "shuffled labels"):
            verdicts = []
            for seed in range(repeats):
                table = planted(frame, task, seed) if variant == "planted leak" else frame
                table = shuffled(table, seed) if variant == "shuffled labels" else table
                verdicts.append(one_verdict(table, task, seed, train_settings, gate_settings))
            results.append({
                "data": name, "variant": variant, "rows": len(frame), "repeats": repeats,
                "median_metric": float(np.median([v["value"] for v in verdicts])),
                "guard_fires": sum(v["leak_column"] or v["perfect"] for v in verdicts) / repeats,
                "perfect_sign": sum(v["perfect"] for v in verdicts) / repeats,
                "beats_baseline": sum(v["baseline_ok"] for v in verdicts) / repeats,
                "gate_passes": sum(v["passed"] for v in verdicts) / repeats,
            })  # fmt: skip
            print(json.dumps(results[-1]), file=sys.stderr)
    return results


def refresh_loop(repeats: int, tolerance: float = 0.01) -> list[dict]:
    """Champion trained on the data so far; each batch, a candidate on more data is gated against it."""
    from sklearn.model_selection import train_test_split

    rows, train, metrics = (load(name) for name in ("rows", "train", "metrics"))
    train_settings, _ = shipped_settings()
    results = []
    for name, (frame, task) in data_sets().items():
        metric = "roc_auc" if task == "classification" else "r2"
        for split in ("hash (this template)", "random re-split (before)"):
            overlap, compared, blocked = [], 0, 0
            for seed in range(repeats):
                order = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
                sizes = [int(len(order) * share) for share in (0.6, 0.7, 0.8, 0.9, 1.0)]
                champion = None
                for size in sizes:
                    data = order.head(size)
                    if split.startswith("hash"):
                        mask = rows.in_holdout(data, 0.2, seed)
                        training, holdout = data[~mask], data[mask]
                    else:
                        training, holdout = train_test_split(data, test_size=0.2, random_state=42)
                    model = train.fit(training, {"task": task, "target": TARGET}, {**train_settings, "seed": seed})
                    if champion is not None:
                        old_model, old_rows = champion
                        seen = rows.shared(rows.fingerprints(holdout), rows.fingerprints(old_rows))
                        overlap.append(int(seen.sum()))
                        # The old gate scored both on the whole holdout, seen rows included.
                        features, truth = holdout.drop(columns=[TARGET]), holdout[TARGET]
                        mine = metrics.score(task, model, features, truth)[metric]
                        theirs = metrics.score(task, old_model, features, truth)[metric]
                        compared += 1
                        blocked += bool(mine < theirs - tolerance)
                    champion = (model, training)
            results.append({
                "data": name, "split": split, "repeats": repeats,
                "champion_rows_in_holdout_mean": float(np.mean(overlap)),
                "champion_rows_in_holdout_max": int(np.max(overlap)),
                "candidates_blocked": blocked / compared,
            })  # fmt: skip
            print(json.dumps(results[-1]), file=sys.stderr)
    return results


def table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.0%}" if isinstance(row[c], float) and c not in ("median_metric",) and "mean" not in c
                 else f"{row[c]:.3g}" if isinstance(row[c], float) else str(row[c]) for c in columns]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    started = time.monotonic()
    leaks = leakage_rates(args.repeats)
    loop = refresh_loop(max(2, args.repeats // 4))
    (HERE / "data").mkdir(exist_ok=True)
    (HERE / "data/honest_gate.json").write_text(json.dumps({"leakage": leaks, "refresh": loop}, indent=2) + "\n")
    print(table(leaks, ["data", "variant", "rows", "repeats", "median_metric", "guard_fires", "beats_baseline",
                        "gate_passes"]))  # fmt: skip
    print()
    print(table(loop, ["data", "split", "repeats", "champion_rows_in_holdout_mean", "champion_rows_in_holdout_max",
                       "candidates_blocked"]))  # fmt: skip
    print(f"\n{time.monotonic() - started:.0f} s")
    honest = [row for row in leaks if row["variant"] == "honest"]
    failures = [row for row in honest if row["guard_fires"] > 0.05 or row["gate_passes"] < 0.95]
    failures += [row for row in leaks if row["variant"] == "planted leak" and row["guard_fires"] < 1.0]
    failures += [row for row in leaks if row["variant"] == "shuffled labels" and row["gate_passes"] > 0.1]
    failures += [row for row in loop if row["split"].startswith("hash") and row["champion_rows_in_holdout_max"] > 0]
    for row in failures:
        print(f"target missed: {row}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
