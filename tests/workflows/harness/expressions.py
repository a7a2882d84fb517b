"""GitHub expressions: `${{ }}` templates evaluated by GitHub's own evaluator (node).

`Expressions` keeps one node process running `expressions.mjs` (@actions/expressions) and sends
it one request per expression. Templates are split here, as the runner does: a value that is a
single `${{ }}` keeps the expression's type, anything else is a string with each expression
converted the way GitHub converts values to strings.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("expressions.mjs")
STATUS_CALL = re.compile(r"\b(success|failure|cancelled|always)\s*\(", re.IGNORECASE)


class ExpressionError(Exception):
    """An expression GitHub would refuse (syntax, unknown context or function)."""


def split(template: str) -> list[tuple[bool, str]]:
    """Split a template into (is_expression, text) parts; `}}` inside a string literal does not end one."""
    parts, start = [], 0
    while (opening := template.find("${{", start)) >= 0:
        parts.append((False, template[start:opening]))
        position, in_string = opening + 3, False
        while position < len(template):
            char = template[position]
            if in_string:
                if char == "'" and template[position + 1 : position + 2] == "'":
                    position += 2
                    continue
                in_string = char != "'"
            elif char == "'":
                in_string = True
            elif template.startswith("}}", position):
                break
            position += 1
        else:
            raise ExpressionError(f"unclosed expression in {template!r}")
        parts.append((True, template[opening + 3 : position].strip()))
        start = position + 2
    parts.append((False, template[start:]))
    return [(is_expr, text) for is_expr, text in parts if is_expr or text]


def strip_literals(expression: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", expression)


class Expressions:
    """A node process evaluating expressions with @actions/expressions."""

    def __init__(self, node: str = "node") -> None:
        self.process = subprocess.Popen(
            [node, str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=10)

    def evaluate(
        self,
        expression: str,
        contexts: dict[str, Any],
        status: dict[str, bool] | None = None,
        workspace: Path | None = None,
    ) -> dict[str, Any]:
        """Evaluate one expression; the answer has `value`, `string` and `truthy`."""
        request = {"expr": expression, "contexts": contexts}
        if status is not None:
            request["status"] = status
        if workspace is not None:
            request["workspace"] = str(workspace)
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        if not answer["ok"]:
            raise ExpressionError(f"{answer['error']} in `{expression}`")
        return answer

    def render(self, value: Any, contexts: dict[str, Any], **options: Any) -> Any:
        """Evaluate a workflow value: a lone expression keeps its type, a template becomes a string."""
        if not isinstance(value, str) or "${{" not in value:
            return value
        parts = split(value)
        if len(parts) == 1 and parts[0][0]:
            return self.evaluate(parts[0][1], contexts, **options)["value"]
        return "".join(
            self.evaluate(text, contexts, **options)["string"] if is_expr else text for is_expr, text in parts
        )

    def render_string(self, value: Any, contexts: dict[str, Any], **options: Any) -> str:
        """Evaluate a value that becomes a string (env, with, run): as the runner converts it."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if not isinstance(value, str):
            return str(value)
        if "${{" not in value:
            return value
        return "".join(
            self.evaluate(text, contexts, **options)["string"] if is_expr else text for is_expr, text in split(value)
        )

    def condition(self, value: Any, contexts: dict[str, Any], status: dict[str, bool], **options: Any) -> bool:
        """Evaluate an `if:`: `success() && (...)` unless it calls a status function itself."""
        if value is None:
            expression = "success()"
        elif isinstance(value, bool):
            return value
        else:
            text = str(value).strip()
            parts = split(text) if "${{" in text else [(True, text)]
            if len(parts) != 1 or not parts[0][0]:
                # Text around `${{ }}` makes the condition a non-empty string: always true on GitHub.
                return bool(self.render_string(text, contexts, status=status, **options))
            expression = parts[0][1]
        if not STATUS_CALL.search(strip_literals(expression)):
            expression = f"success() && ({expression})"
        return self.evaluate(expression, contexts, status=status, **options)["truthy"]
