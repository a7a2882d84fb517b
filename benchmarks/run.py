"""Run the drift benchmarks: `make bench` from the template root (or `python benchmarks/run.py`).

1. Environments, made with uv from the lock files next to this script: benchmarks/.venv-drift (the
   template's drift code and its libraries) and benchmarks/.venv-evidently (Evidently needs pandas<3,
   so it never shares an environment with the template; generated projects never depend on it).
2. Speed: ROWS x 20 numeric columns, read from the same Parquet files by both sides; the template's
   statistics and Evidently's DataDriftPreset with the same methods, timed side by side, and their
   per-column decisions compared.
3. Scale: SCALE_ROWS x 20 columns from Parquet through the whole `drift` command, with its peak RSS;
   two columns recomputed with scipy to show the statistics are exact.

Uses only the standard library, so any Python 3.11+ can run it. Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"  # git-ignored
TARGETS = {"statistics_seconds": 1.0, "speedup": 50.0, "peak_rss_mb": 1536.0, "exact": 1e-9}
VERIFIED_COLUMNS = ["c05_shift_0.2sd", "c16_new_mode"]


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def environment(name: str) -> Path:
    """Create or refresh benchmarks/.venv-NAME from requirements-NAME.lock; return its python."""
    venv, lock = HERE / f".venv-{name}", HERE / f"requirements-{name}.lock"
    python, marker = venv / "bin" / "python", venv / ".installed"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            [*uv(), "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(venv)], check=True
        )
        subprocess.run([*uv(), "pip", "sync", "--quiet", "--python", str(python), str(lock)], check=True)
        marker.touch()
    return python


def side(python: Path, script: str, *args: str) -> dict:
    """Run one side's script and return the JSON object on its last line of output."""
    print(f"$ {python.relative_to(HERE.parent)} benchmarks/{script} {' '.join(args)}", file=sys.stderr, flush=True)
    completed = subprocess.run([str(python), str(HERE / script), *args], capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"benchmarks/{script} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def dataset(python: Path, rows: int) -> Path:
    """Write the Parquet pair for `rows` rows once; later runs reuse it (the data is seeded)."""
    folder = DATA / f"rows-{rows}"
    if not (folder / "current.parquet").exists():
        side(python, "drift_side.py", "generate", str(folder), "--rows", str(rows))
    return folder


def speed(drift_python: Path, evidently_python: Path, rows: int, repeats: int) -> dict:
    folder = dataset(drift_python, rows)
    ours = side(drift_python, "drift_side.py", "time", str(folder), "--repeats", str(repeats))
    whole = side(drift_python, "drift_side.py", "process", str(folder), "--repeats", str(repeats))
    theirs = side(evidently_python, "evidently_side.py", str(folder), "--repeats", str(max(1, repeats // 2)))
    disagreements = [
        name for name, column in ours["columns"].items() if column["drift"] != theirs["columns"][name]["drift"]
    ]
    gaps = [abs(column["statistic"] - theirs["columns"][name]["statistic"]) for name, column in ours["columns"].items()]
    fastest = min(run["best"] for run in ours["seconds"].values())
    return {
        "rows": rows,
        "template_seconds": ours["seconds"],
        "evidently_seconds": theirs["seconds"],
        "evidently_version": theirs["evidently"],
        "speedup_best": theirs["seconds"]["best"] / fastest,
        "speedup_one_thread": theirs["seconds"]["best"] / ours["seconds"]["1 thread"]["best"],
        "command_seconds": whole["seconds"],
        "command_peak_rss_mb": whole["peak_rss_mb"],
        "evidently_with_html_seconds": theirs["with_html_seconds"],
        "speedup_whole": theirs["with_html_seconds"]["best"] / whole["seconds"]["best"],
        "drifted_columns": sorted(name for name, column in ours["columns"].items() if column["drift"]),
        "evidently_drifted_count": theirs["drifted_columns_count"],
        "decisions_disagree": disagreements,
        "largest_statistic_difference": max(gaps),
    }


def scale(drift_python: Path, rows: int) -> dict:
    folder = dataset(drift_python, rows)
    command = side(drift_python, "drift_side.py", "command", str(folder))
    checks = side(drift_python, "drift_side.py", "verify", str(folder), *VERIFIED_COLUMNS)
    return {**command, "scipy_check": checks}


def verdicts(results: dict) -> dict[str, bool]:
    speed_result, scale_result = results.get("speed"), results.get("scale")
    found = {}
    if speed_result:
        fastest = min(run["best"] for run in speed_result["template_seconds"].values())
        found["statistics under 1 s"] = fastest < TARGETS["statistics_seconds"]
        found["statistics at least 50x faster than Evidently"] = speed_result["speedup_best"] >= TARGETS["speedup"]
        found["whole command at least 50x faster than Evidently with HTML"] = (
            speed_result["speedup_whole"] >= TARGETS["speedup"]
        )
        found["same decisions as Evidently"] = not speed_result["decisions_disagree"]
    if scale_result:
        found["scale: peak RSS under 1.5 GB"] = scale_result["peak_rss_mb"] < TARGETS["peak_rss_mb"]
        differences = [check["difference"] for check in scale_result["scipy_check"].values()]
        found["scale: equal to scipy within 1e-9"] = max(differences) <= TARGETS["exact"]
    return found


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def summary(results: dict) -> str:
    """Return the figures as the Markdown table kept in benchmarks/README.md."""
    speed_result, scale_result, met = results["speed"], results.get("scale"), results["verdicts"]
    size = f"{speed_result['rows']:,} rows x 20 columns"
    rows = []
    for label, run in speed_result["template_seconds"].items():
        timing = f"best {run['best']:.3f} s, median {run['median']:.3f} s"
        rows.append((f"Template statistics, {size}, {label}", timing, "< 1 s", yes(run["best"] < 1.0)))
    evidently = speed_result["evidently_seconds"]
    name = f"Evidently {speed_result['evidently_version']} DataDriftPreset, same data"
    rows.append((name, f"best {evidently['best']:.1f} s, median {evidently['median']:.1f} s", "", ""))
    speedup = f"{speed_result['speedup_best']:.0f}x (template on 1 thread: {speed_result['speedup_one_thread']:.0f}x)"
    rows.append(("Speed-up of the statistics (best against best)", speedup, ">= 50x",
                 yes(met["statistics at least 50x faster than Evidently"])))  # fmt: skip
    whole, theirs = speed_result["command_seconds"], speed_result["evidently_with_html_seconds"]
    rows.append((f"Whole `drift` command in a fresh process, {size}, Parquet to drift.json/md/html",
                 f"best {whole['best']:.2f} s, median {whole['median']:.2f} s", "", ""))  # fmt: skip
    rows.append(("Evidently `run` + `save_html`, same data", f"best {theirs['best']:.1f} s, median "
                 f"{theirs['median']:.1f} s", "", ""))  # fmt: skip
    rows.append(("Speed-up of the whole command (best against best)", f"{speed_result['speedup_whole']:.0f}x",
                 ">= 50x", yes(met["whole command at least 50x faster than Evidently with HTML"])))  # fmt: skip
    disagree = speed_result["decisions_disagree"]
    same = f"differ: {', '.join(disagree)}" if disagree else "all 20 equal"
    gap = f"{same}; statistics differ by <= {speed_result['largest_statistic_difference']:.1e}"
    rows.append(("Per-column decisions against Evidently", gap, "equal", yes(met["same decisions as Evidently"])))
    if scale_result:
        size = f"{scale_result['rows']:,} rows x 20 columns"
        rows.append(
            (f"Whole `drift` command, {size} from Parquet", f"{scale_result['seconds']:.1f} s", "completes", "yes")
        )
        peak = f"{scale_result['peak_rss_mb']:.0f} MB"
        rows.append(("Peak RSS of that process", peak, "< 1536 MB", yes(met["scale: peak RSS under 1.5 GB"])))
        largest = max(check["difference"] for check in scale_result["scipy_check"].values())
        exact = yes(met["scale: equal to scipy within 1e-9"])
        rows.append(("drift.json against scipy, 2 columns", f"differ by <= {largest:.1e}", "<= 1e-9", exact))
    lines = ["| Measure | Result | Target | Met |", "|---|---|---|---|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the speed comparison")
    parser.add_argument("--scale-rows", type=int, default=10_000_000, help="rows of the scale run (0: skip)")
    parser.add_argument("--repeats", type=int, default=6, help="timed runs of the template (half as many of Evidently)")
    parser.add_argument(
        "--rates", action="store_true", help="measure false alarms and detection instead (drift_rates.py)"
    )
    args = parser.parse_args()
    drift_python = environment("drift")
    if args.rates:
        return subprocess.run([str(drift_python), str(HERE / "drift_rates.py")]).returncode
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "python": sys.version.split()[0]}
    results["speed"] = speed(drift_python, environment("evidently"), args.rows, args.repeats)
    if args.scale_rows:
        results["scale"] = scale(drift_python, args.scale_rows)
    results["verdicts"] = verdicts(results)
    DATA.mkdir(exist_ok=True)
    (DATA / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(summary(results))
    print(f"\nAll figures: {DATA.relative_to(HERE.parent) / 'results.json'}")
    return 0 if all(results["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
