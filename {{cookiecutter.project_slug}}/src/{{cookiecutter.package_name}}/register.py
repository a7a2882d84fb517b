"""Register: log a candidate that passed the gate to MLflow and move the aliases.

The new version gets `challenger`. Because the champion may have moved since the gate ran
(another run registered first), the champion is read again here and, if it changed, the same
gate is applied against the new champion before `champion` moves. The version it replaces
keeps the `previous-champion` alias, which `rollback` moves back.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from .data import DataError, read_table, split_target
from .gate import evaluate_gate, file_md5, print_decision
from .params import ParamsError, load_params, section
from .registry import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION, alias_version, connect

# What a registered model needs at serving time, pinned to the versions it was trained with.
SERVING_REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "scipy")


class RegisterError(RuntimeError):
    """The candidate must not be registered."""


def git_provenance() -> dict[str, str]:
    """The commit the model was trained from, and whether the work tree had uncommitted changes."""

    def git(*args: str) -> str:
        found = subprocess.run(["git", *args], check=False, capture_output=True, text=True)
        return found.stdout.strip() if found.returncode == 0 else ""

    return {"git_commit": git("rev-parse", "HEAD") or "unknown", "git_dirty": str(bool(git("status", "--porcelain")))}


def data_hashes(lock: dict[str, Any]) -> dict[str, str]:
    """Return {"dvc.<path>": md5} for every data dependency and output recorded in dvc.lock."""
    hashes = {}
    for stage in (lock.get("stages") or {}).values():
        for entry in (stage.get("deps") or []) + (stage.get("outs") or []):
            if entry.get("path", "").startswith(("data/", "models/")) and "md5" in entry:
                hashes[f"dvc.{entry['path']}"] = entry["md5"]
    return hashes


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested params into dotted keys, e.g. {"train.random_forest.n_estimators": 200}."""
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def recheck(params: dict[str, Any], decision: dict[str, Any], holdout: Any, client: Any) -> dict[str, Any]:
    """Re-apply the gate if the champion moved since the gate ran; raise if the candidate now fails."""
    name = section(params, "register")["model_name"]
    current = alias_version(client, name, CHAMPION)
    gated_against = (decision.get("champion") or {}).get("version")
    if current == gated_against:
        return decision
    print(f"register: champion moved from v{gated_against} to v{current} since the gate ran; gating again")
    metrics = {decision["metric"]: decision["candidate"]}
    decision = evaluate_gate(params, metrics, holdout)
    print_decision(decision)
    if not decision["passed"]:
        raise RegisterError("the candidate fails the gate against the new champion; nothing registered")
    return decision


def check_decision(decision: dict[str, Any], model_path: str) -> None:
    if not decision.get("passed"):
        raise RegisterError("the gate failed (see reports/gate.json); nothing registered")
    if decision.get("model_md5") != file_md5(model_path):
        raise RegisterError(f"{model_path} is not the model the gate judged; run `dvc repro` first")


def existing_version(client: Any, name: str, model_md5: str) -> str | None:
    """Return the version already registered from this exact model file, if any."""
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(f"name = '{name}' and tags.model_md5 = '{model_md5}'")
    except MlflowException:
        return None
    return str(versions[0].version) if versions else None  # a str, like alias_version's


def log_and_register(params: dict, metrics: dict, model_path: str, holdout: Any, tags: dict) -> str:
    """Log the run and the model with its signature, register it, and return the new version."""
    import joblib
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from skops.io import dumps, get_untrusted_types

    name = section(params, "register")["model_name"]
    model = joblib.load(model_path)
    features, _ = split_target(holdout, section(params, "data")["target"])
    example = features.head(5)
    # Integer columns are declared as floats: the pipeline imputes missing values, so serving
    # must accept a row with a gap where training happened to have none.
    signature_input = example.astype({column: "float64" for column in example.select_dtypes("integer").columns})
    mlflow.set_experiment(name)
    with mlflow.start_run(run_name=f"register {tags['git_commit'][:8]}"):
        mlflow.log_params({key: str(value)[:500] for key, value in flatten(params).items()})
        mlflow.log_metrics({key: value for key, value in metrics.items() if isinstance(value, int | float)})
        mlflow.set_tags(tags)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(signature_input, model.predict(example)),
            input_example=example,
            pip_requirements=[f"{package}=={metadata.version(package)}" for package in SERVING_REQUIREMENTS],
            registered_model_name=name,
            # The types of a model this project just trained; listing them lets MLflow's safe
            # (skops) format store and later load it.
            skops_trusted_types=get_untrusted_types(data=dumps(model)),
        )
    return str(info.registered_model_version)


def move_champion(client: Any, name: str, version: str) -> str | None:
    """Point champion at `version`, keep the old champion as previous-champion; return the old version."""
    previous = alias_version(client, name, CHAMPION)
    if previous is not None and previous != version:
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION, previous)
    client.set_registered_model_alias(name, CHAMPION, version)
    return previous


def register(params: dict, args: argparse.Namespace) -> str:
    """Register the gated candidate and return its version."""
    decision = json.loads(Path(args.gate).read_text(encoding="utf-8"))
    check_decision(decision, args.model)
    settings = section(params, "register")
    name = settings["model_name"]
    client = connect(settings)
    holdout = read_table(args.holdout)
    decision = recheck(params, decision, holdout, client)

    model_md5 = decision["model_md5"] = file_md5(args.model)
    version = existing_version(client, name, model_md5)
    if version is not None:
        print(f"register: this model is already version {version} of {name!r}")
    else:
        lock = yaml.safe_load(Path(args.lock).read_text(encoding="utf-8")) if Path(args.lock).is_file() else {}
        metrics = json.loads(Path(args.metrics).read_text(encoding="utf-8"))
        tags = {**git_provenance(), **data_hashes(lock), "model_md5": model_md5}
        version = log_and_register(params, metrics, args.model, holdout, tags)
        version_tags = {**tags, "params": json.dumps(params, sort_keys=True)[:4900], "gate": "passed"}
        for key, value in version_tags.items():
            client.set_model_version_tag(name, version, key, value)
    client.set_registered_model_alias(name, CHALLENGER, version)
    previous = move_champion(client, name, version)
    print(f"register: {name!r} version {version}: aliases {CHALLENGER}, {CHAMPION}", end="")
    print(f"; {PREVIOUS_CHAMPION} -> v{previous}" if previous and previous != version else "")
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="register", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="candidate pipeline (joblib)")
    parser.add_argument("--holdout", required=True, help="holdout rows (CSV)")
    parser.add_argument("--gate", required=True, help="gate decision JSON")
    parser.add_argument("--metrics", required=True, help="candidate metrics JSON")
    parser.add_argument("--lock", default="dvc.lock", help="dvc.lock, for the data hashes")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        register(load_params(args.params), args)
    except (RegisterError, DataError, ParamsError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
