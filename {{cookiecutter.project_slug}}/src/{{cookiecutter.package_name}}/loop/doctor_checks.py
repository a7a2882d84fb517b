"""The checks of `doctor`: each reads a part of the repository's settings and returns table rows.

A row says what the workflows expect, what GitHub answered, what happens because of it and the
exact fix. Status `off` breaks the loop as documented (doctor exits 1); `warn` weakens it or is
the most the plan allows (still exit 0); `unknown` means the token could not read it (exit 4).
"""

from __future__ import annotations

from pathlib import Path

from . import doctor_refs as refs
from . import github_api as api
from . import github_expected as expected
from .doctor_rows import Repo, Row

SETUP = "make github-setup"


def environments(repo: Repo) -> list[Row]:
    rows = []
    for name, branches in expected.environments(repo.default_branch).items():
        setting, want = f"environment {name}", f"exists, deployment branches {', '.join(branches)}"
        users = expected.ENVIRONMENTS[name][1]
        if repo.plan.environments is False:
            rows.append(
                Row(
                    setting,
                    "warn",
                    want,
                    f"not available ({repo.plan.describe()})",
                    f"{users}: `environment: {name}` protects nothing; its secrets cannot exist, so any write "
                    "credential would be a repository secret that every branch's workflow can read",
                    "make the repository public, or move to a paid plan; until then keep write secrets "
                    "out of the repository",
                )
            )
            continue
        rows.append(environment(repo, name, branches, setting, want, users))
        rows.extend(reviewers(repo, name))
    return rows


def environment(repo: Repo, name: str, branches: list[str], setting: str, want: str, users: str) -> Row:
    found = repo.get(f"environments/{name}")
    if found is None:
        return Row(
            setting, "off", want, "missing", f"{users}: GitHub creates it on first use with no branch limit", SETUP
        )
    if not (found.get("deployment_branch_policy") or {}).get("custom_branch_policies"):
        return Row(
            setting,
            "off",
            want,
            "every branch may deploy to it",
            "a workflow of any branch (a same-repository pull request's too) can name it and read its secrets",
            SETUP,
        )
    policies = api.get_all(f"repos/{repo.name}/environments/{name}/deployment-branch-policies", "branch_policies")
    have = sorted(str(p.get("name")) for p in policies)
    if have == branches:
        return Row(setting, "ok", want, f"deployment branches {', '.join(have)}")
    extra = sorted(set(have) - set(branches))
    consequence = (
        f"branches {', '.join(extra)} can use its secrets"
        if extra
        else "its jobs on the missing branch cannot start; auto-merge refuses to merge"
    )
    fix = f"remove {', '.join(extra)} under Settings → Environments → {name}" if extra else SETUP
    return Row(setting, "off", want, f"deployment branches {', '.join(have) or 'none'}", consequence, fix)


def reviewers(repo: Repo, name: str) -> list[Row]:
    """A row for required reviewers where they are configured (they are optional)."""
    found = repo.get(f"environments/{name}") or {}
    rules = [r for r in found.get("protection_rules") or [] if r.get("type") == "required_reviewers"]
    if not rules:
        return []
    count = len(rules[0].get("reviewers") or [])
    if repo.plan.reviewers is False:
        return [
            Row(
                f"environment {name} reviewers",
                "warn",
                "enforced",
                f"{count} configured, not enforced ({repo.plan.describe()})",
                "its jobs run without anyone's approval",
                "GitHub Enterprise, or a public repository, enforces them",
            )
        ]
    return [Row(f"environment {name} reviewers", "ok", "optional", f"{count} required reviewer(s)")]


def variables(repo: Repo) -> list[Row]:
    found = repo.variables()
    rows = variable_rows(repo, found)
    return rows or [Row("variables", "ok", "what the answers and the workflows need", f"{len(found)} set, none off")]


def variable_rows(repo: Repo, found: dict[str, str]) -> list[Row]:
    rows = []
    for name, value in expected.variables(repo.bake).items():
        ok = found.get(name) == value
        rows.append(
            Row(
                f"variable {name}",
                "ok" if ok else "off",
                "the answer mlflow_tracking_uri",
                "set" if ok else ("another value" if name in found else "missing"),
                "" if ok else "the workflows use the embedded registry on branch mlflow-registry, not the server",
                "" if ok else SETUP,
            )
        )
    for name in expected.cloud_variables(repo.bake):
        if name not in found:
            rows.append(
                Row(
                    f"variable {name}",
                    "off",
                    "set (the DVC remote's login)",
                    "missing",
                    "CI cannot log in to the DVC remote: register pushes nothing there",
                    f"gh variable set {name} --body <value> (docs/ci.md, Cloud trust policies)",
                )
            )
    for name, allowed in expected.CHOICES.items():
        if name in found and found[name] not in allowed:
            rows.append(
                Row(
                    f"variable {name}",
                    "off",
                    " or ".join(allowed),
                    "another value",
                    "the workflows read it as off",
                    f"gh variable set {name} --body {allowed[0]}",
                )
            )
    return rows


