"""The GitHub side of a rehearsal: the repository, its settings, and an in-memory API.

`Repository` is a bare git repository standing in for the one on GitHub, with the settings a
workflow reads (variables, secrets, environments). `GitHubState` is the API's data (issues and
pull requests, comments, workflow dispatches) kept in a JSON file, so the github-script
stand-in (node) and the fake `gh` (a separate process) record what they would have sent, and a
test reads it back. Event payloads carry the fields GitHub sends for each event.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVER_URL = "https://github.com"
BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
DEVELOPER = {"login": "octocat", "id": 583231, "type": "User"}
LEVELS = {"none": 0, "read": 1, "write": 2}


def git(cwd: Path | str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run git and return its stdout; raise with git's message when it fails."""
    found = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if found.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}:\n{found.stderr}")
    return found.stdout.strip()


IDENTITY = ["-c", "user.name=octocat", "-c", "user.email=octocat@example.com"]


class GitHubState:
    """The API's data in a JSON file shared with the node and `gh` stand-ins."""

    def __init__(self, path: Path, repository: str) -> None:
        self.path = path
        if not path.exists():
            self.save(
                {
                    "repository": repository,
                    "next_number": 1,
                    "next_id": 1000,
                    "issues": [],
                    "comments": [],
                    "dispatches": [],
                    "enabled": [],
                    "calls": [],
                    "tokens": {},
                }
            )

    def load(self) -> dict[str, Any]:
        return json.loads(self.path.read_text(encoding="utf-8"))

    def save(self, data: dict[str, Any]) -> None:
        self.path.write_text(json.dumps(data, indent=2), encoding="utf-8")

    def grant(self, token: str, permissions: dict[str, str], job: str, login: str = BOT["login"]) -> None:
        """Register a job's GITHUB_TOKEN (or a GitHub App's token, as `login`) and what it may do."""
        data = self.load()
        data["tokens"][token] = {"permissions": permissions, "job": job, "login": login}
        self.save(data)

    def add_pull_request(self, number: int, head: str, title: str, fork: bool = False) -> None:
        data = self.load()
        if not any(issue["number"] == number for issue in data["issues"]):
            data["issues"].append(
                {
                    "number": number,
                    "title": title,
                    "body": "",
                    "state": "open",
                    "labels": [],
                    "user": DEVELOPER,
                    "pull_request": {"url": f"{SERVER_URL}/pulls/{number}", "head": head, "cross_repository": fork},
                }
            )
            data["next_number"] = max(data["next_number"], number + 1)
        self.save(data)

    # What tests read back.
    def issues(self, state: str = "open") -> list[dict[str, Any]]:
        return [i for i in self.load()["issues"] if "pull_request" not in i and i["state"] == state]

    def comments(self, issue_number: int) -> list[dict[str, Any]]:
        return [c for c in self.load()["comments"] if c["issue_number"] == issue_number]

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.load()["calls"] if method is None or c["method"] == method]

    def dispatches(self) -> list[dict[str, Any]]:
        return self.load()["dispatches"]


@dataclass
class Environment:
    """A deployment environment: its own variables and secrets, and who must approve a job."""

    variables: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    reviewers: list[str] = field(default_factory=list)
    # Deployment branches: None lets every branch use it; else only these (a pull request's run
    # is checked by its head branch, as GitHub checks it).
    branches: list[str] | None = None


