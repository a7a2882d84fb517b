"""Status: where the registry is, which version carries each alias, and the last alias moves."""

from __future__ import annotations

import argparse

from .aliases import describe_moves, last_moves, pending
from .errors import fail
from .params import ParamsError, load_params, section
from .registry import RegistryError, connect, redact


def describe_versions(registry) -> list[str]:
    """Return one line per version that carries an alias, with its aliases and commit."""
    by_version: dict[str, list[str]] = {}
    for alias, version in sorted(registry.aliases().items()):
        by_version.setdefault(version, []).append(f"@{alias}")
    lines = []
    for version, names in sorted(by_version.items(), key=lambda item: -int(item[0])):
        found = registry.version(version)
        commit = (found.tags if found is not None else {}).get("git_commit", "unknown")
        lines.append(f"model {registry.name!r} version {version}: {' '.join(names)} (trained from commit {commit[:8]})")
    return lines


def describe_last_moves(registry, count: int) -> list[str]:
    lines = []
    for record in last_moves(registry, count):
        moves = [
            (key.removeprefix("alias."), *value.split(" -> "))
            for key, value in record.items()
            if key.startswith("alias.")
        ]
        where = f" in {record['ci_run']}" if record.get("ci_run") else ""
        lines.append(
            f"  {record.get('at', '?')} {record.get('command', '?')} by {record.get('by', '?')} "
            f"at commit {record.get('git_commit', 'unknown')[:8]}{where}: {describe_moves(moves)}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="status", description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=5, help="how many of the last alias moves to show")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        registry = connect(section(load_params(args.params), "register"))
        versions = describe_versions(registry)  # read before printing, so a failure is one line
        print(f"registry: {redact(registry.uri)}")
        print(
            "\n".join(versions)
            if versions
            else f"model {registry.name!r}: no aliased versions yet; run `make pipeline`"
        )
        interrupted = pending(registry)
        if interrupted:
            print(f"interrupted {interrupted['command']} to complete: {describe_moves(interrupted['moves'])}")
        moves = describe_last_moves(registry, args.moves)
        if moves:
            print("last alias moves (newest first):", *moves, sep="\n")
    except (RegistryError, ParamsError) as error:  # exit 4 and 2
        return fail(error)
    return 0
