"""Fast tier: every bad answer is refused, with its message, before anything is written."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TEMPLATE, classification_csv

SLUG_DIR = TEMPLATE / "{{cookiecutter.project_slug}}"


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


pre_gen = load_module(TEMPLATE / "hooks/pre_gen_project.py", "pre_gen_project")
post_gen = load_module(TEMPLATE / "hooks/post_gen_project.py", "post_gen_project")


@pytest.fixture(scope="module")
def bad_csvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad-csv")
    good = classification_csv()
    files = {
        "few_rows": good.head(20),
        "one_class": good.assign(churned="yes"),
        "no_features": good[["churned"]],
    }
    paths = {name: folder / f"{name}.csv" for name in files}
    for name, frame in files.items():
        frame.to_csv(paths[name], index=False)
    paths["good"] = folder / "good.csv"
    good.to_csv(paths["good"], index=False)
    continuous = good.assign(tip=(good["monthly charges"].fillna(50) / 7).round(2)).drop(columns="churned")
    files["continuous"] = continuous.rename(columns={"tip": "churned"})
    files["many_classes"] = good.assign(churned=range(len(good)))
    for name in ("continuous", "many_classes"):
        paths[name] = folder / f"{name}.csv"
        files[name].to_csv(paths[name], index=False)
    paths["binary"] = folder / "binary.csv"
    paths["binary"].write_bytes(b"\xff\xfe\x00\x00garbage\x00\x81")
    paths["ragged"] = folder / "ragged.csv"
    paths["ragged"].write_text("a,b,churned\n" + "1,2,yes\n" * 60 + "1,2\n")
    return paths


CSV = {"dataset": "csv", "target_column": "churned"}
REJECTED = {  # id: (answers, words the error line must contain)
    "slug with spaces": ({"project_slug": "My Project!"}, "project_slug='My Project!'"),
    "package not identifier": ({"package_name": "my-pkg"}, "package_name='my-pkg': not a valid Python package name"),
    "package keyword": ({"package_name": "class"}, "package_name='class'"),
    "package shadows stdlib": ({"package_name": "json"}, "package_name='json': would shadow"),
    "package shadows mlflow": ({"package_name": "mlflow"}, "package_name='mlflow': would shadow"),
    "package shadows pandas": ({"package_name": "pandas"}, "package_name='pandas': would shadow"),
    "package shadows dvc": ({"package_name": "dvc"}, "package_name='dvc': would shadow"),
    "package is test": ({"package_name": "test"}, "package_name='test': would shadow"),
    "cron four fields": ({"drift_schedule": "0 6 * *"}, "drift_schedule='0 6 * *': a cron expression needs 5 fields"),
    "cron minute range": ({"drift_schedule": "61 * * * *"}, "minute field '61' is invalid"),
    "cron month range": ({"drift_schedule": "0 0 * 13 *"}, "month field '13' is invalid"),
    "cron zero step": ({"drift_schedule": "*/0 * * * *"}, "minute field '*/0' is invalid"),
    "cron words": ({"drift_schedule": "every monday"}, "needs 5 fields"),
    "score cron four fields": (
        {"score_schedule": "0 5 * *"},
        "score_schedule='0 5 * *': a cron expression needs 5 fields",
    ),
    "score cron hour range": (
        {"score_schedule": "0 24 * * *"},
        "score_schedule='0 24 * * *': hour field '24' is invalid",
    ),
    "score cron day name": ({"score_schedule": "0 5 * * someday"}, "day of week field 'someday' is invalid"),
    "metric wrong task": ({"primary_metric": "r2"}, "primary_metric='r2': does not fit task='classification'"),
    "threshold above range": ({"metric_threshold": "1.5"}, "metric_threshold='1.5': outside the range of roc_auc"),
    "threshold not number": ({"metric_threshold": "high"}, "metric_threshold='high': not a number"),
    "rmse negative": (
        {"task": "regression", "primary_metric": "rmse", "metric_threshold": "-1"},
        "outside the range of rmse",
    ),
    "s3 url for gcs": ({"dvc_remote": "gcs", "dvc_remote_url": "s3://bucket/x"}, "does not fit dvc_remote='gcs'"),
    "url for local": ({"dvc_remote": "local", "dvc_remote_url": "s3://bucket"}, "needs a folder path, not a URL"),
    "url for none": ({"dvc_remote": "none", "dvc_remote_url": "/tmp/x"}, "must be blank when dvc_remote='none'"),
    "s3 without bucket": ({"dvc_remote": "s3", "dvc_remote_url": "s3://"}, "does not fit dvc_remote='s3'"),
    "tracking uri scheme": ({"mlflow_tracking_uri": "ftp://host"}, "mlflow_tracking_uri='ftp://host': unsupported"),
    "template syntax evaluated": ({"project_name": "{{ 7*7 }}"}, "project_name: template syntax"),
    "template syntax statement": ({"description": "{% if true %}x{% endif %}"}, "description: template syntax"),
    "model name slash": ({"model_name": "team/model"}, "model_name='team/model'"),
    "blank target": ({"target_column": " "}, "target_column=' ': must not be blank"),
    "csv path blank": ({**CSV, "data_path": ""}, "dataset='csv' needs the path of a CSV file"),
    "csv missing": ({**CSV, "data_path": "/nonexistent/data.csv"}, "file not found"),
    "csv no target": ({**CSV, "data_path": "good", "target_column": "label"}, "target_column='label': not a column"),
    "csv few rows": ({**CSV, "data_path": "few_rows"}, "20 rows with a target value; at least 50"),
    "csv one class": ({**CSV, "data_path": "one_class"}, "has a single value"),
    "csv no features": ({**CSV, "data_path": "no_features"}, "needs at least one feature column"),
    "csv not utf8": ({**CSV, "data_path": "binary"}, "cannot be read as a UTF-8 CSV file"),
    "csv ragged": ({**CSV, "data_path": "ragged"}, "line 62 has a different number of fields"),
    "classification continuous target": (
        {**CSV, "data_path": "continuous"},
        "task='classification' needs class labels, but",
    ),
    "classification too many classes": (
        {**CSV, "data_path": "many_classes"},
        "240 different values in",
    ),
    "threshold leaves no room for the tolerance": (
        {"metric_threshold": "0.995"},
        "metric_threshold='0.995': too close to the best roc_auc (1) for the gate's tolerance 0.01",
    ),
    "regression text target": (
        {**CSV, "task": "regression", "primary_metric": "r2", "metric_threshold": "0.1", "data_path": "good"},
        "task='regression' needs a numeric target",
    ),
}


@pytest.mark.parametrize("case", REJECTED, ids=list(REJECTED))
def test_bad_answer_is_rejected_and_leaves_nothing(case, cookies, bad_csvs, capfd):
    answers, message = REJECTED[case]
    answers = dict(answers)
    if answers.get("data_path") in bad_csvs:
        answers["data_path"] = str(bad_csvs[answers["data_path"]])
    base = Path(cookies._new_output_dir()).parent
    before = set(base.iterdir())
    result = cookies.bake(extra_context=answers)
    assert result.exit_code != 0
    stderr = capfd.readouterr().err
    assert message in stderr
    assert [line for line in stderr.splitlines() if line.startswith("error: ")], stderr
    output_dirs = set(base.iterdir()) - before
    assert output_dirs and not [path for folder in output_dirs for path in folder.iterdir()]


def test_defaults_are_valid():
    assert pre_gen.validate(default_answers()) == []
    context = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert pre_gen.check_template_syntax(default_answers(), context, context) == []


def default_answers() -> dict:
    """cookiecutter.json's defaults as a --no-input bake renders them."""
    context = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    context = {key: (value[0] if isinstance(value, list) else value) for key, value in context.items()}
    rendered = {
        "project_slug": "churn-model",
        "package_name": "churn_model",
        "data_path": "",
        "primary_metric": "roc_auc",
        "metric_threshold": "0.9",
        "dvc_remote_url": "../dvc-storage",
        "model_name": "churn-model",
    }
    return {**{k: v for k, v in context.items() if not k.startswith("_")}, **rendered}


