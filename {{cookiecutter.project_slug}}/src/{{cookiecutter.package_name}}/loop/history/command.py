"""`python -m <package> history record|pull|push|alert|page`: the drift history.

- record: add reports/drift/drift.json to the history folder (params.yaml drift.history).
- pull / push: fetch the history from branch drift-history, or publish it there (branch.py).
- alert: whether the drift issue should open, by params.yaml drift.alert (k of the last n runs,
  ending at this workflow run's check when there is one, else at the latest); prints it and writes
  alert=true|false to $GITHUB_OUTPUT.
- page: draw the history as one offline page (page.py).

Exit codes: 0 done, 2 a missing or damaged history, a bad setting or report, 4 the branch could not
be read or written.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from pathlib import Path
from typing import Any

from .. import PACKAGE
from ..errors import fail, output
from ..params import ParamsError, load_params, section
from ..registry_transport import BranchError, Remote
from .store import AlreadyRecorded, HistoryError, alert, append, read_history, run_id

DEFAULT_REPORT = "reports/drift/drift.json"
DEFAULT_PAGE = "reports/drift-history"
REPORT_KEYS = ("dataset_drift", "reasons", "drift_share", "number_of_columns", "drifted_columns", "columns",
               "reference", "current")  # fmt: skip


def read_report(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise HistoryError(f"{path}: no drift report; run `make drift` (or `make drift-check`) first") from None
    except OSError as error:
        raise HistoryError(f"{path}: cannot be read: {error}") from None
    try:
        result = json.loads(data)
    except ValueError as error:
        raise HistoryError(f"{path}: is not JSON ({error})") from None
    missing = [key for key in REPORT_KEYS if not isinstance(result, dict) or key not in result]
    if missing:
        raise HistoryError(f"{path}: is not a drift report (no {', '.join(missing)})")
    wrong = [key for key, allowed in REPORT_TYPES.items() if not allowed(result[key])]
    if wrong:
        raise HistoryError(f"{path}: is not a drift report ({', '.join(wrong)} of the wrong type)")
    return result, data


def counted(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


REPORT_TYPES = {  # what record reads of each key (drift/command.py writes them)
    "dataset_drift": lambda value: isinstance(value, bool),
    "reasons": lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
    "drift_share": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "number_of_columns": counted,
    "drifted_columns": lambda value: isinstance(value, list),
    "columns": lambda value: isinstance(value, dict) and all(isinstance(item, dict) for item in value.values()),
    "reference": lambda value: isinstance(value, dict) and counted(value.get("rows")),
    "current": lambda value: isinstance(value, dict) and counted(value.get("rows")),
}


def this_check(report: Path) -> str | None:
    """In a workflow run, the id its recorded check has (store.run_id); elsewhere None (the latest run)."""
    if not os.environ.get("GITHUB_RUN_ID"):
        return None
    _, data = read_report(report)
    return run_id(data, datetime.datetime.now(datetime.UTC))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {PACKAGE} history", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["record", "pull", "push", "alert", "page"])
    parser.add_argument(
        "--report", default=DEFAULT_REPORT, help=f"record, alert: the drift.json (default {DEFAULT_REPORT})"
    )
    parser.add_argument("--out", default=DEFAULT_PAGE, help=f"page: folder of index.html (default {DEFAULT_PAGE})")
    parser.add_argument("--remote", default="origin", help="pull, push: the git remote (default origin)")
    parser.add_argument("--force", action="store_true", help="pull: drop runs recorded here that the branch lacks")
    parser.add_argument("--params", default="params.yaml")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> str:
    from .branch import BRANCH, PAGE, pull, push

    params = load_params(args.params)
    settings = section(params, "drift")
    folder = Path(settings["history"])
    if args.action == "record":
        result, data = read_report(Path(args.report))
        try:
            entry = append(folder, result, data, section(params, "gate")["metric"])
        except AlreadyRecorded as done:  # a re-run job: the check is there, nothing doubled
            return f"drift history: {done}; nothing to add"
        verdict = "drift" if entry["drift"] else "no drift"
        return f"drift history: recorded run {entry['id']} ({verdict}) in {folder}"
    if args.action == "pull":
        return pull(Remote(args.remote, BRANCH), folder, args.force)
    if args.action == "push":
        return push(Remote(args.remote, BRANCH), folder, Path(args.out) / PAGE)
    if args.action == "alert":
        rule = settings["alert"]
        raised, text = alert(read_history(folder), rule["k"], rule["n"], this_check(Path(args.report)))
        output("alert", "true" if raised else "false", show=False)
        line = f"alert: {'yes' if raised else 'no'}: {text}"
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:  # the job's summary says why the issue was (not) opened
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(f"**Drift alert**: {line.removeprefix('alert: ')}\n")
        return line
    from .page import write_page

    target = write_page(read_history(folder), section(params, "drift"), Path(args.out))
    return f"drift history: wrote {target}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        message = run(args)
    except (ParamsError, HistoryError) as error:
        return fail(error, 2)
    except BranchError as error:
        return fail(error)
    except OSError as error:  # a folder that cannot be written, a path that is a file: one line, nothing lost
        return fail(f"drift history: {error}", 2)
    print(" ".join(message.split()))
    return 0
