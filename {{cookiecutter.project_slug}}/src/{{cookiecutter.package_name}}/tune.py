"""Tune: search train.<model>'s hyperparameters with Optuna, scored by cross-validation on the training rows.

The search space, the number of trials and the time budget are the `tune` section of params.yaml.
The score is gate.metric, averaged over `tune.cv_folds` folds of the training rows: the holdout
the gate judges on is never read. A new study first tries the values train.<model> holds now, so
the report compares the best trial with what the project already trains.

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
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .data import DataError, read_table, split_target
from .errors import fail, output
from .files import replace_text
from .markdown import GITHUB_LIMIT, code_span, escape_cell, escape_text
from .metrics import METRICS, score
from .params import ParamsError, load_params
from .strict_json import dumps
from .train import build_pipeline, check_validation

JOURNAL = Path(".optuna/journal.log")
BRANCH = "tune"
IMAGES_REF = "refs/heads/tune-report"  # the plots' commit, pushed by tune.yml to refs/tune-reports/tune
PLOTS = {"optimization_history": "Optimisation history", "param_importances": "Parameter importances"}
MAX_WORKERS = 20  # tune.yml's matrix: GitHub runs at most 256 jobs per matrix, and each worker is a runner
STORAGE_SCHEMES = ("postgresql", "sqlite")
MAX_TRIALS = 100_000
WORKER_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
CREATE_ATTEMPTS = 5


class TuneError(ValueError):
    """Tuning cannot start or finish: the message names the setting or file and what is allowed."""


# --- the search space -----------------------------------------------------------------------------


def dimensions(params: dict[str, Any], source: str | Path = "params.yaml") -> tuple[str, dict[str, Any]]:
    """Return (model, {key: spec}) of the space to search, or raise naming what is missing."""
    tune = params.get("tune")
    if not tune:
        raise ParamsError(f"{source}: section tune is missing: add one (see the README, 'Tuning')")
    model = params["train"]["model"]
    space = (tune["space"] or {}).get(model) or {}
    if not space:
        raise ParamsError(
            f"{source}: tune.space.{model} is empty or missing: give at least one key of train.{model} "
            "as {low: .., high: ..} or {choices: [..]}"
        )
    return model, space


def integer_key(model: str, key: str, current: dict[str, Any], low: Any) -> bool:
    """Whether train.<model>.<key> takes only integers (then its range is searched over integers)."""
    from .params import Params

    settings = Params.model_fields["train"].annotation.model_fields[model].annotation
    try:
        settings.model_validate({**current, key: float(low) + 0.5})
    except Exception:
        return True
    return False


def suggest(trial: Any, model: str, current: dict[str, Any], key: str, spec: dict[str, Any]) -> Any:
    """Ask the trial for a value of one dimension."""
    if "choices" in spec:
        return trial.suggest_categorical(key, spec["choices"])
    log = bool(spec.get("log", False))
    if integer_key(model, key, current, spec["low"]):
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
    settings[model] = {**settings[model], **values}
    return settings


# --- storage and study ----------------------------------------------------------------------------


def shown_url(url: str) -> str:
    """`=<scheme>://<host:port>/<database>` of the storage URL: no user, password or query, for messages."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme:
        return " (not a URL)"
    host = parts.netloc.rpartition("@")[2]
    return f"={parts.scheme}://{host}{parts.path}"


