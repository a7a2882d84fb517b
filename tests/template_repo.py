"""A throwaway git copy of the template, for tests of template updates (cruft and its workflow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Not imported from conftest, so that benchmarks can use these helpers outside pytest.
TEMPLATE = Path(__file__).resolve().parents[1]
NOT_COPIED = shutil.ignore_patterns(".venv", "node_modules", ".git", "__pycache__", ".ruff_cache", ".pytest_cache")
IDENTITY = {"GIT_AUTHOR_NAME": "Tester", "GIT_AUTHOR_EMAIL": "t@example.com"}
IDENTITY |= {"GIT_COMMITTER_NAME": "Tester", "GIT_COMMITTER_EMAIL": "t@example.com"}


def run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env={**os.environ, **IDENTITY})
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def commit(folder: Path, message: str) -> str:
    run(["git", "add", "--all"], folder)
    run(["git", "commit", "--quiet", "--no-verify", "-m", message], folder)
    return run(["git", "rev-parse", "HEAD"], folder).stdout.strip()


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name} no longer has {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def template_copy(root: Path) -> Path:
    """Copy the template's working tree (uncommitted work included) into a new repository: commit A."""
    template = root / "template"
    shutil.copytree(TEMPLATE, template, ignore=NOT_COPIED)
    run(["git", "init", "--quiet", "--initial-branch=main"], template)
    commit(template, "A")
    return template


def bake(template: Path, output: Path, **answers: str) -> tuple[Path, str]:
    """Bake the template into a new folder; return the project and what the hooks said on stderr."""
    output.mkdir()
    extra = [f"{key}={value}" for key, value in answers.items()]
    result = run([sys.executable, "-m", "cookiecutter", "--no-input", str(template), "-o", str(output), *extra], output)
    return next(path for path in output.iterdir() if path.is_dir()), result.stderr
