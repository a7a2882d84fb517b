"""The embedded registry's local store (`mlflow.db`, `mlruns/`): its state file, checks, upgrades and replacement.

What a pull brings from the branch is checked here before it replaces the local store: every
kept model file present, skops and with its registered hash (model_file.py), no file over
MAX_FILE_BYTES, every artifact location inside this checkout's `mlruns/`, the MLflow schema
upgraded or refused. The state file announces a pull or push before it acts, so one killed at
any point is finished by the next command (`settle`). registry_transport.py moves the branch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .model_file import MAX_MODEL_BYTES, MODEL_SHA256, model_path, sha256
from .registry import RegistryError
from .registry_transport import BRANCH, BranchError, git

DATABASE, ARTIFACTS = "mlflow.db", "mlruns"
MANIFEST, LOG = "registry.json", "moves.jsonl"
FORMAT = 1
KILL_SWITCH = "REGISTRY_BRANCH_TEST_KILL_AT"  # see kill_point
KILL_POINTS = (
    *("push: announced", "push: pushed", "pull: announced", "pull: mlflow.db set aside", "pull: mlruns set aside"),
    *("pull: mlflow.db in place", "pull: mlruns in place", "pull: replaced"),
)
MAX_FILE_BYTES = MAX_MODEL_BYTES  # no file of a registry is larger than a model file may be
# Where MLflow's sqlite store records absolute artifact paths (MLflow 3 schema).
PATH_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
)


class LocalChange(RuntimeError):
    """The local store holds something the command would lose."""

    exit_code = 2


def state_file() -> Path:
    """What the last pull or push left here (commit and database hash), kept inside .git."""
    return Path(git("rev-parse", "--git-path", "mlflow-registry.json", what="finding the git folder")).resolve()


def read_state(head: str | None = None) -> dict[str, str]:
    """The state the last pull or push left, settled if that command was killed (see `settle`)."""
    path = state_file()
    if not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = None
    if not isinstance(state, dict) or not all(isinstance(state.get(key), str) for key in ("commit", "database")):
        raise LocalChange(f"{path} is not readable (an interrupted command?): delete it, then run `make registry-pull`")
    return settle(state, head)


def settle(state: dict[str, Any], head: str | None) -> dict[str, str]:
    """Finish the record of a pull or push that was killed after it announced itself (`pending`).

    A push announces the commit it is about to push: if the branch is at that commit now, the
    push landed and this store is what the branch holds; if not, nothing changed. A pull
    announces the store it is about to put in place: if that store is here, the pull finished;
    if not, the kill came while the stores were being swapped, and what is here is a remnant of
    a store the branch still holds (a pull only replaces one that has nothing unpublished), so
    the next pull may replace it.
    """
    pending = state.get("pending")
    settled = {"commit": state["commit"], "database": state["database"]} if state["commit"] else {}
    if not isinstance(pending, dict):
        return settled
    if pending.get("action") == "push" and head is not None and head == pending.get("commit"):
        return {"commit": str(pending["commit"]), "database": str(pending.get("database"))}
    if pending.get("action") == "pull":
        database = Path(DATABASE)
        if database.is_file() and Path(ARTIFACTS).is_dir() and digest(database) == pending.get("database"):
            return {"commit": str(pending["commit"]), "database": str(pending["database"])}
        return {"commit": state["commit"], "database": digest(database) if database.is_file() else ""}
    return settled


def kill_point(name: str) -> None:
    """Read only by the project's tests: KILL_SWITCH=<name> kills this process here, as a runner's kill would."""
    if os.environ.get(KILL_SWITCH) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def write_state(commit: str, database_digest: str, pending: dict[str, str] | None = None) -> None:
    path = state_file()
    scratch = path.with_name(path.name + ".new")
    state: dict[str, Any] = {"commit": commit, "database": database_digest}
    if pending:
        state["pending"] = pending
    scratch.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(scratch, path)  # a kill leaves the old state or the new one, never half of one


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def registered_models(database: Path) -> int:
    """How many registered models a store holds (0 for a store that is empty or has no tables yet)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            count = connection.execute("SELECT count(*) FROM registered_models").fetchone()[0]
        connection.close()
    except sqlite3.Error:
        return 0
    return int(count)


def local_changes(state: dict[str, str]) -> str | None:
    """Why the local store must not be replaced, or None when it holds nothing the branch lacks."""
    database = Path(DATABASE)
    if not database.exists():
        return None
    if not state:
        # A store that never registered anything (opened by `status` or `drift` before a pull) loses nothing.
        return f"{DATABASE} was not fetched from branch {BRANCH}" if registered_models(database) else None
    if digest(database) != state.get("database"):
        return f"{DATABASE} changed since it was fetched from branch {BRANCH}"
    return None


