"""Make the repository's settings on GitHub what the workflows expect: `make github-setup`.

With `gh` logged in as an admin of the repository, it creates the environments with their
deployment branches (model-registry and tuning: the default branch; data-refresh: the default
branch and data-refresh), sets the variables the bake answers imply, and lets GitHub Actions
create pull requests. It changes only what differs: run it again and it changes nothing. What
it cannot do (the plan has no environments, a permission is missing, a value only you know) is
printed with the reason, and the command exits 1. `--dry-run` reads the settings and prints the
calls that would change them, changing nothing. Exit 2: bad usage; 4: the API could not answer.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import github_api as api
from . import github_expected as expected
from .errors import fail, printable

CUSTOM = {"protected_branches": False, "custom_branch_policies": True}


class Setup:
    """Changes to one repository, made or (dry run) only printed; what could not be done is kept."""

    def __init__(self, repo: str, dry_run: bool, say: Callable[[str], None] = print) -> None:
        self.repo, self.dry_run, self.say = repo, dry_run, say
        self.missed: list[str] = []

    def change(self, what: str, method: str, path: str, body: Any = None) -> bool:
        """Make one change, or print it in a dry run; a refusal is noted (False), a dead API stops everything."""
        full = f"repos/{self.repo}/{path}" if path else f"repos/{self.repo}"
        if self.dry_run:
            self.say(printable(f"would {what}:"))
            for line in command(method, full, body):
                self.say(line)  # not folded: json.dumps escapes control characters, and spaces are the body's
            return True
        try:
            api.call(full, method, body)
        except (api.NotFound, api.Forbidden) as refused:
            self.could_not(what, str(refused))
            return False
        except (api.RateLimited, api.Unexpected):
            raise
        except api.ApiError as error:
            if not error.status or error.status >= 500:
                raise
            self.could_not(what, str(error))  # 409, 422: a policy or a value GitHub refuses
            return False
        self.say(printable(f"done: {what}"))
        return True

    def could_not(self, what: str, why: str) -> None:
        self.missed.append(what)
        self.say(printable(f"could not {what}: {why}"))

    def ok(self, what: str) -> None:
        self.say(printable(f"ok: {what}"))

    def get(self, path: str) -> Any:
        """A read of this repository's settings; None when it does not exist (a refusal is raised)."""
        try:
            return api.get(f"repos/{self.repo}/{path}", dict)
        except api.NotFound:
            return None


def command(method: str, path: str, body: Any) -> list[str]:
    """The gh command a dry run prints, to paste into a shell: the body as a quoted here-document."""
    line = f"  gh api --method {method} {shlex.quote(path)}"
    if body is None:
        return [line]
    return [f"{line} --input - <<'JSON'", json.dumps(body), "JSON"]


def step(setup: Setup, what: str, do: Callable[..., None], *args: Any) -> None:
    """One step of the set-up; a read the token may not make is reported and the next step goes on."""
    try:
        do(setup, *args)
    except api.Forbidden as refused:
        setup.could_not(what, f"{refused} (needs admin)")


def kept_rules(environment: dict) -> dict:
    """The reviewers and wait timer an existing environment has, so that updating it keeps them."""
    kept: dict[str, Any] = {}
    for rule in environment.get("protection_rules") or []:
        if rule.get("type") == "required_reviewers":
            kept["reviewers"] = [{"type": r["type"], "id": r["reviewer"]["id"]} for r in rule.get("reviewers", [])]
            kept["prevent_self_review"] = bool(rule.get("prevent_self_review"))
        elif rule.get("type") == "wait_timer":
            kept["wait_timer"] = rule.get("wait_timer", 0)
    return kept


