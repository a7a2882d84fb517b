"""Features: how the clean columns become the numbers a model learns from. Yours to edit.

`build_preprocessor` returns the first step of the saved Pipeline, so the registered model takes
the raw columns: numbers are imputed (and scaled for the models in estimators.SCALED), categories
are read as text and one-hot encoded (rare and unseen values share an "infrequent" column), times become days since
1970, hour, weekday and month (DatetimeFeatures), and free text becomes TF-IDF features.
`feature_kinds` says which column is which (loop/kinds.py decides, as it does for the suite and
drift). The loop calls these two functions and nothing else here; their signatures are the contract.

A scikit-learn transformer defined here and saved in the model (CategoriesAsText, DatetimeFeatures) is trusted when a
registered model is read back (loop/model_file.py), which rebuilds it from the registry's copy of
its settings and runs it: keep such classes to computing features from their input. Registered
models name them by this module's path, so never change what an existing class computes (the
champion would change with it): add a new class, and keep the old one while a version uses it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .loop.kinds import parse_times, series_kind

EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


def feature_kinds(features: pd.DataFrame, max_categories: int) -> dict[str, list[str]]:
    """Group columns into numeric, categorical, datetime and text by what their values mean."""
    grouped: dict[str, list[str]] = {"numeric": [], "categorical": [], "datetime": [], "text": []}
    for column in features.columns:
        kind = series_kind(features[column], max_categories)
        grouped["categorical" if kind == "boolean" else kind].append(column)
    return grouped


def build_preprocessor(
    kinds: dict[str, list[str]], scale: bool, text_max_features: int, min_category_rows: int = 5
) -> Any:
    """Return a ColumnTransformer that turns the raw columns into a dense numeric matrix."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    times = [DatetimeFeatures(), SimpleImputer(strategy="median", keep_empty_features=True)]
    transformers = [
        ("numeric", make_pipeline(*numeric), kinds["numeric"]),
        (
            "categorical",
            make_pipeline(
                # A CSV cell gives NaN, a served JSON null gives None: both are missing. NaN goes
                # first, because an imputer for None refuses input that still holds NaN.
                # True/False with gaps arrive as objects mixing bools and NaN: as text, every value
                # is one kind, whichever chunk or request it comes in.
                CategoriesAsText(),
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


class CategoriesAsText(TransformerMixin, BaseEstimator):
    """Write every present category value as text (True -> "True"); missing values stay missing.

    A column of true/false with gaps holds Python bools and NaN, which the encoder cannot sort
    together once the gaps are filled with "missing"; a file read in chunks gives the same column as
    bools in one chunk and objects in the next. As text, the values are the same in every case.
    """

    def fit(self, X: Any, y: Any = None) -> CategoriesAsText:
        frame = pd.DataFrame(X)
        self.n_features_in_ = frame.shape[1]
        self.columns_ = [str(column) for column in frame.columns]
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = pd.DataFrame(X)
        text = frame.to_numpy(dtype=object).astype(str).astype(object)
        text[frame.isna().to_numpy()] = np.nan
        return text

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(list(input_features) if input_features is not None else self.columns_, dtype=object)


class DatetimeFeatures(TransformerMixin, BaseEstimator):
    """Turn each time column (ISO-8601 text) into numbers a model can split on.

    Per column: days since 1970 (the trend), hour of day with minutes, day of week (Monday 0) and
    month. Times are read as UTC instants (kinds.parse_times); a cell that is missing or is not a
    time gives NaN in every part, for the imputer that follows.
    """

    PARTS = ("days_since_1970", "hour", "weekday", "month")

    def fit(self, X: Any, y: Any = None) -> DatetimeFeatures:
        frame = pd.DataFrame(X)
        self.n_features_in_ = frame.shape[1]
        self.columns_ = [str(column) for column in frame.columns]
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = pd.DataFrame(X)
        parts = []
        for column in frame.columns:
            times = parse_times(frame[column])
            days = (times - EPOCH) / pd.Timedelta(days=1)
            clock = times.dt
            parts += [
                days.to_numpy(dtype=float, na_value=np.nan),
                (clock.hour + clock.minute / 60).to_numpy(dtype=float, na_value=np.nan),
                clock.weekday.to_numpy(dtype=float, na_value=np.nan),
                clock.month.to_numpy(dtype=float, na_value=np.nan),
            ]
        return np.column_stack(parts) if parts else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        columns = list(input_features) if input_features is not None else self.columns_
        return np.array([f"{column}_{part}" for column in columns for part in self.PARTS], dtype=object)
