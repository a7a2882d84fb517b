"""The registry: where it is, and calls that never read an error as "no champion"."""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.loop import cli, gate, registry, status

SECRET = "s3cr3t-value"


def test_tracking_uri_prefers_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert registry.tracking_uri({"tracking_uri": "sqlite:///other.db"}) == "http://mlflow.example:5000"


def test_tracking_uri_then_params_then_the_embedded_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert registry.tracking_uri({"tracking_uri": "sqlite:///other.db"}) == "sqlite:///other.db"
    assert registry.tracking_uri({"tracking_uri": ""}) == "sqlite:///mlflow.db"
    assert registry.tracking_uri({}) == registry.DEFAULT_TRACKING_URI


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("sqlite:///mlflow.db", "sqlite:///mlflow.db"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        (f"https://user:{SECRET}@mlflow.example/path", "https://***@mlflow.example/path"),
        (f"postgresql://mlflow:{SECRET}@db:5432/mlflow", "postgresql://***@db:5432/mlflow"),
        (f"https://mlflow.example/?token={SECRET}&workspace=a", "https://mlflow.example/?token=***&workspace=a"),
    ],
)
def test_redact_hides_credentials(uri: str, shown: str) -> None:
    assert registry.redact(uri) == shown


def test_redact_text_hides_credentials_inside_messages() -> None:
    text = f"API request to https://alice:{SECRET}@host/api failed"
    assert SECRET not in registry.redact_text(text)


class Answer(BaseHTTPRequestHandler):
    """An HTTP server that answers every request with one status and body, and counts them."""

    status, body, requests = 403, b"<html>Forbidden</html>", 0

    def handle_one(self) -> None:
        type(self).requests += 1
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = do_PATCH = do_DELETE = handle_one

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def answering(project) -> Iterator[Callable[[int, bytes], str]]:
    """Start a local HTTP server answering a fixed status; return a function that sets it and gives the URI."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def answer(status: int, body: bytes = b"<html>denied</html>") -> str:
        Answer.status, Answer.body, Answer.requests = status, body, 0
        return f"http://user:{SECRET}@127.0.0.1:{server.server_address[1]}"

    yield answer
    server.shutdown()


def settings(uri: str, retry_seconds: float = 2) -> dict[str, Any]:
    return {"model_name": "test-model", "tracking_uri": uri, "retry_seconds": retry_seconds}


def test_alias_of_an_unknown_model_is_none(client: Any) -> None:
    found = registry.connect({"model_name": "no-such-model"})
    assert found.alias_version(registry.CHAMPION) is None
    assert found.aliases() == {}
    assert found.version("1") is None


def test_opening_a_new_sqlite_store_waits_for_the_process_creating_its_tables(
    project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filelock import FileLock

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    uri = f"sqlite:///{project.root / 'waited.db'}"
    holder = FileLock(f"{project.root / 'waited.db'}.lock", thread_local=False)  # released by a timer
    holder.acquire()

    class Stderr(io.StringIO):
        def write(self, text: str) -> int:
            if "registry: waiting for another process to open" in text:
                # Released later than register.retry_seconds: creating tables on a busy machine can take that long.
                threading.Timer(2.0, holder.release).start()
            return super().write(text)

    monkeypatch.setattr(sys, "stderr", Stderr())
    assert registry.connect(settings(uri, retry_seconds=0.5)).aliases() == {}
    assert f"registry: waiting for another process to open {uri} (up to 600 s)" in sys.stderr.getvalue()

    holder.acquire()
    monkeypatch.setattr(registry, "FIRST_USE_WAIT_SECONDS", 1.0)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with pytest.raises(registry.RegistryError, match=r"another process held .*waited.db.lock for 1 s; stop it"):
        registry.connect(settings(uri, retry_seconds=0.5))
    holder.release()


@pytest.mark.parametrize("status", [401, 403, 404, 400])
def test_a_refusal_is_an_error_at_once_never_no_champion(
    answering: Callable, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    found = registry.connect(settings(answering(status)))
    with pytest.raises(registry.RegistryError) as raised:
        found.alias_version(registry.CHAMPION)
    message = str(raised.value)
    assert message.startswith("registry http://***@127.0.0.1:") and f"error code {status}" in message
    assert SECRET not in message and "\n" not in message
    assert Answer.requests == 1  # a refusal is not retried


def test_a_page_that_is_not_mlflows_is_an_error_at_once(answering: Callable, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    found = registry.connect(settings(answering(200, b"<html>Sign in to continue</html>")))
    with pytest.raises(registry.RegistryError, match="not in a valid JSON format") as raised:
        found.alias_version(registry.CHAMPION)
    assert SECRET not in str(raised.value) and "\n" not in str(raised.value)
    assert Answer.requests == 1  # a proxy's login page will not turn into MLflow by retrying


def test_a_server_error_is_retried_announced_and_bounded(
    answering: Callable, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    found = registry.connect(settings(answering(503), retry_seconds=3.5))
    with pytest.raises(registry.RegistryError, match=r"gave up after 3.5 s of retries\): error code 503"):
        found.alias_version(registry.CHAMPION)
    err = capsys.readouterr().err
    assert err.count("retrying in") == Answer.requests - 1 == 2  # 1 s + 2 s fit in 3.5 s, 4 s more would not
    assert SECRET not in err


def dead_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("argv", "params_change"),
    [
        (["status"], {}),
        (["promote", "--version", "1"], {}),
        (["rollback"], {}),
    ],
)
def test_commands_stop_with_exit_4_when_the_registry_is_down(
    project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], params_change: dict
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://admin:{SECRET}@127.0.0.1:{dead_port()}")
    project.params["register"]["retry_seconds"] = 1
    project.save_params()
    assert cli.main(argv) == registry.RegistryError.exit_code == 4
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("error: registry http://***@127.0.0.1:") and "Connection refused" in last
    assert SECRET not in captured.out + captured.err
    assert "no aliased versions" not in captured.out and "Traceback" not in captured.err


def test_status_shows_each_version_with_its_aliases_and_the_last_moves(
    client: Any, register_model: Callable[[Any], str], capsys: pytest.CaptureFixture[str]
) -> None:
    from sklearn.dummy import DummyRegressor

    from {{ cookiecutter.package_name }}.loop import promote

    for _ in range(2):
        register_model(DummyRegressor().fit([[0.0], [1.0]], [0.0, 1.0]))
    client.set_registered_model_alias("test-model", registry.CHALLENGER, "2")
    found = registry.connect({"model_name": "test-model"})
    promote.promote(found, "1")
    promote.promote(found, "2")
    capsys.readouterr()
    assert status.main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("registry: sqlite:///")
    assert lines[1:3] == [
        "model 'test-model' version 2: @challenger @champion (trained from commit unknown)",
        "model 'test-model' version 1: @previous-champion (trained from commit unknown)",
    ]
    assert lines[3] == "last alias moves (newest first):"
    assert lines[4].endswith("champion v1 -> v2, previous-champion v- -> v1")
    assert " promote by " in lines[4]
    assert lines[5].endswith(": champion v- -> v1")


def test_status_prints_what_the_registry_holds_as_inert_single_lines(
    client: Any, register_model: Callable[[Any], str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A registry on a branch is anyone's text: a record may hold newlines, escapes and workflow commands."""
    from sklearn.dummy import DummyRegressor

    from {{ cookiecutter.package_name }}.loop import aliases

    version = register_model(DummyRegressor().fit([[0.0], [1.0]], [0.0, 1.0]))
    client.set_registered_model_alias("test-model", registry.CHAMPION, version)
    hostile = "x\n::error title=pwned::owned\r\x1b[31mred\x07"
    client.set_model_version_tag("test-model", version, "git_commit", hostile)
    found = registry.connect({"model_name": "test-model"})
    experiment = aliases.audit_experiment(found, create=True)
    run = client.create_run(experiment, tags={"command": hostile, "by": hostile, "at": "\n::add-mask::x"})
    client.set_terminated(run.info.run_id)
    capsys.readouterr()
    assert status.main([]) == 0
    out = capsys.readouterr().out
    assert not any(line.startswith("::") for line in out.splitlines()), out
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    assert "(trained from commit x ::erro)" in out  # the newline is a space: no line of its own


