"""The MLflow model registry: where it is, and calls to it that never read an error as "nothing there".

Every call goes through `Registry.call`. MLflow's definite answer "this does not exist"
(`RESOURCE_DOES_NOT_EXIST`) is the only one that may mean "no model" or "no such version".
A transient failure (connection refused, timeout, HTTP 5xx or 429, a locked sqlite file) is
retried with an announced back-off until `register.retry_seconds` (default 30) have passed;
anything else, or a retry that runs out, raises RegistryError: one line naming the registry
(credentials redacted), what failed and what to check. Commands exit with its code, 4.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import RegistryError

CHAMPION, CHALLENGER, PREVIOUS_CHAMPION = "champion", "challenger", "previous-champion"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_RETRY_SECONDS = 30.0
FIRST_USE_WAIT_SECONDS = 600.0  # creating the tables of a new sqlite store, on a busy machine
REQUEST_TIMEOUT_SECONDS = "10"  # one HTTP request; MLflow's own default is 120 s with 7 silent retries
# What each version records of the rows it trained on (rows.py): the run's artifact and two version tags.
TRAINING_ROWS = "training/rows.u64"
TRAINING_IDENTITY, TRAINING_COUNT = "training_rows.identity", "training_rows.count"
# Read only by the project's tests: "N" kills this process just before its N-th write to the registry.
KILL_SWITCH = "REGISTRY_TEST_KILL_BEFORE_WRITE"
SECRET_QUERY_KEYS = re.compile(r"token|secret|password|passwd|key|sig|credential|auth", re.IGNORECASE)


def redact(uri: str) -> str:
    """Return the URI with any user, password or secret-looking query value replaced by ***."""
    parts = urlsplit(uri)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    secret = [key for key, _ in pairs if SECRET_QUERY_KEYS.search(key)]
    if "@" not in parts.netloc and not secret:
        return uri
    netloc = "***@" + parts.netloc.rsplit("@", 1)[1] if "@" in parts.netloc else parts.netloc
    query = urlencode([(key, "***" if key in secret else value) for key, value in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Redact credentials of any URL inside a message."""
    return re.sub(r"([a-z][a-z0-9+.-]*://)[^/\s@]+@", r"\1***@", text, flags=re.IGNORECASE)


def tracking_uri(settings: dict[str, Any]) -> str:
    """MLFLOW_TRACKING_URI if set, else params.yaml register.tracking_uri, else the embedded sqlite file."""
    return os.environ.get("MLFLOW_TRACKING_URI") or settings.get("tracking_uri") or DEFAULT_TRACKING_URI


def classify(error: BaseException) -> str:
    """Return "missing" (a definite does-not-exist), "transient" (worth retrying) or "fatal"."""
    from mlflow.exceptions import MlflowException

    if isinstance(error, MlflowException):
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return "missing"
        if "not in a valid JSON format" in str(error):
            return "fatal"  # a 200 answer that is not MLflow's (a proxy's login page): retrying will not help
        status = error.get_http_status_code()
        return "transient" if status >= 500 or status == 429 else "fatal"
    if type(error).__module__.startswith("sqlalchemy") and ("locked" in str(error) or "already exists" in str(error)):
        return "transient"  # a busy sqlite file, or another process creating the embedded store's tables
    if isinstance(error, ConnectionError | TimeoutError):
        return "transient"
    return "fatal"


def describe(error: BaseException) -> str:
    """Return the gist of an error on one short line."""
    text = redact_text(str(error)).replace("\n", " ")
    text = re.sub(r"too many (\d+) error responses", r"error code \1", text)
    reason = re.search(r"(\[Errno [^\]]+\][^')\"]*|Read timed out|error code \d+)", text)
    if reason:
        return reason.group(1).strip()
    return (text[:200] + "...") if len(text) > 200 else text


