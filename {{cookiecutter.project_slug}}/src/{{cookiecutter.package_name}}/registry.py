"""The MLflow model registry: where it is, and reading versions by alias."""

from __future__ import annotations

import argparse
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
        # str(): MLflow returns the version as an int here but as a str from searches and on the CLI.
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_version(name: str, version: str) -> Any:
    """Load a registered version as a scikit-learn model."""
    import mlflow.sklearn

    return mlflow.sklearn.load_model(f"models:/{name}/{version}")


def aliased_versions(client: Any, name: str) -> dict[str, dict[str, Any]]:
    """Return {alias: {version, tags}} for the aliases this project uses."""
    found = {}
    for alias in (CHAMPION, CHALLENGER, PREVIOUS_CHAMPION):
        version = alias_version(client, name, alias)
        if version is not None:
            found[alias] = {"version": version, "tags": client.get_model_version(name, version).tags}
    return found


def status_main(argv: list[str] | None = None) -> int:
    """Print where the registry is and which version each alias points at."""
    from .params import load_params, section

    parser = argparse.ArgumentParser(prog="status", description="Show the registered versions that carry an alias.")
    parser.add_argument("--params", default="params.yaml")
    settings = section(load_params(parser.parse_args(argv).params), "register")
    client, name = connect(settings), settings["model_name"]
    print(f"registry: {tracking_uri(settings)}")
    aliases = aliased_versions(client, name)
    if not aliases:
        print(f"model {name!r}: no aliased versions yet; run `make pipeline`")
    by_version: dict[str, list[str]] = {}
    for alias, found in aliases.items():
        by_version.setdefault(found["version"], []).append(f"@{alias}")
    for version, names in by_version.items():
        commit = next(f["tags"] for f in aliases.values() if f["version"] == version).get("git_commit", "unknown")
        print(f"model {name!r} version {version}: {' '.join(names)} (trained from commit {commit[:8]})")
    return 0
