"""Make the validation HTML safe to open: sanitised Data Docs and a self-contained report.

Great Expectations renders column names and values into its Data Docs without escaping them, and
loads its CSS and JavaScript from CDNs. After it writes them, every page is passed through nh3 (the
Ammonia sanitiser): scripts, remote styles, images and event attributes are removed, so nothing
from the data can run. Bootstrap's stylesheet (from XStatic-Bootstrap) and GE's own are inlined
from their packages, so a page opens offline with its layout.
Its index tables are drawn by JavaScript, so each page links to `report.html`, our own report:
one self-contained page, every value escaped with markupsafe.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

REPORT_NAME = "report.html"
REMOTE_URL = re.compile(r"url\(\s*['\"]?(https?:)?//[^)]*\)", re.IGNORECASE)
BASE_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
code { background: #f3f3f3; padding: 0 0.2rem; word-break: break-all; }
.collapse { display: block; }
.passed { color: #1a7f37; } .failed { color: #cf222e; }
.notice { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.5rem; }
"""


def ge_stylesheet() -> str:
    """Return the styles Data Docs pages load from CDNs, from installed packages, without remote URLs.

    GE's pages are laid out with Bootstrap 4 (its cards, grid and tables); XStatic-Bootstrap ships
    the same major version as a Python package. GE's own stylesheet comes after it, as on the page.
    """
    from importlib.resources import files

    bootstrap = files("xstatic.pkg.bootstrap").joinpath("data/css/bootstrap.min.css").read_text(encoding="utf-8")
    ge = files("great_expectations.render.view").joinpath("static/styles/data_docs_default_styles.css")
    css = bootstrap.replace("/*# sourceMappingURL=bootstrap.min.css.map */", "") + "\n" + ge.read_text(encoding="utf-8")
    return REMOTE_URL.sub("none", css)


def page(title: str, body: str, css: str) -> str:
    """Return a whole HTML document; `body` must already be safe HTML."""
    from markupsafe import escape

    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def sanitise_page(html: str) -> str:
    """Return the body of a Data Docs page with everything that could run or load removed."""
    import nh3

    tags = set(nh3.ALLOWED_TAGS) - {"img", "area", "map"}
    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items() if tag in tags}
    attributes["*"] = {"class", "id"}
    return nh3.clean(
        html,
        tags=tags,
        clean_content_tags={"script", "style", "title", "noscript", "template"},
        attributes=attributes,
        url_schemes={"http", "https", "mailto"},
    )


def sanitise_site(docs_dir: Path) -> int:
    """Rewrite every Data Docs page under `docs_dir` as a sanitised, offline page; return how many."""
    css = ge_stylesheet() + BASE_CSS
    pages = sorted(path for path in docs_dir.rglob("*.html") if path.name != REPORT_NAME)
    for path in pages:
        report = Path(os.path.relpath(docs_dir / REPORT_NAME, path.parent)).as_posix()
        notice = (
            '<p class="notice">Scripts and remote styles were removed from this page so that nothing from the '
            f'data can run. The readable validation report is <a href="{report}">{REPORT_NAME}</a>.</p>'
        )
        body = sanitise_page(path.read_text(encoding="utf-8"))
        if path == docs_dir / "index.html":
            body = page_links(docs_dir, pages) + body
        path.write_text(page("Data Docs", notice + body, css), encoding="utf-8")
    return len(pages)


def page_links(docs_dir: Path, pages: list[Path]) -> str:
    """Return static links to every other page: GE's index lists them with JavaScript, which is removed."""
    from markupsafe import Markup, escape

    items = [
        Markup('<li><a href="{0}">{0}</a></li>').format(path.relative_to(docs_dir).as_posix())
        for path in pages
        if path != docs_dir / "index.html"
    ]
    return str(Markup('<h2>Pages</h2><ul class="pages">{}</ul>').format(escape("").join(items)))


def report_body(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """Return the report's HTML body: verdict, inputs and one row per expectation, all escaped."""
    from markupsafe import Markup, escape

    verdict = "passed" if summary["success"] else "failed"
    parts = [
        Markup('<h1>Data validation: <span class="{0}">{0}</span></h1>').format(verdict),
        Markup("<p>{} of {} expectations failed on {} rows.</p>").format(
            summary["failed"], summary["evaluated"], summary["rows"]
        ),
    ]
    if summary.get("hint"):
        parts.append(Markup("<p>{}</p>").format(summary["hint"]))
    parts.append(Markup("<h2>Inputs</h2><table><tr><th>file</th><th>md5</th></tr>"))
    for name, digest in summary.get("inputs", {}).items():
        parts.append(Markup("<tr><td><code>{}</code></td><td><code>{}</code></td></tr>").format(name, digest))
    parts.append(Markup("</table><h2>Expectations</h2><table><tr>"))
    parts.extend(Markup("<th>{}</th>").format(name) for name in ("result", "column", "expectation", "expected", "seen"))
    parts.append(Markup("</tr>"))
    for row in rows:
        result = "passed" if row["passed"] else "failed"
        cells = [row["column"], row["expectation"], row["expected"], row["observed"]]
        parts.append(Markup('<tr><td class="{0}">{0}</td>').format(result))
        parts.extend(Markup("<td><code>{}</code></td>").format(cell) for cell in cells)
        parts.append(Markup("</tr>"))
    parts.append(Markup("</table>"))
    return str(escape("").join(parts))


def write_report(docs_dir: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """Write our own self-contained, escaped validation report into `docs_dir` and return its path."""
    path = docs_dir / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    title = "Data validation: " + ("passed" if summary["success"] else "failed")
    path.write_text(page(title, report_body(summary, rows), BASE_CSS), encoding="utf-8")
    return path
