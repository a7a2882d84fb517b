"""Resolve the generated project's lock files, one per DVC remote plugin, and the Spark lock.

Bakes the template with default answers, runs `uv pip compile` on the baked pyproject.toml
for every extra set, and writes the results into the template. The post-generation hook keeps
the one that fits the project's `dvc_remote` as `requirements.lock`.

`requirements-spark.lock` is installed on top of whichever lock the project kept (`make
setup-spark`), so it holds only what the `spark` extra adds (pyspark and its own dependencies),
resolved with `requirements.lock` as constraints: installing it changes no version already there.
`--only requirements-spark.lock` writes that lock alone, without re-resolving the others.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

SLUG_DIR = "{{cookiecutter.project_slug}}"
LOCKS = {"requirements.lock": [], "requirements-s3.lock": ["s3"], "requirements-gs.lock": ["gs"],
         "requirements-azure.lock": ["azure"]}  # fmt: skip
ADDED_LOCKS = {"requirements-spark.lock": ["spark"]}  # on top of requirements.lock: only what the extra adds
BASE_LOCK = "requirements.lock"


def compile_command(uv: str, pyproject: Path, extras: list[str], output: Path) -> list[str]:
    command = [uv, "pip", "compile", "--quiet", "--universal", "--python-version", "3.11", "--no-annotate",
               "--no-header", "--generate-hashes", "--extra", "dev", str(pyproject), "-o", str(output)]  # fmt: skip
    for extra in extras:
        command += ["--extra", extra]
    return command


def entries(lock: str) -> list[str]:
    """Split a lock file into its entries: a `name==version` line and its indented hash lines."""
    return [entry for entry in re.split(r"\n(?=\S)", lock.strip()) if entry]


def entry_name(entry: str) -> str:
    return re.split(r"[=<>!~ ;\[]", entry, maxsplit=1)[0].lower().replace("_", "-")


def added_entries(full: str, base: str) -> str:
    """The entries of `full` whose package `base` does not hold, as a lock file's text."""
    present = {entry_name(entry) for entry in entries(base)}
    kept = [entry for entry in entries(full) if entry_name(entry) not in present]
    return "\n".join(kept) + "\n"


def write_added(uv: str, project: Path, template: Path, name: str, extras: list[str]) -> None:
    base = template / SLUG_DIR / BASE_LOCK
    with tempfile.TemporaryDirectory() as scratch:
        full = Path(scratch) / name
        subprocess.run([*compile_command(uv, project / "pyproject.toml", extras, full), "--constraint", str(base)],
                       check=True)  # fmt: skip
        text = added_entries(full.read_text(encoding="utf-8"), base.read_text(encoding="utf-8"))
    (template / SLUG_DIR / name).write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=".")
    parser.add_argument("--only", choices=[*LOCKS, *ADDED_LOCKS], help="write this lock file alone")
    args = parser.parse_args()
    template = Path(args.template).resolve()
    uv = shutil.which("uv") or "uv"
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(cookiecutter(str(template), no_input=True, output_dir=scratch))
        for name, extras in LOCKS.items():
            if args.only in (None, name):
                subprocess.run(compile_command(uv, project / "pyproject.toml", extras, template / SLUG_DIR / name),
                               check=True)  # fmt: skip
                print(f"wrote {SLUG_DIR}/{name}")
        for name, extras in ADDED_LOCKS.items():  # after requirements.lock, their constraint
            if args.only in (None, name):
                write_added(uv, project, template, name, extras)
                print(f"wrote {SLUG_DIR}/{name}")


if __name__ == "__main__":
    main()
