"""Rehearse the generated `template-update.yml`: one pull request, opened once and then updated.

A project is baked from a throwaway git copy of the template and pushed to a stand-in
repository; the template copy then moves on. Each run of the workflow must put the template's
changes on the branch `template-update` and open a pull request for it, with the template's
changelog for the range in its body; the next run, after another template commit, must update
that pull request rather than open a second one.
"""

from __future__ import annotations

import pytest
from conftest import choice_options
from harness import Rehearsal, Repository, workflow_dispatch
from harness.github import git
from template_repo import bake, commit, replace, template_copy
from workflow_support import make_host

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rehearsal-template-update")]

SLUG = "{{cookiecutter.project_slug}}"
WORKFLOW = "template-update.yml"
BRANCH = "template-update"


def template_commit(template, number: int) -> str:
    """A change to a project workflow, with its changelog entry, committed to the template copy."""
    replace(template / SLUG / ".github/workflows/ci.yml", "name: ci\n", f"name: ci\n# Template change {number}.\n")
    replace(template / "CHANGELOG.md", "## [Unreleased]\n", f"## [Unreleased]\n\n- Template change {number}.\n")
    return commit(template, f"Template change {number}")


def pull_requests(rehearsal: Rehearsal) -> list[dict]:
    return [issue for issue in rehearsal.state.load()["issues"] if "pull_request" in issue]


def branch_file(rehearsal: Rehearsal, path: str) -> str:
    return git(rehearsal.repo.origin, "show", f"refs/heads/{BRANCH}:{path}")


def log(run) -> str:
    return "\n".join(f"--- {job.id}: {job.result}\n{step.log}" for job in run.jobs.values() for step in job.steps)


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    root = tmp_path_factory.mktemp("rehearsal-update")
    host = make_host(root / "host")
    versions = [version for version in choice_options()["python_version"] if host.python(version)]
    if not versions:
        pytest.fail(f"the host has none of the Python versions the template offers: {choice_options()}")
    template = template_copy(root)
    project, _ = bake(template, root / "bake", python_version=versions[0])
    made = Rehearsal(Repository.from_project(project, root), root / "runs", host)
    made.template = template  # where the tests commit the template's next changes
    yield made
    made.close()


def test_an_up_to_date_project_opens_no_pull_request(rehearsal):
    run = rehearsal.run(WORKFLOW, workflow_dispatch(rehearsal.repo, WORKFLOW))
    assert run.conclusion == "success", log(run)
    assert run.jobs["propose"].outputs["behind"] == "false"
    assert run.jobs["pull-request"].result == "skipped"
    assert pull_requests(rehearsal) == []


def test_a_template_change_opens_one_pull_request_then_updates_it(rehearsal):
    template_commit(rehearsal.template, 1)
    first = rehearsal.run(WORKFLOW, workflow_dispatch(rehearsal.repo, WORKFLOW))
    assert first.conclusion == "success", log(first)
    assert first.jobs["propose"].permissions == {"contents": "read", "metadata": "read"}  # runs the template's code
    [pull] = pull_requests(rehearsal)
    assert pull["pull_request"]["head"] == BRANCH and pull["state"] == "open"
    assert "- Template change 1." in pull["body"] and "Resolve before merging" not in pull["body"]
    assert "# Template change 1." in branch_file(rehearsal, ".github/workflows/ci.yml")
    assert rehearsal.repo.sha("main") == git(rehearsal.repo.origin, "rev-parse", f"refs/heads/{BRANCH}^")

    template_commit(rehearsal.template, 2)
    second = rehearsal.run(WORKFLOW, workflow_dispatch(rehearsal.repo, WORKFLOW))
    assert second.conclusion == "success", log(second)
    [updated] = pull_requests(rehearsal)
    assert updated["number"] == pull["number"]
    assert "- Template change 2." in updated["body"] and "- Template change 1." in updated["body"]
    assert "# Template change 2." in branch_file(rehearsal, ".github/workflows/ci.yml")
    calls = [call["method"] for call in rehearsal.state.calls() if call["method"].startswith("gh pr")]
    assert calls == ["gh pr create", "gh pr edit"]
