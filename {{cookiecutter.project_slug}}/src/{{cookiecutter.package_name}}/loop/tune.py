"""Tune: search train.<model>'s hyperparameters with Optuna, scored by cross-validation on the training rows.

The search space, the number of trials and the time budget are the `tune` section of params.yaml.
The score is gate.metric, averaged over `tune.cv_folds` folds of the training rows: the holdout
the gate judges on is never read. A new study first tries the values train.<model> holds now, so
the report compares the best trial with what the project already trains.

This module runs the search; tune_storage.py opens where the study lives, tune_report.py writes the
report, params_edit.py writes values into params.yaml, propose.py commits the branch.

The study lives in `.optuna/journal.log` (several processes on this machine may share it), or in
the database `OPTUNA_STORAGE` names (`postgresql://...`), which processes on many machines share.
`tune.trials` is the size of the study: running the same study again continues it.

Outputs, in `reports/tune/`: best.json, trials.csv, tune.md and Optuna's plots (optimisation
history, parameter importances). `--apply` writes the best values into params.yaml, changing
nothing else in the file. `--collect` (used by tune.yml) writes the report from the study without
running trials, applies it, and commits params.yaml on branch `tune` for a pull request.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import propose
from .data import DataError, read_table, split_target
from .errors import TuneError, fail, output
from .git import GitError
from .metrics import METRICS, score
from .params import ParamsError, load_params
from .params_edit import apply
from .train import build_pipeline, check_validation
from .tune_report import OUT_DEFAULT, check_out, finished, markdown, number, write_report
from .tune_storage import open_storage, shown_url

BRANCH = "tune"
IMAGES_REF = "refs/heads/tune-report"  # the plots' commit, pushed by tune.yml to refs/tune-reports/tune
MAX_WORKERS = 20  # tune.yml's matrix: GitHub runs at most 256 jobs per matrix, and each worker is a runner
MAX_TRIALS = 100_000
WORKER_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


# --- the search space -----------------------------------------------------------------------------


def dimensions(params: dict[str, Any], source: str | Path = "params.yaml") -> tuple[str, dict[str, Any]]:
    """Return (model, {key: spec}) of the space to search, or raise naming what is missing."""
    tune = params.get("tune")
    if not tune:
        raise ParamsError(f"{source}: section tune is missing: add one (see the README, 'Tuning')")
    model = params["train"]["model"]
    check_space(tune["space"] or {}, params["train"], params["data"]["task"], source)
    space = (tune["space"] or {}).get(model) or {}
    if not space:
        raise ParamsError(
            f"{source}: tune.space.{model} is empty or missing: give at least one key of train.{model} "
            "as {low: .., high: ..} or {choices: [..]}"
        )
    current = params["train"].get(model) or {}
    for key in space:
        if key not in current:
            # The study's first trial is the values train.<model> holds, and --apply writes into them.
            raise ParamsError(
                f"{source}: tune.space.{model}.{key}: train.{model} has no {key}: add it there with the value "
                "you train with now, the study's first trial"
            )
    return model, space


def check_space(space: dict[str, Any], train: dict[str, Any], task: str, source: str | Path = "params.yaml") -> None:
    """Refuse a model, key, bound or choice of the space that the estimator itself would not accept."""
    from .params import dimension_values, key_path, shown
    from .train import SettingRefused, configure, models

    for model, dims in space.items():
        if model not in models():
            allowed = f"a model of estimators.ESTIMATORS: one of {', '.join(models())}"
            raise ParamsError(f"{source}: tune.space.{key_path((model,))}: unknown model; must be {allowed}")
        for key, spec in (dims or {}).items():
            here = f"tune.space.{key_path((model, key))}"
            for name, value in dimension_values(here, spec):
                try:
                    configure(task, model, {**(train.get(model) or {}), key: value}, 0)
                except SettingRefused as error:
                    where = here if error.key is not None else f"{name} = {shown(value)}"
                    raise ParamsError(f"{source}: {where}: {error.reason}") from None


def integer_key(estimator: Any, key: str, current: dict[str, Any], spec: dict[str, Any]) -> bool:
    """Whether a range is searched over integers: scikit-learn's constraints on the key allow integers and
    no fractions; for an estimator without them, both bounds and the current value are integers."""
    from numbers import Integral, Real

    intervals = [
        constraint
        for constraint in getattr(type(estimator), "_parameter_constraints", {}).get(key, [])
        if hasattr(constraint, "type") and hasattr(constraint, "left")
    ]
    if intervals:
        kinds = {constraint.type for constraint in intervals}
        return Integral in kinds and Real not in kinds
    bounds = (spec["low"], spec["high"])
    if not all(isinstance(bound, int) and not isinstance(bound, bool) for bound in bounds):
        return False
    return not isinstance(current.get(key), float)


def suggest(trial: Any, estimator: Any, current: dict[str, Any], key: str, spec: dict[str, Any]) -> Any:
    """Ask the trial for a value of one dimension."""
    if "choices" in spec:
        return trial.suggest_categorical(key, spec["choices"])
    log = bool(spec.get("log", False))
    if integer_key(estimator, key, current, spec):
        return trial.suggest_int(key, int(spec["low"]), int(spec["high"]), log=log)
    return trial.suggest_float(key, float(spec["low"]), float(spec["high"]), log=log)


def in_space(value: Any, spec: dict[str, Any]) -> bool:
    """Whether a current value can be enqueued as a trial of this dimension."""
    if "choices" in spec:
        return value in spec["choices"]
    return isinstance(value, int | float) and not isinstance(value, bool) and spec["low"] <= value <= spec["high"]


# --- scoring --------------------------------------------------------------------------------------


def cross_validated(frame: Any, params: dict[str, Any], settings: dict[str, Any]) -> list[float]:
    """Score train settings by gate.metric on each fold of the training rows."""
    from sklearn.model_selection import KFold, StratifiedKFold

    data, tune, metric = params["data"], params["tune"], params["gate"]["metric"]
    features, target = split_target(frame, data["target"])
    classification = data["task"] == "classification"
    splitter = (StratifiedKFold if classification else KFold)(tune["cv_folds"], shuffle=True, random_state=tune["seed"])
    scores = []
    for fit_rows, score_rows in splitter.split(features, target if classification else None):
        pipeline = build_pipeline(features.iloc[fit_rows], data["task"], settings)
        pipeline.fit(features.iloc[fit_rows], target.iloc[fit_rows])
        scores.append(score(data["task"], pipeline, features.iloc[score_rows], target.iloc[score_rows])[metric])
    return scores


def with_values(train: dict[str, Any], model: str, values: dict[str, Any]) -> dict[str, Any]:
    settings = copy.deepcopy(train)
    settings[model] = {**(settings.get(model) or {}), **values}
    return settings


# --- storage and study ----------------------------------------------------------------------------


def load_study(storage: Any, name: str, params: dict[str, Any], seed: int) -> Any:
    """Create or load the study; refuse one made for another model, search space, metric or folds."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own lines say what happened
    metric = params["gate"]["metric"]
    direction = "maximize" if METRICS[metric].higher_is_better else "minimize"
    sampler = optuna.samplers.TPESampler(seed=seed % 2**32)
    study = optuna.create_study(storage=storage, study_name=name, direction=direction, sampler=sampler,
                                load_if_exists=True)  # fmt: skip
    model, space = dimensions(params)
    made_for = {"model": model, "space": space, "metric": metric, "cv_folds": params["tune"]["cv_folds"],
                "target": params["data"]["target"]}  # fmt: skip
    recorded = study.user_attrs.get("made_for")
    if recorded is None:
        study.set_user_attr("made_for", made_for)
    elif json.dumps(recorded, sort_keys=True) != json.dumps(made_for, sort_keys=True):
        changed = ", ".join(key for key in made_for if recorded.get(key) != made_for[key])
        raise TuneError(
            f"study {name!r} was made with another {changed} (tune.space, train.model, gate.metric, tune.cv_folds): "
            "its trials do not compare; give another study name (--study or TUNE_STUDY) or delete .optuna/"
        )
    return study


