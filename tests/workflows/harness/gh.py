"""Fake GitHub CLI for rehearsals: `gh workflow run|enable`, `gh pr list|create|edit|merge`, a few `gh api` reads
and `gh api --include` GETs answered from recorded JSON files (the project's `make doctor`).

The rehearsal puts a `gh` wrapper on every job's PATH (GitHub's runners have gh installed) that
runs this file with the state file and the bare repository. It checks what gh and the API
would check (a token, the repository, the workflow file on that ref, its workflow_dispatch
trigger, the token's `actions: write`; for pull requests `pull-requests: read|write` and a head
branch that exists), records the call in the state, and refuses every other subcommand or
option, so that a workflow cannot pass by calling something the rehearsal does not model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

NO_TOKEN = (
    "gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable. "
    "Example:\n  env:\n    GH_TOKEN: ${{ github.token }}"
)


def fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def workflow_file(origin: str, ref: str, workflow: str) -> str | None:
    """The workflow's YAML on `ref` of the repository, or None if it does not exist there."""
    found = subprocess.run(
        ["git", "-C", origin, "show", f"{ref}:.github/workflows/{workflow}"], capture_output=True, text=True
    )
    return found.stdout if found.returncode == 0 else None


def has_dispatch(text: str) -> bool:
    document = yaml.load(text, Loader=yaml.BaseLoader)  # `on` stays a string key, as GitHub reads it
    triggers = document.get("on", {})
    return "workflow_dispatch" in (triggers if isinstance(triggers, dict | list) else [triggers])


SERVER = "https://github.com"
PR_LIST_JQ = "map(select(.isCrossRepository | not)) | .[0].number"  # the one query the project's Makefile makes


class Refused(Exception):
    """What gh prints and its exit code, for a call GitHub would refuse."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def authorised(state: dict, scope: str, level: str) -> dict:
    """Return the grant of the job's token, or raise Refused as gh would."""
    token = os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")
    if not token:
        raise Refused(NO_TOKEN, 4)
    repository = os.environ.get("GH_REPO")
    if repository and repository != state["repository"]:
        raise Refused(f"HTTP 404: Not Found (https://api.github.com/repos/{repository})")
    grant = state["tokens"].get(token)
    if grant is None:
        raise Refused("HTTP 401: Bad credentials (https://api.github.com/graphql)")
    allowed = {"read": {"read", "write"}, "write": {"write"}}[level]
    if grant["permissions"].get(scope) not in allowed:
        raise Refused("GraphQL: Resource not accessible by integration")
    return grant


