"""Register: log a candidate that passed the gate to MLflow and move the aliases.

The run carries what a reviewer needs: params, metrics, the model's size, the plots, the gate
decision, the validation summary and, once the version exists, its model card (card_markdown.py),
built from reports/card.json, which must be this model's. The new version gets `challenger`, `champion`, and the
version it replaces keeps `previous-champion`, which `rollback` moves back. The version is
created with all its tags in one call and found again by the model file's hash, so a rerun
after a kill never registers the same model twice. Inside the registry lock the champion is
read again and, if it moved since the gate ran, the same gate is applied against it.
Exit codes: 0 registered, 1 refused, 2 a bad setting or input, 4 the registry could not answer.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from . import card_markdown
from .aliases import champion_of, locked, move, recover
from .data import DataError, read_table, split_target
from .errors import fail, output
from .gate import evaluate_gate, file_md5, holdout_identity, print_decision
from .model_file import logged_model_tags
from .params import ParamsError, load_params, section
from .registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS_CHAMPION,
    TRAINING_COUNT,
    TRAINING_IDENTITY,
    TRAINING_ROWS,
    Registry,
    RegistryError,
    connect,
)
from .rows import fingerprints, to_bytes

# What every registered model needs at serving time; serving_requirements adds what its objects import.
SERVING_REQUIREMENTS = ("scikit-learn", "pandas", "numpy", "scipy", "skops")  # skops: the model's file format


def model_objects(model: Any) -> list[Any]:
    """The estimator and every estimator or function inside it (pipeline steps, transformers, their parameters)."""
    found, pending, seen = [], [model], set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        found.append(item)
        if hasattr(item, "get_params") and not isinstance(item, type):
            pending += [value for value in item.get_params(deep=False).values() if value is not None]
        elif isinstance(item, list | tuple):
            pending += list(item)
    return found


def serving_requirements(model: Any) -> list[str]:
    """Pin SERVING_REQUIREMENTS and the distribution of every module the model's objects come from."""
    from . import PACKAGE

    owners = metadata.packages_distributions()
    names = set(SERVING_REQUIREMENTS)
    for item in model_objects(model):
        module = getattr(item, "__module__", None) if callable(item) else type(item).__module__
        top = str(module or "").split(".")[0]
        if top and top != PACKAGE and top != "builtins":
            names.update(owners.get(top, []))
    return [f"{name}=={metadata.version(name)}" for name in sorted(names, key=str.lower)]


class RegisterError(RuntimeError):
    """The candidate must not be registered."""


def git_provenance() -> dict[str, str]:
    """The commit the model was trained from, and whether the work tree had uncommitted changes."""

    from .git import output

    return {
        "git_commit": output("rev-parse", "HEAD") or "unknown",
        "git_dirty": str(bool(output("status", "--porcelain"))),
    }


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


def recheck(
    params: dict[str, Any], decision: dict[str, Any], rows: dict[str, Any], model_path: str, registry: Registry
) -> dict[str, Any]:
    """Re-apply the gate if the champion moved since the gate ran; raise if the candidate now fails."""
    current = champion_of(registry)
    gated_against = (decision.get("champion") or {}).get("version")
    if current == gated_against:
        return decision
    print(f"register: champion moved from v{gated_against} to v{current} since the gate ran; gating again")
    import joblib

    metrics = {decision["metric"]: decision["candidate"]}
    decision = evaluate_gate(params, metrics, rows["holdout"], rows["train"], joblib.load(model_path))
    print_decision(decision)
    if not decision["passed"]:
        raise RegisterError("the candidate fails the gate against the new champion; nothing registered")
    return decision


def check_decision(decision: dict[str, Any], model_path: str) -> None:
    if not decision.get("passed"):
        raise RegisterError("the gate failed (see reports/gate.json); nothing registered")
    if decision.get("model_md5") != file_md5(model_path):
        raise RegisterError(f"{model_path} is not the model the gate judged; run `dvc repro` first")


def read_card(path: str, model_md5: str) -> dict[str, Any]:
    """The evaluate stage's card numbers for this model file: every registered version has its card."""
    if not Path(path).is_file():
        raise RegisterError(f"{path} is missing: the evaluate stage writes it (run `make repro`); nothing registered")
    try:
        card = json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as error:
        raise RegisterError(f"{path} cannot be read ({error}); run `dvc repro`; nothing registered") from None
    if not isinstance(card, dict) or card.get("model_md5") != model_md5:
        raise RegisterError(f"{path} is the card of another model, not this one's; run `dvc repro`; nothing registered")
    return card


