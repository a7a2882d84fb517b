"""Template updates: what following the template with `cruft update` costs a project.

The loop's code is copied into every project and arrives with `make template-update`. Two
scenarios, each in a throwaway git copy of the template (tests/template_repo.py):

A. old layout -> new layout: bake at OLD_LAYOUT (before the package split into the user's modules
   and loop/), edit the project as its code then required (an ExtraTrees model in train.py and
   params.py, params.yaml values, a wider bound in the expectation suite), commit, and update to
   the copy's HEAD.
B. new layout -> a later template change: bake at HEAD, edit the new way (estimators.py,
   params.yaml, the suite), commit; a template commit then changes a loop module, the Makefile, a
   workflow and features.py (one of the user's modules, skipped by updates); update to it.

Each update is `cruft update -y` (what `make template-update` runs). Reported per scenario: the
files the update changed, the files left with conflicts (markers or .rej files), whether each user
edit is still there, the update's wall time and, with --run-tests, whether `make setup`, importing
the package's CLI and `make test` pass in the updated project (minutes per scenario).

    .venv/bin/python benchmarks/template_update_cost.py [--run-tests] [--out FILE] [--keep-folder]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from template_repo import TEMPLATE, bake, commit, replace, run, template_copy

OLD_LAYOUT = "b3c7c74"  # the last template commit before the user's modules moved apart from loop/
CRUFT = [sys.executable, "-m", "cruft"]
SLUG = "{{cookiecutter.project_slug}}"
PACKAGE = "{{cookiecutter.package_name}}"
LOOP_COMMENT = "# A later template change to the loop."
FEATURES_COMMENT = "# A later template change to features.py, which updates must not bring."


def package_of(project: Path) -> str:
    return json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["context"]["cookiecutter"]["package_name"]


def after_linear(params: str, section: str) -> str:
    """Return params.yaml's text with `section` added after train.linear's `alpha` line."""
    found = re.search(r"(?m)^    alpha: .*\n", params)
    assert found, "params.yaml has no train.linear.alpha line"
    return params[: found.end()] + section + params[found.end() :]


def widen_suite(project: Path) -> str:
    """Lower the suite's minimum row count by 10%; return the new line, which marks the edit."""
    suite = project / "expectations/suite.json"
    text = suite.read_text(encoding="utf-8")
    found = re.search(r'"min_value": (\d+),', text)
    assert found, "the suite has no row-count minimum"
    line = f'"min_value": {int(found.group(1)) * 9 // 10},'
    suite.write_text(text.replace(found.group(0), line, 1), encoding="utf-8")
    return line


OLD_TRAIN_BRANCH = """    if model == "extra_trees":
        trees = ensemble.ExtraTreesClassifier if classification else ensemble.ExtraTreesRegressor
        return trees(random_state=seed, n_jobs=-1, **options)
"""
OLD_SETTINGS = """class ExtraTreesSettings(Section):
    n_estimators: Count
    min_samples_leaf: Count


"""
EXTRA_TREES_YAML = "  extra_trees:\n    n_estimators: 300\n"


