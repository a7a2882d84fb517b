"""The model card: its numbers (evaluate), its words (register), `status --version` and the report's part."""

from __future__ import annotations

import copy
import json
import re
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.loop import card, card_limits, card_markdown, evaluate, status, train
from {{ cookiecutter.package_name }}.loop.gate import file_md5
from {{ cookiecutter.package_name }}.loop.markdown import ZERO_WIDTH_SPACE
from {{ cookiecutter.package_name }}.loop.provenance import Verdict

TARGET = "target value"
CATEGORY = "plan <b>|@team"  # a column name that is Markdown, HTML and a mention at once
HOSTILE = ["<script>alert(1)</script>", "a|b", "@octocat", "`tick`", "(missing)"]
CLASSIFICATION = {"task": "classification", "target": TARGET}


def messy_frame(rows: int = 300, seed: int = 0, bool_gaps: bool = True) -> pd.DataFrame:
    """A category with hostile values, true/false with gaps, a time, a number and a column that leaks the label.

    `bool_gaps=False` for a table a model is fitted on: the project's features.py cannot encode a
    true/false column with missing cells yet (its imputer mixes the text "missing" with booleans).
    """
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    label = signal + rng.normal(scale=0.8, size=rows) > 0
    signed_up = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24, rows), unit="h")
    frame = pd.DataFrame(
        {
            "signal": signal.round(3),
            CATEGORY: rng.choice(HOSTILE, size=rows),
            "paperless": (rng.random(rows) < 0.5).astype(object),
            "signed up": signed_up.strftime("%Y-%m-%d %H:%M:%S"),
            "leak": np.where(label, 1.0, 0.0) + rng.normal(scale=0.01, size=rows).round(4),
            TARGET: np.where(label, "churned", "stayed"),
        }
    )
    if bool_gaps:
        frame.loc[::9, "paperless"] = None
    frame.loc[::13, CATEGORY] = None
    return frame