def run_trials(study: Any, params: dict[str, Any], frame: Any, share: int, worker: str, first: bool) -> int:
    """Run this process's trials; return how many it ran."""
    import optuna
    from optuna.study import MaxTrialsCallback

    tune, train = params["tune"], params["train"]
    model, space = dimensions(params)
    current = train[model]
    remaining = tune["trials"] - len(finished(study))
    count = min(share, remaining)
    if count <= 0:
        return 0
    baseline = {key: current[key] for key in space}
    from optuna.trial import TrialState

    live = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
    has_baseline = any(trial.user_attrs.get("baseline") and trial.state in live for trial in study.trials)
    if first and not has_baseline and all(in_space(current[key], spec) for key, spec in space.items()):
        study.enqueue_trial(baseline, user_attrs={"baseline": True})

    ran = []
    interrupt = Interrupt()
    from .train import configure

    estimator = configure(params["data"]["task"], model, current, 0)  # its constraints tell integers from numbers

    def objective(trial: Any) -> float:
        ran.append(trial.number)
        with interrupt.immediate():
            values = {key: suggest(trial, estimator, current, key, spec) for key, spec in space.items()}
            trial.set_user_attr("worker", worker)
            scores = cross_validated(frame, params, with_values(train, model, values))
            trial.set_user_attr("fold_scores", scores)
        mean = sum(scores) / len(scores)
        if not math.isfinite(mean):
            raise ValueError(f"{params['gate']['metric']} is not a number on some fold")
        return mean

    with interrupt.deferred():
        study.optimize(
            objective,
            n_trials=count,
            timeout=tune["timeout_minutes"] * 60,
            catch=(ValueError,),  # a combination the estimator refuses fails that trial, not the study
            callbacks=[
                MaxTrialsCallback(tune["trials"], states=(optuna.trial.TrialState.COMPLETE,)),
                lambda study, _trial: study.stop() if interrupt.requested else None,
            ],
        )
    if interrupt.requested:
        raise KeyboardInterrupt
    return len(ran)