def pull_requests(state: dict, origin: str, args: list[str]) -> str:
    """`gh pr list|create|edit` with the options the project uses; return what gh prints."""
    command = argparse.ArgumentParser(prog=f"gh pr {args[0]}", exit_on_error=False)
    if args[0] == "list":
        command.add_argument("--head", required=True)
        command.add_argument("--state", choices=["open"], required=True)
        # Only the project's own pull requests: a fork's branch of the same name is someone else's.
        command.add_argument("--json", choices=["number,isCrossRepository"], required=True)
        command.add_argument("--jq", choices=[PR_LIST_JQ], required=True)
    elif args[0] == "merge":
        command.add_argument("number", type=int)
        command.add_argument("--merge", action="store_true", required=True)
        command.add_argument("--match-head-commit", required=True)
    elif args[0] == "create":
        command.add_argument("--head", required=True)
        command.add_argument("--title", required=True)
        command.add_argument("--body-file", required=True)
    else:
        command.add_argument("number", type=int)
        command.add_argument("--body-file", required=True)
    try:
        options = command.parse_args(args[1:])
    except (argparse.ArgumentError, SystemExit) as error:
        raise Refused(f"gh pr {' '.join(args)}: not modelled by the rehearsal ({error})") from None
    grant = authorised(state, "pull-requests", "read" if args[0] == "list" else "write")
    if args[0] == "merge":
        return merge(state, origin, options.number, options.match_head_commit, authorised(state, "contents", "write"))
    pulls = [issue for issue in state["issues"] if "pull_request" in issue]
    if args[0] == "list":
        found = [pr for pr in pulls if pr["pull_request"]["head"] == options.head and pr["state"] == "open"
                 and not pr["pull_request"].get("cross_repository")]  # fmt: skip
        return f"{found[0]['number']}\n" if found else ""
    body = Path(options.body_file).read_text(encoding="utf-8")
    if args[0] == "edit":
        [pull] = [pr for pr in pulls if pr["number"] == options.number] or [None]
        if pull is None:
            raise Refused(f"GraphQL: Could not resolve to a PullRequest with the number of {options.number}.")
        pull["body"] = body
        number = options.number
    else:
        heads = subprocess.run(["git", "-C", origin, "rev-parse", "--verify", "--quiet", f"refs/heads/{options.head}"])
        if heads.returncode != 0:
            raise Refused("pull request create failed: GraphQL: Head sha can't be blank, Head ref must be a branch")
        if any(pr["pull_request"]["head"] == options.head and pr["state"] == "open" for pr in pulls):
            raise Refused(f'a pull request for branch "{options.head}" into branch "main" already exists')
        number = state["next_number"]
        state["next_number"] += 1
        state["issues"].append(
            {
                "number": number,
                "title": options.title,
                "body": body,
                "state": "open",
                "labels": [],
                "user": {"login": grant.get("login", "github-actions[bot]"), "type": "Bot"},
                "pull_request": {
                    "url": f"https://github.com/{state['repository']}/pull/{number}",
                    "head": options.head,
                },
            }
        )
    state["calls"].append({"method": f"gh pr {args[0]}", "params": {"number": number}, "job": grant["job"]})
    return f"{SERVER}/{state['repository']}/pull/{number}\n"


def merge(state: dict, origin: str, number: int, head_sha: str, grant: dict) -> str:
    """`gh pr merge N --merge --match-head-commit SHA`: a merge commit on the default branch, as GitHub makes."""
    [pull] = [pr for pr in state["issues"] if "pull_request" in pr and pr["number"] == number] or [None]
    if pull is None or pull["state"] != "open":
        raise Refused(f"GraphQL: Pull request #{number} is not open or does not exist (mergePullRequest)")
    branch = pull["pull_request"]["head"]

    def rev(ref: str) -> str:
        return subprocess.run(["git", "-C", origin, "rev-parse", ref], capture_output=True, text=True).stdout.strip()

    head, base = rev(f"refs/heads/{branch}"), rev("refs/heads/main")
    if head != head_sha:
        raise Refused("GraphQL: Head branch was modified. Review and try the merge again. (mergePullRequest)")
    if subprocess.run(["git", "-C", origin, "merge-base", "--is-ancestor", base, head]).returncode != 0:
        raise Refused("GraphQL: Pull request is not mergeable (mergePullRequest)")  # the rehearsal models no conflicts
    message = f"Merge pull request #{number} from {state['repository'].split('/')[0]}/{branch}"
    github = {f"GIT_{who}_{what}": value for who in ("AUTHOR", "COMMITTER")
              for what, value in (("NAME", "GitHub"), ("EMAIL", "noreply@github.com"))}  # fmt: skip
    commit = subprocess.run(["git", "-C", origin, "commit-tree", f"{head}^{{tree}}", "-p", base, "-p", head,
                             "-m", message], capture_output=True, text=True, check=True,
                            env={**os.environ, **github}).stdout.strip()  # fmt: skip
    subprocess.run(["git", "-C", origin, "update-ref", "refs/heads/main", commit, base], check=True)
    pull["state"], pull["pull_request"]["merged_by"] = "closed", grant.get("login")
    state["calls"].append({"method": "gh pr merge", "params": {"number": number, "sha": head}, "job": grant["job"]})
    return f"✓ Merged pull request #{number} ({pull['title']})\n"