def through_csv(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The frame as the stages read it: written and read back as CSV."""
    frame.to_csv(path, index=False)
    return pd.read_csv(path)


@pytest.fixture
def card_params(params: dict[str, Any]) -> dict[str, Any]:
    """The project's params for the synthetic classification tables, scored on roc_auc."""
    found = copy.deepcopy(params)
    found["data"] = {**found["data"], **CLASSIFICATION}
    found["gate"]["metric"] = "roc_auc"
    return found


def scored(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Truth, predictions and probabilities of a fair classifier on `rows` rows."""
    rng = np.random.default_rng(seed)
    truth = np.where(rng.random(rows) < 0.5, "yes", "no").astype(object)
    score = np.clip((truth == "yes") * 0.3 + rng.random(rows) * 0.7, 0, 1)
    proba = np.column_stack([1 - score, score])
    return truth, np.where(score > 0.5, "yes", "no").astype(object), proba, ["no", "yes"]


def width(interval: dict[str, Any]) -> float:
    return interval["high"] - interval["low"]


def test_bootstrap_intervals_contain_the_value_and_narrow_with_more_rows() -> None:
    few = card.bootstrap_intervals("classification", *scored(80), seed=42)
    many = card.bootstrap_intervals("classification", *scored(3_000), seed=42)
    assert sorted(few) == ["accuracy", "f1", "roc_auc"]
    for metric in few:
        for found in (few[metric], many[metric]):
            assert found["low"] <= found["value"] <= found["high"] and found["used"] == card.RESAMPLES
        assert width(many[metric]) < width(few[metric]) / 3, metric
    assert card.bootstrap_intervals("classification", *scored(80), seed=42) == few  # seeded


def test_bootstrap_skips_and_counts_resamples_where_a_metric_is_undefined() -> None:
    truth = np.array(["no"] * 11 + ["yes"], dtype=object)  # one positive: many resamples lack it
    proba = np.column_stack([np.linspace(0.9, 0.1, 12), np.linspace(0.1, 0.9, 12)])
    found = card.bootstrap_intervals("classification", truth, np.where(proba[:, 1] > 0.5, "yes", "no"), proba,
                                     ["no", "yes"], seed=1)  # fmt: skip
    assert 0 < found["roc_auc"]["used"] < card.RESAMPLES
    assert found["accuracy"]["used"] == card.RESAMPLES


def test_regression_intervals_cover_every_metric_of_the_task() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    found = card.bootstrap_intervals("regression", truth, truth + rng.normal(scale=0.3, size=200), None, [], seed=0)
    assert sorted(found) == ["mae", "r2", "rmse"]
    assert all(item["low"] <= item["value"] <= item["high"] for item in found.values())


def test_the_resampled_metrics_are_the_metrics_of_metrics_py() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        rows, labels = int(rng.integers(5, 50)), np.array(["a", "b", "c"], dtype=object)[: int(rng.integers(2, 4))]
        truth, predicted = rng.choice(labels, rows), rng.choice(labels, rows)
        binary = rng.choice(np.array(["x", "y"], dtype=object), rows)
        proba = rng.random((rows, 2)).round(1)
        everything = np.arange(rows)
        for metric in ("accuracy", "f1"):
            fast = card.resampler(metric, truth, predicted, None, list(labels))(everything)
            assert fast == pytest.approx(card.metric_value(metric, truth, predicted, None, list(labels)))
        fast = card.resampler("roc_auc", binary, binary, proba, ["x", "y"])(everything)
        slow = card.metric_value("roc_auc", binary, binary, proba, ["x", "y"])
        assert (np.isnan(fast) and np.isnan(slow)) or fast == pytest.approx(slow)


def slice_rows() -> tuple[pd.Series, np.ndarray, np.ndarray, np.ndarray]:
    """A category with hostile values and gaps; '@octocat' rows all have one class, so roc_auc is undefined there."""
    values = ["<script>"] * 30 + ["a|b"] * 25 + ["@octocat"] * 15 + ["`tick`"] * 5 + [None] * 12 + ["(missing)"] * 13
    rng = np.random.default_rng(0)
    truth = np.where(rng.random(len(values)) < 0.5, "yes", "no").astype(object)
    truth[55:70] = "yes"
    score = np.clip((truth == "yes") * 0.4 + rng.random(len(values)) * 0.6, 0, 1)
    score[:30] = rng.random(30)  # the model knows nothing about '<script>' rows: the worst slice
    proba = np.column_stack([1 - score, score])
    return pd.Series(values, dtype=object), truth, np.where(score > 0.5, "yes", "no"), proba


def test_slices_count_true_rows_keep_missing_apart_and_list_undefined_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    cells, truth, predicted, proba = slice_rows()
    monkeypatch.setattr(card, "WORST_SLICES", 10)  # every slice, to check every count
    found = card.column_slices("classification", "roc_auc", cells, truth, predicted, proba, ["no", "yes"])
    assert found["values"] == 6 and found["evaluated"] == 5
    assert found["too_few_rows"] == {"values": 1, "rows": 5}  # '`tick`': under MIN_SLICE_ROWS
    counts = {entry["value"]: entry["rows"] for entry in found["worst"] + found["undefined"]}
    assert counts == {"<script>": 30, "a|b": 25, "@octocat": 15, None: 12, "(missing)": 13}
    assert found["undefined"] == [{"value": "@octocat", "rows": 15, "why": "one class only"}]
    assert found["worst"][0]["value"] == "<script>"
    values = [entry["metric"] for entry in found["worst"]]
    assert values == sorted(values)  # worst first: higher roc_auc is better
    monkeypatch.setattr(card, "WORST_SLICES", 3)
    found = card.column_slices("classification", "roc_auc", cells, truth, predicted, proba, ["no", "yes"])
    assert [entry["metric"] for entry in found["worst"]] == values[:3]


def test_worst_slices_cover_category_and_true_false_columns_only(tmp_path: Path) -> None:
    frame = through_csv(messy_frame(), tmp_path / "messy.csv")
    kinds = {column: card.series_kind(frame[column], 20) for column in frame.columns}
    assert kinds["paperless"] == "boolean" and kinds["signed up"] == "datetime" and kinds[CATEGORY] == "categorical"
    features, truth = frame.drop(columns=[TARGET]), frame[TARGET]
    proba = np.column_stack([1 - frame["leak"].clip(0, 1), frame["leak"].clip(0, 1)])
    predicted = np.where(proba[:, 1] > 0.5, "churned", "stayed")
    found = card.worst_slices("classification", "roc_auc", features, truth, (predicted, proba, ["stayed", "churned"]),
                              kinds)  # fmt: skip
    assert [column["column"] for column in found["columns"]] == [CATEGORY, "paperless"]
    paperless = found["columns"][1]
    missing = [entry for entry in paperless["worst"] if entry["value"] is None]
    assert missing and missing[0]["rows"] == int(frame["paperless"].isna().sum())
    assert {entry["value"] for entry in paperless["worst"]} <= {"True", "False", None}


def test_importance_ranks_a_planted_leaky_column_first(tmp_path: Path, params: dict[str, Any]) -> None:
    frame = through_csv(messy_frame(bool_gaps=False), tmp_path / "messy.csv")
    model = train.fit(frame.head(200), CLASSIFICATION, params["train"])
    holdout = frame.tail(100)
    found = card.permutation_importances("classification", "roc_auc", model, holdout.drop(columns=[TARGET]),
                                         holdout[TARGET], seed=42)  # fmt: skip
    assert found["rows"] == 100 and found["repeats"] == card.IMPORTANCE_REPEATS
    assert found["columns"][0]["column"] == "leak"
    assert found["columns"][0]["mean"] > 5 * max(entry["mean"] for entry in found["columns"][1:])
    assert sorted(entry["column"] for entry in found["columns"]) == sorted(holdout.columns.drop(TARGET))


def test_importance_is_computed_on_at_most_its_row_limit(
    tmp_path: Path, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = through_csv(messy_frame(bool_gaps=False), tmp_path / "messy.csv")
    model = train.fit(frame, CLASSIFICATION, params["train"])
    monkeypatch.setattr(card, "IMPORTANCE_MAX_ROWS", 60)
    found = card.permutation_importances("classification", "accuracy", model, frame.drop(columns=[TARGET]),
                                         frame[TARGET], seed=1)  # fmt: skip
    assert found["rows"] == 60
    one_class = frame[frame[TARGET] == "churned"]
    skipped = card.permutation_importances("classification", "roc_auc", model, one_class.drop(columns=[TARGET]),
                                           one_class[TARGET], seed=1)  # fmt: skip
    assert skipped["skipped"] == "roc_auc is undefined on the holdout rows" and skipped["columns"] == []


def test_training_summary_names_kinds_time_ranges_and_rare_values(tmp_path: Path) -> None:
    frame = messy_frame()
    frame.loc[0, CATEGORY] = "seen once"
    frame = through_csv(frame, tmp_path / "train.csv")
    kinds = {column: card.series_kind(frame[column], 20) for column in frame.columns}
    found = card.training_summary(frame, TARGET, kinds, "abc", min_category_rows=5)
    assert found["rows"] == 300 and found["md5"] == "abc"
    assert {"name": "paperless", "kind": "boolean", "target": False} in found["columns"]
    assert {"name": TARGET, "kind": "categorical", "target": True} in found["columns"]
    times = pd.to_datetime(frame["signed up"], utc=True)
    assert found["time_ranges"]["signed up"] == {"min": times.min().isoformat(), "max": times.max().isoformat()}
    assert found["rare_values"]["columns"][CATEGORY] == {"values": 1, "rows": 1, "examples": ["seen once"]}


@pytest.fixture
def evaluated_card(project, card_params: dict[str, Any]) -> dict[str, Any]:
    """Run `evaluate` with --card on the messy table; return the card it wrote."""
    import joblib

    project.params = card_params
    frame = messy_frame(bool_gaps=False)
    project.use_synthetic(frame.head(200), "data/prepared/train.csv")
    project.use_synthetic(frame.tail(100), "data/prepared/holdout.csv")
    Path("models").mkdir()
    joblib.dump(train.fit(pd.read_csv("data/prepared/train.csv"), CLASSIFICATION, card_params["train"]),
                "models/model.joblib")  # fmt: skip
    args = ["--model", "models/model.joblib", "--holdout", "data/prepared/holdout.csv", "--metrics", "metrics.json"]
    args += ["--plots-dir", "reports/plots", "--card", "reports/card.json", "--train", "data/prepared/train.csv"]
    assert evaluate.main(args) == 0

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(Path("reports/card.json").read_text(encoding="utf-8"), parse_constant=refuse)


def test_evaluate_writes_the_card_of_this_model_and_its_chart(evaluated_card: dict[str, Any]) -> None:
    assert evaluated_card["model_md5"] == file_md5("models/model.joblib")
    assert evaluated_card["training"]["md5"] == file_md5("data/prepared/train.csv")
    assert evaluated_card["holdout_rows"] == 100 and evaluated_card["importance"]["rows"] == 100
    assert evaluated_card["importance"]["columns"][0]["column"] == "leak"
    assert sorted(evaluated_card["metrics"]) == ["accuracy", "f1", "roc_auc"]
    assert Path("reports/plots/importance.png").read_bytes().startswith(b"\x89PNG")


def test_evaluate_refuses_a_card_without_training_rows(evaluated_card: dict[str, Any]) -> None:
    with pytest.raises(SystemExit) as stopped:
        evaluate.main(["--model", "m", "--holdout", "h", "--metrics", "x", "--plots-dir", "p", "--card", "c.json"])
    assert stopped.value.code == 2


def decision_with(**changes: Any) -> dict[str, Any]:
    found = {"passed": True, "metric": "roc_auc", "reasons": ["roc_auc 0.9 beats <b>the baseline</b>"]}
    found["baseline"] = {"estimator": "DummyClassifier, class shares", "value": 0.5}
    found["champion"] = {"version": "3", "value": 0.88}
    found["leakage"] = {"columns": {"leak": 0.99}, "perfect": False}
    return {**found, "allow_leakage": True, "allow_schema_change": False, **changes}


def rendered(numbers: dict[str, Any], **changes: Any) -> tuple[dict[str, Any], str]:
    model = {"name": "churn @team", "version": "4", "commit": "0123456789abcdef", "dirty": "False"}
    project = {"project_name": "<img src=x onerror=alert(1)> @org/team", "description": "Predicts `churn` | [x](y)"}
    document = card_markdown.document(numbers, decision_with(**changes), model, project)
    return document, card_markdown.markdown(document)


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def hostile_slices() -> dict[str, Any]:
    """Every hostile value of CATEGORY among its worst slices, the missing cells too, one undefined."""
    worst = [{"value": value, "rows": 10 + rows, "metric": 0.5} for rows, value in enumerate([*HOSTILE, None])]
    column = {"column": CATEGORY, "kind": "categorical", "values": 7, "evaluated": 7, "worst": worst}
    column["undefined"] = [{"value": "@x", "rows": 11, "why": "one class only"}]
    column["too_few_rows"] = {"values": 0, "rows": 0}
    return {"metric": "roc_auc", "overall": 0.9, "min_rows": 10, "worst_per_column": 3, "columns": [column]}


def test_the_card_escapes_every_text_from_the_data(evaluated_card: dict[str, Any]) -> None:
    document, text = rendered({**evaluated_card, "slices": hostile_slices()})
    assert "<img" not in text and "<b>" not in text
    assert "&lt;img src=x onerror=alert(1)&gt; @" + ZERO_WIDTH_SPACE + "org/team" in text
    assert "@team" not in text and "@org" not in text  # no mention notifies anyone
    assert "plan &lt;b&gt;\\|@" + ZERO_WIDTH_SPACE + "team" in text  # the column name, in every table
    for value in ("`<script>alert(1)</script>`", "`a\\|b`", "`@octocat`", "`` `tick` ``", "`(missing)`"):
        assert value in text, value  # category values verbatim in code spans
    assert "| _(missing)_ | 15 |" in text  # missing cells, apart from the value '(missing)'
    for table in re.findall(r"(?:^\|.*\n)+", text, flags=re.MULTILINE):
        rows = table.splitlines()
        assert {unescaped_pipes(row) for row in rows} == {unescaped_pipes(rows[0])}, rows
    assert document["model"]["version"] == "4" and "version 4" in text.splitlines()[0]


def test_the_card_shows_intervals_next_to_the_baseline_and_the_champion(evaluated_card: dict[str, Any]) -> None:
    _, text = rendered(evaluated_card)
    row = next(line for line in text.splitlines() if line.startswith("| roc\\_auc |"))
    assert "| 0.5000 | 0.8800 |" in row and " to " in row
    assert "Previous champion v3" in text
    assert "gate.allow_leakage: true" in text and "Leakage found: leak (0.9900)." in text


def test_known_limits_come_from_the_data(evaluated_card: dict[str, Any]) -> None:
    small = {"roc_auc": {"value": 0.8, "low": 0.65, "high": 0.92, "used": 180}}
    document, text = rendered({**evaluated_card, "metrics": small, "holdout_rows": 40})
    limits = " ".join(document["known_limits"])
    assert "roc_auc is known only roughly: its 95% interval spans 0.650 to 0.920 on 40 holdout rows" in limits
    assert "roc_auc was defined on 180 of 200 resamples only." in limits
    assert "Leakage was suspected and accepted (gate.allow_leakage): columns leak." in limits
    assert "Trained on signed up from 2024-01-01" in limits
    assert "Shuffling leak alone costs more than shuffling every other column" in limits
    assert "## Known limits" in text and "- roc\\_auc is known only roughly" in text


def test_a_much_worse_or_undefined_slice_is_a_known_limit() -> None:
    slices = {"metric": "roc_auc", "overall": 0.9, "columns": [
        {"column": "plan", "worst": [{"value": None, "rows": 12, "metric": 0.6}],
         "undefined": [{"value": "@x", "rows": 11, "why": "one class only"}]},
    ]}  # fmt: skip
    assert card_limits.known_limits({"slices": slices}) == [
        "Much worse where plan is (missing) (12 holdout rows): roc_auc 0.600 against 0.900 overall.",
        "Unknown where plan is '@x' (11 holdout rows): roc_auc is undefined there (one class only).",
    ]


def test_project_answers_are_read_as_data(tmp_path: Path) -> None:
    answers = tmp_path / ".cookiecutter.json"
    answers.write_text(json.dumps({"project_name": 'A "quoted" <name>', "description": None}), encoding="utf-8")
    assert card_markdown.project_answers(answers) == {"project_name": 'A "quoted" <name>'}
    answers.write_text("not json", encoding="utf-8")
    assert card_markdown.project_answers(answers) == {}
    assert card_markdown.project_answers(tmp_path / "absent.json") == {}


def test_the_report_section_only_for_this_runs_model(evaluated_card: dict[str, Any]) -> None:
    path, model = Path("reports/card.json"), Path("models/model.joblib")
    gate = Verdict(Path("reports/gate.json"), {"inputs": {"model": file_md5(model)}})
    section = card_markdown.this_runs_section(path, gate, model)
    assert section is not None and section.head[0] == "### Model card"
    assert any("| leak |" in line for line in section.head)
    assert card_markdown.this_runs_section(path, Verdict(gate.path, {"inputs": {"model": "0" * 32}}), model) is None
    assert "the gate did not run" in card_markdown.why_no_section(path, Verdict(gate.path, None)).reason
    assert "another model" in card_markdown.why_no_section(path, gate).reason
    assert "does not exist" in card_markdown.why_no_section(Path("gone.json"), gate).reason


@pytest.fixture
def logged(client: Any, register_model: Any, evaluated_card: dict[str, Any]) -> tuple[Any, str]:
    """Two registered versions: 1 without a card (as before cards existed), 2 with one."""
    from sklearn.dummy import DummyClassifier

    from {{ cookiecutter.package_name }}.loop.registry import connect

    for _ in range(2):
        version = register_model(DummyClassifier().fit([[0.0], [1.0]], ["a", "b"]))
    registry = connect({"model_name": "test-model"})
    card_markdown.log_card(registry, version, rendered(evaluated_card)[0])
    return registry, version


def test_status_prints_a_versions_card(logged: tuple[Any, str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert status.main(["--version", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Model card: churn @" + ZERO_WIDTH_SPACE + "team version 4")
    assert "## Known limits" in out and "\x1b" not in out


def test_status_of_a_version_without_a_card_or_unknown(
    logged: tuple[Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert status.main(["--version", "1"]) == 1
    assert capsys.readouterr().out == (
        "model 'test-model' version 1 has no model card: it was registered before cards existed\n"
    )
    assert status.main(["--version", "7"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "error: model 'test-model' has no version 7; `make status` lists the aliased ones\n"
    assert captured.out == ""


def test_status_of_a_version_when_the_registry_is_down(
    project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    project.params["register"]["retry_seconds"] = 1
    project.save_params()
    assert status.main(["--version", "1"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: registry http://127.0.0.1:") and err.count("\n") == 1


def test_the_card_travels_with_the_version_on_every_backend(backend: str, project) -> None:
    """Logged and read back through the registry: the sqlite file, and a server that proxies artifacts."""
    import uuid

    from {{ cookiecutter.package_name }}.loop.registry import connect

    project.params["register"]["model_name"] = f"card-{uuid.uuid4().hex[:8]}"
    registry = connect(project.params["register"])
    registry.client.create_registered_model(registry.name)
    run = registry.client.create_run(registry.client.create_experiment(registry.name))
    source = f"runs:/{run.info.run_id}/model"
    version = str(registry.client.create_model_version(registry.name, source, run_id=run.info.run_id).version)
    assert card_markdown.logged_card(registry, registry.version(version)) is None
    document = {"model": {"name": registry.name, "version": version}, "known_limits": ["<b>x</b>"]}
    card_markdown.log_card(registry, version, document)
    text = card_markdown.logged_card(registry, registry.version(version))
    assert text.startswith(f"# Model card: {registry.name} version {version}\n")
    assert "- &lt;b&gt;x&lt;/b&gt;" in text
