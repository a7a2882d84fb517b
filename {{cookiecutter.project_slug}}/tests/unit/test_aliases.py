"""Alias moves under kills and concurrent runs, against sqlite and a real MLflow server.

A registry write can be interrupted at any point. The switch REGISTRY_TEST_KILL_BEFORE_WRITE=N
makes the real command kill itself (SIGKILL) just before its N-th write; every N is tried.
After each kill the aliases are either as before or a pending move is recorded; a rerun of
the same command then ends in the one expected state, with one version per model file.
"""

from __future__ import annotations

import json
import math
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import write_card

from {{ cookiecutter.package_name }}.loop import aliases, gate, metrics, register, registry, train
from {{ cookiecutter.package_name }}.loop.cli import main

PACKAGE = "{{ cookiecutter.package_name }}"
# What the commands import on first use: imported once in the fork server, each command starts in ms.
PRELOAD = [
    *("mlflow", "mlflow.sklearn", "mlflow.models", "mlflow.tracking", "skops.io", "joblib", "filelock"),
    *(
        f"mlflow.store.{kind}.{store}"
        for kind in ("tracking", "model_registry")
        for store in ("sqlalchemy_store", "rest_store")
    ),
    *("sqlalchemy.dialects.sqlite", "alembic.command", "alembic.config", "pandas", "sklearn.pipeline"),
]
TARGET = "target value"
MAX_WRITES = 20  # more than any command makes; the loop stops when a run is no longer killed
pytestmark = pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer column:UserWarning")


def forkserver() -> Any:
    """A multiprocessing context whose children fork from a fresh, single-threaded server.

    Forking the test process itself is not safe: earlier tests leave threads behind (OpenMP and
    BLAS pools after training, MLflow's clients), and a child forked while one of them holds a
    lock waits for it forever. The server imports the project once, so each command starts fast.
    """
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    commands = [f"{PACKAGE}.{name}" for name in ("cli", "register", "promote", "aliases")]
    context.set_forkserver_preload([*PRELOAD, *commands])
    return context


