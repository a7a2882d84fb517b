"""Propose a change as a pull request: commit it on a branch, then push it and open or update its pull request.

Tuning, data refresh and template updates all end the same way, in two steps run by two jobs:

- `commit` (a job that can read, not write): commit the changes on `--branch` from HEAD and write
  the new commits into a git bundle, the artifact the next job gets;
- `publish` (the only job with write access): fetch the branch (and any `--ref`) from the bundle,
  force-push it with the token `gh` holds, then edit the body of the open pull request from this
  repository's own branch or open one. A fork's branch of the same name is someone else's and is
  never edited. Its URL goes to stdout and to $GITHUB_OUTPUT as `pull=<url>`.

`python -m <package> propose commit|publish ...`; the Makefile's *-branch and *-pr targets call it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from .errors import fail, output
from .git import GitError, run

# The first open pull request whose head is this repository's own branch, not a fork's of the same name.
OWN = "map(select(.isCrossRepository | not)) | .[0].number"
# Push with the token gh holds (GH_TOKEN) and never another stored credential.
PUSH = ["-c", "credential.helper=", "-c", "credential.helper=!gh auth git-credential", "push"]


class ProposeError(RuntimeError):
    """The branch cannot be proposed: the message says why."""

    exit_code = 2


def commit(branch: str, message: str, bundle: Path, paths: list[str], extra_refs: tuple[str, ...] = ()) -> str:
    """Commit `paths` (every change when empty) on `branch` from HEAD and bundle the new commits; return the commit."""
    base = run("rev-parse", "HEAD", what="the commit to propose from")
    run("switch", "--quiet", "--force-create", branch, what=f"making branch {branch}")
    run("add", *(["--", *paths] if paths else ["--all"]), what="adding the changes")
    if not run("diff", "--cached", "--name-only"):
        raise ProposeError(f"nothing to propose on branch {branch}: no file changed")
    run("commit", "--quiet", "--no-verify", "--message", message, what=f"committing on branch {branch}")
    bundle.parent.mkdir(parents=True, exist_ok=True)
    run("bundle", "create", str(bundle), branch, *extra_refs, f"^{base}", what="writing the bundle")
    return run("rev-parse", "HEAD")


def gh(*args: str) -> str:
    try:
        found = subprocess.run(["gh", *args], capture_output=True, text=True, check=False)
    except OSError as problem:
        raise ProposeError(f"gh {args[0]} {args[1]}: GitHub's gh cannot run: {problem.strerror or problem}") from None
    if found.returncode != 0:
        reason = " ".join(found.stderr.split()) or f"gh exited {found.returncode}"
        raise ProposeError(f"gh {args[0]} {args[1]}: {reason}")
    return found.stdout.strip()


def open_or_update(branch: str, title: str, body: Path) -> str:
    """Edit the open pull request from this repository's `branch`, or open one; return its URL."""
    own = gh("pr", "list", "--head", branch, "--state", "open", "--json", "number,isCrossRepository", "--jq", OWN)
    if own and own != "null":
        return last_line(gh("pr", "edit", own, "--body-file", str(body)))
    return last_line(gh("pr", "create", "--head", branch, "--title", title, "--body-file", str(body)))


def last_line(text: str) -> str:
    """What gh prints last for `pr create` and `pr edit`: the pull request's URL."""
    return (text.splitlines() or [""])[-1].strip()


def publish(branch: str, bundle: Path, title: str, body: Path, refs: tuple[str, ...] = ()) -> str:
    """Push `branch` (and `refs`, as SOURCE:DESTINATION) from the bundle, then open or update its pull request."""
    if shutil.which("gh") is None:  # before anything is pushed: a branch with no pull request is half a proposal
        raise ProposeError("GitHub's gh is not on PATH: it opens the pull request (https://cli.github.com)")
    if not bundle.is_file():
        raise ProposeError(f"{bundle}: no bundle; the job that commits the branch did not write one")
    if not body.is_file():
        raise ProposeError(f"{body}: no pull-request text")
    fetched = [f"+{branch}:refs/heads/{branch}", *(f"+{source}:{target}" for source, target in map(split_ref, refs))]
    run("fetch", "--quiet", str(bundle), *fetched, what=f"reading {bundle}")
    targets = [branch, *(target for _, target in map(split_ref, refs))]
    run(*PUSH, "--force", "origin", *targets, what=f"pushing branch {branch}")
    return open_or_update(branch, title, body)


def split_ref(ref: str) -> tuple[str, str]:
    source, _, target = ref.partition(":")
    if not source or not target.startswith("refs/"):
        raise ProposeError(f"--ref {ref!r}: must be SOURCE:refs/...")
    return source, target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="propose", description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    made = steps.add_parser("commit", help="commit the changes on a branch and bundle it")
    made.add_argument("--branch", required=True)
    made.add_argument("--message", required=True)
    made.add_argument("--bundle", required=True, type=Path)
    made.add_argument("paths", nargs="*", help="what to commit (default: every change)")
    sent = steps.add_parser("publish", help="push the bundled branch and open or update its pull request")
    sent.add_argument("--branch", required=True)
    sent.add_argument("--bundle", required=True, type=Path)
    sent.add_argument("--title", required=True)
    sent.add_argument("--body", required=True, type=Path)
    sent.add_argument("--ref", action="append", default=[], help="another ref to push, SOURCE:refs/...")
    args = parser.parse_args(argv)
    try:
        if args.step == "commit":
            print(f"propose: branch {args.branch} at {commit(args.branch, args.message, args.bundle, args.paths)[:12]}")
            return 0
        url = publish(args.branch, args.bundle, args.title, args.body, tuple(args.ref))
    except (GitError, ProposeError) as error:
        return fail(error)
    print(url)
    output("pull", url, show=False)
    return 0
