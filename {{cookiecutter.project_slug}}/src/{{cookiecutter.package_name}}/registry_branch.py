"""Registry branch: keep the embedded MLflow registry in the repository, on branch `mlflow-registry`.

Without a tracking server, the registry is the sqlite file `mlflow.db` with the model files in
`mlruns/`. `registry pull` fetches them from the branch; `registry push` publishes them back;
`registry relocate` points the store at this folder after the project was moved or renamed:

- The branch holds one commit with no parent (`mlflow.db`, `mlruns/`, `registry.json`, and
  `moves.jsonl`, one line per push: who, from which commit, the aliases after it). Each push
  replaces that commit, so the branch's size is that of one registry, not of its history.
- A push prunes what it publishes: the versions that carry an alias and the `--keep` newest
  others stay; the rest are left out with their model files (their runs, metrics and params
  stay). The project's own store is not changed by a push.
- A push or a pull is refused when a kept version's model file is missing, is not MLflow's skops
  format, or differs from the sha256 recorded when it was registered (model_file.py), so a branch
  never loses or swaps the models it held. A pull also refuses a file over MAX_FILE_BYTES (1 GiB)
  and a store that would make MLflow write outside the project's `mlruns/`.
- A push is refused when the branch moved since the store was pulled, and the push itself
  carries a lease on the pulled commit: two writers can never overwrite each other.
- MLflow records absolute artifact paths. `registry.json` names the folder the store was
  written in, and a pull points every path at this checkout, so models load from any clone.
- A pull never overwrites local registrations: a `mlflow.db` that differs from the one last
  pulled is kept unless `--force` is given.
- A pull upgrades a store of an older MLflow schema and refuses one of a newer MLflow.
- A pull or push killed at any point (a cancelled CI job) is finished by the next command: each
  announces what it is about to do in the state file before doing it (`settle`).

With a tracking server (MLFLOW_TRACKING_URI, or params.yaml register.tracking_uri), the server
is the registry and both commands refuse to run. Exit codes: 0 done, 2 a bad setting or a
local change in the way, 4 the repository or the branch could not be read or written.
"""

from __future__ import annotations

import argparse
import base64
import datetime
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
from urllib.parse import urlsplit

from .errors import fail
from .model_file import MAX_MODEL_BYTES, MODEL_SHA256, model_path, sha256
from .params import ParamsError, load_params, section
from .registry import EXIT_REGISTRY, RegistryError, redact, tracking_uri
from .strict_json import dumps

BRANCH = "mlflow-registry"
REF = f"refs/heads/{BRANCH}"
DATABASE, ARTIFACTS = "mlflow.db", "mlruns"
MANIFEST, LOG = "registry.json", "moves.jsonl"
FORMAT = 1
DEFAULT_KEEP = 3
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
BRANCH_README = """# mlflow-registry

The project's embedded MLflow registry, written by `make registry-push` (in CI: the `register`,
`promote` and `rollback` jobs). Do not edit it by hand: fetch it with `make registry-pull`.
Each push replaces the branch's only commit; `moves.jsonl` keeps the history of the aliases.
"""


class BranchError(RuntimeError):
    """The repository or the registry branch could not be read or written."""

    exit_code = EXIT_REGISTRY


class LocalChange(RuntimeError):
    """The local store holds something the command would lose."""

    exit_code = 2


# --- git -------------------------------------------------------------------------------------------
def auth_env(remote_url: str) -> dict[str, str]:
    """Git settings that send GITHUB_TOKEN to the GitHub server only, as actions/checkout does.

    Passed through the environment (GIT_CONFIG_*), the token never appears in a command line.
    """
    token = os.environ.get("GITHUB_TOKEN", "")
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    if not token or not remote_url.startswith(server + "/"):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{server}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