@pytest.mark.parametrize(
    "schedule", ["0 6 * * 1", "*/15 * * * *", "0 0 1 jan,jul *", "30 2 * * mon-fri", "0 0-23/2 * * 0"]
)
@pytest.mark.parametrize("name", pre_gen.SCHEDULES)
def test_valid_cron_is_accepted(schedule, name):
    assert pre_gen.check_cron({name: schedule}, name) == []


def test_each_schedule_is_reported_under_its_own_name():
    answers = {**default_answers(), "drift_schedule": "0 6 * * 9", "score_schedule": "0 5 * * 9"}
    errors = pre_gen.validate(answers)
    assert [error.split("=", 1)[0] for error in errors] == ["drift_schedule", "score_schedule"]
    assert all("day of week field '9' is invalid" in error for error in errors)


def test_every_rule_reports_one_line_per_bad_answer():
    answers = {**default_answers(), "package_name": "json", "drift_schedule": "bad", "metric_threshold": "2"}
    errors = pre_gen.validate(answers)
    assert len(errors) == 3
    assert all("\n" not in error for error in errors)


def test_hook_metric_table_matches_the_project():
    metrics = load_module(SLUG_DIR / "src/{{cookiecutter.package_name}}/loop/metrics.py", "project_metrics")
    from_project = {
        task: {name: (m.low, m.high) for name, m in metrics.METRICS.items() if m.task == task}
        for task in ("classification", "regression")
    }
    assert from_project == pre_gen.METRIC_RANGES
    assert math.isinf(pre_gen.METRIC_RANGES["regression"]["r2"][0])


