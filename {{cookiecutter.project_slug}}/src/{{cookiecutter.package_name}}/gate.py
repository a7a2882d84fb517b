"""Gate: decide whether the candidate may replace the champion.

The candidate passes only if its primary metric reaches `gate.threshold` and is not worse
than the current champion, scored on the same holdout rows, by more than `gate.tolerance`.
The first model is judged by the threshold alone; "no champion" is concluded only from the
registry's definite answer that none exists. A champion that cannot score the holdout rows
(feature columns removed or renamed) fails the gate unless `gate.allow_schema_change` is true,
which is recorded in the decision. The decision, its reasons and the hashes of the inputs it
judged are written as JSON. Exit codes: 0 passed, 1 failed (so `dvc repro` stops and nothing
is registered), 2 a bad setting or input, 4 the registry could not answer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

from .data import read_table, split_target
from .errors import fail
from .metrics import METRICS, is_worse, meets_threshold, score
from .params import ParamsError, load_params, section

SCHEMA_SWITCH = "gate.allow_schema_change"


def decide(
    metric: str,
    threshold: float,
    tolerance: float,
    candidate: float,
    champion: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the decision for a candidate score; `champion` is {version, value} or {version, error}."""
    if metric not in METRICS:
        raise ParamsError(f"gate.metric={metric!r}: unknown; allowed: {', '.join(METRICS)}")
    better = "higher" if METRICS[metric].higher_is_better else "lower"
    reasons, passed = [], True
    if math.isnan(candidate) or not meets_threshold(metric, candidate, threshold):
        passed = False
        reasons.append(f"{metric} {candidate:.4f} misses the threshold {threshold} ({better} is better)")
    else:
        reasons.append(f"{metric} {candidate:.4f} meets the threshold {threshold} ({better} is better)")
    if champion is None:
        reasons.append("no champion yet: the threshold alone decides")
    elif "error" in champion and champion.get("schema_change_allowed"):
        reasons.append(
            f"champion v{champion['version']} could not be scored on the holdout rows ({champion['error']}); "
            f"not compared, because {SCHEMA_SWITCH} is true: the threshold alone decides"
        )
    elif "error" in champion:
        passed = False
        reasons.append(
            f"champion v{champion['version']} could not be scored on the holdout rows: {champion['error']}; "
            f"if the change of columns is deliberate, set {SCHEMA_SWITCH}: true in params.yaml for this change only"
        )
    elif is_worse(metric, candidate, champion["value"], tolerance):
        passed = False
        reasons.append(
            f"{metric} {candidate:.4f} is worse than champion v{champion['version']} ({champion['value']:.4f}) "
            f"by more than the tolerance {tolerance}"
        )
    else:
        reasons.append(
            f"{metric} {candidate:.4f} is within {tolerance} of champion v{champion['version']} "
            f"({champion['value']:.4f}) or better"
        )
    return {
        "passed": passed,
        "metric": metric,
        "threshold": threshold,
        "tolerance": tolerance,
        "candidate": candidate,
        "champion": champion,
        "reasons": reasons,
    }


def missing_features(model: Any, features: Any) -> list[str]:
    """Return the columns the model was fitted on that the rows do not have."""
    expected = getattr(model, "feature_names_in_", None)
    return [] if expected is None else [str(name) for name in expected if name not in features.columns]


def score_champion(
    register: dict[str, Any], task: str, metric: str, holdout: Any, target: str, allow_schema_change: bool = False
) -> dict | None:
    """Score the current champion on the holdout rows; None only when the registry says there is none."""
    from .aliases import champion_of
    from .registry import connect

    registry = connect(register)
    version = champion_of(registry)
    if version is None:
        return None
    model = registry.load(version)  # a champion that cannot be loaded stops the gate (RegistryError)
    features, truth = split_target(holdout, target)
    missing = missing_features(model, features)
    try:
        if missing:
            raise ValueError(f"feature columns {', '.join(map(repr, missing))} are not in the holdout rows")
        value = score(task, model, features, truth)[metric]
    except Exception as error:  # any failure to score is a reason to refuse, never a crash
        found = {"version": version, "error": f"{type(error).__name__}: {error}"}
        # The switch covers removed or renamed feature columns only; any other failure still fails the gate.
        return {**found, "schema_change_allowed": True} if allow_schema_change and missing else found
    return {"version": version, "value": value}


def file_md5(path: str | Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()  # the same content hash DVC records


def params_md5(params: dict[str, Any]) -> str:
    """Hash the settings a gate decision depends on (data, gate, register), independent of key order."""
    judged = {name: params.get(name) for name in ("data", "gate", "register")}
    return hashlib.md5(json.dumps(judged, sort_keys=True, default=str).encode()).hexdigest()


def input_hashes(model: str | Path, holdout: str | Path, metrics: str | Path, params: dict[str, Any]) -> dict:
    """Return the hashes that tie a decision to the exact inputs it judged."""
    return {
        "model": file_md5(model),
        "holdout": file_md5(holdout),
        "metrics": file_md5(metrics),
        "params": params_md5(params),
    }


def evaluate_gate(params: dict[str, Any], candidate_metrics: dict[str, float], holdout: Any) -> dict[str, Any]:
    """Apply the gate settings to the candidate's metrics and the current champion."""
    data, gate, register = section(params, "data"), section(params, "gate"), section(params, "register")
    metric = gate["metric"]
    if metric not in candidate_metrics:
        raise ParamsError(f"gate.metric={metric!r}: not among the evaluated metrics {sorted(candidate_metrics)}")
    allow = bool(gate.get("allow_schema_change", False))
    champion = score_champion(register, data["task"], metric, holdout, data["target"], allow)
    decision = decide(metric, float(gate["threshold"]), float(gate["tolerance"]), candidate_metrics[metric], champion)
    return {**decision, "allow_schema_change": allow}


def print_decision(decision: dict[str, Any]) -> None:
    verdict = "PASSED" if decision["passed"] else "FAILED"
    stream = sys.stdout if decision["passed"] else sys.stderr
    print(f"gate: {verdict}", file=stream)
    for reason in decision["reasons"]:
        print(f"  - {reason}", file=stream)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="candidate pipeline (joblib)")
    parser.add_argument("--holdout", required=True, help="holdout rows (CSV), the same for candidate and champion")
    parser.add_argument("--metrics", required=True, help="candidate metrics JSON from evaluate")
    parser.add_argument("--decision", required=True, help="where to write the decision JSON")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    from .registry import RegistryError

    try:
        params = load_params(args.params)
        candidate_metrics = json.loads(Path(args.metrics).read_text(encoding="utf-8"))
        decision = evaluate_gate(params, candidate_metrics, read_table(args.holdout))
        decision["model_md5"] = file_md5(args.model)
        decision["inputs"] = input_hashes(args.model, args.holdout, args.metrics, params)
    except RegistryError as error:
        return fail(error)
    except (ValueError, OSError) as error:  # DataError, ParamsError, bad JSON or a non-numeric setting
        return fail(error, 2)
    Path(args.decision).parent.mkdir(parents=True, exist_ok=True)
    Path(args.decision).write_text(json.dumps(decision, indent=2) + "\n", encoding="utf-8")
    print_decision(decision)
    return 0 if decision["passed"] else 1