def environment(setup: Setup, name: str, branches: list[str]) -> None:
    """Create the environment, limit it to its branches, and add the missing branch rules."""
    found = setup.get(f"environments/{name}")
    policy = (found or {}).get("deployment_branch_policy") or {}
    if policy.get("protected_branches"):
        setup.ok(f"environment {name} is limited to protected branches: left as you chose")
        return
    limited = bool(policy.get("custom_branch_policies"))
    if limited:
        setup.ok(f"environment {name} exists and is limited to chosen branches")
    else:
        verb = "limit environment" if found else "create environment"
        body = {**kept_rules(found or {}), "deployment_branch_policy": CUSTOM}
        if not setup.change(f"{verb} {name} to selected deployment branches", "PUT", f"environments/{name}", body):
            return  # no environment to add branches to
    have = set()
    if limited:
        policies = api.get_all(f"repos/{setup.repo}/environments/{name}/deployment-branch-policies", "branch_policies")
        have = {policy.get("name") for policy in policies if policy.get("type", "branch") == "branch"}
    for branch in branches:
        if branch in have:
            setup.ok(f"environment {name} allows branch {branch}")
        else:
            rule = {"name": branch, "type": "branch"}
            setup.change(
                f"allow branch {branch} in environment {name}",
                "POST",
                f"environments/{name}/deployment-branch-policies",
                rule,
            )
    for other in sorted(have - set(branches)):
        setup.could_not(
            f"leave only {', '.join(branches)} in environment {name}",
            f"it also allows {other!r}; remove that rule under Settings → Environments → {name} if it is not yours",
        )


def variables(setup: Setup, bake: dict) -> None:
    """Set the variables the answers imply; a variable already set to another value is yours and is kept."""
    for name, value in expected.variables(bake).items():
        found = setup.get(f"actions/variables/{name}")
        if found is None:
            setup.change(f"set variable {name}", "POST", "actions/variables", {"name": name, "value": value})
        elif found.get("value") == value:
            setup.ok(f"variable {name} is set")
        else:
            setup.could_not(f"set variable {name} to the answer {value!r}", "it holds another value, kept as yours")
    for name in expected.cloud_variables(bake):
        if setup.get(f"actions/variables/{name}") is None:
            setup.could_not(
                f"set variable {name}",
                f"its value is yours to give: gh variable set {name} --body <value> (docs/ci.md, Cloud trust policies)",
            )


def pull_requests(setup: Setup) -> None:
    """Let GitHub Actions create pull requests (refresh.yml, tune.yml and template-update.yml open them)."""
    found = setup.get("actions/permissions/workflow") or {}
    if found.get("can_approve_pull_request_reviews"):
        setup.ok("GitHub Actions may create and approve pull requests")
        return
    body = {
        "default_workflow_permissions": found.get("default_workflow_permissions", "read"),
        "can_approve_pull_request_reviews": True,
    }
    setup.change(
        "allow GitHub Actions to create and approve pull requests", "PUT", "actions/permissions/workflow", body
    )


def run(repo: str, dry_run: bool, root: Path = Path(".")) -> int:
    """Set the repository up; 0 when everything is as the workflows expect, 1 when something could not be done."""
    bake = expected.answers(root)
    setup = Setup(repo, dry_run)
    found = api.repository_info(repo)
    plan = api.plan(found)
    setup.say(printable(f"{repo}: {plan.describe()}; default branch {found.get('default_branch', 'main')}"))
    if plan.environments is False:
        setup.could_not(
            "create the environments model-registry, data-refresh and tuning",
            "a private repository on the free plan has none: make it public or move to a paid plan "
            "(docs/ci.md, GitHub set-up and doctor)",
        )
    else:
        for name, branches in expected.environments(found.get("default_branch", "main")).items():
            step(setup, f"read environment {name}", environment, name, branches)
    step(setup, "read the variables", variables, bake)
    step(setup, "read the Actions permissions", pull_requests)
    setup.say(
        "yours to add (names only here; `make doctor` checks them): the secret REFRESH_TOKEN of environment "
        "data-refresh (a GitHub App's token) and, with a tracking server, MLFLOW_TRACKING_* of environment "
        "model-registry (docs/ci.md, Settings)"
    )
    return 1 if setup.missed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="github-setup", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="owner/name (default: GH_REPO, else the origin remote)")
    parser.add_argument("--dry-run", action="store_true", help="print the calls that would change settings")
    args = parser.parse_args(argv)
    try:
        return run(api.repository(args.repo), args.dry_run)
    except (ValueError, FileNotFoundError) as error:
        return fail(error, 2)
    except api.ApiError as error:
        return fail(error)
