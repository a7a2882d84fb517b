"""Promote and roll back: move the `champion` alias by hand.

`promote --version N` points champion at version N; the version it replaces keeps
`previous-champion`. `rollback` swaps champion and previous-champion, so running it twice
returns to where it started, and it never reports success without moving champion; a rerun
after a killed rollback completes that rollback rather than swapping back. Both run
inside the registry lock and record each move in the audit trail (see aliases.py).
Exit codes: 0 moved, 1 refused, 2 a bad setting or version, 4 the registry could not answer.
"""

from __future__ import annotations

import argparse
import re

from .aliases import finished_by_dead_holder, locked, move, recover
from .errors import fail
from .params import ParamsError, load_params, section
from .registry import CHAMPION, PREVIOUS_CHAMPION, Registry, RegistryError, connect

VERSION_PATTERN = re.compile(r"[1-9][0-9]{0,8}")


class AliasError(RuntimeError):
    """The requested alias move is not possible."""


def check_version(text: str) -> str:
    """Return a model version given as a positive integer written with digits only, else raise ParamsError."""
    if not VERSION_PATTERN.fullmatch(text):
        raise ParamsError(f"--version {text!r} is not a model version; give a positive integer such as 3")
    return text


def promote(registry: Registry, version: str) -> str | None:
    """Point champion at an existing version; return the version it replaced."""
    with locked(registry, "promote"):
        recover(registry, "promote")
        if registry.version(version) is None:
            raise AliasError(f"model {registry.name!r} has no version {version}")
        aliases = registry.aliases()
        current = aliases.get(CHAMPION)
        moves = [(CHAMPION, current, version)]
        if current is not None and current != version:
            moves.append((PREVIOUS_CHAMPION, aliases.get(PREVIOUS_CHAMPION), current))
        move(registry, "promote", moves)
    return current


def rollback(registry: Registry) -> tuple[str, str]:
    """Swap champion and previous-champion; return (new champion, new previous champion)."""
    with locked(registry, "rollback") as broken:
        interrupted = recover(registry, "rollback")
        if interrupted and interrupted["command"] == "rollback":
            done = interrupted["moves"]
        else:
            done = finished_by_dead_holder(registry, broken, "rollback")
        if done:  # a killed rollback: completing it is this run's work, not a second swap back
            moved = {alias: new for alias, _, new in done}
            return moved[CHAMPION], moved[PREVIOUS_CHAMPION]
        aliases = registry.aliases()
        previous, current = aliases.get(PREVIOUS_CHAMPION), aliases.get(CHAMPION)
        if previous is None or current is None:
            raise AliasError(f"model {registry.name!r} has no {PREVIOUS_CHAMPION} to roll back to")
        if previous == current:
            raise AliasError(f"{CHAMPION} and {PREVIOUS_CHAMPION} are both v{current}: nothing to roll back to")
        move(registry, "rollback", [(CHAMPION, current, previous), (PREVIOUS_CHAMPION, previous, current)])
    return previous, current


def run(argv: list[str] | None, action: str) -> int:
    parser = argparse.ArgumentParser(prog=action, description=__doc__.splitlines()[0])
    if action == "promote":
        parser.add_argument("--version", required=True, help="model version to make champion")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        version = check_version(args.version) if action == "promote" else ""
        registry = connect(section(load_params(args.params), "register"))
        if action == "promote":
            replaced = promote(registry, version)
            if replaced == args.version:
                print(f"promote: {registry.name!r} {CHAMPION} is already v{args.version}; nothing moved")
            else:
                print(f"promote: {registry.name!r} {CHAMPION} -> v{args.version} (was v{replaced})")
        else:
            champion, previous = rollback(registry)
            print(f"rollback: {registry.name!r} {CHAMPION} -> v{champion}, {PREVIOUS_CHAMPION} -> v{previous}")
    except AliasError as error:
        return fail(error, 1)
    except (RegistryError, ParamsError) as error:  # exit 4 and 2
        return fail(error)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(argv, "promote")


def rollback_main(argv: list[str] | None = None) -> int:
    return run(argv, "rollback")
