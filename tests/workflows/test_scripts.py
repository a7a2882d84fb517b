"""The workflows' github-script files (`.github/scripts/`): unit-tested with Node's own test runner,
and loaded by the workflows only through `require`, with inputs in `env:`.

The scripts hold what the workflows decide about issues and comments (which drift issue, which
comment to update, what reaches Markdown); their tests run with fake `github`, `context` and
`core` objects (`.github/scripts/tests/fake-github.js`). The rehearsals then run the same files
through the github-script stand-in.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from workflow_support import GITHUB_TEMPLATE

SCRIPTS = GITHUB_TEMPLATE / "scripts"
GITHUB_SCRIPT = "actions/github-script@"
# The one form a github-script step takes: load a script file and hand it the action's objects.
LOADER = re.compile(
    r"const run = require\('\./\.github/scripts/([a-z-]+\.js)'\);\n"
    r"return await run\(\{ github, context, core \}\);\n?"
)


def script_steps() -> list[tuple[str, dict]]:
    """Every github-script step of the workflows and composite actions, with its file's name."""
    found = []
    for path in sorted(GITHUB_TEMPLATE.rglob("*.yml")):
        # The raw text: the steps below hold no Jinja, and `{%- raw %}` lines parse as YAML comments
        # only after rendering, so strip the template lines first.
        text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if "{%" not in line)
        for job_id, job in (yaml.safe_load(text) or {}).get("jobs", {}).items():
            for step in job.get("steps", []):
                if str(step.get("uses", "")).startswith(GITHUB_SCRIPT):
                    found.append((f"{path.name}:{job_id}", step))
    return found


def test_the_scripts_pass_their_node_tests():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed (the template's `make env` runs npm ci)")
    tests = sorted((SCRIPTS / "tests").glob("*.test.js"))
    assert tests, "no tests for the workflow scripts"
    found = subprocess.run([node, "--test", *map(str, tests)], capture_output=True, text=True, cwd=SCRIPTS)
    assert found.returncode == 0, found.stdout[-6000:] + found.stderr[-2000:]
    counts = dict(re.findall(r"^# (pass|fail) (\d+)$", found.stdout, re.M))
    assert counts.get("fail") == "0" and int(counts.get("pass", 0)) >= 3 * len(tests), found.stdout[-2000:]


def test_github_script_steps_only_load_a_script_file_and_take_inputs_from_env():
    steps = script_steps()
    assert len(steps) >= 5, steps
    loaded = set()
    for where, step in steps:
        script = step["with"]["script"]
        match = LOADER.fullmatch(script)
        assert match, f"{where}: the script is not the two-line loader:\n{script}"
        assert "${{" not in script, where
        assert (SCRIPTS / match.group(1)).is_file(), f"{where}: no .github/scripts/{match.group(1)}"
        loaded.add(match.group(1))
    shared = {"drift-issue.js", "markdown.js"}  # required by the scripts, not by a step
    on_disk = {path.name for path in SCRIPTS.glob("*.js")}
    assert on_disk == loaded | shared, f"scripts no step loads: {sorted(on_disk - loaded - shared)}"
    tested = "".join(path.read_text(encoding="utf-8") for path in (SCRIPTS / "tests").glob("*.test.js"))
    for name in sorted(on_disk):
        assert f"require('../{name}')" in tested, f"{name} has no test"


def test_the_drift_issue_is_searched_in_one_place():
    texts = {path.name: path.read_text(encoding="utf-8") for path in SCRIPTS.glob("*.js")}
    assert [name for name, text in texts.items() if "listForRepo" in text] == ["drift-issue.js"]
    users = sorted(name for name, text in texts.items() if "findOpenDriftIssue(" in text and name != "drift-issue.js")
    assert users == ["announce-champion.js", "open-drift-issue.js"]
