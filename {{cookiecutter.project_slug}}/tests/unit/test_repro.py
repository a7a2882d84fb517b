"""Repro: DVC's pipeline with the project's own lines; errors keep DVC's wording."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.loop import repro


def test_a_failed_gate_is_named_from_dvcs_error() -> None:
    assert repro.failed_stage(RuntimeError("failed to reproduce 'gate': failed to run: python -m x gate")) == "gate"
    assert repro.failed_stage(RuntimeError("failed to reproduce 'train': failed to run")) is None


def test_outside_a_dvc_project_it_is_one_error_and_no_traceback(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "repro"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1
    assert "ERROR: you are not inside of a DVC repository" in done.stderr and "Traceback" not in done.stderr
