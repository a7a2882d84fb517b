"""Helpers shared by the workflow tests: the option matrix for `.github/`, baking, the rehearsal host."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from conftest import cycled_matrix
from cookiecutter.main import cookiecutter
from harness import Host

TEMPLATE = Path(__file__).resolve().parents[2]
GITHUB_TEMPLATE = TEMPLATE / "{{cookiecutter.project_slug}}" / ".github"
NODE_TOOLS = TEMPLATE / "node_modules"


def options_in_logic() -> set[str]:
    """Answers that `.github/` templates branch on (`{% if %}`, `{% set %}`): these interact."""
    used = set()
    for path in GITHUB_TEMPLATE.rglob("*"):
        if path.is_file():
            for statement in re.findall(r"{%-?(.*?)-?%}", path.read_text(encoding="utf-8"), re.S):
                used.update(re.findall(r"cookiecutter\.(\w+)", statement))
    return used


def github_matrix(options: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every combination of the answers `.github/` branches on; every other choice cycles through its values.

    An answer that is only substituted (python_version, retrain_on_drift) cannot change whether
    a workflow lints, so it is cycled instead of multiplied. Built from cookiecutter.json: a new
    option, or a new value, is covered without editing this file.
    """
    return cycled_matrix(options, sorted(options_in_logic() & set(options)))


def bake(answers: dict[str, str], output: Path) -> Path:
    """Bake the template without prompts and return the project folder."""
    return Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output)))


def find_uv() -> Path:
    """The uv executable itself (not a shim), which the setup-uv stand-in puts on a job's PATH."""
    for candidate in (Path(sys.executable).with_name("uv"), shutil.which("uv")):
        if candidate and Path(candidate).is_file() and Path(candidate).read_bytes()[:4] == b"\x7fELF":
            return Path(candidate)
    raise RuntimeError("no uv executable: install the `uv` package into the test environment")


def make_host(root: Path) -> Host:
    node = shutil.which("node")
    if node is None or not (NODE_TOOLS / "@actions" / "expressions").is_dir():
        raise RuntimeError("node and the npm packages are needed: run `npm ci` in the template folder")
    return Host(root=root, uv=find_uv(), node=node)
