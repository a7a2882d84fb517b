"""Evidently's DataDriftPreset on the same files: run by benchmarks/run.py inside benchmarks/.venv-evidently.

Configured like the template's large-sample defaults: Wasserstein distance normalised by the reference
standard deviation for numeric columns, Jensen-Shannon distance for categorical ones, threshold 0.1 for
both, dataset drift from a 50% share of drifted columns. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

THRESHOLD = 0.1


def make_report() -> Report:
    preset = DataDriftPreset(
        num_method="wasserstein",
        num_threshold=THRESHOLD,
        cat_method="jensenshannon",
        cat_threshold=THRESHOLD,
        drift_share=0.5,
    )
    return Report([preset])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    reference = pd.read_parquet(args.folder / "reference.parquet")
    current = pd.read_parquet(args.folder / "current.parquet")
    definition = DataDefinition(numerical_columns=list(reference.columns))
    datasets = {
        "current_data": Dataset.from_pandas(current, data_definition=definition),
        "reference_data": Dataset.from_pandas(reference, data_definition=definition),
    }
    small = {
        key: Dataset.from_pandas(frame.head(2000), data_definition=definition)
        for key, frame in (("current_data", current), ("reference_data", reference))
    }
    make_report().run(**small)  # warm up: imports and first calls
    runs, with_html = [], []
    for repeat in range(args.repeats):
        start = time.perf_counter()
        snapshot = make_report().run(**datasets)
        runs.append(time.perf_counter() - start)
        snapshot.save_html(str(args.folder / f"evidently-{repeat}.html"))  # what a person opens
        with_html.append(time.perf_counter() - start)
    columns, drifted_count = {}, None
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            value = float(metric["value"])
            columns[config["column"]] = {"method": config["method"], "statistic": value, "drift": value >= THRESHOLD}
        elif config["type"].endswith("DriftedColumnsCount"):
            drifted_count = int(metric["value"]["count"])
    import evidently

    print(
        json.dumps(
            {
                "evidently": evidently.__version__,
                "pandas": pd.__version__,
                "rows": len(reference),
                "seconds": {"best": min(runs), "median": statistics.median(runs)},
                "with_html_seconds": {"best": min(with_html), "median": statistics.median(with_html)},
                "columns": columns,
                "drifted_columns_count": drifted_count,
            }
        )
    )


if __name__ == "__main__":
    main()
