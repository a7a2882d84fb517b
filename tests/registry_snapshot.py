"""Print the project's registry as JSON: every version of the model with its aliases and tags.

Run with the baked project's own Python, from its root (tests/test_slow.py does this).
"""

import json
import sys
from pathlib import Path

import mlflow
import yaml

settings = yaml.safe_load(Path("params.yaml").read_text())["register"]
mlflow.set_tracking_uri(settings.get("tracking_uri") or "sqlite:///mlflow.db")
client = mlflow.MlflowClient()
try:
    versions = client.search_model_versions(f"name = '{settings['model_name']}'")
except mlflow.exceptions.MlflowException:
    versions = []
snapshot = {}
for found in sorted(versions, key=lambda version: int(version.version)):
    version = client.get_model_version(found.name, found.version)  # search results carry no aliases
    snapshot[str(version.version)] = {"aliases": sorted(version.aliases), "tags": dict(version.tags)}
json.dump(snapshot, sys.stdout)
