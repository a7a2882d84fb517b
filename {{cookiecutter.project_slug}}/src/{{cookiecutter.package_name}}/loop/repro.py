"""Repro: run the DVC pipeline (`dvc repro`), with the project's own lines in place of DVC's hints.

DVC's command line ends a run with "To track the changes with git ...", "To enable auto staging
..." and "Use `dvc push` ...": the README and `make push` already say what to commit and push, and
the ignore rules for every cached output are in the project's .gitignore from the first commit.
Everything else DVC says is kept: which stage runs, each command, and every error, worded as
`dvc repro` words it. After a failed stage, one line names the decision file to read.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .errors import fail

# The decision a failed stage leaves behind, and the command that explains it.
EXPLAINED = {"gate": "the gate's decision is in reports/gate.json; `make status` explains it"}


def reproduce(targets: list[str], force: bool) -> list[str]:
    """Run the stages that changed (or `targets` and what they need) and return the names of those that ran."""
    from dvc.repo import Repo

    with Repo() as repo:
        return [stage.addressing for stage in repo.reproduce(targets=targets or None, force=force)]


def failed_stage(error: BaseException) -> str | None:
    """Return the stage of EXPLAINED that DVC's error names ("failed to reproduce 'gate'"), if any."""
    return next((stage for stage in EXPLAINED if f"failed to reproduce '{stage}'" in str(error)), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="repro", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="stages to bring up to date (default: all)")
    parser.add_argument("--force", action="store_true", help="run the stages even if nothing changed")
    args = parser.parse_args(argv)

    from dvc.exceptions import DvcException  # importing dvc sets up its console logging

    # scm_context prints the `git add` and autostage hints only while INFO is enabled for it.
    logging.getLogger("dvc.repo.scm_context").setLevel(logging.WARNING)
    try:
        ran = reproduce(args.targets, args.force)
    except DvcException as error:
        logging.getLogger("dvc").error("", exc_info=error)  # DVC's own wording, causes included
        stage = failed_stage(error)
        if stage in EXPLAINED:
            print(f"repro: stopped at {stage}: {EXPLAINED[stage]}", file=sys.stderr)
        return 1
    except OSError as error:
        return fail(error, 1)
    if ran:
        print(f"repro: ran {', '.join(ran)}; dvc.lock records what produced the outputs")
    else:
        print("repro: everything is up to date (nothing changed since dvc.lock)")
    return 0
