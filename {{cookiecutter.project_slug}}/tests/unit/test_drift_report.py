"""The drift report: verdict first, data escaped for Markdown and HTML, and drift.md within GitHub's limit."""

import itertools
import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }}.loop import drift
from {{ cookiecutter.package_name }}.loop.drift import page, report
from {{ cookiecutter.package_name }}.loop.drift.cells import ordered
from {{ cookiecutter.package_name }}.loop.drift.columns import compare_column
from {{ cookiecutter.package_name }}.loop.drift.model import prediction_drift
from {{ cookiecutter.package_name }}.loop.drift.verdict import CHECKS
from {{ cookiecutter.package_name }}.loop.params import load_params, section

HOSTILE = ["<script>alert(1)</script>", "@octocat", "a|b", "two\nlines", "; touch X", "<img src=x onerror=alert(1)>"]


def hostile_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Columns named with hostile text, categories with hostile values (new in the current data), a shift."""
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({name: rng.normal(0, 1, 1000) for name in HOSTILE})
    reference["@octocat category"] = rng.choice(["<b>bold</b>", "x|y"], 1000)
    current = pd.DataFrame({name: rng.normal(1, 1, 300) for name in HOSTILE})
    current["@octocat category"] = rng.choice(["<b>bold</b>", "@octocat", "<script>x</script>"], 300)
    current[HOSTILE[0]] = current[HOSTILE[0]].astype(object)
    current.loc[0, HOSTILE[0]] = "<script>junk</script>"  # a type change, with the value as an example
    return reference, current


def test_markdown_escapes_everything_from_the_data(drift_folder):
    reference, current = hostile_frames()
    reference.to_csv("reference.csv", index=False)
    current.to_csv("current.csv", index=False)
    assert drift.main(["--no-model"]) == drift.DRIFT_EXIT_CODE
    markdown = Path("out/drift.md").read_text()
    for raw in ("<script", "<img", "<b>", "@octocat"):
        assert raw not in markdown
    assert "@&#8203;octocat" in markdown and "&lt;script&gt;" in markdown
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    header = table[0]
    for row in table:
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) == len(re.split(r"(?<!\\)\|", header)), row


def test_html_has_no_script_and_loads_nothing(drift_folder):
    reference, current = hostile_frames()
    reference.to_csv("reference.csv", index=False)
    current.to_csv("current.csv", index=False)
    drift.main(["--no-model"])
    page = Path("out/drift.html").read_text()
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for external in ("http:", "https:", 'src="', "<link"):
        assert external not in page
    assert page.count("<svg") == len(HOSTILE) + 1  # a plot for every column


def test_report_leads_with_verdict_then_schema_then_model_then_columns(drift_folder):
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"age": rng.normal(40, 10, 2000), "colour": rng.choice(["red", "blue"], 2000)})
    current = pd.DataFrame({"age": rng.normal(48, 10, 300), "colour": ["green"] * 30 + ["red"] * 270})
    reference.to_csv("reference.csv", index=False)
    current.to_csv("current.csv", index=False)
    drift.main(["--no-model"])
    markdown = Path("out/drift.md").read_text()
    order = ["## Data drift: drift detected", "- ✗ schema:", "Categories unseen", "**Model**", "**Columns"]
    positions = [markdown.index(text) for text in order]
    assert positions == sorted(positions)
    assert "median +0.8 sd" in markdown  # a readable effect size, next to the statistic
    assert "green 10% → " not in markdown and "green (10%)" in markdown


def test_markdown_stays_under_githubs_limit_with_2000_columns(drift_folder):
    rng = np.random.default_rng(2)
    names = [f"feature number {index} with a rather long name | and a pipe" for index in range(2000)]
    reference = pd.DataFrame(rng.normal(0, 1, (300, 2000)), columns=names)
    current = pd.DataFrame(rng.normal(0.5, 1, (100, 2000)), columns=names)
    reference.to_parquet("reference.parquet")
    current.to_parquet("current.parquet")
    started = time.perf_counter()
    code = drift.main(["--no-model", "--reference", "reference.parquet", "--current", "current.parquet"])
    seconds = time.perf_counter() - started
    assert code == drift.DRIFT_EXIT_CODE
    markdown = Path("out/drift.md").read_text()
    assert len(markdown) < 65_536
    assert "more columns, with less effect: see drift.html and drift.json" in markdown
    assert len(json.loads(Path("out/drift.json").read_text())["columns"]) == 2000
    assert Path("out/drift.html").stat().st_size < 5_000_000
    assert seconds < 120  # about 20 s on two shared cores


def test_markdown_is_cut_to_any_limit_with_a_count():
    columns = {
        f"c{index}": {
            "type": "numeric",
            "method": "wasserstein",
            "statistic": 0.5,
            "threshold": 0.1,
            "p_value": 0.001,
            "drift": True,
            "null_fraction": {"reference": 0.0, "current": 0.0},
            "summary": {},
        }
        for index in range(300)
    }
    result = {
        "dataset_drift": True,
        "headline": "dataset drift (share)",
        "checks": {name: {"drift": False, "ran": True, "text": "x"} for name in CHECKS},
        "reference": {"path": "r.csv", "rows": 10},
        "current": {"path": "c.csv", "rows": 10},
        "schema_changes": {
            "missing_in_current": [f"gone {index}" for index in range(500)],
            "new_in_current": [],
            "unseen_categories": {},
            "type_changed": {},
        },
        "model": None,
        "columns": columns,
    }
    markdown = report.to_markdown(result, limit=8000)
    assert len(markdown) <= 8000
    assert "and 480 more: see drift.json" in markdown or "more rows not shown" in markdown


class PageParts(HTMLParser):
    """A page's ids, in-page links, and per chart the text it shows (SVG <text>, not <title> hovers)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.charts: list[dict] = []  # per <svg>: its height and the texts drawn on it, with their y
        self.in_text: float | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "id" in found:
            self.ids.append(found["id"])
        if tag == "a" and (found.get("href") or "").startswith("#"):
            self.links.append(found["href"][1:])
        if tag == "svg":
            self.charts.append({"height": float(found["height"]), "texts": [], "ys": []})
        self.in_text = float(found["y"]) if tag == "text" else None

    def handle_endtag(self, tag: str) -> None:
        self.in_text = None

    def handle_data(self, data: str) -> None:
        if self.in_text is not None:
            self.charts[-1]["texts"].append(data)
            self.charts[-1]["ys"].append(self.in_text)

    def chart_showing(self, text: str) -> dict:
        return next(chart for chart in self.charts if text in chart["texts"])