def advice(error: BaseException) -> str:
    """Return what a person should check for this kind of failure."""
    from mlflow.exceptions import MlflowException

    status = error.get_http_status_code() if isinstance(error, MlflowException) else 0
    if status in {401, 403}:
        return "check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN"
    if classify(error) == "transient":
        return "check that the registry is running and reachable (MLFLOW_TRACKING_URI or register.tracking_uri)"
    return "check the registry's logs and MLFLOW_TRACKING_URI"


def prepare_environment() -> None:
    """Bound MLflow's own HTTP retries so that `Registry.call` alone decides, and announces, retries."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    # A progress bar for each small download (a champion's model, its training rows) is noise in a log.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", REQUEST_TIMEOUT_SECONDS)


class Registry:
    """One registered model in the configured MLflow registry."""

    def __init__(self, settings: dict[str, Any]) -> None:
        import mlflow

        prepare_environment()
        self.uri = tracking_uri(settings)
        self.name = settings["model_name"]
        self.retry_seconds = float(settings.get("retry_seconds", DEFAULT_RETRY_SECONDS))
        self.writes = 0
        mlflow.set_tracking_uri(self.uri)
        with self._first_use_lock():
            # Opening an embedded store creates its tables, which can fail like any other call.
            self.client = self.call("opening the registry", mlflow.MlflowClient, self.uri)

    @contextlib.contextmanager
    def _first_use_lock(self) -> Iterator[None]:
        """Serialise opening an embedded sqlite store: two processes creating its tables at once corrupt them.

        The holder is a live process creating the tables (the lock goes with its process), which
        takes seconds on an idle machine and can take minutes on a busy one: wait for it, saying so.
        """
        if not self.uri.startswith("sqlite:///"):
            yield
            return
        from filelock import FileLock, Timeout

        lock = FileLock(self.uri.removeprefix("sqlite:///") + ".lock")
        try:
            lock.acquire(timeout=1)
        except Timeout:
            print(f"registry: waiting for another process to open {self.uri} (up to {FIRST_USE_WAIT_SECONDS:g} s)",
                  file=sys.stderr)  # fmt: skip
            try:
                lock.acquire(timeout=max(self.retry_seconds, FIRST_USE_WAIT_SECONDS))
            except Timeout:
                raise RegistryError(
                    f"registry {self.uri}: another process held {lock.lock_file} for "
                    f"{max(self.retry_seconds, FIRST_USE_WAIT_SECONDS):g} s; stop it or try again"
                ) from None
        try:
            yield
        finally:
            lock.release()

    def call(self, what: str, function: Callable[..., Any], *args: Any, write: bool = False, **kwargs: Any) -> Any:
        """Run one registry call: None for a definite "does not exist", retries announced, else RegistryError."""
        if write:
            self._maybe_die()
        deadline, delay = time.monotonic() + self.retry_seconds, 1.0
        while True:
            try:
                return function(*args, **kwargs)
            except Exception as error:  # classified below: only "missing" is an answer
                kind = classify(error)
                if kind == "missing":
                    return None
                if kind == "fatal" or time.monotonic() + delay > deadline:
                    tried = f" (gave up after {self.retry_seconds:g} s of retries)" if kind == "transient" else ""
                    raise RegistryError(
                        f"registry {redact(self.uri)}: {what} failed{tried}: {describe(error)}; {advice(error)}"
                    ) from error
                print(
                    f"registry: {what} failed ({describe(error)}); retrying in {delay:g} s "
                    f"(up to {self.retry_seconds:g} s in all, register.retry_seconds)",
                    file=sys.stderr,
                )
                time.sleep(delay)
                delay = min(delay * 2, 8.0)

    def _maybe_die(self) -> None:
        self.writes += 1
        if os.environ.get(KILL_SWITCH) == str(self.writes):
            os.kill(os.getpid(), signal.SIGKILL)

    def model(self) -> Any | None:
        """Return the registered model, or None if it does not exist; an answer about no model is an error."""
        found = self.call(f"reading model {self.name!r}", self.client.get_registered_model, self.name)
        if found is not None and (found.name != self.name or not isinstance(found.aliases, dict)):
            raise RegistryError(
                f"registry {redact(self.uri)}: reading model {self.name!r} gave an answer that is not about that "
                "model; check that MLFLOW_TRACKING_URI points at an MLflow server (2.3 or newer)"
            )
        return found

    def aliases(self) -> dict[str, str]:
        """Return {alias: version} of the model; empty when the model does not exist yet."""
        model = self.model()
        return {} if model is None else {alias: str(version) for alias, version in model.aliases.items()}

    def alias_version(self, alias: str) -> str | None:
        """Return the version an alias points at, or None when the model or the alias does not exist."""
        return self.aliases().get(alias)

    def version(self, version: str) -> Any | None:
        """Return one model version, or None if it does not exist."""
        return self.call(f"reading version {version}", self.client.get_model_version, self.name, version)

    def set_alias(self, alias: str, version: str) -> None:
        what = f"pointing {alias} at v{version}"
        self.call(what, self.client.set_registered_model_alias, self.name, alias, version, write=True)

    def load(self, version: str) -> Any:
        """Load a registered version as a scikit-learn model, running no code from it (model_file.py).

        Failing to download, or a model file that is not this project's skops file with its recorded
        hash, is a registry failure.
        """
        import tempfile

        from .model_file import MODEL_SHA256, read_model

        uri = f"models:/{self.name}/{version}"
        found = self.version(version)
        if found is None:
            raise RegistryError(f"registry {redact(self.uri)}: {uri} does not exist")
        tags = dict(getattr(found, "tags", None) or {})
        with tempfile.TemporaryDirectory() as folder:
            local = self.download(uri, folder)
            return read_model(local, tags.get(MODEL_SHA256), f"registry {redact(self.uri)}: {uri}")

    def download(self, uri: str, folder: str) -> Path:
        """Download a model's files (MLmodel and the model file) into `folder`; return where they are."""
        import mlflow.artifacts

        local = self.call(f"downloading {uri}", mlflow.artifacts.download_artifacts, artifact_uri=uri, dst_path=folder)
        if not local or not (Path(local) / "MLmodel").is_file():
            raise RegistryError(
                f"registry {redact(self.uri)}: {uri} has no model files; re-register or promote another"
            )
        return Path(local)

    def training_rows(self, version: str) -> tuple[str, Any] | None:
        """Return (identity, fingerprints) of the rows a version trained on, or None when it has no record.

        `register` records them as the run's artifact TRAINING_ROWS and the version's tags
        TRAINING_IDENTITY and TRAINING_COUNT. The file holds numbers only; its length must match.
        """
        import tempfile

        from .rows import from_bytes

        found = self.version(version)
        tags = dict(getattr(found, "tags", None) or {})
        if found is None or TRAINING_IDENTITY not in tags:
            return None
        with tempfile.TemporaryDirectory() as folder:
            what = f"reading the training rows of v{version}"
            path = self.call(what, self.client.download_artifacts, found.run_id, TRAINING_ROWS, folder)
            if path is None:
                raise RegistryError(f"registry {redact(self.uri)}: v{version} names {TRAINING_ROWS}, which is missing")
            try:
                prints = from_bytes(Path(path).read_bytes())
            except (OSError, ValueError) as error:
                raise RegistryError(f"registry {redact(self.uri)}: {TRAINING_ROWS} of v{version}: {error}") from None
        if str(len(prints)) != tags.get(TRAINING_COUNT):
            raise RegistryError(
                f"registry {redact(self.uri)}: {TRAINING_ROWS} of v{version} holds {len(prints)} rows, its tag "
                f"{TRAINING_COUNT} says {tags.get(TRAINING_COUNT)}"
            )
        return tags[TRAINING_IDENTITY], prints


def connect(settings: dict[str, Any]) -> Registry:
    """Return the configured registry, ready for calls."""
    return Registry(settings)
