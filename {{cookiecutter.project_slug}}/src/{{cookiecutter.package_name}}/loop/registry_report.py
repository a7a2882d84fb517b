"""The registry report (`report --registry`, reports/registry.md): where the registry is and where its aliases point.

Everything from the registry (its name, its URL without credentials) is escaped for GitHub.
"""

from __future__ import annotations

from typing import Any

from .markdown import code_span, escape_cell

EMBEDDED_NOTE = (
    "The registry is the embedded sqlite file `mlflow.db`, kept on branch `mlflow-registry` "
    "(`make registry-pull` fetches it). Set the `MLFLOW_TRACKING_URI` variable to use an MLflow "
    "server instead (docs/ci.md)."
)


def registry_markdown(settings: dict[str, Any]) -> str:
    """Where the registry is and which version each alias points at; RegistryError if it cannot answer."""
    from .registry import CHALLENGER, CHAMPION, DEFAULT_TRACKING_URI, PREVIOUS_CHAMPION, connect, redact

    registry = connect(settings)
    aliases = registry.aliases()
    names = (CHAMPION, CHALLENGER, PREVIOUS_CHAMPION)
    rows = [f"| {code_span(alias)} | {escape_cell(aliases.get(alias, '—'))} |" for alias in names]
    where = EMBEDDED_NOTE if registry.uri == DEFAULT_TRACKING_URI else f"Registry: {code_span(redact(registry.uri))}."
    lines = [
        f"## Model registry: {code_span(registry.name)}",
        "",
        where,
        "",
        "| Alias | Version |",
        "|---|---:|",
        *rows,
    ]
    return "\n".join(lines) + "\n"
