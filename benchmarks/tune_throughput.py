"""Tuning throughput: trials per minute of the demo study with 1 and 2 worker processes.

Bakes the default project, runs `make setup` and `make tune-data`, then for each worker count
starts that many `python -m <package> tune` processes at once on a new study of `--trials`
trials (each runs its share, as tune.yml's matrix jobs do) and times the whole commands, start-up
included, from the first start to the last exit. The study is in the journal file unless
`--storage` gives a database URL (OPTUNA_STORAGE).

    python3 benchmarks/tune_throughput.py [--trials 20] [--workers 1 2] [--storage postgresql://...]
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


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    found = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if found.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{found.stdout[-3000:]}\n{found.stderr[-3000:]}")
    return found.stdout


def study_round(project: Path, env: dict[str, str], trials: int, workers: int, name: str) -> tuple[float, dict]:
    """Run one study with `workers` processes; return (seconds, best.json of the study)."""
    python = str(project / ".venv/bin/python")
    package = next(path.name for path in (project / "src").iterdir() if path.is_dir())
    command = [python, "-m", package, "tune", "--study", name, "--trials", str(trials), "--workers", str(workers)]
    started = time.perf_counter()
    processes = []
    for number in range(1, workers + 1):
        worker = [*command, "--worker", str(number)]
        processes.append(subprocess.Popen(worker, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for process in processes:
        out, err = (stream.decode(errors="replace") for stream in process.communicate())
        if process.returncode != 0:
            sys.exit(f"tune failed ({process.returncode}):\n{out[-2000:]}\n{err[-2000:]}")
    seconds = time.perf_counter() - started
    return seconds, json.loads((project / "reports/tune/best.json").read_text(encoding="utf-8"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--storage", default="", help="OPTUNA_STORAGE for the study (default: the journal file)")
    parser.add_argument("--keep-folder", action="store_true")
    args = parser.parse_args()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "OPTUNA_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # start-up as a user gets it
    if args.storage:
        env["OPTUNA_STORAGE"] = args.storage
    folder = Path(tempfile.mkdtemp(prefix="tune-throughput-"))
    try:
        run([sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE), "-o", str(folder)], folder, env)
        project = next(path for path in folder.iterdir() if path.is_dir())
        run(["make", "setup"], project, env)
        run(["make", "tune-data"], project, env)
        print(
            f"storage: {'database' if args.storage else 'journal file'}; {os.cpu_count()} cores; {args.trials} trials"
        )
        print("workers  seconds  trials/min  best")
        for workers in args.workers:
            seconds, best = study_round(project, env, args.trials, workers, f"bench-{workers}-{time.time_ns()}")
            done = best["trials"].get("complete", 0)
            score = f"{best['metric']} {best['best']['value']:.4f}"
            print(f"{workers:>7}  {seconds:7.1f}  {done / seconds * 60:10.1f}  {score}")
    finally:
        if args.keep_folder:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
