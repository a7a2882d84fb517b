"""`serve`: MLflow's scoring server answers for the champion, from a folder this project wrote itself."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TARGET

from {{ cookiecutter.package_name }}.loop import PACKAGE, chosen, cli, serve
from {{ cookiecutter.package_name }}.loop.registry import connect


@pytest.fixture
def champion(project, registered: Callable[[str], str], task: str) -> str:
    return registered(task)


def test_export_writes_its_own_mlmodel_whatever_the_downloaded_one_names(project, champion, tmp_path: Path) -> None:
    picked = chosen.choose(project.params, None, None, keep=tmp_path / "registered")
    downloaded = yaml.safe_load((picked.folder / "MLmodel").read_text())
    downloaded["flavors"]["python_function"]["loader_module"] = "os"  # what a changed registry branch could say
    (picked.folder / "MLmodel").write_text(yaml.safe_dump(downloaded))
    folder = serve.export(picked, tmp_path / "served")
    written = yaml.safe_load((folder / "MLmodel").read_text())
    assert written["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert written["flavors"]["sklearn"]["serialization_format"] == "skops"
    assert json.loads(written["signature"]["inputs"]) == json.loads(downloaded["signature"]["inputs"])
    # A request to send (README) and the package's code, so an image of the folder needs nothing else.
    request = json.loads((folder / "serving_input_example.json").read_text())
    assert len(request["dataframe_split"]["data"]) == 5 and TARGET not in request["dataframe_split"]["columns"]
    assert (folder / "code" / PACKAGE / "features.py").is_file()


def test_an_unknown_version_and_a_bad_port_are_one_line(project, champion, capsys) -> None:
    assert cli.main(["serve", "--version", "9"]) == 2
    assert "version 9 of 'test-model' does not exist" in capsys.readouterr().err
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SystemExit) as stopped:
            cli.main(["serve", "--port", str(taken.getsockname()[1])])
        assert stopped.value.code == 2
        assert "on 127.0.0.1 is in use; give another one (make serve PORT=5002)" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", "--port", "70000"])
    assert stopped.value.code == 2
    assert "--port must be between 1 and 65535" in capsys.readouterr().err


@pytest.mark.slow
def test_the_server_answers_rows_with_gaps_unseen_categories_and_times(project, champion, tmp_path: Path) -> None:
    from conftest import free_port
    from server_watchdog import WatchedServer

    port = free_port()
    command = [sys.executable, "-m", PACKAGE, "serve", "--port", str(port)]
    folder = tmp_path / "server"
    folder.mkdir()
    server = WatchedServer(command, folder, folder / "serve.log", cwd=str(project.root), env=dict(os.environ),
                           stop_leader_only=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (folder / "serve.log").read_text()
                time.sleep(0.5)
        rows = pd.read_csv("data/prepared/holdout.csv").drop(columns=[TARGET]).head(4)
        rows = rows.astype({"paperless billing": object})
        number = next(column for column in ("monthly charges", "floor area") if column in rows.columns)
        rows.loc[0, ["paperless billing", "signed up", number]] = None  # JSON nulls
        rows.loc[1, "zone"] = "a zone never seen"
        rows.loc[2, "signed up"] = "2031-05-06T07:08:09+02:00"  # a time with an offset
        body = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as answer:
            served = json.loads(answer.read())["predictions"]
        expected = connect(project.params["register"]).load("1").predict(rows.replace({None: np.nan}))
        assert [str(value) for value in served] == [str(value) for value in expected]
        os.kill(server.pid, signal.SIGTERM)  # as Ctrl-C or a supervisor stops it: serve stops MLflow's workers
        deadline = time.monotonic() + 60
        while server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.poll() == 0, (folder / "serve.log").read_text()
        with pytest.raises(OSError):  # no worker of MLflow's is left answering
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
    finally:
        server.stop()
