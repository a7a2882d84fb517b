"""The drift history on branch `drift-history`: fetched into the history folder, published from it.

The branch holds one commit with no parent (runs.jsonl, columns/, and the rendered index.html with
.nojekyll, so GitHub Pages can serve the branch as it is); each push replaces it, with a lease on
the commit the folder was fetched from, so two writers can never drop each other's run. A fetch
checks the whole history before it replaces the folder, and never overwrites runs recorded here
that the branch does not have.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..registry_branch import identity_env
from ..registry_transport import BranchError, Remote, git
from .store import RUNS, SEGMENT_NAME, SEGMENTS, HistoryError, read_history, read_runs

BRANCH = "drift-history"
STATE = ".branch.json"  # in the folder: the branch commit it was fetched from
PAGE = "index.html"
OWN = {RUNS, SEGMENTS, STATE, f".{RUNS}.writing"}  # what a history folder may hold
BRANCH_README = """# drift-history

The drift history of this project, written by the scheduled drift workflow (`make drift-record`).
`runs.jsonl` holds one line per checked batch, `columns/` one Parquet row per column and batch,
`index.html` the page `make drift-history` draws. Each push replaces the branch's only commit.
To serve the page, set GitHub Pages to deploy from this branch (docs/ci.md).
"""


def fetched_commit(folder: Path) -> str | None:
    try:
        return json.loads((folder / STATE).read_text(encoding="utf-8")).get("commit")
    except (OSError, ValueError, AttributeError):
        return None


def blob(commit: str, path: str) -> bytes:
    found = subprocess.run(["git", "cat-file", "blob", f"{commit}:{path}"], capture_output=True, check=False)
    if found.returncode != 0:
        raise BranchError(f"branch {BRANCH}: cannot read {path}: {found.stderr.decode(errors='replace').strip()}")
    return found.stdout


def pull(remote: Remote, folder: Path, force: bool) -> str:
    """Replace the folder's history with the branch's; refuse to drop runs only recorded here."""
    if folder.exists() and not folder.is_dir():
        raise HistoryError(f"{folder}: is a file, not a drift history; point params.yaml drift.history at a folder")
    head = remote.head()
    if head is None:
        return f"branch {BRANCH} does not exist on {remote} yet: no history to fetch"
    if head == fetched_commit(folder) and (folder / RUNS).exists():
        return f"drift history: up to date with {BRANCH} ({head[:12]})"
    remote.fetch(head)
    names = git("ls-tree", "-r", "--name-only", head, what=f"listing {BRANCH}").splitlines()
    folder.parent.mkdir(parents=True, exist_ok=True)  # the scratch folder is renamed into place: same file system
    scratch = Path(tempfile.mkdtemp(prefix=".drift-history-", dir=folder.parent))
    try:
        (scratch / SEGMENTS).mkdir()
        for name in names:
            parts = name.split("/")
            if name == RUNS or (len(parts) == 2 and parts[0] == SEGMENTS and SEGMENT_NAME.match(parts[1])):
                (scratch / name).write_bytes(blob(head, name))
        try:
            fetched = read_history(scratch)
        except HistoryError as error:
            raise HistoryError(f"branch {BRANCH} ({head[:12]}): {error}".replace(str(scratch), BRANCH)) from None
        if (folder / RUNS).exists() and not force:
            here = read_runs(folder).ids() - fetched.ids()
            if here:
                raise HistoryError(
                    f"{folder}: {len(here)} run(s) recorded here are not on branch {BRANCH}: "
                    "publish them (`history push`) or fetch with --force to drop them"
                )
        (scratch / STATE).write_text(json.dumps({"commit": head}) + "\n", encoding="utf-8")
        if folder.exists():
            others = [path.name for path in folder.iterdir() if path.name not in OWN]
            if others:
                raise HistoryError(
                    f"{folder}: holds {', '.join(sorted(others)[:3])}, not a drift history; "
                    "point params.yaml drift.history at a folder of its own"
                )
            shutil.rmtree(folder)
        scratch.rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return f"drift history: fetched {BRANCH} ({head[:12]}) from {remote}: {len(fetched.runs)} run(s)"


def push(remote: Remote, folder: Path, page: Path | None) -> str:
    """Publish the folder's history (and the page) as the branch's one commit."""
    history = read_history(folder)
    head, expected = remote.head(), fetched_commit(folder)
    if head is not None and head != expected:
        raise HistoryError(
            f"branch {BRANCH} on {remote} is at {head[:12]}, not at the commit this history was fetched from "
            f"({(expected or 'none')[:12]}): fetch it first (`history pull`)"
        )
    scratch = Path(tempfile.mkdtemp(prefix="drift-history-push-"))
    try:
        tree = scratch / "tree"
        (tree / SEGMENTS).mkdir(parents=True)
        shutil.copy2(folder / RUNS, tree / RUNS)
        for segment in history.segments():
            shutil.copy2(segment, tree / SEGMENTS / segment.name)
        if page is not None and page.is_file():
            shutil.copy2(page, tree / PAGE)
        (tree / ".nojekyll").write_bytes(b"")
        (tree / "README.md").write_text(BRANCH_README, encoding="utf-8")
        index = {"GIT_INDEX_FILE": str(scratch / "index")}
        # Parquet is compressed already: zlib again would only cost time (tens of seconds at 10M rows).
        git("-c", "core.compression=0", f"--work-tree={tree}", "add", "--all", "--force", ".", env=index,
            what="staging the drift history")  # fmt: skip
        tree_id = git("write-tree", env=index, what="writing the drift history tree")
        message = f"Drift history: {len(history.runs)} run(s), the latest {history.runs[-1]['at']}"
        commit = git("commit-tree", tree_id, "-m", message, env=identity_env(), what="committing the drift history")
        remote.push(commit, head)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    (folder / STATE).write_text(json.dumps({"commit": commit}) + "\n", encoding="utf-8")
    return f"drift history: pushed {BRANCH} ({commit[:12]}) to {remote}: {len(history.runs)} run(s)"
