"""The scale services fail with one line naming what to install when a program is missing."""

from __future__ import annotations

import sys

import pytest
import services


def failure_of(call) -> str:
    with pytest.raises(pytest.fail.Exception) as failure:
        call()
    return str(failure.value)


def test_missing_postgresql_fails_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(services, "POSTGRES_VERSIONS", tmp_path)
    assert failure_of(services.postgres_bindir) == (
        "PostgreSQL (initdb, pg_ctl, createdb) not found: run `apt-get install -y postgresql` (.ci/run does)"
    )


def test_missing_s3_store_fails_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    start = services.s3_store.__wrapped__
    assert failure_of(lambda: next(start(tmp_path))) == ("moto_server not found: run `make env` (.ci/run does)")


def test_missing_uv_for_the_mlflow_server_fails_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert failure_of(services.server_environment) == ("uv not found: run `make env` (.ci/run does)")
