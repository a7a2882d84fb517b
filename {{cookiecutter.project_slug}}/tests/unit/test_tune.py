"""Tune: the study improves on the current values, --apply edits only the tuned keys, studies are
shared and resumed, and every bad input stops with one line and writes nothing."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.loop import params_edit, tune
from {{ cookiecutter.package_name }}.loop.metrics import METRICS
from {{ cookiecutter.package_name }}.loop.params import load_params

PROJECT_ROOT = Path(__file__).parents[2]
PACKAGE = "{{ cookiecutter.package_name }}"
SMALL_SPACE = {  # quick trials: small ensembles
    "random_forest": {"n_estimators": {"low": 5, "high": 30}, "min_samples_leaf": {"low": 1, "high": 10}},
    "gradient_boosting": {"max_iter": {"low": 5, "high": 30}, "learning_rate": {"low": 0.02, "high": 0.3, "log": True}},
    "linear": {"alpha": {"low": 0.01, "high": 10.0, "log": True}},
}


@pytest.fixture
def tuning(project, raw_data: pd.DataFrame, project_params: dict[str, Any]):
    """The project folder with the demo data as training rows, validated, and a small search space."""
    project.params["data"] = dict(project_params["data"])
    if project.params["train"]["model"] not in SMALL_SPACE:  # a model of yours: these tests tune the forest
        project.params["train"]["model"] = "random_forest"
    project.params["tune"] = {"trials": 4, "timeout_minutes": 10, "cv_folds": 3, "seed": 0, "space": SMALL_SPACE}
    project.save_params()
    project.write_csv(raw_data.sample(n=min(len(raw_data), 600), random_state=0), "data/prepared/train.csv")
    summary = project.root / "reports" / "validation" / "summary.json"
    summary.parent.mkdir(parents=True)
    summary.write_text('{"success": true}', encoding="utf-8")
    return project


def shipped_model(path: Path) -> str:
    """train.model of the params file, or the random forest when it names a model of yours these tests do not know."""
    model = load_params(path)["train"]["model"]
    return model if model in SMALL_SPACE else "random_forest"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """Run the command in this process; return (exit code, stderr lines)."""

    def run_tune(*args: str) -> tuple[int, list[str]]:
        capsys.readouterr()
        code = tune.main(list(args))
        return code, capsys.readouterr().err.splitlines()

    return run_tune


def study(name: str) -> Any:
    import optuna

    return optuna.load_study(study_name=name, storage=tune.open_storage(None))


def better_or_equal(metric: str, value: float, reference: float) -> bool:
    return value >= reference - 1e-12 if METRICS[metric].higher_is_better else value <= reference + 1e-12


def test_a_short_study_is_at_least_as_good_as_the_current_values(tuning) -> None:
    assert tune.main(["--study", "short"]) == 0
    best = json.loads((tuning.root / "reports/tune/best.json").read_text(encoding="utf-8"))
    params = load_params("params.yaml")
    frame = pd.read_csv("data/prepared/train.csv")
    scores = tune.cross_validated(frame, params, params["train"])  # scored here, not by the study
    current = sum(scores) / len(scores)
    assert best["baseline"]["value"] == pytest.approx(current)
    assert better_or_equal(best["metric"], best["best"]["value"], current)
    assert best["trials"] == {"complete": 4}
    assert {path.name for path in (tuning.root / "reports/tune").iterdir()} >= {
        "best.json", "trials.csv", "tune.md", "optimization_history.png", "param_importances.png"
    }  # fmt: skip
    assert len(pd.read_csv(tuning.root / "reports/tune/trials.csv")) == 4
    assert not (tuning.root / "data/prepared/holdout.csv").exists()  # the gate's rows are not needed, nor read


def test_apply_changes_only_the_tuned_keys_and_keeps_the_comments(tuning) -> None:
    original = (PROJECT_ROOT / "params.yaml").read_text(encoding="utf-8")
    path = tuning.root / "params.yaml"
    path.write_text(original, encoding="utf-8")
    model = shipped_model(path)
    values = {"random_forest": {"n_estimators": 123, "max_depth": None, "min_samples_leaf": 4},
              "gradient_boosting": {"learning_rate": 0.00001234, "max_iter": 77, "max_leaf_nodes": 9},
              "linear": {"alpha": 2.0}}[model]  # fmt: skip
    current = load_params(path)["train"][model]
    assert tune.apply(path, model, values) == [key for key, value in values.items() if current[key] != value]
    changed = path.read_text(encoding="utf-8")
    assert load_params(path)["train"][model] == {**load_params(PROJECT_ROOT / "params.yaml")["train"][model], **values}
    before, after = original.splitlines(), changed.splitlines()
    assert len(before) == len(after)
    differing = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert all(old.split(":")[0] == new.split(":")[0] for old, new in differing)  # same key, new value
    assert {old.split(":")[0].strip() for old, _ in differing} <= set(values)
    for old, new in differing:  # a trailing comment stays
        assert ("#" in old) == ("#" in new) and old.partition("#")[2] == new.partition("#")[2]


def test_apply_after_a_study_writes_the_best_values(tuning) -> None:
    assert tune.main(["--study", "applied", "--trials", "3", "--apply"]) == 0
    best = json.loads((tuning.root / "reports/tune/best.json").read_text(encoding="utf-8"))
    assert {
        key: load_params("params.yaml")["train"][best["model"]][key] for key in best["best"]["params"]
    } == pytest.approx(best["best"]["params"])


@pytest.mark.parametrize("value", [None, 3, 0.5, 1e-05, 123456789.0, 2.5e-10, True])
def test_values_are_written_as_yaml_reads_them_back(value: Any) -> None:
    read = yaml.safe_load(f"key: {params_edit.yaml_scalar(value)}")["key"]
    assert type(read) is type(value)
    assert read == (pytest.approx(value, rel=1e-5) if isinstance(value, float) else value)


RF, GB = "random_forest", "gradient_boosting"
BAD_SPACES = [  # (space, the key the error names, what the rest of its line says): the estimator itself decides
    ({RF: {"min_samples_leaf": {"low": 0, "high": 5}}}, "tune.space.random_forest.min_samples_leaf.low",
     "= 0: The 'min_samples_leaf' parameter of RandomForest"),
    ({RF: {"n_estimators": {"low": 10.5, "high": 50}}}, "tune.space.random_forest.n_estimators.low",
     "must be an int in the range [1, inf). Got 10.5 instead."),
    ({RF: {"max_depth": {"choices": [None, 0]}}}, "tune.space.random_forest.max_depth.choices",
     "= 0: The 'max_depth' parameter"),
    ({RF: {"trees": {"low": 1, "high": 5}}}, "tune.space.random_forest.trees",
     ": unknown key; allowed keys of RandomForest"),
    ({RF: {"n_estimators": {"low": 50, "high": 10}}}, "tune.space.random_forest.n_estimators.high",
     "= 10: must be a number above low (50)"),
    ({RF: {"n_estimators": {"choices": []}}}, "tune.space.random_forest.n_estimators.choices",
     "= []: must be a non-empty list"),
    ({RF: {"n_estimators": 100}}, "tune.space.random_forest.n_estimators",
     "= 100: must be {low: <number>, high: <number>}"),
    ({GB: {"learning_rate": {"low": 0, "high": 1, "log": True}}}, "tune.space.gradient_boosting.learning_rate.low",
     "= 0: must be a number > 0 when log is true"),
    ({"xgboost": {"eta": {"low": 0.1, "high": 1}}}, "tune.space.xgboost",
     ": unknown model; must be a model of estimators.ESTIMATORS: one of "),
]  # fmt: skip


@pytest.mark.parametrize(("space", "key", "message"), BAD_SPACES, ids=[key for _, key, _ in BAD_SPACES])
def test_a_bad_search_space_names_the_key_and_writes_nothing(tuning, run, space, key, message) -> None:
    tuning.params["tune"]["space"] = space
    params_text = tuning.save_params().read_text(encoding="utf-8")
    code, [line] = run()
    assert code == 2
    assert line.startswith(f"error: params.yaml: {key}") and message in line, line
    assert not (tuning.root / "reports/tune").exists() and not (tuning.root / ".optuna").exists()
    assert (tuning.root / "params.yaml").read_text(encoding="utf-8") == params_text


def test_an_empty_space_for_the_trained_model_is_refused(tuning, run) -> None:
    model = tuning.params["train"]["model"]
    tuning.params["tune"]["space"] = {name: spec for name, spec in SMALL_SPACE.items() if name != model}
    tuning.save_params()
    assert run() == (2, [
        f"error: params.yaml: tune.space.{model} is empty or missing: give at least one key of train.{model} "
        "as {low: .., high: ..} or {choices: [..]}"
    ])  # fmt: skip
    assert not (tuning.root / ".optuna").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://tuner:hunter2@127.0.0.1:PORT/studies", "cannot open the study storage"),
        ("mysql://tuner:hunter2@127.0.0.1/studies", "not a supported database URL; allowed: postgresql://"),
        ("hunter2; touch X", "not a supported database URL"),
        ("postgresql://tuner@127.0.0.1:PORT/db?password=hunter2", "cannot open the study storage"),
        ("postgresql://tuner:hun@ter2@127.0.0.1:PORT/db", "cannot open the study storage"),
        ("sqlite://", "an in-memory database keeps nothing"),
    ],
)
def test_a_storage_that_cannot_be_used_fails_with_one_line_and_no_password(tuning, run, monkeypatch, url, expected):
    # PORT: a port nothing listens on, found when the test runs (the same test name in every worker).
    monkeypatch.setenv("OPTUNA_STORAGE", url.replace("PORT", str(free_port())))
    code, [line] = run()
    assert code == 2
    assert line.startswith("error: OPTUNA_STORAGE") and expected in line, line
    assert "hunter2" not in line and "ter2" not in line and "hun@" not in line, line
    assert not (tuning.root / "reports/tune").exists() and not (tuning.root / ".optuna").exists()
    assert not (tuning.root / "X").exists()


def test_data_that_failed_validation_is_not_tuned_on(tuning, run) -> None:
    (tuning.root / "reports/validation/summary.json").write_text('{"success": false}', encoding="utf-8")
    code, [line] = run()
    assert code == 2 and "failed validation" in line
    assert not (tuning.root / ".optuna").exists()


@pytest.mark.parametrize(
    "arguments",
    [["--workers", "0"], ["--trials", "-3"], ["--study", "a b; touch X"], ["--worker", "@octocat\n<b>"],
     ["--worker", "https://evil.example/p"], ["--trials", "10000000"], ["--out", "."], ["--out", "data"]],
)  # fmt: skip
def test_bad_options_fail_with_one_line(tuning, run, arguments) -> None:
    code, lines = run(*arguments)
    assert code == 2 and len(lines) == 1, lines
    assert not (tuning.root / ".optuna").exists() and not (tuning.root / "X").exists()


@pytest.mark.slow
def test_two_processes_share_one_study(tuning) -> None:
    workers = [
        subprocess.Popen([sys.executable, "-m", PACKAGE, "tune", "--study", "shared", "--trials", "6", "--workers", "2",
                          "--worker", str(number)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for number in (1, 2)
    ]  # fmt: skip
    for worker in workers:
        _, errors = worker.communicate(timeout=600)
        assert worker.returncode == 0, errors
    trials = study("shared").trials
    assert sorted(trial.number for trial in trials) == list(range(6))  # no trial number twice
    assert [trial.state.name for trial in trials] == ["COMPLETE"] * 6
    assert sorted(trial.user_attrs["worker"] for trial in trials) == ["1", "1", "1", "2", "2", "2"]


def interruptible() -> None:
    """Let Ctrl-C reach the child: a shell ignores SIGINT for background jobs, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_an_interrupted_study_continues_where_it_stopped(tuning) -> None:
    tuning.params["tune"]["trials"] = 40
    tuning.save_params()
    worker = subprocess.Popen([sys.executable, "-m", PACKAGE, "tune", "--study", "resumed"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.5)
        if (tuning.root / ".optuna/journal.log").exists() and len(tune.finished(study("resumed"))) >= 2:
            break
    worker.send_signal(signal.SIGINT)
    _, errors = worker.communicate(timeout=120)
    assert worker.returncode == 130, errors
    assert "tune: interrupted; run the same command again to continue the study" in errors.splitlines(), errors
    assert "Traceback" not in errors, errors
    assert not (tuning.root / "reports/tune").exists()
    before = {trial.number: trial.datetime_start for trial in tune.finished(study("resumed"))}
    assert len(before) >= 2

    assert tune.main(["--study", "resumed", "--trials", str(len(before) + 2)]) == 0
    after = {trial.number: trial.datetime_start for trial in tune.finished(study("resumed"))}
    assert len(after) == len(before) + 2
    assert {number: after[number] for number in before} == before  # the first trials were kept, not run again
    assert sum(bool(trial.user_attrs.get("baseline")) for trial in study("resumed").trials) == 1


@pytest.mark.parametrize(("write", "states"), [("RUNNING", ["FAIL"]), ("COMPLETE", ["COMPLETE"])])
def test_ctrl_c_while_optuna_records_a_trial_stops_cleanly(tuning, monkeypatch, request, write, states) -> None:
    """SIGINT while Optuna writes a trial's state used to leave it RUNNING or end in Optuna's traceback.

    RUNNING: Ctrl-C as a trial starts; it is recorded as failed before any work. COMPLETE: Ctrl-C as
    a finished trial is written; it is kept whole. Either way no further trial starts.
    """
    import os

    from optuna.trial import TrialState

    # As in a terminal: a shell that starts the tests in the background ignores SIGINT for them.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))
    storage = tune.open_storage(None)
    params = load_params("params.yaml")
    trials = tune.load_study(storage, "recorded", params, seed=0)
    recorded = storage.set_trial_state_values

    def interrupted_while_recording(trial_id: int, state: Any, values: Any = None) -> bool:
        if state == TrialState[write]:
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs at the next bytecode: inside the write
        return recorded(trial_id, state, values)

    monkeypatch.setattr(storage, "set_trial_state_values", interrupted_while_recording)
    frame = pd.read_csv("data/prepared/train.csv")
    with pytest.raises(KeyboardInterrupt):
        tune.run_trials(trials, params, frame, share=4, worker="", first=True)
    assert [trial.state.name for trial in study("recorded").trials] == states
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C behaves as before afterwards


def test_the_plan_spreads_workers_only_over_a_shared_storage(capsys) -> None:
    assert tune.plan("3", "postgresql://tuner@db/studies") == "[1, 2, 3]"
    assert tune.plan("3", None) == "[1]"
    assert "OPTUNA_STORAGE is not set" in capsys.readouterr().out
    for bad in ("0", "21", "2; touch X", "", "1.5"):
        with pytest.raises(tune.TuneError, match=r"input workers=.*: must be a whole number from 1 to 20"):
            tune.plan(bad, "postgresql://tuner@db/studies")
    with pytest.raises(tune.TuneError, match=r"input trials='ten': must be a whole number from 1 to 100000"):
        tune.plan("2", "postgresql://tuner@db/studies", "ten")
    with pytest.raises(tune.TuneError, match=r"tune.yml needs a postgresql:// URL"):
        tune.plan("2", "sqlite:///studies.db")


def test_the_report_escapes_what_it_quotes() -> None:
    result = {
        "study": "s", "model": "random_forest", "metric": "roc_auc", "direction": "maximize", "cv_folds": 3,
        "best": {"number": 1, "value": 0.9, "params": {"max_depth": "<script>|@octocat"}},
        "baseline": None, "current": {"max_depth": None}, "trials": {"complete": 1},
        "workers": {"@octocat <img src=x>\n| x |": 1},
    }  # fmt: skip
    text = tune.markdown(result, [], [], None)
    outside_code = re.sub(r"`[^`\n]*`", "", text)  # a code span shows its text, never renders it
    assert "<script>" not in outside_code and "<img" not in outside_code and "@octocat" not in outside_code
    assert '`"<script>\\|@octocat"`' in text  # the pipe escaped, so the table keeps its columns
    assert "\n| x |" not in text


def test_a_study_is_not_continued_with_another_search_space(tuning, run) -> None:
    assert tune.main(["--study", "fixed", "--trials", "2"]) == 0
    model = tuning.params["train"]["model"]
    first_key = next(iter(SMALL_SPACE[model]))
    tuning.params["tune"]["space"] = {model: {first_key: SMALL_SPACE[model][first_key]}}
    tuning.save_params()
    code, [line] = run("--study", "fixed", "--trials", "3")
    assert code == 2 and "study 'fixed' was made with another space" in line, line


def test_apply_keeps_windows_line_ends_and_leaves_unchanged_values_alone(tuning) -> None:
    original = (PROJECT_ROOT / "params.yaml").read_text(encoding="utf-8").replace("\n", "\r\n")
    path = tuning.root / "params.yaml"
    path.write_bytes(original.encode("utf-8"))
    model = shipped_model(path)
    current = load_params(path)["train"][model]
    key, value = next(iter(current.items()))
    new_value = None if value is not None and key == "max_depth" else (value or 1) + 1
    assert tune.apply(path, model, {**current, key: new_value}) == [key]
    after = path.read_bytes().decode("utf-8")
    assert after.count("\r\n") == original.count("\r\n")
    assert [line for line in after.split("\r\n") if line not in original.split("\r\n")] != []
    assert sum(a != b for a, b in zip(after.split("\r\n"), original.split("\r\n"), strict=True)) == 1


def test_collect_refuses_outside_a_clean_git_checkout(tuning, run) -> None:
    assert tune.main(["--study", "collected", "--trials", "2"]) == 0
    params_text = (tuning.root / "params.yaml").read_text(encoding="utf-8")
    code, [line] = run("--study", "collected", "--collect")
    assert code == 2 and line.startswith("error: git rev-parse: fatal: not a git repository"), line
    subprocess.run(["git", "init", "--quiet"], check=True)
    subprocess.run(["git", "add", "params.yaml"], check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "init"], check=True)
    (tuning.root / "params.yaml").write_text(params_text + "# edited\n", encoding="utf-8")
    code, [line] = run("--study", "collected", "--collect")
    assert code == 2 and "commit or stash your changes first" in line, line
    assert (tuning.root / "params.yaml").read_text(encoding="utf-8") == params_text + "# edited\n"


