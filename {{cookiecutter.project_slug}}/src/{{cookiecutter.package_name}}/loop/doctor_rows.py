"""The doctor's table rows and the repository they describe, shared by its checks."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import github_api as api


@dataclass
class Row:
    setting: str
    status: str  # ok, warn, off, unknown
    expected: str
    found: str
    consequence: str = ""
    fix: str = ""


@dataclass
class Repo:
    """The repository being checked: its API answers (read once), plan, bake answers and variables."""

    name: str
    info: dict
    plan: api.Plan
    bake: dict
    root: Path = Path(".")
    given_variables: dict[str, str] | None = None  # toJSON(vars) in a workflow, else read through the API
    answers: dict[str, Any] = field(default_factory=dict)

    def get(self, path: str) -> Any:
        """This repository's `path`, or None when it does not exist (404); other errors are raised."""
        if path not in self.answers:
            try:
                self.answers[path] = api.get(f"repos/{self.name}/{path}" if path else f"repos/{self.name}")
            except api.NotFound:
                self.answers[path] = None
        return self.answers[path]

    @property
    def default_branch(self) -> str:
        return self.info.get("default_branch", "main")

    def variables(self) -> dict[str, str]:
        if self.given_variables is None:
            found = api.get_all(f"repos/{self.name}/actions/variables", "variables")
            self.given_variables = {v["name"]: v.get("value", "") for v in found}
        return self.given_variables


def given_variables(text: str | None) -> dict[str, str] | None:
    """The variables a workflow passed as `toJSON(vars)` (environment variable VARIABLES), if any."""
    if not text:
        return None
    found = json.loads(text)
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None


def environment_variables() -> dict[str, str] | None:
    return given_variables(os.environ.get("VARIABLES"))
