"""How far the drift check's estimate without labels is from the truth, and how often its alerts are right.

    benchmarks/.venv-estimate/bin/python benchmarks/estimate_rates.py [--quick]      (from the template root)

The venv: `uv venv --python 3.11 benchmarks/.venv-estimate && uv pip sync --require-hashes --python
benchmarks/.venv-estimate/bin/python benchmarks/requirements-estimate.lock` (the template's libraries at the
generated project's pins, and statsmodels, whose wheel carries the real data sets used here).

Real data, labels held back: statsmodels' `fair` (6,366 rows; classification: any affair) and `randhie`
(20,190 rows; regression: doctor visits). Each is split with the template's own hash split (rows.py): a
holdout (20%, salt 42, as `ingest` does; it calibrates the estimate), then training rows and a pool the
batches come from. The model is the template's `train.fit` with the shipped params.yaml `train` settings
(the random forest with 100 trees instead of 200, and the shipped gradient boosting).

1. Estimate against the realised metric. Batches of BATCH_ROWS rows drawn from the pool with probability
   sigmoid(strength x z-score of one feature): covariate shift made by selecting real rows, never by adding
   noise. Also batches selected on the target itself (label shift, which breaks the estimate's assumption
   that P(label | features) is unchanged). Per setting: every metric's mean absolute error, largest error,
   mean signed error and the share of batches whose realised metric lies in the 95% interval; and for
   gate.metric, the `drift.estimated_drop` verdict (estimate_check) against the realised drop. The
   estimate is anchored (estimate.anchored: the metric realised on the holdout plus the estimator's change
   from the holdout, out of fold, to the batch); the estimator's own value on the batch (`on_batch`, what
   the estimate was before fd9117d) is kept too, so the JSON file holds the bias that the anchoring removes.
2. Alerts over time. Sequences of runs of the whole `drift` command (in-process `main([...])`, the shipped
   params.yaml `drift` settings, current batches without their labels), each run recorded with the
   template's `history.store.append` and the alert read with `history.store.alert` for the rules 1 of 1,
   2 of 3 and 3 of 5: clean sequences, sequences with one isolated shifted batch, and sequences where a
   persistent shift starts at run ONSET. The same `alert`, applied to the runs' verdicts without the
   predictions check, shows what the other checks contribute; and the predictions check alone is run on
   clean batches against the holdout (as the command does since fd9117d) and against the training rows
   (as it did before).

Prints Markdown tables (kept in benchmarks/README.md, "Performance estimate without labels, and alerts over
time") and writes every figure to benchmarks/data/estimate_rates.json (--quick: estimate_rates_quick.json).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from honest_gate import PARAMS, load  # the template's package, loaded from its folder

HERE = Path(__file__).resolve().parent
TARGET = "target"
BATCH_ROWS = 300
HOLDOUT_SHARE, HOLDOUT_SALT = 0.2, 42  # the shipped ingest settings
POOL_SHARE = 0.375  # of the rows outside the holdout: 50% training, 20% holdout, 30% pool
STRENGTHS = (-4.0, -2.0, 2.0, 4.0)  # sigmoid(strength x z): 4 keeps few rows below the feature's mean
SEQUENCE_STRENGTH = 4.0  # the shift of the shifted runs in part 2
LABEL_STRENGTHS = (-1.0, 1.0)  # selection on the target itself: stronger leaves one class only in a batch
RULES = ((1, 1), (2, 3), (3, 5))
RUNS, ONSET, WITHIN = 8, 3, 3  # part 2: runs per sequence, first shifted run, "detected within" runs
DATA_SETS = {  # name: task, gate.metric, the two features the batches are selected on
    "fair": ("classification", "roc_auc", ("rate_marriage", "yrs_married")),
    "randhie": ("regression", "r2", ("disea", "lpi")),
}


def real_data(name: str) -> pd.DataFrame:
    """A statsmodels data set with its target named TARGET (read from the installed wheel, offline)."""
    from statsmodels import datasets

    frame = getattr(datasets, name).load_pandas().data
    if name == "fair":  # the rate of affairs is a continuous column; the question asked is: any?
        return frame.assign(**{TARGET: (frame.pop("affairs") > 0).astype(int)})
    return frame.rename(columns={"mdvis": TARGET})


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training rows, holdout and pool, each row's side fixed by the template's salted hash of its content."""
    rows = load("rows")
    in_holdout = rows.in_holdout(frame, HOLDOUT_SHARE, HOLDOUT_SALT)
    rest = frame[~in_holdout]
    in_pool = rows.in_holdout(rest, POOL_SHARE, "pool")
    return rest[~in_pool].reset_index(drop=True), frame[in_holdout].reset_index(drop=True), rest[in_pool]


