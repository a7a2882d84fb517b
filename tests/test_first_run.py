"""Slow tier: the first five minutes, as a new user lives them, from a fresh clone.

The template's README commands run literally in a clone of a committed copy of the template
(`make demo`), then the generated README's quick start runs literally in the demo project, all
with relative paths. Then the cases a first run meets on real data: a gate that fails on the
very first run (nothing offered to `git add`, `make status` says why), and a project folder
that is moved after a run (the next command repairs it and `make registry-push` works).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import classification_csv
from template_repo import IDENTITY, template_copy

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("first-run")]

# Outputs DVC keeps in its cache (dvc.yaml outs without `cache: false`): never for `git add`.
CACHED = ("data/prepared/", "models/", "reports/validation/docs/")
DVC_HINTS = ("To track the changes with git", "dvc config core.autostage", "Use `dvc push`")
MLFLOW_NOISE = ("Failed to resolve installed pip version", "Inferred schema contains integer column",
                "Successfully registered model", "INFO mlflow")  # fmt: skip


def shell(line: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run one README line as a user types it, in a shell, with the user's environment."""
    env = {**os.environ, **IDENTITY}
    env.pop("VIRTUAL_ENV", None)  # as in a new terminal, not inside the template's test environment
    env["PATH"] = os.pathsep.join(
        part for part in env["PATH"].split(os.pathsep) if not part.startswith(str(Path(sys.prefix)))
    )
    result = subprocess.run(line, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{line!r} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def readme_commands(readme: Path, heading: str) -> list[str]:
    """The commands of the first ```sh block after `heading`, comments removed."""
    text = readme.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def offered_to_git(project: Path) -> list[str]:
    """What `git status` offers to add, one path per file."""
    status = shell("git status --porcelain --untracked-files=all", project).stdout
    return [line[3:] for line in status.splitlines()]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of the template, as a user gets it."""
    root = tmp_path_factory.mktemp("first-run")
    shell(f"git clone --quiet {template_copy(root)} clone", root)
    return root / "clone"


@pytest.fixture(scope="module")
def demo(clone: Path) -> dict:
    """The template README's commands, then the generated README's quick start, all literally."""
    commands = readme_commands(clone / "README.md", "## Try it")
    assert commands[0] == "make demo", commands
    output = shell(commands[0], clone)
    project = clone / "demo/churn-model"
    quick_start = readme_commands(project / "README.md", "## Quick start")
    assert quick_start == ["make setup", "make pipeline", "make status"], quick_start
    results = [shell(command, project) for command in quick_start]
    return {"project": project, "demo": output, "quick_start": results}


def test_make_demo_runs_the_whole_loop_from_a_fresh_clone(demo):
    out = demo["demo"].stdout
    assert "Created Churn Model in" in out and "gate: passed" in out
    page = demo["project"] / "reports/validation/docs/report.html"
    assert f"  {page}" in out and page.is_file()
    assert "@champion" in demo["quick_start"][-1].stdout


def test_the_loop_prints_the_projects_own_lines(demo):
    printed = demo["demo"].stdout + demo["demo"].stderr
    assert "repro: ran ingest, validate, train, evaluate, gate" in printed
    assert [noise for noise in DVC_HINTS + MLFLOW_NOISE if noise in printed] == []


def test_nothing_dvc_keeps_is_offered_to_git(demo):
    offered = offered_to_git(demo["project"])
    assert [path for path in offered if path.startswith(CACHED)] == []
    assert "dvc.lock" in offered
    tracked = shell("git ls-files", demo["project"]).stdout.split()
    assert [path for path in tracked if "__pycache__" in path or path.endswith(".pyc")] == []


def test_a_first_run_whose_gate_fails_offers_nothing_and_says_why(clone, tmp_path):
    """A classification CSV whose honest model misses the baked threshold: the common first run on real data."""
    classification_csv().to_csv(tmp_path / "mine.csv", index=False)
    python = clone / ".venv/bin/python"
    answers = "dataset=csv data_path=mine.csv target_column=churned metric_threshold=0.98 project_name=Strict"
    shell(f"{python} -m cookiecutter --no-input {os.path.relpath(clone, tmp_path)} {answers}", tmp_path)
    project = tmp_path / "strict"
    failed = shell("make setup pipeline", project, check=False)
    assert failed.returncode != 0
    assert "gate: FAILED" in failed.stderr and "repro: stopped at gate" in failed.stderr
    assert "make register" not in failed.stdout  # nothing after the gate ran
    assert [path for path in offered_to_git(project) if path.startswith(CACHED)] == []
    status = shell("make status", project).stdout
    assert "no aliased versions yet: the last gate failed" in status
    assert "misses the threshold 0.98" in status
    assert "gate.threshold = 0.98 (on gate.metric = roc_auc)" in status


def test_a_moved_project_works_again_and_pushes_its_registry(demo, tmp_path):
    project = demo["project"]
    shell(f"git init --quiet --bare {tmp_path / 'origin.git'}", tmp_path)
    shell(f"git remote add origin {tmp_path / 'origin.git'} && git push --quiet origin main", project)
    shell("make registry-push", project)
    moved = tmp_path / "renamed-project"
    shutil.move(project, moved)
    pushed = shell("make registry-push", moved)
    assert f"this project moved from {project}" in pushed.stdout
    assert f"registry: mlflow.db moved from {project} to {moved}" in pushed.stdout
    assert "registry: pushed mlflow-registry" in pushed.stdout
    status = shell("make status", moved).stdout
    assert "@champion" in status
    served = shell(
        ".venv/bin/python -c \"import mlflow.pyfunc; print(mlflow.pyfunc.load_model('models:/churn-model@champion'))\"",
        moved,
    )
    assert "churn-model" in served.stdout or "mlflow.pyfunc" in served.stdout
    shutil.move(moved, project)  # back where the other tests of this module expect it