class Interrupt:
    """Ctrl-C during a study: stop the trial that is computing, never Optuna's own bookkeeping.

    Optuna records a trial in its storage between trials (ask, tell, journal fsync); a
    KeyboardInterrupt landing there leaves a trial RUNNING forever or turns into Optuna's own
    UnboundLocalError traceback. So while the study runs, SIGINT only sets `requested`; inside
    the objective (`immediate`) it also raises, which Optuna records as a failed trial. The
    study stops after that trial, and `run_trials` raises KeyboardInterrupt once it is safe.
    """

    def __init__(self) -> None:
        self.requested = False
        self.inside = False

    def handle(self, _signum: int, _frame: Any) -> None:
        self.requested = True
        if self.inside:
            self.inside = False  # a second Ctrl-C lands in Optuna's bookkeeping: only noted
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        import signal
        import threading

        previous = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is not threading.main_thread() or previous is signal.SIG_IGN:
            yield  # signals reach only the main thread; an ignored SIGINT stays ignored
            return
        signal.signal(signal.SIGINT, self.handle)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    @contextlib.contextmanager
    def immediate(self) -> Iterator[None]:
        if self.requested:
            raise KeyboardInterrupt
        self.inside = True
        try:
            yield
        finally:
            self.inside = False


# --- tune.yml: the matrix, and the branch for the pull request -----------------------------------


def plan(workers: str, storage: str | None, trials: str = "1") -> str:
    """The matrix of worker numbers for tune.yml, as the JSON list GitHub's fromJSON reads."""
    whole(trials, "input trials", MAX_TRIALS)
    if not re.fullmatch(r"[1-9][0-9]?", workers.strip()) or int(workers) > MAX_WORKERS:
        raise TuneError(f"input workers={workers!r}: must be a whole number from 1 to {MAX_WORKERS}")
    count = int(workers)
    if storage and not storage.split(":", 1)[0].startswith("postgresql"):
        raise TuneError(
            f"OPTUNA_STORAGE{shown_url(storage)}: tune.yml needs a postgresql:// URL that every runner reaches "
            "(a sqlite file stays on one runner); or remove the secret to run the study in one job"
        )
    if count > 1 and not storage:
        print(f"tune: {count} workers asked, but OPTUNA_STORAGE is not set: one worker runs the study "
              "(a journal file cannot be shared between runners; docs/ci.md, 'Tuning')")  # fmt: skip
        count = 1
    return json.dumps(list(range(1, count + 1)))


