"""Rehearse the generated `doctor.yml` and `pr-reports.yml` against the stand-in API.

`doctor.yml` runs `make doctor` (standard library and gh only: no setup step) with the API's
answers recorded in the project's own tests (tests/unit/github_answers/<plan>/): for a private
repository on the free plan it finds settings off, writes the table to the job summary and opens
one issue, which the next run comments on instead of opening another. GITHUB_TOKEN may not read
what only admins see (the harness refuses it as GitHub does), nor a private repository's plan:
those rows are `unknown`, never `off` or `ok`, and a run whose only findings are `unknown` (the
public repository's answers) stays green with a warning and leaves the issue open: what it did not
read may still be off. A run the API did not answer at all (verdict `error`) fails and skips the
issue job.
`pr-reports.yml` deletes refs/pr-reports/<n> when a same-repository pull request closes, with
`contents: write` in that job only, and never runs for a fork's.
"""

from __future__ import annotations

import pytest
from conftest import choice_options
from harness import Rehearsal, Repository, pull_request, workflow_dispatch
from harness.github import git
from workflow_support import bake, make_host

pytestmark = pytest.mark.xdist_group("rehearsal-doctor")

MARKER = "<!-- doctor-issue -->"


def log(run) -> str:
    return f"{run.workflow} on {run.event.name}:\n{run.log[-8000:]}"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    root = tmp_path_factory.mktemp("rehearsal-doctor")
    host = make_host(root / "host")
    project = bake({"python_version": choice_options()["python_version"][0]}, root / "bake")
    made = Rehearsal(Repository.from_project(project, root), root / "runs", host)
    made.answers = project / "tests" / "unit" / "github_answers"
    yield made
    made.close()


def answer_with(rehearsal: Rehearsal, plan: str, failures: dict | None = None) -> None:
    data = rehearsal.state.load()
    data["api_answers"] = str(rehearsal.answers / plan)
    data["api_failures"] = failures or {}
    rehearsal.state.save(data)


def doctor_issues(rehearsal: Rehearsal, state: str = "open") -> list[dict]:
    return [issue for issue in rehearsal.state.issues(state) if issue["body"].startswith(MARKER)]


def test_settings_that_are_off_open_one_issue_then_update_it(rehearsal):
    answer_with(rehearsal, "private-free")
    first = rehearsal.run("doctor.yml", workflow_dispatch(rehearsal.repo, "doctor.yml"))
    job = first.jobs["doctor"]
    assert job.outputs["verdict"] == "off", log(first)
    assert job.result == "failure" and first.jobs["issue"].result == "success", log(first)
    assert job.permissions == {"contents": "read", "actions": "read", "pull-requests": "read", "metadata": "read"}
    # GITHUB_TOKEN: the Actions permissions are unreadable, the plan is not visible (GET /user refused).
    assert "| Actions permissions | unknown |" in job.summary
    assert "`gh workflow enable drift.yml`" in job.summary
    assert "| environment tuning | unknown |" in job.summary and "| environment tuning | off |" not in job.summary
    [issue] = doctor_issues(rehearsal)
    assert issue["title"] == "Repository settings need attention" and "| schedule of drift.yml | off |" in issue["body"]

    second = rehearsal.run("doctor.yml", workflow_dispatch(rehearsal.repo, "doctor.yml"))
    assert second.jobs["issue"].result == "success", log(second)
    assert [found["number"] for found in doctor_issues(rehearsal)] == [issue["number"]]
    assert "| schedule of drift.yml | off |" in rehearsal.state.comments(issue["number"])[-1]["body"]


def test_only_unknown_rows_leave_the_issue_open_and_no_answer_fails_the_run(rehearsal):
    answer_with(rehearsal, "public")
    [issue] = doctor_issues(rehearsal)
    before = len(rehearsal.state.calls())
    run = rehearsal.run("doctor.yml", workflow_dispatch(rehearsal.repo, "doctor.yml"))
    assert run.conclusion == "success", log(run)
    assert run.jobs["doctor"].outputs["verdict"] == "unknown" and run.jobs["issue"].result == "skipped"
    assert "some settings could not be read with this token" in run.jobs["doctor"].log
    assert "| Actions permissions | unknown |" in run.jobs["doctor"].summary
    assert "| secrets | unknown |" in run.jobs["doctor"].summary
    assert [found["number"] for found in doctor_issues(rehearsal)] == [issue["number"]]  # still open
    assert not [call for call in rehearsal.state.calls()[before:] if call["method"].startswith("issues.")]

    answer_with(rehearsal, "public", {"environments": {"status": 502, "body": {"message": "Server Error"}}})
    failed = rehearsal.run("doctor.yml", workflow_dispatch(rehearsal.repo, "doctor.yml"))
    assert failed.jobs["doctor"].outputs["verdict"] == "error", log(failed)
    assert failed.jobs["doctor"].result == "failure" and failed.jobs["issue"].result == "skipped", log(failed)
    assert "could not ask GitHub's API" in failed.jobs["doctor"].log
    assert [found["number"] for found in doctor_issues(rehearsal)] == [issue["number"]]


def test_a_closed_pull_request_loses_its_report_ref_and_a_forks_run_does_not_start(rehearsal):
    main = rehearsal.repo.sha("main")
    rehearsal.repo.commit("feature", "A change", {"notes.txt": "a change\n"})
    for number in (21, 22):
        git(rehearsal.repo.origin, "update-ref", f"refs/pr-reports/{number}", main)
    run = rehearsal.run("pr-reports.yml", pull_request(rehearsal.repo, rehearsal.state, "feature", 21, "closed"))
    assert run.conclusion == "success", log(run)
    assert run.jobs["delete"].permissions == {"contents": "write", "metadata": "read"}
    refs = git(rehearsal.repo.origin, "for-each-ref", "--format=%(refname)", "refs/pr-reports/").split()
    assert refs == ["refs/pr-reports/22"]

    again = rehearsal.run("pr-reports.yml", pull_request(rehearsal.repo, rehearsal.state, "feature", 21, "closed"))
    assert again.conclusion == "success", log(again)  # no ref left: nothing to delete, not an error

    fork = rehearsal.run(
        "pr-reports.yml", pull_request(rehearsal.repo, rehearsal.state, "feature", 22, "closed", fork=True)
    )
    assert fork.jobs["delete"].result == "skipped"
    assert git(rehearsal.repo.origin, "for-each-ref", "--format=%(refname)", "refs/pr-reports/").split() == [
        "refs/pr-reports/22"
    ]
