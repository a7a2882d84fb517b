"""Promote and roll back: move the `champion` alias by hand.

`promote --version N` points champion at version N; the version it replaces keeps
`previous-champion`. `rollback` swaps champion and previous-champion, so running it twice
returns to where it started.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .params import ParamsError, load_params, section
from .registry import CHAMPION, PREVIOUS_CHAMPION, alias_version, connect


class AliasError(RuntimeError):
    """The requested alias move is not possible."""


def promote(client: Any, name: str, version: str) -> str | None:
    """Point champion at an existing version; return the version it replaced."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version(name, version)
    except MlflowException as error:
        raise AliasError(f"model {name!r} has no version {version!r}") from error
    current = alias_version(client, name, CHAMPION)
    if current == version:
        return current
    if current is not None:
        client.set_registered_model_alias(name, PREVIOUS_CHAMPION, current)
    client.set_registered_model_alias(name, CHAMPION, version)
    return current


def rollback(client: Any, name: str) -> tuple[str, str]:
    """Swap champion and previous-champion; return (new champion, new previous champion)."""
    previous = alias_version(client, name, PREVIOUS_CHAMPION)
    current = alias_version(client, name, CHAMPION)
    if previous is None or current is None:
        raise AliasError(f"model {name!r} has no {PREVIOUS_CHAMPION} to roll back to")
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_registered_model_alias(name, PREVIOUS_CHAMPION, current)
    return previous, current


def run(argv: list[str] | None, action: str) -> int:
    parser = argparse.ArgumentParser(prog=action, description=__doc__.splitlines()[0])
    if action == "promote":
        parser.add_argument("--version", required=True, help="model version to make champion")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        settings = section(load_params(args.params), "register")
        client, name = connect(settings), settings["model_name"]
        if action == "promote":
            replaced = promote(client, name, str(args.version))
            print(f"promote: {name!r} {CHAMPION} -> v{args.version} (was v{replaced})")
        else:
            champion, previous = rollback(client, name)
            print(f"rollback: {name!r} {CHAMPION} -> v{champion}, {PREVIOUS_CHAMPION} -> v{previous}")
    except (AliasError, ParamsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(argv, "promote")


def rollback_main(argv: list[str] | None = None) -> int:
    return run(argv, "rollback")
