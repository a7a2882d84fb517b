"""Check every answer before a file is written.

Each bad answer is reported on one line naming the key, the value and what is allowed; the
hook then exits non-zero and cookiecutter removes the half-made project folder.
The functions are importable so tests/test_hooks.py can check each rule directly.
This file is itself rendered by Jinja, so template syntax in it is kept inside a raw block.
"""

from __future__ import annotations

import contextlib
import csv
import json
import keyword
import math
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

# Rendered by cookiecutter into a JSON string literal; parsed, never pasted into code.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""
# The answers as given, before cookiecutter rendered them (absent when another tool drives generation).
GIVEN_ANSWERS_JSON = r"""{{ _cookiecutter | default({}) | tojson }}"""
# {% raw %}
TEMPLATE_MARKERS = ("{{", "}}", "{%", "%}", "{#")
TEMPLATE_SYNTAX = "template syntax ({{ }}, {% %}, {# #}) is not allowed in an answer; give the literal value"
# {% endraw %}
# Query parameter names that carry a secret (token=, password=, api_key=, Azure's sig=, ...).
SECRET_PARAMETER = re.compile(r"token|pass|pwd|secret|key|auth|sig|credential", re.IGNORECASE)

SLUG = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Names a package must not take: the generated project imports these, or pytest collects them.
DEPENDENCIES = {
    "dvc", "great_expectations", "joblib", "matplotlib", "mlflow", "numpy", "pandas", "pyarrow",
    "pytest", "ruff", "scipy", "sklearn", "yaml", "test", "tests", "src", "data", "models", "reports",
}  # fmt: skip
CHOICES = {
    "python_version": ["3.11", "3.12", "3.13"],
    "task": ["classification", "regression"],
    "dataset": ["demo", "csv"],
    "model": ["random_forest", "gradient_boosting", "linear"],
    "dvc_remote": ["none", "local", "s3", "gcs", "azure"],
    "retrain_on_drift": ["no", "yes"],
    "license": ["MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary"],
}
# Same names and ranges as metrics.METRICS in the generated package (a test keeps them equal).
METRIC_RANGES = {
    "classification": {"roc_auc": (0.0, 1.0), "accuracy": (0.0, 1.0), "f1": (0.0, 1.0)},
    "regression": {"r2": (-math.inf, 1.0), "rmse": (0.0, math.inf), "mae": (0.0, math.inf)},
}
HIGHER_IS_BETTER = {"roc_auc", "accuracy", "f1", "r2"}
# params.yaml's gate.tolerance as baked (a test keeps them equal).
DEFAULT_TOLERANCE = 0.01
REMOTE_SCHEMES = {"s3": "s3://", "gcs": "gs://", "azure": "azure://"}
TRACKING_SCHEMES = ("http://", "https://", "databricks", "sqlite:///", "postgresql://", "mysql://", "mssql://")
MIN_ROWS = 50
# More classes than this is almost always a quantity or an identifier, not a label.
MAX_CLASSES = 50
# The answers that are cron expressions: drift.yml's and score.yml's schedules.
SCHEDULES = ("drift_schedule", "score_schedule")
CRON_FIELDS = [  # name, low, high, names allowed in place of numbers
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]),
    ("day of week", 0, 6, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
]


def check_choices(answers: dict) -> list[str]:
    return [
        f"{key}={answers.get(key)!r}: not one of the choices; allowed: {', '.join(allowed)}"
        for key, allowed in CHOICES.items()
        if answers.get(key) not in allowed
    ]


def check_names(answers: dict) -> list[str]:
    errors = []
    for key in ("project_name", "author_name", "target_column"):
        if not str(answers.get(key, "")).strip():
            errors.append(f"{key}={answers.get(key)!r}: must not be blank")
    slug = answers.get("project_slug", "")
    if not SLUG.match(slug):
        errors.append(
            f"project_slug={slug!r}: not a valid folder name; allowed: lowercase letters and digits, "
            "separated by single '-' or '_', starting with a letter"
        )
    package = answers.get("package_name", "")
    if not PACKAGE.match(package) or keyword.iskeyword(package):
        errors.append(
            f"package_name={package!r}: not a valid Python package name; allowed: lowercase letters, digits "
            "and '_', starting with a letter, not a Python keyword"
        )
    elif package in sys.stdlib_module_names or package in DEPENDENCIES:
        errors.append(
            f"package_name={package!r}: would shadow the standard library or a dependency; choose another name "
            f"(not {package!r})"
        )
    model_name = answers.get("model_name", "")
    if not MODEL_NAME.match(model_name):
        errors.append(
            f"model_name={model_name!r}: not a valid registered model name; allowed: letters, digits, "
            "'_', '.', '-', starting with a letter or digit"
        )
    return errors


