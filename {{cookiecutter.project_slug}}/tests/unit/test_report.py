"""The Markdown report: only this run's verdicts, compared with the default branch, escaped, cut to fit."""

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.loop import registry, registry_report, report
from {{ cookiecutter.package_name }}.loop.gate import params_md5
from {{ cookiecutter.package_name }}.loop.markdown import GITHUB_LIMIT
from {{ cookiecutter.package_name }}.loop.params import load_params
from {{ cookiecutter.package_name }}.loop.provenance import Base, Verdict, base_revision, this_runs

METRICS_DIFF = {"reports/metrics.json": {"roc_auc": {"old": 0.95, "new": 0.99, "diff": 0.04}, "f1": {"new": 0.9}}}
PARAMS_DIFF = {"params.yaml": {"train.random_forest.n_estimators": {"old": 200, "new": 100, "diff": -100}}}
BASE = Base("origin/main", "abc123456789def")
HOSTILE = "<script>alert(1)</script> @octocat a|b\nline [x](javascript:alert(1)) `"


@pytest.fixture(autouse=True)
def no_ci_settings(monkeypatch, tmp_path):
    """Run as on a laptop: no workflow settings, and no git repository above the test's folder."""
    for name in ("GITHUB_BASE_REF", "GITHUB_STEP_SUMMARY", "REPORT_LINKS", "DVC_REMOTE_PULLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def write(path: str, content: str) -> Path:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(content, encoding="utf-8")
    return Path(path)


def write_run(*, validated: bool = True, passed: bool = True, failures: list | None = None) -> None:
    """Write the files a pipeline run leaves, each result with the hashes of the inputs it judged."""
    train, holdout = write("data/prepared/train.csv", "a,b\n1,2\n"), write("data/prepared/holdout.csv", "a,b\n3,4\n")
    suite = write("expectations/suite.json", "{}")
    model, metrics = write("models/model.joblib", "a model"), write("reports/metrics.json", '{"roc_auc": 0.99}')
    failures = failures or []
    summary = {"success": validated, "rows": 2, "evaluated": 5, "failed": len(failures), "failures": failures}
    summary["inputs"] = {str(train): md5(train), str(holdout): md5(holdout), "suite": md5(suite)}
    write("reports/validation/summary.json", json.dumps(summary))
    inputs = {"model": md5(model), "holdout": md5(holdout), "metrics": md5(metrics)}
    decision = {"passed": passed, "reasons": ["roc_auc 0.9900 meets the threshold 0.9"], "inputs": inputs}
    decision["inputs"]["params"] = params_md5(load_params("params.yaml"))
    write("reports/gate.json", json.dumps(decision))


def run_report(monkeypatch, base=BASE, metrics=None) -> str:
    """Run `report` with DVC's answers faked; return the Markdown it wrote."""
    monkeypatch.setattr(report, "base_revision", lambda: base)
    monkeypatch.setattr(report, "dvc_json", lambda *args: (metrics or METRICS_DIFF) if "metrics" in args else {})
    monkeypatch.setattr(report, "default_remote", lambda: None)
    assert report.main(["--out", "reports/report.md"]) == 0
    return Path("reports/report.md").read_text(encoding="utf-8")


def test_a_result_counts_only_when_every_input_it_judged_is_this_runs(project):
    write_run()
    files = {"model": Path("models/model.joblib"), "holdout": Path("data/prepared/holdout.csv")}
    files["metrics"] = Path("reports/metrics.json")
    settings = {"params": params_md5(load_params("params.yaml"))}
    assert this_runs(Path("reports/gate.json"), files, settings).content["passed"] is True

    assert "has changed since" in this_runs(Path("reports/gate.json"), files, {"params": "other"}).reason
    write("models/model.joblib", "another model")
    assert "`models/model.joblib` has changed since" in this_runs(Path("reports/gate.json"), files, settings).reason
    Path("models/model.joblib").unlink()
    assert "`models/model.joblib` does not exist" in this_runs(Path("reports/gate.json"), files, settings).reason
    write("reports/gate.json", json.dumps({"passed": True, "reasons": []}))
    assert "records no input hashes" in this_runs(Path("reports/gate.json"), files, settings).reason
    assert "does not exist" in this_runs(Path("reports/none.json"), files, settings).reason


def test_a_passed_gate_next_to_failed_validation_did_not_run(project, monkeypatch):
    failure = {"column": "age", "expectation": "between", "expected": "0 | 120", "observed": "observed 140"}
    write_run(validated=False, passed=True, failures=[failure])

    written = run_report(monkeypatch)

    assert "### ❌ Data validation: failed" in written
    assert "| age | between | 0 \\| 120 | observed 140 |" in written
    assert "### ⏸ Gate: did not run" in written and "Gate: passed" not in written
    assert "because data validation failed" in written
    assert "### ⏸ Metrics: did not run" in written and "0.9900" not in written


def test_a_gate_verdict_of_another_model_did_not_run(project, monkeypatch):
    write_run(passed=True)
    write("models/model.joblib", "the model of this run")

    written = run_report(monkeypatch)

    assert "### ✅ Data validation: passed" in written
    assert "### ⏸ Gate: did not run" in written and "Gate: passed" not in written
    assert "The model that `reports/gate.json` judged is not this run's" in written
    assert "Nothing ties `reports/metrics.json` to this run's model: the gate did not run in this run." in written


PNG = b"\x89PNG\r\n\x1a\n"


def test_this_runs_images_are_its_plots_and_the_comparison_with_the_champion(project, monkeypatch):
    write_run(passed=False)
    decision = json.loads(Path("reports/gate.json").read_text())
    decision.update(metric="roc_auc", threshold=0.9, candidate=0.95, champion={"version": "3", "value": 0.99})
    write("reports/gate.json", json.dumps(decision))
    Path("reports/plots").mkdir(parents=True)
    Path("reports/plots/roc.png").write_bytes(PNG + b"a plot")
    Path("reports/plots/roc.csv").write_text("x,y\n")

    run_report(monkeypatch)

    images = Path("reports/report-images")
    assert sorted(path.name for path in images.iterdir()) == ["comparison.png", "roc.png"]
    assert (images / "roc.png").read_bytes() == PNG + b"a plot"
    assert (images / "comparison.png").read_bytes().startswith(PNG)


def test_images_of_another_run_are_never_shown_as_this_ones(project, monkeypatch):
    write_run(passed=True)
    write("models/model.joblib", "the model of this run")  # the gate judged another model
    Path("reports/report-images").mkdir(parents=True)
    Path("reports/report-images/comparison.png").write_bytes(PNG + b"old")

    run_report(monkeypatch)

    assert not Path("reports/report-images").exists()


def write_card(model_md5: str) -> None:
    """A model card's numbers with hostile names, and its chart, as evaluate writes them."""
    worst = [{"value": "<script>x</script>", "rows": 12, "metric": 0.5}, {"value": None, "rows": 10, "metric": 0.6}]
    column = {
        "column": HOSTILE,
        "worst": worst,
        "undefined": [{"value": "@octocat", "rows": 11, "why": "one class only"}],
    }
    importance = {"metric": "roc_auc", "rows": 2, "repeats": 5, "seed": 42, "columns": [
        {"column": "leak|<b>", "mean": 0.4, "std": 0.01}, {"column": "b", "mean": 0.0, "std": 0.0}]}  # fmt: skip
    card = {"model_md5": model_md5, "importance": importance, "slices": {"metric": "roc_auc", "overall": 0.9}}
    card["slices"]["columns"] = [column]
    write("reports/card.json", json.dumps(card))
    Path("reports/plots").mkdir(parents=True, exist_ok=True)
    Path("reports/plots/importance.png").write_bytes(PNG + b"importance")


def test_the_model_card_section_shows_this_runs_card_escaped(project, monkeypatch):
    write_run()
    write_card(md5(Path("models/model.joblib")))

    written = run_report(monkeypatch)

    assert "### Model card" in written and "did not run" not in written.split("### Model card")[1].split("###")[0]
    assert "| leak\\|&lt;b&gt; | 0.4000 | 0.0100 |" in written
    assert "| `<script>x</script>` | 12 | 0.5000 |" in written and "| _(missing)_ | 10 | 0.6000 |" in written
    assert "| `@octocat` | 11 | undefined (one class only) |" in written
    assert "<script" not in written.replace("`<script>x</script>`", "")
    assert (Path("reports/report-images") / "importance.png").read_bytes() == PNG + b"importance"


def test_the_card_of_another_model_did_not_run(project, monkeypatch):
    write_run()
    write_card("0" * 32)

    written = run_report(monkeypatch)

    assert "### ⏸ Model card: did not run" in written
    assert "`reports/card.json` is the card of another model than the one this run's gate judged." in written
    assert not (Path("reports/report-images") / "importance.png").exists()
    Path("reports/card.json").unlink()
    assert "`reports/card.json` does not exist" in run_report(monkeypatch)


def test_results_without_input_hashes_did_not_run(project, monkeypatch):
    write("reports/gate.json", json.dumps({"passed": True, "reasons": ["stale"]}))
    write("reports/validation/summary.json", json.dumps({"success": True, "evaluated": 5, "rows": 2}))

    written = run_report(monkeypatch)

    assert "### ⏸ Data validation: did not run" in written and "records no input hashes" in written
    assert "### ⏸ Gate: did not run" in written and "passed" not in written


def test_a_run_that_passed_shows_its_verdicts_against_the_merge_base(project, monkeypatch):
    write_run(passed=True)
    asked = []

    def dvc_json(*args):
        asked.append(args)
        return METRICS_DIFF if "metrics" in args else {}

    monkeypatch.setattr(report, "base_revision", lambda: BASE)
    monkeypatch.setattr(report, "default_remote", lambda: None)
    monkeypatch.setattr(report, "dvc_json", dvc_json)
    summary = project.root / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("DVC_REMOTE_PULLED", "false")
    monkeypatch.setenv("REPORT_LINKS", "Plots=https://example.com/plots\nData Docs=")

    assert report.main(["--out", "reports/report.md"]) == 0

    written = Path("reports/report.md").read_text(encoding="utf-8")
    assert written.startswith("## Training report: `test-model`")
    assert "Metrics and params are compared with `origin/main` at `abc12345` (merge base)." in written
    assert "### ✅ Gate: passed" in written and "- roc\\_auc 0.9900 meets the threshold 0.9" in written
    assert "| roc\\_auc | 0.9500 | 0.9900 | +0.0400 |" in written and "| f1 | — | 0.9000 |  |" in written
    assert "[Plots](https://example.com/plots)" in written and "Data Docs" not in written
    assert "No DVC remote" in written
    assert summary.read_text(encoding="utf-8") == written
    assert asked == [("metrics", "diff", "--all", BASE.commit), ("params", "diff", BASE.commit)]


def git(*args: str) -> str:
    found = subprocess.run(["git", *args], check=True, capture_output=True, text=True)
    return found.stdout.strip()


@pytest.fixture
def git_config(tmp_path, monkeypatch):
    """A git identity for commits, and none of the machine's own git settings."""
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Test\n\temail = test@example.com\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def repository(tmp_path, monkeypatch, git_config):
    """A git repository with a commit on main and one on a feature branch; the test runs inside it."""
    root = tmp_path / "repository"
    root.mkdir()
    monkeypatch.chdir(root)
    git("init", "--quiet", "--initial-branch=main")
    git("commit", "--quiet", "--allow-empty", "-m", "on main")
    main_commit = git("rev-parse", "HEAD")
    git("checkout", "--quiet", "-b", "feature")
    git("commit", "--quiet", "--allow-empty", "-m", "on the branch")
    return main_commit


def test_a_laptop_compares_with_the_merge_base_of_main(repository):
    git("checkout", "--quiet", "main")
    git("commit", "--quiet", "--allow-empty", "-m", "main moved on")
    git("checkout", "--quiet", "feature")

    assert base_revision() == Base("main", repository)
    assert base_revision().name == f"`main` at `{repository[:8]}` (merge base)"


def test_a_clone_compares_with_origin_head(repository, tmp_path, monkeypatch):
    git("checkout", "--quiet", "main")
    git("clone", "--quiet", str(Path.cwd()), str(tmp_path / "clone"))
    monkeypatch.chdir(tmp_path / "clone")
    git("branch", "--quiet", "-m", "main", "work")  # no local main: origin/HEAD decides
    git("commit", "--quiet", "--allow-empty", "-m", "work")

    assert base_revision() == Base("origin/main", repository)


def test_without_a_default_branch_the_report_says_so_and_is_written(project, git_config, monkeypatch):
    git("init", "--quiet", "--initial-branch=work")
    git("commit", "--quiet", "--allow-empty", "-m", "work")
    assert base_revision() is None
    write_run(passed=True)
    monkeypatch.setattr(report, "dvc_json", lambda *args: pytest.fail(f"dvc {args} without a base"))
    monkeypatch.setattr(report, "default_remote", lambda: None)

    assert report.main(["--out", "reports/report.md"]) == 0

    written = Path("reports/report.md").read_text(encoding="utf-8")
    assert "No default branch to compare with (looked for origin/HEAD, main and master): this run alone." in written
    assert "| roc\\_auc | — | 0.9900 |  |" in written
    assert "No base to compare the params with." in written


def test_everything_from_the_data_is_escaped(project, monkeypatch):
    failure = {"column": HOSTILE, "expectation": "between", "expected": "@octocat", "observed": "<b>|</b>"}
    write_run(validated=False, failures=[failure])
    monkeypatch.setenv("REPORT_LINKS", f"{HOSTILE}=javascript:alert(1)\nGood=https://example.com/a b(c)")

    written = run_report(monkeypatch)

    assert "<script" not in written and "<b>" not in written and "@octocat" not in written
    assert re.search(r"(?<!\\)\]\(javascript", written) is None
    assert "[Good](https://example.com/a%20b%28c%29)" in written
    row = next(line for line in written.splitlines() if "between" in line)
    assert row.replace("\\|", "").count("|") == 5
    metrics = {"reports/metrics.json": {HOSTILE: {"old": "<i>", "new": "a|b", "diff": 1.0}}}
    [cell_row] = report.metrics_section(metrics, BASE, "reports/metrics.json").rows
    assert "<script" not in cell_row and "@octocat" not in cell_row
    assert cell_row.replace("\\|", "").count("|") == 5


def test_a_huge_report_fits_in_one_comment_and_points_to_the_full_list(project, monkeypatch):
    failures = [
        {"column": f"column {i} {'x' * 30}", "expectation": "between", "expected": "0 to 1", "observed": "2"}
        for i in range(5_000)
    ]
    write_run(validated=False, failures=failures)

    written = run_report(monkeypatch)

    assert len(written) <= GITHUB_LIMIT - len("<!-- train-report -->\n")
    assert "### ❌ Data validation: failed" in written and "### ⏸ Gate: did not run" in written
    assert "more rows not shown to stay under GitHub's 65,536-character limit" in written
    assert "the full list is in `reports/validation/summary.json`, uploaded with this run's artifacts" in written


def test_undefined_metrics_are_shown_as_such_and_never_drawn(project, monkeypatch):
    write_run(passed=False)
    decision = json.loads(Path("reports/gate.json").read_text())
    decision.update(metric="roc_auc", candidate=0.7, champion={"version": "3", "value": float("nan")})
    write("reports/gate.json", json.dumps(decision))  # NaN, as files written before strict JSON hold
    run_report(monkeypatch)
    assert (Path("reports/report-images") / "comparison.png").read_bytes().startswith(PNG)  # drawn without it
    diff = {"reports/metrics.json": {"roc_auc": {"old": 0.8, "new": None}, "f1": {"new": float("nan")}}}
    rows = report.metrics_section(diff, BASE, "m.json").rows
    assert "| roc\\_auc | 0.8000 | undefined |  |" in rows and "| f1 | — | undefined |  |" in rows


def test_sections_render_their_values():
    for passed in (False, "yes", None):
        section = report.gate_section(Verdict(Path("g.json"), {"passed": passed, "reasons": ["x"]}))
        assert section.head[0] == "### ❌ Gate: failed" and section.rows == ["- x"]
    assert "| train.random\\_forest.n\\_estimators | 200 | 100 |" in report.params_section(PARAMS_DIFF, BASE).rows
    assert report.params_section({}, BASE).head[-1] == "None."
    assert report.metrics_section({}, BASE, "m.json").head[-1] == "No metrics yet."
    assert "could not compare" in report.metrics_section(None, BASE, "m.json").head[-1]


@pytest.mark.parametrize(
    ("pulled", "remote", "expected"),
    [
        (None, "s3://bucket", None),
        ("true", "s3://bucket", "pulled from the DVC remote `s3://bucket`"),
        ("false", "s3://bucket", "CI has no credentials"),
        ("false", "/home/me/dvc-storage", "out of CI's reach"),
        ("false", None, "No DVC remote"),
    ],
)
def test_data_note_says_where_the_data_came_from(pulled, remote, expected):
    note = report.data_note(pulled, remote).lines()
    assert note == [] if expected is None else expected in note[-1]


class FakeRegistry:
    uri, name = "https://user:secret@mlflow.example.com", "<b>@octocat</b>"

    def aliases(self):
        return {"champion": "3"}


def test_registry_report_lists_the_aliases_without_credentials(monkeypatch):
    monkeypatch.setattr(registry, "connect", lambda settings: FakeRegistry())

    markdown = registry_report.registry_markdown({"model_name": "ignored"})

    assert "secret" not in markdown and "`https://***@mlflow.example.com`" in markdown
    assert "## Model registry: `<b>@octocat</b>`" in markdown
    assert "| `champion` | 3 |" in markdown and "| `challenger` | — |" in markdown


def test_a_registry_that_cannot_answer_stops_the_registry_report(project, monkeypatch, capsys):
    class Unreachable(RuntimeError):
        exit_code = 7

    def fail(settings):
        raise Unreachable("registry https://mlflow.example.com: reading model failed: connection refused")

    monkeypatch.setattr(registry, "RegistryError", Unreachable)
    monkeypatch.setattr(registry_report, "registry_markdown", fail)

    assert report.main(["--registry", "--out", "reports/registry.md"]) == 7

    captured = capsys.readouterr()
    assert captured.err == "error: registry https://mlflow.example.com: reading model failed: connection refused\n"
    assert captured.out == "" and not Path("reports/registry.md").exists()


def test_main_without_params_fails_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert report.main(["--out", "report.md"]) == 2
    assert "params.yaml" in capsys.readouterr().err