def cause(stderr: str, fallback: str) -> str:
    """The line of git's error output that says why: a rejection or a fatal error, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()] or [fallback]
    telling = [line for line in lines if line.startswith(("! ", "fatal:", "error:", "remote: error"))]
    return (telling or lines)[-1 if not telling else 0]


def git(*args: str, env: dict[str, str] | None = None, what: str = "", hide: tuple[str, str] | None = None) -> str:
    """Run git; a failure is a BranchError naming `what` and git's reason (`hide`: (text, shown instead))."""
    found = subprocess.run(
        ["git", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
    )
    if found.returncode != 0:
        reason = cause(found.stderr, f"git exited {found.returncode}")
        if hide:
            reason = reason.replace(*hide)
        raise BranchError(f"{what or 'git ' + args[0]}: {reason}")
    return found.stdout.strip()


class Remote:
    """The repository's remote that holds the registry branch."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = git("remote", "get-url", name, what=f"the git remote {name!r}")
        self.env = auth_env(self.url)

    def __str__(self) -> str:
        return redact(self.url) if urlsplit(self.url).scheme else self.url

    def git(self, *args: str, what: str) -> str:
        """Run git against the remote; its URL in an error is shown redacted."""
        return git(*args, env=self.env, what=what, hide=(self.url, str(self)))

    def head(self) -> str | None:
        """The branch's commit on the remote, or None when the branch does not exist there."""
        found = subprocess.run(
            ["git", "ls-remote", "--refs", self.name, REF],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **self.env},
        )
        if found.returncode != 0:
            reason = cause(found.stderr, "no answer").replace(self.url, str(self))
            raise BranchError(f"cannot read branch {BRANCH} from {self}: {reason}")
        # ls-remote matches the end of a name (refs/heads/a/refs/heads/mlflow-registry too): only
        # the exact name counts.
        exact = [line.split()[0] for line in found.stdout.splitlines() if line.split()[1:] == [REF]]
        return exact[0] if exact else None

    def fetch(self, commit: str) -> None:
        self.git("fetch", "--quiet", "--no-tags", self.name, f"+{REF}:refs/mlflow-registry/fetched",
                 what=f"fetching {BRANCH} from {self}")  # fmt: skip
        if git("rev-parse", "refs/mlflow-registry/fetched") != commit:
            raise BranchError(f"branch {BRANCH} on {self} moved while it was fetched; try again")

    def push(self, commit: str, expected: str | None) -> None:
        """Point the branch at `commit` if it still is at `expected` (None: if it does not exist).

        No hooks run (`--no-verify`): a project's pre-push hook (`dvc push`, linters) is not about
        this branch.
        """
        lease = f"--force-with-lease={REF}:{expected or ''}"
        self.git(
            "push", "--quiet", "--no-verify", lease, self.name, f"{commit}:{REF}", what=f"pushing {BRANCH} to {self}"
        )


# --- the local store ---------------------------------------------------------------------------------
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


# --- commands ----------------------------------------------------------------------------------------
def embedded_only(settings: dict[str, Any]) -> None:
    """Refuse a registry other than this folder's mlflow.db (a server, another file)."""
    uri = tracking_uri(settings)
    path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else None
    if path is None or Path(path).resolve() != (Path.cwd() / DATABASE).resolve():
        raise LocalChange(
            f"the registry is {redact(uri)}: the registry branch keeps the embedded store only "
            f"(unset MLFLOW_TRACKING_URI and params.yaml register.tracking_uri to use it)"
        )
    registry_uri = os.environ.get("MLFLOW_REGISTRY_URI")
    if registry_uri and registry_uri != uri:
        raise LocalChange(
            f"MLFLOW_REGISTRY_URI is {redact(registry_uri)}, another registry than {DATABASE}: unset it "
            "to keep the embedded registry on the branch"
        )


