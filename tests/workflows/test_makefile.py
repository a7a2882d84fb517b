"""The generated Makefile: VERSION never reaches a shell unless it is a positive integer, and
telemetry is off unless the user opts in. Nothing here installs the project: the checks run
while make reads the Makefile, before any recipe."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from workflow_support import bake

HOSTILE = [
    "2; touch X #", "$(shell touch X)", "$$(touch X)", "`touch X`", "1\ntouch X", "2 && touch X",
    "-1", "0", "07", "1.5", "+3", "3 4",
]  # fmt: skip
VERSION_ERROR = "VERSION must be a positive integer such as 3 (digits only: no sign, point or spaces)"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return bake({}, tmp_path_factory.mktemp("makefile"))


def make(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    unset = {"VERSION", "SHIFT", "MAKEFLAGS", "MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK"}
    clean = {key: value for key, value in os.environ.items() if key not in unset}
    command = ["make", "--no-print-directory", *args]
    return subprocess.run(command, cwd=project, env={**clean, **(env or {})}, capture_output=True, text=True)


@pytest.mark.parametrize("version", HOSTILE)
@pytest.mark.parametrize("how", ["argument", "environment"])
def test_promote_refuses_a_bad_version_before_any_shell_sees_it(project, version, how):
    found = (
        make(project, "promote", f"VERSION={version}")
        if how == "argument"
        else make(project, "promote", env={"VERSION": version})
    )
    assert found.returncode == 2
    [line] = found.stderr.splitlines()
    assert VERSION_ERROR in line
    assert found.stdout == ""
    assert not (project / "X").exists()
    assert not (project / ".venv").exists(), "make ran a recipe (setup) before refusing"


def test_promote_without_a_version_says_how(project):
    found = make(project, "promote")
    assert found.returncode == 2
    [line] = found.stderr.splitlines()
    assert "VERSION is missing: give the model version, e.g. make promote VERSION=3" in line


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_promote_passes_a_positive_integer_to_the_command(project, how):
    args, env = (["VERSION=12"], None) if how == "argument" else ([], {"VERSION": "12"})
    found = make(project, "--dry-run", "promote", *args, env=env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[-1].endswith("promote --version 12")


def test_other_targets_ignore_version(project):
    found = make(project, "help", "VERSION=not a number")
    assert found.returncode == 0, found.stderr
    assert "make promote" in found.stdout


def test_current_passes_shift_to_the_shell_only_quoted(project):
    found = make(project, "--dry-run", "current", "SHIFT=1; touch X")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[-1].endswith('current --shift "$SHIFT"')


SHOW = "show-telemetry: ; @echo MLFLOW_DISABLE_TELEMETRY=$$MLFLOW_DISABLE_TELEMETRY DO_NOT_TRACK=$$DO_NOT_TRACK"


def test_telemetry_is_off_by_default(project):
    found = make(project, f"--eval={SHOW}", "show-telemetry")
    assert found.stdout.strip() == "MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true", found.stderr


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_telemetry_is_an_opt_in(project, how):
    settings = {"MLFLOW_DISABLE_TELEMETRY": "false", "DO_NOT_TRACK": "false"}
    args = [f"{key}={value}" for key, value in settings.items()] if how == "argument" else []
    found = make(project, f"--eval={SHOW}", "show-telemetry", *args, env=None if args else settings)
    assert found.stdout.strip() == "MLFLOW_DISABLE_TELEMETRY=false DO_NOT_TRACK=false", found.stderr