def git(*args: str, env: dict[str, str] | None = None) -> str:
    from .git import run

    return run(*args, env=env, error=TuneError)


def check_checkout(params_path: Path) -> None:
    """--collect commits: refuse outside a git checkout, with changes not committed, or a local branch `tune`."""
    git("rev-parse", "--show-toplevel")
    if git("status", "--porcelain", "--untracked-files=no"):
        raise TuneError("--collect commits params.yaml on branch tune: commit or stash your changes first")
    if (
        subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}"], capture_output=True
        ).returncode
        == 0
    ):
        raise TuneError(f"--collect makes branch {BRANCH}, which exists here: delete it (git branch -D {BRANCH}) "
                        "or run in a fresh checkout")  # fmt: skip
    if not params_path.is_file():
        raise TuneError(f"{params_path}: file not found")


def branch(result: dict[str, Any], out: Path, params_path: Path) -> None:
    """Commit params.yaml on branch `tune` and the plots on IMAGES_REF; bundle both for the pull-request job."""
    model = result["model"]
    plots = sorted(out.glob("*.png"))
    index = out / "images.index"
    env = {"GIT_INDEX_FILE": str(index.resolve())}
    if plots:
        git("add", "--force", *map(str, plots), env=env)
    tree = git("write-tree", env=env)  # the empty tree when no plot could be drawn
    index.unlink(missing_ok=True)
    images_commit = git("commit-tree", tree, "-m", f"Tuning plots of study {result['study']}")
    git("update-ref", IMAGES_REF, images_commit)
    base = git("rev-parse", "HEAD")
    start = git("rev-parse", "--abbrev-ref", "HEAD")
    message = f"Tune train.{model}: {result['metric']} {number(result['best']['value'])} (study {result['study']})"
    try:
        propose.commit(BRANCH, message, out / "tune.bundle", [str(params_path)], extra_refs=(IMAGES_REF,))
    except (GitError, propose.ProposeError) as error:
        raise TuneError(str(error)) from None
    git("switch", "--quiet", "--detach" if start == "HEAD" else start, *([base] if start == "HEAD" else []))
    (out / "images.sha").write_text(images_commit + "\n", encoding="utf-8")


def image_base(commit: str) -> str | None:
    """Where GitHub serves the plots of the images commit, from the runner's environment."""
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if not (commit and server and repository):
        return None
    return f"{server}/{repository}/raw/{commit}/{OUT_DEFAULT}"


