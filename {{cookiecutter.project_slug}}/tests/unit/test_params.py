"""params.yaml: the shipped file passes the schema, and every bad value fails with one line naming its key."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }} import estimators
from {{ cookiecutter.package_name }}.loop import metrics, params

PROJECT_ROOT = Path(__file__).parents[2]
PACKAGE = "{{ cookiecutter.package_name }}"
# The answers the template offers by default for each task (cookiecutter.json).
DEFAULT_GATES = {"classification": ("roc_auc", 0.9), "regression": ("r2", 0.3)}

NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit"


def changed(raw: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Return a copy of `raw` with the dotted `key` set to `value` (or removed when value is ...)."""
    result = copy.deepcopy(raw)
    *parents, last = key.split(".")
    target = result
    for name in parents:
        target = target[name]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return result


def rejection(raw: dict[str, Any]) -> str:
    with pytest.raises(params.ParamsError) as error:
        params.validate(raw)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_project_params_pass_the_schema() -> None:
    loaded = params.load_params(PROJECT_ROOT / "params.yaml")
    for name in ("data", "ingest", "profile", "train", "gate", "register", "drift", "current"):
        assert isinstance(params.section(loaded, name), dict), name
    # Optional: a project made before `make tune` and `make refresh` existed has neither section.
    for name in ("tune", "refresh"):
        assert loaded[name] is None or isinstance(loaded[name], dict), name
    assert loaded["gate"]["allow_schema_change"] is False
    assert loaded["register"]["retry_seconds"] == 30


@pytest.mark.parametrize("task", sorted(DEFAULT_GATES))
def test_shipped_params_pass_for_every_task_and_metric(project_params: dict[str, Any], task: str) -> None:
    metric, threshold = DEFAULT_GATES[task]
    raw = changed(changed(project_params, "data.task", task), "gate.metric", metric)
    raw = changed(raw, "gate.threshold", threshold)
    assert params.validate(raw)["data"]["task"] == task
    for name in metrics.names_for(task):
        limits = metrics.METRICS[name]
        inside = 0.5 if limits.high == 1.0 else 10.0
        assert params.validate(changed(changed(raw, "gate.metric", name), "gate.threshold", inside))["gate"]["metric"]


@pytest.mark.parametrize("model", tuple(estimators.ESTIMATORS))
def test_every_model_of_estimators_py_is_allowed(project_params: dict[str, Any], model: str) -> None:
    assert params.validate(changed(project_params, "train.model", model))["train"]["model"] == model


