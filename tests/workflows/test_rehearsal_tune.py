"""Rehearse the generated `tune.yml`: workers share one Optuna study, one pull request proposes the result.

The project is configured as docs/ci.md says: the secret OPTUNA_STORAGE of the `tuning`
environment names a PostgreSQL database (tests/services.py starts one on 127.0.0.1). A dispatch
with two workers must run two matrix jobs that both run trials of the same study, then the
collect job's report and best values reach one pull request from branch `tune`, with the plots on
`refs/tune-reports/tune`. A second dispatch, with the secret removed, runs the study in one job
(a journal file, carried to the collect job as an artifact) and updates that pull request.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from conftest import choice_options
from harness import Rehearsal, Repository, workflow_dispatch
from harness.github import Environment, git
from workflow_support import bake, make_host

pytest_plugins = ["services"]  # the postgres fixture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rehearsal-tune")]

WORKFLOW = "tune.yml"
PNG = b"\x89PNG\r\n\x1a\n"


def log(run) -> str:
    jobs = [instance for job in run.jobs.values() for instance in (job.instances or [job])]
    return "\n".join(f"--- {job.id} {job.matrix or ''}: {job.result}\n{job.log}" for job in jobs)


def pull_requests(rehearsal: Rehearsal) -> list[dict]:
    return [issue for issue in rehearsal.state.load()["issues"] if "pull_request" in issue]


def params_at(rehearsal: Rehearsal, ref: str) -> dict:
    return yaml.safe_load(git(rehearsal.repo.origin, "show", f"{ref}:params.yaml"))


def narrow(repo: Repository, n_estimators: str) -> None:
    """Commit a search space for the forest's size (the other forest keys dropped) on main."""
    text = git(repo.origin, "show", "refs/heads/main:params.yaml")
    forest = re.search(r"\n    random_forest:\n(      .*\n)+", text)
    text = text.replace(forest.group(0), f"\n    random_forest:\n      {n_estimators}\n")
    repo.commit("main", "Tune only the forest's size", {"params.yaml": text})


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory, postgres):
    root = tmp_path_factory.mktemp("rehearsal-tune")
    host = make_host(root / "host")
    versions = [version for version in choice_options()["python_version"] if host.python(version)]
    project = bake({"python_version": versions[0]}, root / "bake")
    repo = Repository.from_project(project, root)
    repo.environments["tuning"] = Environment(secrets={"OPTUNA_STORAGE": postgres.create_database("tune_rehearsal")})
    # The forest's current size (200 trees) outside the range: the study cannot pick it, so its
    # best values always differ from params.yaml's and there is something to propose.
    narrow(repo, "n_estimators: {low: 20, high: 60}")
    made = Rehearsal(repo, root / "runs", host)
    yield made
    made.close()


@pytest.fixture(scope="module")
def shared(rehearsal):
    """The first dispatch: two workers on the PostgreSQL study."""
    return rehearsal.run(WORKFLOW, workflow_dispatch(rehearsal.repo, WORKFLOW, {"trials": "6", "workers": "2"}))


def test_two_workers_run_trials_of_one_study(shared):
    assert shared.conclusion == "success", log(shared)
    assert shared.jobs["plan"].outputs["workers"] == "[1, 2]"
    workers = shared.jobs["tune"].instances
    assert [job.matrix for job in workers] == [{"worker": 1}, {"worker": 2}]
    for job in workers:
        assert job.result == "success", job.log
        assert job.environment == "tuning" and job.permissions == {"contents": "read", "metadata": "read"}
        assert re.search(rf"study tune-{shared.run_id}: this process ran 3 trial\(s\)", job.log), job.log
    assert "journal" not in " ".join(path.name for path in shared.artifacts.iterdir())  # the database held the study


def test_only_the_pull_request_job_can_write(shared):
    for name, job in shared.jobs.items():
        for instance in job.instances or [job]:
            writes = {scope for scope, level in instance.permissions.items() if level == "write"}
            assert writes == ({"contents", "pull-requests"} if name == "pull-request" else set()), name


