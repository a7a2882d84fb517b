"""Resolve the generated project's lock files, one per DVC remote plugin.

Bakes the template with default answers, runs `uv pip compile` on the baked pyproject.toml
for every extra set, and writes the results into the template. The post-generation hook keeps
the one that fits the project's `dvc_remote` as `requirements.lock`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

SLUG_DIR = "{{cookiecutter.project_slug}}"
LOCKS = {"requirements.lock": [], "requirements-s3.lock": ["s3"], "requirements-gs.lock": ["gs"],
         "requirements-azure.lock": ["azure"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=".")
    template = Path(parser.parse_args().template).resolve()
    uv = shutil.which("uv") or "uv"
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(cookiecutter(str(template), no_input=True, output_dir=scratch))
        for name, extras in LOCKS.items():
            command = [uv, "pip", "compile", "--quiet", "--universal", "--python-version", "3.11", "--no-annotate",
                       "--no-header", "--generate-hashes", "--extra", "dev",
                       str(project / "pyproject.toml")]  # fmt: skip
            command += ["-o", str(template / SLUG_DIR / name)]
            for extra in extras:
                command += ["--extra", extra]
            subprocess.run(command, check=True)
            print(f"wrote {SLUG_DIR}/{name}")


if __name__ == "__main__":
    main()
