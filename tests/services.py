"""Throwaway services for the scale tests, on 127.0.0.1 only: PostgreSQL, an S3 store, an MLflow server.

Each fixture starts its service on a free port, waits until it answers and stops it at the end
of the session. Every service runs under a watchdog (the generated project's
tests/server_watchdog.py) with a folder of its own: if the test process dies in any way, SIGKILL
included, the watchdog stops the service's process group and removes the folder. A missing program
fails the test with one line saying what to install; it is never a skip. `.ci/run` installs all of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
SERVER_LOCK = TEMPLATE / "{{cookiecutter.project_slug}}" / "requirements-s3.lock"
WATCHDOG = TEMPLATE / "{{cookiecutter.project_slug}}" / "tests" / "server_watchdog.py"
LOOPBACK = "127.0.0.1"
POSTGRES_VERSIONS = Path("/usr/lib/postgresql")  # Debian and Ubuntu: one <major>/bin per version
POSTGRES_PROGRAMS = ("initdb", "postgres", "pg_isready", "createdb")
ARTIFACTS_BUCKET = "mlflow-artifacts"
# The server's background job runner serves GenAI features this project does not use; off, it spares two workers.
SERVER_SETTINGS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
# Everything the S3 store's only user may do: moto checks signatures and this policy once auth is on.
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def free_port() -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def missing(program: str, install: str) -> None:
    """Fail the test with one line naming the missing program and the command that installs it."""
    pytest.fail(f"{program} not found: run `{install}` (.ci/run does)", pytrace=False)


def wait_until(ready: Callable[[], bool], what: str, process, log: Path, timeout: float = 90) -> None:
    """Poll until `ready()` is true; fail with the service's log if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited ({process.returncode}):\n{log.read_text()[-3000:]}", pytrace=False)
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{what} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}", pytrace=False)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200


def service_folder(name: str) -> Path:
    """A new temp folder for one service: its log and data; the service's watchdog removes it."""
    return Path(tempfile.mkdtemp(prefix=f"scale-{name}-"))


def start(command: list[str], folder: Path, log: Path, **options):
    """Start a service under its watchdog, its output going to `log` (server_watchdog.WatchedServer's options).

    The service stops, and `folder` is removed, at `stop()` or when this process dies.
    """
    spec = importlib.util.spec_from_file_location("server_watchdog", WATCHDOG)
    watchdog = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(watchdog)
    try:
        return watchdog.WatchedServer(command, folder, log, **options)
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)


@dataclass(frozen=True)
class Postgres:
    """A running cluster: one login role with a password, databases made on demand."""

    bindir: Path
    port: int
    user: str
    password: str
    server: object = field(default=None, repr=False, compare=False)  # its WatchedServer

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://{self.user}:{self.password}@{LOOPBACK}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create a database and return its postgresql:// URL."""
        env = {**os.environ, "PGPASSWORD": self.password}
        command = [str(self.bindir / "createdb"), "-h", LOOPBACK, "-p", str(self.port), "-U", self.user, name]
        subprocess.run(command, check=True, env=env, capture_output=True)
        return self.url(name)


def postgres_bindir() -> Path:
    """The folder of initdb and postgres: on PATH, else Debian's /usr/lib/postgresql/<major>/bin."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += sorted(POSTGRES_VERSIONS.glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for bindir in candidates:
        if all((bindir / program).exists() for program in POSTGRES_PROGRAMS):
            return bindir
    missing(f"PostgreSQL ({', '.join(POSTGRES_PROGRAMS)})", "apt-get install -y postgresql")
    raise AssertionError("unreachable")


def as_cluster_owner() -> dict:
    """Run PostgreSQL's programs as the `postgres` user when we are root: initdb refuses root."""
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster in a temp folder, listening on 127.0.0.1 only.

    The postmaster runs in the foreground under the watchdog, not through `pg_ctl start`, which
    would put it in a session of its own, out of the watchdog's reach. SIGINT is its fast shutdown.
    """
    bindir, owner = postgres_bindir(), as_cluster_owner()
    home = service_folder("postgres")
    port, user, password = free_port(), "mlflow", secrets.token_hex(12)
    (home / "password").write_text(password)
    if owner:
        for path in (home, home / "password"):
            shutil.chown(path, owner["user"], owner["group"])
    data, log = home / "data", home / "postgres.log"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", user, "--pwfile", str(home / "password"),
              "--auth=scram-sha-256"]  # fmt: skip
    command = [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(home),
               "-c", f"listen_addresses={LOOPBACK}"]  # fmt: skip
    server = start(command, home, log, setup=[initdb], cwd=str(home), stop_signal="SIGINT", stop_leader_only=True,
                   **owner)  # fmt: skip
    ready = [str(bindir / "pg_isready"), "-q", "-h", LOOPBACK, "-p", str(port)]
    try:
        wait_until(lambda: subprocess.run(ready, check=False).returncode == 0, "postgres", server, log)
        yield Postgres(bindir, port, user, password, server)
    finally:
        server.stop()


@dataclass(frozen=True)
class S3Store:
    """An S3-compatible endpoint that checks credentials, with one user allowed everything."""

    endpoint: str
    access_key_id: str
    secret_access_key: str
    server: object = field(default=None, repr=False, compare=False)  # its WatchedServer

    def client(self, access_key_id: str | None = None, secret_access_key: str | None = None):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=access_key_id or self.access_key_id,
            aws_secret_access_key=secret_access_key or self.secret_access_key,
        )

    def keys(self, bucket: str) -> list[str]:
        """Every object key in a bucket."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def env(self) -> dict[str, str]:
        """The environment variables AWS clients (boto3, DVC's s3fs) read credentials from."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


def make_user(endpoint: str) -> tuple[str, str]:
    """Create an IAM user allowed everything, then turn authentication on; return its key pair."""
    import boto3

    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")  # fmt: skip
    iam.create_user(UserName="ci")
    iam.put_user_policy(UserName="ci", PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request, timeout=10).close()
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="session")
def s3_store() -> Iterator[S3Store]:
    """moto's S3 server on 127.0.0.1, with authentication on; buckets are created by the tests."""
    program = Path(sys.executable).with_name("moto_server")
    if not program.exists():
        missing("moto_server", "make env")
    port, folder = free_port(), service_folder("moto")
    log = folder / "moto.log"
    server = start([str(program), "-H", LOOPBACK, "-p", str(port)], folder, log, cwd=str(folder))
    endpoint = f"http://{LOOPBACK}:{port}"
    try:
        wait_until(lambda: listening(port), "moto_server", server, log)
        yield S3Store(endpoint, *make_user(endpoint), server)
    finally:
        server.stop()


