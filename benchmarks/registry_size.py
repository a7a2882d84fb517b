"""How big the registry branch gets: ten registrations of the demo model, each published.

Bakes the default project, gives it a bare `origin`, then ten times changes the forest's size
(so each run trains a new model that passes the gate), runs `make pipeline` and
`make registry-push`, exactly as the `register` job does. Prints, after each push, the size of
the files on the branch and, at the end, the size of the bare repository after `git gc` (what
the branch costs GitHub and a clone).

    python3 benchmarks/registry_size.py [--registrations 10] [--keep-folder]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
BRANCH = "mlflow-registry"


def run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    found = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if found.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{found.stdout[-3000:]}\n{found.stderr[-3000:]}")
    return found.stdout


def branch_bytes(origin: Path, env: dict[str, str]) -> tuple[int, int]:
    """(files on the branch, bytes of those files)."""
    listing = run(["git", "ls-tree", "-r", "-l", BRANCH], origin, env).splitlines()
    return len(listing), sum(int(line.split()[3]) for line in listing)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrations", type=int, default=10)
    parser.add_argument("--keep-folder", action="store_true")
    args = parser.parse_args()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "VIRTUAL_ENV"))}
    env.update({"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
                "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"})  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="registry-size-"))
    try:
        run([sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE), "-o", str(folder)], folder, env)
        project = next(path for path in folder.iterdir() if path.is_dir())
        origin = folder / "origin.git"
        run(["git", "init", "--quiet", "--bare", str(origin)], folder, env)
        run(["git", "remote", "add", "origin", str(origin)], project, env)
        run(["git", "push", "--quiet", "origin", "HEAD:refs/heads/main"], project, env)
        run(["make", "setup"], project, env)
        params = project / "params.yaml"
        print("registration  seconds  files  branch MB")
        for number in range(1, args.registrations + 1):
            text = params.read_text(encoding="utf-8")
            params.write_text(re.sub(r"n_estimators: \d+", f"n_estimators: {190 + 10 * number}", text, count=1))
            started = time.monotonic()
            run(["make", "pipeline"], project, env)
            run(["make", "registry-push"], project, env)
            files, size = branch_bytes(origin, env)
            print(f"{number:12d}  {time.monotonic() - started:7.1f}  {files:5d}  {size / 1e6:9.1f}", flush=True)
        run(["git", "gc", "--quiet", "--prune=now"], origin, env)
        packed = sum(path.stat().st_size for path in (origin / "objects").rglob("*") if path.is_file())
        print(f"bare repository after git gc: {packed / 1e6:.1f} MB (main and {BRANCH})")
        print(run(["git", "show", f"{BRANCH}:registry.json"], origin, env))
    finally:
        if args.keep_folder:
            print(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
