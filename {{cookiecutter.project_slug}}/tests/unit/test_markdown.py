"""Markdown from hostile text renders as that literal text, and long documents are cut to fit GitHub."""

import html
import re

import pytest
from markdown_it import MarkdownIt

from {{ cookiecutter.package_name }}.loop.markdown import (
    GITHUB_LIMIT,
    Section,
    code_span,
    escape_cell,
    escape_text,
    fit,
    render,
)

# CommonMark with raw HTML allowed, plus GitHub's tables: what a comment would let through.
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
HOSTILE = [
    "<script>alert(1)</script>",
    "@octocat",
    "a|b",
    "line\nbreak",
    "`",
    "[x](javascript:alert(1))",
    "![img](https://example.com/x.png)",
    "**bold** _em_ ~~gone~~",
    "&lt;b&gt; &amp;",
    "# heading",
    "1. item",
    "- item",
    "a\\|b",
    "<https://example.com>",
]


def to_html(markdown: str) -> str:
    return RENDERER.render(markdown)


def text_of(rendered: str) -> str:
    """The text a reader sees in rendered HTML: no tags, entities decoded, zero-width spaces removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u200b", "").strip()


def visible(markdown: str) -> str:
    return text_of(to_html(markdown))


@pytest.mark.parametrize("value", HOSTILE)
def test_escaped_text_renders_as_the_literal_text_and_nothing_else(value):
    escaped = escape_text(value)
    rendered = to_html(escaped)
    assert "\n" not in escaped
    assert re.search(r"<(script|a|img|strong|em|s|del|h\d|ol|ul|li|code|b)\b", rendered) is None, rendered
    assert visible(escaped) == " ".join(value.split())


@pytest.mark.parametrize("value", HOSTILE)
def test_escaped_cells_keep_the_table_shape(value):
    table = f"| one | two |\n|---|---|\n| {escape_cell(value)} | x |\n"
    rendered = to_html(table)
    body = rendered.split("<tbody>")[1]
    assert body.count("<td>") == 2, rendered
    cell = re.search(r"<td>(.*?)</td>", body, re.S).group(1)
    assert text_of(cell) == " ".join(value.split())


def test_mentions_and_issue_references_do_not_notify():
    assert "@octocat" not in escape_text("hi @octocat and @org/team")
    assert "@&#8203;octocat" in escape_text("@octocat")
    assert "#12" not in escape_text("fixes #12")


def test_script_tags_become_entities():
    assert escape_text("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.mark.parametrize("value", ["plain", "a`b", "``", "`edge`", "<script>alert(1)</script>", "@octocat", "a|b"])
def test_code_span_shows_the_value_verbatim(value):
    rendered = to_html(code_span(value))
    code = re.search(r"<code>(.*?)</code>", rendered).group(1)
    assert html.unescape(code) == value
    assert "<script" not in rendered


def test_code_span_in_a_table_cell_escapes_pipes():
    table = f"| a | b |\n|---|---|\n| {code_span('x|y', cell=True)} | z |\n"
    rendered = to_html(table)
    assert "<code>x|y</code>" in rendered and rendered.split("<tbody>")[1].count("<td>") == 2
    assert code_span("line\nbreak") == "`line break`"
    assert code_span("") == ""


def test_fit_leaves_a_short_document_alone():
    sections = [Section(["# Title"]), Section(["## Rows", ""], ["- a", "- b"], "rows.json")]
    assert fit(sections, GITHUB_LIMIT) == sections
    assert render(sections) == "# Title\n\n## Rows\n\n- a\n- b\n"


def test_fit_cuts_long_sections_and_says_where_the_rest_is():
    rows = [f"| column_{i} | {'x' * 40} |" for i in range(5_000)]
    short = Section(["### Short", ""], ["- kept"], "short.json")
    long = Section(["### Long", "", "| a | b |", "|---|---|"], rows, "reports/long.json")
    sections = [Section(["## Report"]), long, short]
    document = render(fit(sections, 10_000))
    assert len(document) <= 10_000
    assert "- kept" in document and "### Long" in document and "| a | b |" in document
    cut = re.search(r"_… ([\d,]+) more rows not shown .*`reports/long.json`", document)
    kept = document.count("| column_")
    assert cut and kept > 0 and kept + int(cut.group(1).replace(",", "")) == 5_000


def test_fit_drops_whole_lines_when_the_fixed_text_alone_is_too_long():
    sections = [Section([f"line {i} " + "y" * 100 for i in range(200)])]
    document = render(fit(sections, 5_000))
    assert len(document) <= 5_000
    assert all(line.startswith(("line ", "_…")) or not line for line in document.splitlines())