def edit_the_old_way(project: Path) -> dict[str, tuple[str, str]]:
    """An ExtraTrees model as the code before the split required it; return {edit: (file, marker)}."""
    package = Path("src") / package_of(project)
    replace(
        project / package / "train.py",
        '    if model == "gradient_boosting":',
        OLD_TRAIN_BRANCH + '    if model == "gradient_boosting":',
    )
    params_py = project / package / "params.py"
    replace(params_py, 'MODELS = ("random_forest",', 'MODELS = ("random_forest", "extra_trees",')
    replace(
        params_py, "class GradientBoostingSettings(Section):", OLD_SETTINGS + "class GradientBoostingSettings(Section):"
    )
    replace(
        params_py,
        "    linear: LinearSettings\n",
        "    linear: LinearSettings\n    extra_trees: ExtraTreesSettings | None = None\n",
    )
    params = project / "params.yaml"
    replace(params, "n_estimators: 200", "n_estimators: 321")
    text = params.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(  model: )\S+", r"\1extra_trees", text, count=1)
    params.write_text(after_linear(text, EXTRA_TREES_YAML), encoding="utf-8")
    suite_line = widen_suite(project)
    commit(project, "ExtraTrees model, more trees, a wider row-count bound")
    return {
        "train.py: ExtraTrees branch in make_estimator": (f"{package}/train.py", OLD_TRAIN_BRANCH.splitlines()[0]),
        "params.py: extra_trees in MODELS": (f"{package}/params.py", '"extra_trees",'),
        "params.py: ExtraTreesSettings": (f"{package}/params.py", "class ExtraTreesSettings(Section):"),
        "params.yaml: model extra_trees, n_estimators 321": ("params.yaml", "n_estimators: 321"),
        "params.yaml: extra_trees section": ("params.yaml", EXTRA_TREES_YAML),
        "expectations/suite.json: wider bound": ("expectations/suite.json", suite_line),
    }


NEW_ESTIMATOR = """

def extra_trees(classification: bool) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    return ExtraTreesClassifier(n_jobs=-1) if classification else ExtraTreesRegressor(n_jobs=-1)
"""


def edit_the_new_way(project: Path) -> dict[str, tuple[str, str]]:
    """An ExtraTrees model in estimators.py and params.yaml, and a wider suite; return {edit: (file, marker)}."""
    estimators = Path("src") / package_of(project) / "estimators.py"
    replace(project / estimators, "\n\nESTIMATORS:", NEW_ESTIMATOR + "\n\nESTIMATORS:")
    replace(project / estimators, '    "linear": linear,\n', '    "linear": linear,\n    "extra_trees": extra_trees,\n')
    params = project / "params.yaml"
    text = re.sub(r"(?m)^(  model: )\S+", r"\1extra_trees", params.read_text(encoding="utf-8"), count=1)
    section = "  extra_trees:\n    n_estimators: 300\n    max_features: sqrt\n"
    params.write_text(after_linear(text, section), encoding="utf-8")
    suite_line = widen_suite(project)
    commit(project, "ExtraTrees model with max_features sqrt, a wider row-count bound")
    return {
        "estimators.py: extra_trees": (str(estimators), '    "extra_trees": extra_trees,'),
        "params.yaml: model extra_trees, max_features sqrt": ("params.yaml", "    max_features: sqrt"),
        "expectations/suite.json: wider bound": ("expectations/suite.json", suite_line),
    }


def change_the_loop(template: Path) -> str:
    """A later template commit: a loop module, the Makefile, a workflow, and the skipped features.py."""
    package = template / SLUG / "src" / PACKAGE
    for path, comment in ((package / "loop/gate.py", LOOP_COMMENT), (package / "features.py", FEATURES_COMMENT)):
        path.write_text(path.read_text(encoding="utf-8") + f"\n{comment}\n", encoding="utf-8")
    replace(template / SLUG / "Makefile", "help: ## List the commands", "help: ## List every command of the project")
    replace(template / SLUG / ".github/workflows/ci.yml", "name: ci\n", "name: ci\n# A later template change.\n")
    return commit(template, "A later change to the loop")


def update(project: Path) -> dict:
    """Run `cruft update -y` in the project; return what it changed and what it left to resolve."""
    started = time.perf_counter()
    result = run([*CRUFT, "update", "-y"], project, check=False)
    seconds = time.perf_counter() - started
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout.splitlines()
    changed = sorted(line[3:] for line in status if not line.endswith(".rej"))
    rejects = sorted(line[3:] for line in status if line.endswith(".rej"))
    unmerged = run(["git", "diff", "--name-only", "--diff-filter=U"], project).stdout.split()
    marked = [name for name in changed if has_markers(project / name)]
    return {
        "exit_code": result.returncode,
        "seconds": round(seconds, 2),
        "changed": changed,
        "conflicts": sorted({*unmerged, *marked, *(name.removesuffix(".rej") for name in rejects)}),
        "rejects": rejects,
        "output": (result.stdout + result.stderr)[-2000:],
    }


