"""Feature transformers scikit-learn does not have, saved inside the model's Pipeline.

Kept small and free of state learned from data, so a saved model holds nothing but their
settings; the registry lists these classes among the model's trusted types.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .kinds import parse_times

EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


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