def pull(remote: Remote, force: bool) -> str:
    head = remote.head()
    state = read_state(head)
    if head is None:
        return f"branch {BRANCH} does not exist on {remote} yet: the embedded registry starts empty"
    whole = Path(DATABASE).is_file() and Path(ARTIFACTS).is_dir()
    if not force and state.get("commit") == head and whole and not local_changes(state):
        return f"registry: up to date with {BRANCH} ({head[:12]})"
    reason = local_changes(state)
    if reason and not force:
        raise LocalChange(
            f"{reason}: run `make registry-push` to publish it, or `make registry-pull FORCE=1` to discard it"
        )
    remote.fetch(head)
    scratch = workspace()
    try:
        manifest = extract(head, scratch)
        tree = scratch / "tree"
        upgraded = upgrade_schema(tree / DATABASE)
        try:
            rewrite_paths(tree / DATABASE, manifest["root"], str(Path.cwd()))
        except sqlite3.Error as error:
            raise BranchError(f"branch {BRANCH}: {DATABASE} is not a readable MLflow registry: {error}") from None
        check_models(tree / DATABASE, str(Path.cwd()), files_at=tree)
        if not force and local_changes(state) != reason:
            raise LocalChange(
                f"{DATABASE} changed while the branch was fetched (another command is writing it); run again"
            )
        fetched = digest(tree / DATABASE)
        write_state(state.get("commit", ""), state.get("database", ""), {"action": "pull", "commit": head,
                                                                          "database": fetched})  # fmt: skip
        kill_point("pull: announced")
        replace_store(tree)
        kill_point("pull: replaced")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_state(head, fetched)
    aliases = ", ".join(f"{alias} v{version}" for alias, version in sorted(manifest["aliases"].items()))
    fetched_line = f"registry: fetched {BRANCH} ({head[:12]}) from {remote}: {aliases or 'no aliases yet'}"
    return f"{upgraded}\n{fetched_line}" if upgraded else fetched_line


def prune(database: Path, name: str, keep: int) -> tuple[dict[str, str], list[str], list[str], set[Path]]:
    """In the copy `database`: delete the versions without an alias beyond the `keep` newest.

    Returns the aliases, the versions kept, the versions pruned and the artifact folders that only
    pruned versions use (the caller leaves them out of the branch). The project's own store is
    not touched: a push that fails changes nothing here.
    """
    import mlflow

    uri = f"sqlite:///{database.as_posix()}"
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        model = client.get_registered_model(name)
    except mlflow.exceptions.MlflowException as error:
        if getattr(error, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            return {}, [], [], set()
        raise RegistryError(f"{DATABASE}: reading model {name!r} failed: {error.message}") from None
    aliases = {alias: str(version) for alias, version in model.aliases.items()}
    versions = {int(v.version): v for v in client.search_model_versions(f"name = '{name}'")}
    aliased = {int(v) for v in aliases.values()}
    unaliased = sorted((n for n in versions if n not in aliased), reverse=True)
    kept, pruned = sorted(aliased | set(unaliased[:keep])), sorted(unaliased[keep:])

    def folders(number: int) -> set[Path]:
        version, found = versions[number], set()
        if (version.source or "").startswith("models:/m-"):  # MLflow 3: the version's logged model
            found.add(client.get_logged_model(version.source[8:]).artifact_location)
        if version.run_id:
            found.add(client.get_run(version.run_id).info.artifact_uri)
        return {Path(os.path.normpath(folder.removeprefix("file://"))) for folder in found}

    try:
        used = set().union(*(folders(n) for n in kept)) if kept else set()
        dropped = set().union(*(folders(n) for n in pruned)) - used if pruned else set()
        for number in pruned:
            client.delete_model_version(name, str(number))
    except mlflow.exceptions.MlflowException as error:
        raise BranchError(f"{DATABASE}: pruning old versions failed: {error.message}") from None
    return aliases, [str(n) for n in kept], [str(n) for n in pruned], dropped


def actor() -> dict[str, str]:
    from .aliases import actor as who

    found = who()
    return {key: found[key] for key in ("by", "git_commit", "ci_run") if key in found}


def identity_env() -> dict[str, str]:
    """A committer for the registry commit when git has none configured (a CI runner)."""
    configured = subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], capture_output=True, check=False)
    if configured.returncode == 0:
        return {}
    name, email = "github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}  # fmt: skip


