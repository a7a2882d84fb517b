"""Turn the column, schema, type and model checks into one verdict with its reasons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHECKS = ("share", "schema", "type", "quality", "estimate", "predictions")


def percent(value: float) -> str:
    """Format a share as a percentage with up to three significant digits."""
    return f"{value * 100:.3g}%"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def share_check(columns: Mapping[str, Mapping[str, Any]], threshold: float) -> dict[str, Any]:
    drifted = [name for name, column in columns.items() if column["drift"]]
    share = len(drifted) / len(columns) if columns else 0.0
    text = (
        f"{len(drifted)} of {len(columns)} feature columns drifted ({percent(share)}; drift from {percent(threshold)})"
    )
    return {"drift": share >= threshold, "ran": True, "share": share, "threshold": threshold, "text": text}


def schema_check(schema: Mapping[str, Any], unseen: Mapping[str, Any]) -> dict[str, Any]:
    missing, new = schema["missing_in_current"], schema["new_in_current"]
    parts = []
    if missing:
        parts.append(f"{plural(len(missing), 'feature column')} missing from the current data")
    if new:
        parts.append(f"{plural(len(new), 'new column')} in the current data")
    if unseen:
        largest = max(item["share"] for item in unseen.values())
        parts.append(
            f"categories unseen in the reference in {plural(len(unseen), 'column')} (up to {percent(largest)} of rows)"
        )
    return {"drift": bool(parts), "ran": True, "text": "; ".join(parts) or "same columns, no unseen categories"}


def type_check(changes: Mapping[str, Any]) -> dict[str, Any]:
    if not changes:
        return {"drift": False, "ran": True, "text": "every column kept its type"}
    return {
        "drift": True,
        "ran": True,
        "text": f"{plural(len(changes), 'column')} changed type (text where numbers were, or numbers where text was)",
    }


def model_check(model: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    if model is None:
        return {"drift": False, "ran": False, "text": "not checked: --no-model"}
    part = model[name]
    ran = part["status"] in {"scored", "compared", "failed", "estimated"}
    return {"drift": bool(part["drift"]), "ran": ran, "text": part["message"]}


def verdict(result: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    """Return the dataset verdict, each check with its text, the reasons and the one-line headline."""
    columns = result["columns"]
    type_changes = {name: column["type_change"] for name, column in columns.items() if "type_change" in column}
    unseen = {name: column["unseen"] for name, column in columns.items() if column.get("unseen", {}).get("drift")}
    schema = {**result["schema_changes"], "unseen_categories": unseen, "type_changed": type_changes}
    checks = {
        "share": share_check(columns, settings["dataset_drift_share"]),
        "schema": schema_check(schema, unseen),
        "type": type_check(type_changes),
        "quality": model_check(result.get("model"), "quality"),
        "estimate": model_check(result.get("model"), "estimate"),
        "predictions": model_check(result.get("model"), "predictions"),
    }
    reasons = [name for name in CHECKS if checks[name]["drift"]]
    drifted = [name for name, column in columns.items() if column["drift"]]
    if reasons:
        headline = f"dataset drift ({', '.join(reasons)}): " + "; ".join(checks[name]["text"] for name in reasons)
    else:
        headline = f"no dataset drift: {checks['share']['text']}"
        skipped = [name for name in ("quality", "estimate", "predictions") if not checks[name]["ran"]]
        if skipped:
            named = ", ".join(skipped[:-1]) + " and " + skipped[-1] if len(skipped) > 1 else skipped[0]
            headline += f"; {named} not checked"
    return {
        "dataset_drift": bool(reasons),
        "reasons": reasons,
        "checks": checks,
        "headline": headline,
        "schema_changes": schema,
        "drift_share": checks["share"]["share"],
        "threshold": settings["dataset_drift_share"],
        "drifted_columns": drifted,
        "number_of_columns": len(columns),
    }