def test_defaults_are_filled_in_and_yaml_values_kept(project_params: dict[str, Any]) -> None:
    raw = changed(changed(project_params, "gate.allow_schema_change", ...), "register.retry_seconds", ...)
    loaded = params.validate(raw)
    assert loaded["gate"]["allow_schema_change"] is False
    assert loaded["register"]["retry_seconds"] == 30
    assert loaded["profile"] == project_params["profile"]
    assert loaded["train"]["random_forest"] == project_params["train"]["random_forest"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("train.text_max_features", 0, "train.text_max_features = 0: must be an integer >= 1"),
        ("train.seed", -1, "train.seed = -1: must be an integer >= 0"),
        ("train.model", "xgboost", f'train.model = "xgboost": must be one of {", ".join(estimators.ESTIMATORS)}'),
        (
            "train.random_forest",
            3,
            "train.random_forest = 3: must be a mapping of random_forest's parameters, or empty",
        ),
        ("data.task", "clustering", 'data.task = "clustering": must be one of classification, regression'),
        ("data.target", "", 'data.target = "": must be a non-empty string'),
        ("data.target", 3, "data.target = 3: must be a non-empty string"),
        ("ingest.holdout_fraction", 0, "ingest.holdout_fraction = 0: must be a number between 0 and 1, exclusive"),
        ("ingest.holdout_fraction", 1.5, "ingest.holdout_fraction = 1.5: must be a number between 0 and 1"),
        ("ingest.holdout_fraction", float("nan"), "ingest.holdout_fraction = nan: must be a number between 0 and 1"),
        ("profile.null_margin", 2, "profile.null_margin = 2: must be a number from 0 to 1"),
        ("profile.range_margin", -0.1, "profile.range_margin = -0.1: must be a number >= 0"),
        ("profile.max_categories", 0, "profile.max_categories = 0: must be an integer >= 1"),
        ("gate.metric", "auc", 'gate.metric = "auc": must be one of roc_auc, accuracy, f1, r2, rmse, mae'),
        ("gate.tolerance", -0.01, "gate.tolerance = -0.01: must be a number >= 0"),
        ("gate.tolerance", "small", 'gate.tolerance = "small": must be a number >= 0'),
        ("gate.threshold", float("inf"), "gate.threshold = inf: must be a finite number"),
        ("gate.allow_schema_change", "yes", 'gate.allow_schema_change = "yes": must be true or false'),
        ("register.retry_seconds", 0, "register.retry_seconds = 0: must be a number of seconds > 0 and <= 600"),
        ("register.model_name", "", 'register.model_name = "": must be ' + NAME_RULE),
        ("register.model_name", "churn'model", 'register.model_name = "churn\'model": must be ' + NAME_RULE),
        ("register.retry_seconds", 1e9, "register.retry_seconds = 1e+09: must be a number of seconds > 0 and <= 600"),
        ("drift.dataset_drift_share", 1.5, "drift.dataset_drift_share = 1.5: must be a number from 0 to 1"),
        ("drift.psi_bins", 1, "drift.psi_bins = 1: must be an integer >= 2"),
        ("drift.numeric.method", "chisquare", 'drift.numeric.method = "chisquare": must be one of wasserstein, psi'),
        ("drift.p_value", -0.01, "drift.p_value = -0.01: must be a number between 0 and 1, exclusive"),
        ("drift.p_value", 0, "drift.p_value = 0: must be a number between 0 and 1, exclusive"),  # would test nothing
        ("drift.p_value", 1, "drift.p_value = 1: must be a number between 0 and 1, exclusive"),
        ("current.rows", 0, "current.rows = 0: must be an integer >= 1"),
        ("current.shift_columns", "age", 'current.shift_columns = "age": must be a list of column names'),
    ],
)
def test_bad_value_is_one_line_naming_key_value_and_what_is_allowed(
    project_params: dict[str, Any], key: str, value: Any, message: str
) -> None:
    assert rejection(changed(project_params, key, value)).startswith(f"params.yaml: {message}")


@pytest.mark.parametrize(
    ("metric", "threshold", "allowed"),
    [
        ("roc_auc", -3, "must be a number >= 0 and <= 1 for roc_auc"),
        ("accuracy", 1.5, "must be a number >= 0 and <= 1 for accuracy"),
        ("f1", -0.1, "must be a number >= 0 and <= 1 for f1"),
        ("r2", 1.5, "must be a number <= 1 for r2"),
        ("rmse", -1, "must be a number >= 0 for rmse"),
        ("mae", -0.5, "must be a number >= 0 for mae"),
    ],
)
def test_threshold_outside_the_metric_range_is_rejected(
    project_params: dict[str, Any], metric: str, threshold: float, allowed: str
) -> None:
    task = metrics.METRICS[metric].task
    raw = changed(changed(project_params, "data.task", task), "gate.metric", metric)
    message = rejection(changed(raw, "gate.threshold", threshold))
    assert message == f"params.yaml: gate.threshold = {threshold:g}: {allowed}"


