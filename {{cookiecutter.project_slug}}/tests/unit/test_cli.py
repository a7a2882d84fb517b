"""The command line: usage, unknown commands, one command per stage, and light imports."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.loop import cli

PACKAGE = "{{ cookiecutter.package_name }}"
PROJECT_ROOT = Path(__file__).parents[2]


def test_no_arguments_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m {PACKAGE} <command>")
    for command in cli.COMMANDS:
        assert f"  {command} " in out


def test_help_flag_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "commands:" in capsys.readouterr().out


def test_unknown_command_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["trian"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown command 'trian'; choose one of: ingest, ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_has_an_entry_point(command: str) -> None:
    module_name, function = cli.ENTRY_POINTS.get(command, (command, "main"))
    module = importlib.import_module(f"{PACKAGE}.loop.{module_name}")
    assert callable(getattr(module, function))


def test_command_passes_arguments_and_returns_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ingest", "--help"])
    assert exit_info.value.code == 0
    assert "--holdout" in capsys.readouterr().out


def test_every_dvc_stage_runs_the_command_of_its_name() -> None:
    stages = yaml.safe_load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for name, stage in stages.items():
        assert stage["cmd"].startswith(f"python -m {PACKAGE} {name} "), name
        assert name in cli.COMMANDS
        assert (PROJECT_ROOT / "src" / PACKAGE / "loop" / f"{name}.py").is_file()


def test_help_of_every_command_imports_nothing_heavy() -> None:
    # A fresh interpreter, because this test process has imported everything by now.
    script = (
        "import contextlib, io, sys\n"
        f"from {PACKAGE}.loop import cli\n"
        "for command in [None, *cli.COMMANDS]:\n"
        "    argv = ['--help'] if command is None else [command, '--help']\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        cli.main(argv)\n"
        "heavy = sorted(name for name in ('mlflow', 'great_expectations', 'optuna') if name in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert found.stdout.strip() == "", f"`--help` imported {found.stdout.strip()}"