def filled_params(task: str, metric: str, model: str) -> dict:
    """The shipped params.yaml as a project with these answers has it (its Jinja variables replaced)."""
    answers = {"task": task, "model": model, "primary_metric": metric, "metric_threshold": "null",
               "target_column": json.dumps(TARGET), "model_name": '"bench"', "mlflow_tracking_uri": '""'}  # fmt: skip
    text = re.sub(r"\{\{\s*cookiecutter\.(\w+)[^}]*\}\}", lambda found: answers[found.group(1)], PARAMS.read_text())
    params = yaml.safe_load(text)
    params["train"]["random_forest"]["n_estimators"] = 100  # half the shipped trees: twice as fast
    return params


def draw_batch(pool: pd.DataFrame, column: str | None, strength: float, rng: np.random.Generator) -> pd.DataFrame:
    """BATCH_ROWS pool rows, each drawn with weight sigmoid(strength x z-score of `column`); uniform without one."""
    if column is None or strength == 0:
        return pool.iloc[rng.choice(len(pool), BATCH_ROWS, replace=False)]
    values = pool[column].to_numpy(dtype=float)
    weight = 1.0 / (1.0 + np.exp(-strength * (values - values.mean()) / values.std()))
    return pool.iloc[rng.choice(len(pool), BATCH_ROWS, replace=False, p=weight / weight.sum())]


def worse_by(metric: str, before: float, after: float) -> float:
    return before - after if load("metrics").METRICS[metric].higher_is_better else after - before


class Case:
    """One data set and one trained model: its split, its holdout metrics, its settings."""

    def __init__(self, name: str, model_name: str):
        self.name, self.model_name = name, model_name
        self.task, self.metric, self.features = DATA_SETS[name]
        self.training, self.holdout, self.pool = split(real_data(name))
        self.params = filled_params(self.task, self.metric, model_name)
        train, metrics = load("train"), load("metrics")
        self.model = train.fit(self.training, self.params["data"], self.params["train"])
        self.reference = metrics.score(self.task, self.model, self.holdout.drop(columns=[TARGET]),
                                       self.holdout[TARGET])  # fmt: skip
        self.drop = self.params["drift"]["estimated_drop"]
        # The calibrating rows themselves as the batch: no shift at all, so this should give the holdout's metrics.
        found = load("drift.estimate").estimate(self.task, self.model, self.holdout, TARGET, self.holdout)
        self.on_holdout = {name: values["estimate"] for name, values in found["metrics"].items()}

    def realised(self, batch: pd.DataFrame) -> dict[str, float]:
        return load("metrics").score(self.task, self.model, batch.drop(columns=[TARGET]), batch[TARGET])

    def describe(self) -> dict:
        return {"data": self.name, "model": self.model_name, "task": self.task, "metric": self.metric,
                "rows": {"training": len(self.training), "holdout": len(self.holdout), "pool": len(self.pool)},
                "holdout_metrics": self.reference, "estimate_on_holdout": self.on_holdout}  # fmt: skip


# --- 1. the estimate against the realised metric -------------------------------------------------


