"""Alias moves that survive kills and concurrent runs, with an audit trail a person can read.

Every command that moves aliases (register, promote, rollback) does it inside `locked(registry)`
and through `move(...)`:

1. The lock is a registered model named `<model>.lock`. MLflow creates a name atomically (a
   second create fails with RESOURCE_ALREADY_EXISTS), so two runs are serialised whether they
   share a laptop, a CI runner or only the server. A lock whose holder is gone (same host, dead
   process) or older than LOCK_EXPIRY_SECONDS is broken, with a message.
2. Inside the lock, a move left half-done by a killed run (the `alias_moves.pending` tag of the
   model) is completed first.
3. A move records its intent in that tag, sets the aliases, checks them, writes an audit run in
   the experiment `<model> alias moves` (who, what, from which commit and CI run) and clears
   the tag. A kill before the tag leaves the aliases as they were; after it, the next alias
   command completes the move.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from .registry import CHAMPION, Registry, RegistryError, redact

PENDING_TAG = "alias_moves.pending"
LOCK_EXPIRY_SECONDS = 600  # longer than any register, promote or rollback takes
LOCK_POLL_SECONDS = 2.0

Move = tuple[str, str | None, str | None]  # (alias, from version, to version); to None removes the alias


def actor() -> dict[str, str]:
    """Who is moving aliases: the CI run if there is one, else user@host, and the commit checked out."""
    commit = subprocess.run(["git", "rev-parse", "HEAD"], check=False, capture_output=True, text=True)
    found = {
        "by": os.environ.get("GITHUB_ACTOR") or f"{getpass.getuser()}@{socket.gethostname()}",
        "git_commit": commit.stdout.strip() if commit.returncode == 0 else "unknown",
        "host": socket.gethostname(),
        "pid": str(os.getpid()),
    }
    if os.environ.get("GITHUB_RUN_ID"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        found["ci_run"] = (
            f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{os.environ['GITHUB_RUN_ID']}"
        )
    return found


def _lock_is_stale(tags: dict[str, str]) -> str | None:
    """Return why a lock may be broken, or None while its holder may still be working."""
    age = time.time() - float(tags.get("acquired", "0") or 0)
    if age > LOCK_EXPIRY_SECONDS:
        return f"it is {age:.0f} s old (more than {LOCK_EXPIRY_SECONDS} s)"
    if tags.get("host") == socket.gethostname() and tags.get("pid", "").isdigit():
        try:
            os.kill(int(tags["pid"]), 0)
        except ProcessLookupError:
            return f"process {tags['pid']} on this host is gone"
        except PermissionError:
            return None
    return None


def _create(registry: Registry, name: str, tags: dict[str, str], what: str) -> bool:
    """Create a registered model used as a flag; False if it exists already (creation is atomic)."""
    from mlflow.exceptions import MlflowException

    def create() -> bool:
        try:
            registry.client.create_registered_model(name, tags=tags, description=f"{what} of {registry.name!r}")
        except MlflowException as error:
            if error.error_code == "RESOURCE_ALREADY_EXISTS":
                return False
            raise
        return True

    return bool(registry.call(f"creating {what} {name!r}", create, write=True))


def _try_lock(registry: Registry, name: str, me: dict[str, str], command: str) -> bool:
    """Create the lock model; False if another run holds it."""
    return _create(registry, name, {**me, "command": command, "acquired": f"{time.time():.3f}"}, "the lock")


def _break_marker(name: str, tags: dict[str, str]) -> str:
    """The name only one waiter can create for one stale holder: that waiter alone deletes the lock."""
    return f"{name}.broken.{tags.get('host', '')}.{tags.get('pid', '')}.{tags.get('acquired', '')}"


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def locked(
    registry: Registry, command: str, wait_seconds: float = LOCK_EXPIRY_SECONDS + 60
) -> Iterator[dict[str, str] | None]:
    """Hold the registry lock for the block, giving the tags of a dead holder whose lock was broken, if any."""
    name, me = f"{registry.name}.lock", actor()
    deadline, announced, broken = time.monotonic() + wait_seconds, 0.0, None
    while not _try_lock(registry, name, me, command):
        holder = registry.call(f"reading the lock {name!r}", registry.client.get_registered_model, name)
        tags = dict(holder.tags) if holder is not None else {}
        if (tags.get("host"), tags.get("pid")) == (me["host"], me["pid"]):
            break  # our own create succeeded although its answer was lost and retried
        stale = _lock_is_stale(tags) if holder is not None else None
        if stale:
            # Two waiters may find the same stale lock; the one that creates its marker breaks it,
            # the other keeps waiting (it must not delete the lock the first one takes next).
            marker, marker_tags = _break_marker(name, tags), {**me, "acquired": f"{time.time():.3f}"}
            if _create(registry, marker, marker_tags, "the lock-break marker"):
                print(f"{command}: breaking the registry lock of {tags.get('command', '?')}: {stale}", file=sys.stderr)
                broken = tags
                registry.call(f"breaking the lock {name!r}", registry.client.delete_registered_model, name, write=True)
                continue
            breaker = registry.call(f"reading {marker!r}", registry.client.get_registered_model, marker)
            if breaker is not None and _lock_is_stale(dict(breaker.tags)):  # the breaker died too
                registry.call(f"removing {marker!r}", registry.client.delete_registered_model, marker, write=True)
        if time.monotonic() > deadline:
            raise RegistryError(f"registry {redact(registry.uri)}: the lock {name!r} is still held; try again later")
        if time.monotonic() - announced > 15:
            held_by = f"{tags.get('command', '?')} by {tags.get('by', '?')}" if tags else "another run"
            print(f"{command}: waiting for the registry lock held by {held_by}", file=sys.stderr)
            announced = time.monotonic()
        time.sleep(LOCK_POLL_SECONDS)
    # A cancelled CI job gets SIGTERM: turn it into an exit, so the lock below is released.
    main_thread = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous_handler = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main_thread else None
    try:
        yield broken
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous_handler)
        holder = registry.call(f"reading the lock {name!r}", registry.client.get_registered_model, name)
        if holder is not None and (holder.tags.get("host"), holder.tags.get("pid")) == (me["host"], me["pid"]):
            registry.call(f"releasing the lock {name!r}", registry.client.delete_registered_model, name, write=True)
        else:  # someone judged this run dead and broke its lock: say so, and leave theirs alone
            print(f"{command}: the registry lock was taken over by another run while this one held it", file=sys.stderr)
        if broken is not None:  # the waiters that found the same stale lock have long moved on
            marker = _break_marker(name, broken)
            registry.call(f"removing {marker!r}", registry.client.delete_registered_model, marker, write=True)


def pending(registry: Registry) -> dict[str, Any] | None:
    """Return the move a killed run left half-done, or None; a record that cannot be read is an error."""
    model = registry.model()
    raw = (model.tags or {}).get(PENDING_TAG) if model is not None else None
    if not raw:
        return None
    try:
        record = json.loads(raw)
        moves = [(str(alias), old, new) for alias, old, new in record["moves"]]
        if not isinstance(record["command"], str) or not all(
            v is None or str(v).isdigit() for _, *vs in moves for v in vs
        ):
            raise ValueError("versions must be numbers")
    except (ValueError, KeyError, TypeError) as error:
        raise RegistryError(
            f"registry {redact(registry.uri)}: the tag {PENDING_TAG!r} of {registry.name!r} cannot be read ({error}); "
            "fix or delete that tag, then run the command again"
        ) from None
    return {**record, "moves": moves}


def effective_aliases(registry: Registry) -> dict[str, str]:
    """Return {alias: version} as it will be once any half-done move is completed."""
    aliases = registry.aliases()
    for alias, _, target in (pending(registry) or {}).get("moves", []):
        if target is None:
            aliases.pop(alias, None)
        else:
            aliases[alias] = target
    return aliases


def _apply(registry: Registry, record: dict[str, Any]) -> None:
    """Set every alias of a recorded move, check the result, audit it and clear the pending tag."""
    for alias, _, target in record["moves"]:
        if target is None:
            what = f"removing {alias}"
            registry.call(what, registry.client.delete_registered_model_alias, registry.name, alias, write=True)
        else:
            registry.set_alias(alias, target)
    now = registry.aliases()
    wrong = [alias for alias, _, target in record["moves"] if now.get(alias) != target]
    if wrong:
        raise RegistryError(f"registry {redact(registry.uri)}: {', '.join(wrong)} did not move; run the command again")
    audit(registry, record)
    what = "clearing the pending move"
    registry.call(what, registry.client.delete_registered_model_tag, registry.name, PENDING_TAG, write=True)


def recover(registry: Registry, command: str) -> dict[str, Any] | None:
    """Complete a move that a killed run left half-done (call inside the lock); return its record."""
    record = pending(registry)
    if record:
        print(f"{command}: completing the interrupted {record['command']}: {describe_moves(record['moves'])}")
        _apply(registry, record)
    return record


def move(registry: Registry, command: str, moves: list[Move]) -> None:
    """Record, apply and audit alias moves (call inside the lock, after `recover`)."""
    moves = [(alias, old, new) for alias, old, new in moves if old != new]
    if not moves:
        return
    record = {"command": command, "moves": moves, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **actor()}
    tag = json.dumps(record)
    registry.call(
        "recording the move", registry.client.set_registered_model_tag, registry.name, PENDING_TAG, tag, write=True
    )
    _apply(registry, record)


def describe_moves(moves: list[Any]) -> str:
    return ", ".join(f"{alias} v{old or '-'} -> v{new or '-'}" for alias, old, new in moves)


def audit_experiment(registry: Registry, create: bool) -> str | None:
    """Return the id of the experiment that keeps the audit runs (created on first use if asked)."""
    name = f"{registry.name} alias moves"
    found = registry.call("reading the audit trail", registry.client.get_experiment_by_name, name)
    if found is not None or not create:
        return found.experiment_id if found is not None else None
    return registry.call("creating the audit trail", registry.client.create_experiment, name, write=True)


def audit(registry: Registry, record: dict[str, Any]) -> None:
    """Write one run that records who moved which aliases, from where."""
    experiment = audit_experiment(registry, create=True)
    tags = {f"alias.{alias}": f"{old or '-'} -> {new or '-'}" for alias, old, new in record["moves"]}
    tags.update(
        {key: str(record.get(key, "")) for key in ("command", "by", "git_commit", "ci_run", "at", "host", "pid")}
    )
    run_name = f"{record['command']}: {describe_moves(record['moves'])}"
    run = registry.call(
        "writing the audit run", registry.client.create_run, experiment, tags=tags, run_name=run_name, write=True
    )
    registry.call("closing the audit run", registry.client.set_terminated, run.info.run_id, write=True)


def finished_by_dead_holder(registry: Registry, broken: dict[str, str] | None, command: str) -> list[Move] | None:
    """Return the moves of `command` if the dead holder of a broken lock had completed them before dying."""
    if not broken or broken.get("command") != command:
        return None
    last = last_moves(registry, 1)
    if not last or [last[0].get(key) for key in ("command", "host", "pid")] != [command, broken["host"], broken["pid"]]:
        return None
    moves = [
        (key.removeprefix("alias."), *value.split(" -> ")) for key, value in last[0].items() if key.startswith("alias.")
    ]
    return [(alias, None if old == "-" else old, None if new == "-" else new) for alias, old, new in moves]


def last_moves(registry: Registry, count: int = 5) -> list[dict[str, str]]:
    """Return the latest audit records, newest first."""
    experiment = audit_experiment(registry, create=False)
    if experiment is None:
        return []
    runs = registry.call(
        "reading the audit trail",
        registry.client.search_runs,
        [experiment],
        order_by=["attributes.start_time DESC"],
        max_results=count,
    )
    return [dict(run.data.tags) for run in runs or []]


def champion_of(registry: Registry) -> str | None:
    """Return the champion version, as it stands once any half-done move completes."""
    return effective_aliases(registry).get(CHAMPION)
