"""Slow tier, scale path: an S3 DVC remote and an MLflow server on PostgreSQL and S3, run for real.

The services run on 127.0.0.1 (tests/services.py). The scenario follows a team moving a project
to shared infrastructure as docs/servers.md says: the remote's endpoint and credentials outside
git, the loop against the server, `make push`, and every output back in a fresh clone.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest_plugins = ["services"]  # the postgres, s3_store and mlflow_server fixtures

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("scale")]

TEMPLATE = Path(__file__).resolve().parents[1]
BUCKET = "dvc-storage"
SERVERS_DOC = TEMPLATE / "{{cookiecutter.project_slug}}" / "docs" / "servers.md"
PLACEHOLDER = re.compile(r"<[^<>\s]+>")
RAN: list[list[str]] = []  # every command this module ran successfully, to check docs/servers.md against
IDENTITY = ["-c", "user.name=Scale Test", "-c", "user.email=scale@localhost"]
# Loads the champion through MLflow's generic interface, as a serving tool would, and predicts.
PREDICT = """
import json, mlflow, pandas, yaml
params = yaml.safe_load(open("params.yaml"))
name = params["register"]["model_name"]
rows = pandas.read_csv("data/prepared/holdout.csv").drop(columns=[params["data"]["target"]]).head(7)
version = mlflow.MlflowClient().get_model_version_by_alias(name, "champion").version
predictions = mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(rows)
print(json.dumps({"version": str(version), "predictions": len(predictions)}))
"""


def run(command: str | list[str], cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    args = shlex.split(command) if isinstance(command, str) else command
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode == 0:
        RAN.append(args)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{command} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def clean_env(**extra: str) -> dict:
    """The test's environment without any AWS or MLflow setting of the machine, plus `extra`."""
    kept = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MLFLOW_"))}
    return {**kept, **extra}


def dvc(project: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    return run([str(project / ".venv/bin/dvc"), *args], project, env)


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("ERROR")]


def cached_outputs(project: Path) -> list[str]:
    """Every output of dvc.lock that DVC caches (and so the remote holds), not git."""
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    tracked = set(run(["git", "ls-files"], project, {}).stdout.splitlines())
    outs = [out["path"] for stage in lock["stages"].values() for out in stage.get("outs", [])]
    return [out for out in outs if out not in tracked]


def files_under(path: Path) -> dict[str, bytes]:
    """Every file at or under `path`, by its path relative to `path`, with its content."""
    found = [path] if path.is_file() else sorted(item for item in path.rglob("*") if item.is_file())
    return {item.relative_to(path).as_posix(): item.read_bytes() for item in found}


@pytest.fixture(scope="module")
def project(tmp_path_factory, s3_store, mlflow_server) -> dict:
    """Bake with dvc_remote=s3, configure the endpoint in .dvc/config.local, run the loop, commit, push."""
    output = tmp_path_factory.mktemp("scale")
    env = clean_env(MLFLOW_TRACKING_URI=mlflow_server.url, **mlflow_server.client_settings)
    answers = ["dvc_remote=s3", f"dvc_remote_url=s3://{BUCKET}/churn-model"]
    run([sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE), "-o", str(output), *answers], output, env)
    path = next(output.iterdir())
    record: dict = {"path": path, "env": env}
    record["setup"] = run("make setup", path, env)
    dvc(path, "remote", "modify", "storage", "url", f"s3://{BUCKET}/churn-model", env=env)
    create = f"import boto3; boto3.client('s3', endpoint_url='{s3_store.endpoint}', region_name='us-east-1')"
    run([".venv/bin/python", "-c", f"{create}.create_bucket(Bucket='{BUCKET}')"], path, {**env, **s3_store.env()})
    dvc(path, "remote", "modify", "--local", "storage", "endpointurl", s3_store.endpoint, env=env)
    dvc(path, "remote", "modify", "--local", "storage", "access_key_id", s3_store.access_key_id, env=env)
    dvc(path, "remote", "modify", "--local", "storage", "secret_access_key", s3_store.secret_access_key, env=env)
    record["pipeline"] = run("make pipeline", path, env)
    record["status"] = run("make status", path, env)
    record["champion"] = json.loads(run([str(path / ".venv/bin/python"), "-c", PREDICT], path, env).stdout)
    record["artifacts"] = s3_store.keys(mlflow_server.artifacts_bucket)
    run(["git", "add", "--all"], path, env)
    run(["git", *IDENTITY, "commit", "--quiet", "-m", "First model"], path, env)
    record["push"] = run("make push", path, env)
    record["remote_keys"] = s3_store.keys(BUCKET)
    return record


