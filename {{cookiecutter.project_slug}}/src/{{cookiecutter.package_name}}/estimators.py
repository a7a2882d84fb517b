"""Your models: every name `train.model` in params.yaml may take is a function here. Yours to edit.

A function takes `classification` (True: predict a class, False: a number) and returns an unfitted
scikit-learn estimator (or one that follows scikit-learn's API) with your defaults. params.yaml
`train.<name>` then sets any of its parameters: a key is a keyword argument of the function (as
`alpha` of `linear`) or a parameter of the estimator it returns (`get_params()`); the loop refuses
any other key, naming the closest valid one, and scikit-learn's own rules check the values.
`train.seed` sets `random_state` where the estimator has one.

To add a model, write a function, add it to ESTIMATORS and give it a section in params.yaml:

    def extra_trees(classification: bool) -> Any:
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        return ExtraTreesClassifier(n_jobs=-1) if classification else ExtraTreesRegressor(n_jobs=-1)

    train:
      model: extra_trees
      extra_trees: {n_estimators: 300, max_features: sqrt}

A model from another library (xgboost, lightgbm) also needs it in pyproject.toml's dependencies
(`make lock` after) and the types its saved form holds in TRUSTED_TYPES: a registered model is read
back only from skops' default types (scikit-learn's, numpy's), features.py's transformers and these
(loop/model_file.py). The serving environment of a registered version pins the libraries its
model's objects come from; this project's own package (features.py) must be installed where a
model is served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def random_forest(classification: bool) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    return RandomForestClassifier(n_jobs=-1) if classification else RandomForestRegressor(n_jobs=-1)


def gradient_boosting(classification: bool) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    return HistGradientBoostingClassifier() if classification else HistGradientBoostingRegressor()


def linear(classification: bool, alpha: float = 1.0) -> Any:
    """L2-regularised: logistic regression (C = 1 / alpha) or ridge regression."""
    from sklearn.linear_model import LogisticRegression, Ridge

    if alpha <= 0:
        raise ValueError(f"alpha must be a number > 0, got {alpha!r}")
    return LogisticRegression(C=1.0 / alpha, max_iter=5000) if classification else Ridge(alpha=alpha)


ESTIMATORS: dict[str, Callable[..., Any]] = {
    "random_forest": random_forest,
    "gradient_boosting": gradient_boosting,
    "linear": linear,
}
# Models whose inputs are scaled (numbers and times to mean 0, standard deviation 1) first.
SCALED = frozenset({"linear"})
# Types beyond skops' defaults (scikit-learn's, numpy's) and features.py's transformers that a saved
# model of yours holds, as skops names them (`module.Class`), e.g. "xgboost.core.Booster"; a class
# defined in this file counts too. A registered model holding any other type is refused when read.
TRUSTED_TYPES: tuple[str, ...] = ()
