"""Rehearse the generated workflows on a baked project: every `run:` step runs for real.

One project is baked for the module and pushed to a stand-in repository; each test plays one
situation of the issue (a pull request and its next push, a fork's pull request, a push to
main, a failing gate, drifted and clean data, promote and rollback) and checks what GitHub
would show: job results, the recorded comment and issues, summaries, artifacts and the model
registry. The uv cache stays warm across runs, so each job's `make setup` takes seconds.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import choice_options
from harness import Rehearsal, Repository, pull_request, push, schedule, workflow_dispatch
from harness.github import git
from workflow_support import bake, make_host

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rehearsal")]

MARKER = "<!-- train-report -->"
REGISTRY = "mlflow-registry"  # the branch that keeps the embedded registry
HISTORY = "drift-history"  # the branch that keeps the drift history
FETCH_REGISTRY = "Fetch the registry from branch mlflow-registry (no MLFLOW_TRACKING_URI set)"
ISSUE_MARKER = "<!-- drift-issue -->"


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    root = tmp_path_factory.mktemp("rehearsal")
    host = make_host(root / "host")
    offered = choice_options()["python_version"]
    versions = [version for version in offered if host.python(version)]
    if not versions:
        pytest.fail(f"the host has none of the Python versions the template offers: {offered}")
    project = bake({"python_version": versions[0], "retrain_on_drift": "yes"}, root / "bake")
    made = Rehearsal(Repository.from_project(project, root), root / "runs", host)
    yield made
    made.close()


def params_text(rehearsal: Rehearsal) -> str:
    return git(rehearsal.repo.origin, "show", "main:params.yaml") + "\n"


def params(rehearsal: Rehearsal) -> dict:
    return yaml.safe_load(params_text(rehearsal))


def set_params(rehearsal: Rehearsal, branch: str, message: str, pattern: str, replacement: str) -> str:
    """Commit main's params.yaml on a branch, with the first line matching `pattern` replaced."""
    text = params_text(rehearsal)
    changed = re.sub(pattern, replacement, text, count=1, flags=re.M)
    assert changed != text, f"{message}: {pattern!r} matched nothing"
    return rehearsal.repo.commit(branch, message, {"params.yaml": changed})


def cron(rehearsal: Rehearsal) -> str:
    return json.loads(git(rehearsal.repo.origin, "show", "main:.cookiecutter.json"))["drift_schedule"]


def ok(run) -> str:
    """What to print when a run did not go as expected."""
    return f"{run.workflow} on {run.event.name}:\n{run.log[-12000:]}"


def aliases(database: Path, model: str) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT alias, version FROM registered_model_aliases WHERE name = ?", (model,))
        found = dict(rows.fetchall())
    connection.close()
    return found


def branch_registry(rehearsal: Rehearsal, into: Path) -> dict:
    """The registry branch as GitHub holds it: its commit count, manifest, log, and aliases of its mlflow.db."""
    origin = rehearsal.repo.origin
    into.mkdir(parents=True, exist_ok=True)
    database = into / "mlflow.db"
    database.write_bytes(subprocess.run(["git", "show", f"{REGISTRY}:mlflow.db"], cwd=origin, capture_output=True,
                                        check=True).stdout)  # fmt: skip
    model = params(rehearsal)["register"]["model_name"]
    return {
        "commits": int(git(origin, "rev-list", "--count", REGISTRY)),
        "manifest": json.loads(git(origin, "show", f"{REGISTRY}:registry.json")),
        "log": [json.loads(line) for line in git(origin, "show", f"{REGISTRY}:moves.jsonl").splitlines()],
        "aliases": aliases(database, model),
        "sha": git(origin, "rev-parse", REGISTRY),
    }


def activity(rehearsal: Rehearsal) -> int:
    """Issues opened and comments made so far."""
    issues = rehearsal.state.issues()
    return len(issues) + sum(len(rehearsal.state.comments(issue["number"])) for issue in issues)


def drift_history(rehearsal: Rehearsal) -> list[dict]:
    """The runs recorded on branch drift-history, oldest first."""
    return [json.loads(line) for line in git(rehearsal.repo.origin, "show", f"{HISTORY}:runs.jsonl").splitlines()]


