"""Rehearse the workflows on the scale path: an MLflow server and an S3 DVC remote behind OIDC.

The services of the scale tests (tests/services.py: PostgreSQL, an S3-compatible store and
`mlflow server` on both, all on 127.0.0.1) stand in for a team's infrastructure. The project is
baked with `dvc_remote=s3` and configured the way docs/ci.md says, with repository variables
only: `MLFLOW_TRACKING_URI` names the server; `AWS_ROLE_TO_ASSUME`, `AWS_STS_ENDPOINT` and
`AWS_ENDPOINT_URL_S3` let the jobs that hold `id-token: write` log in to the store and run
`make pull` and `make push`. The store trusts only the two subjects docs/ci.md gives, so a job
that is not meant to log in cannot.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml
from conftest import choice_options
from harness import Rehearsal, Repository, pull_request, push, workflow_dispatch
from harness.github import git
from harness.runner import StepFailure
from workflow_support import bake, make_host

pytest_plugins = ["services"]  # the postgres, s3_store and mlflow_server fixtures

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("scale")]

ROLE = "arn:aws:iam::123456789012:role/dvc-ci"
BUCKET = "rehearsal-dvc"
S3_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


class StoreCloud:
    """The S3-compatible store's STS, trusting GitHub's OIDC subjects as docs/ci.md's trust policy does."""

    def __init__(self, store, repository: str) -> None:
        self.store, self.sts_endpoint = store, store.endpoint
        self.trusted = {f"repo:{repository}:ref:refs/heads/main", f"repo:{repository}:environment:model-registry"}
        self.logins: list[str] = []
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                         "Action": "sts:AssumeRole"}]}  # fmt: skip
        iam = self.client("iam")
        iam.create_role(RoleName=ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=ROLE.rsplit("/", 1)[1], PolicyName="dvc", PolicyDocument=S3_ONLY)

    def client(self, service: str):
        import boto3

        return boto3.client(service, endpoint_url=self.store.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.store.access_key_id,
                            aws_secret_access_key=self.store.secret_access_key)  # fmt: skip

    def assume_role(self, role_arn: str, subject: str, audience: str) -> dict[str, str]:
        if audience != "sts.amazonaws.com" or subject not in self.trusted:
            raise StepFailure(f"Not authorized to perform sts:AssumeRoleWithWebIdentity ({subject})")
        self.logins.append(subject)
        return self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="GitHubActions")["Credentials"]


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory, s3_store, mlflow_server):
    root = tmp_path_factory.mktemp("rehearsal-servers")
    host = make_host(root / "host")
    versions = [version for version in choice_options()["python_version"] if host.python(version)]
    answers = {"python_version": versions[0], "project_name": "Churn Rehearsal", "dvc_remote": "s3",
               "dvc_remote_url": f"s3://{BUCKET}/churn-rehearsal"}  # fmt: skip
    project = bake(answers, root / "bake")
    repo = Repository.from_project(project, root, full_name="octo-org/churn-rehearsal")
    host.cloud = StoreCloud(s3_store, repo.full_name)
    host.cloud.client("s3").create_bucket(Bucket=BUCKET)
    repo.variables.update(
        {
            "MLFLOW_TRACKING_URI": mlflow_server.url,
            "AWS_ROLE_TO_ASSUME": ROLE,
            "AWS_STS_ENDPOINT": s3_store.endpoint,
            "AWS_ENDPOINT_URL_S3": s3_store.endpoint,
        }
    )
    made = Rehearsal(repo, root / "runs", host)
    yield made
    made.close()


def ok(run) -> str:
    return f"{run.workflow} on {run.event.name}:\n{run.log[-12000:]}"


def aliases(server_url: str, model: str) -> dict[str, int]:
    """The model's aliases, read from the server's REST API; none when the model does not exist."""
    query = urllib.parse.urlencode({"name": model})
    try:
        with urllib.request.urlopen(f"{server_url}/api/2.0/mlflow/registered-models/get?{query}", timeout=30) as got:
            found = json.load(got)["registered_model"].get("aliases", [])
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        found = []
    return {item["alias"]: int(item["version"]) for item in found}


def main_file(rehearsal: Rehearsal, path: str) -> str:
    return git(rehearsal.repo.origin, "show", f"main:{path}") + "\n"


def with_trees(rehearsal: Rehearsal, trees: int) -> str:
    return re.sub(r"n_estimators: \d+", f"n_estimators: {trees}", main_file(rehearsal, "params.yaml"), count=1)


