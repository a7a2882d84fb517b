"""What the workflows expect of the repository's settings on GitHub, from the project's own files.

Shared by `github-setup` (which makes what it can) and `doctor` (which checks all of it): the
environments and their deployment branches, the variables the bake answers imply, the secrets
that hold write credentials, and the workflows that run on a schedule. See docs/ci.md,
"GitHub set-up and doctor".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# environment: its deployment branches ("" stands for the default branch) and the jobs that use it.
ENVIRONMENTS = {
    "model-registry": (("",), "train.yml register, promote.yml, rollback.yml"),
    "data-refresh": (("", "data-refresh"), "refresh.yml pull-request, train.yml auto-merge"),
    "tuning": (("",), "tune.yml plan, tune, collect"),
}
# Secrets that can write to the registry or the repository: an environment's, never the repository's.
ENVIRONMENT_SECRETS = {
    "MLFLOW_TRACKING_USERNAME": "model-registry",
    "MLFLOW_TRACKING_PASSWORD": "model-registry",
    "MLFLOW_TRACKING_TOKEN": "model-registry",
    "REFRESH_TOKEN": "data-refresh",
    "OPTUNA_STORAGE": "tuning",
}
# The cloud login each DVC remote needs in CI (the setup action reads these variables).
CLOUD_VARIABLES = {
    "s3": ("AWS_ROLE_TO_ASSUME",),
    "gcs": ("GCP_WORKLOAD_IDENTITY_PROVIDER", "GCP_SERVICE_ACCOUNT"),
    "azure": ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID"),
}
# Variables the workflows read whose values are one of a few words.
CHOICES = {"RETRAIN_ON_DRIFT": ("yes", "no"), "REFRESH_AUTO_MERGE": ("true", "false")}
REGISTRY_BRANCH = "mlflow-registry"
PR_REPORTS = "pr-reports"
_SCHEDULE = re.compile(r"^\s*schedule\s*:", re.MULTILINE)
_SERVER = re.compile(r"^(https?|databricks)://|^databricks$")


def answers(root: Path = Path(".")) -> dict:
    """The bake answers: .cruft.json's context (kept current by template updates), else .cookiecutter.json."""
    cruft = root / ".cruft.json"
    if cruft.is_file():
        found = json.loads(cruft.read_text(encoding="utf-8")).get("context", {}).get("cookiecutter")
        if isinstance(found, dict):
            return found
    recorded = root / ".cookiecutter.json"
    if recorded.is_file():
        return json.loads(recorded.read_text(encoding="utf-8"))
    raise FileNotFoundError("neither .cruft.json nor .cookiecutter.json: run this in the project's folder")


def environments(default_branch: str) -> dict[str, list[str]]:
    """Each environment's deployment branches, sorted, with the default branch named."""
    return {
        name: sorted(branch or default_branch for branch in branches) for name, (branches, _) in ENVIRONMENTS.items()
    }


def variables(bake: dict) -> dict[str, str]:
    """The variables the answers imply and the workflows have no other way to know.

    Only MLFLOW_TRACKING_URI: the workflows decide with it whether the registry is a server or
    the embedded one on branch mlflow-registry, while the answer reaches only params.yaml.
    PYTHON_VERSION and RETRAIN_ON_DRIFT are not set: the workflows already default to the
    answers, and a variable would keep the old value after `make template-update` changes them.
    """
    uri = str(bake.get("mlflow_tracking_uri") or "").strip()
    return {"MLFLOW_TRACKING_URI": uri} if _SERVER.match(uri) else {}


def cloud_variables(bake: dict) -> tuple[str, ...]:
    """The variables the DVC remote's login needs; their values are yours (a role, an identity)."""
    return CLOUD_VARIABLES.get(str(bake.get("dvc_remote", "")), ())


def scheduled_workflows(root: Path = Path(".")) -> list[str]:
    """The workflow files with a `schedule:` trigger that is not commented out."""
    folder = root / ".github" / "workflows"
    return sorted(p.name for p in folder.glob("*.yml") if _SCHEDULE.search(p.read_text(encoding="utf-8")))