@pytest.fixture(scope="module")
def first_push(rehearsal):
    """The first push to main: trains, registers in the embedded registry, saves the DVC cache."""
    return rehearsal.run("train.yml", push(rehearsal.repo))


def test_push_to_main_registers_the_model_and_publishes_the_registry_branch(rehearsal, first_push, tmp_path):
    run = first_push
    assert run.conclusion == "success", ok(run)
    register = run.jobs["register"]
    assert register.result == "success", ok(run)
    assert register.environment == "model-registry"
    assert register.concurrency == {"group": f"model-registry-{rehearsal.repo.full_name}", "cancel-in-progress": False}
    assert register.permissions["contents"] == "write"  # pushes the branch; no other job of train.yml may
    assert register.step("Publish the registry to branch mlflow-registry").outcome == "success", ok(run)
    assert not (run.artifacts / "model-registry").exists()  # the repository keeps it, not an artifact
    branch = branch_registry(rehearsal, tmp_path)
    assert branch["aliases"] == {"champion": 1, "challenger": 1}
    assert branch["commits"] == 1 and branch["manifest"]["versions"] == ["1"]
    assert [entry["aliases"] for entry in branch["log"]] == [{"challenger": "1", "champion": "1"}]
    assert branch["log"][0]["ci_run"].endswith(f"/actions/runs/{run.run_id}")
    assert "kept on branch `mlflow-registry`" in register.summary
    assert "| `champion` | 1 |" in register.summary


def published_images(rehearsal: Rehearsal, body: str, number: int) -> dict[str, str]:
    """Check that the comment's images are the PNGs on refs/pr-reports/<number>; return {name: blob}."""
    origin, full = rehearsal.repo.origin, rehearsal.repo.full_name
    commit = git(origin, "rev-parse", f"refs/pr-reports/{number}")
    assert git(origin, "rev-list", "--count", commit) == "1"  # one commit, no parent
    files = dict(line.split("\t")[::-1] for line in git(origin, "ls-tree", commit).splitlines())
    links = re.findall(r"!\[([a-z0-9_-]+)\]\((\S+)\)", body)
    assert links, body[-2000:]
    for alt, url in links:
        assert url == f"https://github.com/{full}/raw/{commit}/{alt}.png"
        assert f"{alt}.png" in files
        blob = subprocess.run(["git", "cat-file", "blob", f"{commit}:{alt}.png"], cwd=origin, capture_output=True)
        assert blob.stdout.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(links) == len(files)
    return {name: entry.split()[2] for name, entry in files.items()}


def test_pull_request_gets_one_report_comment_updated_in_place(rehearsal):
    repo, state = rehearsal.repo, rehearsal.state
    set_params(rehearsal, "fewer-trees", "Use 100 trees", "n_estimators: 200", "n_estimators: 100")
    first = rehearsal.run("train.yml", pull_request(repo, state, "fewer-trees", 1))
    assert first.jobs["train-pr"].result == "success", ok(first)
    assert first.jobs["comment"].result == "success", ok(first)
    # The comment job writes with the base branch's script, never the pull request's.
    assert first.jobs["comment"].steps[0].outputs["commit"] == repo.sha("main")
    # Pull-request code gets no cloud token, no job with the registry's write credentials, and
    # leaves nothing for a register job.
    assert first.jobs["train-pr"].permissions == {"contents": "read", "metadata": "read"}
    assert {job: first.jobs[job].result for job in ("train", "register")} == {"train": "skipped", "register": "skipped"}
    assert not (first.artifacts / "pipeline").exists()
    [comment] = state.comments(1)
    for text in (comment["body"], first.jobs["train-pr"].summary):
        assert "✅ Gate: passed" in text and "beats the baseline" in text
        assert "| Metric | `origin/main` | this run | change |" in text
        assert "| roc\\_auc |" in text  # Markdown-escaped by the report
        assert "train.random\\_forest.n\\_estimators | 200 | 100" in text
        assert "✅ Data validation: passed" in text
        assert f"/actions/runs/{first.run_id}/artifacts/" in text
    assert comment["body"].startswith(MARKER)
    first_images = published_images(rehearsal, comment["body"], 1)
    assert {"comparison.png", "roc.png", "precision_recall.png", "confusion_matrix.png"} <= set(first_images)
    assert "### Plots" not in first.jobs["train-pr"].summary  # the summary has text only

    set_params(rehearsal, "fewer-trees", "Use 150 trees", "n_estimators: 200", "n_estimators: 150")
    second = rehearsal.run("train.yml", pull_request(repo, state, "fewer-trees", 1, action="synchronize"))
    assert second.conclusion == "success", ok(second)
    [updated] = state.comments(1)
    assert updated["id"] == comment["id"]
    assert "train.random\\_forest.n\\_estimators | 200 | 150" in updated["body"]
    published_images(rehearsal, updated["body"], 1)  # the ref moved to the images of this run
    assert [c["method"] for c in state.calls() if c["method"].endswith("Comment")] == [
        "issues.createComment",
        "issues.updateComment",
    ]