def shown(name: str, texts: list[str]) -> bool:
    """Whether `name` is drawn whole or cut with an ellipsis."""
    return any(text == name or (text.endswith("…") and name.startswith(text[:-1])) for text in texts)


def run_page(reference: pd.DataFrame, current: pd.DataFrame) -> tuple[dict, str]:
    """Run the drift check without a model; return drift.json and drift.html."""
    reference.to_csv("reference.csv", index=False)
    current.to_csv("current.csv", index=False)
    drift.main(["--no-model"])
    return json.loads(Path("out/drift.json").read_text()), Path("out/drift.html").read_text()


CATEGORIES = [
    "<b>x</b>",
    "two words",
    'a "quoted" & <odd> name',
    "a category name far too long to fit on the left of its bars",
    "東京都の非常に長いカテゴリー名です",
    *[f"kind {index}" for index in range(15)],
]


def test_bar_charts_name_every_category_as_visible_escaped_text(drift_folder):
    rng = np.random.default_rng(3)
    reference = pd.DataFrame({"kind": rng.choice(CATEGORIES, 2000), "flag": rng.choice(["on", "off"], 2000)})
    current = pd.DataFrame({"kind": rng.choice(CATEGORIES[:5], 400), "flag": rng.choice(["on", "off"], 400)})
    _, html = run_page(reference, current)
    parts = PageParts(html)
    many, two = parts.chart_showing("two words"), parts.chart_showing("on")
    assert all(shown(name, many["texts"]) for name in CATEGORIES), many["texts"]
    assert ">&lt;b&gt;x&lt;/b&gt;</text>" in html and "<b>x" not in html
    assert "&quot;quoted&quot; &amp; &lt;odd&gt;" in html
    assert any(text.endswith("%") for text in many["texts"])  # each bar ends in its share
    labels = sorted(y for y, text in zip(many["ys"], many["texts"], strict=True) if not text.endswith("%"))
    assert min(below - above for above, below in itertools.pairwise(labels)) >= 20  # one row per category
    assert many["height"] >= 20 * 20 > two["height"]
    assert "<script" not in html