def one_estimate(case: Case, batch: pd.DataFrame) -> dict:
    """Estimate on the batch without its labels (estimate.py), then score it with them."""
    estimate = load("drift.estimate")
    found = estimate.estimate(case.task, case.model, case.holdout, TARGET, batch.drop(columns=[TARGET]))
    check = estimate.estimate_check(found, case.metric, case.reference, None, case.drop)
    realised = case.realised(batch)
    keys = ("estimate", "low", "high", "on_batch", "on_holdout", "holdout")  # on_batch: the estimator, unanchored
    metrics = {name: {**{key: values[key] for key in keys}, "realised": realised[name]}
               for name, values in found["metrics"].items()}  # fmt: skip
    dropped = worse_by(case.metric, case.reference[case.metric], realised[case.metric]) > case.drop
    return {"metrics": metrics, "estimated_drop": bool(check["drift"]), "realised_drop": bool(dropped),
            "calibrated": found.get("calibrated")}  # fmt: skip


def summary(case: Case, selection: str, strength: float, shift: list[float], runs: list[dict]) -> dict:
    """Errors, coverage and verdict agreement of one setting's batches."""
    metrics = {}
    for name in runs[0]["metrics"]:
        values = [run["metrics"][name] for run in runs if math.isfinite(run["metrics"][name]["realised"])]
        if not values:  # e.g. ROC AUC of batches with one class only
            continue
        errors = np.array([value["estimate"] - value["realised"] for value in values])
        unanchored = np.array([value["on_batch"] - value["realised"] for value in values])
        inside = [value["low"] <= value["realised"] <= value["high"] for value in values]
        metrics[name] = {"mae": float(np.mean(np.abs(errors))), "max_error": float(np.max(np.abs(errors))),
                         "bias": float(np.mean(errors)), "coverage": float(np.mean(inside)), "defined": len(values),
                         "unanchored_mae": float(np.mean(np.abs(unanchored))),
                         "unanchored_bias": float(np.mean(unanchored)),
                         "realised_mean": float(np.mean([value["realised"] for value in values])),
                         "estimate_mean": float(np.mean([value["estimate"] for value in values]))}  # fmt: skip
    said, true = [run["estimated_drop"] for run in runs], [run["realised_drop"] for run in runs]
    return {**case.describe(), "selection": selection, "strength": strength, "batches": len(runs),
            "feature_shift_sd": float(np.mean(shift)), "metrics": metrics,
            "verdicts": {"tp": sum(s and t for s, t in zip(said, true, strict=True)),
                         "fp": sum(s and not t for s, t in zip(said, true, strict=True)),
                         "fn": sum(t and not s for s, t in zip(said, true, strict=True)),
                         "tn": sum(not s and not t for s, t in zip(said, true, strict=True))}}  # fmt: skip


def selections(case: Case) -> list[tuple[str, str | None, float]]:
    """(label, column, strength): no selection, each feature at each strength, the target at LABEL_STRENGTHS."""
    found = [("none", None, 0.0)]
    found += [(column, column, strength) for column in case.features for strength in STRENGTHS]
    found += [(f"{TARGET} (label shift)", TARGET, strength) for strength in LABEL_STRENGTHS]
    return found


def estimate_errors(case: Case, batches: int) -> list[dict]:
    """Part 1: `batches` seeded batches per selection setting, each estimated and then scored."""
    results = []
    for label, column, strength in selections(case):
        runs, shift = [], []
        for seed in range(batches):
            batch = draw_batch(case.pool, column, strength, np.random.default_rng([seed, int(strength * 10) + 100]))
            runs.append(one_estimate(case, batch))
            if column is not None:
                shift.append((batch[column].mean() - case.pool[column].mean()) / case.pool[column].std())
        results.append(summary(case, label, strength, shift or [0.0], runs))
        print(f"{case.name}, {case.model_name}: {batches} batches selected on {label} {strength:+g}", file=sys.stderr)
    return results


