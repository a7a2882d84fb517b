"""Fast tier: every combination of options bakes into exactly the expected, clean project."""

from __future__ import annotations

import configparser
import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONTEXT, TEMPLATE, answers_for, combination_id, option_matrix

SOURCE = TEMPLATE / "{{cookiecutter.project_slug}}"
DEMO_FILES = {"data/raw/breast_cancer.csv", "data/raw/diabetes.csv"}
LOCK_VARIANTS = {"s3": "requirements-s3.lock", "gcs": "requirements-gs.lock", "azure": "requirements-azure.lock"}
LICENSE_VARIANTS = {f"licenses/{name}.txt" for name in CONTEXT["license"]}
# A sentence of each standard text (and of the proprietary notice) that the chosen LICENSE must hold.
LICENSE_WORDING = {
    "MIT": "Permission is hereby granted, free of charge, to any person obtaining a copy",
    "Apache-2.0": "Version 2.0, January 2004",
    "BSD-3-Clause": "Neither the name of the copyright holder nor the names of its contributors",
    "Proprietary": "proprietary and confidential",
}
WRITTEN_BY_HOOK = {
    ".cookiecutter.json",
    ".cruft.json",
    "LICENSE",
    ".dvc/.gitignore",
    ".dvc/config",
    ".dvcignore",
    "data/raw/data.csv",
    "expectations/suite.json",
}
CACHES = {"__pycache__", ".ruff_cache", ".pytest_cache"}  # left by running tools in the template
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|\{#")  # GitHub's own ${{ }} expressions are fine


def template_files(package: str) -> set[str]:
    files = set()
    for path in SOURCE.rglob("*"):
        if path.is_file() and not CACHES.intersection(path.parts):
            files.add(path.relative_to(SOURCE).as_posix().replace("{{cookiecutter.package_name}}", package))
    return files


def expected_files(answers: dict[str, str], package: str) -> set[str]:
    """The files a project made with these answers must track in git, and no others."""
    files = template_files(package) - DEMO_FILES - set(LOCK_VARIANTS.values()) - LICENSE_VARIANTS
    files |= WRITTEN_BY_HOOK
    files -= removed_workflow_files(answers)
    return files


def removed_workflow_files(answers: dict[str, str]) -> set[str]:
    """Workflow files that exist only for some options (see hooks/post_gen_project.py)."""
    return set()


@pytest.fixture(scope="module", params=option_matrix(), ids=combination_id)
def baked(request: pytest.FixtureRequest, cookies_session, sample_csvs) -> tuple[dict, Path]:
    answers = answers_for(request.param, sample_csvs)
    result = cookies_session.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    return answers, Path(result.project_path)


def tracked_files(project: Path) -> set[str]:
    listing = subprocess.run(["git", "ls-files"], cwd=project, check=True, capture_output=True, text=True)
    return set(listing.stdout.splitlines())


def test_exact_file_set(baked):
    answers, project = baked
    package = json.loads((project / ".cookiecutter.json").read_text())["package_name"]
    assert tracked_files(project) == expected_files(answers, package)


def test_no_template_syntax_left(baked):
    _, project = baked
    for name in tracked_files(project):
        text = (project / name).read_text(encoding="utf-8", errors="replace")
        assert not LEFTOVER_JINJA.search(text), f"{name} still has template syntax"


def test_ruff_clean(baked):
    _, project = baked
    ruff = [sys.executable, "-m", "ruff"]
    for command in ([*ruff, "check", "--no-cache", "."], [*ruff, "format", "--check", "--no-cache", "."]):
        result = subprocess.run(command, cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_answers_recorded(baked):
    answers, project = baked
    recorded = json.loads((project / ".cookiecutter.json").read_text())
    assert {key: recorded[key] for key in answers} == answers
    assert "_output_dir" not in recorded and "__prompts__" not in recorded


def test_first_commit_is_clean(baked):
    _, project = baked
    log = subprocess.run(["git", "log", "--format=%s"], cwd=project, check=True, capture_output=True, text=True)
    assert len(log.stdout.splitlines()) == 1
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, check=True, capture_output=True, text=True)
    assert status.stdout == ""


def test_raw_data_is_committed_and_feeds_the_pipeline(baked):
    answers, project = baked
    import yaml

    if answers["dataset"] == "csv":
        assert (project / "data/raw/data.csv").read_bytes() == Path(answers["data_path"]).read_bytes()
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert "data/raw/data.csv" in stages["ingest"]["deps"]


def test_dvc_config_turns_analytics_off(baked):
    answers, project = baked
    config = configparser.ConfigParser()
    config.read(project / ".dvc/config", encoding="utf-8")
    assert config["core"]["analytics"] == "false"
    assert config["core"].get("remote") == (None if answers["dvc_remote"] == "none" else "storage")


def test_license_is_the_chosen_one(baked):
    answers, project = baked
    text = (project / "LICENSE").read_text(encoding="utf-8")
    assert [name for name, wording in LICENSE_WORDING.items() if wording in text] == [answers["license"]]
    year = str(datetime.datetime.now(datetime.UTC).year)
    author = CONTEXT["author_name"]
    assert f"{year} {author}" in text or f"{year}, {author}" in text
    assert not (project / "licenses").exists()


def test_suite_describes_the_data(baked):
    _, project = baked
    import pandas as pd

    suite = json.loads((project / "expectations/suite.json").read_text())
    columns = next(e for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_set")
    assert columns["kwargs"]["column_set"] == list(pd.read_csv(project / "data/raw/data.csv").columns)


def test_lock_matches_remote(baked):
    answers, project = baked
    lock = (project / "requirements.lock").read_text()
    plugin = {"s3": "dvc-s3==", "gcs": "dvc-gs==", "azure": "dvc-azure=="}.get(answers["dvc_remote"])
    for name in ("dvc-s3==", "dvc-gs==", "dvc-azure=="):
        assert (name in lock) == (name == plugin)
