"""The model a scoring command uses (predict, score, serve, Spark), and the columns it takes and gives.

The champion by default, a registered version, or the pipeline's own model file; a registered
version is downloaded and read by model_file.py (its recorded sha256, the allowed types), never
loaded by MLflow. An unknown version or no champion is a bad input (PredictError, exit 2); a
registry that cannot answer, or a file that fails its checks, a RegistryError (exit 4).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .params import section
from .predict_input import PredictError
from .registry import CHAMPION, redact

PREDICTION = "prediction"
PROBABILITY = "probability_"


@dataclass
class Chosen:
    """A model read the way this project reads models, and what the sidecar says about it."""

    model: Any
    about: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None  # a registered version's downloaded MLflow folder (serve, spark)


def choose(params: dict[str, Any], version: str | None, model_path: str | None, keep: Path | None = None) -> Chosen:
    """Return the pipeline's model (`model_path`), registered `version`, or the champion.

    `keep`: a folder to download a registered version's files into and leave there.
    """
    if model_path:
        return pipeline_model(Path(model_path))
    from .aliases import champion_of
    from .model_file import MODEL_SHA256, read_model
    from .registry import connect

    registry = connect(section(params, "register"))
    alias = None
    if version is None:
        version, alias = champion_of(registry), CHAMPION
        if version is None:
            raise PredictError(
                f"{registry.name!r} has no {CHAMPION} yet: run `make pipeline`, or give VERSION=<n> or MODEL=<file>"
            )
    found = registry.version(version)
    if found is None:
        raise PredictError(f"version {version} of {registry.name!r} does not exist; `make status` lists the versions")
    tags = dict(found.tags or {})
    uri = f"models:/{registry.name}/{version}"
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        local = registry.download(uri, str(keep or scratch))
        model = read_model(local, tags.get(MODEL_SHA256), f"registry {redact(registry.uri)}: {uri}")
    about = {
        "source": "registry",
        "registry": redact(registry.uri),
        "name": registry.name,
        "version": str(version),
        "alias": alias,
        "model_sha256": tags.get(MODEL_SHA256),
        "run_id": found.run_id,
        "git_commit": tags.get("git_commit"),
    }
    return Chosen(model, about, local if keep else None)


def pipeline_model(path: Path) -> Chosen:
    from .drift.model import load_model
    from .gate import file_md5

    model = load_model(path)
    return Chosen(model, {"source": "pipeline", "path": str(path), "model_md5": file_md5(path)})


def model_columns(model: Any, fallback: Iterable[str]) -> list[str]:
    """The columns the model was fitted on; `fallback` (the suite's feature columns) for a model that does not say."""
    names = getattr(model, "feature_names_in_", None)
    return [str(name) for name in names] if names is not None else list(fallback)


def check_columns(columns: list[str], features: list[str], name: str) -> None:
    missing = [column for column in features if column not in columns]
    if missing:
        shown = ", ".join(repr(column) for column in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise PredictError(f"{name}: missing feature column(s) {shown}; the model needs {len(features)} columns "
                           "(expectations/suite.json lists them)")  # fmt: skip
    taken = [column for column in columns if column == PREDICTION or column.startswith(PROBABILITY)]
    if taken:
        raise PredictError(f"{name}: column {taken[0]!r} would be overwritten by the output; rename it")
