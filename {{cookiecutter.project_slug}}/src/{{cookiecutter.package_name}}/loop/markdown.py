"""GitHub Markdown from untrusted text: escaping for every writer, and cutting to GitHub's size limit.

Anything that comes from the data, a pull request or a settings file (column names, category
values, file names, messages that quote them) goes through one of these before it reaches a
pull-request comment, an issue or a job summary:

  escape_text(value)             inline text: paragraphs, list items, headings, table cells
  escape_cell(value)             the same, named for table cells
  code_span(value, cell=False)   `value` verbatim in a code span; cell=True inside a table
  fit(sections, limit, more)     drop table rows or list items until the document fits

escape_text leaves no raw HTML (`<`, `>`, `&` become entities), no `@mention` or `#123`
reference that notifies anyone (a zero-width space follows `@` and `#`), no link, image,
emphasis or code (their punctuation is backslash-escaped) and no line break or table pipe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# GitHub refuses a comment, issue or job summary body over 65,536 characters.
GITHUB_LIMIT = 65_536
ZERO_WIDTH_SPACE = "&#8203;"  # an entity, so the file stays readable; GitHub renders it invisible

_INLINE = {char: "\\" + char for char in "\\`*_[]~|"}
_INLINE.update({"<": "&lt;", ">": "&gt;", "&": "&amp;", "@": "@" + ZERO_WIDTH_SPACE, "#": "#" + ZERO_WIDTH_SPACE})
_INLINE_TABLE = str.maketrans(_INLINE)
# At the start of a line these would open a list or a thematic break.
_LEADING_MARKER = re.compile(r"^(\d+)([.)])|^([-+=])")


def one_line(value: Any) -> str:
    """Return the value as text on one line, every run of whitespace (line breaks too) as one space."""
    return " ".join(str(value).split())


def escape_text(value: Any) -> str:
    """Return the value as Markdown that renders as the literal text, on one line."""
    return _LEADING_MARKER.sub(_escape_marker, one_line(value).translate(_INLINE_TABLE))


def _escape_marker(found: re.Match[str]) -> str:
    """Backslash-escape a list marker or `=` found at the start of the text."""
    digits, mark, sign = found.groups()
    return f"{digits}\\{mark}" if digits else f"\\{sign}"


def escape_cell(value: Any) -> str:
    """Return the value as the literal text of a table cell (escape_text escapes pipes and line breaks)."""
    return escape_text(value)


def code_span(value: Any, *, cell: bool = False) -> str:
    """Return the value verbatim in a code span; `cell=True` escapes pipes, which split table cells."""
    text = one_line(value)
    if not text:
        return ""
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "  # CommonMark strips one space on each side
    if cell:
        # A table splits its row before it parses code spans; GitHub removes this backslash again.
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


@dataclass
class Section:
    """A part of a document: `head` lines always shown, then `rows` that may be cut to fit."""

    head: list[str]
    rows: list[str] = field(default_factory=list)
    source: str = ""  # where the full list is, for the line that says rows were cut

    def lines(self) -> list[str]:
        """Return the head and the rows."""
        return [*self.head, *self.rows]


def render(sections: list[Section]) -> str:
    """Join the sections with a blank line between them."""
    return "\n\n".join("\n".join(lines) for lines in (section.lines() for section in sections) if lines) + "\n"


def cut_line(count: int, source: str) -> str:
    """Say how many rows were cut and where the full list is."""
    where = (
        f"the full list is in {code_span(source)}, uploaded with this run's artifacts" if source else "see the job log"
    )
    return f"_… {count:,} more rows not shown to stay under GitHub's {GITHUB_LIMIT:,}-character limit: {where}._"


def keep_rows(rows: list[str], budget: int) -> int:
    """Return how many leading rows fit in `budget` characters (each row plus its line break)."""
    used = 0
    for count, row in enumerate(rows):
        used += len(row) + 1
        if used > budget:
            return count
    return len(rows)


def fit(sections: list[Section], limit: int, more: Callable[[int, str], str] = cut_line) -> list[Section]:
    """Cut rows of the longest sections until the rendered document has at most `limit` characters."""
    if len(render(sections)) <= limit:
        return sections
    cut_note = len(more(10**9, max((s.source for s in sections), key=len, default=""))) + 1
    fixed = len(render([Section(s.head) for s in sections])) + cut_note * len(sections)
    budget = max(limit - fixed, 0)
    # Sections smaller than an equal share keep all their rows; the rest share what is left.
    order = sorted(range(len(sections)), key=lambda i: sum(len(row) + 1 for row in sections[i].rows))
    shares: dict[int, int] = {}
    for position, index in enumerate(order):
        share = budget // (len(order) - position)
        shares[index] = min(share, sum(len(row) + 1 for row in sections[index].rows))
        budget -= shares[index]
    fitted = []
    for index, section in enumerate(sections):
        kept = keep_rows(section.rows, shares[index])
        rows = section.rows[:kept]
        if kept < len(section.rows):
            rows.append(more(len(section.rows) - kept, section.source))
        fitted.append(Section(section.head, rows, section.source))
    return drop_lines(fitted, limit)


def drop_lines(sections: list[Section], limit: int) -> list[Section]:
    """Drop whole head lines from the end when the heads alone are too long (never cut inside a line)."""
    document = render(sections)
    if len(document) <= limit:
        return sections
    lines = document.splitlines()
    note = "_… the rest of this report is too long for GitHub: see this run's artifacts._"
    while lines and len("\n".join(lines)) + len(note) + 2 > limit:
        lines.pop()
    return [Section([*lines, "", note])]