def test_histograms_label_their_low_middle_and_high_values(drift_folder):
    rng = np.random.default_rng(4)
    times = pd.Series(pd.date_range("2024-01-01", periods=2000, freq="h")).dt.strftime("%Y-%m-%d %H:%M")
    reference = pd.DataFrame({"age": rng.normal(40, 10, 2000), "seen": times})
    current = pd.DataFrame({"age": rng.normal(48, 10, 300), "seen": times[-300:].to_numpy()})
    _, html = run_page(reference, current)
    moments = r"\d{4}-\d\d-\d\d \d\d:\d\d"
    seen, ages = sorted(PageParts(html).charts, key=lambda chart: not re.fullmatch(moments, chart["texts"][0]))
    assert all(re.fullmatch(moments, text) for text in seen["texts"]) and len(seen["texts"]) == 3
    low, middle, high = (float(text) for text in ages["texts"])
    assert low < middle < high


def test_prediction_bars_name_every_class(drift_folder):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"a": rng.normal(0, 1, 1000)})
    reference["target"] = np.where(reference["a"] > 0, "<b>churn</b>", "stays")
    current = pd.DataFrame({"a": rng.normal(1, 1, 300)})
    result, _ = run_page(reference, current)
    fitted = LogisticRegression().fit(reference[["a"]], reference["target"])
    predictions = prediction_drift(fitted, reference, current, "target", section(load_params(), "drift"))
    plot = predictions.pop("plot")
    result["model"] = {"source": "a model", "quality": {"message": "no labels"}, "predictions": predictions}
    html = page.to_html(result, {}, plot)
    parts = PageParts(html)
    assert shown("<b>churn</b>", parts.chart_showing("stays")["texts"])
    assert ">&lt;b&gt;churn&lt;/b&gt;</text>" in html
    assert "predictions" in parts.links and "predictions" in parts.ids


def test_every_column_link_lands_on_one_section_of_its_own(drift_folder, monkeypatch):
    monkeypatch.setattr(page, "PLOTTED", 2)
    names = [*HOSTILE, "x" * 100 + "1", "x" * 100 + "2", "column-0", "東京 列", 'say "hi"', "with space", "gone"]
    rng = np.random.default_rng(6)
    reference = pd.DataFrame({name: rng.normal(0, 1, 500) for name in names})
    current = pd.DataFrame({name: rng.normal(index % 2, 1, 200) for index, name in enumerate(names[:-1])})
    result, html = run_page(reference, current)  # "gone" is missing from the current data: no plot data
    parts = PageParts(html)
    assert len(parts.ids) == len(set(parts.ids))
    assert set(parts.links) <= set(parts.ids)
    assert sorted(link for link in parts.links if link.startswith("column-")) == sorted(
        f"column-{index}" for index in range(len(names))
    )
    sections = re.findall(r'<details id="column-(\d+)"( open)?>', html)
    drifted = [column["drift"] for _, column in ordered(result["columns"])]
    assert [int(index) for index, _ in sections] == list(range(len(names)))
    assert [bool(opened) for _, opened in sections] == drifted  # a drifted column's section opens by default
    assert html.count("<svg") == 2  # PLOTTED; the others show their figures only
    assert "<script" not in html and "<img" not in html


def test_a_page_of_2000_columns_is_written_in_under_a_second(drift_folder):
    rng = np.random.default_rng(7)
    settings = section(load_params(), "drift")
    numbers = compare_column(pd.Series(rng.normal(0, 1, 500)), pd.Series(rng.normal(1, 1, 200)), settings)
    kinds = compare_column(pd.Series(rng.choice(CATEGORIES, 500)), pd.Series(rng.choice(CATEGORIES, 200)), settings)
    result, _ = run_page(pd.DataFrame({"a": rng.normal(0, 1, 50)}), pd.DataFrame({"a": rng.normal(0, 1, 50)}))
    compared = {f"{kind} {index}": pair for index in range(1000) for kind, pair in (("n", numbers), ("k", kinds))}
    result["columns"] = {name: column for name, (column, _) in compared.items()}
    started = time.perf_counter()
    html = page.to_html(result, {name: plot for name, (_, plot) in compared.items()})
    assert time.perf_counter() - started < 1.0
    assert html.count("<svg") == page.PLOTTED and html.count('<details id="column-') == 2000
    assert len(html) < 5_000_000
