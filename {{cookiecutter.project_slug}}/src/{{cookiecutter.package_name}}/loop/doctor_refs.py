"""The doctor's checks of git data on GitHub: the registry branch's health and size, leftover report refs."""

from __future__ import annotations

from . import github_expected as expected
from .doctor_rows import Repo, Row

MB = 1024 * 1024
# GitHub refuses a push with a file over 100 MB: the next `make registry-push` would fail.
FILE_LIMIT = 100 * MB
PR_LOOKUPS = 30  # pull requests looked up for leftover report refs, to spare the rate limit


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
    commit = branch["commit"]
    tree = repo.get(f"git/trees/{commit['sha']}?recursive=1") or {}
    blobs = [e for e in tree.get("tree", []) if e.get("type") == "blob"]
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
    rules = {r.get("type") for r in repo.get(f"rules/branches/{expected.REGISTRY_BRANCH}") or []}
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
    refs = repo.get(f"git/matching-refs/{expected.PR_REPORTS}/") or []
    numbers = sorted(int(n) for n in (r["ref"].rsplit("/", 1)[-1] for r in refs) if n.isdigit())
    left = [n for n in numbers[:PR_LOOKUPS] if (repo.get(f"pulls/{n}") or {}).get("state", "closed") == "closed"]
    if not left:
        return [Row("refs/pr-reports/<n>", "ok", "only of open pull requests", f"{len(numbers)} ref(s)")]
    names = " ".join(f"refs/{expected.PR_REPORTS}/{n}" for n in left)
    return [
        Row(
            "refs/pr-reports/<n>",
            "warn",
            "only of open pull requests",
            f"{len(left)} of closed pull requests",
            "their plot images stay in the repository",
            f"git push origin --delete {names}",
        )
    ]