def training_record(train: Any, key: list[str] | None) -> tuple[dict[str, str], bytes]:
    """The version tags and the file (TRAINING_ROWS) that record which rows a model trained on."""
    tags = {TRAINING_IDENTITY: holdout_identity(key, train), TRAINING_COUNT: str(len(train))}
    return tags, to_bytes(fingerprints(train, key or ()))


def existing_version(registry: Registry, model_md5: str) -> str | None:
    """Return the version already registered from this exact model file, if any."""
    query = f"name = '{registry.name}' and tags.model_md5 = '{model_md5}'"
    versions = registry.call("searching versions", registry.client.search_model_versions, query) or []
    return str(min(int(found.version) for found in versions)) if versions else None  # a str, like aliases


def signature_for(model: Any, features: Any) -> Any:
    """Infer the serving signature from the holdout rows as they are read, so raw rows are accepted.

    Every column is optional: the pipeline imputes a missing value of any column. Number and bool
    columns are declared as "any" value: MLflow would refuse a missing value in a `long` or `boolean`
    column (a gap makes the column floats), and whole numbers sent for a `double` one.
    """
    from mlflow.models import infer_signature
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    loose = set(features.select_dtypes(include=["number", "bool"]).columns)
    inferred = infer_signature(features.astype({name: "float64" for name in loose}), model.predict(features))
    inputs = [
        ColSpec(AnyType() if spec.name in loose else spec.type, spec.name, required=False)
        for spec in inferred.inputs.inputs
    ]
    return ModelSignature(Schema(inputs), inferred.outputs)


def log_candidate(params: dict, args: argparse.Namespace, holdout: Any, tags: dict, trained_on: bytes) -> str:
    """Log the run (params, metrics, plots, gate, validation, the rows it trained on) and the model; return its URI."""
    import joblib
    import mlflow
    import mlflow.sklearn
    from skops.io import dumps, get_untrusted_types

    # The serving requirements are given below; MLflow's guess at pip's own version is not needed.
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)

    name = section(params, "register")["model_name"]
    model = joblib.load(args.model)
    features, _ = split_target(holdout, section(params, "data")["target"])
    metrics = json.loads(Path(args.metrics).read_text(encoding="utf-8"))
    metrics["model_size_bytes"] = Path(args.model).stat().st_size
    # Passed on: when another process creates the experiment at the same moment, set_experiment
    # returns it without making it the active one.
    experiment = mlflow.set_experiment(name)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name=f"register {tags['git_commit'][:8]}"):
        mlflow.log_params({key: str(value)[:500] for key, value in flatten(params).items()})
        mlflow.log_metrics({key: value for key, value in metrics.items() if isinstance(value, int | float)})
        mlflow.set_tags(tags)
        for path in (args.gate, args.validation):
            if Path(path).is_file():
                mlflow.log_artifact(path, artifact_path="reports")
        if Path(args.plots_dir).is_dir():
            mlflow.log_artifacts(args.plots_dir, artifact_path="reports/plots")
        with tempfile.TemporaryDirectory() as folder:  # the gate checks a champion's holdout against these
            path = Path(folder) / Path(TRAINING_ROWS).name
            path.write_bytes(trained_on)
            mlflow.log_artifact(str(path), artifact_path=str(Path(TRAINING_ROWS).parent))
        with serving_check_allowed():
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=signature_for(model, features),
                input_example=features.head(5),
                pip_requirements=serving_requirements(model),
                # The types of a model this project just trained; listing them lets MLflow's safe
                # (skops) format store and later load it.
                skops_trusted_types=get_untrusted_types(data=dumps(model)),
            )
    return info.model_uri


ALLOW_LOADING = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"


@contextlib.contextmanager
def serving_check_allowed() -> Iterator[None]:
    """Let MLflow load the model it is logging, to check the input example as a server would.

    Commands forbid MLflow's own loading (cli.py; model_file.py reads registered models); here the
    file is the one this process has just written from the pipeline's model, nothing read from outside.
    """
    before = os.environ.get(ALLOW_LOADING)
    os.environ[ALLOW_LOADING] = "true"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ALLOW_LOADING, None)
        else:
            os.environ[ALLOW_LOADING] = before


def version_tags(params: dict, args: argparse.Namespace, model_md5: str) -> dict[str, str]:
    lock = yaml.safe_load(Path(args.lock).read_text(encoding="utf-8")) if Path(args.lock).is_file() else {}
    return {**git_provenance(), **data_hashes(lock or {}), "model_md5": model_md5}


# What mlflow.register_model prints on stderr for every registration; `register` says it in one line.
MLFLOW_NOTICES = re.compile(r"^(Successfully registered model |Registered model .* already exists|Created version )")


