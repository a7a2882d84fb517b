"""Batch prediction: memory and throughput of `make predict` on a large table, against the model's own predict.

Bakes the default project (or uses `--project`), runs `make setup pipeline`, writes a table of
`--rows` rows (the holdout's rows drawn again with a little noise, an id column first) as Parquet
and CSV, then times, each in a fresh process as a user runs them:

- `python -m <package> predict --input big.<format> --output out.<format>` (the champion, read from
  the registry and checked; chunks of 100,000 rows), its wall time and peak memory (max RSS);
- the baseline: one process that reads the whole table with pandas and calls the same model's own
  `predict` on it (the time of `predict` alone, and of the whole process).

Targets (issue: "Use the model"): the command's peak memory within 1.5 GB at 10 million rows, and
its rows per second within 20% of `predict` on the whole table (ratio = command time / predict time,
at most 1.2, for Parquet). CSV is reported too; its parsing and writing are not part of the model.

    python3 benchmarks/predict_throughput.py [--rows 10000000] [--formats parquet csv] [--project PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
MEMORY_TARGET_MB = 1536
RATIO_TARGET = 1.2

BASELINE = """
import json, sys, time
import joblib, pandas as pd
started = time.perf_counter()
frame = (pd.read_parquet if sys.argv[1].endswith(".parquet") else pd.read_csv)(sys.argv[1])
model = joblib.load("models/model.joblib")
features = frame.drop(columns=["row id"])
begun = time.perf_counter()
predicted = model.predict(features)
print(json.dumps({"predict_seconds": time.perf_counter() - begun, "rows": len(predicted)}))
"""

TABLE = """
import sys
import numpy as np, pandas as pd
rows, out, formats = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
holdout = pd.read_csv("data/prepared/holdout.csv")
target = holdout.columns[-1]
features = holdout.drop(columns=[target])
rng = np.random.default_rng(0)
picked = features.iloc[rng.integers(0, len(features), rows)].reset_index(drop=True)
numbers = picked.select_dtypes("float").columns
picked[numbers] = picked[numbers] * (1 + rng.normal(0, 0.01, (rows, len(numbers))))
picked.insert(0, "row id", np.arange(rows))
if "parquet" in formats:
    picked.to_parquet(out + ".parquet", index=False)
if "csv" in formats:
    picked.to_csv(out + ".csv", index=False)
"""


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    found = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if found.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{found.stdout[-3000:]}\n{found.stderr[-3000:]}")
    return found.stdout


def user_env() -> dict[str, str]:
    """The environment a user's shell gives a command: no outer virtualenv, and bytecode written."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def baked(project: Path | None, folder: Path, env: dict[str, str], *targets: str) -> tuple[Path, str, str]:
    """The project to measure (`project`, else one baked into `folder` and made with `targets`): its
    folder, its Python and its package name."""
    if project is None:
        run([sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE), "-o", str(folder)], folder, env)
        project = next(path for path in folder.iterdir() if path.is_dir())
        run(["make", *targets], project, env)
    package = next(path.name for path in (project / "src").iterdir() if path.is_dir())
    return project, str(project / ".venv/bin/python"), package


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command alone; return (wall seconds, its peak RSS in MB, its stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed:\n{out[-2000:]}\n{err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"], choices=["parquet", "csv"])
    parser.add_argument("--project", type=Path, help="an existing baked project with a champion (default: bake one)")
    args = parser.parse_args()
    env = user_env()
    folder = Path(tempfile.mkdtemp(prefix="predict-bench-"))
    try:
        project, python, package = baked(args.project, folder, env, "setup", "pipeline")
        table = folder / "big"
        run([python, "-c", TABLE, str(args.rows), str(table), *args.formats], project, env)
        results = {"rows": args.rows, "cores": os.cpu_count(), "formats": {}}
        for kind in args.formats:
            source, out = f"{table}.{kind}", folder / f"out.{kind}"
            command = [python, "-m", package, "predict", "--input", source, "--output", str(out)]
            seconds, peak_mb, _ = timed(command, project, env)
            base_seconds, base_mb, printed = timed([python, "-c", BASELINE, source], project, env)
            predict_seconds = json.loads(printed)["predict_seconds"]
            results["formats"][kind] = {
                "input_mb": round(Path(source).stat().st_size / 2**20),
                "command_seconds": round(seconds, 1),
                "command_peak_mb": round(peak_mb),
                "rows_per_second": round(args.rows / seconds),
                "baseline_predict_seconds": round(predict_seconds, 1),
                "baseline_process_seconds": round(base_seconds, 1),
                "baseline_peak_mb": round(base_mb),
                "ratio_to_predict": round(seconds / predict_seconds, 3),
                "ratio_to_baseline_process": round(seconds / base_seconds, 3),
            }
            out.unlink(missing_ok=True)
        parquet = results["formats"].get("parquet")
        if parquet:
            peaks = [found["command_peak_mb"] for found in results["formats"].values()]
            results["memory_target_met"] = max(peaks) <= MEMORY_TARGET_MB
            results["throughput_target_met"] = parquet["ratio_to_predict"] <= RATIO_TARGET
        print(json.dumps(results, indent=2))
        return 0 if results.get("memory_target_met", True) and results.get("throughput_target_met", True) else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