# The `gh api` calls the project's workflows make, each with the one --jq filter they use.
API_JQ = {
    "environment": ".deployment_branch_policy.custom_branch_policies // false",
    "branch_policies": '[.branch_policies[].name] | sort | join(",")',
    "files": ".[].filename",
}


# What a GITHUB_TOKEN (every token of a rehearsal) may not read, as GitHub refuses it: secrets'
# names and Actions permissions need an admin, /user needs a user's token.
ADMIN_ONLY = r"user|repos/[^/]+/[^/]+/(actions/permissions(/.*)?|actions/secrets|environments/[^/]+/secrets)"
NOT_FOR_THIS_TOKEN = {"message": "Resource not accessible by integration"}


def recorded(state: dict, args: list[str]) -> str:
    """`gh api --include --method GET <path>`: the answer recorded for `path` in the folder
    state["api_answers"] (`repo.json` is repos/<owner>/<name>, `repo/<rest>.json` what is below it,
    other paths as they are; the query is ignored), printed with its status line as gh prints it.
    state["api_failures"] maps a path's substring to {"status", "body"} answered instead. Paths only
    an admin or a user may read are refused (403) as GitHub refuses them to GITHUB_TOKEN, and an
    organisation's `plan` is left out (GitHub shows it to owners only)."""
    import re

    if len(args) != 4 or args[:2] != ["--include", "--method"] or args[2] != "GET":
        raise Refused(f"gh api {' '.join(args)}: not modelled by the rehearsal (only GET with --include)")
    authorised(state, "contents", "read")
    path = args[3].split("?")[0].strip("/")
    found = re.fullmatch(rf"repos/{re.escape(state['repository'])}(/.*)?", path)
    name = "repo" + (found.group(1) or "") if found else path
    failures = [f for part, f in state.get("api_failures", {}).items() if part in path]
    file = Path(state.get("api_answers", "/nonexistent")) / f"{name}.json"
    if failures:
        status, body = failures[0]["status"], failures[0].get("body", {})
    elif re.fullmatch(ADMIN_ONLY, path):
        status, body = 403, NOT_FOR_THIS_TOKEN
    elif file.is_file():
        status, body = 200, json.loads(file.read_text(encoding="utf-8"))
        if path.startswith("orgs/") and isinstance(body, dict):
            body.pop("plan", None)
    else:
        status, body = 404, {"message": "Not Found"}
    print(f"HTTP/2.0 {status} -\r\nContent-Type: application/json\r\n\r\n{json.dumps(body)}", end="")
    if status >= 400:
        raise Refused(f"gh: {body.get('message', '')} (HTTP {status})")
    return ""


