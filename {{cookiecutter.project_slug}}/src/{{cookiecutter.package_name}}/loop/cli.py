"""Command line: `python -m <package> <command> [options]`.

Each command is a function `main(argv) -> int` of one module, named below. The module is
imported only when its command runs, so `--help` and the light commands never pay for MLflow
or Great Expectations.
"""

from __future__ import annotations

import importlib
import os
import sys

from . import PACKAGE

COMMANDS = {  # name: help text; the module of the same name runs it, except where ENTRY_POINTS says
    "ingest": "Split the raw data into training and holdout sets.",
    "profile": "Write the expectation suite from the raw data.",
    "validate": "Check the prepared data against the expectation suite.",
    "train": "Fit the model pipeline on the training set.",
    "evaluate": "Score the model on the holdout set and draw the plots.",
    "gate": "Decide whether the candidate may replace the champion.",
    "register": "Register a candidate that passed the gate and move the aliases.",
    "promote": "Point the champion alias at a given model version.",
    "rollback": "Point the champion alias back at the previous champion.",
    "drift": "Compare current data with the reference data.",
    "history": "Record a drift report, fetch or publish the drift history, decide the alert, draw its page.",
    "current": "Write a demo batch of 'current' data from the holdout rows, optionally shifted.",
    "refresh": "Bring new labelled data into data/raw/data.csv from refresh.source, validated first.",
    "tune": "Search train.<model>'s hyperparameters with Optuna (params.yaml: tune).",
    "report": "Write the Markdown report of a training run.",
    "predict": "Score a table with the champion, a version or the pipeline's model (predictions + sidecar).",
    "score": "Score params.yaml score.source with the champion and summarise it (the score workflow).",
    "serve": "Serve the champion (or a version) with MLflow's scoring server on 127.0.0.1.",
    "status": "Show the registered versions that carry an alias.",
    "registry": "Fetch (pull) or publish (push) the embedded registry on branch mlflow-registry.",
    "holdout": "Record which rows the aliased versions trained on (migrate: versions made before that record).",
    "repro": "Run the DVC pipeline (dvc repro) that changed, printing the project's own lines.",
    "propose": "Commit a change on a branch (commit), or push it and open or update its pull request (publish).",
    "github_setup": "Create the environments, variables and Actions settings the workflows expect on GitHub.",
    "doctor": "Check the repository's settings on GitHub against what the workflows expect; one table.",
}

ENTRY_POINTS = {"rollback": ("promote", "rollback_main"), "registry": ("registry_branch", "main")}
# No usage data leaves the machine unless the user opts in by setting these to false.
TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
# MLflow's INFO lines ("Creating initial MLflow database tables ...") repeat what the commands say;
# its warnings and errors still show. MLFLOW_LOGGING_LEVEL=INFO in the environment brings them back.
LIBRARY_LOGGING = {"MLFLOW_LOGGING_LEVEL": "WARNING"}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return "usage: python -m {pkg} <command> [options]\n\ncommands:\n{lines}\n".format(
        pkg=PACKAGE, lines="\n".join(lines)
    )


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(usage())
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    for name, value in {**TELEMETRY_OFF, **LIBRARY_LOGGING}.items():
        os.environ.setdefault(name, value)
    # Never MLflow's own model loading in a command (it can unpickle); model_file.py reads models.
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "false"
    module_name, function = ENTRY_POINTS.get(command, (command, "main"))
    try:
        module = importlib.import_module(f".{module_name}", __package__)
        return getattr(module, function)(rest)
    except KeyboardInterrupt:  # Ctrl-C, also while the libraries load: one line, not a traceback
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
