"""The template's drift check, measured: run by benchmarks/run.py inside benchmarks/.venv-drift.

Subcommands (each prints one JSON object on stdout):
  generate DIR --rows N   write DIR/reference.parquet and DIR/current.parquet (20 numeric columns)
  time DIR                time the drift statistics on the two tables held in memory
  command DIR             run the whole `drift` command on the files (read, compare, write reports); report peak RSS
  verify DIR COLUMN...    recompute those columns with scipy and compare with the command's drift.json
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent
PACKAGE_DIR = TEMPLATE / "{{cookiecutter.project_slug}}" / "src" / "{{cookiecutter.package_name}}"
PARAMS = TEMPLATE / "{{cookiecutter.project_slug}}" / "params.yaml"
ROW_GROUP = 1_000_000
# name -> (reference sampler, current sampler); each is rng, rows -> values. Eight columns drift.
COLUMNS = {
    "c00_normal": (lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0, 1, n)),
    "c01_normal": (lambda r, n: r.normal(5, 2, n), lambda r, n: r.normal(5, 2, n)),
    "c02_normal": (lambda r, n: r.normal(-3, 0.5, n), lambda r, n: r.normal(-3, 0.5, n)),
    "c03_normal": (lambda r, n: r.normal(100, 15, n), lambda r, n: r.normal(100, 15, n)),
    "c04_shift_0.05sd": (lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0.05, 1, n)),
    "c05_shift_0.2sd": (lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0.2, 1, n)),
    "c06_scale_1.5": (lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0, 1.5, n)),
    "c07_scale_1.1": (lambda r, n: r.normal(0, 1, n), lambda r, n: r.normal(0, 1.1, n)),
    "c08_lognormal": (lambda r, n: r.lognormal(0, 0.5, n), lambda r, n: r.lognormal(0, 0.5, n)),
    "c09_lognormal_shift": (lambda r, n: r.lognormal(0, 0.5, n), lambda r, n: r.lognormal(0.3, 0.5, n)),
    "c10_exponential": (lambda r, n: r.exponential(1, n), lambda r, n: r.exponential(1, n)),
    "c11_exponential_scale": (lambda r, n: r.exponential(1, n), lambda r, n: r.exponential(1.3, n)),
    "c12_uniform": (lambda r, n: r.uniform(0, 1, n), lambda r, n: r.uniform(0, 1, n)),
    "c13_uniform_shift": (lambda r, n: r.uniform(0, 1, n), lambda r, n: r.uniform(0.1, 1.1, n)),
    "c14_poisson": (lambda r, n: r.poisson(20, n).astype(float), lambda r, n: r.poisson(20, n).astype(float)),
    "c15_poisson_shift": (lambda r, n: r.poisson(20, n).astype(float), lambda r, n: r.poisson(23, n).astype(float)),
    "c16_new_mode": (
        lambda r, n: r.normal(0, 1, n),
        lambda r, n: np.where(r.random(n) < 0.1, r.normal(3, 1, n), r.normal(0, 1, n)),
    ),
    "c17_rare_outliers": (
        lambda r, n: r.normal(0, 1, n),
        lambda r, n: np.where(r.random(n) < 0.01, 10, 1) * r.normal(0, 1, n),
    ),
    "c18_student_t": (lambda r, n: r.standard_t(5, n), lambda r, n: r.standard_t(5, n)),
    "c19_beta_shift": (lambda r, n: r.beta(2, 5, n), lambda r, n: r.beta(2.5, 5, n)),
}


def load_drift():
    """Import the template's package from its folder (its name is a template variable) as `template_pkg`."""
    spec = importlib.util.spec_from_file_location(
        "template_pkg", PACKAGE_DIR / "__init__.py", submodule_search_locations=[str(PACKAGE_DIR)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["template_pkg"] = package
    spec.loader.exec_module(package)
    return importlib.import_module("template_pkg.loop.drift")


# Answers that stand in for the template variables of params.yaml (a regression project).
ANSWERS = {
    "task": "regression",
    "target_column": '"target"',
    "model": "linear",
    "primary_metric": "r2",
    "metric_threshold": "0.3",
    "model_name": '"benchmark"',
    "mlflow_tracking_uri": '""',
}


def drift_params() -> dict:
    """Return the shipped params.yaml as a project with the answers above would have it.

    The file is a template, so each `{{ cookiecutter.x ... }}` is replaced by its answer first.
    """
    import re

    import yaml

    text = re.sub(
        r"\{\{\s*cookiecutter\.(\w+)[^}]*\}\}", lambda found: ANSWERS[found.group(1)], PARAMS.read_text("utf-8")
    )
    return yaml.safe_load(text)


def generate(folder: Path, rows: int) -> dict:
    """Write the reference and current tables, one row group of a million rows at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    for side, seed in (("reference", 0), ("current", 1)):
        rng = np.random.default_rng(seed)
        writer = None
        for start in range(0, rows, ROW_GROUP):
            size = min(ROW_GROUP, rows - start)
            columns = {name: samplers[side == "current"](rng, size) for name, samplers in COLUMNS.items()}
            table = pa.table(columns)
            writer = writer or pq.ParquetWriter(folder / f"{side}.parquet", table.schema)
            writer.write_table(table)
        writer.close()
    return {"rows": rows, "columns": len(COLUMNS)}


def time_statistics(folder: Path, repeats: int) -> dict:
    """Time drift.command.compare_tables on two in-memory tables: type check, NaN handling, sort, statistics."""
    import pandas as pd

    load_drift()
    command, tables_module = (
        sys.modules["template_pkg.loop.drift.command"],
        sys.modules["template_pkg.loop.drift.tables"],
    )
    verdict = sys.modules["template_pkg.loop.drift.verdict"].verdict
    settings = drift_params()["drift"]
    reference, current = pd.read_parquet(folder / "reference.parquet"), pd.read_parquet(folder / "current.parquet")
    tables = tables_module.FrameTable(Path("reference"), reference), tables_module.FrameTable(Path("current"), current)
    command.compare_tables(*tables, settings, target=None)  # warm up: imports, first-touch memory
    seconds = {}
    for workers in (1, None):
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            result, _ = command.compare_tables(*tables, settings, target=None, workers=workers)
            result.update(verdict(result, settings))
            runs.append(time.perf_counter() - start)
        seconds["1 thread" if workers == 1 else "1 thread per core"] = {
            "best": min(runs),
            "median": statistics.median(runs),
        }
    return {
        "rows": len(reference),
        "seconds": seconds,
        "columns": {
            name: {k: column[k] for k in ("method", "statistic", "drift")} for name, column in result["columns"].items()
        },
        "dataset_drift": result["dataset_drift"],
    }


def run_command_args(folder: Path) -> list[str]:
    """Write the benchmark's params.yaml into `folder` and return the `drift` command's arguments."""
    import yaml

    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump(drift_params()), encoding="utf-8")
    args = ["--no-model", "--params", str(params), "--reference", str(folder / "reference.parquet")]
    return [*args, "--current", str(folder / "current.parquet"), "--report-dir", str(folder / "report")]


def run_command(folder: Path) -> dict:
    """Run the whole `drift` command in this process and report its wall time and peak resident memory."""
    drift = load_drift()
    args = run_command_args(folder)
    start = time.perf_counter()
    code = drift.main(args)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    report = json.loads((folder / "report" / "drift.json").read_text(encoding="utf-8"))
    return {"exit_code": code, "seconds": seconds, "peak_rss_mb": peak_mb, "rows": report["reference"]["rows"]}


def run_process(folder: Path, repeats: int) -> dict:
    """Time the whole command as a user runs it: a fresh interpreter each time, start-up included."""
    import subprocess

    run_command_args(folder)  # writes params.yaml
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import drift_side; "
        "sys.exit(drift_side.load_drift().main(sys.argv[2:]))"
    )
    runs = []
    for _ in range(repeats + 1):  # the first run warms the page cache and the bytecode cache
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", script, str(HERE), *run_command_args(folder)], check=True,
                       capture_output=True)  # fmt: skip
        runs.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    runs = runs[1:]
    return {"seconds": {"best": min(runs), "median": statistics.median(runs)}, "peak_rss_mb": peak_mb}


def verify(folder: Path, names: list[str]) -> dict:
    """Recompute normalised Wasserstein with scipy for some columns and compare with the command's report."""
    import pyarrow.parquet as pq
    from scipy import stats

    report = json.loads((folder / "report" / "drift.json").read_text(encoding="utf-8"))
    checks = {}
    for name in names:
        reference = pq.read_table(folder / "reference.parquet", columns=[name]).column(0).to_numpy()
        current = pq.read_table(folder / "current.parquet", columns=[name]).column(0).to_numpy()
        expected = stats.wasserstein_distance(reference, current) / np.std(reference)
        reported = report["columns"][name]["statistic"]
        checks[name] = {"scipy": expected, "drift_json": reported, "difference": abs(expected - reported)}
        del reference, current
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["generate", "time", "command", "process", "verify"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("columns", nargs="*")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.action == "generate":
        output = generate(args.folder, args.rows)
    elif args.action == "time":
        output = time_statistics(args.folder, args.repeats)
    elif args.action == "command":
        output = run_command(args.folder)
    elif args.action == "process":
        output = run_process(args.folder, args.repeats)
    else:
        output = verify(args.folder, args.columns)
    print(json.dumps(output))


if __name__ == "__main__":
    main()
