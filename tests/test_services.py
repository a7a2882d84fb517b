"""The scale services: one line naming what to install when a program is missing, and nothing left behind.

Whatever ends the test process (the end of the session, Ctrl-C, SIGTERM, SIGKILL), every service it
started stops, with all its processes, and its temp folder is removed.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import services

TESTS = Path(__file__).resolve().parent
# Starts the named fixtures of services.py the way pytest would, prints what they started, then waits to be killed.
CHILD = textwrap.dedent("""
    import inspect, json, sys, time, urllib.parse
    sys.path.insert(0, sys.argv[1])
    import services

    values, running = {}, []  # the fixtures' generators, kept: a collected one would stop its service
    for name in sys.argv[2:]:
        fixture = getattr(services, name).__wrapped__
        running.append(fixture(*(values[needed] for needed in inspect.signature(fixture).parameters)))
        values[name] = next(running[-1])
    started = {}
    for name, value in values.items():
        port = getattr(value, "port", None) or urllib.parse.urlsplit(getattr(value, "endpoint", None) or value.url).port
        started[name] = {"pid": value.server.pid, "folder": str(value.server.folder), "port": port}
    print(json.dumps(started), flush=True)
    time.sleep(3600)
""")


def failure_of(call) -> str:
    with pytest.raises(pytest.fail.Exception) as failure:
        call()
    return str(failure.value)


def test_missing_postgresql_fails_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(services, "POSTGRES_VERSIONS", tmp_path)
    assert failure_of(services.postgres_bindir) == (
        "PostgreSQL (initdb, postgres, pg_isready, createdb) not found: "
        "run `apt-get install -y postgresql` (.ci/run does)"
    )


def test_missing_s3_store_fails_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    start = services.s3_store.__wrapped__
    assert failure_of(lambda: next(start())) == ("moto_server not found: run `make env` (.ci/run does)")


def test_missing_uv_for_the_mlflow_server_fails_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert failure_of(services.server_environment) == ("uv not found: run `make env` (.ci/run does)")


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def leftovers(started: dict[str, dict], timeout: float = 60) -> list[str]:
    """What is still there of the started services once `timeout` has passed (or nothing, as soon as nothing is)."""
    deadline = time.monotonic() + timeout
    while True:
        left = [f"{name}: {what}" for name, service in started.items()
                for what, there in (("process group", group_alive(service["pid"])),
                                    ("port", services.listening(service["port"])),
                                    ("folder", Path(service["folder"]).exists())) if there]  # fmt: skip
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def start_child(fixtures: list[str], log: Path, timeout: float) -> tuple[subprocess.Popen, dict[str, dict]]:
    """Start the fixtures in a child Python, in its own process group as a terminal would; return what it started."""
    with log.open("w") as sink:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(TESTS), *fixtures], stdout=subprocess.PIPE,
                                 stderr=sink, start_new_session=True)  # fmt: skip
    if not select.select([child.stdout], [], [], timeout)[0]:
        os.killpg(child.pid, signal.SIGKILL)
    line = child.stdout.readline()
    if not line:
        child.wait()
        pytest.fail(f"the services did not start:\n{log.read_text()[-3000:]}", pytrace=False)
    return child, json.loads(line)


def end_child_and_check(fixtures: list[str], signal_number: signal.Signals, log: Path, timeout: float) -> None:
    child, started = start_child(fixtures, log, timeout)
    assert all(group_alive(service["pid"]) and Path(service["folder"]).exists() for service in started.values())
    os.killpg(child.pid, signal_number)  # the whole group, as Ctrl-C in a terminal or a cancelled job does
    child.wait(timeout=30)
    assert leftovers(started) == []


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_dead_test_process_leaves_no_s3_store(signal_number, tmp_path):
    end_child_and_check(["s3_store"], signal_number, tmp_path / "child.log", timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGINT], ids=lambda s: s.name)
def test_a_dead_test_process_leaves_no_service(signal_number, tmp_path):
    fixtures = ["postgres", "s3_store", "mlflow_server"]
    end_child_and_check(fixtures, signal_number, tmp_path / "child.log", timeout=900)


def watched(tmp_path: Path, command: list[str], **options):
    folder = tmp_path / "service"
    folder.mkdir()
    return services.start(command, folder, folder / "service.log", **options)


# Ignores SIGTERM, as a hung server would, and starts a worker that outlives it unless its group is killed.
STUBBORN = textwrap.dedent("""
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(worker.pid, flush=True)
    time.sleep(600)
""")


def test_a_server_that_ignores_sigterm_is_killed_with_its_workers_after_the_grace_period(tmp_path):
    server = watched(tmp_path, [sys.executable, "-c", STUBBORN], grace=1)
    log = server.folder / "service.log"
    deadline = time.monotonic() + 30
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 15
    assert not group_alive(server.pid)
    assert not server.folder.exists()


def test_a_server_that_exits_on_its_own_is_reported(tmp_path):
    server = watched(tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])
    deadline = time.monotonic() + 30
    while server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.returncode == 3
    assert server.folder.exists()  # its log is still there to read
    server.stop()
    assert not server.folder.exists()


def test_a_failed_setup_fails_with_its_output_and_leaves_no_folder(tmp_path):
    setup = [sys.executable, "-c", "print('no cluster here'); raise SystemExit(1)"]
    message = failure_of(lambda: watched(tmp_path, [sys.executable, "-c", "pass"], setup=[setup]))
    assert "did not start" in message
    assert "no cluster here" in message
    assert not (tmp_path / "service").exists()


def test_a_killed_run_leaves_its_basetemp_to_pytest_retention(tmp_path):
    from conftest import release_dead_basetemp_locks

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for name, pid in (("pytest-1", dead.stdout.strip()), ("pytest-2", str(os.getpid()))):
        (tmp_path / name).mkdir()
        (tmp_path / name / ".lock").write_text(pid)
    assert release_dead_basetemp_locks(tmp_path) == [tmp_path / "pytest-1"]
    assert not (tmp_path / "pytest-1" / ".lock").exists()
    assert (tmp_path / "pytest-2" / ".lock").exists()  # a running pytest keeps its folder
