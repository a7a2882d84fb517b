"""What a model card's numbers imply, in plain words: the "Known limits" of the card.

Derived from the data only: an interval too wide to tell models apart, values of a column the model
does much worse on (or cannot be scored on), what the gate was told to accept, the time range and the
rare category values the model learned from, one column that decides everything. The sentences are
plain text; card_markdown.py escapes them.
"""

from __future__ import annotations

import math
from typing import Any

from .metrics import METRICS
from .strict_json import is_number

# When a bounded metric (roc_auc, accuracy, f1, r2) is called imprecise or a slice much worse;
# for error metrics (rmse, mae) the same as a share of the value.
WIDE_INTERVAL, MUCH_WORSE, RELATIVE = 0.1, 0.1, 0.25


def much(metric: str, gap: float, value: float, bound: float) -> bool:
    """Whether `gap` is large for this metric: `bound` for bounded metrics, RELATIVE of the value for errors."""
    return gap > (RELATIVE * abs(value) if METRICS[metric].low == 0 and METRICS[metric].high == math.inf else bound)


def interval_limits(card: dict[str, Any]) -> list[str]:
    """Metrics whose interval is too wide to tell models apart, or that resampling could not always define."""
    limits, rows = [], card.get("holdout_rows")
    resamples = (card.get("bootstrap") or {}).get("resamples")
    for metric, found in (card.get("metrics") or {}).items():
        if metric not in METRICS:
            continue
        low, high, value = found.get("low"), found.get("high"), found.get("value")
        if not (is_number(low) and is_number(high) and is_number(value)):
            limits.append(f"{metric} has no interval: it is undefined on the holdout rows or on every resample.")
        elif much(metric, high - low, value, WIDE_INTERVAL):
            limits.append(
                f"{metric} is known only roughly: its 95% interval spans {low:.3f} to {high:.3f} on {rows} holdout "
                "rows; more holdout rows narrow it."
            )
        if is_number(found.get("used")) and resamples and found["used"] < resamples:
            limits.append(f"{metric} was defined on {found['used']} of {resamples} resamples only.")
    return limits


def slice_limits(card: dict[str, Any]) -> list[str]:
    """Values of a column the model does much worse on, or cannot be scored on."""
    slices = card.get("slices") or {}
    metric, overall = slices.get("metric"), slices.get("overall")
    limits = []
    for column in slices.get("columns") or []:
        for entry in column.get("worst") or []:
            value = entry.get("metric")
            if metric in METRICS and is_number(overall) and is_number(value):
                gap = overall - value if METRICS[metric].higher_is_better else value - overall
                if much(metric, gap, overall, MUCH_WORSE):
                    limits.append(
                        f"Much worse where {column['column']} is {shown_value(entry['value'])} ({entry['rows']} "
                        f"holdout rows): {metric} {value:.3f} against {overall:.3f} overall."
                    )
        for entry in column.get("undefined") or []:
            limits.append(
                f"Unknown where {column['column']} is {shown_value(entry['value'])} ({entry['rows']} holdout rows): "
                f"{metric} is undefined there ({entry.get('why', 'undefined')})."
            )
    return limits


def gate_limits(gate: dict[str, Any]) -> list[str]:
    """What the gate was told to accept."""
    limits = []
    leakage = gate.get("leakage") or {}
    if gate.get("allow_leakage") and (leakage.get("columns") or leakage.get("perfect")):
        names = ", ".join(str(name) for name in leakage.get("columns") or {}) or "none alone"
        limits.append(f"Leakage was suspected and accepted (gate.allow_leakage): columns {names}.")
    champion = gate.get("champion") or {}
    if champion.get("unproven_allowed"):
        limits.append(f"Not compared with champion v{champion.get('version')} (gate.allow_unproven_champion).")
    if champion.get("schema_change_allowed"):
        version = champion.get("version")
        limits.append(f"Not compared with champion v{version}: its columns differ (gate.allow_schema_change).")
    return limits


def data_limits(card: dict[str, Any]) -> list[str]:
    """The time range and rare values the model learned from, and a column that decides alone."""
    training = card.get("training") or {}
    limits = [
        f"Trained on {column} from {span.get('min')} to {span.get('max')}: times outside that range are new ground."
        for column, span in (training.get("time_ranges") or {}).items()
    ]
    rare = training.get("rare_values") or {}
    for column, found in (rare.get("columns") or {}).items():
        examples = ", ".join(repr(value) for value in found.get("examples") or [])
        limits.append(
            f"{column}: {found.get('values')} values seen on fewer than {rare.get('min_rows')} training rows "
            f"({found.get('rows')} rows in all, e.g. {examples}) are learned as one 'infrequent' value."
        )
    columns = [entry for entry in (card.get("importance") or {}).get("columns") or [] if is_number(entry.get("mean"))]
    if len(columns) > 1 and columns[0]["mean"] > 0:
        others = sum(max(entry["mean"], 0) for entry in columns[1:])
        if columns[0]["mean"] > others:
            limits.append(
                f"Shuffling {columns[0]['column']} alone costs more than shuffling every other column: check that it "
                "is known when the model predicts, and is not the answer in disguise."
            )
    if (card.get("importance") or {}).get("skipped"):
        limits.append(f"No permutation importance: {card['importance']['skipped']}.")
    return limits


def known_limits(card: dict[str, Any]) -> list[str]:
    """What the numbers say the model cannot be trusted with, in plain words (escaped when rendered)."""
    return [*interval_limits(card), *slice_limits(card), *gate_limits(card.get("gate") or {}), *data_limits(card)]


def shown_value(value: Any) -> str:
    """A slice's value for plain text: quoted, or (missing) for the missing cells."""
    return "(missing)" if value is None else repr(str(value))
