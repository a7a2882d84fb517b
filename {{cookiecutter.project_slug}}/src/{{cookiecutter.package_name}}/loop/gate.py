"""Gate: decide whether the candidate may replace the champion.

The candidate passes only if, on holdout rows it never trained on:
- it beats a trivial baseline (scikit-learn's Dummy estimator fitted on the training rows,
  scored on the same holdout) by `gate.baseline_margin` of the baseline's error, which works on
  any data, and reaches `gate.threshold` when one is set;
- no column gives the answer away (leakage.py), unless `gate.allow_leakage` accepts it;
- it is not worse than the current champion by more than `gate.tolerance`, both scored on holdout
  rows the champion never trained on. Each version records the rows it trained on (rows.py); a
  champion without that record, or one that trained on too many of the holdout rows, fails the
  gate (unless `gate.allow_unproven_champion` says so, recorded): its score would not be evidence.
  `make holdout-migrate` records the rows of champions registered before this rule.
"No champion" is concluded only from the registry's definite answer that none exists. A champion
that cannot score the holdout rows (feature columns removed or renamed) fails the gate unless
`gate.allow_schema_change` is true, which is recorded in the decision. The decision, its reasons
and the hashes of the inputs it judged are written as JSON. Exit codes: 0 passed, 1 failed (so
`dvc repro` stops and nothing is registered), 2 a bad setting or input, 4 the registry could not
answer.
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
from .strict_json import dumps

SCHEMA_SWITCH = "gate.allow_schema_change"
LEAKAGE_SWITCH = "gate.allow_leakage"
UNPROVEN_SWITCH = "gate.allow_unproven_champion"
DEFAULT_BASELINE_MARGIN = 0.1
BOOTSTRAP_RESAMPLES, BOOTSTRAP_QUANTILE = 400, 0.01
# A champion is compared on the holdout rows it never trained on only if enough are left.
MIN_UNSEEN_ROWS = 30


def improvement(metric: str, candidate: float, baseline: float) -> float:
    """The share of the baseline's error the candidate removes: 0 no better, 1 perfect, < 0 worse.

    Error is the distance to the metric's best value (1 - roc_auc, 1 - r2, rmse itself, ...).
    """
    spec = METRICS[metric]
    best = spec.high if spec.higher_is_better else spec.low
    baseline_error, candidate_error = abs(best - baseline), abs(best - candidate)
    if baseline_error == 0:
        return 0.0 if candidate_error == 0 else -math.inf
    return (baseline_error - candidate_error) / baseline_error


def threshold_reason(metric: str, candidate: float, threshold: float | None) -> tuple[bool, str | None]:
    better = "higher" if METRICS[metric].higher_is_better else "lower"
    if threshold is None:
        return not math.isnan(candidate), (
            f"{metric} is nan: the candidate cannot be scored" if math.isnan(candidate) else None
        )
    if math.isnan(candidate) or not meets_threshold(metric, candidate, threshold):
        return False, f"{metric} {candidate:.4f} misses the threshold {threshold} ({better} is better)"
    return True, f"{metric} {candidate:.4f} meets the threshold {threshold} ({better} is better)"


def baseline_reason(metric: str, candidate: float, baseline: dict[str, Any], margin: float) -> tuple[bool, str]:
    gained = improvement(metric, candidate, baseline["value"])
    where = f"the baseline ({baseline['estimator']}: {baseline['value']:.4f})"
    low = baseline.get("improvement_low")
    if math.isnan(candidate) or math.isnan(gained) or gained < margin:
        return False, (
            f"{metric} {candidate:.4f} does not beat {where} by gate.baseline_margin = {margin:g} of its error "
            f"(it removes {gained:.0%}): the model has not learned enough from the features"
        )
    if low is not None and not low > 0:
        return False, (
            f"{metric} {candidate:.4f} beats {where} on these rows, removing {gained:.0%} of its error, but not "
            f"beyond chance: in {BOOTSTRAP_QUANTILE:.0%} of resamples of the holdout rows it is no better; "
            "more holdout rows (ingest.holdout_fraction, or more data) make the evidence"
        )
    return True, f"{metric} {candidate:.4f} beats {where}, removing {gained:.0%} of its error (at least {margin:.0%})"


def leakage_reason(found: dict[str, Any], metric: str, allowed: bool) -> tuple[bool, str | None]:
    columns, perfect = found.get("columns") or {}, found.get("perfect", False)
    if not columns and not perfect:
        return True, None
    signs = [f"column {name!r} alone predicts the target ({value:.3f})" for name, value in columns.items()]
    if perfect:
        signs.append(f"the holdout {metric} is perfect")
    if allowed:
        return True, f"leakage suspected ({'; '.join(signs)}), accepted by {LEAKAGE_SWITCH}: true"
    return False, (
        f"leakage suspected: {'; '.join(signs)}; a model that reads the answer from its input is not "
        f"evidence: drop the column(s), or set {LEAKAGE_SWITCH}: true in params.yaml if it is deliberate"
    )


def champion_reason(metric: str, tolerance: float, candidate: float, champion: dict[str, Any]) -> tuple[bool, str]:
    version = champion["version"]
    if "unproven" in champion and champion.get("unproven_allowed"):
        return True, f"{champion['unproven']}; not compared, because {UNPROVEN_SWITCH} is true: the checks above decide"
    if "unproven" in champion:
        return False, (
            f"{champion['unproven']}; if the champion cannot be compared honestly, set {UNPROVEN_SWITCH}: true in "
            "params.yaml for this change only"
        )
    if "error" in champion and champion.get("schema_change_allowed"):
        return True, (
            f"champion v{version} could not be scored on the holdout rows ({champion['error']}); "
            f"not compared, because {SCHEMA_SWITCH} is true: the checks above decide"
        )
    if "error" in champion:
        switch = (
            f"; if the change of columns is deliberate, set {SCHEMA_SWITCH}: true in params.yaml for this change only"
            if champion.get("missing")
            else ""
        )
        return False, f"champion v{version} could not be scored on the holdout rows: {champion['error']}{switch}"
    mine = champion.get("candidate_value", candidate)
    if math.isnan(mine) or math.isnan(champion["value"]):  # an undefined metric is no evidence either way
        values = f"candidate {mine:.4f}, champion v{version} {champion['value']:.4f}"
        return False, f"{metric} is undefined on the rows compared ({values}): no evidence either way"
    rows = f" on the {champion['rows']} holdout rows it never trained on" if champion.get("overlap") else ""
    if is_worse(metric, mine, champion["value"], tolerance):
        return False, (
            f"{metric} {mine:.4f} is worse than champion v{version} ({champion['value']:.4f}){rows} "
            f"by more than the tolerance {tolerance}"
        )
    return (
        True,
        f"{metric} {mine:.4f} is within {tolerance} of champion v{version} ({champion['value']:.4f}){rows} or better",
    )


def decide(
    metric: str,
    threshold: float | None,
    tolerance: float,
    candidate: float,
    champion: dict[str, Any] | None = None,
    baseline: dict[str, Any] | None = None,
    margin: float = 0.0,
    leakage: dict[str, Any] | None = None,
    allow_leakage: bool = False,
) -> dict[str, Any]:
    """Return the decision for a candidate score.

    `champion` is {version, value[, candidate_value, rows, overlap]}, {version, error} or
    {version, unproven}; `baseline` is {estimator, value}; `leakage` is leakage.check's answer.
    """
    if metric not in METRICS:
        raise ParamsError(f"gate.metric={metric!r}: unknown; allowed: {', '.join(METRICS)}")
    checks = [threshold_reason(metric, candidate, threshold)]
    if baseline is not None:
        checks.append(baseline_reason(metric, candidate, baseline, margin))
    checks.append(leakage_reason(leakage or {}, metric, allow_leakage))
    if champion is None:
        checks.append((True, "no champion yet: the checks above decide"))
    else:
        checks.append(champion_reason(metric, tolerance, candidate, champion))
    return {
        "passed": all(passed for passed, _ in checks),
        "metric": metric,
        "threshold": threshold,
        "tolerance": tolerance,
        "candidate": candidate,
        "baseline": baseline,
        "baseline_margin": margin,
        "leakage": leakage,
        "allow_leakage": allow_leakage,
        "champion": champion,
        "reasons": [reason for _, reason in checks if reason],
    }


def missing_features(model: Any, features: Any) -> list[str]:
    """Return the columns the model was fitted on that the rows do not have."""
    expected = getattr(model, "feature_names_in_", None)
    return [] if expected is None else [str(name) for name in expected if name not in features.columns]


def holdout_identity(key: list[str] | None, rows: Any) -> str:
    """How rows are told apart (recorded with each version): by their key columns or whole, over which columns."""
    from .rows import columns_digest

    told_by = f"key: {', '.join(key)}" if key else "row"
    return f"{told_by}; columns {columns_digest(rows)}"


def score_champion(
    register: dict[str, Any],
    task: str,
    metric: str,
    holdout: Any,
    target: str,
    allow_schema_change: bool = False,
    key: list[str] | None = None,
    candidate_model: Any = None,
    allow_unproven: bool = False,
) -> dict | None:
    """Score the champion on the holdout rows it never trained on; None only when the registry says there is none."""
    from .aliases import champion_of
    from .registry import connect

    registry = connect(register)
    version = champion_of(registry)
    if version is None:
        return None
    model = registry.load(version)  # a champion that cannot be loaded stops the gate (RegistryError)
    missing = missing_features(model, split_target(holdout, target)[0])
    if missing:  # removed or renamed feature columns: the only failure the schema switch covers
        columns = ", ".join(map(repr, missing))
        found = {"version": version, "error": f"ValueError: feature columns {columns} are not in the holdout rows"}
        return {**found, "missing": missing, **({"schema_change_allowed": True} if allow_schema_change else {})}
    unseen = rows_never_trained_on(registry, version, holdout, key)
    if isinstance(unseen, str):
        return {"version": version, "unproven": unseen, "unproven_allowed": allow_unproven}
    clean = holdout[unseen]
    features, truth = split_target(clean, target)
    try:
        value = score(task, model, features, truth)[metric]
    except Exception as error:  # any failure to score is a reason to refuse, never a crash
        return {"version": version, "error": f"{type(error).__name__}: {error}", "missing": []}
    result = {"version": version, "value": value, "rows": len(clean), "overlap": int(len(holdout) - len(clean))}
    if result["overlap"]:  # the candidate is scored on the same rows, for a fair comparison
        result["candidate_value"] = score(task, candidate_model, features, truth)[metric]
    return result


def rows_never_trained_on(registry: Any, version: str, holdout: Any, key: list[str] | None) -> Any:
    """A mask of the holdout rows the version never trained on, or why that cannot be known (a string)."""
    from .rows import fingerprints, shared

    record = registry.training_rows(version)
    if record is None:
        return (
            f"champion v{version} has no record of the rows it trained on, so its holdout score may come from "
            "rows it learned: run `make holdout-migrate` to record them (README, 'The holdout')"
        )
    identity, trained_on = record
    if identity != holdout_identity(key, holdout):
        return (
            f"champion v{version} told its training rows apart by {identity!r}, this data by "
            f"{holdout_identity(key, holdout)!r} (data.key and the columns): they cannot be compared"
        )
    unseen = ~shared(fingerprints(holdout, key or ()), trained_on)
    if unseen.sum() < min(MIN_UNSEEN_ROWS, len(holdout)) or not unseen.any():
        return (
            f"champion v{version} trained on {int((~unseen).sum())} of the {len(holdout)} holdout rows; "
            f"{int(unseen.sum())} left are too few to compare on (at least {MIN_UNSEEN_ROWS})"
        )
    return unseen


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


def baseline_score(
    task: str, metric: str, train: Any, holdout: Any, target: str, candidate_model: Any = None
) -> dict[str, Any]:
    """Score a trivial model (the training rows' class shares, or their mean) on the holdout.

    With the candidate model, also the 1st percentile of the candidate's improvement over it across
    bootstrap resamples of the holdout rows: above 0 when the candidate is better beyond the luck
    of which rows the holdout holds (a one-sided test at 1%).
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor

    features, truth = split_target(train, target)
    dummy = DummyClassifier(strategy="prior") if task == "classification" else DummyRegressor(strategy="mean")
    dummy.fit(features, truth)
    holdout_features, holdout_truth = split_target(holdout, target)
    name = "DummyClassifier, class shares" if task == "classification" else "DummyRegressor, mean"
    found = {"estimator": name, "value": score(task, dummy, holdout_features, holdout_truth)[metric]}
    if candidate_model is not None:
        low = improvement_low(task, metric, candidate_model, dummy, holdout_features, holdout_truth)
        found["improvement_low"] = low
    return found


def improvement_low(task: str, metric: str, candidate: Any, baseline: Any, features: Any, truth: Any) -> float:
    """The BOOTSTRAP_QUANTILE of the candidate's improvement over the baseline across bootstrap resamples."""
    import numpy as np

    from .metrics import one_metric

    def predictions(model: Any) -> tuple[Any, Any]:
        proba = model.predict_proba(features) if task == "classification" else None
        return np.asarray(model.predict(features)), proba

    truth = np.asarray(truth)
    mine, theirs = predictions(candidate), predictions(baseline)
    classes = list(getattr(candidate, "classes_", []))
    rng, gains, every_class = np.random.default_rng(0), [], len(set(truth.tolist()))
    for _ in range(BOOTSTRAP_RESAMPLES):
        rows = rng.integers(0, len(truth), len(truth))
        if task == "classification" and len(set(truth[rows].tolist())) < every_class:
            continue  # a resample without a class has no roc_auc
        values = [
            one_metric(metric, truth[rows], predicted[rows], None if proba is None else proba[rows], classes)
            for predicted, proba in (mine, theirs)
        ]
        gains.append(improvement(metric, values[0], values[1]))
    finite = [gain for gain in gains if not math.isnan(gain)]
    return float(np.quantile(finite, BOOTSTRAP_QUANTILE)) if finite else math.nan


def evaluate_gate(
    params: dict[str, Any], candidate_metrics: dict[str, float], holdout: Any, train: Any, candidate_model: Any
) -> dict[str, Any]:
    """Apply the gate settings to the candidate's metrics, the baseline, leakage and the current champion."""
    from . import leakage

    data, gate, register = section(params, "data"), section(params, "gate"), section(params, "register")
    metric, task, target = gate["metric"], data["task"], data["target"]
    if metric not in candidate_metrics:
        raise ParamsError(f"gate.metric={metric!r}: not among the evaluated metrics {sorted(candidate_metrics)}")
    candidate = candidate_metrics[metric]
    allow = bool(gate.get("allow_schema_change", False))
    allow_leakage = bool(gate.get("allow_leakage", False))
    margin = float(gate.get("baseline_margin", DEFAULT_BASELINE_MARGIN))
    threshold = None if gate.get("threshold") is None else float(gate["threshold"])
    baseline = baseline_score(task, metric, train, holdout, target, candidate_model)
    found = leakage.check(train, holdout, target, task, metric, candidate)
    unproven = bool(gate.get("allow_unproven_champion", False))
    champion = score_champion(
        register, task, metric, holdout, target, allow, data.get("key"), candidate_model, unproven
    )
    decision = decide(
        metric, threshold, float(gate["tolerance"]), candidate, champion, baseline, margin, found, allow_leakage
    )
    return {**decision, "allow_schema_change": allow, "allow_unproven_champion": unproven}


def strict_json(value: Any) -> str:
    """JSON any parser reads: an undefined metric is null, never a bare NaN."""
    return dumps(value, indent=2)


def print_decision(decision: dict[str, Any]) -> None:
    verdict = "PASSED" if decision["passed"] else "FAILED"
    stream = sys.stdout if decision["passed"] else sys.stderr
    print(f"gate: {verdict}", file=stream)
    for reason in decision["reasons"]:
        print(f"  - {reason}", file=stream)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gate", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="candidate pipeline (joblib)")
    parser.add_argument("--train", required=True, help="training rows (CSV): the baseline and the leakage check")
    parser.add_argument("--holdout", required=True, help="holdout rows (CSV), the same for candidate and champion")
    parser.add_argument("--metrics", required=True, help="candidate metrics JSON from evaluate")
    parser.add_argument("--decision", required=True, help="where to write the decision JSON")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    from .registry import RegistryError

    try:
        params = load_params(args.params)
        candidate_metrics = json.loads(Path(args.metrics).read_text(encoding="utf-8"))
        import joblib

        candidate_model = joblib.load(args.model)  # written by this pipeline's train stage
        decision = evaluate_gate(
            params, candidate_metrics, read_table(args.holdout), read_table(args.train), candidate_model
        )
        decision["model_md5"] = file_md5(args.model)
        decision["inputs"] = input_hashes(args.model, args.holdout, args.metrics, params)
    except RegistryError as error:
        return fail(error)
    except (ValueError, OSError) as error:  # DataError, ParamsError, bad JSON or a non-numeric setting
        return fail(error, 2)
    Path(args.decision).parent.mkdir(parents=True, exist_ok=True)
    Path(args.decision).write_text(strict_json(decision) + "\n", encoding="utf-8")
    print_decision(decision)
    return 0 if decision["passed"] else 1
