"""Scenario B of benchmarks/template_update_cost.py: a later change to the loop reaches a project cleanly.

A project baked at the template's current layout gets the user's edits the new way (a model in
estimators.py, its section in params.yaml, a wider bound in the suite); the template copy then
changes a loop module, the Makefile, a workflow and features.py. `cruft update -y` must bring the
loop's changes with no conflict, keep every user edit and leave features.py (the user's) alone.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import TEMPLATE

spec = importlib.util.spec_from_file_location("template_update_cost", TEMPLATE / "benchmarks/template_update_cost.py")
cost = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = cost
spec.loader.exec_module(cost)


@pytest.fixture(scope="module")
def updated(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("update-cost")
    template, project, edits = cost.scenario_new_layout(root)
    record = cost.update(project)
    record |= {"project": project, "edits": cost.edits_kept(project, edits, cost.bake_files(template, root / "fresh"))}
    record["received"] = cost.received(project)
    return record


def test_the_update_leaves_nothing_to_resolve(updated):
    assert updated["exit_code"] == 0, updated["output"]
    assert updated["conflicts"] == [] and updated["rejects"] == []


def test_the_users_edits_stay_in_place(updated):
    assert updated["edits"] == dict.fromkeys(updated["edits"], "kept")
    assert set(updated["edits"]) == {
        "estimators.py: extra_trees",
        "params.yaml: model extra_trees, max_features sqrt",
        "expectations/suite.json: wider bound",
    }


def test_the_loop_changes_arrive_and_features_py_does_not_change(updated):
    assert updated["received"] == dict.fromkeys(updated["received"], True)
    package = cost.package_of(updated["project"])
    assert f"src/{package}/loop/gate.py" in updated["changed"]
    assert f"src/{package}/features.py" not in updated["changed"]


def test_a_module_an_older_template_kept_is_named_after_the_update(tmp_path):
    """Scenario A: the user's train.py (where models were added before the split) is no longer read by
    the loop; the updated Makefile names it, so `make template-update` fails until it is moved."""
    import subprocess

    _, project, _ = cost.scenario_old_layout(tmp_path)
    cost.update(project)
    package = cost.package_of(project)
    listed = subprocess.run(
        ["make", "--no-print-directory", "--eval", "left-behind: ; @$(LEFT_BEHIND)", "left-behind"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert f"src/{package}/train.py" in listed.stdout.split(), listed.stdout + listed.stderr
    assert f"src/{package}/estimators.py" not in listed.stdout