def test_a_bound_too_large_for_the_estimators_is_refused(tuning, run) -> None:
    model = tuning.params["train"]["model"]
    key = next(iter(SMALL_SPACE[model]))
    tuning.params["tune"]["space"] = {model: {key: {"low": 1, "high": 10**300}}}
    tuning.save_params()
    code, [line] = run()
    assert code == 2 and f"tune.space.{model}.{key}.high" in line and "a number from -1e+09 to 1e+09" in line, line


def test_a_searched_key_train_does_not_hold_is_refused(tuning, run) -> None:
    model = tuning.params["train"]["model"]
    tuning.params["tune"]["space"] = {model: {"verbose": {"choices": [0, 1]}}}
    tuning.save_params()
    code, [line] = run()
    assert code == 2
    assert line == (
        f"error: params.yaml: tune.space.{model}.verbose: train.{model} has no verbose: add it there with the value "
        "you train with now, the study's first trial"
    )


def test_scikit_learns_constraints_say_whether_a_range_is_whole_numbers() -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import Ridge

    assert tune.integer_key(RandomForestClassifier(), "min_samples_leaf", {}, {"low": 1, "high": 20})
    assert tune.integer_key(RandomForestClassifier(), "max_depth", {}, {"low": 2, "high": 16})
    assert not tune.integer_key(Ridge(), "alpha", {"alpha": 10}, {"low": 1, "high": 100})  # a number, however written