@pytest.fixture(scope="module")
def clone(project: dict, s3_store, tmp_path_factory) -> dict:
    """A fresh clone: `make setup`, the endpoint in config.local, credentials from the environment, `make pull`."""
    path = tmp_path_factory.mktemp("clone") / "churn-model"
    env = {**project["env"], **s3_store.env()}
    run(["git", "clone", str(project["path"]), str(path)], path.parent, env)
    run("make setup", path, env)
    dvc(path, "remote", "modify", "--local", "storage", "endpointurl", s3_store.endpoint, env=env)
    record: dict = {"path": path, "env": env, "pull": run("make pull", path, env, check=False)}
    record["repro"] = run([str(path / ".venv/bin/dvc"), "repro"], path, env, check=False)
    return record


def test_make_setup_installs_the_server_drivers_from_the_lock(project):
    python = str(project["path"] / ".venv/bin/python")
    found = run([python, "-c", "import boto3, dvc_s3, psycopg; print(psycopg.__version__)"], project["path"], {})
    assert re.match(r"3\.\d+", found.stdout)
    lock = (project["path"] / "requirements.lock").read_text()
    for package in ("psycopg-binary==", "boto3==", "dvc-s3=="):
        assert package in lock


def test_pipeline_registers_v1_as_champion_on_the_server(project, mlflow_server):
    status = project["status"].stdout
    assert f"registry: {mlflow_server.url}" in status
    assert re.search(r"version 1: .*@champion", status), status
    assert project["champion"]["version"] == "1"
    assert not (project["path"] / "mlflow.db").exists()
    assert not (project["path"] / "mlruns").exists()


def test_the_models_artifacts_are_in_the_bucket(project):
    model_files = [key for key in project["artifacts"] if key.startswith("artifacts/") and key.endswith("/MLmodel")]
    assert model_files, project["artifacts"]


def test_a_postgresql_tracking_uri_reads_the_same_registry(project, postgres):
    env = {**project["env"], "MLFLOW_TRACKING_URI": postgres.url("mlflow")}
    status = run("make status", project["path"], env).stdout
    assert re.search(r"version 1: .*@champion", status), status
    assert postgres.password not in status


def test_pyfunc_loads_the_champion_from_the_server_and_predicts(project):
    assert project["champion"] == {"version": "1", "predictions": 7}


def test_remote_settings_and_credentials_stay_out_of_git(project, s3_store):
    path, env = project["path"], project["env"]
    assert ".dvc/config.local" not in run(["git", "ls-files", ".dvc"], path, env).stdout
    assert run(["git", "check-ignore", ".dvc/config.local"], path, env).returncode == 0
    assert s3_store.secret_access_key in (path / ".dvc/config.local").read_text()
    committed = run(["git", "grep", "--fixed-strings", "--count", s3_store.secret_access_key], path, env, check=False)
    assert committed.returncode == 1, committed.stdout
    assert s3_store.endpoint not in (path / ".dvc/config").read_text()


def test_push_then_a_fresh_clone_pulls_every_output(project, clone):
    assert project["push"].returncode == 0
    assert any(key.startswith("churn-model/files/md5/") for key in project["remote_keys"]), project["remote_keys"]
    pulled = clone["pull"]
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    expected = cached_outputs(project["path"])
    assert {"data/prepared/train.csv", "data/prepared/holdout.csv", "models/model.joblib"} <= set(expected)
    for out in expected:
        assert (clone["path"] / out).exists(), f"{out} was not pulled"
        assert files_under(clone["path"] / out) == files_under(project["path"] / out), out