def has_markers(path: Path) -> bool:
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    return bool(re.search(r"(?m)^<<<<<<< ", text) and re.search(r"(?m)^>>>>>>> ", text))


def edits_kept(project: Path, edits: dict[str, tuple[str, str]], fresh: set[str]) -> dict[str, str]:
    """Say for each edit whether its marker is still in its file (or, if that went, elsewhere in src/).

    `fresh` is the file set a new bake at the target commit has: an edit kept in a file outside it
    survives in code the updated loop no longer imports.
    """
    kept = {}
    for edit, (name, marker) in edits.items():
        path = project / name
        if path.is_file() and marker in path.read_text(encoding="utf-8"):
            verdict = "kept, inside a conflict" if has_markers(path) else "kept"
            kept[edit] = verdict if name in fresh else verdict + ", in a file the new template no longer has"
            continue
        elsewhere = [
            str(other.relative_to(project)) + (" (with a .rej)" if Path(f"{other}.rej").exists() else "")
            for other in (project / "src").rglob("*.py")
            if marker in other.read_text(encoding="utf-8")
        ]
        gone = "lost: the update removed the file" if not path.exists() else "lost"
        kept[edit] = f"moved into {', '.join(elsewhere)}" if elsewhere else gone
    return kept


def bake_files(template: Path, output: Path) -> set[str]:
    """The files a new bake of the template's HEAD has, relative to the project."""
    project, _ = bake(template, output)
    return {
        str(path.relative_to(project)) for path in project.rglob("*") if path.is_file() and ".git" not in path.parts
    }


def rejected_hunks(project: Path, rejects: list[str]) -> int:
    return sum(len(re.findall(r"(?m)^@@ ", (project / name).read_text(encoding="utf-8"))) for name in rejects)


def project_checks(project: Path) -> dict:
    """`make setup`, then `python -m <package> --help` (imports the CLI), then `make test`."""
    checks: dict = {}
    steps = {
        "setup": ["make", "setup"],
        "imports": [str(project / ".venv/bin/python"), "-m", package_of(project), "--help"],
        "tests": ["make", "test"],
    }
    for step, command in steps.items():
        started = time.perf_counter()
        result = run(command, project, check=False)
        summary = re.findall(r"=+ (.*(?:passed|failed|error).*?) =+", result.stdout)
        checks[step] = {
            "passed": result.returncode == 0,
            "seconds": round(time.perf_counter() - started, 1),
            "summary": summary[-1] if summary else "",
            "tail": "" if result.returncode == 0 else (result.stdout + result.stderr)[-1500:],
        }
        if result.returncode != 0:
            break
    return checks


def scenario_old_layout(root: Path) -> tuple[Path, Path, dict[str, tuple[str, str]]]:
    """Bake at OLD_LAYOUT from a clone that has the history, edit the old way, leave the clone at HEAD."""
    template = root / "template"
    run(["git", "clone", "--quiet", str(TEMPLATE), str(template)], root)
    branch = run(["git", "rev-parse", "--abbrev-ref", "HEAD"], template).stdout.strip()
    run(["git", "checkout", "--quiet", OLD_LAYOUT], template)
    project, _ = bake(template, root / "bake")
    run(["git", "checkout", "--quiet", branch], template)  # cruft updates to the clone's HEAD
    return template, project, edit_the_old_way(project)


def scenario_new_layout(root: Path) -> tuple[Path, Path, dict[str, tuple[str, str]]]:
    """Bake at the working tree's state, edit the new way, then commit a later change to the loop."""
    template = template_copy(root)
    project, _ = bake(template, root / "bake")
    edits = edit_the_new_way(project)
    change_the_loop(template)
    return template, project, edits


