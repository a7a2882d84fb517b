"""The MLflow model registry: where it is, and reading versions by alias."""

from __future__ import annotations

import os
from typing import Any

CHAMPION, CHALLENGER, PREVIOUS_CHAMPION = "champion", "challenger", "previous-champion"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def tracking_uri(settings: dict[str, Any]) -> str:
    """MLFLOW_TRACKING_URI if set, else params.yaml register.tracking_uri, else the embedded sqlite file."""
    return os.environ.get("MLFLOW_TRACKING_URI") or settings.get("tracking_uri") or DEFAULT_TRACKING_URI


def connect(settings: dict[str, Any]) -> Any:
    """Point MLflow at the configured registry and return a client."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(settings))
    return mlflow.MlflowClient()


def alias_version(client: Any, name: str, alias: str) -> str | None:
    """Return the version an alias points at, or None if the model or alias does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias).version
    except MlflowException:
        return None


def load_version(name: str, version: str) -> Any:
    """Load a registered version as a scikit-learn model."""
    import mlflow.sklearn

    return mlflow.sklearn.load_model(f"models:/{name}/{version}")