@pytest.fixture(scope="module")
def loop(rehearsal, mlflow_server, s3_store):
    """Two pushes to main with a pull request between them, then a rollback and a promotion."""
    repo, cloud = rehearsal.repo, rehearsal.host.cloud
    model = yaml.safe_load(main_file(rehearsal, "params.yaml"))["register"]["model_name"]
    record: dict = {"model": model}
    record["first"] = rehearsal.run("train.yml", push(repo))
    assert record["first"].conclusion == "success", ok(record["first"])  # every later step builds on it
    record["after_first"] = aliases(mlflow_server.url, model)
    record["keys_after_first"] = s3_store.keys(BUCKET)
    record["logins_first"] = list(cloud.logins)

    repo.commit("fewer-trees", "Use 20 trees", {"params.yaml": with_trees(rehearsal, 20)})
    record["pr"] = rehearsal.run("train.yml", pull_request(repo, rehearsal.state, "fewer-trees", 1))
    record["logins_pr"] = cloud.logins[len(record["logins_first"]) :]

    # The data scientist commits the dvc.lock of the registered run; the Actions cache is gone
    # (evicted after a week unused), so the next run can only get the outputs from the remote.
    lock = (record["first"].artifacts / "pipeline" / "dvc.lock").read_text()
    repo.commit("main", "Record the pipeline's outputs; 300 trees", {"dvc.lock": lock})
    repo.commit("main", "More trees", {"params.yaml": with_trees(rehearsal, 300)})
    shutil.rmtree(rehearsal.host.actions_cache)
    record["second"] = rehearsal.run("train.yml", push(repo))
    record["after_second"] = aliases(mlflow_server.url, model)

    record["rollback"] = rehearsal.run("rollback.yml", workflow_dispatch(repo, "rollback.yml"))
    record["after_rollback"] = aliases(mlflow_server.url, model)
    record["promote"] = rehearsal.run("promote.yml", workflow_dispatch(repo, "promote.yml", {"version": "2"}))
    record["after_promote"] = aliases(mlflow_server.url, model)
    return record


def test_first_push_registers_v1_on_the_server_and_pushes_the_data(loop, rehearsal):
    run = loop["first"]
    assert run.conclusion == "success", ok(run)
    assert loop["after_first"] == {"champion": 1, "challenger": 1}
    assert "no champion yet" in run.jobs["train"].summary
    register = run.jobs["register"]
    assert register.step("Push data and outputs to the DVC remote").outcome == "success", ok(run)
    assert not (run.artifacts / "model-registry").exists()  # the server is the registry
    assert any(key.startswith("churn-rehearsal/files/md5/") for key in loop["keys_after_first"])
    full = rehearsal.repo.full_name
    assert loop["logins_first"] == [f"repo:{full}:ref:refs/heads/main", f"repo:{full}:environment:model-registry"]


def test_pull_request_report_compares_with_the_servers_champion(loop, rehearsal):
    run = loop["pr"]
    assert run.jobs["train-pr"].result == "success", ok(run)
    assert run.jobs["comment"].result == "success", ok(run)
    [comment] = rehearsal.state.comments(1)
    assert "champion v1" in comment["body"]
    assert loop["logins_pr"] == []  # pull requests never log in to the cloud


def test_second_push_pulls_from_the_remote_and_moves_the_aliases(loop):
    run = loop["second"]
    assert run.conclusion == "success", ok(run)
    train = run.jobs["train"]
    pipeline = train.step("Run the pipeline").log  # a composite action: its steps' logs, in order
    pulled = pipeline.split("[success] Pull data and outputs from the DVC remote", 1)
    assert len(pulled) == 2, pipeline[-3000:]
    assert re.search(r"\d+ files? fetched", pulled[1].split("[", 1)[0]), pipeline[-3000:]
    assert "Stage 'ingest' didn't change, skipping" in pipeline  # its outputs came from the remote
    assert "champion v1" in train.summary  # the gate compared with the first push's model
    assert loop["after_second"] == {"champion": 2, "challenger": 2, "previous-champion": 1}


def test_rollback_and_promote_move_champion_on_the_server(loop, rehearsal):
    rollback, promote = loop["rollback"], loop["promote"]
    assert rollback.conclusion == "success", ok(rollback)
    assert loop["after_rollback"]["champion"] == 1
    assert promote.conclusion == "success", ok(promote)
    assert loop["after_promote"]["champion"] == 2
    assert "| `champion` | 2 |" in promote.jobs["promote"].summary
    for run, job in ((rollback, "rollback"), (promote, "promote")):
        assert run.jobs[job].environment == "model-registry"
        assert run.jobs[job].concurrency["group"] == f"model-registry-{rehearsal.repo.full_name}"
