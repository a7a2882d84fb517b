"""Read `params.yaml`, the single source of settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path("params.yaml")


class ParamsError(ValueError):
    """A setting is missing or has a value that is not allowed."""


def load_params(path: str | Path = DEFAULT_PATH) -> dict[str, Any]:
    """Return the parsed params file, or raise ParamsError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: file not found; run commands from the project root")
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(params).__name__}")
    return params


def section(params: dict[str, Any], name: str) -> dict[str, Any]:
    """Return one section of the params, or raise ParamsError if it is absent."""
    value = params.get(name)
    if not isinstance(value, dict):
        raise ParamsError(f"params.yaml: section {name!r} is missing or not a mapping")
    return value