def check_metric(answers: dict) -> list[str]:
    task, metric, raw = answers.get("task"), answers.get("primary_metric"), answers.get("metric_threshold")
    ranges = METRIC_RANGES.get(task)
    if ranges is None:
        return []  # the task itself is reported by check_choices
    if metric not in ranges:
        return [f"primary_metric={metric!r}: does not fit task={task!r}; allowed: {', '.join(ranges)}"]
    if not str(raw or "").strip():
        return []  # no absolute threshold: the gate demands a margin over a trivial baseline
    try:
        threshold = float(raw)
    except (TypeError, ValueError):
        return [f"metric_threshold={raw!r}: not a number"]
    low, high = ranges[metric]
    if not (math.isfinite(threshold) and low <= threshold <= high):
        return [f"metric_threshold={raw!r}: outside the range of {metric}; allowed: {low} to {high}"]
    # The project's params check refuses a gate.tolerance that is not below the distance from the
    # threshold to the metric's best value (see params.py); the bake leaves room for the default one.
    best = high if metric in HIGHER_IS_BETTER else low
    if 0 < abs(best - threshold) <= DEFAULT_TOLERANCE:
        limit = best - DEFAULT_TOLERANCE if metric in HIGHER_IS_BETTER else best + DEFAULT_TOLERANCE
        return [
            f"metric_threshold={raw!r}: too close to the best {metric} ({best:g}) for the gate's tolerance "
            f"{DEFAULT_TOLERANCE}; allowed: {best:g} exactly, or {'below' if metric in HIGHER_IS_BETTER else 'above'} "
            f"{limit:g}"
        ]
    return []


def check_cron_field(text: str, name: str, low: int, high: int, names: list[str]) -> str | None:
    """Return why one cron field is invalid, or None."""

    def value(token: str) -> int:
        if token.lower() in names:
            return names.index(token.lower()) + low
        if not token.isdigit():
            raise ValueError(token)
        return int(token)

    for part in text.split(","):
        base, _, step = part.partition("/")
        try:
            if step and (not step.isdigit() or int(step) == 0):
                raise ValueError(part)
            bounds = [low, high] if base == "*" else [value(token) for token in base.split("-", 1)]
            if any(not low <= bound <= high for bound in bounds) or bounds[0] > bounds[-1]:
                raise ValueError(part)
        except ValueError:
            return f"{name} field {text!r} is invalid; allowed: *, {low}-{high}, ranges a-b, lists a,b and steps */n"
    return None


def check_cron(answers: dict, name: str) -> list[str]:
    """Return why the cron expression of answer `name` is invalid (one line), or nothing."""
    schedule = str(answers.get(name, ""))
    fields = schedule.split()
    if len(fields) != 5:
        return [
            (
                f"{name}={schedule!r}: a cron expression needs 5 fields "
                "(minute hour day-of-month month day-of-week), e.g. '0 6 * * 1'"
            )
        ]
    problems = [check_cron_field(text, *spec) for text, spec in zip(fields, CRON_FIELDS, strict=True)]
    return [f"{name}={schedule!r}: {problem}" for problem in problems if problem]


def check_schedules(answers: dict) -> list[str]:
    return [error for name in SCHEDULES for error in check_cron(answers, name)]


def check_remote(answers: dict) -> list[str]:
    remote, url = answers.get("dvc_remote"), str(answers.get("dvc_remote_url", "")).strip()
    if remote == "none":
        return [] if not url else [f"dvc_remote_url={url!r}: must be blank when dvc_remote='none'"]
    if remote == "local":
        if not url or "://" in url:
            return [f"dvc_remote_url={url!r}: dvc_remote='local' needs a folder path, not a URL"]
        return []
    scheme = REMOTE_SCHEMES.get(remote)
    if scheme and (not url.startswith(scheme) or len(url) <= len(scheme)):
        return [f"dvc_remote_url={url!r}: does not fit dvc_remote={remote!r}; allowed: {scheme}<bucket>/<path>"]
    return []


def has_credentials(uri: str) -> bool:
    """Tell whether a URI carries a user, password or secret query parameter."""
    parts = urlsplit(uri)
    names = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    return "@" in parts.netloc or any(SECRET_PARAMETER.search(name) for name in names)


