"""The checks of `doctor`: each reads a part of the repository's settings and returns table rows.

A row says what the workflows expect, what GitHub answered, what happens because of it and the
exact fix. Status `off` breaks the loop as documented (doctor exits 1); `warn` weakens it or is
the most the plan allows (still exit 0); `unknown` means the token could not read it (exit 4).
"""

from __future__ import annotations

from collections.abc import Iterator

from . import doctor_refs as refs
from . import github_api as api
from . import github_expected as expected
from .doctor_rows import SETUP, Repo, Row, guarded

OWNER = "plan not visible: run `make doctor` as an owner"


def environments(repo: Repo) -> Iterator[Row]:
    for name, branches in expected.environments(repo.default_branch).items():
        setting, want = f"environment {name}", f"exists, deployment branches {', '.join(branches)}"
        users = expected.ENVIRONMENTS[name][1]
        if repo.plan.environments is False:
            yield Row(
                setting,
                "warn",
                want,
                f"not available ({repo.plan.describe()})",
                f"{users}: `environment: {name}` protects nothing; its secrets cannot exist, so any write "
                "credential would be a repository secret that every branch's workflow can read",
                "make the repository public, or move to a paid plan; until then keep write secrets "
                "out of the repository",
            )
            continue
        yield from guarded(setting, environment, repo, name, branches, setting, want, users)


def environment(repo: Repo, name: str, branches: list[str], setting: str, want: str, users: str) -> Iterator[Row]:
    found = repo.get(f"environments/{name}")
    if found is None:
        if repo.plan.environments is None:  # a private repository whose plan this token cannot see
            yield Row(setting, "unknown", want, "missing, or not available to this plan", OWNER, OWNER)
        else:
            yield Row(
                setting, "off", want, "missing", f"{users}: GitHub creates it on first use with no branch limit", SETUP
            )
        return
    policy = found.get("deployment_branch_policy") or {}
    if not isinstance(policy, dict):
        raise api.Unexpected(f"GET environments/{name}: unexpected answer (deployment_branch_policy)")
    if policy.get("protected_branches"):
        yield protected(repo, branches, setting, want)
    elif not policy.get("custom_branch_policies"):
        yield Row(
            setting,
            "off",
            want,
            "every branch may deploy to it",
            "a workflow of any branch (a same-repository pull request's too) can name it and read its secrets",
            SETUP,
        )
    else:
        yield chosen_branches(repo, name, branches, setting, want)
    yield from reviewers(repo, name, found)


def protected(repo: Repo, branches: list[str], setting: str, want: str) -> Row:
    """An environment limited to protected branches: as good as chosen ones when its branches are protected."""
    open_ = [b for b in branches if not (repo.get(f"branches/{b}") or {}).get("protected")]
    if not open_:
        return Row(setting, "ok", want, f"protected branches only; {', '.join(branches)} protected")
    return Row(
        setting,
        "warn",
        want,
        "protected branches only",
        f"{', '.join(open_)} not known to be protected: its jobs cannot use the environment",
        f"protect {', '.join(open_)} (Settings → Branches), or choose selected branches",
    )


def chosen_branches(repo: Repo, name: str, branches: list[str], setting: str, want: str) -> Row:
    policies = repo.all(f"environments/{name}/deployment-branch-policies", "branch_policies")
    # A tag policy named like a branch does not let that branch deploy.
    have = sorted(str(p.get("name")) for p in policies if p.get("type", "branch") == "branch")
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


def reviewers(repo: Repo, name: str, found: dict) -> list[Row]:
    """A row for required reviewers where they are configured (they are optional)."""
    rules = [r for r in found.get("protection_rules") or [] if r.get("type") == "required_reviewers"]
    if not rules:
        return []
    count, setting = len(rules[0].get("reviewers") or []), f"environment {name} reviewers"
    if repo.plan.reviewers is None:
        return [Row(setting, "unknown", "enforced", f"{count} configured; {OWNER}", "", OWNER)]
    if repo.plan.reviewers is False:
        return [
            Row(
                setting,
                "warn",
                "enforced",
                f"{count} configured, not enforced ({repo.plan.describe()})",
                "its jobs run without anyone's approval",
                "GitHub Enterprise, or a public repository, enforces them",
            )
        ]
    return [Row(setting, "ok", "optional", f"{count} required reviewer(s)")]


def variables(repo: Repo) -> list[Row]:
    """The variables the answers imply, the cloud login and the choices (organisation variables count)."""
    found = repo.variables()
    rows = variable_rows(repo, found)
    return rows or [Row("variables", "ok", "what the answers and the workflows need", f"{len(found)} set, none off")]


