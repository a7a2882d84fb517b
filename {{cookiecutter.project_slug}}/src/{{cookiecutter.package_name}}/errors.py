"""How a command reports an error: one line on stderr, then its exit code."""

from __future__ import annotations

import sys


def fail(error: BaseException | str, code: int | None = None) -> int:
    """Print `error: <message>` as one line and return the exit code (the error's own, else `code`, else 2).

    Line breaks inside the message (a column name from the data, a server's answer) are folded into
    spaces: the error stays one line, and nothing from the data can start a line of a CI log, where
    a line beginning with `::` is a workflow command.
    """
    print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
    return code if code is not None else getattr(error, "exit_code", 2)