def redacted(text: str, url: str) -> str:
    """The text with every piece of the URL's user information and query removed (a driver may quote them)."""
    parts = urllib.parse.urlsplit(url)
    secrets = [parts.netloc.rpartition("@")[0], parts.query]
    pieces = {piece for secret in secrets for piece in re.split(r"[:@&=]", secret) if len(piece) >= 3}
    for piece in sorted(pieces | {s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def open_storage(url: str | None) -> Any:
    """Return the study storage: the database `url` names, else the journal file. Fails if unreachable."""
    import optuna

    if not url:
        from optuna.storages.journal import JournalFileBackend

        JOURNAL.parent.mkdir(exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(JOURNAL)))
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in STORAGE_SCHEMES:
        raise TuneError(
            f"OPTUNA_STORAGE{shown_url(url)}: not a supported database URL; allowed: "
            "postgresql://user:password@host/db or sqlite:///path, or unset for the journal file .optuna/journal.log"
        )
    if scheme == "sqlite" and urllib.parse.urlsplit(url).path in ("", "/", "/:memory:"):
        raise TuneError(
            f"OPTUNA_STORAGE{shown_url(url)}: an in-memory database keeps nothing; give a file, sqlite:///studies.db"
        )
    engine = {"pool_pre_ping": True}
    if scheme == "postgresql":
        engine["connect_args"] = {"connect_timeout": 10}
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(CREATE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine)
        except (IntegrityError, ProgrammingError):
            # Workers starting together on an empty database all create Optuna's tables; the
            # losers of that race see "already exists" and find the tables on the next try.
            if attempt == CREATE_ATTEMPTS - 1:
                raise TuneError(f"OPTUNA_STORAGE{shown_url(url)}: cannot create Optuna's tables") from None
            time.sleep(1 + attempt)
        except Exception as error:  # sqlalchemy's OperationalError, ArgumentError, a missing driver ...
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            reason = redacted(reason, url)
            raise TuneError(f"OPTUNA_STORAGE{shown_url(url)}: cannot open the study storage: {reason}") from None
    raise AssertionError("unreachable")


def finished(study: Any) -> list[Any]:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


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

    def objective(trial: Any) -> float:
        ran.append(trial.number)
        with interrupt.immediate():
            values = {key: suggest(trial, model, current, key, spec) for key, spec in space.items()}
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


# --- the report -----------------------------------------------------------------------------------


def summary(study: Any, params: dict[str, Any]) -> dict[str, Any]:
    """What best.json holds: the best trial, the baseline (current values) and counts."""
    from collections import Counter

    model, space = dimensions(params)
    metric = params["gate"]["metric"]
    complete = finished(study)
    if not complete:
        failed = [trial for trial in study.trials if trial.state.name == "FAIL"]
        reason = failed[-1].system_attrs.get("fail_reason", "") if failed else ""
        raise TuneError(
            f"study {study.study_name!r}: no trial finished ({len(failed)} failed){': ' + reason if reason else ''}"
        )
    best = study.best_trial
    baseline = next((trial for trial in complete if trial.user_attrs.get("baseline")), None)
    states = Counter(trial.state.name.lower() for trial in study.trials)
    return {
        "study": study.study_name,
        "model": model,
        "metric": metric,
        "direction": study.direction.name.lower(),
        "cv_folds": params["tune"]["cv_folds"],
        "best": {"number": best.number, "value": best.value, "params": best.params},
        "baseline": {"number": baseline.number, "value": baseline.value, "params": baseline.params}
        if baseline
        else None,
        "current": {key: params["train"][model][key] for key in space},
        "trials": dict(sorted(states.items())),
        "workers": dict(sorted(Counter(str(trial.user_attrs.get("worker", "")) for trial in complete).items())),
    }


def draw(study: Any, out: Path) -> list[str]:
    """Save Optuna's plots as PNG; return the names drawn (importances need two finished trials)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    drawn = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
        for name in PLOTS:
            try:
                axes = getattr(plots, f"plot_{name}")(study)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # too few distinct trials for this plot
            figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
            figure.set_size_inches(8, 4.5)
            figure.tight_layout()
            figure.savefig(out / f"{name}.png", dpi=100)
            plt.close(figure)
            drawn.append(name)
    return drawn


def number(value: Any) -> str:
    """A value of a trial as a table cell: numbers as written, anything else escaped."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return code_span(json.dumps(value), cell=True)


def markdown(result: dict[str, Any], trials: list[Any], drawn: list[str], images: str | None) -> str:
    """The tuning report (also the pull request's body): untrusted text escaped for GitHub."""
    metric, model = result["metric"], result["model"]
    best, baseline = result["best"], result["baseline"]
    lines = [
        f"## Tuning {code_span(model)} by {code_span(metric)}",
        "",
        f"Study {code_span(result['study'])}: {', '.join(f'{n} {s}' for s, n in result['trials'].items())}; "
        f"score: mean {escape_text(metric)} over {result['cv_folds']} folds of the training rows "
        "(the holdout is not used).",
        "",
        "| | " + escape_cell(metric) + " | trial |",
        "|---|---|---|",
        f"| best | {number(best['value'])} | {best['number']} |",
    ]
    if baseline:
        lines.append(f"| values the study started from | {number(baseline['value'])} | {baseline['number']} |")
    lines += ["", f"| `train.{model}` key | current | best |", "|---|---|---|"]
    for key, value in best["params"].items():
        lines.append(f"| {code_span(key, cell=True)} | {number(result['current'].get(key))} | {number(value)} |")
    if not baseline:
        lines += ["", "The current values were not a trial (outside the space, or the study began elsewhere)."]
    lines += [
        "",
        "Trials per worker: " + ", ".join(f"{escape_text(w or 'local')} {n}" for w, n in result["workers"].items()),
    ]
    top = sorted(trials, key=lambda trial: trial.value, reverse=result["direction"] == "maximize")[:10]
    keys = list(best["params"])
    header = ["trial", escape_cell(metric), *(code_span(key, cell=True) for key in keys)]
    lines += ["", "### Best trials", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for trial in top:
        cells = [str(trial.number), number(trial.value)] + [number(trial.params.get(k)) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    for name in drawn:
        target = f"{images.rstrip('/')}/{name}.png" if images else f"{name}.png"
        lines += ["", f"![{PLOTS[name]}]({target})"]
    text = "\n".join(lines) + "\n"
    return text if len(text) <= GITHUB_LIMIT else text[: GITHUB_LIMIT - 40] + "\n\n(report cut at GitHub's limit)\n"


REPORT_FILES = {"best.json", "trials.csv", "tune.md", "tune.bundle", "images.sha", *(f"{name}.png" for name in PLOTS)}


def check_out(out: Path) -> None:
    """Refuse a report folder holding anything this command did not write: it is replaced whole."""
    if out.exists() and (not out.is_dir() or any(entry.name not in REPORT_FILES for entry in out.iterdir())):
        raise TuneError(
            f"--out {out}: holds files tune did not write; give an empty or new folder (default {OUT_DEFAULT})"
        )


def write_report(study: Any, params: dict[str, Any], out: Path, images: str | None = None) -> dict[str, Any]:
    """Write best.json, trials.csv, tune.md and the plots to `out`, replacing it whole."""
    check_out(out)
    result = summary(study, params)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".tune-", dir=out.parent))
    try:
        (scratch / "best.json").write_text(dumps(result, indent=2) + "\n", encoding="utf-8")
        study.trials_dataframe(attrs=("number", "value", "state", "params", "user_attrs", "duration")).to_csv(
            scratch / "trials.csv", index=False
        )
        drawn = draw(study, scratch)
        (scratch / "tune.md").write_text(markdown(result, finished(study), drawn, images), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        scratch.rename(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


# --- --apply: change the tuned values in params.yaml and nothing else ----------------------------


def yaml_scalar(value: Any) -> str:
    """A value as a YAML scalar that reads back as the same type (PyYAML needs a point in 1e-05)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format(value, ".6g")
        mantissa, _, exponent = text.partition("e")
        mantissa = mantissa if "." in mantissa else mantissa + ".0"
        return mantissa + ("e" + exponent if exponent else "")
    return json.dumps(value)


def apply(path: Path, model: str, values: dict[str, Any]) -> list[str]:
    """Replace train.<model>.<key> values in place (comments and layout kept); return the keys changed."""
    import yaml

    with open(path, encoding="utf-8", newline="") as handle:  # keeps \r\n line ends as they are
        text = handle.read()
    current = load_params_text(text, path)["train"][model]
    values = {key: value for key, value in values.items() if current.get(key) != value}
    root = yaml.compose(text)
    node = mapping_value(mapping_value(root, "train"), model)
    edits = []
    for key, value in values.items():
        target = mapping_value(node, key)
        if not isinstance(target, yaml.ScalarNode):
            raise TuneError(f"{path}: train.{model}.{key} is not a plain value; write it as `{key}: <value>`")
        edits.append((target.start_mark.index, target.end_mark.index, yaml_scalar(value)))
    changed = text
    for start, end, new in sorted(edits, reverse=True):
        changed = changed[:start] + new + changed[end:]
    params = load_params_text(changed, path)
    for key, value in values.items():
        if params["train"][model][key] != value and not (
            isinstance(value, float) and math.isclose(params["train"][model][key], value, rel_tol=1e-5)
        ):
            raise TuneError(f"{path}: train.{model}.{key} reads back as {params['train'][model][key]!r}, not {value!r}")
    if values:
        replace_text(path, changed)
    return list(values)


def mapping_value(node: Any, key: str) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    raise TuneError(f"params.yaml: cannot find the key {key!r} to write the tuned value into")


def load_params_text(text: str, path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        copy_path = Path(scratch) / path.name
        copy_path.write_text(text, encoding="utf-8")
        try:
            return load_params(copy_path)
        except ParamsError as error:
            raise TuneError(str(error).replace(str(copy_path), str(path))) from None


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
    done = subprocess.run(["git", *args], capture_output=True, text=True, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise TuneError(f"git {args[0]}: {' '.join(done.stderr.split()) or 'failed'}")
    return done.stdout.strip()


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
    git("switch", "--quiet", "--create", BRANCH)
    git("add", str(params_path))
    message = f"Tune train.{model}: {result['metric']} {number(result['best']['value'])} (study {result['study']})"
    git("commit", "--quiet", "--no-verify", "--message", message)
    git("bundle", "create", str(out / "tune.bundle"), BRANCH, IMAGES_REF, f"^{base}")
    git("switch", "--quiet", "--detach" if start == "HEAD" else start, *([base] if start == "HEAD" else []))
    (out / "images.sha").write_text(images_commit + "\n", encoding="utf-8")


def image_base(commit: str) -> str | None:
    """Where GitHub serves the plots of the images commit, from the runner's environment."""
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if not (commit and server and repository):
        return None
    return f"{server}/{repository}/raw/{commit}/{OUT_DEFAULT}"


OUT_DEFAULT = "reports/tune"


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