def quietly(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run `call`, passing on what it prints to stderr except MLflow's routine registration notices."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stderr(printed):
            return call(*args, **kwargs)
    finally:
        for line in printed.getvalue().splitlines():
            if not MLFLOW_NOTICES.match(line):
                print(line, file=sys.stderr)


def create_version(registry: Registry, model_uri: str, tags: dict[str, str]) -> str:
    """Register the logged model with every tag in one call, so no version is ever half-tagged."""
    import mlflow

    def create() -> str:
        # A retried create first looks for the version an earlier attempt may have made before its answer was lost.
        found = existing_version(registry, tags["model_md5"])
        return found or str(quietly(mlflow.register_model, model_uri, registry.name, tags=tags).version)

    return registry.call("registering the model", create, write=True)


def register(params: dict, args: argparse.Namespace) -> str:
    """Register the gated candidate and return its version."""
    decision = json.loads(Path(args.gate).read_text(encoding="utf-8"))
    check_decision(decision, args.model)
    registry = connect(section(params, "register"))
    rows = {"train": read_table(args.train), "holdout": read_table(args.holdout)}
    holdout, key = rows["holdout"], section(params, "data").get("key")
    training_tags, trained_on = training_record(rows["train"], key)
    model_md5 = file_md5(args.model)
    card = read_card(args.card, model_md5)
    tags = {**version_tags(params, args, model_md5), **training_tags}
    log = (log_candidate, params, args, holdout, tags, trained_on)
    model_uri = None
    if existing_version(registry, model_md5) is None:  # logging is slow: do it before taking the lock
        model_uri = registry.call("logging the model", *log, write=True)
    with locked(registry, "register"):
        recover(registry, "register")
        version = existing_version(registry, model_md5)
        if version is None or version != champion_of(registry):  # a model is never gated against itself
            decision = recheck(params, decision, rows, args.model, registry)
        if version is not None:
            print(f"register: this model is already version {version} of {registry.name!r}")
        else:
            if model_uri is None:  # registered before the lock, gone since: log it again
                model_uri = registry.call("logging the model", *log, write=True)
            gate_tags = {"params": json.dumps(params, sort_keys=True)[:4900], "gate": "passed"}
            file_tags = logged_model_tags(
                registry, model_uri, split_target(holdout, section(params, "data")["target"])[0].head(5)
            )
            version = create_version(registry, model_uri, {**tags, **gate_tags, **file_tags})
        if card:  # logged again on a rerun: a kill may have come between the version and its card
            model = {"name": registry.name, "version": version, "commit": tags["git_commit"]}
            model["dirty"] = tags["git_dirty"]
            found = card_markdown.document(card, decision, model, card_markdown.project_answers(args.answers))
            card_markdown.log_card(registry, version, found)
        aliases = registry.aliases()
        previous = aliases.get(CHAMPION)
        moves = [(CHALLENGER, aliases.get(CHALLENGER), version), (CHAMPION, previous, version)]
        if previous is not None and previous != version:
            moves.append((PREVIOUS_CHAMPION, aliases.get(PREVIOUS_CHAMPION), previous))
        move(registry, "register", moves)
    print(f"register: {registry.name!r} version {version}: aliases {CHALLENGER}, {CHAMPION}", end="")
    print(f"; {PREVIOUS_CHAMPION} -> v{previous}" if previous and previous != version else "")
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="register", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="candidate pipeline (joblib)")
    parser.add_argument("--holdout", required=True, help="holdout rows (CSV)")
    parser.add_argument("--train", default="data/prepared/train.csv", help="training rows (CSV): recorded by identity")
    parser.add_argument("--gate", required=True, help="gate decision JSON")
    parser.add_argument("--metrics", required=True, help="candidate metrics JSON")
    parser.add_argument("--lock", default="dvc.lock", help="dvc.lock, for the data hashes")
    parser.add_argument("--validation", default="reports/validation/summary.json", help="logged with the run")
    parser.add_argument("--plots-dir", default="reports/plots", help="logged with the run")
    parser.add_argument("--card", default="reports/card.json", help="the model card's numbers (evaluate)")
    parser.add_argument("--answers", default=".cookiecutter.json", help="the project's name and description")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        version = register(load_params(args.params), args)
    except RegisterError as error:
        return fail(error, 1)
    except RegistryError as error:
        return fail(error)
    except (DataError, ParamsError, OSError, ValueError) as error:
        return fail(error, 2)
    output("version", version, show=False)  # train.yml tells the open drift issue about the new champion
    return 0
