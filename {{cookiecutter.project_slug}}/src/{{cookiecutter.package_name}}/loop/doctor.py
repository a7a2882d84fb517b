"""Check every repository setting the workflows rely on and print one table: `make doctor`.

Environments and their deployment branches, required reviewers where configured, variables and
secrets (names only, never values), Actions permissions, the App token where auto-merge or the
refresh needs it, schedules, the registry branch's health and size, and leftover report refs
(doctor_checks.py). Each row: setting, expected, found, consequence, the exact fix.

Exit 0: the loop works as documented (rows marked `warn` say what the plan or a choice leaves
weaker); 1: something is off; 2: bad usage; 4: the API could not answer (a check the token may
not read: `unknown` rows, or the rate limit, no network, an unexpected answer: `error`, no table).
`--markdown PATH` writes the table as GitHub Markdown, also added to the job summary on GitHub;
`verdict=ok|off|unknown|error` goes to the step's outputs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from . import doctor_checks as checks
from . import doctor_rows as rows_
from . import github_api as api
from . import github_expected as expected
from .errors import fail, output, printable
from .markdown import code_span, escape_cell

COLUMNS = ("setting", "status", "expected", "found", "consequence", "fix")
EXIT = {"ok": 0, "off": 1, "unknown": api.EXIT_API, "error": api.EXIT_API}


def run_check(title: str, check, repo: rows_.Repo) -> list[rows_.Row]:
    """The check's rows; the part the token could not read becomes an `unknown` row after the rows found before it."""
    return list(rows_.guarded(title, check, repo))


def diagnose(repo: rows_.Repo) -> list[rows_.Row]:
    """Every check's rows, the plan first, lists cut short last."""
    rows = [rows_.Row("repository", "ok", "reachable", f"{repo.name}: {repo.plan.describe()}")]
    for title, check in checks.CHECKS.items():
        rows.extend(run_check(title, check, repo))
    return rows + rows_.cut_rows(repo)


def verdict(rows: list[rows_.Row]) -> str:
    statuses = {row.status for row in rows}
    return "off" if "off" in statuses else "unknown" if "unknown" in statuses else "ok"


def text_table(rows: list[rows_.Row]) -> str:
    """The table for a terminal: one line per row, every value made printable."""
    lines = [" | ".join(COLUMNS)]
    for row in rows:
        lines.append(" | ".join(printable(getattr(row, column)) or "-" for column in COLUMNS))
    return "\n".join(lines) + "\n"


def markdown_table(rows: list[rows_.Row], repo: str) -> str:
    """The table as GitHub Markdown: every cell escaped, each fix a code span."""
    lines = [
        f"## Repository settings: {escape_cell(repo)}",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        cells = [escape_cell(getattr(row, column)) for column in COLUMNS[:-1]]
        lines.append("| " + " | ".join([*cells, code_span(row.fix, cell=True)]) + " |")
    lines.append("")
    lines.append("Fix the rows marked `off` (then `make doctor` again); docs/ci.md, *GitHub set-up and doctor*.")
    return "\n".join(lines) + "\n"


def write_markdown(text: str, path: Path | None) -> None:
    """Write the Markdown table to `path` and, on GitHub, to the job summary."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(text)


def run(name: str, markdown: Path | None, root: Path = Path(".")) -> int:
    """Check the repository, print the table and return the exit code of its verdict."""
    info = api.repository_info(name)
    repo = rows_.Repo(name, info, api.plan(info), expected.answers(root), root, rows_.environment_variables())
    rows = diagnose(repo)
    print(text_table(rows), end="")
    write_markdown(markdown_table(rows, name), markdown)
    found = verdict(rows)
    output("verdict", found, show=False)
    print(f"doctor: {found}" + ("" if found == "ok" else f" ({sum(r.status == found for r in rows)} row(s))"))
    return EXIT[found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="owner/name (default: GH_REPO, else the origin remote)")
    parser.add_argument("--markdown", type=Path, help="also write the table as GitHub Markdown here")
    args = parser.parse_args(argv)
    try:
        return run(api.repository(args.repo), args.markdown)
    except (ValueError, FileNotFoundError) as error:
        return fail(error, 2)
    except api.ApiError as error:
        output("verdict", "error", show=False)  # not `unknown`: nothing was checked, the run must fail
        return fail(error)
