"""Train: fit a scikit-learn Pipeline (preprocessing + estimator) on the training rows.

Preprocessing lives inside the saved Pipeline, so the registered model takes the raw columns:
numbers are imputed (and scaled for linear models), categories are one-hot encoded (rare and
unseen values share an "infrequent" column), times become days since 1970, hour, weekday and
month (features.py), and free text becomes TF-IDF features. kinds.py decides which is which.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from .data import DataError, read_table, split_target
from .errors import fail
from .params import ParamsError, load_params, section

MODELS = ("random_forest", "gradient_boosting", "linear")


def feature_kinds(features: pd.DataFrame, max_categories: int) -> dict[str, list[str]]:
    """Group columns into numeric, categorical, datetime and text by what their values mean (kinds.py)."""
    from .kinds import series_kind

    grouped: dict[str, list[str]] = {"numeric": [], "categorical": [], "datetime": [], "text": []}
    for column in features.columns:
        kind = series_kind(features[column], max_categories)
        grouped["categorical" if kind == "boolean" else kind].append(column)
    return grouped


def build_preprocessor(
    kinds: dict[str, list[str]], scale: bool, text_max_features: int, min_category_rows: int = 5
) -> Any:
    """Return a ColumnTransformer that turns the raw columns into a dense numeric matrix."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    from .features import DatetimeFeatures

    numeric = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    times = [DatetimeFeatures(), SimpleImputer(strategy="median", keep_empty_features=True)]
    transformers = [
        ("numeric", make_pipeline(*numeric), kinds["numeric"]),
        (
            "categorical",
            make_pipeline(
                # A CSV cell gives NaN, a served JSON null gives None: both are missing. NaN goes
                # first, because an imputer for None refuses input that still holds NaN.
                SimpleImputer(strategy="constant", fill_value="missing"),
                SimpleImputer(missing_values=None, strategy="constant", fill_value="missing"),
                # Values on fewer than min_category_rows training rows share one column, and a
                # value never seen in training is counted with them when the model predicts.
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist", min_frequency=min_category_rows, sparse_output=False
                ),
            ),
            kinds["categorical"],
        ),
        ("datetime", make_pipeline(*times, *([StandardScaler()] if scale else [])), kinds["datetime"]),
    ]
    for column in kinds["text"]:
        text = make_pipeline(
            SimpleImputer(strategy="constant", fill_value=""),
            SimpleImputer(missing_values=None, strategy="constant", fill_value=""),
            FunctionTransformer(np.ravel),  # TF-IDF wants one string per row, not a 2-D column
            TfidfVectorizer(max_features=text_max_features),
        )
        transformers.append((f"text {column}", text, [column]))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def build_estimator(task: str, model: str, settings: dict[str, Any], seed: int) -> Any:
    """Return the estimator named by `model` for the task, configured from params."""
    if model not in MODELS:
        raise ParamsError(f"train.model={model!r}: unknown; allowed: {', '.join(MODELS)}")
    options = dict(settings.get(model) or {})
    try:
        return make_estimator(task == "classification", model, options, seed)
    except TypeError as error:  # an unknown or misspelt hyperparameter
        raise ParamsError(f"train.{model}: {error}") from error


def make_estimator(classification: bool, model: str, options: dict[str, Any], seed: int) -> Any:
    from sklearn import ensemble, linear_model

    if model == "random_forest":
        forest = ensemble.RandomForestClassifier if classification else ensemble.RandomForestRegressor
        return forest(random_state=seed, n_jobs=-1, **options)
    if model == "gradient_boosting":
        boosting = ensemble.HistGradientBoostingClassifier if classification else ensemble.HistGradientBoostingRegressor
        return boosting(random_state=seed, **options)
    alpha = float(options.pop("alpha", 1.0))
    if classification:
        return linear_model.LogisticRegression(C=1.0 / alpha, max_iter=5000, random_state=seed, **options)
    return linear_model.Ridge(alpha=alpha, **options)


def build_pipeline(features: pd.DataFrame, task: str, settings: dict[str, Any]) -> Any:
    """Return an unfitted Pipeline for these features."""
    from sklearn.pipeline import Pipeline

    kinds = feature_kinds(features, settings["max_categories"])
    preprocessor = build_preprocessor(
        kinds, settings["model"] == "linear", settings["text_max_features"], settings.get("min_category_rows", 5)
    )
    estimator = build_estimator(task, settings["model"], settings, settings["seed"])
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])


def fit(frame: pd.DataFrame, data: dict[str, Any], settings: dict[str, Any]) -> Any:
    """Fit the pipeline on a training frame that includes the target column."""
    features, target = split_target(frame, data["target"])
    pipeline = build_pipeline(features, data["task"], settings)
    return pipeline.fit(features, target)


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
        pipeline = fit(read_table(args.train), section(params, "data"), section(params, "train"))
    except (DataError, ParamsError) as error:
        return fail(error, 2)
    Path(args.model).parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, args.model)
    print(f"train: fitted {type(pipeline[-1]).__name__} -> {args.model}")
    return 0