def received(project: Path) -> dict[str, bool]:
    """Scenario B: which parts of the later template commit the project has."""
    package = project / "src" / package_of(project)
    return {
        "loop/gate.py change received": LOOP_COMMENT in (package / "loop/gate.py").read_text(encoding="utf-8"),
        "Makefile change received": "## List every command of the project" in (project / "Makefile").read_text(),
        "ci.yml change received": "# A later template change." in (project / ".github/workflows/ci.yml").read_text(),
        "features.py untouched (skipped)": FEATURES_COMMENT not in (package / "features.py").read_text(),
    }


SCENARIOS = {
    "A": ("old layout -> new layout", scenario_old_layout),
    "B": ("new layout -> a later template change", scenario_new_layout),
}


def measure(name: str, root: Path, run_tests: bool) -> dict:
    title, prepare = SCENARIOS[name]
    template, project, edits = prepare(root)
    row = {"scenario": name, "title": title, "from": json.loads((project / ".cruft.json").read_text())["commit"]}
    row |= update(project)
    row["to"] = json.loads((project / ".cruft.json").read_text())["commit"]
    fresh = bake_files(template, root / "fresh")
    row["left_behind"] = sorted(
        name
        for name in run(["git", "ls-files", "src"], project).stdout.split()
        if name not in fresh and (project / name).exists()
    )
    row["rejected_hunks"] = rejected_hunks(project, row["rejects"])
    row["edits"] = edits_kept(project, edits, fresh)
    if name == "B":
        row["received"] = received(project)
    row["checks"] = project_checks(project) if run_tests else {}
    return row


def check_cell(row: dict) -> str:
    if not row["checks"]:
        return "not run (--run-tests)"
    cells = []
    for step, check in row["checks"].items():
        verdict = "pass" if check["passed"] else "FAIL"
        cells.append(f"{step} {verdict}" + (f" ({check['summary']})" if check["summary"] else ""))
    missing = [step for step in ("setup", "imports", "tests") if step not in row["checks"]]
    return "; ".join(cells + [f"{step} not reached" for step in missing])


def table(rows: list[dict]) -> str:
    header = [
        "scenario",
        "files changed",
        "files with conflicts",
        "old files left in src/",
        "user edits kept in place",
        "update time",
        "setup / import / fast tests",
    ]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---|---:|---|---:|---|"]
    for row in rows:
        kept = sum(verdict == "kept" for verdict in row["edits"].values())
        conflicts = ", ".join(f"`{name}`" for name in row["conflicts"]) or "none"
        if row["rejects"]:
            conflicts += f" ({row['rejected_hunks']} rejected hunks)"
        cells = [
            f"{row['scenario']}. {row['title']}",
            str(len(row["changed"])),
            f"{len(row['conflicts'])}: {conflicts}",
            str(len(row["left_behind"])),
            f"{kept} of {len(row['edits'])}",
            f"{row['seconds']:.1f} s",
            check_cell(row),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-tests", action="store_true", help="make setup and make test in each updated project")
    parser.add_argument("--out", type=Path, default=None, help="write every figure here as JSON")
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--keep-folder", action="store_true")
    args = parser.parse_args()
    # As a user's shell: bytecode is written (it once broke updates), no other virtualenv is
    # active, and uv installs only from its cache (the run is offline).
    for name in ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV"):
        os.environ.pop(name, None)
    os.environ["UV_OFFLINE"] = "1"
    folder = Path(tempfile.mkdtemp(prefix="template-update-cost-"))
    rows = []
    try:
        for name in args.scenarios:
            (folder / name).mkdir()
            rows.append(measure(name, folder / name, args.run_tests))
    finally:
        if args.keep_folder:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(table(rows))
    for row in rows:
        print(f"\n{row['scenario']}: {row['from'][:7]} -> {row['to'][:7]}, cruft exit {row['exit_code']}")
        for edit, verdict in {**row["edits"], **row.get("received", {})}.items():
            print(f"  {edit}: {verdict}")
        if row["left_behind"]:
            print(f"  left in src/ though the new template has no such file: {', '.join(row['left_behind'])}")
        for step, check in row["checks"].items():
            if check["tail"]:
                print(f"  {step} failed:\n" + "\n".join("    " + line for line in check["tail"].splitlines()[-15:]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