# --- 2. alerts over time ------------------------------------------------------------------------


class Runner:
    """The project's files in a scratch folder, and one `drift` run per batch, recorded in a history."""

    def __init__(self, case: Case, folder: Path):
        import joblib

        self.case, self.folder = case, folder
        joblib.dump(case.model, folder / "model.joblib")
        case.training.to_csv(folder / "reference.csv", index=False)  # drift.reference: the training rows
        case.holdout.to_csv(folder / "holdout.csv", index=False)
        (folder / "metrics.json").write_text(json.dumps(case.reference))
        (folder / "params.yaml").write_text(yaml.safe_dump(case.params, sort_keys=False))

    def drift(self, batch: pd.DataFrame) -> tuple[dict, bytes]:
        """`python -m <package> drift ...` on the batch without its labels; its drift.json."""
        batch.drop(columns=[TARGET]).to_csv(self.folder / "current.csv", index=False)
        names = {"--model": "model.joblib", "--reference-metrics": "metrics.json", "--holdout": "holdout.csv",
                 "--reference": "reference.csv", "--current": "current.csv", "--report-dir": "out",
                 "--params": "params.yaml"}  # fmt: skip
        code = load("drift").main([part for flag, name in names.items() for part in (flag, str(self.folder / name))])
        report = (self.folder / "out" / "drift.json").read_bytes()
        result = json.loads(report)
        if code not in (0, 3) or (code == 3) != result["dataset_drift"]:
            raise SystemExit(f"drift exited {code} on {self.case.name} (drift.json: {result['dataset_drift']})")
        return result, report

    def sequence(self, batches: list[pd.DataFrame], history: Path) -> list[dict]:
        """Run the command on each batch, record it (`history record`) and ask every rule whether to alert."""
        store = load("history.store")
        start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        runs = []
        for number, batch in enumerate(batches):
            result, report = self.drift(batch)
            entry = store.append(history, result, report, self.case.metric, start + datetime.timedelta(days=number))
            recorded = store.read_history(history)
            runs.append({"drift": entry["drift"], "breaks": entry["breaks"], "reasons": result["reasons"],
                         "drift_other": bool(set(result["reasons"]) - {"predictions"}),
                         "alerts": {f"{k} of {n}": store.alert(recorded, k, n)[0] for k, n in RULES}})  # fmt: skip
        return runs


def sequences(case: Case, count: int) -> dict[str, list[list[dict]]]:
    """`count` sequences of RUNS runs of each kind: clean, one isolated shifted run, a shift from ONSET on."""
    column = case.features[0]
    found: dict[str, list[list[dict]]] = {"clean": [], "isolated": [], "persistent": []}
    with tempfile.TemporaryDirectory() as scratch:
        runner = Runner(case, Path(scratch))
        for number in range(count):
            for kind in found:
                rng = np.random.default_rng([number, ord(kind[0])])
                shifted = {"clean": [], "isolated": [ONSET], "persistent": range(ONSET, RUNS)}[kind]
                batches = [draw_batch(case.pool, column, SEQUENCE_STRENGTH if run in shifted else 0.0, rng)
                           for run in range(RUNS)]  # fmt: skip
                found[kind].append(runner.sequence(batches, Path(scratch) / f"history-{kind}-{number}"))
        print(json.dumps({"data": case.name, "model": case.model_name, "sequences": count}), file=sys.stderr)
    return found


def alerts_over(runs: list[dict], k: int, n: int, verdict: str) -> list[bool]:
    """history.store.alert after every run of a sequence, with run[verdict] as that run's dataset verdict."""
    store = load("history.store")
    entries = [{"drift": run[verdict], "breaks": run["breaks"]} for run in runs]
    return [store.alert(store.History(Path("."), entries[: at + 1]), k, n)[0] for at in range(len(entries))]