@dataclass
class Repository:
    """The repository on GitHub: a bare git repository plus its Actions settings."""

    origin: Path
    full_name: str = "octo-org/churn-model"
    default_branch: str = "main"
    variables: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    environments: dict[str, Environment] = field(default_factory=dict)

    @classmethod
    def from_project(cls, project: Path, where: Path, **settings: Any) -> Repository:
        """Make the bare repository from a baked project's git history."""
        origin = where / "origin.git"
        git(where, "clone", "--quiet", "--bare", str(project), str(origin))
        return cls(origin=origin, **settings)

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/")[1]

    def payload(self) -> dict[str, Any]:
        """The `repository` object GitHub puts in event payloads."""
        return {
            "id": 123456789,
            "name": self.name,
            "full_name": self.full_name,
            "owner": {"login": self.owner, "type": "Organization"},
            "private": True,
            "fork": False,
            "default_branch": self.default_branch,
            "html_url": f"{SERVER_URL}/{self.full_name}",
        }

    def sha(self, ref: str) -> str:
        return git(self.origin, "rev-parse", ref)

    def commit(self, branch: str, message: str, files: dict[str, str | None], force_add: bool = False) -> str:
        """Commit file changes (None deletes a file) on a branch, starting it from the default branch."""
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "work"
            git(tmp, "clone", "--quiet", str(self.origin), str(work))
            exists = git(work, "ls-remote", "--heads", "origin", branch)
            git(work, "checkout", "--quiet", "-B", branch, f"origin/{branch if exists else self.default_branch}")
            for name, content in files.items():
                path = work / name
                if content is None:
                    git(work, "rm", "--quiet", name)
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
                git(work, "add", *(["--force"] if force_add else []), name)
            git(work, *IDENTITY, "commit", "--quiet", "-m", message)
            git(work, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
            return git(work, "rev-parse", "HEAD")

    def merge_ref(self, number: int, head_sha: str) -> str:
        """Create refs/pull/<n>/head and the test-merge commit refs/pull/<n>/merge, as GitHub does."""
        base = self.sha(self.default_branch)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "work"
            git(tmp, "clone", "--quiet", str(self.origin), str(work))
            git(work, "fetch", "--quiet", "origin", head_sha)
            git(work, "checkout", "--quiet", "--detach", base)
            git(work, *IDENTITY, "merge", "--quiet", "--no-ff", "-m", f"Merge {head_sha} into {base}", head_sha)
            merge = git(work, "rev-parse", "HEAD")
            git(work, "push", "--quiet", "origin", f"+{head_sha}:refs/pull/{number}/head")
            git(work, "push", "--quiet", "origin", f"+{merge}:refs/pull/{number}/merge")
        return merge


@dataclass
class Event:
    """What triggered a run: the event name, its payload and the ref and commit it runs on."""

    name: str
    payload: dict[str, Any]
    ref: str
    sha: str
    head_ref: str = ""
    base_ref: str = ""
    fork: bool = False
    inputs: dict[str, Any] = field(default_factory=dict)


def push(repo: Repository, branch: str = "main", before: str = "0" * 40) -> Event:
    sha = repo.sha(branch)
    message = git(repo.origin, "log", "-1", "--format=%s", sha)
    payload = {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": sha,
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"{SERVER_URL}/{repo.full_name}/compare/{before[:12]}...{sha[:12]}",
        "commits": [{"id": sha, "message": message, "distinct": True}],
        "head_commit": {"id": sha, "message": message, "author": {"name": "octocat"}},
        "repository": repo.payload(),
        "pusher": {"name": "octocat", "email": "octocat@example.com"},
        "sender": DEVELOPER,
    }
    return Event("push", payload, ref=f"refs/heads/{branch}", sha=sha)


def pull_request(
    repo: Repository, state: GitHubState, branch: str, number: int, action: str = "opened", fork: bool = False
) -> Event:
    """A pull request from `branch` (pushed to origin) into the default branch; `fork` makes it come
    from someone else's fork, which GitHub runs with a read-only token and no variables or secrets."""
    head_sha = repo.sha(branch)
    merge = repo.merge_ref(number, head_sha)
    state.add_pull_request(number, branch, f"Change {branch}", fork)
    head_repo = {**repo.payload(), "full_name": f"someone/{repo.name}", "fork": True} if fork else repo.payload()
    payload = {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "title": f"Change {branch}",
            "user": DEVELOPER,
            "html_url": f"{SERVER_URL}/{repo.full_name}/pull/{number}",
            "head": {"ref": branch, "sha": head_sha, "label": f"octocat:{branch}", "repo": head_repo},
            "base": {"ref": repo.default_branch, "sha": repo.sha(repo.default_branch), "repo": repo.payload()},
            "merge_commit_sha": merge,
        },
        "repository": repo.payload(),
        "sender": DEVELOPER,
    }
    return Event(
        "pull_request",
        payload,
        ref=f"refs/pull/{number}/merge",
        sha=merge,
        head_ref=branch,
        base_ref=repo.default_branch,
        fork=fork,
    )


def schedule(repo: Repository, cron: str) -> Event:
    """A scheduled run: on the default branch's latest commit; the payload holds only the cron."""
    branch = repo.default_branch
    return Event("schedule", {"schedule": cron}, ref=f"refs/heads/{branch}", sha=repo.sha(branch))


def workflow_dispatch(
    repo: Repository, workflow: str, inputs: dict[str, Any] | None = None, branch: str | None = None
) -> Event:
    """A run started by hand or through the API, on `branch` (the default branch unless given)."""
    branch = branch or repo.default_branch
    payload = {
        "inputs": inputs or {},
        "ref": f"refs/heads/{branch}",
        "repository": repo.payload(),
        "sender": DEVELOPER,
        "workflow": f".github/workflows/{workflow}",
    }
    return Event(
        "workflow_dispatch", payload, ref=f"refs/heads/{branch}", sha=repo.sha(branch), inputs=dict(inputs or {})
    )