def run_command(args: list[str], cwd: str, env: dict[str, str], output: str, kill_at: int | None) -> None:
    """Child side of `cli`: the test's folder, environment and an output file, then the real command."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    if kill_at:
        os.environ[registry.KILL_SWITCH] = str(kill_at)
    with open(output, "w", encoding="utf-8") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
    code = main(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cli(args: list[str], kill_at: int | None = None) -> Any:
    """Start the project command in a child process; its output goes to `<process>.output`."""
    output = Path(f"command-{uuid.uuid4().hex[:8]}.out").resolve()
    process = forkserver().Process(target=run_command, args=(args, os.getcwd(), dict(os.environ), str(output), kill_at))
    process.start()
    process.output = output
    return process


def finish(*processes: Any, timeout: float = 180) -> list[int]:
    """Wait for the commands and return their exit codes (-9 when killed); stop and fail a hung one."""
    for process in processes:
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            pytest.fail(f"a command did not finish within {timeout:.0f} s:\n{output_of(process)}")
    return [process.exitcode for process in processes]


def output_of(process: Any) -> str:
    return process.output.read_text(encoding="utf-8") if process.output.exists() else ""


@pytest.fixture
def decision(
    backend: str, project, task_data: pd.DataFrame, data_settings: dict, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., list[str]]:
    """Fit three candidate files; return a function that writes a passed gate decision for one and gives its args."""
    import joblib

    # Forked commands must not share the parent's pooled sqlite connections.
    monkeypatch.setenv("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
    project.use_synthetic(task_data.tail(60), "data/prepared/holdout.csv")
    project.use_synthetic(task_data.head(80), "data/prepared/train.csv")
    metric = project.params["gate"]["metric"]
    higher = metrics.METRICS[metric].higher_is_better
    low = metrics.METRICS[metric].low
    threshold = (low if math.isfinite(low) else -1e9) if higher else 1e9
    project.params["gate"].update(threshold=threshold, tolerance=0.0, baseline_margin=0.0)
    project.save_params()
    Path("models").mkdir()
    for variant in (0, 1, 2):
        fitted = train.fit(task_data.head(80 + variant), data_settings, project.params["train"])
        joblib.dump(fitted, f"models/m{variant}.joblib")
    Path("metrics.json").write_text(json.dumps({metric: 0.5}), encoding="utf-8")

    def write(variant: int, value: float = 0.5, champion: dict | None = None) -> list[str]:
        found = {"passed": True, "metric": metric, "candidate": value, "champion": champion}
        found["model_md5"] = gate.file_md5(f"models/m{variant}.joblib")
        Path(f"gate{variant}.json").write_text(json.dumps(found), encoding="utf-8")
        args = ["--model", f"models/m{variant}.joblib", "--holdout", "data/prepared/holdout.csv"]
        args += ["--train", "data/prepared/train.csv"]
        args += write_card(project.params, f"models/m{variant}.joblib", f"card{variant}.json")
        return [*args, "--gate", f"gate{variant}.json", "--metrics", "metrics.json"]

    return write


@pytest.fixture
def new_model(project) -> Callable[[], str]:
    """Point params.yaml at a model name no test used before, and return it."""

    def new() -> str:
        name = f"model-{uuid.uuid4().hex[:8]}"
        project.params["register"]["model_name"] = name
        project.save_params()
        return name

    return new


def state(name: str) -> dict[str, Any]:
    """Aliases, pending move, versions and lock of one model, read with a plain client."""
    found = registry.connect({"model_name": name})
    versions = found.client.search_model_versions(f"name = '{name}'")
    return {
        "aliases": found.aliases(),
        "pending": aliases.pending(found),
        "versions": sorted(int(v.version) for v in versions),
        "lock": found.client.search_registered_models(f"name = '{name}.lock'"),
    }


def version_of(name: str, model_file: str) -> str:
    query = f"name = '{name}' and tags.model_md5 = '{gate.file_md5(model_file)}'"
    return str(registry.connect({"model_name": name}).client.search_model_versions(query)[0].version)


@pytest.mark.slow
def test_register_survives_a_kill_before_every_registry_write(decision: Callable, new_model: Callable) -> None:
    for kill_at in range(1, MAX_WRITES):
        name = new_model()
        assert register.main(decision(0)) == 0  # version 1, champion
        args = decision(1, champion={"version": "1", "value": 0.5})
        before = state(name)["aliases"]
        [killed] = finish(cli(["register", *args], kill_at=kill_at))
        if killed == 0:
            assert kill_at > 3, "the command finished before writing anything: the kill switch is not read"
            break
        assert killed == -9, (kill_at, killed)
        after = state(name)
        done = {"champion": "2", "challenger": "2", "previous-champion": "1"}
        assert after["aliases"] in (before, done) or after["pending"] is not None, (kill_at, after)
        assert len(after["versions"]) <= 2
        assert finish(cli(["register", *args])) == [0], kill_at
        final = state(name)
        assert final["aliases"] == done, (kill_at, final)
        assert final["versions"] == [1, 2] and final["pending"] is None and final["lock"] == [], (kill_at, final)
        last = aliases.last_moves(registry.connect({"model_name": name}), 1)[0]
        assert last["alias.champion"] == "1 -> 2" and last["command"] == "register"
    else:
        pytest.fail(f"register was still killed at write {MAX_WRITES}")


@pytest.mark.slow
@pytest.mark.parametrize("command", [["promote", "--version", "1"], ["rollback"]], ids=["promote", "rollback"])
def test_promote_and_rollback_survive_a_kill_before_every_registry_write(
    command: list[str], decision: Callable, new_model: Callable
) -> None:
    for kill_at in range(1, MAX_WRITES):
        name = new_model()
        assert register.main(decision(0)) == 0
        assert register.main(decision(1, champion={"version": "1", "value": 0.5})) == 0
        before = state(name)["aliases"]
        assert before == {"champion": "2", "challenger": "2", "previous-champion": "1"}
        [killed] = finish(cli(command, kill_at=kill_at))
        if killed == 0:
            assert kill_at > 2, "the command finished before writing anything: the kill switch is not read"
            break
        assert killed == -9, (kill_at, killed)
        after = state(name)
        done = {"champion": "1", "challenger": "2", "previous-champion": "2"}
        assert after["aliases"] in (before, done) or after["pending"] is not None, (kill_at, after)
        assert finish(cli(command)) == [0], kill_at
        final = state(name)
        assert final["aliases"] == done, (kill_at, final)
        assert final["pending"] is None and final["lock"] == []
    else:
        pytest.fail(f"{command[0]} was still killed at write {MAX_WRITES}")


@pytest.mark.slow
def test_two_runs_registering_the_same_model_make_one_version(decision: Callable, new_model: Callable) -> None:
    name, args = new_model(), decision(0)
    processes = cli(["register", *args]), cli(["register", *args])
    assert finish(*processes) == [0, 0], "".join(output_of(process) for process in processes)
    final = state(name)
    assert final["versions"] == [1] and final["lock"] == [] and final["pending"] is None
    assert final["aliases"] == {"champion": "1", "challenger": "1"}


@pytest.mark.slow
def test_two_different_models_racing_are_each_gated_against_the_champion_they_find(
    decision: Callable, new_model: Callable, project
) -> None:
    higher = metrics.METRICS[project.params["gate"]["metric"]].higher_is_better
    best, worst = (1.0, -1e6) if higher else (0.0, 1e6)  # the best possible score, and a hopeless one
    name = new_model()
    assert register.main(decision(0)) == 0
    champion = {"version": "1", "value": 0.5}
    strong, weak = decision(1, value=best, champion=champion), decision(2, value=worst, champion=champion)
    processes = cli(["register", *strong]), cli(["register", *weak])
    codes = finish(*processes)
    output = "".join(output_of(process) for process in processes)
    final = state(name)
    # Whichever takes the lock first, the strong candidate ends as champion and the weak one never stays.
    assert final["aliases"]["champion"] == version_of(name, "models/m1.joblib"), (codes, output)
    assert "gating again" in output, output
    assert codes[0] == 0 and codes[1] in {0, 1}
    assert final["lock"] == [] and final["pending"] is None


@pytest.mark.slow
def test_two_waiters_finding_one_stale_lock_break_it_once(decision: Callable, new_model: Callable) -> None:
    import socket
    import subprocess
    import time

    name = new_model()
    assert register.main(decision(0)) == 0
    assert register.main(decision(1, champion={"version": "1", "value": 0.5})) == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process of this host that is gone, as after a kill -9
    tags = {"host": socket.gethostname(), "pid": str(dead.pid), "acquired": f"{time.time():.3f}", "command": "promote"}
    client = registry.connect({"model_name": name}).client
    client.create_registered_model(f"{name}.lock", tags=tags)
    processes = cli(["promote", "--version", "1"]), cli(["promote", "--version", "1"])
    codes = finish(*processes)
    output = "".join(output_of(process) for process in processes)
    assert codes == [0, 0], output
    assert output.count("breaking the registry lock of promote") == 1, output
    final = state(name)
    assert final["aliases"]["champion"] == "1" and final["lock"] == [] and final["pending"] is None
    assert client.search_registered_models(f"name LIKE '{name}.lock%'") == []  # no marker left behind


def hold_lock(name: str, cwd: str, env: dict[str, str], held: Any) -> None:
    """Child side of the termination test: take the registry lock and keep it."""
    import time

    os.chdir(cwd)
    os.environ.update(env)
    with aliases.locked(registry.connect({"model_name": name}), "promote"):
        held.set()
        time.sleep(120)
    os._exit(0)


@pytest.mark.slow
def test_a_terminated_command_releases_the_lock(decision: Callable, new_model: Callable) -> None:
    import signal

    name = new_model()
    assert register.main(decision(0)) == 0
    context = forkserver()
    held = context.Event()
    process = context.Process(target=hold_lock, args=(name, os.getcwd(), dict(os.environ), held))
    process.start()
    assert held.wait(120)
    assert state(name)["lock"] != []
    os.kill(process.pid, signal.SIGTERM)  # what a cancelled CI job receives
    process.join(60)
    assert process.exitcode == 128 + signal.SIGTERM
    assert state(name)["lock"] == []


@pytest.mark.parametrize(
    "tag", ['{"command": "promote"}', "not json", '{"command": "promote", "moves": [["champion", "1", "x; rm"]]}']
)
def test_an_unreadable_pending_record_stops_with_one_line(
    tag: str, decision: Callable, new_model: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    name = new_model()
    assert register.main(decision(0)) == 0
    registry.connect({"model_name": name}).client.set_registered_model_tag(name, aliases.PENDING_TAG, tag)
    capsys.readouterr()
    assert main(["status"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: registry ") and "fix or delete that tag" in err and err.count("\n") == 1