def api(state: dict, origin: str, args: list[str]) -> str:
    """`gh api <path> [--paginate] --jq <filter>` for an environment, its branch policies and a pull's files."""
    import re

    if args[:1] == ["--include"]:
        return recorded(state, args)
    command = argparse.ArgumentParser(prog="gh api", exit_on_error=False)
    command.add_argument("path")
    command.add_argument("--paginate", action="store_true")
    command.add_argument("--jq", required=True)
    try:
        options = command.parse_args(args)
    except (argparse.ArgumentError, SystemExit) as error:
        raise Refused(f"gh api {' '.join(args)}: not modelled by the rehearsal ({error})") from None
    repository = re.escape(state["repository"])
    environment = re.fullmatch(rf"repos/{repository}/environments/([^/]+)(/deployment-branch-policies)?", options.path)
    files = re.fullmatch(rf"repos/{repository}/pulls/([0-9]+)/files", options.path)
    if environment:
        authorised(state, "contents", "read")  # anyone who can read the repository
        kind = "branch_policies" if environment.group(2) else "environment"
        found = state.get("environments", {}).get(environment.group(1))
        if found is None:
            raise Refused("gh: Not Found (HTTP 404)")
        branches = found["branches"]
        if options.jq != API_JQ[kind]:
            raise Refused(f"gh api --jq {options.jq!r}: not modelled by the rehearsal")
        if kind == "environment":
            return ("true" if branches is not None else "false") + "\n"
        return ",".join(sorted(branches or [])) + "\n"
    if files:
        authorised(state, "pull-requests", "read")
        [pull] = [pr for pr in state["issues"] if "pull_request" in pr and pr["number"] == int(files.group(1))] or [
            None
        ]
        if pull is None:
            raise Refused("gh: Not Found (HTTP 404)")
        if options.jq != API_JQ["files"]:
            raise Refused(f"gh api --jq {options.jq!r}: not modelled by the rehearsal")
        head = f"refs/heads/{pull['pull_request']['head']}"
        changed = subprocess.run(["git", "-C", origin, "diff", "--name-only", f"refs/heads/main...{head}"],
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
        return changed
    raise Refused(f"gh api {options.path}: not modelled by the rehearsal")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gh")
    parser.add_argument("--state", required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--default-branch", default="main")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ours = parser.parse_args(argv)
    args = ours.args[1:] if ours.args[:1] == ["--"] else ours.args
    if args[:1] == ["api"] or (
        args[:1] == ["pr"] and len(args) >= 2 and args[1] in {"list", "create", "edit", "merge"}
    ):
        state_path = Path(ours.state)
        state = json.loads(state_path.read_text(encoding="utf-8"))
        try:
            printed = (
                api(state, ours.origin, args[1:]) if args[0] == "api" else pull_requests(state, ours.origin, args[1:])
            )
        except Refused as refused:
            return fail(str(refused), refused.code)
        state_path.write_text(json.dumps(state, indent=2), encoding="utf-8")
        print(printed, end="")
        return 0
    if args[:1] != ["workflow"] or len(args) < 3 or args[1] not in {"run", "enable"}:
        return fail(
            f"gh {' '.join(args)}: not modelled by the rehearsal "
            "(only `workflow run`, `workflow enable`, `pr list|create|edit|merge` and `api` as API_JQ lists)"
        )

    command = argparse.ArgumentParser(prog=f"gh workflow {args[1]}")
    command.add_argument("workflow")
    command.add_argument("--repo", "-R")
    if args[1] == "run":
        command.add_argument("--ref", "-r")
        command.add_argument("--field", "-f", "--raw-field", "-F", action="append", default=[])
    options = command.parse_args(args[2:])

    token = os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")
    if not token:
        return fail(NO_TOKEN, 4)
    state_path = Path(ours.state)
    state = json.loads(state_path.read_text(encoding="utf-8"))
    repository = options.repo or os.environ.get("GH_REPO")
    if not repository:
        return fail("failed to run git: fatal: not a git repository (or any of the parent directories): .git")
    if repository != state["repository"]:
        return fail(f"HTTP 404: Not Found (https://api.github.com/repos/{repository})")
    grant = state["tokens"].get(token)
    if grant is None:
        return fail("HTTP 401: Bad credentials (https://api.github.com/graphql)")
    if grant["permissions"].get("actions") != "write":
        return fail("HTTP 403: Resource not accessible by integration")

    ref = getattr(options, "ref", None) or ours.default_branch
    text = workflow_file(ours.origin, ref, options.workflow)
    if text is None:
        return fail(f"could not find any workflows named {options.workflow}")
    call = {"workflow": options.workflow, "job": grant["job"]}
    if args[1] == "run":
        if not has_dispatch(text):
            return fail("HTTP 422: Workflow does not have 'workflow_dispatch' trigger")
        fields = dict(field.split("=", 1) for field in options.field)
        state["dispatches"].append({**call, "ref": ref, "inputs": fields})
        print(f"✓ Created workflow_dispatch event for {options.workflow} at {ref}")
    else:
        state["enabled"].append(call)
    state["calls"].append({"method": f"gh workflow {args[1]}", "params": call, "job": grant["job"]})
    state_path.write_text(json.dumps(state, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