def test_hook_choices_match_cookiecutter_json():
    context = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    for key, allowed in pre_gen.CHOICES.items():
        assert sorted(context[key]) == sorted(allowed), key


def test_answers_reach_the_hook_as_data(cookies):
    """Quotes, backslashes and triple quotes in an answer are data, not code."""
    name = 'O\'Brien "Bob" \\ \\n """ end'
    result = cookies.bake(extra_context={"project_name": "Quote Test", "author_name": name, "description": name})
    assert result.exit_code == 0, result.exception
    recorded = json.loads((Path(result.project_path) / ".cookiecutter.json").read_text())
    assert recorded["author_name"] == name
    assert f" {name}\n" in (Path(result.project_path) / "LICENSE").read_text()


def test_relative_csv_path_resolves_from_where_cookiecutter_runs(tmp_path):
    classification_csv().to_csv(tmp_path / "mine.csv", index=False)
    env = {**os.environ, "PWD": str(tmp_path)}
    command = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE), "-o", str(tmp_path / "out"),
               "dataset=csv", "data_path=mine.csv", "target_column=churned"]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    baked = tmp_path / "out/churn-model/data/raw/data.csv"
    assert baked.read_bytes() == (tmp_path / "mine.csv").read_bytes()


def test_bake_works_without_git_identity(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / "none"), "GIT_CONFIG_NOSYSTEM": "1"}
    env.pop("GIT_AUTHOR_NAME", None), env.pop("GIT_AUTHOR_EMAIL", None)
    command = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE), "-o", str(tmp_path / "out")]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    log = subprocess.run(["git", "log", "--format=%an"], cwd=tmp_path / "out/churn-model", env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert log.stdout.strip() == "Your Name"


def test_local_remote_is_relative_to_the_project_root():
    config = post_gen.dvc_config({"dvc_remote": "local", "dvc_remote_url": "../dvc-storage"})
    assert "url = ../../dvc-storage" in config


@pytest.mark.parametrize("pwd", ["/home/someone/work", None])
@pytest.mark.parametrize("raw", ["data.csv", "../shared/data.csv", "/abs/data.csv", "~/data.csv"])
def test_both_hooks_resolve_the_data_path_alike(raw, pwd, monkeypatch):
    if pwd is None:
        monkeypatch.delenv("PWD", raising=False)
    else:
        monkeypatch.setenv("PWD", pwd)
    answers = {"_output_dir": "/out"}
    resolved = pre_gen.resolve_data_path(raw, answers)
    assert post_gen.resolve_data_path(raw, answers) == resolved
    assert resolved.is_absolute()


SECRET = "s3cr3t-Value"
CREDENTIALS = [
    f"https://user:{SECRET}@mlflow.example.com",
    f"postgresql://mlflow:{SECRET}@db.example.com/mlflow",
    f"https://mlflow.example.com/?token={SECRET}",
    f"https://mlflow.example.com/api?experiment=1&api_key={SECRET}",
    f"https://{SECRET}@mlflow.example.com",
]


@pytest.mark.parametrize("uri", CREDENTIALS)
def test_tracking_uri_with_credentials_is_refused_without_echoing_them(uri, cookies, capfd):
    result = cookies.bake(extra_context={"mlflow_tracking_uri": uri})
    assert result.exit_code != 0
    captured = capfd.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert errors == [errors[0]] and "credentials belong in secrets" in errors[0]
    assert "MLFLOW_TRACKING_USERNAME" in errors[0]
    assert SECRET not in captured.out + captured.err


@pytest.mark.parametrize(
    "uri", ["", "sqlite:///mlflow.db", "https://mlflow.example.com/path?experiment=1", "databricks"]
)
def test_tracking_uri_without_credentials_is_accepted(uri):
    assert pre_gen.check_tracking_uri({"mlflow_tracking_uri": uri}) == []


def free_text_keys() -> list[str]:
    context = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    return [key for key, value in context.items() if isinstance(value, str) and not key.startswith("_")]


@pytest.mark.parametrize("key", free_text_keys())
@pytest.mark.parametrize("value", ["{{ 7*7 }}", "{% if true %}x{% endif %}", "a {# note #} b", "x }} y", "x %} y"])
def test_template_syntax_is_refused_in_every_free_text_answer(key, value):
    context = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    rendered = {**default_answers(), key: "49"}  # what cookiecutter made of the answer before the hook
    errors = pre_gen.check_template_syntax(rendered, {**context, key: value}, context)
    assert errors == [f"{key}: {pre_gen.TEMPLATE_SYNTAX}"]
    # Typed at a prompt, the answer is not rendered: the hook sees the syntax itself.
    assert pre_gen.check_template_syntax({**default_answers(), key: value}, context, context) == errors


def refused_bake(tmp_path: Path, output: Path, *answers: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE), "-o", str(output), *answers]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def wait_until_empty(folder: Path, seconds: float = 15.0) -> list[str]:
    """Return what is left in folder once the refusal's cleanup has finished (or the time is up)."""
    deadline = time.monotonic() + seconds
    while (left := sorted(path.name for path in folder.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.parametrize("slug", ["a/b", "a/b/c", "../x", "a/../../y", "Bad Name"])
def test_refused_slug_leaves_no_folder(slug, tmp_path):
    work, output = tmp_path / "work", tmp_path / "work/out"
    output.mkdir(parents=True)
    result = refused_bake(work, output, f"project_slug={slug}")
    assert result.returncode != 0
    assert f"error: project_slug={slug!r}: not a valid folder name" in result.stderr.splitlines()[0]
    assert wait_until_empty(output) == []
    assert sorted(path.name for path in work.iterdir()) == ["out"]


def test_empty_slug_leaves_no_folder(tmp_path):
    existing, new = tmp_path / "existing", tmp_path / "new"
    existing.mkdir()
    refused = refused_bake(tmp_path, existing, "project_slug=")
    assert refused.returncode != 0 and "already exists" in refused.stdout + refused.stderr
    assert list(existing.iterdir()) == []
    refused = refused_bake(tmp_path, new, "project_slug=")
    assert refused.returncode != 0 and "error: project_slug='': not a valid folder name" in refused.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["existing"]


def test_folders_made_for_stay_inside_the_output_folder(tmp_path):
    root = str(tmp_path.resolve())
    assert pre_gen.folders_made_for("a/b/c", str(tmp_path)) == [f"{root}/a/b", f"{root}/a"]
    assert pre_gen.folders_made_for("../x/y", str(tmp_path)) == []
    assert pre_gen.folders_made_for("/abs/path", str(tmp_path)) == []
    assert pre_gen.folders_made_for("churn-model", str(tmp_path)) == []


def test_dvc_config_turns_analytics_off_for_every_remote():
    for remote, url in [("none", ""), ("local", "../dvc-storage"), ("s3", "s3://bucket/x")]:
        config = post_gen.dvc_config({"dvc_remote": remote, "dvc_remote_url": url})
        assert config.startswith("[core]\n    analytics = false\n"), config


def test_answers_cannot_be_checked_without_the_template_defaults(tmp_path):
    errors = pre_gen.check_answers_are_literal({"_repo_dir": str(tmp_path)}, {})
    assert len(errors) == 1 and errors[0].startswith("cannot read the template's cookiecutter.json")


def test_hook_metric_directions_and_tolerance_match_the_project():
    """The bake's threshold check uses the project's metric directions and params.yaml's tolerance."""
    metrics = load_module(SLUG_DIR / "src/{{cookiecutter.package_name}}/loop/metrics.py", "project_metrics")
    higher = {name for name, metric in metrics.METRICS.items() if metric.higher_is_better}
    assert higher == pre_gen.HIGHER_IS_BETTER
    params = (SLUG_DIR / "params.yaml").read_text()
    assert f"tolerance: {pre_gen.DEFAULT_TOLERANCE} " in params


@pytest.mark.parametrize(
    ("labels", "task", "accepted"),
    [
        (["0", "1"] * 30, "classification", True),
        (["1.0", "2.0", "3.0"] * 20, "classification", True),  # whole numbers written as floats are classes
        (["yes", "no"] * 30, "classification", True),
        ([f"{value / 3:.2f}" for value in range(60)], "classification", False),
        ([str(value) for value in range(60)], "classification", False),
        ([f"{value / 3:.2f}" for value in range(60)], "regression", True),
        (["a", "b"] * 30, "regression", False),
        (["1"] * 60, "regression", False),
    ],
)
def test_target_must_fit_the_task(labels, task, accepted):
    assert (pre_gen.check_target(labels, task, "target_column='y'", "data.csv") == []) is accepted


@pytest.mark.parametrize("repo_dir", [".", "../template", "/abs/template", ""])
def test_both_hooks_find_the_template_folder_alike(repo_dir, monkeypatch, tmp_path):
    """Hooks cannot import each other, so post_gen repeats template_dir; the two must agree."""
    monkeypatch.setenv("PWD", str(tmp_path))
    answers = {"_repo_dir": repo_dir, "_output_dir": "/out"}
    assert str(pre_gen.template_dir(answers)) == (post_gen.template_dir(answers) or ".")
