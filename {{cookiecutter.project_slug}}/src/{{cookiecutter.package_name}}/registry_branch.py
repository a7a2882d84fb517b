"""Registry branch: keep the embedded MLflow registry in the repository, on branch `mlflow-registry`.

Without a tracking server, the registry is the sqlite file `mlflow.db` with the model files in
`mlruns/`. `registry pull` fetches them from the branch; `registry push` publishes them back:

- The branch holds one commit with no parent (`mlflow.db`, `mlruns/`, `registry.json`, and
  `moves.jsonl`, one line per push: who, from which commit, the aliases after it). Each push
  replaces that commit, so the branch's size is that of one registry, not of its history.
- A push first prunes: the versions that carry an alias and the `--keep` newest others stay;
  the rest are deleted with their model files (their runs, metrics and params stay).
- A push is refused when the branch moved since the store was pulled, and the push itself
  carries a lease on the pulled commit: two writers can never overwrite each other.
- MLflow records absolute artifact paths. `registry.json` names the folder the store was
  written in, and a pull points every path at this checkout, so models load from any clone.
- A pull never overwrites local registrations: a `mlflow.db` that differs from the one last
  pulled is kept unless `--force` is given.

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
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import fail
from .params import ParamsError, load_params, section
from .registry import EXIT_REGISTRY, RegistryError, redact, tracking_uri

BRANCH = "mlflow-registry"
REF = f"refs/heads/{BRANCH}"
DATABASE, ARTIFACTS = "mlflow.db", "mlruns"
MANIFEST, LOG = "registry.json", "moves.jsonl"
FORMAT = 1
DEFAULT_KEEP = 3
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


def git(*args: str, env: dict[str, str] | None = None, what: str = "") -> str:
    """Run git; a failure is a BranchError naming `what` and git's last line."""
    found = subprocess.run(
        ["git", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
    )
    if found.returncode != 0:
        lines = [line for line in found.stderr.splitlines() if line.strip()] or [f"git exited {found.returncode}"]
        raise BranchError(f"{what or 'git ' + args[0]}: {lines[-1].strip()}")
    return found.stdout.strip()


class Remote:
    """The repository's remote that holds the registry branch."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = git("remote", "get-url", name, what=f"the git remote {name!r}")
        self.env = auth_env(self.url)

    def __str__(self) -> str:
        parts = urlsplit(self.url)
        return redact(self.url) if parts.scheme else self.url

    def head(self) -> str | None:
        """The branch's commit on the remote, or None when the branch does not exist there."""
        found = subprocess.run(
            ["git", "ls-remote", "--exit-code", self.name, REF],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **self.env},
        )
        if found.returncode == 2:  # the remote answered: no such branch
            return None
        if found.returncode != 0:
            lines = [line for line in found.stderr.splitlines() if line.strip()] or ["no answer"]
            raise BranchError(f"cannot read branch {BRANCH} from {self}: {lines[-1].strip()}")
        return found.stdout.split()[0]

    def fetch(self, commit: str) -> None:
        git("fetch", "--quiet", "--no-tags", self.name, REF, env=self.env, what=f"fetching {BRANCH} from {self}")
        if git("rev-parse", "FETCH_HEAD") != commit:
            raise BranchError(f"branch {BRANCH} on {self} moved while it was fetched; try again")

    def push(self, commit: str, expected: str | None) -> None:
        """Point the branch at `commit` if it still is at `expected` (None: if it does not exist)."""
        lease = f"--force-with-lease={REF}:{expected or ''}"
        git("push", "--quiet", lease, self.name, f"{commit}:{REF}", env=self.env, what=f"pushing {BRANCH} to {self}")


# --- the local store ---------------------------------------------------------------------------------
def state_file() -> Path:
    """What the last pull or push left here (commit and database hash), kept inside .git."""
    return Path(git("rev-parse", "--git-path", "mlflow-registry.json", what="finding the git folder")).resolve()