def push(remote: Remote, settings: dict[str, Any], keep: int) -> str:
    if not Path(DATABASE).exists():
        raise LocalChange(f"no embedded registry here ({DATABASE}): run `make registry-pull`, then register")
    head = remote.head()
    state = read_state(head)
    if head is not None and state.get("commit") != head:
        raise LocalChange(
            f"branch {BRANCH} on {remote} is at {head[:12]}, not at the commit this store was fetched from "
            f"({state.get('commit', 'none')[:12]}): run `make registry-pull` first"
        )
    name, root = settings["model_name"], Path.cwd()
    scratch = workspace()
    try:
        tree = scratch / "tree"
        tree.mkdir()
        previous = ""
        if head is not None:
            remote.fetch(head)
            if git("cat-file", "-t", f"{head}:{LOG}", what=f"reading {LOG} on {BRANCH}") != "blob":
                raise BranchError(f"branch {BRANCH}: {LOG} is not a file")
            previous = git("cat-file", "blob", f"{head}:{LOG}", what=f"reading {LOG} on {BRANCH}") + "\n"
        published = digest(Path(DATABASE))
        try:
            with sqlite3.connect(DATABASE) as source, sqlite3.connect(tree / DATABASE) as copy:
                source.backup(copy)  # a consistent copy, even if another process has the file open
            source.close()
            copy.close()
        except sqlite3.Error as error:
            raise BranchError(f"{DATABASE} cannot be read: {error}") from None
        if digest(Path(DATABASE)) != published:
            raise LocalChange(f"{DATABASE} changed while it was copied (another command is writing it); run again")
        aliases, kept, pruned, dropped = prune(tree / DATABASE, name, keep)
        with sqlite3.connect(tree / DATABASE) as copy:
            copy.execute("VACUUM")
        copy.close()
        if Path(ARTIFACTS).is_dir():
            shutil.copytree(
                ARTIFACTS,
                tree / ARTIFACTS,
                ignore=lambda folder, names: [n for n in names if Path(os.path.normpath(root / folder / n)) in dropped],
            )
        check_models(tree / DATABASE, str(root), files_at=tree)  # every kept version's files are in the commit
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        entry = {"at": now, **actor(), "model": name, "aliases": aliases, "pruned": pruned}
        manifest = {"format": FORMAT, "root": str(root), "model": name, "aliases": aliases, "versions": kept,
                    "updated": now}  # fmt: skip
        (tree / MANIFEST).write_text(dumps(manifest, indent=2) + "\n", encoding="utf-8")
        (tree / LOG).write_text(previous.lstrip("\n") + dumps(entry, sort_keys=True) + "\n", encoding="utf-8")
        (tree / "README.md").write_text(BRANCH_README, encoding="utf-8")
        index = {"GIT_INDEX_FILE": str(scratch / "index")}
        git(f"--work-tree={tree}", "add", "--all", "--force", ".", env=index, what="staging the registry")
        tree_id = git("write-tree", env=index, what="writing the registry tree")
        summary = ", ".join(f"{alias} v{version}" for alias, version in sorted(aliases.items())) or "no aliases"
        message = f"Registry of {name}: {summary}"
        commit = git("commit-tree", tree_id, "-m", message, env=identity_env(), what="committing the registry")
        size = sum(f.stat().st_size for f in tree.rglob("*") if f.is_file())
        write_state(state.get("commit", ""), state.get("database", ""), {"action": "push", "commit": commit,
                                                                          "database": published})  # fmt: skip
        kill_point("push: announced")
        remote.push(commit, head)
        kill_point("push: pushed")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_state(commit, published)
    dropped_text = f"; pruned version(s) {', '.join(pruned)} from the branch" if pruned else ""
    return (
        f"registry: pushed {BRANCH} ({commit[:12]}) to {remote}: {summary}, "
        f"{len(kept)} version(s), {size / 1e6:.1f} MB{dropped_text}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="registry", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["pull", "push", "relocate"])
    parser.add_argument("--remote", default="origin", help="the git remote that holds the branch (default origin)")
    parser.add_argument("--force", action="store_true", help="pull: discard local registrations not in the branch")
    parser.add_argument("--keep", type=int, default=DEFAULT_KEEP, help="push: versions without an alias to keep")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    if args.keep < 0:
        return fail(f"--keep {args.keep}: must be 0 or more")
    try:
        if args.action == "relocate":  # the local store's own paths, whichever registry is in use
            message = relocate()
        else:
            settings = section(load_params(args.params), "register")
            embedded_only(settings)
            remote = Remote(args.remote)
            message = pull(remote, args.force) if args.action == "pull" else push(remote, settings, args.keep)
    except (ParamsError, RegistryError, BranchError, LocalChange) as error:
        return fail(error)
    print(" ".join(message.split()))  # one line, whatever the branch's manifest holds
    return 0
