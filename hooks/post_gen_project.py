"""Finish the generated project: data, license, suite, DVC, git.

Runs inside the new project folder. Each step is one small function; `main()` calls them in
order. DVC's own files are written here in plain Python (what `dvc init` and
`dvc remote add -d` write), so baking needs neither DVC nor the project's environment.
The raw data is committed to git, so the first push trains on a fresh runner with no remote;
DVC versions it through `dvc.lock`, which records its hash as a dependency of `ingest`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shlex
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
CRUFT_JSON = Path(".cruft.json")
# Bytecode and tool caches are never part of a project: a template copy that holds them does not
# pass them on. (What a template update skips is pyproject.toml's [tool.cruft] skip.)
GENERATED = ("__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints", ".DS_Store")


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


def origin_dir(answers: dict) -> Path:
    """Return the folder cookiecutter was started in (as pre_gen_project.origin_dir does).

    Hooks cannot import each other, so this repeats pre_gen_project's functions;
    tests/test_hooks.py checks the two agree.
    """
    return Path(os.environ.get("PWD") or answers.get("_output_dir") or ".")


def resolve_data_path(raw: str, answers: dict) -> Path:
    """Resolve a relative data path from the folder cookiecutter was run in (as pre_gen_project does)."""
    path = Path(os.path.expanduser(raw.strip()))
    return path if path.is_absolute() else origin_dir(answers) / path


def template_dir(answers: dict) -> str:
    """Return the template's folder as an absolute path; cookiecutter passes a local one as typed.

    The same rule as pre_gen_project.template_dir (hooks cannot import each other; a test in
    tests/test_hooks.py keeps the two in agreement).

    cookiecutter runs hooks from inside the template folder, so the working folder of this hook's
    parent (the cookiecutter process) is that folder where the system shows it (Linux /proc);
    elsewhere the path is read from where cookiecutter was started.
    """
    raw = os.path.expanduser(str(answers.get("_repo_dir", "")))
    if not raw or os.path.isabs(raw):
        return raw
    candidates = [os.path.join(origin_dir(answers), raw)]
    with contextlib.suppress(OSError):
        candidates.insert(0, os.readlink(f"/proc/{os.getppid()}/cwd"))
    found = next(
        (path for path in candidates if os.path.isfile(os.path.join(path, "cookiecutter.json"))), candidates[-1]
    )
    return os.path.abspath(found)


def record_answers(answers: dict) -> None:
    recorded = {key: value for key, value in answers.items() if key not in UNRECORDED}
    Path(".cookiecutter.json").write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_suite(answers: dict) -> None:
    """Profile the raw data with the project's own profiler (standard library only)."""
    sys.dont_write_bytecode = True  # no __pycache__ in the project, nor in the copies cruft diffs to update it
    sys.path.insert(0, "src")
    profile = importlib.import_module(f"{answers['package_name']}.loop.profile")
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


def git_output(folder: str, *args: str) -> str | None:
    """Return git's trimmed output in `folder`, or None when it is not a git checkout."""
    if not folder or not os.path.isdir(folder):
        return None
    found = subprocess.run(["git", "-C", folder, *args], check=False, capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def template_source(answers: dict) -> dict:
    """Return the template's cloneable location, commit, checkout and subfolder, as cruft records them.

    A local checkout with no commit, or with uncommitted changes, still bakes: what can be
    recorded is, and one line says what cannot.
    """
    if "_commit" in answers:  # regenerated by `cruft update`, which has recorded both already
        return {"template": answers["_template"], "commit": answers["_commit"], "checkout": None, "directory": None}
    from cookiecutter.config import BUILTIN_ABBREVIATIONS
    from cookiecutter.repository import expand_abbreviations, is_repo_url, is_zip_file

    given, repo_dir = answers.get("_template", ""), template_dir(answers)
    commit = git_output(repo_dir, "rev-parse", "--verify", "--quiet", "HEAD")
    top = git_output(repo_dir, "rev-parse", "--show-toplevel") if commit else None
    directory = (git_output(repo_dir, "rev-parse", "--show-prefix") if commit else None) or ""
    remote = expand_abbreviations(given, BUILTIN_ABBREVIATIONS)
    local = top or repo_dir or os.path.abspath(given)
    template = remote if is_repo_url(remote) or is_zip_file(given) else local
    if commit is None:
        print(
            f"template: {template} has no git commit, so no .cruft.json: link it later with `cruft link`",
            file=sys.stderr,
        )
    elif git_output(repo_dir, "status", "--porcelain", "--", "."):
        print(
            f"template: {template} has uncommitted changes; .cruft.json records {commit[:12]} without them",
            file=sys.stderr,
        )
    checkout = answers.get("_checkout")
    return {"template": template, "commit": commit, "checkout": checkout, "directory": directory.rstrip("/") or None}


def record_update_source(answers: dict, source: dict) -> None:
    """Write .cruft.json so `cruft check`, `cruft diff` and `cruft update` work in the project.

    Without a commit there is nothing to update from, and a .cruft.json with none would make
    `cruft check` report "up to date": no file, so cruft stops and says it found none.
    """
    if source["commit"] is None:
        return
    recorded = {key: value for key, value in answers.items() if key not in UNRECORDED}
    state = {**source, "context": {"cookiecutter": recorded}}
    CRUFT_JSON.write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def remove_generated_files() -> None:
    """Delete bytecode and caches that a template copy may hold (they are never the project's)."""
    for path in sorted(Path(".").rglob("*"), reverse=True):  # a folder's files before the folder
        if path.name not in GENERATED and path.suffix != ".pyc":
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def next_steps(answers: dict) -> str:
    """Return what to run next, with the project folder as seen from where cookiecutter was run."""
    project = os.getcwd()
    folder = os.path.relpath(project, origin_dir(answers))
    where = folder if not folder.startswith("..") else project
    return (
        f"Created {answers['project_name']} in {where}. Next:\n"
        f"  cd {shlex.quote(where)}\n"
        "  make setup pipeline status   # install, run the whole loop, show the champion\n"
        "Then read README.md ('Quick start') and push to GitHub: the workflows run from the first push."
    )


def main() -> int:
    answers = json.loads(ANSWERS_JSON)
    source = template_source(answers)
    answers.update(_template=source["template"], _commit=source["commit"])
    place_data(answers)
    choose_lock(answers)
    choose_license(answers)
    record_answers(answers)
    write_suite(answers)
    dvc_init(answers)
    record_update_source(answers, source)
    remove_generated_files()
    git_commit(answers)
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
