"""The stand-in repository's pre-receive hook: a push from a job needs a token that may write contents.

On GitHub a job pushes over HTTPS with a token (actions/checkout with persist-credentials: false
leaves none behind); here the job pushes to a local bare repository, and this hook refuses what
GitHub would: no token, an unknown one, or one without `contents: write`. Pushes from outside a
job (the test playing a developer) are accepted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(state_path: str) -> int:
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return 0
    state = json.loads(Path(state_path).read_text(encoding="utf-8"))
    token = os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")
    if not token:
        print("fatal: could not read Username for 'https://github.com': terminal prompts disabled", file=sys.stderr)
        return 1
    grant = state["tokens"].get(token)
    if grant is None:
        print("remote: Invalid username or token. Password authentication is not supported.", file=sys.stderr)
        return 1
    if grant["permissions"].get("contents") != "write":
        print(f"remote: Permission to {state['repository']}.git denied to github-actions[bot].", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