def server_environment() -> Path:
    """Return the bin folder of an environment made from the generated project's S3 lock file.

    Kept between runs (in the temp folder, named after the lock's hash): a fresh environment has
    no compiled bytecode, and importing the MLflow server from it takes minutes on two cores.
    """
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        missing("uv", "make env")
    digest = hashlib.sha256(SERVER_LOCK.read_bytes() + sys.version.encode()).hexdigest()[:16]
    venv = Path(tempfile.gettempdir()) / f"mlflow-server-{digest}"
    if not (venv / "bin/mlflow").exists():
        scratch = Path(tempfile.mkdtemp(prefix="mlflow-server-", dir=venv.parent)) / "venv"
        subprocess.run(
            [str(uv), "venv", "--quiet", "--relocatable", "--python", sys.executable, str(scratch)], check=True
        )
        sync = [str(uv), "pip", "sync", "--quiet", "--python", str(scratch / "bin/python"), str(SERVER_LOCK)]
        subprocess.run(sync, check=True)
        with contextlib.suppress(OSError):  # another session finished first: use its copy
            scratch.rename(venv)
        shutil.rmtree(scratch.parent, ignore_errors=True)
    return venv / "bin"


@dataclass(frozen=True)
class MlflowServer:
    url: str
    backend_store_uri: str
    artifacts_destination: str
    command: list[str]
    server: object = field(default=None, repr=False, compare=False)  # its WatchedServer

    @property
    def client_settings(self) -> dict[str, str]:
        """Environment for the server's clients.

        MLflow 3 clients fetch model files from the bucket with presigned URLs, which moto cannot
        check once authentication is on; this sends downloads through the server instead.
        """
        return {"MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false"}

    @property
    def artifacts_bucket(self) -> str:
        return self.artifacts_destination.removeprefix("s3://").split("/", 1)[0]


def mlflow_server_command(mlflow: str, backend: str, artifacts: str, port: int) -> list[str]:
    """The `mlflow server` command docs/servers.md shows: registry in PostgreSQL, artifacts proxied to S3."""
    return [mlflow, "server", "--backend-store-uri", backend, "--artifacts-destination", artifacts,
            "--serve-artifacts", "--host", LOOPBACK, "--port", str(port), "--workers", "1"]  # fmt: skip


@pytest.fixture(scope="session")
def mlflow_server(postgres: Postgres, s3_store: S3Store) -> Iterator[MlflowServer]:
    """`mlflow server` with its registry in PostgreSQL and artifacts in the S3 store, from the project's lock."""
    bindir = server_environment()
    backend = postgres.create_database("mlflow").replace("postgresql://", "postgresql+psycopg://", 1)
    s3_store.client().create_bucket(Bucket=ARTIFACTS_BUCKET)
    port, folder = free_port(), service_folder("mlflow")
    log = folder / "mlflow.log"
    command = mlflow_server_command(str(bindir / "mlflow"), backend, f"s3://{ARTIFACTS_BUCKET}/artifacts", port)
    env = {**os.environ, **s3_store.env(), "MLFLOW_S3_ENDPOINT_URL": s3_store.endpoint, **SERVER_SETTINGS}
    server = start(command, folder, log, env=env, cwd=str(folder))
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/health"), "mlflow server", server, log, timeout=600)
        yield MlflowServer(url, backend, f"s3://{ARTIFACTS_BUCKET}/artifacts", command, server)
    finally:
        server.stop()
