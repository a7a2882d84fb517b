"""Git, run the one way every command needs: a failure is one line naming what failed and why.

`run` raises GitError (or the caller's error class) with git's telling line; `output` is for the
questions whose failure means "not known" (no repository, no such revision). No command waits on
a terminal prompt for credentials.
"""

from __future__ import annotations

import os
import subprocess


class GitError(RuntimeError):
    """A git command failed; the message says which and git's reason."""

    exit_code = 2


def cause(stderr: str, fallback: str) -> str:
    """The line of git's error output that says why: a rejection or a fatal error, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()] or [fallback]
    telling = [line for line in lines if line.startswith(("! ", "fatal:", "error:", "remote: error"))]
    return (telling or lines)[-1 if not telling else 0]


def run(
    *args: str,
    env: dict[str, str] | None = None,
    what: str = "",
    hide: tuple[str, str] | None = None,
    error: type[Exception] = GitError,
) -> str:
    """Run git and return its output; a failure raises `error` naming `what` and git's reason.

    `hide` is (text, shown instead): a remote's URL with credentials is never printed.
    """
    try:
        found = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
        )
    except OSError as problem:  # no git on PATH
        raise error(f"{what or 'git ' + args[0]}: git cannot run: {problem.strerror or problem}") from None
    if found.returncode != 0:
        reason = cause(found.stderr, f"git exited {found.returncode}")
        if hide:
            reason = reason.replace(*hide)
        raise error(f"{what or 'git ' + args[0]}: {reason}")
    return found.stdout.strip()


def output(*args: str) -> str | None:
    """Git's output, or None when git, the repository or the revision is missing."""
    try:
        found = subprocess.run(["git", *args], check=False, capture_output=True, text=True)
    except OSError:
        return None
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else None