# --- command --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tune", description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="data/prepared/train.csv", help="training rows (CSV)")
    parser.add_argument(
        "--validation",
        default="reports/validation/summary.json",
        help="validation summary JSON that must report success",
    )
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default=OUT_DEFAULT, help="report folder")
    parser.add_argument(
        "--study",
        default=os.environ.get("TUNE_STUDY") or None,
        help="study name (default: <register.model_name>-<train.model>; env TUNE_STUDY)",
    )
    parser.add_argument(
        "--trials",
        default=os.environ.get("TUNE_TRIALS") or None,
        help="trials in the study in total (default: tune.trials; env TUNE_TRIALS)",
    )
    parser.add_argument(
        "--workers",
        default=os.environ.get("TUNE_WORKERS") or "1",
        help="processes sharing the study: this one runs ceil(trials / workers) (env TUNE_WORKERS)",
    )
    parser.add_argument(
        "--worker",
        default=os.environ.get("TUNE_WORKER") or "",
        help="this worker's name in the trials table (env TUNE_WORKER)",
    )
    parser.add_argument("--apply", action="store_true", help="write the best values into params.yaml")
    parser.add_argument(
        "--collect",
        action="store_true",
        help="run no trial: report the study, apply it and commit it on branch tune (tune.yml)",
    )
    parser.add_argument("--plan", action="store_true", help="print tune.yml's matrix of workers (to GITHUB_OUTPUT)")
    args = parser.parse_args(argv)
    storage_url = os.environ.get("OPTUNA_STORAGE") or None
    try:
        params = load_params(args.params)
        model, _ = dimensions(params, args.params)
        if args.plan:
            workers = plan(args.workers, storage_url, args.trials or "1")
            if storage_url:
                open_storage(storage_url)  # reachable, and Optuna's tables made once, before the workers start
            return write_plan(workers)
        trials = params["tune"]["trials"] if args.trials is None else whole(args.trials, TRIALS, MAX_TRIALS)
        workers = whole(args.workers, "--workers (TUNE_WORKERS)", MAX_TRIALS)
        params["tune"]["trials"] = trials
        if args.worker and not WORKER_NAME.fullmatch(args.worker):
            raise TuneError(f"--worker (TUNE_WORKER) {args.worker!r}: must be 1 to 40 letters, digits, '_' or '-'")
        name = args.study or f"{params['register']['model_name']}-{model}"
        if not STUDY_NAME.fullmatch(name):
            raise TuneError(
                f"study name {name!r} (--study, TUNE_STUDY, else <register.model_name>-<train.model>): must be up to "
                "255 letters, digits, '.', '_' and '-', starting with a letter or digit"
            )
        out, params_path = Path(args.out), Path(args.params)
        check_out(out)
        frame = None
        if args.collect:
            check_checkout(params_path)
        else:
            check_validation(args.validation)
            frame = read_table(args.train)
            split_target(frame, params["data"]["target"])
        storage = open_storage(storage_url)
        study = load_study(storage, name, params, params["tune"]["seed"] + worker_offset(args.worker))
        if not args.collect:
            share = math.ceil(trials / workers)
            ran = run_trials(study, params, frame, share, args.worker, first=args.worker in ("", "1"))
            print(f"tune: study {name}: this process ran {ran} trial(s); {len(finished(study))} of {trials} finished")
        result = write_report(study, params, out)
        unchanged = all(result["current"].get(key) == value for key, value in result["best"]["params"].items())
        if args.collect and unchanged:
            print(f"tune: the best values are the ones train.{model} holds already: no pull request")
            output("changed", "false")
        elif args.collect:
            apply(params_path, model, result["best"]["params"])
            branch(result, out, params_path)
            commit = (out / "images.sha").read_text(encoding="utf-8").strip()
            drawn = [path.stem for path in sorted(out.glob("*.png"))]
            (out / "tune.md").write_text(markdown(result, finished(study), drawn, image_base(commit)), encoding="utf-8")
            output("changed", "true")
        elif args.apply:
            changed = apply(params_path, model, result["best"]["params"])
            values = json.dumps(result["best"]["params"]) + ("" if changed else " (unchanged)")
            print(f"tune: wrote the best values into {params_path}: train.{model} {values}")
        best, baseline = result["best"], result["baseline"]
        versus = f" (the values it started from: {number(baseline['value'])})" if baseline else ""
        print(
            f"tune: best {result['metric']} {number(best['value'])}{versus} with {json.dumps(best['params'])} -> {out}/"
        )
        return 0
    except KeyboardInterrupt:
        print("tune: interrupted; run the same command again to continue the study", file=sys.stderr)
        return 130
    except (DataError, ParamsError, TuneError) as error:
        return fail(error, 2)


TRIALS = "--trials (TUNE_TRIALS)"


def whole(value: str, name: str, most: int) -> int:
    if not re.fullmatch(r"[0-9]{1,7}", str(value).strip()) or not 1 <= int(value) <= most:
        raise TuneError(f"{name}={value!r}: must be a whole number from 1 to {most}")
    return int(value)


def worker_offset(worker: str) -> int:
    """Different workers sample differently: seed + worker number (0 for a worker with no number)."""
    return int(worker) if worker.isascii() and worker.isdigit() else 0


def write_plan(workers: str) -> int:
    output("workers", workers)
    return 0
