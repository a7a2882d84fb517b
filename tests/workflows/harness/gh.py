"""Fake GitHub CLI for rehearsals: records `gh workflow run|enable` instead of calling GitHub.

The rehearsal puts a `gh` wrapper on every job's PATH (GitHub's runners have gh installed) that
runs this file with the state file and the bare repository. It checks what gh and the API
would check (a token, the repository, the workflow file on that ref, its workflow_dispatch
trigger, the token's `actions: write`), records the call in the state, and refuses every other
subcommand so that a workflow cannot pass by calling something the rehearsal does not model.
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gh")
    parser.add_argument("--state", required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--default-branch", default="main")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ours = parser.parse_args(argv)
    args = ours.args[1:] if ours.args[:1] == ["--"] else ours.args
    if args[:1] != ["workflow"] or len(args) < 3 or args[1] not in {"run", "enable"}:
        return fail(f"gh {' '.join(args)}: not modelled by the rehearsal (only `workflow run` and `workflow enable`)")

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