@pytest.mark.parametrize(
    ("metric", "threshold", "tolerance", "allowed"),
    [
        ("roc_auc", 0.9, 0.1, "a number >= 0 and below 0.1 (the distance from gate.threshold to the best roc_auc)"),
        ("r2", 0.3, 5, "a number >= 0 and below 0.7 (the distance from gate.threshold to the best r2)"),
        ("rmse", 2.5, 1e9, "a number >= 0 and below 2.5 (the distance from gate.threshold to the best rmse)"),
    ],
)
def test_a_tolerance_too_wide_to_ever_fail_is_rejected(
    project_params: dict[str, Any], metric: str, threshold: float, tolerance: float, allowed: str
) -> None:
    task = metrics.METRICS[metric].task
    raw = changed(changed(project_params, "data.task", task), "gate.metric", metric)
    raw = changed(raw, "gate.threshold", threshold)
    assert rejection(changed(raw, "gate.tolerance", tolerance)) == (
        f"params.yaml: gate.tolerance = {tolerance:g}: must be {allowed}"
    )
    assert params.validate(changed(raw, "gate.tolerance", 0))["gate"]["tolerance"] == 0


def test_a_threshold_at_the_best_value_accepts_any_tolerance(project_params: dict[str, Any]) -> None:
    """Demanding a perfect model leaves no room in which a tolerance could matter."""
    raw = changed(changed(project_params, "data.task", "classification"), "gate.metric", "accuracy")
    raw = changed(raw, "gate.threshold", 1.0)
    assert params.validate(changed(raw, "gate.tolerance", 0.01))["gate"]["threshold"] == 1.0


def test_a_key_written_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    text = (PROJECT_ROOT / "params.yaml").read_text(encoding="utf-8")
    doubled = text.replace("gate:\n", "gate:\n  tolerance: 0.5\n", 1)
    lines = doubled.splitlines()
    second = [number for number, line in enumerate(lines, 1) if line.startswith("  tolerance:")][1]
    (tmp_path / "params.yaml").write_text(doubled, encoding="utf-8")
    with pytest.raises(params.ParamsError) as error:
        params.load_params(tmp_path / "params.yaml")
    assert str(error.value) == (
        f"{tmp_path / 'params.yaml'}: not valid YAML at line {second}, column 3: "
        "the key 'tolerance' appears twice in one mapping"
    )


def test_metric_of_the_other_task_is_rejected(project_params: dict[str, Any]) -> None:
    raw = changed(changed(project_params, "data.task", "classification"), "gate.metric", "r2")
    allowed = "must be one of roc_auc, accuracy, f1 for task classification"
    assert rejection(raw) == f'params.yaml: gate.metric = "r2": {allowed}'


def test_unknown_key_names_the_keys_allowed_there(project_params: dict[str, Any]) -> None:
    message = rejection(changed(project_params, "ingest.holdout_fractio", 0.2))
    assert (
        message == "params.yaml: ingest.holdout_fractio = 0.2: unknown key; allowed keys here: holdout_fraction, seed"
    )
    message = rejection(changed(project_params, "train.max_categries", 20))
    assert message.startswith("params.yaml: train.max_categries = 20: must be a key of train: one of model, seed,")
    # A model's own keys are the estimator's to check, when it is built (test_train.py).
    assert params.validate(changed(project_params, "train.random_forest.max_features", "sqrt"))
    assert rejection(changed(project_params, "gates", {})).startswith("params.yaml: gates = {}: unknown key; allowed")


def test_odd_keys_stay_on_one_line(project_params: dict[str, Any]) -> None:
    message = rejection(changed(project_params, "gate", {**project_params["gate"], "a\nb": 1}))
    assert message.startswith('params.yaml: gate."a\\nb" = 1: unknown key; allowed keys here: metric,')
    message = rejection(changed(project_params, "train", {**project_params["train"], 1: 2}))
    assert message == "params.yaml: train: the key 1 is not a name: keys must be strings"


def test_missing_section_and_missing_key_are_named(project_params: dict[str, Any]) -> None:
    assert rejection(changed(project_params, "gate", ...)) == (
        "params.yaml: section gate is missing: it must be a mapping with the keys "
        "metric, threshold, tolerance, baseline_margin, allow_schema_change, allow_leakage, allow_unproven_champion"
    )
    assert rejection(changed(project_params, "register", ...)).startswith("params.yaml: section register is missing")
    assert rejection(changed(project_params, "gate.tolerance", ...)) == (
        "params.yaml: key gate.tolerance is missing: it must be a number >= 0"
    )