def check_tracking_uri(answers: dict) -> list[str]:
    """Refuse an unsupported scheme or credentials; a URI with credentials is never echoed."""
    uri = str(answers.get("mlflow_tracking_uri", "")).strip()
    try:
        secret = has_credentials(uri)
    except ValueError:
        return ["mlflow_tracking_uri: not a valid URI; allowed: blank (embedded sqlite) or a tracking server URI"]
    if secret:
        return [
            "mlflow_tracking_uri: holds credentials (a user or password before '@', or a secret query parameter); "
            "credentials belong in secrets: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD "
            "(or MLFLOW_TRACKING_TOKEN), or the whole URI as MLFLOW_TRACKING_URI, in the environment"
        ]
    if uri and not uri.startswith(TRACKING_SCHEMES):
        allowed = ", ".join(TRACKING_SCHEMES)
        return [f"mlflow_tracking_uri={uri!r}: unsupported; allowed: blank (embedded sqlite) or {allowed}"]
    return []


def origin_dir(answers: dict) -> Path:
    """Return the folder cookiecutter was started in, where a relative CSV path begins.

    The shell's PWD, else the output folder (cookiecutter's default output folder is that one).
    """
    return Path(os.environ.get("PWD") or answers.get("_output_dir") or ".")


def resolve_data_path(raw: str, answers: dict) -> Path:
    """Resolve a relative data path from the folder cookiecutter was run in."""
    path = Path(os.path.expanduser(raw))
    return path if path.is_absolute() else origin_dir(answers) / path


def template_dir(answers: dict) -> Path:
    """Return the template's folder as an absolute path; cookiecutter passes a local one as typed.

    cookiecutter runs hooks from inside the template folder, so the working folder of this hook's
    parent (the cookiecutter process) is that folder where the system shows it (Linux /proc);
    elsewhere the path is read from where cookiecutter was started.
    """
    raw = os.path.expanduser(str(answers.get("_repo_dir", "")))
    if not raw or os.path.isabs(raw):
        return Path(raw)
    candidates = [os.path.join(origin_dir(answers), raw)]
    with contextlib.suppress(OSError):
        candidates.insert(0, os.readlink(f"/proc/{os.getppid()}/cwd"))
    found = next(
        (path for path in candidates if os.path.isfile(os.path.join(path, "cookiecutter.json"))), candidates[-1]
    )
    return Path(os.path.abspath(found))


def check_csv(answers: dict) -> list[str]:
    if answers.get("dataset") != "csv":
        return []
    raw, target = str(answers.get("data_path", "")).strip(), answers.get("target_column")
    if not raw:
        return ["data_path='': dataset='csv' needs the path of a CSV file"]
    path = resolve_data_path(raw, answers)
    if not path.is_file():
        return [f"data_path={raw!r}: file not found (looked at {path})"]
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            rows = [row for row in reader if row]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return [f"data_path={raw!r}: cannot be read as a UTF-8 CSV file: {error}"]
    if target not in header:
        return [f"target_column={target!r}: not a column of {raw}; columns are: {', '.join(header)}"]
    if len(header) < 2:
        return [f"data_path={raw!r}: needs at least one feature column besides the target"]
    ragged = next((number for number, row in enumerate(rows, start=2) if len(row) != len(header)), None)
    if ragged:
        return [f"data_path={raw!r}: line {ragged} has a different number of fields than the header"]
    labels = [row[header.index(target)].strip() for row in rows if row[header.index(target)].strip()]
    if len(labels) < MIN_ROWS:
        return [f"data_path={raw!r}: {len(labels)} rows with a target value; at least {MIN_ROWS} are needed"]
    return check_target(labels, answers.get("task"), f"target_column={target!r}", raw)


def check_target(labels: list[str], task: str | None, name: str, raw: str) -> list[str]:
    """Refuse a target that contradicts the task: one value, text to regress, a quantity to classify."""
    distinct = set(labels)
    if len(distinct) < 2:
        return [f"{name}: has a single value in {raw}; nothing to learn"]
    numeric = all(_is_number(label) for label in distinct)
    if task == "regression" and not numeric:
        return [f"{name}: task='regression' needs a numeric target; found non-numbers in {raw}"]
    if task != "classification":
        return []
    fractional = sorted((label for label in distinct if numeric and not float(label).is_integer()), key=float)
    if fractional:
        examples = ", ".join(fractional[:3])
        return [
            f"{name}: task='classification' needs class labels, but {raw} holds {len(distinct)} different "
            f"numbers with fractions (e.g. {examples}); for a quantity choose task='regression'"
        ]
    if len(distinct) > MAX_CLASSES:
        return [
            f"{name}: {len(distinct)} different values in {raw}; task='classification' allows at most "
            f"{MAX_CLASSES} classes; for a quantity choose task='regression'"
        ]
    return []


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


CHECKS = (check_choices, check_names, check_metric, check_schedules, check_remote, check_tracking_uri, check_csv)


