"""Train: fit a scikit-learn Pipeline (preprocessing + estimator) on the training rows.

The preprocessing is features.build_preprocessor and the estimator one of estimators.ESTIMATORS,
both in the project's own files; this module checks train.<model>'s settings against the estimator
itself and saves the fitted Pipeline, so the registered model takes the raw columns.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import json
from pathlib import Path
from typing import Any

import pandas as pd

from .data import DataError, read_table, split_target
from .errors import fail
from .params import ParamsError, load_params, section, shown


def models() -> tuple[str, ...]:
    """The names train.model may take: the project's estimators.ESTIMATORS."""
    from .. import estimators

    return tuple(estimators.ESTIMATORS)


def settable(factory: Any, estimator: Any) -> tuple[set[str], set[str]]:
    """Return (keyword arguments of the function, parameters of the estimator it returned)."""
    arguments = {
        name
        for name, parameter in inspect.signature(factory).parameters.items()
        if name != "classification" and parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    }
    return arguments, set(estimator.get_params(deep=False))


class SettingRefused(ValueError):
    """A key of train.<model> the estimator does not have, or a value it refuses."""

    def __init__(self, key: str | None, reason: str) -> None:
        super().__init__(reason)
        self.key, self.reason = key, reason


def configure(task: str, model: str, options: dict[str, Any], seed: int) -> Any:
    """Return estimators.<model>(classification) with `options` set, or raise SettingRefused."""
    from .. import estimators

    factory = estimators.ESTIMATORS.get(model)
    if factory is None:
        raise SettingRefused(None, f"unknown model; one of {', '.join(models())} (estimators.ESTIMATORS)")
    classification = task == "classification"
    try:
        default = factory(classification)
        arguments, parameters = settable(factory, default)
    except Exception as error:  # the project's own function: say which one failed, in one line
        raise SettingRefused(None, f"estimators.{model} failed: {type(error).__name__}: {error}") from None
    for key, value in options.items():
        if key not in arguments | parameters:
            close = difflib.get_close_matches(str(key), sorted(arguments | parameters), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            names = ", ".join(sorted(arguments) + sorted(parameters))
            raise SettingRefused(str(key), f"unknown key; {hint}allowed keys of {type(default).__name__}: {names}")
        if isinstance(value, bool) and not takes_a_flag(default, factory, key):
            # YAML reads yes, no, on and off as true and false; scikit-learn takes True as the integer 1.
            raise SettingRefused(str(key), "must not be true or false here: write the number or the word it means")
    given = {key: value for key, value in options.items() if key in arguments}
    try:
        estimator = factory(classification, **given)
        fixed = {key: value for key, value in options.items() if key not in arguments}
        # A parameter the function sets from its own arguments (linear: C from alpha) is not set twice.
        before = default.get_params(deep=False)
        derived = {key for key, value in estimator.get_params(deep=False).items() if not same(value, before[key])}
        for key in sorted(derived & set(fixed)):
            raise SettingRefused(str(key), f"set by {', '.join(sorted(given))} (estimators.{model}): give one of them")
        if "random_state" in parameters and "random_state" not in options:
            fixed["random_state"] = seed
        estimator.set_params(**fixed)
        check = getattr(estimator, "_validate_params", None)  # scikit-learn's own constraints (1.2+)
        if callable(check):
            check()
    except SettingRefused:
        raise
    except Exception as error:  # a value the function or the estimator refuses
        raise SettingRefused(None, " ".join(str(error).split()) or type(error).__name__) from None
    return estimator


def same(first: Any, second: Any) -> bool:
    try:
        return bool(first == second)
    except Exception:  # arrays and other values without a single truth value
        return first is second


def takes_a_flag(default: Any, factory: Any, key: str) -> bool:
    """Whether the key may be true or false: its default is, or scikit-learn's constraints allow it."""
    if key in default.get_params(deep=False):
        if isinstance(default.get_params(deep=False)[key], bool):
            return True
        constraints = getattr(type(default), "_parameter_constraints", {}).get(key, [])
        return "boolean" in constraints or bool in constraints
    parameter = inspect.signature(factory).parameters.get(key)
    return parameter is not None and isinstance(parameter.default, bool)


def check_sections(task: str, settings: dict[str, Any], seed: int) -> None:
    """Check the keys of every model's section of train, not only the one trained: a misspelt key waits for no one."""
    for model in models():
        if isinstance(settings.get(model), dict):
            build_estimator(task, model, settings, seed)


def build_estimator(task: str, model: str, settings: dict[str, Any], seed: int) -> Any:
    """Return the estimator named by `model`, configured from train.<model>, or raise ParamsError naming the key."""
    options = settings.get(model) or {}
    if not isinstance(options, dict):
        raise ParamsError(f"params.yaml: train.{model} = {shown(options)}: must be a mapping of the model's keys")
    try:
        return configure(task, model, options, seed)
    except SettingRefused as error:
        where = "train.model" if error.key is None and model not in models() else f"train.{model}"
        if error.key is not None:
            where += f".{error.key} = {shown(options[error.key])}"
        raise ParamsError(f"params.yaml: {where}: {error.reason}") from None


def build_pipeline(features: pd.DataFrame, task: str, settings: dict[str, Any]) -> Any:
    """Return an unfitted Pipeline for these features."""
    from sklearn.pipeline import Pipeline

    from .. import estimators
    from .. import features as preparation

    kinds = preparation.feature_kinds(features, settings["max_categories"])
    preprocessor = preparation.build_preprocessor(
        kinds,
        settings["model"] in estimators.SCALED,
        settings["text_max_features"],
        settings.get("min_category_rows", 5),
    )
    estimator = build_estimator(task, settings["model"], settings, settings["seed"])
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])


def fit(frame: pd.DataFrame, data: dict[str, Any], settings: dict[str, Any]) -> Any:
    """Fit the pipeline on a training frame that includes the target column."""
    features, target = split_target(frame, data["target"])
    pipeline = build_pipeline(features, data["task"], settings)
    try:
        return pipeline.fit(features, target)
    except (ValueError, TypeError) as error:  # settings scikit-learn checks only together, when it fits
        reason = " ".join(str(error).split()) or type(error).__name__
        raise ParamsError(f"params.yaml: train.{settings['model']}: fitting refused the settings: {reason}") from None


def check_validation(path: str | Path) -> None:
    """Refuse to train unless the validation summary says the data passed."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no validation summary; run the validate stage first")
    if not json.loads(path.read_text(encoding="utf-8")).get("success"):
        raise DataError(f"{path}: the data failed validation; fix the data or the suite before training")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="train", description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, help="training rows (CSV)")
    parser.add_argument("--validation", required=True, help="validation summary JSON that must report success")
    parser.add_argument("--model", required=True, help="where to write the fitted pipeline (joblib)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)

    import joblib

    try:
        check_validation(args.validation)
        params = load_params(args.params)
        check_sections(section(params, "data")["task"], section(params, "train"), section(params, "train")["seed"])
        pipeline = fit(read_table(args.train), section(params, "data"), section(params, "train"))
    except (DataError, ParamsError) as error:
        return fail(error, 2)
    Path(args.model).parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, args.model)
    print(f"train: fitted {type(pipeline[-1]).__name__} -> {args.model}")
    return 0
