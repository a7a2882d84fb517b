"""Status: where the registry is, which version carries each alias, and the last alias moves.

`--version N` prints that version's model card instead (card_markdown.py), read from the registry:
exit 2 when there is no such version, 1 when it has no card (registered before cards existed),
4 when the registry cannot answer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .aliases import describe_moves, last_moves, pending
from .errors import fail, printable
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
        trained = printable(str(commit)[:8])
        lines.append(f"model {registry.name!r} version {version}: {' '.join(names)} (trained from commit {trained})")
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
        line = (  # every part was written into the registry, which a branch may carry: escaped, one line
            f"{record.get('at', '?')} {record.get('command', '?')} by {record.get('by', '?')} "
            f"at commit {str(record.get('git_commit', 'unknown'))[:8]}{where}: {describe_moves(moves)}"
        )
        lines.append("  " + printable(line))
    return lines


def settings_behind(decision: dict) -> list[str]:
    """Name the params.yaml settings that made a failed gate fail, with their values."""
    from .gate import baseline_reason, improvement
    from .metrics import METRICS, is_worse, meets_threshold

    metric, threshold, tolerance = decision.get("metric"), decision.get("threshold"), decision.get("tolerance")
    candidate, champion = decision.get("candidate"), decision.get("champion") or {}
    if metric not in METRICS or not isinstance(candidate, int | float) or candidate != candidate:
        return [f"gate.metric = {metric} (the candidate could not be scored on it)"]
    settings = []
    if threshold is not None and not meets_threshold(metric, candidate, threshold):
        settings.append(f"gate.threshold = {threshold} (on gate.metric = {metric})")
    baseline = decision.get("baseline")
    if isinstance(baseline, dict) and isinstance(baseline.get("value"), int | float):
        margin = decision.get("baseline_margin", 0.1)
        if not baseline_reason(metric, candidate, baseline, margin)[0]:
            gained = improvement(metric, candidate, baseline["value"])
            removes = f"the candidate removes {gained:.0%} of the baseline's error"
            settings.append(f"gate.baseline_margin = {margin} ({removes}); or more holdout rows")
    leakage = decision.get("leakage") or {}
    if (leakage.get("columns") or leakage.get("perfect")) and not decision.get("allow_leakage"):
        settings.append("gate.allow_leakage (true only when the data truly is that easy; better: drop the column)")
    if "unproven" in champion and not champion.get("unproven_allowed"):
        settings.append("gate.allow_unproven_champion (or `make holdout-migrate`, README 'The holdout')")
    elif "error" in champion and champion.get("missing", True) and not champion.get("schema_change_allowed"):
        settings.append("gate.allow_schema_change (true only when the change of columns is deliberate)")
    elif isinstance(champion.get("value"), int | float):
        mine = champion.get("candidate_value", candidate)
        if is_worse(metric, mine, champion["value"], tolerance):
            settings.append(f"gate.tolerance = {tolerance} (how much worse than the champion still passes)")
    return settings


def describe_last_gate(path: str | Path) -> list[str]:
    """Explain a failed gate from its decision file: why, and which settings decide it; nothing after a pass."""
    try:
        decision = json.loads(Path(path).read_text(encoding="utf-8"))
        passed, reasons = decision["passed"], [str(reason) for reason in decision["reasons"]]
        settings = [] if passed else settings_behind(decision)
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:  # a file written by hand
        return [f"last gate decision: {path} cannot be read ({' '.join(str(error).split())}); run `make repro`"]
    if passed:
        return []
    lines = [f"last gate decision ({path}): FAILED, so `make register` registers nothing:"]
    lines += [f"  - {printable(reason)}" for reason in reasons]
    if settings:
        lines.append(f"  settings in params.yaml: {'; '.join(settings)}; or improve the model (train section)")
    return lines


class NoSuchVersion(ValueError):
    """The registry answered that the model has no such version."""


def version_card(registry, version: int) -> list[str] | None:
    """The lines of a version's model card, each one printable terminal line; None when it has no card."""
    from .card_markdown import logged_card

    found = registry.version(str(version))
    if found is None:
        raise NoSuchVersion(f"model {registry.name!r} has no version {version}; `make status` lists the aliased ones")
    text = logged_card(registry, found)
    return None if text is None else [printable(line) for line in text.splitlines()]


def show_card(registry, version: int) -> int:
    """Print a version's model card; 1 when it has none."""
    lines = version_card(registry, version)
    if lines is None:
        print(f"model {registry.name!r} version {version} has no model card: it was registered before cards existed")
        return 1
    print(*lines, sep="\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="status", description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=5, help="how many of the last alias moves to show")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--gate", default="reports/gate.json", help="the last gate decision, explained if it failed")
    parser.add_argument("--version", type=int, help="print this version's model card instead")
    args = parser.parse_args(argv)
    try:
        registry = connect(section(load_params(args.params), "register"))
        if args.version is not None:
            return show_card(registry, args.version)
        versions = describe_versions(registry)  # read before printing, so a failure is one line
        last_gate = describe_last_gate(args.gate)
        print(f"registry: {redact(registry.uri)}")
        if versions:
            print("\n".join(versions))
        elif last_gate:
            print(f"model {registry.name!r}: no aliased versions yet: the last gate failed (below)")
        else:
            print(f"model {registry.name!r}: no aliased versions yet; run `make pipeline`")
        interrupted = pending(registry)
        if interrupted:
            print(
                printable(f"interrupted {interrupted['command']} to complete: {describe_moves(interrupted['moves'])}")
            )
        moves = describe_last_moves(registry, args.moves)
        if moves:
            print("last alias moves (newest first):", *moves, sep="\n")
        if last_gate:
            print(*last_gate, sep="\n")
    except (RegistryError, ParamsError, NoSuchVersion) as error:  # exit 4, 2 and 2
        return fail(error)
    return 0
