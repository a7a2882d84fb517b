"""Rehearse retraining on new data: drift → refresh.yml → pull request → gate → merge → register.

A project baked with `retrain_on_drift=yes` is pushed (v1 registered as champion). A drifted
schedule opens the drift issue and dispatches `refresh.yml` with its number; the refresh brings a
new batch in (the demo source), validated, and opens one pull request from `data-refresh`, linked
from the issue. The pull request's `train.yml` run gates the model trained on the new data against
champion v1; merging it registers v2 and moves the aliases. A second drifted schedule updates the
same pull request instead of opening another, and a refresh that cannot read its source tells the
issue why and proposes nothing.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import choice_options
from harness import Environment, Rehearsal, Repository, pull_request, push, schedule, workflow_dispatch
from harness.github import git
from workflow_support import bake, make_host

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rehearsal-refresh")]

BRANCH = "data-refresh"


def log(run) -> str:
    return f"{run.workflow} on {run.event.name}:\n{run.log[-12000:]}"


def pulls(rehearsal: Rehearsal) -> list[dict]:
    return [issue for issue in rehearsal.state.load()["issues"] if "pull_request" in issue and issue["state"] == "open"]


def cron(rehearsal: Rehearsal) -> str:
    return json.loads(git(rehearsal.repo.origin, "show", "main:.cookiecutter.json"))["drift_schedule"]


def registry_aliases(rehearsal: Rehearsal) -> dict:
    return json.loads(git(rehearsal.repo.origin, "show", "refs/heads/mlflow-registry:registry.json"))["aliases"]


def rows(rehearsal: Rehearsal, ref: str) -> int:
    return len(git(rehearsal.repo.origin, "show", f"{ref}:data/raw/data.csv").splitlines()) - 1


def drift_then_refresh(rehearsal: Rehearsal):
    """A drifted schedule, then the refresh it dispatched; return (drift run, refresh run, dispatch)."""
    drift = rehearsal.run("drift.yml", schedule(rehearsal.repo, cron(rehearsal)))
    assert drift.conclusion == "success", log(drift)
    dispatch = rehearsal.state.dispatches()[-1]
    assert dispatch["workflow"] == "refresh.yml", dispatch
    refresh = rehearsal.run("refresh.yml", workflow_dispatch(rehearsal.repo, "refresh.yml", dispatch["inputs"]))
    return drift, refresh, dispatch


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    root = tmp_path_factory.mktemp("rehearsal-refresh")
    host = make_host(root / "host")
    versions = [version for version in choice_options()["python_version"] if host.python(version)]
    project = bake({"python_version": versions[0], "retrain_on_drift": "yes"}, root / "bake")
    made = Rehearsal(Repository.from_project(project, root), root / "runs", host)
    first = made.run("train.yml", push(made.repo))
    assert first.conclusion == "success", log(first)
    assert registry_aliases(made) == {"champion": "1", "challenger": "1"}
    # The current batch drifts, so every schedule below finds drift.
    text = git(made.repo.origin, "show", "main:params.yaml")
    made.repo.commit(
        "main", "Shift the current batch", {"params.yaml": re.sub(r"shift: 0\.0", "shift: 3.0", text, count=1)}
    )
    yield made
    made.close()


@pytest.fixture(scope="module")
def first(rehearsal):
    return drift_then_refresh(rehearsal)


def test_drift_dispatches_a_refresh_that_opens_one_pull_request(rehearsal, first):
    _, refresh, dispatch = first
    [issue] = rehearsal.state.issues()
    assert dispatch["inputs"] == {"issue": str(issue["number"])}
    assert refresh.conclusion == "success", log(refresh)
    assert refresh.jobs["refresh"].outputs["changed"] == "true"
    assert refresh.jobs["failed"].result == "skipped"
    assert refresh.jobs["refresh"].permissions == {"contents": "read", "metadata": "read"}
    [pull] = pulls(rehearsal)
    assert pull["pull_request"]["head"] == BRANCH
    assert "Data refresh from `demo`" in pull["body"] and f"drift issue #{issue['number']}" in pull["body"]
    # The branch is main plus one commit: the new rows and the dvc.lock that records them.
    assert git(rehearsal.repo.origin, "rev-parse", f"refs/heads/{BRANCH}^") == rehearsal.repo.sha("main")
    changed = git(rehearsal.repo.origin, "diff", "--name-only", "main", BRANCH).split()
    assert changed == ["data/raw/data.csv", "dvc.lock"]
    assert rows(rehearsal, BRANCH) == rows(rehearsal, "main") + 100
    [comment] = [c for c in rehearsal.state.comments(issue["number"]) if "data refresh is proposed" in c["body"]]
    assert f"/pull/{pull['number']}" in comment["body"]


def test_the_pull_request_trains_on_the_new_data_and_gates_against_the_champion(rehearsal, first):
    [pull] = pulls(rehearsal)
    run = rehearsal.run("train.yml", pull_request(rehearsal.repo, rehearsal.state, BRANCH, pull["number"]))
    assert run.conclusion == "success", log(run)
    summary = run.jobs["train-pr"].summary
    assert "Gate: passed" in summary and "champion" in summary.lower(), summary[-3000:]
    assert run.jobs["register"].result == "skipped"
    assert run.jobs["auto-merge"].result == "skipped"  # off unless REFRESH_AUTO_MERGE is true
    assert registry_aliases(rehearsal) == {"champion": "1", "challenger": "1"}


def test_a_second_drift_updates_the_same_pull_request(rehearsal, first):
    [old] = [pull for pull in rehearsal.state.load()["issues"] if "pull_request" in pull]
    _, refresh, _ = drift_then_refresh(rehearsal)
    assert refresh.conclusion == "success", log(refresh)
    [pull] = [pull for pull in rehearsal.state.load()["issues"] if "pull_request" in pull]
    assert pull["number"] == old["number"]
    calls = [call["method"] for call in rehearsal.state.calls() if call["method"].startswith("gh pr")]
    assert calls == ["gh pr create", "gh pr edit"]
    assert git(rehearsal.repo.origin, "rev-parse", f"refs/heads/{BRANCH}^") == rehearsal.repo.sha("main")


def test_merging_it_registers_the_model_trained_on_the_new_data(rehearsal, first):
    before = rehearsal.repo.sha("main")
    git(rehearsal.repo.origin, "update-ref", "refs/heads/main", rehearsal.repo.sha(BRANCH))  # a fast-forward merge
    run = rehearsal.run("train.yml", push(rehearsal.repo, "main", before))
    assert run.conclusion == "success", log(run)
    assert run.jobs["register"].result == "success", log(run)
    assert registry_aliases(rehearsal) == {"champion": "2", "challenger": "2", "previous-champion": "1"}
    # The loop closes where it started: the drift issue says which version answered it.
    [issue] = rehearsal.state.issues()
    assert run.jobs["announce"].permissions == {"contents": "read", "issues": "write", "metadata": "read"}
    comment = rehearsal.state.comments(issue["number"])[-1]["body"]
    assert comment.startswith("Version 2 is the champion now") and rehearsal.repo.sha("main") in comment, comment


def test_a_refresh_that_cannot_read_its_source_tells_the_issue_why(rehearsal, first):
    [issue] = rehearsal.state.issues()
    text = git(rehearsal.repo.origin, "show", "main:params.yaml")
    broken = re.sub(r"source: demo\b", "source: http://127.0.0.1:9/batch.csv", text, count=1)
    rehearsal.repo.commit("main", "Point the refresh at a source that is down", {"params.yaml": broken})
    before = git(rehearsal.repo.origin, "rev-parse", f"refs/heads/{BRANCH}")
    run = rehearsal.run(
        "refresh.yml", workflow_dispatch(rehearsal.repo, "refresh.yml", {"issue": str(issue["number"])})
    )
    assert run.jobs["refresh"].result == "failure"
    assert run.jobs["pull-request"].result == "skipped" and run.jobs["failed"].result == "success", log(run)
    comment = rehearsal.state.comments(issue["number"])[-1]["body"]
    assert "stopped and proposed nothing" in comment and "cannot be fetched" in comment, comment
    assert git(rehearsal.repo.origin, "rev-parse", f"refs/heads/{BRANCH}") == before


def test_auto_merge_merges_a_refresh_whose_gates_passed_with_the_refresh_token(rehearsal, first):
    text = git(rehearsal.repo.origin, "show", "main:params.yaml")
    fixed = re.sub(r"source: http://127\.0\.0\.1:9/batch\.csv", "source: demo", text, count=1)
    if fixed != text:  # after the test above broke the source
        rehearsal.repo.commit("main", "Point the refresh at the demo source again", {"params.yaml": fixed})
    _, refresh, _ = drift_then_refresh(rehearsal)
    assert refresh.conclusion == "success", log(refresh)
    [pull] = pulls(rehearsal)
    rehearsal.repo.variables["REFRESH_AUTO_MERGE"] = "true"
    before = rehearsal.repo.sha("main")

    # Without the token a merge would start no run on main: the job stops and says so.
    run = rehearsal.run("train.yml", pull_request(rehearsal.repo, rehearsal.state, BRANCH, pull["number"]))
    assert run.jobs["train-pr"].result == "success", log(run)
    assert run.jobs["auto-merge"].result == "failure"
    assert "the secret REFRESH_TOKEN of environment data-refresh is empty" in run.jobs["auto-merge"].log
    assert rehearsal.repo.sha("main") == before

    rehearsal.state.grant("refresh-app-token", {"contents": "write", "pull-requests": "write"}, "refresh app",
                          login="refresh-bot[bot]")  # fmt: skip
    # An environment every branch may use: a pull request of any branch could read the token.
    rehearsal.repo.environments["data-refresh"] = Environment(secrets={"REFRESH_TOKEN": "refresh-app-token"})
    run = rehearsal.run("train.yml", pull_request(rehearsal.repo, rehearsal.state, BRANCH, pull["number"]))
    assert run.jobs["auto-merge"].result == "failure"
    assert "lets other branches than main and data-refresh use REFRESH_TOKEN" in run.jobs["auto-merge"].log
    assert rehearsal.repo.sha("main") == before

    rehearsal.repo.environments["data-refresh"].branches = ["main", BRANCH]
    head = rehearsal.repo.sha(BRANCH)
    run = rehearsal.run("train.yml", pull_request(rehearsal.repo, rehearsal.state, BRANCH, pull["number"]))
    assert run.jobs["auto-merge"].result == "success", log(run)
    assert run.jobs["auto-merge"].permissions == {"metadata": "read"}  # the merge is the App token's
    merged = rehearsal.repo.sha("main")
    assert git(rehearsal.repo.origin, "rev-parse", f"{merged}^1", f"{merged}^2").split() == [before, head]
    [call] = [call for call in rehearsal.state.calls() if call["method"] == "gh pr merge"]
    assert call["params"] == {"number": pull["number"], "sha": head}
    assert pulls(rehearsal) == []


def test_auto_merge_leaves_a_refresh_that_changes_more_than_the_data_to_a_person(rehearsal, first):
    """Anyone who can push the data-refresh branch could change the gate itself: that is never merged unread."""
    _, refresh, _ = drift_then_refresh(rehearsal)
    assert refresh.conclusion == "success", log(refresh)
    [pull] = pulls(rehearsal)
    rehearsal.repo.variables["REFRESH_AUTO_MERGE"] = "true"
    rehearsal.state.grant("refresh-app-token", {"contents": "write", "pull-requests": "write"}, "refresh app",
                          login="refresh-bot[bot]")  # fmt: skip
    rehearsal.repo.environments["data-refresh"] = Environment(
        secrets={"REFRESH_TOKEN": "refresh-app-token"}, branches=["main", BRANCH]
    )
    params = git(rehearsal.repo.origin, "show", f"{BRANCH}:params.yaml")
    rehearsal.repo.commit(
        BRANCH, "Loosen the gate", {"params.yaml": params.replace("tolerance: 0.01", "tolerance: 0.5")}
    )
    before, merges = rehearsal.repo.sha("main"), len(rehearsal.state.calls("gh pr merge"))
    run = rehearsal.run("train.yml", pull_request(rehearsal.repo, rehearsal.state, BRANCH, pull["number"]))
    assert run.jobs["train-pr"].result == "success", log(run)
    assert run.jobs["auto-merge"].result == "failure", log(run)
    assert "changes 1 file(s) besides data/raw/ and dvc.lock" in run.jobs["auto-merge"].log
    assert rehearsal.repo.sha("main") == before and len(rehearsal.state.calls("gh pr merge")) == merges
