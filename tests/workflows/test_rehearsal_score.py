"""Rehearse the generated `score.yml`: the champion scores the batch on a schedule.

A project is baked and pushed. Its schedule first fires before anything is registered: the job
must fail closed, with one error line and no predictions uploaded. Then the first push trains and
registers v1 as champion on branch mlflow-registry (train.yml runs `make repro` and `make register`
and publishes the registry, as `make pipeline` and `make registry-push` do on a laptop), and the
next scheduled run scores the current batch with v1: the job summary's batch-scoring table names
the version, and the artifact `predictions` holds one prediction per row of the batch and the
sidecar naming v1.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import choice_options
from harness import Rehearsal, Repository, push, schedule
from harness.github import SERVER_URL, git
from workflow_support import bake, make_host

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rehearsal-score")]

WORKFLOW = "score.yml"
REGISTRY = "mlflow-registry"  # the branch that keeps the embedded registry
ARTIFACT = "predictions"
PREDICTIONS = "data/predictions/predictions.csv"  # params.yaml score.output as baked


def log(run) -> str:
    return f"{run.workflow} on {run.event.name}:\n{run.log[-12000:]}"


def answers(rehearsal: Rehearsal) -> dict:
    return json.loads(git(rehearsal.repo.origin, "show", "main:.cookiecutter.json"))


def has_registry_branch(rehearsal: Rehearsal) -> bool:
    return bool(git(rehearsal.repo.origin, "branch", "--list", REGISTRY))


def current_batch(run) -> pd.DataFrame:
    """The batch `make current` wrote in the score job's workspace (the run's folder holds it)."""
    [batch] = (run.artifacts.parent / "jobs" / "score").rglob("data/current/current.csv")
    return pd.read_csv(batch)


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    root = tmp_path_factory.mktemp("rehearsal-score")
    host = make_host(root / "host")
    versions = [version for version in choice_options()["python_version"] if host.python(version)]
    project = bake({"python_version": versions[0]}, root / "bake")
    made = Rehearsal(Repository.from_project(project, root), root / "runs", host)
    yield made
    made.close()


@pytest.fixture(scope="module")
def before_registration(rehearsal):
    """The schedule fires on the fresh project: no registry branch, so no champion."""
    assert not has_registry_branch(rehearsal)
    return rehearsal.run(WORKFLOW, schedule(rehearsal.repo, answers(rehearsal)["score_schedule"]))


@pytest.fixture(scope="module")
def champion(rehearsal, before_registration):
    """The first push registers v1 as champion on the registry branch (after the run above)."""
    first = rehearsal.run("train.yml", push(rehearsal.repo))
    assert first.jobs["register"].result == "success", log(first)
    aliases = json.loads(git(rehearsal.repo.origin, "show", f"{REGISTRY}:registry.json"))["aliases"]
    assert aliases["champion"] == "1", aliases
    return "1"


def test_without_a_champion_the_job_fails_closed_with_one_error_line(before_registration):
    run = before_registration
    job = run.jobs["score"]
    assert job.result == "failure", log(run)
    assert job.step("Fetch the registry from branch mlflow-registry (no MLFLOW_TRACKING_URI set)").outcome == "success"
    step = job.step("score")
    assert step.outcome == "failure", log(run)
    errors = [line for line in step.log.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "has no champion yet" in errors[0], step.log[-3000:]
    assert "Traceback" not in step.log
    assert step.outputs == {}  # no rows= or version= for a later step to trust
    assert job.step("Upload the predictions, their sidecar and the summary").outcome == "skipped"
    assert not (run.artifacts / ARTIFACT).exists()
    assert "Batch scoring" not in job.summary


def test_schedule_scores_the_batch_with_the_champion(rehearsal, champion):
    repo = rehearsal.repo
    repo.variables["SCORE_RUNNER"] = "ubuntu-24.04-16core"  # large batches: a bigger runner (docs/ci.md)
    try:
        run = rehearsal.run(WORKFLOW, schedule(repo, answers(rehearsal)["score_schedule"]))
    finally:
        del repo.variables["SCORE_RUNNER"]
    job = run.jobs["score"]
    assert run.conclusion == "success", log(run)
    assert job.runs_on == "ubuntu-24.04-16core"
    assert job.permissions == {"contents": "read", "metadata": "read"}  # reads the registry, writes nothing
    batch = current_batch(run)
    assert job.step("score").outputs == {"rows": str(len(batch)), "version": champion}

    assert f"## Batch scoring\n\n{len(batch):,} rows of `data/current/current.csv` scored by v{champion} of" in (
        job.summary
    )
    assert "| Predicted class | this batch | holdout rows |" in job.summary
    assert f"{SERVER_URL}/{repo.full_name}/actions/workflows/drift.yml" in job.summary

    stored = run.artifacts / ARTIFACT
    predictions = pd.read_csv(stored / PREDICTIONS)
    assert len(predictions) == len(batch)
    assert "prediction" in predictions and any(name.startswith("probability_") for name in predictions)
    sidecar = json.loads((stored / f"{PREDICTIONS}.json").read_text(encoding="utf-8"))
    target = sidecar["target"]  # not a feature: passed through, row for row
    assert predictions[target].tolist() == batch[target].tolist()
    assert (sidecar["model"]["version"], sidecar["model"]["alias"]) == (champion, "champion")
    assert sidecar["input"]["rows"] == sidecar["output"]["rows"] == len(batch)
    summary = json.loads((stored / "reports/score/summary.json").read_text(encoding="utf-8"))
    assert summary["model"]["version"] == champion and summary["rows"] == len(batch)
    assert (stored / "reports/score/summary.md").read_text(encoding="utf-8") in job.summary