def test_one_pull_request_proposes_the_best_values(shared, rehearsal):
    [pull] = pull_requests(rehearsal)
    assert pull["pull_request"]["head"] == "tune" and pull["state"] == "open"
    body = pull["body"]
    assert f"Study `tune-{shared.run_id}`: 6 complete" in body
    assert "Trials per worker: 1 3, 2 3" in body
    # The branch is main plus one commit that changes only tuned values of train.<model>.
    main, tune = params_at(rehearsal, "refs/heads/main"), params_at(rehearsal, "refs/heads/tune")
    assert git(rehearsal.repo.origin, "rev-parse", "refs/heads/tune^") == rehearsal.repo.sha("main")
    changed = git(rehearsal.repo.origin, "diff", "--name-only", "refs/heads/main", "refs/heads/tune").split()
    assert changed == ["params.yaml"]
    model = main["train"]["model"]
    assert {key: value for key, value in tune.items() if key != "train"} == {
        key: value for key, value in main.items() if key != "train"
    }
    assert set(tune["train"][model]) == set(main["train"][model])
    tuned = set(main["tune"]["space"][model])
    for key, value in tune["train"][model].items():
        if key in tuned:
            assert f"| `{key}` | {main['train'][model][key]} | {value} |" in body
        else:
            assert value == main["train"][model][key], key
    assert tune["train"][model]["n_estimators"] != main["train"][model]["n_estimators"]


def test_the_plots_are_linked_by_commit(shared, rehearsal):
    [pull] = pull_requests(rehearsal)
    images = git(rehearsal.repo.origin, "rev-parse", "refs/tune-reports/tune")
    links = re.findall(r"!\[[^\]]*\]\((\S+)\)", pull["body"])
    base = f"https://github.com/{rehearsal.repo.full_name}/raw/{images}/reports/tune/"
    assert links == [base + "optimization_history.png", base + "param_importances.png"]
    for link in links:
        path = f"{images}:reports/tune/{link.rsplit('/', 1)[1]}"
        blob = subprocess.run(["git", "-C", str(rehearsal.repo.origin), "cat-file", "blob", path], capture_output=True)
        assert blob.stdout[:8] == PNG, path


def test_a_second_dispatch_without_storage_runs_one_job_and_updates_the_pull_request(shared, rehearsal):
    [first] = pull_requests(rehearsal)
    del rehearsal.repo.environments["tuning"].secrets["OPTUNA_STORAGE"]
    second = rehearsal.run(WORKFLOW, workflow_dispatch(rehearsal.repo, WORKFLOW, {"trials": "3", "workers": "2"}))
    assert second.conclusion == "success", log(second)
    assert second.jobs["plan"].outputs["workers"] == "[1]"
    assert "OPTUNA_STORAGE is not set" in second.jobs["plan"].log
    [worker] = second.jobs["tune"].instances
    assert "this process ran 3 trial(s)" in worker.log
    [updated] = pull_requests(rehearsal)
    assert updated["number"] == first["number"]
    assert f"Study `tune-{second.run_id}`: 3 complete" in updated["body"]
    calls = [call["method"] for call in rehearsal.state.calls() if call["method"].startswith("gh pr")]
    assert calls == ["gh pr create", "gh pr edit"]


def test_a_study_that_finds_only_the_current_values_proposes_nothing(rehearsal):
    narrow(rehearsal.repo, "n_estimators: {choices: [200]}")  # the one value the forest has now
    before = git(rehearsal.repo.origin, "rev-parse", "refs/heads/tune")
    [pull] = pull_requests(rehearsal)
    run = rehearsal.run(WORKFLOW, workflow_dispatch(rehearsal.repo, WORKFLOW, {"trials": "2", "workers": "1"}))
    assert run.conclusion == "success", log(run)
    assert run.jobs["collect"].outputs["changed"] == "false"
    assert "no pull request" in run.jobs["collect"].log
    assert run.jobs["pull-request"].result == "skipped"
    assert git(rehearsal.repo.origin, "rev-parse", "refs/heads/tune") == before
    assert pull_requests(rehearsal) == [pull]


@pytest.mark.parametrize("inputs", [{"trials": "6", "workers": "2; touch X"}, {"trials": "$(touch X)", "workers": "1"}])
def test_a_bad_input_stops_the_plan_with_one_line(rehearsal, inputs):
    pulls = pull_requests(rehearsal)
    run = rehearsal.run(WORKFLOW, workflow_dispatch(rehearsal.repo, WORKFLOW, inputs))
    assert run.jobs["plan"].result == "failure"
    assert {run.jobs[name].result for name in ("tune", "collect", "pull-request")} == {"skipped"}
    errors = [line for line in run.jobs["plan"].log.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "must be a whole number" in errors[0], run.jobs["plan"].log
    assert not list(run.artifacts.parent.rglob("X"))  # the input reached no shell
    assert pull_requests(rehearsal) == pulls