def read_state() -> dict[str, str]:
    path = state_file()
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_state(commit: str) -> None:
    state = {"commit": commit, "database": digest(Path(DATABASE)) if Path(DATABASE).exists() else ""}
    state_file().write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def local_changes(state: dict[str, str]) -> str | None:
    """Why the local store must not be replaced, or None when it holds nothing the branch lacks."""
    database = Path(DATABASE)
    if not database.exists():
        return None
    if not state:
        return f"{DATABASE} was not fetched from branch {BRANCH}"
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
    check_models_inside(database, new_root)


def check_models_inside(database: Path, root: str) -> None:
    """Refuse a store whose model files are recorded outside `root`: they would not travel with it."""
    root = root.rstrip("/")
    with sqlite3.connect(database) as connection:
        strays = connection.execute(
            "SELECT version, storage_location FROM model_versions WHERE storage_location IS NOT NULL "
            "AND storage_location != '' AND substr(replace(storage_location, 'file://', ''), 1, ?) != ?",
            (len(root) + 1, root + "/"),
        ).fetchall()
    connection.close()
    if strays:
        version, location = strays[0]
        raise BranchError(
            f"model version {version}'s files are at {location}, outside {root}: only a registry whose "
            f"model files are in {ARTIFACTS}/ of the project can be kept on branch {BRANCH}"
        )


def replace_store(source: Path) -> None:
    """Move `source`'s mlflow.db and mlruns/ into the project, in place of the current ones."""
    root = Path.cwd()
    backup = Path(tempfile.mkdtemp(prefix="registry-old-", dir=source.parent))
    for name in (DATABASE, ARTIFACTS):
        if (root / name).exists():
            os.replace(root / name, backup / name)
    for name in (DATABASE, ARTIFACTS):
        if (source / name).exists():
            os.replace(source / name, root / name)
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
    for line in git("ls-tree", "-r", commit, what=f"reading branch {BRANCH}").splitlines():
        mode, _, rest = line.partition(" ")
        if mode not in ("100644", "100755"):
            raise BranchError(f"branch {BRANCH}: {rest.split(chr(9), 1)[-1]!r} is not a regular file")
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
    if manifest.get("format") != FORMAT or not (tree / DATABASE).is_file():
        raise BranchError(f"branch {BRANCH}: {MANIFEST} format {manifest.get('format')!r} is not {FORMAT}")
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


def pull(remote: Remote, force: bool) -> str:
    head = remote.head()
    state = read_state()
    if head is None:
        return f"branch {BRANCH} does not exist on {remote} yet: the embedded registry starts empty"
    if state.get("commit") == head and not local_changes(state) and Path(DATABASE).exists():
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
        rewrite_paths(scratch / "tree" / DATABASE, manifest["root"], str(Path.cwd()))
        replace_store(scratch / "tree")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_state(head)
    aliases = ", ".join(f"{alias} v{version}" for alias, version in sorted(manifest.get("aliases", {}).items()))
    return f"registry: fetched {BRANCH} ({head[:12]}) from {remote}: {aliases or 'no aliases yet'}"


def prune(settings: dict[str, Any], keep: int) -> tuple[dict[str, str], list[str], list[str]]:
    """Delete the versions without an alias beyond the `keep` newest, with their model files.

    Returns the aliases, the versions kept and the versions pruned.
    """
    from .aliases import locked, recover
    from .registry import connect

    registry = connect(settings)
    if registry.model() is None:
        return {}, [], []
    with locked(registry, "registry push"):
        recover(registry, "registry push")  # a move a killed run left half-done is completed first
        return prune_locked(registry, keep)