def test_pull_request_with_a_worse_model_fails_against_the_champion_on_the_branch(rehearsal, tmp_path):
    repo, state = rehearsal.repo, rehearsal.state
    before = branch_registry(rehearsal, tmp_path)["sha"]
    worse = params_text(rehearsal).replace("n_estimators: 200", "n_estimators: 3", 1)
    worse = worse.replace("max_depth: null", "max_depth: 1", 1)
    repo.commit("stumps", "Three stumps", {"params.yaml": worse})
    run = rehearsal.run("train.yml", pull_request(repo, state, "stumps", 4))
    train = run.jobs["train-pr"]
    assert train.result == "failure", ok(run)
    assert (
        train.step("Fetch the registry from branch mlflow-registry (no MLFLOW_TRACKING_URI set)").outcome == "success"
    )
    assert run.jobs["comment"].result == "success", ok(run)  # the failed gate is still reported
    [comment] = state.comments(4)
    assert "❌ Gate: failed" in comment["body"]
    assert "worse than champion v1" in comment["body"]
    assert "comparison.png" in published_images(rehearsal, comment["body"], 4)  # images linked
    assert branch_registry(rehearsal, tmp_path)["sha"] == before  # a pull request never writes it


def test_pull_request_from_a_fork_is_green_and_attempts_no_comment(rehearsal):
    repo, state = rehearsal.repo, rehearsal.state
    # A fork sees no variable: neither the registry nor a self-hosted runner of the repository.
    hidden = {"MLFLOW_TRACKING_URI": "https://mlflow.invalid", "TRAIN_RUNNER": "self-hosted-gpu"}
    repo.variables.update(hidden)
    try:
        set_params(rehearsal, "from-fork", "Fewer leaves", "max_leaf_nodes: 31", "max_leaf_nodes: 15")
        calls = len(state.calls())
        run = rehearsal.run("train.yml", pull_request(repo, state, "from-fork", 2, fork=True))
    finally:
        for name in hidden:
            del repo.variables[name]
    assert run.jobs["train-pr"].runs_on == "ubuntu-latest"
    assert run.conclusion == "success", ok(run)
    assert run.jobs["comment"].result == "skipped"
    assert state.calls()[calls:] == []
    assert "Gate: passed" in run.jobs["train-pr"].summary
    assert run.jobs["train-pr"].permissions == {"contents": "read", "metadata": "read"}


def test_failing_gate_fails_the_job_and_nothing_is_registered(rehearsal, tmp_path):
    before = params_text(rehearsal)
    registry_before = branch_registry(rehearsal, tmp_path)["sha"]
    set_params(rehearsal, "main", "Demand a perfect model", r"^  threshold: .*$", "  threshold: 1.0")
    try:
        run = rehearsal.run("train.yml", push(rehearsal.repo))
    finally:
        rehearsal.repo.commit("main", "Back to the usual threshold", {"params.yaml": before})
    train = run.jobs["train"]
    assert train.result == "failure", ok(run)
    assert train.step("Run the pipeline").outcome == "failure"
    assert train.step("publish").outcome == "success"  # the failed gate is still reported
    assert run.jobs["register"].result == "skipped"
    assert "❌ Gate: failed" in train.summary and "misses the threshold 1.0" in train.summary
    assert branch_registry(rehearsal, tmp_path)["sha"] == registry_before