def rule_rates(alerts: dict[str, list[list[bool]]]) -> dict:
    """One rule's alerts (kind -> sequence -> run) as the rates the tables show."""
    clean = [alert for runs in alerts["clean"] for alert in runs]
    clean += [alert for runs in alerts["isolated"] + alerts["persistent"] for alert in runs[:ONSET]]
    first = [next((at for at in range(ONSET, RUNS) if runs[at]), None) for runs in alerts["persistent"]]
    delays = [at - ONSET for at in first if at is not None and at < ONSET + WITHIN]
    return {"clean_alert_rate": float(np.mean(clean)), "clean_runs": len(clean),
            "isolated_alert_at_shift": float(np.mean([runs[ONSET] for runs in alerts["isolated"]])),
            "isolated_alert_after": float(np.mean([any(runs[ONSET:]) for runs in alerts["isolated"]])),
            "persistent_detected_within": len(delays) / len(first),
            "persistent_detected_by_end": float(np.mean([at is not None for at in first])),
            "persistent_median_delay": float(np.median(delays)) if delays else None}  # fmt: skip


def alert_rates(case: Case, found: dict[str, list[list[dict]]]) -> dict:
    """Per rule, the rates with the command's verdicts and with verdicts that leave out the predictions check."""
    rules = {}
    for k, n in RULES:
        rule = f"{k} of {n}"
        shipped = {kind: [alerts_over(runs, k, n, "drift") for runs in group] for kind, group in found.items()}
        recorded = {kind: [[run["alerts"][rule] for run in runs] for runs in group] for kind, group in found.items()}
        if shipped != recorded:
            raise SystemExit(f"alert on the recorded history and on its runs' verdicts disagree: {case.name}, {rule}")
        other = {kind: [alerts_over(runs, k, n, "drift_other") for runs in group] for kind, group in found.items()}
        rules[rule] = {"shipped": rule_rates(shipped), "without_predictions": rule_rates(other)}
    every = [run for group in found.values() for runs in group for run in runs]
    clean = [run for runs in found["clean"] for run in runs]
    clean += [run for runs in found["isolated"] + found["persistent"] for run in runs[:ONSET]]
    shifted = [runs[ONSET] for runs in found["isolated"]]
    shifted += [run for runs in found["persistent"] for run in runs[ONSET:]]
    return {**case.describe(), "sequences_per_kind": len(found["clean"]), "runs_per_sequence": RUNS,
            "onset": ONSET, "within": WITHIN, "runs": len(every), "clean_runs": len(clean),
            "shifted_runs": len(shifted), "shift": f"{case.features[0]} {SEQUENCE_STRENGTH:+g}",
            "clean_verdicts": verdict_counts(clean), "shifted_verdicts": verdict_counts(shifted),
            "rules": rules}  # fmt: skip


def verdict_counts(runs: list[dict]) -> dict:
    counts = {"drift": sum(run["drift"] for run in runs), "runs": len(runs)}
    for run in runs:
        for reason in run["reasons"]:
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def prediction_check(case: Case, batches: int) -> dict[str, float]:
    """How often the predictions check alone fires on clean batches: against the training rows (what the command
    compared with before fd9117d, drift.reference) and against the holdout rows, which the model never trained
    on (what it compares with now)."""
    model = load("drift.model")
    fired = {"training": 0, "holdout": 0}
    for seed in range(batches):
        batch = draw_batch(case.pool, None, 0.0, np.random.default_rng([seed, 99]))
        for name, reference in (("training", case.training), ("holdout", case.holdout)):
            fired[name] += model.prediction_drift(case.model, reference, batch, TARGET, case.params["drift"])["drift"]
    return {name: count / batches for name, count in fired.items()}


# --- tables ---------------------------------------------------------------------------------------


