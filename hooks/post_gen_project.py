"""Finish the generated project: data, license, suite, DVC, git.

Runs inside the new project folder. Each step is one small function; `main()` calls them in
order. DVC's own files are written here in plain Python (what `dvc init` and
`dvc remote add -d` write), so baking needs neither DVC nor the project's environment.
The raw data is committed to git, so the first push trains on a fresh runner with no remote;
DVC versions it through `dvc.lock`, which records its hash as a dependency of `ingest`.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""

RAW_DATA = Path("data/raw/data.csv")
DEMO_DATA = {"classification": Path("data/raw/breast_cancer.csv"), "regression": Path("data/raw/diabetes.csv")}
SUITE = Path("expectations/suite.json")
# Machine-specific or prompt-only keys that do not belong in the recorded answers.
UNRECORDED = {"__prompts__", "_output_dir", "_repo_dir", "_checkout"}
# The lock file with the DVC plugin each remote type needs; the others are removed.
REMOTE_LOCKS = {
    "s3": Path("requirements-s3.lock"),
    "gcs": Path("requirements-gs.lock"),
    "azure": Path("requirements-azure.lock"),
}
LOCK = Path("requirements.lock")
# One file per `license` choice, named after it; the chosen one becomes LICENSE.
LICENSES = Path("licenses")
LICENSE = Path("LICENSE")
DVC_GITIGNORE = "/config.local\n/tmp\n/cache\n"
DVCIGNORE = "# Patterns of files DVC should ignore (same syntax as .gitignore).\n"


def place_data(answers: dict) -> None:
    """Keep the demo dataset of the chosen task, or copy the user's CSV in, as data/raw/data.csv."""
    chosen = DEMO_DATA[answers["task"]] if answers["dataset"] == "demo" else None
    if chosen is None:
        shutil.copyfile(resolve_data_path(answers["data_path"], answers), RAW_DATA)
    else:
        chosen.rename(RAW_DATA)
    for demo in DEMO_DATA.values():
        demo.unlink(missing_ok=True)


def choose_lock(answers: dict) -> None:
    """Keep the lock file that includes the DVC plugin of the chosen remote as requirements.lock."""
    chosen = REMOTE_LOCKS.get(answers["dvc_remote"])
    if chosen is not None:
        chosen.replace(LOCK)
    for lock in REMOTE_LOCKS.values():
        lock.unlink(missing_ok=True)


def choose_license(answers: dict) -> None:
    """Keep the chosen license text as LICENSE and remove the other variants."""
    (LICENSES / f"{answers['license']}.txt").replace(LICENSE)
    shutil.rmtree(LICENSES)


def resolve_data_path(raw: str, answers: dict) -> Path:
    """Resolve a relative data path from the folder cookiecutter was run in.

    Hooks cannot import each other, so this repeats pre_gen_project.resolve_data_path;
    tests/test_hooks.py checks the two agree.
    """
    path = Path(os.path.expanduser(raw.strip()))
    if path.is_absolute():
        return path
    origin = os.environ.get("PWD") or answers.get("_output_dir") or "."
    return Path(origin) / path


def record_answers(answers: dict) -> None:
    recorded = {key: value for key, value in answers.items() if key not in UNRECORDED}
    Path(".cookiecutter.json").write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_suite(answers: dict) -> None:
    """Profile the raw data with the project's own profiler (standard library only)."""
    sys.path.insert(0, "src")
    profile = importlib.import_module(f"{answers['package_name']}.profile")
    suite = profile.profile_columns(profile.read_columns(RAW_DATA))
    SUITE.parent.mkdir(parents=True, exist_ok=True)
    SUITE.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")


def dvc_config(answers: dict) -> str:
    """Return .dvc/config: analytics off, and the `storage` remote as the default unless there is none."""
    lines = ["[core]", "    analytics = false"]
    remote, url = answers["dvc_remote"], answers["dvc_remote_url"].strip()
    if remote != "none":
        if remote == "local" and not os.path.isabs(os.path.expanduser(url)):
            url = os.path.join("..", url)  # DVC resolves local paths from the .dvc folder
        lines += ["    remote = storage", "['remote \"storage\"']", f"    url = {url}"]
    return "\n".join(lines) + "\n"


def dvc_init(answers: dict) -> None:
    """Write what `dvc init`, `dvc config core.analytics false` and `dvc remote add -d` would write."""
    Path(".dvc").mkdir()
    Path(".dvc/config").write_text(dvc_config(answers), encoding="utf-8")
    Path(".dvc/.gitignore").write_text(DVC_GITIGNORE, encoding="utf-8")
    Path(".dvcignore").write_text(DVCIGNORE, encoding="utf-8")


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, stdout=subprocess.DEVNULL)


def git_config(key: str) -> str:
    found = subprocess.run(["git", "config", key], check=False, capture_output=True, text=True)
    return found.stdout.strip()


def git_commit(answers: dict) -> None:
    """Create the repository and its first commit, with a fallback identity if git has none."""
    git("init", "--quiet", "--initial-branch=main")
    git("add", "--all")
    identity = []
    if not (git_config("user.name") and git_config("user.email")):
        identity = ["-c", f"user.name={answers['author_name']}", "-c", "user.email=noreply@localhost"]
    git(*identity, "commit", "--quiet", "--no-verify", "-m", f"Create {answers['project_name']} from the template")


def main() -> int:
    answers = json.loads(ANSWERS_JSON)
    place_data(answers)
    choose_lock(answers)
    choose_license(answers)
    record_answers(answers)
    write_suite(answers)
    dvc_init(answers)
    git_commit(answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
