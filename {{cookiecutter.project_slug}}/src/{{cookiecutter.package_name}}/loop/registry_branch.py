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
is the registry and both commands refuse to run. Exit codes: 0 done, 2 a bad setting or a local
change in the way, 4 the repository or the branch could not be read or written.

registry_transport.py reads and writes the branch, registry_store.py checks and replaces the local
store; this module is the command.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from .errors import fail
from .params import ParamsError, load_params, section
from .registry import RegistryError, redact, tracking_uri
from .registry_store import (
    ARTIFACTS,
    DATABASE,
    FORMAT,
    LOG,
    MANIFEST,
    LocalChange,
    check_models,
    digest,
    extract,
    kill_point,
    local_changes,
    read_state,
    relocate,
    replace_store,
    rewrite_paths,
    upgrade_schema,
    workspace,
    write_state,
)
from .registry_transport import BRANCH, BranchError, Remote, git
from .strict_json import dumps

DEFAULT_KEEP = 3
BRANCH_README = """# mlflow-registry

The project's embedded MLflow registry, written by `make registry-push` (in CI: the `register`,
`promote` and `rollback` jobs). Do not edit it by hand: fetch it with `make registry-pull`.
Each push replaces the branch's only commit; `moves.jsonl` keeps the history of the aliases.
"""


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
