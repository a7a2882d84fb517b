"""The doctor's table rows and the repository they describe, shared by its checks."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import github_api as api

# GITHUB_TOKEN (doctor.yml) cannot read Actions permissions or secrets' names: an admin's gh can.
TOKEN_FIX = "run make doctor with gh logged in as a repository admin"
SETUP = "make github-setup"


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
    cut: list[str] = field(default_factory=list)  # lists longer than get_all reads

    def get(self, path: str, shape: type = dict) -> Any:
        """This repository's `path` (a JSON `shape`), or None when it does not exist (404); other errors are raised."""
        if path not in self.answers:
            try:
                self.answers[path] = api.get(f"repos/{self.name}/{path}" if path else f"repos/{self.name}", shape)
            except api.NotFound:
                self.answers[path] = None
        return self.answers[path]

    def all(self, path: str, key: str) -> list[dict]:
        """Every item of this repository's list `path`; a list cut short is remembered for its own row."""
        found = api.get_all(f"repos/{self.name}/{path}", key)
        if not found.complete:
            self.cut.append(path)
        return found

    @property
    def default_branch(self) -> str:
        return self.info.get("default_branch", "main")

    def variables(self) -> dict[str, str]:
        if self.given_variables is None:
            found = self.all("actions/variables", "variables")
            self.given_variables = {str(v.get("name")): str(v.get("value", "")) for v in found}
            if self.info.get("owner", {}).get("type") == "Organization":
                self.given_variables = {**self.organisation_variables(), **self.given_variables}
        return self.given_variables

    def organisation_variables(self) -> dict[str, str]:
        """The organisation's variables this repository may use (the workflows see them as `vars` too)."""
        try:
            found = self.all("actions/organization-variables", "variables")
        except (api.NotFound, api.Forbidden):
            return {}  # not visible to this token: the repository's own variables still decide
        return {str(v.get("name")): str(v.get("value", "")) for v in found}


def unread(setting: str, error: Exception) -> Row:
    """The row for a part of a check the token could not read: `unknown`, never `off`."""
    if isinstance(error, (api.Forbidden, api.NotFound)):
        return Row(setting, "unknown", "readable", str(error), "not checked", TOKEN_FIX)
    return Row(setting, "unknown", "an answer", str(error), "not checked", "run make doctor again")


def guarded(setting: str, check: Callable[..., Iterable[Row]], *args: Any) -> Iterator[Row]:
    """The rows of `check(*args)` up to a failure, then an `unknown` row for the part not read.

    The rate limit, an unexpected answer and no answer at all (or a 5xx) stop the whole doctor.
    """
    try:
        yield from check(*args)
    except (api.RateLimited, api.Unexpected):
        raise
    except api.ApiError as error:
        if not isinstance(error, (api.Forbidden, api.NotFound)) and (not error.status or error.status >= 500):
            raise
        yield unread(setting, error)


def cut_rows(repo: Repo) -> list[Row]:
    """A row for each list with more than get_all reads: what is beyond was not checked."""
    return [
        Row(
            f"list {path}",
            "unknown",
            "every item read",
            f"more than {api.PER_PAGE * api.MAX_PAGES:,} items: not all read",
            "the items beyond were not checked",
            "check the rest under Settings",
        )
        for path in repo.cut
    ]


def given_variables(text: str | None) -> dict[str, str] | None:
    """The variables a workflow passed as `toJSON(vars)` (environment variable VARIABLES), if any."""
    if not text:
        return None
    found = json.loads(text)
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None


def environment_variables() -> dict[str, str] | None:
    return given_variables(os.environ.get("VARIABLES"))