def variable_rows(repo: Repo, found: dict[str, str]) -> list[Row]:
    rows = []
    for name, value in expected.variables(repo.bake).items():
        if found.get(name) == value:
            rows.append(Row(f"variable {name}", "ok", "the answer mlflow_tracking_uri", "set"))
        elif name in found:  # github-setup keeps a value you chose: say which server the workflows use
            rows.append(
                Row(
                    f"variable {name}",
                    "warn",
                    "the answer mlflow_tracking_uri",
                    "another server than the answer",
                    f"the workflows use {found[name]}",
                    f"gh variable set {name} --body {value} (if {found[name]} is wrong)",
                )
            )
        else:
            rows.append(
                Row(
                    f"variable {name}",
                    "off",
                    "the answer mlflow_tracking_uri",
                    "missing",
                    "the workflows use the embedded registry on branch mlflow-registry, not the server",
                    SETUP,
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
    if repo.plan.environments is False and found.get("REFRESH_AUTO_MERGE") == "true":
        rows.append(
            Row(
                "variable REFRESH_AUTO_MERGE",
                "warn",
                "false on this plan",
                "true",
                "auto-merge always refuses here: the plan has no environment data-refresh to hold its token",
                "gh variable set REFRESH_AUTO_MERGE --body false",
            )
        )
    return rows


def secrets(repo: Repo) -> Iterator[Row]:
    names = {str(s.get("name")) for s in repo.all("actions/secrets", "secrets")}
    rows = []
    for name in sorted(names & set(expected.ENVIRONMENT_SECRETS)):
        where = expected.ENVIRONMENT_SECRETS[name]
        rows.append(
            Row(
                f"secret {name}",
                "off" if repo.plan.environments else "warn",  # no environment to move it to, or not known
                f"a secret of environment {where}",
                "a repository secret",
                "every workflow of every branch, same-repository pull requests included, can read it",
                f"gh secret set {name} --env {where}; then gh secret delete {name}",
            )
        )
    yield from rows or [
        Row("secrets", "ok", "write credentials only in environments", f"{len(names)} repository secret(s)")
    ]
    if expected.variables(repo.bake) and not names & set(READ_SECRETS):
        yield Row(
            "secrets MLFLOW_READ_*",
            "warn",
            "repository secrets, read-only (with a tracking server)",
            "none",
            "the training, drift and score jobs reach the server without credentials",
            "gh secret set MLFLOW_READ_USERNAME, MLFLOW_READ_PASSWORD (or MLFLOW_READ_TOKEN); docs/ci.md, Settings",
        )
    if repo.plan.environments is not False:
        yield from guarded("secrets of environment model-registry", tracking_secrets, repo)
        yield from guarded("secrets of environment data-refresh", refresh_token, repo)


READ_SECRETS = ("MLFLOW_READ_USERNAME", "MLFLOW_READ_PASSWORD", "MLFLOW_READ_TOKEN")
WRITE_SECRETS = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


def tracking_secrets(repo: Repo) -> list[Row]:
    """With a tracking server, the model-registry environment's login to it (names only)."""
    if not expected.variables(repo.bake) or repo.get("environments/model-registry") is None:
        return []
    names = {str(s.get("name")) for s in repo.all("environments/model-registry/secrets", "secrets")}
    if names & set(WRITE_SECRETS):
        return [Row("secrets MLFLOW_TRACKING_*", "ok", "in environment model-registry", "present")]
    return [
        Row(
            "secrets MLFLOW_TRACKING_*",
            "warn",
            "in environment model-registry (with a tracking server)",
            "none",
            "register, promote and rollback write without credentials: only a server open to anyone accepts it",
            "gh secret set MLFLOW_TRACKING_USERNAME --env model-registry (and _PASSWORD, or _TOKEN)",
        )
    ]


def refresh_token(repo: Repo) -> list[Row]:
    """REFRESH_TOKEN where auto-merge needs it (off without it) or the refresh would use it (warn)."""
    if repo.get("environments/data-refresh") is None:
        return []
    found = repo.all("environments/data-refresh/secrets", "secrets")
    if any(s.get("name") == "REFRESH_TOKEN" for s in found):
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


CHECKS = {
    "environments": environments,
    "variables": variables,
    "secrets": secrets,
    "Actions permissions": refs.actions,
    "schedules": refs.schedules,
    "registry branch": refs.registry,
    "report refs": refs.pr_reports,
}