def test_drift_on_clean_data_opens_no_issue(rehearsal):
    # Bigger or self-hosted machines are repository variables (docs/ci.md, "Runners").
    runners = {"RUNNER": "arc-runner-set", "DRIFT_RUNNER": "ubuntu-24.04-16core"}
    rehearsal.repo.variables.update(runners)
    try:
        run = rehearsal.run("drift.yml", schedule(rehearsal.repo, cron(rehearsal)))
    finally:
        for name in runners:
            del rehearsal.repo.variables[name]
    assert run.conclusion == "success", ok(run)
    assert (run.jobs["drift"].runs_on, run.jobs["keepalive"].runs_on) == ("ubuntu-24.04-16core", "arc-runner-set")
    assert run.jobs["drift"].outputs["drifted"] == "false"
    assert {job: run.jobs[job].result for job in ("issue", "retrain")} == {"issue": "skipped", "retrain": "skipped"}
    assert rehearsal.state.issues() == []
    assert run.jobs["keepalive"].result == "success"
    assert [e["workflow"] for e in rehearsal.state.load()["enabled"]] == ["drift.yml"]
    assert (run.artifacts / "drift-report" / "drift.md").is_file()
    # The check is recorded on branch drift-history, with its page; the alert rule said no.
    history = run.jobs["history"]
    assert history.result == "success", ok(run)
    assert history.permissions["contents"] == "write" and history.outputs["alert"] == "false"
    assert "**Drift alert**: no: drift in 0 of the last" in history.summary
    runs = drift_history(rehearsal)
    assert runs[-1]["drift"] is False and runs[-1]["champion"] == "1" and runs[-1]["estimate"] is not None
    assert runs[-1]["run_url"].endswith(f"/actions/runs/{run.run_id}")
    assert (run.artifacts / "drift-history" / "index.html").is_file()
    assert "Drift history" in git(rehearsal.repo.origin, "show", f"{HISTORY}:index.html")


def test_drift_opens_one_issue_then_comments_on_it_and_dispatches_the_data_refresh(rehearsal):
    set_params(rehearsal, "main", "Shift the current batch", "shift: 0.0", "shift: 3.0")
    event = schedule(rehearsal.repo, cron(rehearsal))
    first = rehearsal.run("drift.yml", event)
    assert first.conclusion == "success", ok(first)
    assert first.jobs["drift"].outputs["drifted"] == "true"
    [issue] = rehearsal.state.issues()
    assert issue["body"].startswith(ISSUE_MARKER) and issue["labels"] == [{"name": "drift"}]
    assert "drift" in first.jobs["drift"].summary.lower()
    second = rehearsal.run("drift.yml", event)
    assert second.conclusion == "success", ok(second)
    assert [i["number"] for i in rehearsal.state.issues()] == [issue["number"]]
    assert len(rehearsal.state.comments(issue["number"])) == 1
    # Retraining needs the new data: the data refresh is dispatched, told which issue it answers.
    dispatched = [(d["workflow"], d["job"], d["ref"], d["inputs"]) for d in rehearsal.state.dispatches()]
    refresh = ("refresh.yml", "retrain", rehearsal.repo.default_branch, {"issue": str(issue["number"])})
    assert dispatched == [refresh] * 2
    set_params(rehearsal, "main", "Unshift the current batch", "shift: 3.0", "shift: 0.0")


def test_k_of_n_alerts_on_a_persistent_shift_and_a_broken_history_never_silences_one(rehearsal):
    two_of_two = "alert: {k: 2, n: 2}"
    set_params(rehearsal, "main", "Alert on drift in 2 of the last 2 checks", r"alert: \{k: 1, n: 1\}", two_of_two)
    try:
        set_params(rehearsal, "main", "Shift the current batch", "shift: 0.0", "shift: 3.0")
        subprocess.run(["git", "update-ref", "-d", f"refs/heads/{HISTORY}"], cwd=rehearsal.repo.origin, check=True)
        before = activity(rehearsal)
        event = schedule(rehearsal.repo, cron(rehearsal))
        first = rehearsal.run("drift.yml", event)  # one drifted check of two: no alert yet
        assert first.conclusion == "success", ok(first)
        assert first.jobs["drift"].outputs["drifted"] == "true" and first.jobs["history"].outputs["alert"] == "false"
        skipped = {"issue": "skipped", "retrain": "skipped"}
        assert {job: first.jobs[job].result for job in ("issue", "retrain")} == skipped
        second = rehearsal.run("drift.yml", event)  # the shift persists: two of two
        assert second.conclusion == "success", ok(second)
        assert second.jobs["history"].outputs["alert"] == "true", ok(second)
        assert second.jobs["issue"].result == "success", ok(second)
        assert [run["drift"] for run in drift_history(rehearsal)] == [True, True]
        # Someone breaks the history branch: the history job fails, and the check's own verdict opens the alert.
        broken = git(rehearsal.repo.origin, "show", f"{HISTORY}:runs.jsonl")[:50] + "\n"
        rehearsal.repo.commit(HISTORY, "Break the history", {"runs.jsonl": broken})
        third = rehearsal.run("drift.yml", event)
        assert third.jobs["history"].result == "failure" and third.conclusion == "failure", ok(third)
        assert "runs.jsonl" in third.log and "not JSON" in third.log
        assert third.jobs["issue"].result == "success", ok(third)
        assert activity(rehearsal) == before + 2  # the second and the third run each opened or commented
    finally:
        subprocess.run(["git", "update-ref", "-d", f"refs/heads/{HISTORY}"], cwd=rehearsal.repo.origin, check=True)
        set_params(rehearsal, "main", "Unshift the current batch", "shift: 3.0", "shift: 0.0")
        set_params(rehearsal, "main", "Back to single-check alerts", r"alert: \{k: 2, n: 2\}", "alert: {k: 1, n: 1}")


