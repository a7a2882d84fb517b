"""What a report may say about this run: which results it produced, and what it is compared with.

A result (the validation summary, the gate decision) records the hashes of the inputs it judged.
It belongs to this run only if each of them equals the file on disk now; otherwise the report
says "did not run" and why. The metrics and params are compared with the merge base of HEAD
and the default branch, found the same way on a laptop and in CI.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .git import output
from .markdown import code_span, escape_text

INPUT_NAMES = {"model": "model", "holdout": "holdout rows", "metrics": "metrics", "suite": "expectation suite"}
INPUT_NAMES["params"] = "settings (params.yaml: data, gate, register)"


@dataclass
class Verdict:
    """A result file read for the report: its content if this run produced it, else why not."""

    path: Path
    content: dict[str, Any] | None
    reason: str = ""


def file_md5(path: Path) -> str | None:
    """Return the MD5 of a file's bytes (the hash DVC records), or None if it does not exist."""
    try:
        return hashlib.md5(path.read_bytes()).hexdigest()
    except OSError:
        return None


def read_result(path: Path) -> tuple[dict[str, Any] | None, str]:
    """Read a JSON result; None and the reason when it is missing or unreadable."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{code_span(path)} does not exist: the stage that writes it did not run."
    except (OSError, ValueError) as error:
        return None, f"{code_span(path)} could not be read: {escape_text(error)}."
    if not isinstance(content, dict):
        return None, f"{code_span(path)} is not a JSON object."
    return content, ""


def this_runs(
    path: Path,
    files: Mapping[str, Path],
    computed: Mapping[str, str] | None = None,
    required: tuple[str, ...] = (),
    at_least: int = 1,
) -> Verdict:
    """Read a result and keep it only if it records every required input and each hash equals that input now.

    `files` maps an input's name to its file (other names are file paths themselves);
    `computed` gives the current hash of inputs that are not files (the settings);
    `required` names inputs that must be recorded, and `at_least` how many must be in all.
    """
    content, reason = read_result(path)
    if content is None:
        return Verdict(path, None, reason)
    recorded = content.get("inputs")
    if not isinstance(recorded, dict) or len(recorded) < max(at_least, 1):
        return Verdict(path, None, f"{code_span(path)} records no input hashes, so nothing ties it to this run.")
    missing = [name for name in required if name not in recorded]
    if missing:
        names = ", ".join(escape_text(INPUT_NAMES.get(name, name)) for name in missing)
        return Verdict(path, None, f"{code_span(path)} records no hash of the {names}, so nothing ties it to this run.")
    for name, digest in recorded.items():
        where = files.get(name, Path(str(name)))
        now = (computed or {}).get(name) or file_md5(where)
        what = f"The {escape_text(INPUT_NAMES.get(name, 'data'))} that {code_span(path)} judged"
        if now is None:
            return Verdict(path, None, f"{what} is not in this run: {code_span(where)} does not exist.")
        if now != digest:
            return Verdict(path, None, f"{what} is not this run's: {code_span(where)} has changed since.")
    return Verdict(path, content)


def after_validation(validation: Verdict, gate: Verdict) -> Verdict:
    """The gate judges a model trained on validated data: without this run's passed validation it did not run."""
    if validation.content is None:
        return Verdict(gate.path, None, "Training did not run in this run, because data validation did not run.")
    if validation.content.get("success") is not True:
        return Verdict(gate.path, None, "Training did not run in this run, because data validation failed.")
    return gate


@dataclass
class Base:
    """The commit the diffs compare with: the merge base of HEAD and the default branch."""

    branch: str
    commit: str

    @property
    def name(self) -> str:
        return f"{code_span(self.branch)} at {code_span(self.commit[:8])} (merge base)"


def base_revision() -> Base | None:
    """Find the default branch (the pull request's base, origin/HEAD, main, master) and its merge base."""
    base_ref = os.environ.get("GITHUB_BASE_REF")
    candidates = [f"origin/{base_ref}"] if base_ref else []
    for ref in [*candidates, "origin/HEAD", "main", "master", "origin/main", "origin/master"]:
        if output("rev-parse", "--verify", "--quiet", ref + "^{commit}") is None:
            continue
        commit = output("merge-base", "HEAD", ref)
        if commit is not None:
            branch = output("rev-parse", "--abbrev-ref", ref) if ref == "origin/HEAD" else ref
            return Base(branch or ref, commit)
    return None
