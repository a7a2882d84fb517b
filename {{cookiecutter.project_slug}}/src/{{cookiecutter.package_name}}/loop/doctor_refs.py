"""The doctor's checks of what runs on GitHub: Actions permissions, schedules, the registry branch, report refs."""

from __future__ import annotations

from pathlib import Path

from . import github_api as api
from . import github_expected as expected
from .doctor_rows import SETUP, Repo, Row

MB = 1024 * 1024
# GitHub refuses a push with a file over 100 MB: the next `make registry-push` would fail.
FILE_LIMIT = 100 * MB
PR_LOOKUPS = 30  # pull requests looked up for leftover report refs, to spare the rate limit


def actions(repo: Repo) -> list[Row]:
    rows = []
    permissions = repo.get("actions/permissions") or {}
    if not permissions.get("enabled", True):
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
    allowed = permissions.get("allowed_actions", "all")
    if allowed != "all":
        rows.append(
            Row(
                "allowed actions",
                "off" if allowed == "local_only" else "warn",
                "all",
                allowed,
                "the workflows use actions from GitHub and other owners: "
                + ("every workflow stops" if allowed == "local_only" else "one not on the allowed list stops its job"),
                "Settings → Actions → General → Allow all actions (or allow those the workflows name)",
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
    found = repo.all("actions/workflows", "workflows")
    if not all(isinstance(w.get("path"), str) for w in found):
        raise api.Unexpected(f"GET repos/{repo.name}/actions/workflows: unexpected answer (a workflow without path)")
    states = {Path(w["path"]).name: str(w.get("state", "")) for w in found}
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


def registry(repo: Repo) -> list[Row]:
    if repo.variables().get("MLFLOW_TRACKING_URI"):
        return []
    setting, branch = f"branch {expected.REGISTRY_BRANCH}", repo.get(f"branches/{expected.REGISTRY_BRANCH}")
    if branch is None:
        return [
            Row(
                setting,
                "ok",
                "one commit with mlflow.db",
                "not yet",
                "the first registration on the default branch creates it",
            )
        ]
    sha = (branch.get("commit") or {}).get("sha") if isinstance(branch.get("commit"), dict) else None
    if not isinstance(sha, str):
        raise api.Unexpected(f"GET branches/{expected.REGISTRY_BRANCH}: unexpected answer (no commit)")
    tree = repo.get(f"git/trees/{sha}?recursive=1") or {}
    entries = tree.get("tree", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "path" in e for e in entries):
        raise api.Unexpected(f"GET repos/{repo.name}/git/trees/{sha}: unexpected answer (no tree)")
    if tree.get("truncated"):
        return [
            Row(
                setting,
                "unknown",
                "one commit with mlflow.db",
                f"more than {len(entries)} entries: GitHub cut the list",
                "its size and files were not checked",
                "git fetch origin mlflow-registry and look at it",
            )
        ]
    blobs = [e for e in entries if e.get("type") == "blob" and isinstance(e.get("size", 0), int)]
    names, total = {e["path"] for e in blobs}, sum(e.get("size", 0) for e in blobs)
    largest = max(blobs, key=lambda e: e.get("size", 0), default={"path": "-", "size": 0})
    found = f"{total / MB:.1f} MB in {len(blobs)} files, largest {largest['path']} {largest['size'] / MB:.1f} MB"
    if not {"mlflow.db", "registry.json"} <= names:
        return [
            Row(
                setting,
                "off",
                "mlflow.db and registry.json",
                found,
                "make registry-pull finds no registry",
                "run make registry-push from a copy that has the registry",
            )
        ]
    if largest["size"] >= FILE_LIMIT:
        return [
            Row(
                setting,
                "off",
                "files under 100 MB",
                found,
                "GitHub refuses the next registry push",
                "set MLFLOW_TRACKING_URI to a tracking server (docs/ci.md, Scale path)",
            )
        ]
    rows = [Row(setting, "ok", "one commit with mlflow.db", found)]
    ruleset = repo.get(f"rules/branches/{expected.REGISTRY_BRANCH}", list) or []
    rules = {r.get("type") for r in ruleset if isinstance(r, dict)}
    if "deletion" not in rules:
        rows.append(
            Row(
                f"ruleset for {expected.REGISTRY_BRANCH}",
                "warn",
                "Restrict deletions",
                "none",
                "anyone with write access can delete the registry",
                "Settings → Rules → Rulesets (docs/ci.md)",
            )
        )
    return rows


def pr_reports(repo: Repo) -> list[Row]:
    refs = repo.get(f"git/matching-refs/{expected.PR_REPORTS}/", list) or []
    if not all(isinstance(r, dict) and isinstance(r.get("ref"), str) for r in refs):
        raise api.Unexpected(f"GET repos/{repo.name}/git/matching-refs/{expected.PR_REPORTS}/: unexpected answer")
    numbers = sorted(int(n) for n in (r["ref"].rsplit("/", 1)[-1] for r in refs) if n.isdigit())
    left = [n for n in numbers[:PR_LOOKUPS] if (repo.get(f"pulls/{n}") or {}).get("state", "closed") == "closed"]
    rows = []
    if len(numbers) > PR_LOOKUPS:
        rows.append(
            Row(
                "refs/pr-reports/<n> not looked up",
                "unknown",
                "only of open pull requests",
                f"{len(numbers) - PR_LOOKUPS} of {len(numbers)} ref(s) not checked (to spare the rate limit)",
                "",
                "git ls-remote origin 'refs/pr-reports/*'",
            )
        )
    if not left:
        return [Row("refs/pr-reports/<n>", "ok", "only of open pull requests", f"{len(numbers)} ref(s)"), *rows]
    names = " ".join(f"refs/{expected.PR_REPORTS}/{n}" for n in left)
    return [
        *rows,
        Row(
            "refs/pr-reports/<n>",
            "warn",
            "only of open pull requests",
            f"{len(left)} of closed pull requests",
            "their plot images stay in the repository",
            f"git push origin --delete {names}",
        ),
    ]