def test_retrain_dispatched_on_the_default_branch_registers(rehearsal, tmp_path):
    # Training started by hand on the default branch (no inputs).
    rehearsal.repo.variables["TRAIN_RUNNER"] = "ubuntu-24.04-8core"
    try:
        run = rehearsal.run("train.yml", workflow_dispatch(rehearsal.repo, "train.yml"))
    finally:
        del rehearsal.repo.variables["TRAIN_RUNNER"]
    assert run.conclusion == "success", ok(run)
    assert run.jobs["train-pr"].result == "skipped"
    assert run.jobs["train"].runs_on == run.jobs["register"].runs_on == "ubuntu-24.04-8core"
    register = run.jobs["register"]
    assert register.result == "success", ok(run)
    assert register.environment == "model-registry"
    # The same data and params as the first push: the same model, found again, nothing moves.
    assert branch_registry(rehearsal, tmp_path)["aliases"] == {"champion": 1, "challenger": 1}


def test_dispatch_on_another_branch_trains_but_never_registers(rehearsal):
    rehearsal.repo.commit("experiment", "Try an idea", {"NOTES.md": "an experiment\n"})
    run = rehearsal.run("train.yml", workflow_dispatch(rehearsal.repo, "train.yml", branch="experiment"))
    assert run.conclusion == "success", ok(run)
    assert run.jobs["train"].result == "success", ok(run)
    assert "Gate: passed" in run.jobs["train"].summary
    assert run.jobs["register"].result == "skipped"
    # Nothing kept for a registration: no gated-outputs artifact.
    assert not (run.artifacts / "pipeline").exists()


@pytest.mark.parametrize("version", ["2; touch X #", "$(shell touch X)"])
def test_promote_refuses_a_hostile_version_before_any_shell_runs_it(rehearsal, version):
    run = rehearsal.run("promote.yml", workflow_dispatch(rehearsal.repo, "promote.yml", {"version": version}))
    promote = run.jobs["promote"]
    assert promote.result == "failure", ok(run)
    step = promote.step("Move champion to the chosen version")
    assert step.outcome == "failure"
    assert "VERSION must be a positive integer such as 3" in step.log, ok(run)
    assert "Traceback" not in step.log
    # The run's folder holds every job's workspace, HOME and temp files: no X anywhere.
    assert not [path for path in run.artifacts.parent.rglob("X")], "the hostile input reached a shell"


