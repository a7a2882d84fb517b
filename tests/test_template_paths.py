"""Fast tier: the template bakes however a user names it, and a refusal keeps the answers.

Each test bakes from a throwaway git copy of the template, the way users reach it: a relative
path from another folder, a git URL, `cruft create`, interactively with answers typed at the
prompts, and `--no-input`. cookiecutter's replay files and clones go to a folder of the test's
own (COOKIECUTTER_CONFIG), never to the home folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import classification_csv
from template_repo import template_copy

COOKIECUTTER = [sys.executable, "-m", "cookiecutter"]
NEXT_STEPS = "make setup pipeline status"
GENERATED = ("__pycache__", ".pyc", ".pytest_cache", ".ruff_cache")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of the template, holding bytecode as a developer's checkout would."""
    root = tmp_path_factory.mktemp("paths")
    copy = template_copy(root)
    stray = next(copy.glob("{{cookiecutter.project_slug}}/src/*")) / "__pycache__"
    stray.mkdir()
    (stray / "profile.cpython-311.pyc").write_bytes(b"\x00bytecode")
    return copy


@pytest.fixture
def user(tmp_path: Path) -> dict:
    """A user's working folder and an environment whose cookiecutter files stay in the test's folder."""
    work = tmp_path / "work"
    work.mkdir()
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(
        yaml.safe_dump({"replay_dir": str(tmp_path / "replay"), "cookiecutters_dir": str(tmp_path / "clones")})
    )
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(config), "PWD": str(work)}
    return {"work": work, "env": env, "replay": tmp_path / "replay"}


def run(command: list[str], user: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=user["work"], env=user["env"], input=stdin, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def relative(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


def assert_baked(project: Path, template: Path, rewritten: tuple[str, ...] = ()) -> None:
    """A whole project with its update source recorded, no bytecode or caches, and one commit.

    `rewritten`: files the tool changed after the bake's commit (`cruft create` writes its own .cruft.json).
    """
    assert (project / "data/raw/data.csv").is_file() and (project / "expectations/suite.json").is_file()
    cruft = json.loads((project / ".cruft.json").read_text())
    assert Path(cruft["template"]).resolve() == template.resolve() or cruft["template"] == f"git+file://{template}"
    assert len(cruft["commit"]) == 40
    left = [str(path) for path in project.rglob("*") if ".git" not in path.parts and path.name.endswith(GENERATED)]
    assert left == []
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True)
    assert status.stdout.split() == [word for path in rewritten for word in ("M", path)]
    skip = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]
    assert {"data", "params.yaml", "**/__pycache__"} <= set(skip)


def test_a_relative_template_path_bakes_with_no_input(template, user):
    result = run([*COOKIECUTTER, "--no-input", relative(template, user["work"])], user)
    assert result.returncode == 0, result.stderr
    assert_baked(user["work"] / "churn-model", template)
    assert f"cd churn-model\n  {NEXT_STEPS}" in result.stdout


def test_the_template_folder_itself_bakes_as_dot(template, user, tmp_path):
    """`cookiecutter .` from inside the template, as `make demo` does, into a relative output folder."""
    user["env"]["PWD"] = str(template)
    result = subprocess.run([*COOKIECUTTER, "--no-input", ".", "-o", relative(tmp_path / "out", template)],
                            cwd=template, env=user["env"], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert_baked(tmp_path / "out/churn-model", template)


def test_a_git_url_bakes(template, user):
    result = run([*COOKIECUTTER, "--no-input", f"git+file://{template}"], user)
    assert result.returncode == 0, result.stderr
    assert_baked(user["work"] / "churn-model", template)


def test_cruft_create_with_a_relative_path_bakes(template, user):
    result = run([sys.executable, "-m", "cruft", "create", "--no-input", relative(template, user["work"])], user)
    assert result.returncode == 0, result.stderr
    assert_baked(user["work"] / "churn-model", template, rewritten=(".cruft.json",))


def prompts(**answers: str) -> str:
    """What a user types: every prompt in cookiecutter.json's order, Enter (the default) unless given."""
    context = json.loads((Path(__file__).resolve().parents[1] / "cookiecutter.json").read_text())
    keys = [key for key in context if not key.startswith("_")]
    return "".join(f"{answers.get(key, '')}\n" for key in keys)


def test_interactive_answers_bake(template, user):
    result = run([*COOKIECUTTER, relative(template, user["work"])], user, stdin=prompts(project_name="Typed Name"))
    assert result.returncode == 0, result.stderr
    assert_baked(user["work"] / "typed-name", template)
    assert "cd typed-name" in result.stdout


def test_a_refused_answer_keeps_the_answers_for_a_replay(template, user):
    """Typed answers with one mistake: one line names it, the next says how to bake without typing them again."""
    typed = prompts(project_name="Kept Answers", dataset="2", data_path="no-such.csv", target_column="churned")
    result = run([*COOKIECUTTER, relative(template, user["work"])], user, stdin=typed)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith(("error: ", "hint: "))]
    assert errors[0] == f"error: data_path='no-such.csv': file not found (looked at {user['work'] / 'no-such.csv'})"
    replay = user["replay"] / f"{template.name}.json"
    assert errors[1].startswith(f"hint: your answers are kept in {replay};")
    assert errors[1].endswith(f"cookiecutter --replay-file {replay} {relative(template, user['work'])}")
    assert not (user["work"] / "kept-answers").exists()

    classification_csv().to_csv(user["work"] / "mine.csv", index=False)
    saved = json.loads(replay.read_text())
    saved["cookiecutter"]["data_path"] = "mine.csv"
    replay.write_text(json.dumps(saved))
    again = run([*COOKIECUTTER, "--replay-file", str(replay), relative(template, user["work"])], user)
    assert again.returncode == 0, again.stderr
    project = user["work"] / "kept-answers"
    assert_baked(project, template)
    assert json.loads((project / ".cookiecutter.json").read_text())["project_name"] == "Kept Answers"


def test_the_bake_leaves_every_cached_pipeline_output_ignored(template, user):
    """DVC writes its ignore rules only after a whole run succeeds; the project has them from the first commit."""
    assert run([*COOKIECUTTER, "--no-input", str(template)], user).returncode == 0
    project = user["work"] / "churn-model"
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    cached = []
    for stage in stages.values():
        for out in stage.get("outs", []):
            path, options = (out, {}) if isinstance(out, str) else next(iter(out.items()))
            if options.get("cache", True):
                cached.append(path)
    assert cached
    probes = [f"{path}/index.html" if "." not in Path(path).name else path for path in cached]
    ignored = subprocess.run(["git", "check-ignore", *probes], cwd=project, capture_output=True, text=True)
    assert sorted(ignored.stdout.split()) == sorted(probes)
