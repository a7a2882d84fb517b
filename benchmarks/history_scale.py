"""The drift history at ten million column rows: time and peak memory of each `history` command.

Bakes the default project (or uses `--project`), runs `make setup`, writes a history of `--runs`
checks of `--columns` columns each (hourly, so about 14 monthly Parquet segments at the defaults:
10,000 x 1,000 = 10,000,000 rows), then times, each in a fresh process as the workflow runs them:

- `history record`: add one more check (a drift.json of `--columns` columns) to the history;
- `history alert`: the k-of-n decision;
- `history page`: the whole page (charts of the 40 features with the largest recent effect, the
  table of every feature);
- `history push` to a local bare repository, again after one more record (only the changed month's
  segment is new to the branch), and `history pull` of it into a fresh clone.

Target: every command's peak memory within 1.5 GB (the limit the drift check and `predict` keep).

    python3 benchmarks/history_scale.py [--runs 10000] [--columns 1000] [--project PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict_throughput import baked, run, timed, user_env  # the same way of baking, running and timing

MEMORY_TARGET_MB = 1536

GENERATE = """
import datetime, json, sys
from pathlib import Path
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
runs, columns, folder = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
(folder / "columns").mkdir(parents=True)
start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
times = [start + datetime.timedelta(hours=index) for index in range(runs)]
ids = np.array([f"{index:016x}" for index in range(runs)], dtype=object)
names = np.array([f"feature {index:04d}" for index in range(columns)], dtype=object)
rng = np.random.default_rng(0)
drifted = rng.random(runs) < 0.05
with open(folder / "runs.jsonl", "w", encoding="utf-8") as handle:
    for index, moment in enumerate(times):
        handle.write(json.dumps({
            "format": 1, "id": ids[index], "at": moment.isoformat(timespec="seconds"), "drift": bool(drifted[index]),
            "reasons": ["share"] if drifted[index] else [], "breaks": [], "share": 0.6 if drifted[index] else 0.01,
            "columns": columns, "drifted": 0, "rows": {"reference": 100000, "current": 5000},
            "champion": str(1 + index // 2000), "champion_since": None, "model": "champion", "metric": "roc_auc",
            "holdout": 0.9,
            "estimate": {"estimate": 0.88, "low": 0.86, "high": 0.9}, "realised": None, "commit": None,
            "run_url": None}, sort_keys=True) + "\\n")
months = np.array([moment.strftime("%Y-%m") for moment in times])
for month in sorted(set(months)):
    chosen = np.flatnonzero(months == month)
    size = len(chosen) * columns
    table = pa.table({
        "run": pa.array(np.repeat(ids[chosen], columns), pa.string()),
        "column": pa.array(np.tile(names, len(chosen)), pa.string()),
        "kind": pa.array(np.full(size, "numeric", dtype=object), pa.string()),
        "method": pa.array(np.full(size, "wasserstein", dtype=object), pa.string()),
        "statistic": rng.gamma(2.0, 0.03, size).astype(np.float32), "threshold": np.full(size, 0.1, np.float32),
        "p_value": rng.random(size, np.float32), "drift": rng.random(size) < 0.03,
        "null_reference": np.zeros(size, np.float32), "null_current": (rng.random(size, np.float32) * 0.01),
    })
    pq.write_table(table, folder / "columns" / f"{month}.parquet", compression="zstd")
report = {"dataset_drift": False, "reasons": [], "drift_share": 0.0, "number_of_columns": columns,
          "drifted_columns": [], "reference": {"path": "r", "rows": 100000}, "current": {"path": "c", "rows": 5000},
          "model": None, "columns": {name: {"type": "numeric", "method": "wasserstein", "statistic": 0.05,
          "threshold": 0.1, "p_value": 0.5, "drift": False, "null_fraction": {"reference": 0.0, "current": 0.0}}
          for name in names}}
Path(sys.argv[4]).write_text(json.dumps(report))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--columns", type=int, default=1_000)
    parser.add_argument("--project", type=Path, help="an existing baked project after `make setup` (default: bake one)")
    args = parser.parse_args()
    env = user_env()
    identity = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env.update({**identity, "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"})
    folder = Path(tempfile.mkdtemp(prefix="history-bench-"))
    try:
        project, python, package = baked(args.project, folder, env, "setup")
        history = project / "drift-history"
        shutil.rmtree(history, ignore_errors=True)
        report = folder / "drift.json"
        started = time.perf_counter()
        run([python, "-c", GENERATE, str(args.runs), str(args.columns), str(history), str(report)], project, env)
        generated = time.perf_counter() - started
        segments = sorted((history / "columns").glob("*.parquet"))
        size_mb = sum(path.stat().st_size for path in [history / "runs.jsonl", *segments]) / 2**20
        origin = folder / "origin.git"
        run(["git", "init", "--quiet", "--bare", str(origin)], folder, env)
        if not (project / ".git").exists():
            run(["git", "init", "--quiet"], project, env)
            run(["git", "commit", "--quiet", "--allow-empty", "-m", "start"], project, env)
        if "bench" in run(["git", "remote"], project, env).split():
            run(["git", "remote", "remove", "bench"], project, env)
        run(["git", "remote", "add", "bench", str(origin)], project, env)
        results = {"runs": args.runs, "columns": args.columns, "rows": args.runs * args.columns,
                   "segments": len(segments), "history_mb": round(size_mb, 1), "generated_seconds": round(generated),
                   "cores": os.cpu_count(), "commands": {}}  # fmt: skip
        steps = {
            "record": ["history", "record", "--report", str(report)],
            "alert": ["history", "alert"],
            "page": ["history", "page"],
            "push": ["history", "push", "--remote", "bench"],
        }
        for name, command in steps.items():
            seconds, peak_mb, printed = timed([python, "-m", package, *command], project, env)
            results["commands"][name] = {"seconds": round(seconds, 1), "peak_mb": round(peak_mb),
                                         "said": printed.strip()}  # fmt: skip
        # The next check: one more record, and a push that sends only what the branch lacks.
        report.write_text(report.read_text().replace('"drift_share": 0.0', '"drift_share": 0.001'))
        run([python, "-m", package, "history", "record", "--report", str(report)], project, env)
        seconds, peak_mb, printed = timed([python, "-m", package, "history", "push", "--remote", "bench"], project, env)
        results["commands"]["push again"] = {"seconds": round(seconds, 1), "peak_mb": round(peak_mb),
                                             "said": printed.strip()}  # fmt: skip
        clone = folder / "clone"
        run(["git", "clone", "--quiet", str(origin), str(clone)], folder, env)
        shutil.copy2(project / "params.yaml", clone / "params.yaml")
        seconds, peak_mb, printed = timed([python, "-m", package, "history", "pull"], clone, env)
        results["commands"]["pull"] = {"seconds": round(seconds, 1), "peak_mb": round(peak_mb), "said": printed.strip()}
        page = project / "reports" / "drift-history" / "index.html"
        results["page_kb"] = round(page.stat().st_size / 1024)
        results["memory_target_met"] = max(c["peak_mb"] for c in results["commands"].values()) <= MEMORY_TARGET_MB
        run(["git", "remote", "remove", "bench"], project, env)
        shutil.rmtree(history, ignore_errors=True)
        print(json.dumps(results, indent=2))
        return 0 if results["memory_target_met"] else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