def secrets(repo: Repo) -> list[Row]:
    names = {s["name"] for s in api.get_all(f"repos/{repo.name}/actions/secrets", "secrets")}
    rows = []
    for name in sorted(names & set(expected.ENVIRONMENT_SECRETS)):
        where = expected.ENVIRONMENT_SECRETS[name]
        status = "warn" if repo.plan.environments is False else "off"
        rows.append(
            Row(
                f"secret {name}",
                status,
                f"a secret of environment {where}",
                "a repository secret",
                "every workflow of every branch, same-repository pull requests included, can read it",
                f"gh secret set {name} --env {where}; then gh secret delete {name}",
            )
        )
    if repo.plan.environments is not False:
        rows.extend(refresh_token(repo))
    return rows or [
        Row("secrets", "ok", "write credentials only in environments", f"{len(names)} repository secret(s)")
    ]


def refresh_token(repo: Repo) -> list[Row]:
    """REFRESH_TOKEN where auto-merge needs it (off without it) or the refresh would use it (warn)."""
    if repo.get("environments/data-refresh") is None:
        return []
    found = api.get_all(f"repos/{repo.name}/environments/data-refresh/secrets", "secrets")
    if any(s["name"] == "REFRESH_TOKEN" for s in found):
        return [Row("secret REFRESH_TOKEN", "ok", "in environment data-refresh", "present")]
    auto = repo.variables().get("REFRESH_AUTO_MERGE") == "true"
    retrain = repo.variables().get("RETRAIN_ON_DRIFT", str(repo.bake.get("retrain_on_drift", "no"))) == "yes"
    if not (auto or retrain):
        return []
    consequence = (
        "auto-merge stops: a merge with GITHUB_TOKEN would register nothing"
        if auto
        else "the data-refresh pull request starts no workflow: close and reopen it to gate it"
    )
    return [
        Row(
            "secret REFRESH_TOKEN",
            "off" if auto else "warn",
            "in environment data-refresh (a GitHub App's token)",
            "missing",
            consequence,
            "gh secret set REFRESH_TOKEN --env data-refresh (docs/ci.md, New data)",
        )
    ]


def actions(repo: Repo) -> list[Row]:
    rows = []
    if not (repo.get("actions/permissions") or {}).get("enabled", True):
        rows.append(
            Row(
                "GitHub Actions",
                "off",
                "enabled",
                "disabled",
                "no workflow runs",
                "Settings → Actions → General → Allow all actions",
            )
        )
    found = repo.get("actions/permissions/workflow") or {}
    can = found.get("can_approve_pull_request_reviews")
    rows.append(
        Row(
            "Actions may create pull requests",
            "ok" if can else "off",
            "allowed",
            "allowed" if can else "not allowed",
            "" if can else "refresh.yml, tune.yml and template-update.yml fail opening their pull request",
            "" if can else SETUP,
        )
    )
    default = found.get("default_workflow_permissions", "read")
    rows.append(
        Row(
            "default GITHUB_TOKEN permissions",
            "ok" if default == "read" else "warn",
            "read",
            default,
            "" if default == "read" else "a workflow without a permissions block gets write access",
            "" if default == "read" else "Settings → Actions → General → Workflow permissions → Read",
        )
    )
    return rows


def schedules(repo: Repo) -> list[Row]:
    states = {
        Path(w["path"]).name: w.get("state", "")
        for w in api.get_all(f"repos/{repo.name}/actions/workflows", "workflows")
    }
    rows = []
    for name in expected.scheduled_workflows(repo.root):
        state = states.get(name, "not on the default branch")
        status = "ok" if state == "active" else "off"
        rows.append(
            Row(
                f"schedule of {name}",
                status,
                "active",
                state,
                "" if status == "ok" else "its scheduled runs do not happen",
                "" if status == "ok" else f"gh workflow enable {name}",
            )
        )
        if repo.info.get("fork") and status == "ok":
            rows[-1] = Row(
                f"schedule of {name}",
                "warn",
                "active",
                "a fork",
                "GitHub runs no schedules in forks until you enable them under the Actions tab",
                "Actions → I understand my workflows, enable them",
            )
    return rows


CHECKS = {
    "environments": environments,
    "variables": variables,
    "secrets": secrets,
    "Actions permissions": actions,
    "schedules": schedules,
    "registry branch": refs.registry,
    "report refs": refs.pr_reports,
}