def prune_locked(registry: Any, keep: int) -> tuple[dict[str, str], list[str], list[str]]:
    aliases = registry.aliases()
    versions = registry.call("listing the versions", registry.client.search_model_versions, f"name = '{registry.name}'")
    numbers = sorted((int(v.version) for v in versions), reverse=True)
    aliased = {int(v) for v in aliases.values()}
    unaliased = [n for n in numbers if n not in aliased]
    kept = sorted(aliased | set(unaliased[:keep]))
    pruned = sorted(set(unaliased[keep:]))
    root = Path.cwd().resolve()
    for number in pruned:
        version = next(v for v in versions if int(v.version) == number)
        folders = []
        if (version.source or "").startswith("models:/m-"):  # MLflow 3: the version's logged model
            logged = registry.call("reading a logged model", registry.client.get_logged_model, version.source[8:])
            folders.append(logged.artifact_location if logged is not None else "")
        if version.run_id:
            run = registry.call("reading a run", registry.client.get_run, version.run_id)
            folders.append(run.info.artifact_uri)
        registry.call("pruning a version", registry.client.delete_model_version, registry.name, str(number), write=True)
        for folder in folders:
            path = Path(folder.removeprefix("file://")).resolve()
            if path.is_dir() and root in path.parents:
                shutil.rmtree(path)
    return aliases, [str(n) for n in kept], [str(n) for n in pruned]


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
    head, state = remote.head(), read_state()
    if head is not None and state.get("commit") != head:
        raise LocalChange(
            f"branch {BRANCH} on {remote} is at {head[:12]}, not at the commit this store was fetched from "
            f"({state.get('commit', 'none')[:12]}): run `make registry-pull` first"
        )
    aliases, kept, pruned = prune(settings, keep)
    scratch = workspace()
    try:
        tree = scratch / "tree"
        tree.mkdir()
        previous = ""
        if head is not None:
            remote.fetch(head)
            previous = subprocess.run(["git", "show", f"{head}:{LOG}"], capture_output=True, text=True).stdout
        with sqlite3.connect(DATABASE) as source, sqlite3.connect(tree / DATABASE) as copy:
            source.backup(copy)  # a consistent copy, even if a reader has the file open
            copy.execute("VACUUM")
        source.close()
        copy.close()
        check_models_inside(tree / DATABASE, str(Path.cwd()))
        if Path(ARTIFACTS).is_dir():
            shutil.copytree(ARTIFACTS, tree / ARTIFACTS)
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        entry = {"at": now, **actor(), "model": settings["model_name"], "aliases": aliases, "pruned": pruned}
        manifest = {"format": FORMAT, "root": str(Path.cwd()), "model": settings["model_name"],
                    "aliases": aliases, "versions": kept, "updated": now}  # fmt: skip
        (tree / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        (tree / LOG).write_text(previous + json.dumps(entry, sort_keys=True) + "\n", encoding="utf-8")
        (tree / "README.md").write_text(BRANCH_README, encoding="utf-8")
        index = {"GIT_INDEX_FILE": str(scratch / "index")}
        git(f"--work-tree={tree}", "add", "--all", "--force", ".", env=index, what="staging the registry")
        tree_id = git("write-tree", env=index, what="writing the registry tree")
        summary = ", ".join(f"{alias} v{version}" for alias, version in sorted(aliases.items())) or "no aliases"
        message = f"Registry of {settings['model_name']}: {summary}"
        commit = git("commit-tree", tree_id, "-m", message, env=identity_env(), what="committing the registry")
        remote.push(commit, head)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_state(commit)
    size = sum(f.stat().st_size for f in Path(ARTIFACTS).rglob("*") if f.is_file()) + Path(DATABASE).stat().st_size
    dropped = f"; pruned version(s) {', '.join(pruned)}" if pruned else ""
    return (
        f"registry: pushed {BRANCH} ({commit[:12]}) to {remote}: {summary}, "
        f"{len(kept)} version(s), {size / 1e6:.1f} MB{dropped}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="registry", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["pull", "push"])
    parser.add_argument("--remote", default="origin", help="the git remote that holds the branch (default origin)")
    parser.add_argument("--force", action="store_true", help="pull: discard local registrations not in the branch")
    parser.add_argument("--keep", type=int, default=DEFAULT_KEEP, help="push: versions without an alias to keep")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    if args.keep < 0:
        return fail(f"--keep {args.keep}: must be 0 or more")
    try:
        settings = section(load_params(args.params), "register")
        embedded_only(settings)
        remote = Remote(args.remote)
        message = pull(remote, args.force) if args.action == "pull" else push(remote, settings, args.keep)
    except (ParamsError, RegistryError, BranchError, LocalChange) as error:
        return fail(error)
    print(" ".join(message.split()))  # one line, whatever the branch's manifest holds
    return 0
