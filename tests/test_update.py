"""Slow tier: a project baked from an older template commit follows the template with `cruft update`.

A throwaway git copy of the template (commit A) bakes a project; the project is changed the way
a user would change it and committed; the template copy gets a commit B. `cruft update -y` (what
`make template-update` runs) must bring B's changes and keep the user's, leave a conflicting
edit for the user with the file named, and never touch the skipped paths.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import TEMPLATE
from template_repo import NOT_COPIED, bake, commit, replace, run, template_copy

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("template-update")]

CRUFT = [sys.executable, "-m", "cruft"]
SLUG = "{{cookiecutter.project_slug}}"
MODULE = f"{SLUG}/src/{{{{cookiecutter.package_name}}}}/loop/status.py"
USER_COMMENT = "# Lint and test on every pull request and push to main (our team adds a note here)."
TEMPLATE_COMMENT = "# Added in the template's commit B."
HELP_LINE = "help: ## List the commands"


def edit_as_a_user(project: Path) -> None:
    """A hyperparameter, a new file and an edited workflow comment, committed."""
    replace(project / "params.yaml", "n_estimators: 200", "n_estimators: 321")
    (project / "NOTES.md").write_text("Our own notes.\n", encoding="utf-8")
    replace(
        project / ".github/workflows/ci.yml", "# Lint and test on every pull request and push to main.", USER_COMMENT
    )
    commit(project, "Our changes")


def change_the_template(template: Path, conflicting: bool) -> str:
    """Commit B: a workflow, the Makefile, a module, and a default the project must not receive."""
    replace(template / SLUG / ".github/workflows/ci.yml", "name: ci\n", "name: ci\n# Template commit B.\n")
    replace(template / SLUG / "Makefile", HELP_LINE, "help: ## List every command of the project")
    module = template / MODULE
    module.write_text(module.read_text(encoding="utf-8") + f"\n{TEMPLATE_COMMENT}\n", encoding="utf-8")
    replace(template / SLUG / "params.yaml", "n_estimators: 200", "n_estimators: 250")
    if conflicting:
        replace(template / SLUG / "README.md", "## Quick start", "## Quick start (template B)")
    return commit(template, "B")


@pytest.fixture(scope="module")
def updated(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("update")
    template = template_copy(root)
    project, _ = bake(template, root / "bake")
    record: dict = {"project": project, "cruft_json": json.loads((project / ".cruft.json").read_text())}
    edit_as_a_user(project)
    replace(project / "README.md", "## Quick start", "## Quick start (our wording)")
    commit(project, "Our README wording")
    run([sys.executable, "-m", "compileall", "-q", "src"], project)  # bytecode, as running the project writes it
    record["bytecode"] = sorted(path.name for path in project.rglob("*.pyc"))
    record["commit_b"] = change_the_template(template, conflicting=True)
    record["check_before"] = run([*CRUFT, "check"], project, check=False)
    record["update"] = run([*CRUFT, "update", "-y"], project, check=False)
    record["check_after"] = run([*CRUFT, "check"], project, check=False)
    record["conflicts"] = run(["git", "diff", "--name-only", "--diff-filter=U"], project).stdout.split()
    record["rejects"] = sorted(path.name for path in project.rglob("*.rej"))
    return record


def test_bake_records_what_cruft_needs(updated):
    state = updated["cruft_json"]
    assert {"template", "commit", "checkout", "context"} <= set(state)
    assert Path(state["template"]).name == "template" and len(state["commit"]) == 40
    assert state["context"]["cookiecutter"]["_commit"] == state["commit"]
    # What updates skip is in pyproject.toml, which `cruft create` (rewriting .cruft.json) keeps.
    skip = tomllib.loads((updated["project"] / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]
    for kept in ("data", "params.yaml", "expectations/suite.json", "dvc.lock", "mlflow.db", "**/__pycache__"):
        assert kept in skip


def test_a_three_way_merge_next_to_a_users_edit_with_bytecode_written(updated):
    """Machines that write bytecode (every user's) merge as the others do: markers, never .rej files."""
    assert "PYTHONDONTWRITEBYTECODE" not in os.environ and updated["bytecode"]
    assert updated["rejects"] == [] and updated["conflicts"] == ["README.md"]
    readme = (updated["project"] / "README.md").read_text(encoding="utf-8")
    assert "<<<<<<<" in readme and "## Quick start (our wording)" in readme and "## Quick start (template B)" in readme


def test_check_fails_before_and_passes_after(updated):
    assert updated["check_before"].returncode != 0
    assert "out of date" in updated["check_before"].stdout
    assert updated["check_after"].returncode == 0, updated["check_after"].stdout
    assert json.loads((updated["project"] / ".cruft.json").read_text())["commit"] == updated["commit_b"]


def test_update_brings_the_templates_changes(updated):
    project = updated["project"]
    assert "# Template commit B." in (project / ".github/workflows/ci.yml").read_text()
    assert "help: ## List every command of the project" in (project / "Makefile").read_text()
    package = updated["cruft_json"]["context"]["cookiecutter"]["package_name"]
    assert TEMPLATE_COMMENT in (project / "src" / package / "loop" / "status.py").read_text()


def test_update_keeps_the_users_changes(updated):
    project = updated["project"]
    assert USER_COMMENT in (project / ".github/workflows/ci.yml").read_text()
    assert (project / "NOTES.md").read_text() == "Our own notes.\n"
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["train"]["random_forest"]["n_estimators"] == 321  # skipped: never overwritten


def test_a_conflict_is_reported_and_left_for_the_user(updated):
    assert updated["conflicts"] == ["README.md"], updated["update"].stderr
    assert updated["rejects"] == []
    assert "README.md" in updated["update"].stdout + updated["update"].stderr
    readme = (updated["project"] / "README.md").read_text()
    assert "## Quick start (our wording)" in readme and "## Quick start (template B)" in readme
    assert "<<<<<<<" in readme


S3 = {"dvc_remote": "s3", "dvc_remote_url": "s3://team-bucket/churn"}


@pytest.fixture(scope="module")
def switched(tmp_path_factory) -> dict:
    """As a user: bake with the local remote, set up, edit; the template moves on; update with an S3 remote."""
    root = tmp_path_factory.mktemp("switch")
    template = template_copy(root)
    project, _ = bake(template, root / "bake")
    edit_as_a_user(project)
    run(["make", "setup"], project)
    change_the_template(template, conflicting=False)
    record: dict = {"project": project}
    record["update"] = run(["make", "template-update", f"ANSWERS={json.dumps(S3)}"], project, check=False)
    if record["update"].returncode == 0:
        commit(project, "Update from the template, with an S3 remote")
        # The update changed the lock file, so `make` syncs .venv again before it runs anything.
        record["repro"] = run(["make", "pipeline"], project, check=False)
        # tests/unit/test_aliases.py (kills and races against a live server, ~6 min) runs in the
        # slow scenarios and the ci.yml rehearsal; the update changes none of what it exercises.
        record["tests"] = run(["make", "test", "PYTEST_ADDOPTS=--ignore=tests/unit/test_aliases.py"], project, False)
    return record


def test_an_update_can_change_answers_and_the_files_they_choose_follow(switched):
    project, update = switched["project"], switched["update"]
    assert update.returncode == 0, update.stdout[-3000:] + update.stderr[-3000:]
    context = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert {key: context[key] for key in S3} == S3
    assert "dvc-s3==" in (project / "requirements.lock").read_text()
    # The hook's choice, made again: no remote's lock is left (requirements-spark.lock is for every remote).
    assert [path.name for path in project.glob("requirements-*.lock")] == ["requirements-spark.lock"]
    assert "url = s3://team-bucket/churn" in (project / ".dvc/config").read_text()
    assert "id-token: write" in (project / ".github/workflows/train.yml").read_text()
    assert "# Template commit B." in (project / ".github/workflows/ci.yml").read_text()
    assert USER_COMMENT in (project / ".github/workflows/ci.yml").read_text()
    assert yaml.safe_load((project / "params.yaml").read_text())["train"]["random_forest"]["n_estimators"] == 321


def test_after_an_update_the_pipeline_and_the_projects_tests_still_pass(switched):
    for step in ("repro", "tests"):
        result = switched[step]
        assert result.returncode == 0, step + ":\n" + result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", switched["tests"].stdout)
    assert (switched["project"] / "reports/gate.json").is_file()


def test_a_template_without_a_commit_or_with_uncommitted_changes_still_bakes(tmp_path):
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=NOT_COPIED)
    project, said = bake(template, tmp_path / "bare")
    assert "has no git commit, so no .cruft.json" in said
    assert not (project / ".cruft.json").exists()
    assert json.loads((project / ".cookiecutter.json").read_text())["_commit"] is None

    run(["git", "init", "--quiet", "--initial-branch=main"], template)
    head = commit(template, "A")
    (template / "README.md").write_text("Work in progress.\n", encoding="utf-8")
    project, said = bake(template, tmp_path / "dirty")
    assert f"has uncommitted changes; .cruft.json records {head[:12]} without them" in said
    assert json.loads((project / ".cruft.json").read_text())["commit"] == head
