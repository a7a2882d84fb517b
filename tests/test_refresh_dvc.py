"""A refresh of raw data kept in DVC: the branch carries the new pointer and the data is on the remote.

The README's "Changing the data" moves `data/raw/data.csv` into DVC. A refresh then must not
commit the file to git: `make refresh-branch` updates `data/raw/data.csv.dvc`, pushes the new
data to the remote (where the pull request's run pulls it from) and commits the pointer with
`dvc.lock`. Without a remote it can push to, it stops with one line and proposes nothing.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

IDENTITY = {"GIT_AUTHOR_NAME": "Data", "GIT_AUTHOR_EMAIL": "data@example.com",
            "GIT_COMMITTER_NAME": "Data", "GIT_COMMITTER_EMAIL": "data@example.com"}  # fmt: skip


def run(command: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    environment = {**os.environ, **IDENTITY, "DRIFT_ISSUE": ""}
    environment["PATH"] = f"{cwd / '.venv' / 'bin'}{os.pathsep}{environment['PATH']}"
    found = subprocess.run(shlex.split(command), cwd=cwd, env=environment, capture_output=True, text=True)
    if check and found.returncode != 0:
        raise AssertionError(f"{command} failed ({found.returncode}):\n{found.stdout[-3000:]}\n{found.stderr[-3000:]}")
    return found


def project_with_raw_data_in_dvc(where: Path, remote: str) -> Path:
    """Bake, set up, and move the raw data into DVC as the README's "Changing the data" says."""
    template = Path(__file__).parents[1]
    run(f"{sys.executable} -m cookiecutter --no-input {template} -o {where} dvc_remote={remote}", where)
    project = next(where.iterdir())
    run("make setup", project)
    run("git rm --quiet --cached data/raw/data.csv", project)
    run("dvc add --quiet data/raw/data.csv", project)
    if remote != "none":
        run("dvc push --quiet", project)
    run("git add data/raw/data.csv.dvc data/raw/.gitignore", project)
    run("git commit --quiet -m 'Keep the raw data in DVC'", project)
    return project


def test_the_refresh_branch_carries_the_pointer_and_the_data_is_on_the_remote(tmp_path: Path) -> None:
    project = project_with_raw_data_in_dvc(tmp_path, "local")
    main = run("git rev-parse HEAD", project).stdout.strip()
    run("make refresh", project)
    run("make refresh-branch", project)
    assert run("git rev-parse data-refresh^", project).stdout.strip() == main
    changed = run("git diff --name-only main data-refresh", project).stdout.split()
    assert changed == ["data/raw/data.csv.dvc", "dvc.lock"]  # the pointer, never the data itself
    pointer = yaml.safe_load(run("git show data-refresh:data/raw/data.csv.dvc", project).stdout)
    data = (project / "data/raw/data.csv").read_bytes()
    assert pointer["outs"][0]["md5"] == hashlib.md5(data).hexdigest()
    # The remote holds the new data: a clean cache pulls it back.
    run("rm -rf .dvc/cache data/raw/data.csv", project)
    run("dvc pull --quiet data/raw/data.csv.dvc", project)
    assert (project / "data/raw/data.csv").read_bytes() == data


def test_without_a_remote_the_refresh_branch_stops_and_proposes_nothing(tmp_path: Path) -> None:
    project = project_with_raw_data_in_dvc(tmp_path, "none")
    run("make refresh", project)
    found = run("make refresh-branch", project, check=False)
    assert found.returncode != 0
    [line] = [line for line in found.stderr.splitlines() if line.startswith("error: ")]
    assert "data/raw/data.csv is kept in DVC" in line and "push failed" in line, found.stderr
    assert run("git branch --list data-refresh", project).stdout.strip() == ""