def test_dvc_repro_in_the_clone_does_nothing(clone):
    result = clone["repro"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Data and pipelines are up to date" in result.stdout
    assert "Running stage" not in result.stdout


def test_a_missing_bucket_fails_with_one_line(clone, s3_store):
    path, env = clone["path"], clone["env"]
    dvc(path, "remote", "add", "--local", "missing", "s3://no-such-bucket/churn-model", env=env)
    dvc(path, "remote", "modify", "--local", "missing", "endpointurl", s3_store.endpoint, env=env)
    dvc(path, "remote", "default", "--local", "missing", env=env)
    try:
        result = run("make push", path, env, check=False)
    finally:
        dvc(path, "remote", "default", "--local", "--unset", env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    errors = error_lines(result)
    assert len(errors) == 1, result.stdout + result.stderr
    assert "bucket does not exist" in errors[0], errors[0]
    assert "a bucket that does not exist must be created first (docs/servers.md)" in result.stderr


def test_wrong_credentials_fail_with_one_line_and_no_secret(clone, s3_store):
    wrong = "wrong-secret-Zq81xV"
    env = {**clone["env"], "AWS_SECRET_ACCESS_KEY": wrong}
    result = run("make push", clone["path"], env, check=False)
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in text
    assert len(error_lines(result)) == 1, text
    assert wrong not in text
    assert s3_store.secret_access_key not in text


def doc_lines() -> list[str]:
    """The lines of docs/servers.md's sh blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", SERVERS_DOC.read_text(), re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def documented(value: str) -> re.Pattern:
    """A documented value as a pattern: each <placeholder> stands for any text."""
    return re.compile(".+".join(map(re.escape, PLACEHOLDER.split(value))))


def same_command(shown: list[str], ran: list[str]) -> bool:
    """Whether a command ran is the documented one (same program, same arguments in order)."""
    if len(shown) != len(ran) or Path(shown[0]).name != Path(ran[0]).name:
        return False
    return all(documented(arg).fullmatch(value) for arg, value in zip(shown[1:], ran[1:], strict=True))


def test_every_command_in_the_servers_doc_is_one_the_tests_ran(project, clone, mlflow_server):
    ran = [*RAN, mlflow_server.command]
    lines = doc_lines()
    assert len(lines) >= 12
    for line in lines:
        if line.startswith("export "):
            name, value = line.removeprefix("export ").split("=", 1)
            assert documented(value).fullmatch(project["env"].get(name, "")), f"docs/servers.md: {line}"
        else:
            assert any(same_command(shlex.split(line), args) for args in ran), f"docs/servers.md: {line}"


# --- tuning: one Optuna study shared through PostgreSQL ------------------------------------------
STUDY_TRIALS = """
import json, sys, optuna
study = optuna.load_study(study_name=sys.argv[1], storage=sys.argv[2])
print(json.dumps([[t.number, t.state.name, t.user_attrs.get("worker"), str(t.datetime_start)] for t in study.trials]))
"""


def tune_command(project: dict, *args: str) -> list[str]:
    package = next(path.name for path in (project["path"] / "src").iterdir() if path.is_dir())
    return [str(project["path"] / ".venv/bin/python"), "-m", package, "tune", *args]


def study_trials(project: dict, name: str, url: str) -> list[list]:
    python = str(project["path"] / ".venv/bin/python")
    return json.loads(run([python, "-c", STUDY_TRIALS, name, url], project["path"], project["env"]).stdout)


def test_two_processes_share_one_study_on_postgresql(project, postgres):
    url = postgres.create_database("tune_shared")
    env = {**project["env"], "OPTUNA_STORAGE": url}
    shared = ["--study", "shared", "--trials", "6", "--workers", "2"]
    workers = [
        subprocess.Popen(tune_command(project, *shared, "--worker", name), cwd=project["path"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]  # fmt: skip
    for worker in workers:
        out, err = worker.communicate(timeout=900)
        assert worker.returncode == 0, err
        assert "this process ran 3 trial(s); " in out, out
    trials = study_trials(project, "shared", url)
    assert sorted(number for number, *_ in trials) == list(range(6))  # the sum of both, no number twice
    assert {state for _, state, *_ in trials} == {"COMPLETE"}
    assert sorted(worker for _, _, worker, _ in trials) == ["a", "a", "a", "b", "b", "b"]


def test_an_interrupted_study_on_postgresql_continues(project, postgres):
    import signal
    import time

    url = postgres.create_database("tune_resumed")
    env = {**project["env"], "OPTUNA_STORAGE": url}
    # A shell ignores SIGINT for background jobs and children inherit that: let Ctrl-C reach this one.
    interruptible = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    worker = subprocess.Popen(tune_command(project, "--study", "resumed", "--trials", "50"), cwd=project["path"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=interruptible)  # fmt: skip
    deadline = time.monotonic() + 600
    complete: list = []
    while time.monotonic() < deadline and worker.poll() is None and len(complete) < 2:
        time.sleep(1)
        found = subprocess.run([str(project["path"] / ".venv/bin/python"), "-c", STUDY_TRIALS, "resumed", url],
                               cwd=project["path"], env=env, capture_output=True, text=True)  # fmt: skip
        complete = [t for t in json.loads(found.stdout or "[]") if t[1] == "COMPLETE"] if found.returncode == 0 else []
    worker.send_signal(signal.SIGINT)
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 130, err
    before = {number: start for number, state, _, start in study_trials(project, "resumed", url) if state == "COMPLETE"}
    assert len(before) >= 2
    run(tune_command(project, "--study", "resumed", "--trials", str(len(before) + 2)), project["path"], env)
    after = {number: start for number, state, _, start in study_trials(project, "resumed", url) if state == "COMPLETE"}
    assert len(after) == len(before) + 2
    assert {number: after[number] for number in before} == before


# --- refresh: new labelled data from an S3-compatible store ---------------------------------------
REFRESH_BUCKET = "incoming-data"


def test_refresh_appends_new_rows_from_an_s3_compatible_store(project, s3_store):
    import pandas as pd

    path = project["path"]
    raw = pd.read_csv(path / "data/raw/data.csv")
    new = raw.sample(n=30, random_state=1).reset_index(drop=True)
    feature = next(c for c in raw.select_dtypes("number").columns if c != raw.columns[-1])
    new[feature] = new[feature] * 1.001  # rows the data does not hold yet, within the suite's ranges
    client = s3_store.client()
    client.create_bucket(Bucket=REFRESH_BUCKET)
    client.put_object(Bucket=REFRESH_BUCKET, Key="batches/next.csv", Body=new.to_csv(index=False).encode())
    env = {**project["env"], **s3_store.env(), "AWS_ENDPOINT_URL_S3": s3_store.endpoint}
    command = [str(path / ".venv/bin/python"), "-m", tune_command(project)[2], "refresh"]
    before = (path / "data/raw/data.csv").read_bytes()
    try:
        done = run([*command, "--source", f"s3://{REFRESH_BUCKET}/batches/next.csv"], path, env)
        assert "changed=true" in done.stdout
        assert len(pd.read_csv(path / "data/raw/data.csv")) == len(raw) + 30
        # Wrong credentials: one line naming the source, nothing written.
        (path / "data/raw/data.csv").write_bytes(before)
        wrong = {**env, "AWS_SECRET_ACCESS_KEY": "not-the-key"}
        refused = run([*command, "--source", f"s3://{REFRESH_BUCKET}/batches/next.csv"], path, wrong, check=False)
        assert refused.returncode == 2
        [line] = refused.stderr.splitlines()
        assert line.startswith(f"error: refresh.source s3://{REFRESH_BUCKET}/batches/next.csv: cannot be read"), line
        assert "not-the-key" not in line
        assert (path / "data/raw/data.csv").read_bytes() == before
    finally:
        (path / "data/raw/data.csv").write_bytes(before)


# --- scoring: the project's default score.output is beside its DVC data in the bucket ------------


def test_make_score_writes_the_predictions_beside_the_dvc_data_in_the_bucket(project, s3_store):
    import pandas as pd

    path = project["path"]
    params = yaml.safe_load((path / "params.yaml").read_text())
    assert params["score"]["output"] == f"s3://{BUCKET}/churn-model/predictions/{{date}}/predictions.parquet"
    env = {**project["env"], **s3_store.env(), "AWS_ENDPOINT_URL_S3": s3_store.endpoint}
    run("make current", path, env)
    done = run("make score", path, env)
    assert "version=1" in done.stdout
    keys = [key for key in s3_store.keys(BUCKET) if "/predictions/" in key]
    assert sorted(key.rsplit("/", 1)[1] for key in keys) == ["predictions.parquet", "predictions.parquet.json"]
    summary = json.loads((path / "reports/score/summary.json").read_text())
    scored = pd.read_csv(path / "data/current/current.csv")
    assert summary["rows"] == len(scored) and summary["output"].startswith(f"s3://{BUCKET}/churn-model/predictions/")
    # A bucket that does not exist: one line naming the output, nothing written, the command's own exit code.
    command = [str(path / ".venv/bin/python"), "-m", tune_command(project)[2], "predict"]
    missing = "s3://no-such-bucket/predictions.parquet"
    refused = run([*command, "--input", "data/current/current.csv", "--output", missing], path, env, check=False)
    assert refused.returncode == 2, refused.stderr
    [line] = [text for text in refused.stderr.splitlines() if text.startswith("error:")]
    assert line.startswith(f"error: output {missing}: cannot be written"), line
    assert "Traceback" not in refused.stderr