def test_better_model_then_rollback_and_promote_move_champion_on_the_branch(rehearsal, tmp_path):
    repo = rehearsal.repo
    set_params(rehearsal, "main", "More trees", "n_estimators: 200", "n_estimators: 300")
    second = rehearsal.run("train.yml", push(repo))
    assert second.conclusion == "success", ok(second)
    assert "champion v1" in second.jobs["train"].summary  # the gate compared with the branch's champion
    branch = branch_registry(rehearsal, tmp_path / "second")
    assert branch["aliases"] == {"champion": 2, "challenger": 2, "previous-champion": 1}
    rollback = rehearsal.run("rollback.yml", workflow_dispatch(repo, "rollback.yml"))
    assert rollback.conclusion == "success", ok(rollback)
    assert branch_registry(rehearsal, tmp_path / "rollback")["aliases"]["champion"] == 1
    promote = rehearsal.run("promote.yml", workflow_dispatch(repo, "promote.yml", {"version": "2"}))
    assert promote.conclusion == "success", ok(promote)
    branch = branch_registry(rehearsal, tmp_path / "promote")
    assert branch["aliases"]["champion"] == 2
    assert "| `champion` | 2 |" in promote.jobs["promote"].summary
    assert branch["commits"] == 1  # each push replaces the branch's commit ...
    assert [entry["aliases"]["champion"] for entry in branch["log"]][-3:] == ["2", "1", "2"]  # ... and logs it
    runs = ((second, "register"), (rollback, "rollback"), (promote, "promote"))
    assert {run.jobs[job].concurrency["group"] for run, job in runs} == {f"model-registry-{repo.full_name}"}
    assert {run.jobs[job].environment for run, job in runs} == {"model-registry"}
    assert {run.jobs[job].permissions["contents"] for run, job in runs} == {"write"}


def test_two_registrations_queued_together_both_land(rehearsal, tmp_path):
    """Two pushes to main: their register jobs queue in one concurrency group, the second after the first."""
    repo = rehearsal.repo
    runs = []
    for trees in (350, 400):
        set_params(rehearsal, "main", f"{trees} trees", r"n_estimators: \d+", f"n_estimators: {trees}")
        runs.append(rehearsal.run("train.yml", push(repo)))
    for run in runs:
        assert run.jobs["register"].result == "success", ok(run)
    branch = branch_registry(rehearsal, tmp_path)
    assert branch["aliases"] == {"champion": 4, "challenger": 4, "previous-champion": 3}
    assert {"3", "4"} <= set(branch["manifest"]["versions"])
    assert [entry["aliases"]["champion"] for entry in branch["log"]][-2:] == ["3", "4"]


def test_a_fresh_clone_pulls_the_registry_and_loads_the_champion(rehearsal, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(rehearsal.repo.origin), str(clone))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "GITHUB_", "VIRTUAL_ENV"))}
    env["UV_CACHE_DIR"] = str(rehearsal.host.uv_cache)

    def make(*args: str) -> str:
        found = subprocess.run(["make", *args], cwd=clone, env=env, capture_output=True, text=True, check=False)
        assert found.returncode == 0, found.stdout[-3000:] + found.stderr[-3000:]
        return found.stdout

    make("setup")
    assert "fetched mlflow-registry" in make("registry-pull")
    status = make("status")
    assert re.search(r"version 4: .*@champion", status), status
    model = params(rehearsal)["register"]["model_name"]
    target = params(rehearsal)["data"]["target"]
    load = (
        f"import mlflow, pandas; rows = pandas.read_csv('data/raw/data.csv').drop(columns=['{target}']).head(5); "
        f"print(len(mlflow.pyfunc.load_model('models:/{model}@champion').predict(rows)))"
    )
    found = subprocess.run([".venv/bin/python", "-c", load], cwd=clone, env=env, capture_output=True, text=True)
    assert found.stdout.strip().splitlines()[-1:] == ["5"], found.stderr[-3000:]


def test_ci_lints_and_tests_on_a_pull_request(rehearsal):
    repo, state = rehearsal.repo, rehearsal.state
    repo.commit("docs-only", "Say hello", {"NOTES.md": "hello\n"})
    run = rehearsal.run("ci.yml", pull_request(repo, state, "docs-only", 3))
    assert run.conclusion == "success", ok(run)
    jobs = {job.id: job.result for job in run.jobs.values()}
    assert jobs == {"lint": "success", "test": "success", "test-slow": "success"}
    fast, slow = run.jobs["test"].step("Run the fast tests"), run.jobs["test-slow"].step("Run the slow tests")
    assert "deselected" not in fast.log and " passed" in fast.log, fast.log[-2000:]  # -m "not slow": none of them
    assert " passed, " in slow.log and "deselected" in slow.log, slow.log[-2000:]  # only the tests marked slow
    scripts = run.jobs["test"].step("Test the workflows' scripts")
    assert scripts.outcome == "success" and "# fail 0" in scripts.log, scripts.log[-3000:]
