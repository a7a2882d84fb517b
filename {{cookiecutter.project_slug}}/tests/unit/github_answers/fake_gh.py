"""A stand-in for `gh api --include`: replays recorded answers and records every call.

Environment: GH_ANSWERS, the folder of one recorded repository (`repo.json` is
`repos/<owner>/<name>`, `repo/<rest>.json` is `repos/<owner>/<name>/<rest>`, other paths as
they are: `user.json`, `orgs/<org>.json`; the query string is ignored); GH_CALLS, a file that
gets one JSON line per call; GH_FAIL, optional JSON {"<path substring>": {"status": ...,
"headers": {...}, "body": {...}}} or {"<path substring>": "network"} to answer an error instead
(a key "PUT <path substring>" answers only that method; "<path>$" matches only a path ending there; "text"
instead of "body" answers it as it is, not as JSON). `--include` may be left out, as a person does.
A GET with no recorded answer is a 404; a write with none succeeds with an empty body.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

REASONS = {200: "OK", 201: "Created", 204: "No Content", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           409: "Conflict", 422: "Unprocessable Entity", 429: "Too Many Requests", 502: "Bad Gateway"}  # fmt: skip


def recorded(path: str) -> Path:
    """The file holding the answer to `path`."""
    bare = path.split("?")[0].strip("/")
    found = re.fullmatch(r"repos/[^/]+/[^/]+(/.*)?", bare)
    name = ("repo" + (found.group(1) or "")) if found else bare
    return Path(os.environ["GH_ANSWERS"]) / f"{name}.json"


class Raw(str):
    """A body answered as it is (an HTML page, a broken JSON text)."""


def answer(method: str, path: str) -> tuple[int, dict, object] | None:
    """Status, headers and body for the call; None when the network is down."""
    for key, failure in json.loads(os.environ.get("GH_FAIL") or "{}").items():
        verb, _, part = key.rpartition(" ")
        bare = path.split("?")[0]
        if (bare.endswith(part[:-1]) if part.endswith("$") else part in path) and verb in ("", method):
            if failure == "network":
                return None
            if "text" in failure:
                return failure["status"], failure.get("headers", {}), Raw(failure["text"])
            return failure["status"], failure.get("headers", {}), failure.get("body", {"message": "failed"})
    file = recorded(path)
    if file.is_file():
        return (200, {}, json.loads(file.read_text(encoding="utf-8"))) if method == "GET" else (200, {}, {})
    if method == "GET":
        return 404, {}, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
    return (204, {}, None) if method in {"PUT", "DELETE"} else (201, {}, {})


def main(args: list[str]) -> int:
    if args[:1] != ["api"] or "--method" not in args:
        print(f"fake gh: not modelled: {' '.join(args)}", file=sys.stderr)
        return 1
    method, path = args[args.index("--method") + 1], args[args.index("--method") + 2]
    body = json.loads(sys.stdin.read()) if "--input" in args else None
    with open(os.environ["GH_CALLS"], "a", encoding="utf-8") as calls:
        calls.write(json.dumps({"method": method, "path": path, "body": body}) + "\n")
    found = answer(method, path)
    if found is None:
        print("error connecting to api.github.com", file=sys.stderr)
        return 1
    status, headers, payload = found
    head = [f"HTTP/2.0 {status} {REASONS.get(status, '')}", "Content-Type: application/json; charset=utf-8"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    print(
        "\r\n".join(head)
        + "\r\n\r\n"
        + ("" if payload is None else payload if isinstance(payload, Raw) else json.dumps(payload)),
        end="",
    )
    if status >= 400:
        message = payload.get("message", "") if isinstance(payload, dict) else ""
        print(f"gh: {message} (HTTP {status})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