def estimate_table(results: list[dict]) -> str:
    """gate.metric per selection setting (every metric of every setting is in the JSON file)."""
    lines = ["| data, model | selected on | strength | shift (sd) | metric | holdout | realised (mean) | "
             "estimate (mean) | mean abs. error | largest error | bias | 95% coverage | drop said/true: tp fp fn tn |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for result in results:
        for name, values in result["metrics"].items():
            if name != result["metric"]:
                continue
            verdicts = " ".join(str(result["verdicts"][key]) for key in ("tp", "fp", "fn", "tn"))
            cells = [f"{result['data']}, {result['model']}", result["selection"], f"{result['strength']:+g}",
                     f"{result['feature_shift_sd']:+.2f}", name, f"{result['holdout_metrics'][name]:.3f}",
                     f"{values['realised_mean']:.3f}", f"{values['estimate_mean']:.3f}", f"{values['mae']:.3f}",
                     f"{values['max_error']:.3f}", f"{values['bias']:+.3f}", f"{values['coverage']:.0%}",
                     verdicts]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def shift_kind(result: dict) -> str:
    if result["selection"] == "none":
        return "none"
    return "label shift" if result["selection"].startswith(TARGET) else "covariate shift"


def overall_table(results: list[dict]) -> str:
    """Every metric over all batches of one kind of shift: none, selection on a feature, selection on the target."""
    lines = ["| data, model | shift | batches | metric | mean abs. error | largest error | bias | 95% coverage | "
             "drop said/true: tp fp fn tn |", "|---|---|---:|---|---:|---:|---:|---:|---|"]  # fmt: skip
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for result in results:
        groups.setdefault((result["data"], result["model"], shift_kind(result)), []).append(result)
    for (data, model, kind), members in groups.items():
        batches = sum(member["batches"] for member in members)
        for name in members[0]["metrics"]:
            stats = [(member["metrics"][name], member["batches"]) for member in members if name in member["metrics"]]
            weighted = {key: sum(values[key] * count for values, count in stats) / batches
                        for key in ("mae", "bias", "coverage")}  # fmt: skip
            primary = name == members[0]["metric"]
            verdicts = " ".join(str(sum(member["verdicts"][key] for member in members))
                                for key in ("tp", "fp", "fn", "tn")) if primary else ""  # fmt: skip
            cells = [f"{data}, {model}", kind, str(batches), f"**{name}**" if primary else name,
                     f"{weighted['mae']:.3f}", f"{max(values['max_error'] for values, _ in stats):.3f}",
                     f"{weighted['bias']:+.3f}", f"{weighted['coverage']:.0%}", verdicts]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_tables(saved: dict) -> None:
    print(overall_table(saved["estimates"]), estimate_table(saved["estimates"]), verdict_table(saved["alerts"]),
          alert_table(saved["alerts"]), sep="\n\n")  # fmt: skip
    print(f"\n{saved['seconds']:.0f} s")


def verdict_table(results: list[dict]) -> str:
    lines = ["| data, model | holdout metrics | estimated on the holdout itself | clean runs: drift (reasons) | "
             "shifted runs: drift (reasons) | predictions check alone on clean batches: vs training rows (before) / "
             "vs holdout (the command) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for result in results:
        metrics = ", ".join(f"{name} {value:.3f}" for name, value in result["holdout_metrics"].items())
        estimated = ", ".join(f"{name} {value:.3f}" for name, value in result["estimate_on_holdout"].items())
        cells = [f"{result['data']}, {result['model']}", metrics, estimated,
                 *(verdicts_cell(result[key]) for key in ("clean_verdicts", "shifted_verdicts")),
                 " / ".join(f"{result['prediction_check'][key]:.0%}" for key in ("training", "holdout"))]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdicts_cell(counts: dict) -> str:
    reasons = ", ".join(f"{name} {count}" for name, count in counts.items() if name not in ("drift", "runs"))
    return f"{counts['drift'] / counts['runs']:.0%} of {counts['runs']} ({reasons or 'none'})"


def alert_table(results: list[dict]) -> str:
    lines = ["| data, model | rule | clean runs alerting | isolated shifted run: alert at it | isolated: any alert "
             f"from it on | persistent: found within {WITHIN} runs | found by the last run | median delay (runs) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    keys = ("clean_alert_rate", "isolated_alert_at_shift", "isolated_alert_after", "persistent_detected_within",
            "persistent_detected_by_end")  # fmt: skip
    for result in results:
        for rule, both in result["rules"].items():
            cells = [f"{result['data']}, {result['model']}", rule]
            sides = (both["shipped"], both["without_predictions"])
            cells += [" / ".join(f"{side[key]:.0%}" for side in sides) for key in keys]
            delays = [side["persistent_median_delay"] for side in sides]
            cells.append(" / ".join("-" if delay is None else f"{delay:g}" for delay in delays))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def measure(name: str, model_name: str, batches: int, count: int) -> tuple[list[dict], dict, dict]:
    """Both parts for one data set and model; their results and how long each took."""
    begun = time.monotonic()
    case = Case(name, model_name)
    estimates = estimate_errors(case, batches)
    middle = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):  # the command's one line per run
        alerts = {**alert_rates(case, sequences(case, count)), "prediction_check": prediction_check(case, batches)}
    return estimates, alerts, {"estimates_s": middle - begun, "alerts_s": time.monotonic() - middle}


def machine() -> dict:
    """Where and on what the figures were measured: cores, versions, and the template's commit."""
    import platform
    import subprocess

    import sklearn
    import statsmodels

    def git(*args: str) -> str:  # read-only: which commit, and whether the project folder differs from it
        return subprocess.run(["git", "-C", str(HERE.parent), *args], capture_output=True, text=True).stdout.strip()

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "scikit-learn": sklearn.__version__, "statsmodels": statsmodels.__version__,
            "load_average": os.getloadavg(), "template_commit": git("rev-parse", "HEAD"),
            "project_changed_since": bool(git("status", "--porcelain", "--", str(PARAMS.parent)))}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30, help="batches per selection setting (part 1)")
    parser.add_argument("--sequences", type=int, default=8, help="sequences of each kind (part 2)")
    parser.add_argument("--models", nargs="+", default=["random_forest", "gradient_boosting"])
    parser.add_argument("--data", nargs="+", default=list(DATA_SETS), choices=list(DATA_SETS))
    parser.add_argument("--quick", action="store_true", help="8 batches per setting, 4 sequences of each kind")
    parser.add_argument("--tables", type=Path, help="only print the tables of a saved result file")
    args = parser.parse_args()
    if args.tables:
        print_tables(json.loads(args.tables.read_text()))
        return 0
    batches, count = (8, 4) if args.quick else (args.batches, args.sequences)
    import sklearn.ensemble  # noqa: F401  (loads OpenMP, so that the limit below reaches it)
    from threadpoolctl import threadpool_limits

    started, timings, estimates, alerts = time.monotonic(), {}, [], []
    # One OpenMP thread: on 2 shared cores the loss models' gradient boosting ran 10x slower with two
    # threads waiting on each other. The forests still use every core (n_jobs=-1); no verdict changes.
    with threadpool_limits(limits=1, user_api="openmp"):
        for name in args.data:
            for model_name in args.models:
                found, rates, timings[f"{name}, {model_name}"] = measure(name, model_name, batches, count)
                estimates, alerts = [*estimates, *found], [*alerts, rates]
    saved = {"batch_rows": BATCH_ROWS, "batches_per_setting": batches, "sequences_per_kind": count,
             "seconds": time.monotonic() - started, "timings": timings, "machine": machine(),
             "estimates": estimates, "alerts": alerts}  # fmt: skip
    (HERE / "data").mkdir(exist_ok=True)
    out = HERE / "data" / ("estimate_rates_quick.json" if args.quick else "estimate_rates.json")
    out.write_text(json.dumps(saved, indent=2) + "\n")
    print_tables(saved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