def validate(answers: dict) -> list[str]:
    """Return one message per bad answer; empty when every answer is allowed."""
    return [error for check in CHECKS for error in check(answers)]


def has_template_syntax(text: object) -> bool:
    return isinstance(text, str) and any(marker in text for marker in TEMPLATE_MARKERS)


def check_template_syntax(answers: dict, given: dict, defaults: dict) -> list[str]:
    """Refuse template syntax in a free-text answer, whether cookiecutter already rendered it or not.

    With --no-input or extra_context cookiecutter renders an answer before this hook runs, so an
    expression arrives already evaluated: the answer as given is compared with the template's default.
    """
    free_text = [key for key, value in defaults.items() if isinstance(value, str) and not key.startswith("_")]
    return [
        f"{key}: {TEMPLATE_SYNTAX}"
        for key in free_text
        if has_template_syntax(answers.get(key))
        or (given.get(key, defaults[key]) != defaults[key] and has_template_syntax(given.get(key)))
    ]


def check_answers_are_literal(answers: dict, given: dict) -> list[str]:
    """Compare the answers with the defaults in the template's cookiecutter.json, refusing template syntax."""
    if "_repo_dir" not in answers:  # `cruft update` regenerates from the recorded answers, with no template folder
        return check_template_syntax(answers, given, {key: value for key, value in answers.items() if key[:1] != "_"})
    try:
        path = template_dir(answers) / "cookiecutter.json"
        defaults = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [f"cannot read the template's cookiecutter.json to check the answers: {error}"]
    return check_template_syntax(answers, given, defaults)


def folders_made_for(slug: str, output_dir: str) -> list[str]:
    """Return the folders inside output_dir that a slug with '/' made above the project folder, deepest first."""
    root = os.path.realpath(output_dir)
    parts = slug.split("/")
    made = {os.path.realpath(os.path.join(root, "/".join(parts[:end]))) for end in range(1, len(parts))}
    return sorted((folder for folder in made if folder.startswith(root + os.sep)), key=len, reverse=True)


# Waits (at most 10 s) until cookiecutter has deleted the refused project folder, then removes the
# folders above it that are left empty.
REMOVE_EMPTY_FOLDERS = """
import os, sys, time
project, folders, deadline = sys.argv[1], sys.argv[2:], time.monotonic() + 10
while os.path.exists(project) and time.monotonic() < deadline:
    time.sleep(0.02)
for folder in folders:
    try:
        os.rmdir(folder)
    except OSError:
        pass
"""


def remove_folders_after_refusal(answers: dict) -> None:
    """Leave no folder behind when a slug such as `a/b` is refused.

    cookiecutter creates the whole path before this hook runs and, after a refusal, deletes only the
    last folder (and fails if that is already gone), so a detached process removes the rest after it.
    """
    output_dir = answers.get("_output_dir")
    folders = folders_made_for(str(answers.get("project_slug", "")), output_dir) if output_dir else []
    if folders:
        quiet = subprocess.DEVNULL
        command = [sys.executable, "-c", REMOVE_EMPTY_FOLDERS, os.getcwd(), *folders]
        subprocess.Popen(command, cwd=output_dir, stdin=quiet, stdout=quiet, stderr=quiet, start_new_session=True)


def replay_file(answers: dict) -> Path | None:
    """Return the file where cookiecutter saved these answers before this hook ran, if it did.

    cookiecutter names it after the template folder, in its replay_dir; `cruft create` and other
    tools that drive generation directly save nothing.
    """
    try:
        from cookiecutter.config import get_user_config
        from cookiecutter.exceptions import CookiecutterException

        try:
            replay_dir = Path(get_user_config()["replay_dir"])
        except CookiecutterException:
            return None
    except ImportError:
        return None
    path = replay_dir / f"{os.path.basename(os.path.abspath(template_dir(answers)))}.json"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))["cookiecutter"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    same = ("_output_dir", "project_slug", "package_name")
    return path if all(saved.get(key) == answers.get(key) for key in same) else None


def replay_hint(answers: dict) -> str | None:
    """Say how to bake again without answering every question again."""
    path = replay_file(answers)
    if path is None:
        return None
    template = shlex.quote(str(answers.get("_template", "")))
    return (
        f"hint: your answers are kept in {path}; correct the value named above there, then run: "
        f"cookiecutter --replay-file {shlex.quote(str(path))} {template}"
    )


def main() -> int:
    answers = json.loads(ANSWERS_JSON)
    errors = check_answers_are_literal(answers, json.loads(GIVEN_ANSWERS_JSON)) + validate(answers)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        hint = replay_hint(answers)
        if hint:
            print(hint, file=sys.stderr)
        remove_folders_after_refusal(answers)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
