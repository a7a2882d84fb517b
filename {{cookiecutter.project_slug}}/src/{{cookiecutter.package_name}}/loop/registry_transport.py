"""The registry branch's transport: reading and writing branch `mlflow-registry` of the project's git remote.

Git runs with the remote's token as an HTTP header (never in a URL or a message), no terminal
prompt, and every failure is a BranchError (exit 4) naming what failed. registry_store.py handles
what the branch carries; registry_branch.py is the `registry` command.
"""

from __future__ import annotations

import base64
import os
import subprocess
from urllib.parse import urlsplit

from . import git as gitcommand
from .errors import EXIT_REGISTRY
from .registry import redact

BRANCH = "mlflow-registry"
REF = f"refs/heads/{BRANCH}"


class BranchError(RuntimeError):
    """The repository or the registry branch could not be read or written."""

    exit_code = EXIT_REGISTRY


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


def git(*args: str, env: dict[str, str] | None = None, what: str = "", hide: tuple[str, str] | None = None) -> str:
    """Run git; a failure is a BranchError naming `what` and git's reason (`hide`: (text, shown instead))."""
    return gitcommand.run(*args, env=env, what=what, hide=hide, error=BranchError)


class Remote:
    """The repository's remote that holds the registry branch (or another branch the loop keeps, `branch`)."""

    def __init__(self, name: str, branch: str = BRANCH) -> None:
        self.name, self.branch = name, branch
        self.ref = f"refs/heads/{branch}"
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
            ["git", "ls-remote", "--refs", self.name, self.ref],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **self.env},
        )
        if found.returncode != 0:
            reason = gitcommand.cause(found.stderr, "no answer").replace(self.url, str(self))
            raise BranchError(f"cannot read branch {self.branch} from {self}: {reason}")
        # ls-remote matches the end of a name (refs/heads/a/refs/heads/mlflow-registry too): only
        # the exact name counts.
        exact = [line.split()[0] for line in found.stdout.splitlines() if line.split()[1:] == [self.ref]]
        return exact[0] if exact else None

    def fetch(self, commit: str) -> None:
        fetched = f"refs/{self.branch}/fetched"
        self.git("fetch", "--quiet", "--no-tags", self.name, f"+{self.ref}:{fetched}",
                 what=f"fetching {self.branch} from {self}")  # fmt: skip
        if git("rev-parse", fetched) != commit:
            raise BranchError(f"branch {self.branch} on {self} moved while it was fetched; try again")

    def push(self, commit: str, expected: str | None) -> None:
        """Point the branch at `commit` if it still is at `expected` (None: if it does not exist).

        No hooks run (`--no-verify`): a project's pre-push hook (`dvc push`, linters) is not about
        this branch.
        """
        lease = f"--force-with-lease={self.ref}:{expected or ''}"
        self.git(
            "push",
            "--quiet",
            "--no-verify",
            lease,
            self.name,
            f"{commit}:{self.ref}",
            what=f"pushing {self.branch} to {self}",
        )