def rewrite_paths(database: Path, old_root: str, new_root: str) -> None:
    """Point every artifact path recorded under `old_root` at `new_root`."""
    old_root, new_root = old_root.rstrip("/"), new_root.rstrip("/")
    with sqlite3.connect(database) as connection:
        for table, column in PATH_COLUMNS:
            for prefix in ("", "file://"):
                old = f"{prefix}{old_root}/"
                connection.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) WHERE substr({column}, 1, ?) = ?",
                    (f"{prefix}{new_root}/", len(old) + 1, len(old), old),
                )
    connection.close()


def recorded_roots(database: Path) -> set[str]:
    """Return the project folders whose mlruns/ the store's artifact paths point into."""
    roots = set()
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            for table, column in PATH_COLUMNS:
                for (location,) in connection.execute(f"SELECT {column} FROM {table}"):
                    path = (location or "").removeprefix("file://")
                    head, found, _ = f"{path}/".partition(f"/{ARTIFACTS}/")
                    if found and os.path.isabs(head):
                        roots.add(head or "/")
        connection.close()
    except sqlite3.Error as error:
        raise BranchError(f"{database.name} is not a readable MLflow registry: {error}") from None
    return roots


def relocate() -> str:
    """Point the embedded store's artifact paths at this folder, after the project was moved or renamed.

    Every path into another folder's mlruns/ is moved here, once each kept model's files are found
    in this folder's mlruns/ (nothing is changed otherwise). A store that was as last fetched or
    pushed stays so: the state records its new hash.
    """
    database, here = Path(DATABASE), str(Path.cwd())
    if not database.exists():
        return f"registry: no embedded registry here ({DATABASE}); nothing to relocate"
    roots = sorted(recorded_roots(database) - {here})
    if not roots:
        return f"registry: {DATABASE} already points at {here}"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        locations = connection.execute("SELECT version, storage_location FROM model_versions").fetchall()
    connection.close()
    for version, location in locations:
        path = (location or "").removeprefix("file://")
        old = next((root for root in roots if path.startswith(f"{root}/{ARTIFACTS}/")), None)
        if old is not None and not (Path(here) / path[len(old) + 1 :] / "MLmodel").is_file():
            raise BranchError(
                f"model version {version}'s files are not in {here}/{ARTIFACTS} (recorded at {location}): "
                f"move the whole project folder, mlruns/ included, or run `make registry-pull`"
            )
    state = read_state()
    unchanged = bool(state) and digest(database) == state["database"]
    for old in roots:
        rewrite_paths(database, old, here)
    if unchanged:
        write_state(state["commit"], digest(database))
    return f"registry: {DATABASE} moved from {', '.join(roots)} to {here}: model files are read from {here}/{ARTIFACTS}"


def check_models(database: Path, root: str, files_at: Path | None = None) -> None:
    """Refuse a store whose model files are not all in `root`/mlruns, each with its MLmodel file.

    `files_at`: the folder that holds those files now, when it is not `root` yet (a pull's scratch tree).
    """
    top = Path(os.path.normpath(root)) / ARTIFACTS
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            rows = connection.execute(
                "SELECT version, storage_location FROM model_versions WHERE current_stage != 'Deleted_Internal'"
            ).fetchall()
            hashes = dict(
                connection.execute("SELECT version, value FROM model_version_tags WHERE key = ?", (MODEL_SHA256,))
            )
            hashes = {str(version): value for version, value in hashes.items()}
            locations = {
                table: connection.execute(f"SELECT {column} FROM {table}").fetchall()  # the names are this module's
                for table, column in PATH_COLUMNS[:3]
            }
        connection.close()
    except sqlite3.Error as error:
        raise BranchError(f"{database.name} is not a readable MLflow registry: {error}") from None
    for version, location in rows:
        folder = Path(os.path.normpath((location or "").removeprefix("file://")))
        if not folder.is_relative_to(top):
            moved = f"{os.sep}{ARTIFACTS}{os.sep}" in f"{folder}{os.sep}" and files_at is not None
            remedy = "; if the project folder was moved or renamed, run `make relocate` first" if moved else ""
            raise BranchError(
                f"model version {version}'s files are recorded at {location}, outside {top}: only model "
                f"files in {ARTIFACTS}/ of the project travel with the registry{remedy}"
            )
        present = (files_at / ARTIFACTS / folder.relative_to(top)) if files_at else folder
        if not (present / "MLmodel").is_file():
            raise BranchError(f"model version {version}'s files are missing ({folder / 'MLmodel'} does not exist)")
        check_model_file(present, version, hashes.get(str(version)))
    for table, column in PATH_COLUMNS[:3]:  # where MLflow would write new runs and models
        for (location,) in locations.get(table, []):
            place = str(location or "")
            path = Path(os.path.normpath(Path(root) / place.removeprefix("file://")))  # a relative one: from root
            if not path.is_relative_to(top):
                raise BranchError(
                    f"{table}.{column} is {place[:200]!r}, outside {top}: MLflow would write files there; refused"
                )


