"""How a command reports an error: one line on stderr, then its exit code."""

from __future__ import annotations

import os
import sys

EXIT_REGISTRY = 4


class RegistryError(RuntimeError):
    """The registry could not give a definite answer; the command must stop (exit 4)."""

    exit_code = EXIT_REGISTRY


class TuneError(ValueError):
    """Tuning cannot start or finish: the message names the setting or file and what is allowed."""


def fail(error: BaseException | str, code: int | None = None) -> int:
    """Print `error: <message>` as one line and return the exit code (the error's own, else `code`, else 2).

    Line breaks inside the message (a column name from the data, a server's answer) are folded into
    spaces and other control characters escaped (printable): the error stays one line, and nothing
    from the data can start a line of a CI log, where a line beginning with `::` is a workflow command.
    """
    print(f"error: {printable(str(error))}", file=sys.stderr)
    return code if code is not None else getattr(error, "exit_code", 2)


def printable(text: str) -> str:
    """One terminal line: line breaks folded into spaces, other control characters (an escape
    sequence from the data, say) shown escaped, never run."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in " ".join(text.split()))


def output(name: str, value: str, show: bool = True) -> None:
    """Print `name=value` (unless `show` is false) and add it to the step's outputs on GitHub ($GITHUB_OUTPUT)."""
    line = f"{name}={value}"
    if show:
        print(line)
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
