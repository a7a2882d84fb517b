"""GitHub's REST API, asked through `gh api` (GitHub's CLI, logged in by you or given GH_TOKEN).

Standard library only, like propose.py: `make github-setup` and `make doctor` run without the
project's environment. Every answer that is not a success becomes one error line, classified:

  NotFound     404: the thing does not exist (or the token may not see it)
  Forbidden    401/403: gh is not logged in, or the token may not read or change this
  RateLimited  403/429 with x-ratelimit-remaining: 0 (or 429): the API's budget is used up
  ApiError     anything else: no answer (network, no gh), a server error, an unexpected status

Only NotFound may mean "absent" to a caller; every other error stops the question (exit 4).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from .git import output as git_output

EXIT_API = 4
PER_PAGE = 100
MAX_PAGES = 10  # 1,000 items: more than any list these commands read
_STATUS = re.compile(r"^HTTP/[\d.]+ (\d{3})")
_REMOTE = re.compile(r"github\.com[:/]([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")


class ApiError(RuntimeError):
    """The API gave no usable answer; the message is one line saying which call and why."""

    exit_code = EXIT_API

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class NotFound(ApiError):
    """HTTP 404: not there, or not visible to this token."""


class Forbidden(ApiError):
    """HTTP 401 or 403: not logged in, or the token lacks the permission."""


class RateLimited(ApiError):
    """HTTP 403 or 429 with the rate limit used up."""


class Unexpected(ApiError):
    """A success whose body is not what this call answers: the API changed, or a proxy answered."""


class Items(list):
    """The items of a paginated list; `complete` is False when more pages were left unread."""

    complete = True


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def parse(text: str) -> Answer | None:
    """Split what `gh api --include` prints into status, headers (lower-case names) and JSON body."""
    head, _, rest = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    found = _STATUS.match(lines[0]) if lines else None
    if found is None:
        return None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        body = json.loads(rest) if rest.strip() else None
    except json.JSONDecodeError:
        body = NotJson(rest.strip())
    return Answer(int(found.group(1)), headers, body)


class NotJson(str):
    """A body that is not JSON (an HTML error page, a proxy's answer)."""


def short(text: str, limit: int = 80) -> str:
    """One short line of a message: an HTML page or a long body must not fill the error line."""
    line = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def classify(answer: Answer, what: str) -> Answer:
    """Return a successful answer; raise the error class its status and headers mean."""
    status, headers = answer.status, answer.headers
    if 200 <= status < 300:
        if isinstance(answer.body, NotJson):
            raise Unexpected(f"{what}: unexpected answer (not JSON: {short(answer.body)})", status)
        return answer
    message = short(answer.body.get("message", "") if isinstance(answer.body, dict) else str(answer.body or ""))
    used_up = headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers or "rate limit" in message
    if status == 429 or (status == 403 and used_up):
        raise RateLimited(f"{what}: GitHub's API rate limit is used up (HTTP {status}){resets(headers)}", status)
    if status == 401:
        raise Forbidden(
            f"{what}: gh is not logged in or its token is no longer valid (HTTP 401): run `gh auth login`", 401
        )
    if status == 403:
        raise Forbidden(f"{what}: the token may not do this (HTTP 403: {message or 'Forbidden'})", 403)
    if status == 404:
        raise NotFound(f"{what}: not found (HTTP 404), or the token may not see it", 404)
    raise ApiError(f"{what}: GitHub answered HTTP {status}: {message or 'no message'}", status)


def resets(headers: dict[str, str]) -> str:
    """How long to wait, by GitHub's documented rule: retry-after, else the reset time of a used-up limit."""
    after = headers.get("retry-after", "")
    if after.isdigit():
        return f"; wait {after} seconds and run it again"
    stamp = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and stamp.isdigit():
        return "; it resets at " + time.strftime("%H:%M UTC", time.gmtime(int(stamp)))
    return "; wait at least a minute and run it again"  # a secondary limit that names no time


def call(path: str, method: str = "GET", body: Any = None) -> Answer:
    """One API call with gh; a JSON `body` is sent on stdin. Errors are raised as classified above."""
    what = f"{method} {path.split('?')[0]}"
    args = ["gh", "api", "--include", "--method", method, path]
    if body is not None:
        args += ["--input", "-"]
    try:
        found = subprocess.run(
            args,
            input=None if body is None else json.dumps(body),
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GH_PROMPT_DISABLED": "1", "NO_COLOR": "1"},
        )
    except OSError as problem:
        raise ApiError(
            f"{what}: GitHub's gh cannot run: {problem.strerror or problem} (https://cli.github.com)"
        ) from None
    answer = parse(found.stdout)
    if answer is None:
        reason = " ".join(found.stderr.split()) or f"gh exited {found.returncode}"
        raise ApiError(f"{what}: no answer from GitHub: {reason}")
    return classify(answer, what)


def get(path: str, shape: type | None = None) -> Any:
    """The JSON body of a GET; with `shape` (dict or list), a body of another type is Unexpected."""
    body = call(path).body
    if shape is not None and not isinstance(body, shape):
        raise Unexpected(f"GET {path.split('?')[0]}: unexpected answer (not a JSON {shape.__name__})")
    return body


def get_all(path: str, key: str | None = None) -> Items:
    """Every item of a paginated list (`key` names the list inside an object answer), page by page.

    Each item must be an object. After MAX_PAGES pages the list is cut: `complete` says so.
    """
    items = Items()
    separator = "&" if "?" in path else "?"
    for page in range(1, MAX_PAGES + 1):
        body = get(f"{path}{separator}per_page={PER_PAGE}&page={page}", dict if key else list)
        found = body.get(key) if key else body
        if not isinstance(found, list) or not all(isinstance(item, dict) for item in found):
            raise Unexpected(f"GET {path.split('?')[0]}: unexpected answer (not a list of objects)")
        items.extend(found)
        if len(found) < PER_PAGE:
            return items
    items.complete = False
    return items


def repository(given: str | None = None) -> str:
    """owner/name: the option, else REPO, GH_REPO or GITHUB_REPOSITORY, else the `origin` remote's URL."""
    # REPO: `make doctor REPO=owner/name` (make hands command-line variables to the command's environment).
    for candidate in (given, os.environ.get("REPO"), os.environ.get("GH_REPO"), os.environ.get("GITHUB_REPOSITORY")):
        if candidate:
            if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", candidate):
                raise ValueError(f"{candidate!r} is not a repository: give owner/name")
            return candidate
    url = git_output("remote", "get-url", "origin") or ""
    found = _REMOTE.search(url)
    if found is None:
        raise ValueError("which repository? no GitHub `origin` remote: give REPO=owner/name to make (or --repo)")
    return found.group(1)


@dataclass
class Plan:
    """What the account's plan allows this repository (GitHub's docs, "Managing environments for deployment")."""

    private: bool
    name: str  # free, pro, team, enterprise; "" when the API does not show it to this token

    @property
    def environments(self) -> bool | None:
        """Environments, their secrets and deployment branches: public repositories, or a paid plan."""
        if not self.private:
            return True
        return None if not self.name else self.name != "free"

    @property
    def reviewers(self) -> bool | None:
        """Required reviewers: public repositories, or GitHub Enterprise for private ones."""
        if not self.private:
            return True
        return None if not self.name else self.name.startswith("enterprise")

    def describe(self) -> str:
        if not self.private:
            return "public repository"
        return (
            f"private repository, {self.name} plan"
            if self.name
            else "private repository, plan not visible to this token"
        )


def repository_info(name: str) -> dict:
    """The repository's own answer (`repos/owner/name`), which every command reads first."""
    return get(f"repos/{name}", dict)


def plan(repo: dict) -> Plan:
    """The plan of the repository's owner: an organisation's (owners see it) or your own account's."""
    if not repo.get("private"):
        return Plan(False, "")
    owner = repo.get("owner") or {}
    try:
        if owner.get("type") == "Organization":
            account = get(f"orgs/{owner.get('login')}", dict)
        else:
            account = get("user", dict)
            account = account if account.get("login") == owner.get("login") else {}
    except (NotFound, Forbidden):
        account = {}
    return Plan(True, str((account.get("plan") or {}).get("name", "")).lower())
