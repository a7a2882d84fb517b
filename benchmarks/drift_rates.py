"""False alarms and detection of the drift check, measured on many random batches.

    benchmarks/.venv-drift/bin/python benchmarks/drift_rates.py        (after `make bench` made that venv)

For each pair of reference size and batch size it draws unshifted batches of real-shaped data
(skewed, heavy-tailed, integer counts and codes, categories with rare values, missing values)
from the same distribution as the reference and counts how often each column, and the dataset
verdict, say "drift": the false-alarm rate. Then it shifts the numeric measurements by 0.2, 0.5
and 1 standard deviation and counts how often they are found. Decisions are made by the
template's own code (drift/columns.py and drift/verdict.py) with the shipped params.yaml
`drift` settings. Prints a Markdown table (kept in benchmarks/README.md) and writes every figure
to benchmarks/data/rates.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drift_side import drift_params, load_drift  # the template package, loaded from its folder

HERE = Path(__file__).resolve().parent
REFERENCE_SIZES = (500, 5_000, 100_000, 1_000_000)
BATCH_SIZES = (50, 200, 500, 5_000, 100_000)
SHIFTS = (0.2, 0.5, 1.0)
DETECTION_EVERY = 4  # shifted batches are drawn for one in this many unshifted ones
RARE = np.array([0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.04, 0.03, 0.02, 0.007, 0.002, 0.001])
PRICE_SD = float(np.exp(7 + 0.32) * np.sqrt(np.exp(0.64) - 1))  # standard deviation of lognormal(7, 0.8)
CATEGORIES = np.array([f"cat_{index}" for index in range(len(RARE))])


def draw(rng: np.random.Generator, rows: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    """Return one sample of every column; `shift` moves the numeric measurements by that many sd."""
    missing = rng.random(rows) < 0.2
    columns = {
        "normal": rng.normal(50, 10, rows) + shift * 10,
        "lognormal_skewed": rng.lognormal(0, 1, rows) + shift * np.sqrt((np.e - 1) * np.e),
        "student_t3_heavy": rng.standard_t(3, rows) + shift * np.sqrt(3),
        "price_integer": np.round(rng.lognormal(7, 0.8, rows)) + shift * PRICE_SD,
        "count_poisson": rng.poisson(12, rows).astype(float) + shift * np.sqrt(12),
        "with_missing": np.where(missing, np.nan, rng.gamma(2, 3, rows) + shift * np.sqrt(18)),
        "code_1_to_3": rng.choice([1.0, 2.0, 3.0], rows, p=[0.25, 0.2, 0.55]),
        "category_rare": rng.choice(CATEGORIES, rows, p=RARE / RARE.sum()),
    }
    return columns


SHIFTED = ["normal", "lognormal_skewed", "student_t3_heavy", "price_integer", "count_poisson", "with_missing"]


def repetitions(reference_rows: int, batch_rows: int, scale: float) -> int:
    """Return how many unshifted batches to draw: many for small sizes, fewer where a comparison is slow."""
    work = reference_rows + batch_rows
    base = 100 if work <= 10_000 else 40 if work <= 200_000 else 10
    return max(4, int(base * scale))


def decide(columns_module, verdict_module, reference, current, settings) -> tuple[dict[str, bool], bool]:
    """Return each column's drift flag and the dataset verdict, from the template's own code."""
    import pandas as pd

    results = {
        name: columns_module.compare_column(reference[name], pd.Series(values), settings)[0]
        for name, values in current.items()
    }
    schema = {"missing_in_current": [], "new_in_current": []}
    dataset = verdict_module.verdict({"columns": results, "schema_changes": schema}, settings)
    return {name: result["drift"] for name, result in results.items()}, dataset["dataset_drift"]


def measure(modules, settings, reference_rows: int, batch_rows: int, reps: int, seed: int) -> dict:
    """Return false-alarm and detection rates for one pair of sizes."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    fresh_reference = reference_rows <= 5_000  # large references are drawn once and reused (sorting them is the cost)
    reference = None
    counts = {"false_alarm": {}, **{f"shift_{shift}": {} for shift in SHIFTS}}
    draws = {"false_alarm": 0, **{f"shift_{shift}": 0 for shift in SHIFTS}}
    for rep in range(reps):
        if reference is None or fresh_reference:
            reference = {
                name: pd.Series(np.sort(v) if v.dtype.kind == "f" else v)
                for name, v in draw(rng, reference_rows).items()
            }
        cases = [("false_alarm", 0.0)]
        if rep % DETECTION_EVERY == 0:  # a shift is found or not with far less noise than a 5% rate: fewer batches
            cases += [(f"shift_{shift}", shift) for shift in SHIFTS]
        for key, shift in cases:
            flags, dataset = decide(*modules, reference, draw(rng, batch_rows, shift), settings)
            draws[key] += 1
            tally = counts[key]
            tally["dataset"] = tally.get("dataset", 0) + dataset
            for name, flag in flags.items():
                tally[name] = tally.get(name, 0) + flag
    rates = {key: {name: value / draws[key] for name, value in tally.items()} for key, tally in counts.items()}
    return {"batches": draws, **rates}


def table(results: list[dict]) -> str:
    """Return the Markdown table of rates."""
    lines = [
        "| Reference rows | Batch rows | Batches (unshifted / shifted) | Dataset false alarms | "
        "Worst column false alarms | Found 0.2 sd (dataset / worst column) | Found 0.5 sd | Found 1 sd |",
        "|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for row in results:
        false = row["rates"]["false_alarm"]
        worst = max((name for name in false if name != "dataset"), key=false.get)
        found = []
        for shift in SHIFTS:
            rates = row["rates"][f"shift_{shift}"]
            found.append(f"{rates['dataset']:.0%} / {min(rates[name] for name in SHIFTED):.0%}")
        lines.append(
            f"| {row['reference_rows']:,} | {row['batch_rows']:,} | {row['batches']['false_alarm']} / "
            f"{row['batches']['shift_0.5']} | {false['dataset']:.1%} | "
            f"{false[worst]:.1%} ({worst}) | " + " | ".join(found) + " |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of batches (default 1)")
    parser.add_argument("--references", type=int, nargs="*", default=REFERENCE_SIZES)
    parser.add_argument("--batches", type=int, nargs="*", default=BATCH_SIZES)
    args = parser.parse_args()
    drift = load_drift()
    modules = (sys.modules[f"{drift.__name__}.columns"], sys.modules[f"{drift.__name__}.verdict"])
    settings = drift_params()["drift"]
    results, started = [], time.perf_counter()
    for reference_rows in args.references:
        for batch_rows in args.batches:
            reps = repetitions(reference_rows, batch_rows, args.scale)
            rates = measure(modules, settings, reference_rows, batch_rows, reps, seed=reference_rows + batch_rows)
            batches = rates.pop("batches")
            results.append(
                {"reference_rows": reference_rows, "batch_rows": batch_rows, "batches": batches, "rates": rates}
            )
            print(f"{reference_rows:>9,} x {batch_rows:>7,}: {time.perf_counter() - started:6.0f} s", file=sys.stderr)
    settings_used = {key: settings[key] for key in ("p_value", "numeric", "categorical", "dataset_drift_share")}
    output = {"settings": settings_used, "seconds": time.perf_counter() - started, "results": results}
    (HERE / "data").mkdir(exist_ok=True)
    (HERE / "data" / "rates.json").write_text(json.dumps(output, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(
        f"\n{output['seconds']:.0f} s; settings {json.dumps(settings_used)}; all figures in benchmarks/data/rates.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