def upgrade_schema(database: Path) -> str | None:
    """Bring a fetched store to this project's MLflow schema; refuse one this MLflow does not know.

    MLflow refuses a store of another schema only when a command opens it, and then each retry
    looks like an unreachable registry. An older schema is upgraded here (`mlflow db upgrade`, on
    the fetched copy); a newer one (a newer MLflow pushed the branch) stops the pull with one line.
    """
    import mlflow
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(Path(mlflow.__file__).parent / "store" / "db_migrations"))
    head = scripts.get_current_head()
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        connection.close()
    except sqlite3.Error as error:
        raise BranchError(f"branch {BRANCH}: {DATABASE} is not a readable MLflow registry: {error}") from None
    found = str(row[0]) if row else ""
    if found == head:
        return None
    try:
        known = bool(found) and scripts.get_revision(found) is not None
    except Exception:  # alembic's own error for a revision it has never seen
        known = False
    if not known:
        raise BranchError(
            f"branch {BRANCH}: {DATABASE} has MLflow schema {found[:40]!r}, unknown to this project's MLflow "
            f"{mlflow.__version__} (a newer MLflow pushed it): install the MLflow version of the project that "
            "pushes the branch (its requirements.lock), then pull again"
        )
    upgrade = [sys.executable, "-m", "mlflow", "db", "upgrade", f"sqlite:///{database}"]
    done = subprocess.run(upgrade, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BranchError(f"branch {BRANCH}: upgrading {DATABASE} from MLflow schema {found} failed: {last}")
    return f"registry: {DATABASE} of {BRANCH} upgraded from MLflow schema {found} to {head}"


def check_model_file(folder: Path, version: str, expected: str | None) -> None:
    """Refuse a version whose model file is missing, not skops, too large, or not the one registered."""
    try:
        path = model_path(folder, f"model version {version}")
    except RegistryError as error:
        raise BranchError(str(error)) from None
    if expected and sha256(path) != expected:
        raise BranchError(
            f"model version {version}'s file {path.name} does not have the sha256 recorded when it was registered; "
            "it changed or was cut short: run `make registry-pull FORCE=1` to fetch the published one"
        )


def replace_store(source: Path) -> None:
    """Move `source`'s mlflow.db and mlruns/ into the project, in place of the current ones."""
    root = Path.cwd()
    backup = Path(tempfile.mkdtemp(prefix="registry-old-", dir=source.parent))
    for name in (DATABASE, ARTIFACTS):
        if (root / name).exists():
            os.replace(root / name, backup / name)
            kill_point(f"pull: {name} set aside")
    for name in (DATABASE, ARTIFACTS):
        if (source / name).exists():
            os.replace(source / name, root / name)
            kill_point(f"pull: {name} in place")
    shutil.rmtree(backup, ignore_errors=True)


def workspace() -> Path:
    """A scratch folder inside .git: same file system as the project (atomic moves), invisible to git status."""
    scratch = Path(git("rev-parse", "--git-path", "mlflow-registry-work", what="finding the git folder")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=scratch))


def extract(commit: str, into: Path) -> dict[str, Any]:
    """Write the commit's files into `into`/tree and return its manifest, checked.

    Only regular files are accepted: a symbolic link on the branch could point the rewrite of
    mlflow.db, or a model file, at a file outside the project.
    """
    for line in git("ls-tree", "-r", "-l", commit, what=f"reading branch {BRANCH}").splitlines():
        fields, _, path = line.partition("\t")
        mode, _, _, size = fields.split()
        if mode not in ("100644", "100755"):
            raise BranchError(f"branch {BRANCH}: {path!r} is not a regular file")
        if int(size) > MAX_FILE_BYTES:
            raise BranchError(
                f"branch {BRANCH}: {path!r} is {int(size) / 2**20:.0f} MiB, over the {MAX_FILE_BYTES >> 20} MiB "
                "a registry file may be; refused"
            )
    tree = into / "tree"
    tree.mkdir()
    index = {"GIT_INDEX_FILE": str(into / "index")}
    git("read-tree", commit, env=index, what=f"reading branch {BRANCH}")
    git(f"--work-tree={tree}", "checkout-index", "--all", env=index, what=f"writing branch {BRANCH}")
    try:
        manifest = json.loads((tree / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BranchError(
            f"branch {BRANCH} has no readable {MANIFEST}: it was not written by `registry push`"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BranchError(f"branch {BRANCH}: {MANIFEST} format {found!r} is not {FORMAT}")
    root, aliases = manifest.get("root"), manifest.get("aliases")
    if not isinstance(root, str) or not os.path.isabs(root) or os.path.normpath(root) == "/":
        raise BranchError(f"branch {BRANCH}: {MANIFEST} root {root!r} is not the absolute path of a project folder")
    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in (*aliases, *aliases.values())):
        raise BranchError(f"branch {BRANCH}: {MANIFEST} aliases must map alias names to version numbers")
    if not (tree / DATABASE).is_file():
        raise BranchError(f"branch {BRANCH} has no {DATABASE}")
    return manifest