def test_status_of_an_empty_registry(client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert status.main([]) == 0
    assert "model 'test-model': no aliased versions yet; run `make pipeline`" in capsys.readouterr().out


def failed_decision(**changes: Any) -> dict[str, Any]:
    decision = gate.decide("roc_auc", 0.95, 0.01, 0.82)
    return {**decision, **changes}


def test_status_after_a_failed_first_gate_says_why_and_which_setting(
    client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    decision = tmp_path / "gate.json"
    decision.write_text(json.dumps(failed_decision()))
    assert status.main(["--gate", str(decision)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "model 'test-model': no aliased versions yet: the last gate failed (below)"
    assert lines[2] == f"last gate decision ({decision}): FAILED, so `make register` registers nothing:"
    assert lines[3] == "  - roc_auc 0.8200 misses the threshold 0.95 (higher is better)"
    assert lines[-1] == (
        "  settings in params.yaml: gate.threshold = 0.95 (on gate.metric = roc_auc); "
        "or improve the model (train section)"
    )


@pytest.mark.parametrize(
    ("champion", "setting"),
    [
        ({"version": "3", "value": 0.99}, "gate.tolerance = 0.01 (how much worse than the champion still passes)"),
        ({"version": "3", "error": "column 'x' is missing"}, "gate.allow_schema_change"),
    ],
)
def test_status_names_the_setting_behind_a_champion_comparison(champion: dict, setting: str) -> None:
    decision = gate.decide("roc_auc", 0.8, 0.01, 0.9, champion)
    assert decision["passed"] is False
    assert [found.split(" (")[0] for found in status.settings_behind(decision)] == [setting.split(" (")[0]]


def test_status_after_a_passed_gate_or_none_adds_nothing_and_an_unreadable_one_is_said(tmp_path: Path) -> None:
    assert status.describe_last_gate(tmp_path / "absent.json") == []
    (tmp_path / "passed.json").write_text(json.dumps(gate.decide("roc_auc", 0.8, 0.01, 0.9)))
    assert status.describe_last_gate(tmp_path / "passed.json") == []
    (tmp_path / "broken.json").write_text("{not json\n::error::x")
    [line] = status.describe_last_gate(tmp_path / "broken.json")
    assert line.startswith(f"last gate decision: {tmp_path / 'broken.json'} cannot be read (") and "\n" not in line


def test_commands_turn_telemetry_off_unless_the_user_opted_in(
    project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    monkeypatch.setenv("DO_NOT_TRACK", "false")
    Path("params.yaml").unlink()
    cli.main(["status"])
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert os.environ["DO_NOT_TRACK"] == "false"  # a user's own choice is kept


def test_status_shows_data_in_a_gate_reason_as_text(tmp_path: Path) -> None:
    decision = {**gate.decide("roc_auc", 0.9, 0.01, 0.5), "reasons": ["column x\x1b[2J\nhidden"]}
    (tmp_path / "gate.json").write_text(json.dumps(decision))
    lines = status.describe_last_gate(tmp_path / "gate.json")
    assert lines[1] == "  - column x\\x1b[2J hidden"  # the escape shown, not run; the line break folded