def test_section_that_is_not_a_mapping_is_named(project_params: dict[str, Any]) -> None:
    assert rejection(changed(project_params, "train", [1])).startswith(
        "params.yaml: train = [1]: must be a mapping with the keys model, seed,"
    )


def test_several_problems_report_the_first_and_count_the_rest(project_params: dict[str, Any]) -> None:
    raw = changed(changed(project_params, "ingest.seed", -1), "train.seed", -1)
    assert rejection(raw) == "params.yaml: ingest.seed = -1: must be an integer >= 0 (1 more after fixing this)"


def test_missing_file_says_where_to_run(tmp_path: Path) -> None:
    with pytest.raises(params.ParamsError, match=r"nowhere\.yaml: file not found; run commands from the project root"):
        params.load_params(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("just text\n", "str"), ("", "NoneType")])
def test_file_that_is_not_a_mapping_is_rejected(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(params.ParamsError, match=f"expected a mapping of sections, got {kind}"):
        params.load_params(path)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("data:\n  task: regression\n   target: y\n", "line 3, column 10"),
        ("data: [1, 2\n", "line 2, column 1"),
        ("gate:\n\tmetric: r2\n", "line 2, column 1"),
    ],
)
def test_invalid_yaml_is_one_line_with_its_position(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(params.ParamsError) as error:
        params.load_params(path)
    assert str(error.value).startswith(f"{path}: not valid YAML at {where}: ")
    assert "\n" not in str(error.value)


def test_file_checked_on_load(tmp_path: Path, project_params: dict[str, Any]) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(changed(project_params, "ingest.holdout_fraction", 0)), encoding="utf-8")
    with pytest.raises(params.ParamsError, match=r"^.*params\.yaml: ingest\.holdout_fraction = 0: must be"):
        params.load_params(path)


@pytest.mark.parametrize("value", [None, 3, ["a"]])
def test_missing_or_malformed_section_is_named(value: object) -> None:
    with pytest.raises(params.ParamsError, match="section 'train' is missing or not a mapping"):
        params.section({"train": value}, "train")


def test_section_returns_the_mapping() -> None:
    assert params.section({"gate": {"metric": "r2"}}, "gate") == {"metric": "r2"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "params.yaml: ingest.holdout_fraction = 0: must be a number between 0 and 1, exclusive\n"),
        ("gate: [unclosed\n", "params.yaml: not valid YAML at line 2, column 1: "),
    ],
)
def test_command_with_bad_params_exits_2_with_one_line(
    tmp_path: Path, project_params: dict[str, Any], text: str | None, message: str
) -> None:
    bad = changed(project_params, "ingest.holdout_fraction", 0)
    (tmp_path / "params.yaml").write_text(text or yaml.safe_dump(bad), encoding="utf-8")
    (tmp_path / "m.json").write_text("{}", encoding="utf-8")  # so that only the params can be wrong
    arguments = ["--model", "m.joblib", "--train", "t.csv", "--holdout", "h.csv", "--metrics", "m.json"]
    arguments += ["--decision", "d.json"]
    done = subprocess.run(
        [sys.executable, "-m", PACKAGE, "gate", *arguments], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: {message}")


def test_params_of_a_project_made_before_tuning_and_refresh_still_pass(project_params: dict[str, Any]) -> None:
    older = {name: value for name, value in project_params.items() if name not in ("tune", "refresh")}
    loaded = params.validate(older)
    assert loaded["tune"] is None and loaded["refresh"] is None


def test_an_estimators_py_that_cannot_be_imported_is_one_line(project_params: dict[str, Any], monkeypatch) -> None:
    import {{ cookiecutter.package_name }} as package

    monkeypatch.delattr(package, "estimators", raising=False)
    monkeypatch.setitem(sys.modules, f"{package.__name__}.estimators", None)  # as a failed import leaves it
    with pytest.raises(params.ParamsError) as refused:
        params.validate(project_params)
    assert str(refused.value).startswith(f"src/{package.__name__}/estimators.py cannot be imported: ")
    assert "\n" not in str(refused.value)
