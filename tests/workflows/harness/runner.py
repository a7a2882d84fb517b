"""Run a workflow's jobs locally, the way a GitHub-hosted runner would.

For one workflow and one event, `Rehearsal.run` checks that the workflow handles the event,
then runs its jobs in `needs:` order. Each job gets a fresh workspace, RUNNER_TEMP and HOME,
its own GITHUB_TOKEN with the job's `permissions:` (read-only for a fork's pull request, which
also gets no variables or secrets), and the runner's files and variables. `if:`, `${{ }}` and
job outputs are evaluated by GitHub's evaluator (see expressions.py) with the contexts GitHub
offers at each place. Every `run:` step runs for real in the runner's shell (`bash -e {0}`, or
`bash --noprofile --norc -eo pipefail {0}` for `shell: bash`), local composite actions run
their steps, and each `uses:` action runs through its stand-in (standins.py), checked against
the pinned SHA and the action's own action.yml. A step that cannot be rehearsed fails, and so
does its job.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .expressions import ExpressionError, Expressions
from .github import SERVER_URL, Event, GitHubState, Repository, git

ACTIONS = Path(__file__).with_name("actions")
PINS = json.loads((ACTIONS / "pins.json").read_text(encoding="utf-8"))
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SCOPES = [
    "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues", "models",
    "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses",
]  # fmt: skip
DEFAULT_PERMISSIONS = {"contents": "read", "packages": "read"}  # a repository's "restricted" default
SHELLS = {
    None: ["bash", "-e", "{0}"],
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "sh": ["sh", "-e", "{0}"],
    "python": ["python", "{0}"],
}
JOB_KEYS = {
    "name", "needs", "if", "runs-on", "permissions", "environment", "concurrency", "outputs", "env",
    "defaults", "steps", "timeout-minutes", "continue-on-error", "strategy",
}  # fmt: skip
STRATEGY_KEYS = {"matrix", "fail-fast", "max-parallel"}
STEP_KEYS = {"id", "name", "if", "uses", "run", "shell", "with", "env", "working-directory", "continue-on-error",
             "timeout-minutes"}  # fmt: skip
# Contexts GitHub offers at each place (docs: "Context availability").
AT_WORKFLOW_ENV = ("github", "secrets", "inputs", "vars")
AT_JOB_IF = ("github", "needs", "vars", "inputs")
AT_JOB_SETTING = ("github", "needs", "strategy", "matrix", "vars", "inputs")
AT_JOB_ENV = ("github", "needs", "strategy", "matrix", "vars", "secrets", "inputs")
AT_JOB_OUTPUTS = ("github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets", "steps", "inputs")
AT_STEP_IF = ("github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs")
AT_STEP = AT_JOB_OUTPUTS
AT_COMPOSITE = ("github", "inputs", "steps", "env", "runner", "job", "matrix", "strategy")
AT_ACTION_DEFAULT = ("github", "runner", "job", "env", "strategy", "matrix")


class WorkflowLoader(yaml.SafeLoader):
    """YAML as GitHub reads it: only true/false are booleans, so `on:` and `no` stay strings."""


WorkflowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
WorkflowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=WorkflowLoader)


class StepFailure(Exception):
    """The step failed; the message goes to its log."""


class NotRehearsable(StepFailure):
    """The workflow uses something the rehearsal does not model: the step fails, never skips."""


@dataclass
class StepResult:
    id: str
    name: str
    outcome: str  # success, failure or skipped
    conclusion: str  # as outcome, but success when continue-on-error absorbed a failure
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""
    seconds: float = 0.0


@dataclass
class JobResult:
    id: str
    result: str  # success, failure or skipped
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""
    permissions: dict[str, str] = field(default_factory=dict)
    environment: str | None = None
    concurrency: dict[str, Any] | None = None
    runs_on: str | list[str] | None = None
    instances: list[JobResult] = field(default_factory=list)  # a matrix job's jobs, in matrix order
    matrix: dict[str, Any] | None = None

    def step(self, name_or_id: str) -> StepResult:
        return next(s for s in self.steps if name_or_id in (s.id, s.name))

    @property
    def log(self) -> str:
        return "\n".join(f"--- {s.name} [{s.outcome}, {s.seconds:.1f}s]\n{s.log}" for s in self.steps)


@dataclass
class RunResult:
    workflow: str
    event: Event
    run_id: int
    jobs: dict[str, JobResult]
    artifacts: Path

    @property
    def conclusion(self) -> str:
        results = {job.result for job in self.jobs.values()}
        return "failure" if "failure" in results else "success"

    @property
    def log(self) -> str:
        return "\n".join(f"===== job {job.id}: {job.result}\n{job.log}" for job in self.jobs.values())


# How the host reaches the network (proxies, CA bundles, package indexes): a runner image sets these
# too, and without them nothing can be installed behind a proxy that re-signs TLS.
NETWORK = re.compile(
    r"^(?:(?:https?|no|all)_proxy|(?:HTTPS?|NO|ALL)_PROXY|SSL_CERT_(?:FILE|DIR)|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE"
    r"|NODE_EXTRA_CA_CERTS|GIT_SSL_CAINFO|PIP_CERT|PIP_(?:EXTRA_)?INDEX_URL|UV_(?:DEFAULT_|EXTRA_)?INDEX(?:_URL)?"
    r"|UV_NATIVE_TLS)$"
)


@dataclass
class Host:
    """What the rehearsal host lends the stand-ins: tools and caches that persist across runs."""

    root: Path
    uv: Path
    node: str = "node"
    network: dict[str, str] = field(default_factory=lambda: {k: v for k, v in os.environ.items() if NETWORK.match(k)})
    # The cloud behind OIDC logins (standins.Cloud): None, and a login step is not rehearsable.
    cloud: Any = None

    @property
    def uv_cache(self) -> Path:
        """The uv cache of the host's own environment when it has one (CI restores it), else a fresh one."""
        return Path(os.environ.get("UV_CACHE_DIR") or self.root / "uv-cache")

    @property
    def actions_cache(self) -> Path:
        return self.root / "actions-cache"

    def python(self, version: str) -> tuple[Path, str] | None:
        """An interpreter of the requested version (3.12 or 3.12.4), and its full version."""
        candidates = [shutil.which(f"python{version}", path=SYSTEM_PATH), shutil.which("python3", path=SYSTEM_PATH)]
        found = subprocess.run(
            [str(self.uv), "python", "find", "--system", "--no-python-downloads", version],
            capture_output=True,
            text=True,
            check=False,
        )
        candidates.append(found.stdout.strip() if found.returncode == 0 else None)
        for candidate in filter(None, candidates):
            full = subprocess.run(
                [candidate, "-c", "import platform; print(platform.python_version())"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            if full == version or full.startswith(version + "."):
                return Path(candidate), full
        return None


def permissions_of(value: Any, fork: bool) -> dict[str, str]:
    """The GITHUB_TOKEN's scopes for a `permissions:` value; a fork's pull request gets read at most."""
    if value is None:
        granted = dict(DEFAULT_PERMISSIONS)
    elif value in ("read-all", "write-all"):
        granted = dict.fromkeys(SCOPES, value.split("-")[0])
    elif isinstance(value, dict):
        unknown = set(value) - set(SCOPES)
        if unknown:
            raise NotRehearsable(f"unknown permission scope(s): {sorted(unknown)}")
        granted = {scope: str(level) for scope, level in value.items()}
    else:
        raise NotRehearsable(f"invalid permissions: {value!r}")
    if fork:
        granted = {s: "read" for s, level in granted.items() if level != "none" and s != "id-token"}
    granted["metadata"] = "read"
    return granted


def parse_file_command(path: Path) -> dict[str, str]:
    """Read GITHUB_OUTPUT / GITHUB_ENV: `name=value` lines and `name<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = list(itertools.takewhile(lambda text, d=delimiter: text != d, lines))
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
        else:
            raise StepFailure(f"invalid file command line in {path.name}: {line!r}")
    return values


@dataclass
class Call:
    """What a stand-in gets: the job, the action's inputs and the environment its process sees."""

    job: JobRun
    action: str
    inputs: dict[str, str]
    env: dict[str, str]
    files: dict[str, Path]
    log: list[str] = field(default_factory=list)

    def set_output(self, name: str, value: str) -> None:
        with open(self.files["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.write(f"{name}<<EOF_{name}\n{value}\nEOF_{name}\n")

    def export(self, name: str, value: str) -> None:
        with open(self.files["GITHUB_ENV"], "a", encoding="utf-8") as out:
            out.write(f"{name}<<EOF_{name}\n{value}\nEOF_{name}\n")

    def add_path(self, directory: Path) -> None:
        with open(self.files["GITHUB_PATH"], "a", encoding="utf-8") as out:
            out.write(f"{directory}\n")

    def flag(self, name: str) -> bool:
        return self.inputs.get(name, "").strip().lower() == "true"


class JobRun:
    """One job on a fresh runner: its folders, token, environment, steps and status."""

    def __init__(
        self, rehearsal: Rehearsal, run: RunState, job_id: str, spec: dict[str, Any],
        matrix: dict[str, Any] | None = None, strategy: dict[str, Any] | None = None, instance: int = 0,
    ) -> None:  # fmt: skip
        self.rehearsal, self.run, self.id, self.spec = rehearsal, run, job_id, spec
        self.matrix, self.strategy = matrix, strategy or {}
        root = run.root / "jobs" / (job_id if matrix is None else f"{job_id}-{instance}")
        name = rehearsal.repo.name
        self.workspace = root / "work" / name / name
        self.temp, self.tool_cache, self.home = root / "temp", root / "tool-cache", root / "home"
        for folder in (self.workspace, self.temp, self.tool_cache, self.home):
            folder.mkdir(parents=True, exist_ok=True)
        self.token = f"ghs_{uuid.uuid4().hex}"
        self.env: dict[str, str] = {}  # workflow env, job env, then GITHUB_ENV
        self.path: list[str] = []  # GITHUB_PATH, newest first
        self.steps: dict[str, dict[str, Any]] = {}
        self.results: list[StepResult] = []
        self.summary: list[str] = []
        self.failed = False
        self.counter = itertools.count(1)
        self.deadline = time.monotonic()
        self.permissions: dict[str, str] = {}
        self.environment: str | None = None  # the deployment environment the job runs in, if any
        self.vars: dict[str, str] = {}
        self.secrets: dict[str, str] = {}

    # --- contexts -------------------------------------------------------------------------
    def github(self, action_path: Path | None = None) -> dict[str, Any]:
        return {
            **self.run.github,
            "job": self.id,
            "token": self.token,
            "workspace": str(self.workspace),
            "action_path": str(action_path or ""),
            "action": f"__run_{len(self.results)}",
        }

    def contexts(self, names: tuple[str, ...], **extra: Any) -> dict[str, Any]:
        available = {
            "github": self.github(),
            "needs": self.run.needs_of(self.spec),
            "vars": self.vars,
            "secrets": {"GITHUB_TOKEN": self.token, **self.secrets},
            "inputs": self.run.inputs,
            "strategy": self.strategy,
            "matrix": self.matrix,
            "job": {"status": "failure" if self.failed else "success", "container": {}, "services": {}},
            "runner": {
                "name": "GitHub Actions 1",
                "os": "Linux",
                "arch": "X64",
                "temp": str(self.temp),
                "tool_cache": str(self.tool_cache),
                "environment": "github-hosted",
                "debug": "",
            },
            "env": dict(self.env),
            "steps": self.steps,
        }
        available.update(extra)
        return {name: available[name] for name in names}

    def status(self, failed: bool) -> dict[str, bool]:
        return {"success": not failed, "failure": failed, "cancelled": False}

    # --- the environment a process sees ---------------------------------------------------
    def process_env(self, env: dict[str, str], files: dict[str, Path], action_path: Path | None) -> dict[str, str]:
        github = self.github(action_path)
        base = {
            **self.rehearsal.host.network,
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "RUNNER_OS": "Linux",
            "RUNNER_ARCH": "X64",
            "RUNNER_NAME": "GitHub Actions 1",
            "RUNNER_ENVIRONMENT": "github-hosted",
            "RUNNER_TEMP": str(self.temp),
            "RUNNER_TOOL_CACHE": str(self.tool_cache),
            "RUNNER_WORKSPACE": str(self.workspace.parent),
            "ImageOS": "ubuntu24",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_EVENT_PATH": str(self.run.event_path),
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_REF_TYPE": github["ref_type"],
            "GITHUB_REF_PROTECTED": "false",
            "GITHUB_HEAD_REF": github["head_ref"],
            "GITHUB_BASE_REF": github["base_ref"],
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_REPOSITORY_OWNER": github["repository_owner"],
            "GITHUB_REPOSITORY_ID": github["repository_id"],
            "GITHUB_RUN_ID": github["run_id"],
            "GITHUB_RUN_NUMBER": github["run_number"],
            "GITHUB_RUN_ATTEMPT": github["run_attempt"],
            "GITHUB_WORKFLOW": github["workflow"],
            "GITHUB_WORKFLOW_REF": github["workflow_ref"],
            "GITHUB_WORKFLOW_SHA": github["workflow_sha"],
            "GITHUB_JOB": self.id,
            "GITHUB_ACTION": github["action"],
            "GITHUB_ACTOR": github["actor"],
            "GITHUB_TRIGGERING_ACTOR": github["triggering_actor"],
            "GITHUB_SERVER_URL": SERVER_URL,
            "GITHUB_API_URL": "https://api.github.com",
            "GITHUB_GRAPHQL_URL": "https://api.github.com/graphql",
            "GITHUB_RETENTION_DAYS": "90",
            **{name: str(path) for name, path in files.items()},
        }
        if action_path:
            base["GITHUB_ACTION_PATH"] = str(action_path)
        if self.permissions.get("id-token") == "write":
            base["ACTIONS_ID_TOKEN_REQUEST_URL"] = "https://token.actions.rehearsal.invalid/"
            base["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = uuid.uuid4().hex
        merged = {**base, **self.env, **env}
        merged["PATH"] = ":".join([*self.path, str(self.rehearsal.bin), SYSTEM_PATH])
        return merged

    def step_files(self) -> dict[str, Path]:
        number = next(self.counter)
        folder = self.temp / "_runner_file_commands" / str(number)
        folder.mkdir(parents=True)
        names = ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY", "GITHUB_STATE")
        files = {name: folder / name.lower() for name in names}
        for path in files.values():
            path.touch()
        return files

    def collect(self, files: dict[str, Path]) -> dict[str, str]:
        """Apply a finished step's file commands; return its outputs."""
        self.env.update(parse_file_command(files["GITHUB_ENV"]))
        added = [line.strip() for line in files["GITHUB_PATH"].read_text(encoding="utf-8").splitlines() if line.strip()]
        self.path = [*reversed(added), *self.path]
        summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        if summary:
            self.summary.append(summary)
        return parse_file_command(files["GITHUB_OUTPUT"])

    # --- steps --------------------------------------------------------------------------------
    def run_steps(self, steps: list[dict[str, Any]], scope: Scope) -> bool:
        """Run a list of steps; return whether any failed (after continue-on-error)."""
        for index, step in enumerate(steps):
            unknown = set(step) - STEP_KEYS
            if unknown:
                raise NotRehearsable(f"step keys not modelled: {sorted(unknown)}")
            step_id = str(step.get("id") or f"__step_{index}")
            name = str(step.get("name") or step.get("uses") or str(step.get("run", "")).splitlines()[0])
            contexts = scope.contexts(AT_STEP_IF if scope.composite is None else AT_COMPOSITE)
            try:
                go = self.rehearsal.expressions.condition(
                    step.get("if"), contexts, scope.status(), workspace=self.workspace
                )
            except ExpressionError as error:
                result = StepResult(step_id, name, "failure", "failure", log=str(error))
                scope.record(step_id, result)
                continue
            if not go:
                scope.record(step_id, StepResult(step_id, name, "skipped", "skipped"))
                continue
            result = self.run_step(step, step_id, name, scope)
            scope.record(step_id, result)
        return scope.failed

    def run_step(self, step: dict[str, Any], step_id: str, name: str, scope: Scope) -> StepResult:
        started = time.monotonic()
        files = self.step_files()
        log: list[str] = []
        outputs: dict[str, str] = {}
        render = self.rehearsal.expressions
        names = AT_STEP if scope.composite is None else AT_COMPOSITE
        continue_on_error = False
        try:
            env = dict(scope.env)
            for key, value in (step.get("env") or {}).items():
                env[key] = render.render_string(value, scope.contexts(names, env={**self.env, **env}))
            contexts = scope.contexts(names, env={**self.env, **env})
            continue_on_error = bool(render.render(step.get("continue-on-error", False), contexts))
            limit = render.render(step.get("timeout-minutes"), contexts)
            timeout = self.deadline - time.monotonic()
            if limit:
                timeout = min(timeout, float(limit) * 60)
            if timeout <= 0:
                raise StepFailure("The job has exceeded the maximum execution time")
            if "run" in step:
                script = render.render_string(step["run"], contexts, workspace=self.workspace)
                shell = step.get("shell") or scope.default_shell
                if scope.composite is not None and not step.get("shell"):
                    raise StepFailure("composite action steps that `run` need a `shell`")
                cwd = self.workspace / render.render_string(
                    step.get("working-directory") or scope.default_directory or ".", contexts
                )
                self.execute(script, shell, cwd, self.process_env(env, files, scope.action_path), timeout, log)
            elif "uses" in step:
                uses = render.render_string(step["uses"], contexts)
                outputs = self.uses(uses, step.get("with") or {}, env, files, contexts, scope, log)
            else:
                raise StepFailure("a step needs `run` or `uses`")
            outcome = "success"
        except (StepFailure, ExpressionError) as error:
            log.append(f"##[error]{error}")
            outcome = "failure"
        outputs = {**self.collect(files), **outputs}
        conclusion = "success" if outcome == "failure" and continue_on_error else outcome
        return StepResult(step_id, name, outcome, conclusion, outputs, "\n".join(log), time.monotonic() - started)

    def execute(self, script: str, shell: str | None, cwd: Path, env: dict[str, str], timeout: float, log: list[str]):
        if not cwd.is_dir():
            raise StepFailure(f"working directory {cwd} does not exist")
        template = SHELLS.get(shell) or (shell.split() if shell and "{0}" in shell else None)
        if template is None:
            raise NotRehearsable(f"shell {shell!r} is not modelled")
        path = self.temp / f"{uuid.uuid4()}.{'py' if template[0] == 'python' else 'sh'}"
        path.write_text(script, encoding="utf-8")
        command = [part.replace("{0}", str(path)) for part in template]
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            log.append(output)
            raise StepFailure(f"timed out after {timeout:.0f}s") from None
        log.append(output)
        if process.returncode != 0:
            raise StepFailure(f"Process completed with exit code {process.returncode}.")

    def uses(self, uses, with_, env, files, contexts, scope, log) -> dict[str, str]:
        from .standins import STANDINS  # here, because standins imports this module

        if uses.startswith("./"):
            return self.composite(uses, with_, env, files, contexts, scope, log)
        action, _, ref = uses.partition("@")
        pin = PINS.get(action)
        if pin is None or ref != pin["sha"]:
            raise StepFailure(f"Unable to resolve action `{uses}`: not a verified pin (harness/actions/pins.json)")
        metadata = load_yaml((ACTIONS / pin["metadata"]).read_text(encoding="utf-8"))
        inputs = self.action_inputs(action, metadata, with_, contexts, scope)
        if action not in STANDINS:
            raise NotRehearsable(f"{action} has no stand-in in the rehearsal")
        process = self.process_env(env, files, None)
        process.update({f"INPUT_{key.replace(' ', '_').upper()}": value for key, value in inputs.items()})
        call = Call(self, action, inputs, process, files, log)
        STANDINS[action](call)
        return {}

    def action_inputs(self, action, metadata, with_, contexts, scope) -> dict[str, str]:
        """The inputs an action sees: `with:` values, else the action's defaults; unknown or missing fails."""
        declared = metadata.get("inputs") or {}
        render = self.rehearsal.expressions
        unknown = set(with_) - set(declared)
        if unknown:
            raise StepFailure(f"Unexpected input(s) {sorted(unknown)} for {action}; valid: {sorted(declared)}")
        inputs = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in with_:
                inputs[name] = render.render_string(with_[name], contexts, workspace=self.workspace)
            else:
                default_contexts = scope.contexts(AT_ACTION_DEFAULT)
                inputs[name] = render.render_string(spec.get("default"), default_contexts)
            if spec.get("required") and not inputs[name].strip():
                raise StepFailure(f"Input required and not supplied: {name}")
        return inputs

    def composite(self, uses, with_, env, files, contexts, scope, log) -> dict[str, str]:
        folder = (self.workspace / uses).resolve()
        found = [folder / name for name in ("action.yml", "action.yaml") if (folder / name).is_file()]
        if not found:
            raise StepFailure(f"Can't find 'action.yml' under '{folder}'. Did you forget to run actions/checkout?")
        metadata = load_yaml(found[0].read_text(encoding="utf-8"))
        if (metadata.get("runs") or {}).get("using") != "composite":
            raise NotRehearsable(f"local action {uses} is not a composite action")
        inputs = self.action_inputs(uses, metadata, with_, contexts, scope)
        inner = Scope(self, composite=inputs, action_path=folder, env=env, parent_failed=scope.failed)
        self.run_steps(metadata["runs"].get("steps") or [], inner)
        log.extend(f"  [{r.outcome}] {r.name}\n{r.log}" for r in inner.results)
        outputs = {}
        for name, spec in (metadata.get("outputs") or {}).items():
            outputs[name] = self.rehearsal.expressions.render_string(
                (spec or {}).get("value"), inner.contexts(AT_COMPOSITE)
            )
        if inner.steps_failed:  # its own steps decide its outcome, not the failures before it
            raise StepFailure(f"composite action {uses} failed")
        return outputs


class Scope:
    """Steps at one level: the job's, or a composite action's (its own `steps` and `inputs`)."""

    def __init__(self, job: JobRun, composite=None, action_path=None, env=None, parent_failed=False) -> None:
        self.job, self.composite, self.action_path = job, composite, action_path
        self.env = dict(env or {})
        self.steps: dict[str, dict[str, Any]] = job.steps if composite is None else {}
        self.results: list[StepResult] = job.results if composite is None else []
        self.failed = parent_failed  # what status functions see: earlier failures count too
        self.steps_failed = False  # whether a step of this scope failed
        defaults = ((job.spec.get("defaults") or {}).get("run") or {}) if composite is None else {}
        run_defaults = (job.run.workflow.get("defaults") or {}).get("run") or {}
        self.default_shell = defaults.get("shell") or (run_defaults.get("shell") if composite is None else None)
        self.default_directory = defaults.get("working-directory") or (
            run_defaults.get("working-directory") if composite is None else None
        )

    def contexts(self, names: tuple[str, ...], **extra: Any) -> dict[str, Any]:
        base = {"steps": self.steps, "env": {**self.job.env, **self.env}}
        if self.composite is not None:
            base["inputs"] = self.composite
            base["github"] = self.job.github(self.action_path)
        base.update(extra)
        return self.job.contexts(names, **base)

    def status(self) -> dict[str, bool]:
        return self.job.status(self.failed or self.job.failed)

    def record(self, step_id: str, result: StepResult) -> None:
        self.results.append(result)
        self.steps[step_id] = {"outputs": result.outputs, "outcome": result.outcome, "conclusion": result.conclusion}
        if result.conclusion == "failure":
            self.failed = self.steps_failed = True
            if self.composite is None:
                self.job.failed = True


class RunState:
    """One workflow run: its event, contexts shared by all jobs, and the jobs' results."""

    def __init__(self, rehearsal: Rehearsal, workflow_file: str, workflow: dict, event: Event, run_id: int) -> None:
        self.rehearsal, self.workflow, self.event, self.run_id = rehearsal, workflow, event, run_id
        repo = rehearsal.repo
        self.root = rehearsal.root / "runs" / str(run_id)
        self.artifacts = self.root / "artifacts"
        self.artifacts.mkdir(parents=True)
        self.event_path = self.root / "event.json"
        self.event_path.write_text(json.dumps(event.payload, indent=2), encoding="utf-8")
        self.results: dict[str, JobResult] = {}
        self.inputs = self.dispatch_inputs(workflow, event)
        ref_name = event.ref.removeprefix("refs/heads/").removeprefix("refs/tags/").removeprefix("refs/pull/")
        self.github = {
            "event_name": event.name,
            "event": event.payload,
            "event_path": str(self.event_path),
            "ref": event.ref,
            "ref_name": ref_name,
            "ref_type": "tag" if event.ref.startswith("refs/tags/") else "branch",
            "ref_protected": False,
            "sha": event.sha,
            "head_ref": event.head_ref,
            "base_ref": event.base_ref,
            "repository": repo.full_name,
            "repository_owner": repo.owner,
            "repository_id": "123456789",
            "repository_owner_id": "9919",
            "actor": "octocat",
            "actor_id": "583231",
            "triggering_actor": "octocat",
            "workflow": workflow.get("name") or f".github/workflows/{workflow_file}",
            "workflow_ref": f"{repo.full_name}/.github/workflows/{workflow_file}@{event.ref}",
            "workflow_sha": event.sha,
            "run_id": str(run_id),
            "run_number": str(run_id),
            "run_attempt": "1",
            "retention_days": "90",
            "server_url": SERVER_URL,
            "api_url": "https://api.github.com",
            "graphql_url": "https://api.github.com/graphql",
            "secret_source": "None" if event.fork else "Actions",
        }

    @staticmethod
    def dispatch_inputs(workflow: dict, event: Event) -> dict[str, Any]:
        if event.name != "workflow_dispatch":
            return {}
        declared = triggers(workflow)["workflow_dispatch"].get("inputs") or {}
        unknown = set(event.inputs) - set(declared)
        if unknown:
            raise NotRehearsable(f"inputs not declared by the workflow: {sorted(unknown)}")
        inputs = {}
        for name, spec in declared.items():
            value = event.inputs.get(name, spec.get("default"))
            if spec.get("required") and value in (None, ""):
                raise NotRehearsable(f"required input {name!r} not given")
            if spec.get("type") == "boolean":
                value = str(value).lower() == "true" if value is not None else False
            elif spec.get("type") == "number" and value not in (None, ""):
                value = float(value) if "." in str(value) else int(value)
            elif spec.get("type") == "choice" and value not in spec.get("options", []):
                raise NotRehearsable(f"input {name!r}: {value!r} is not one of {spec.get('options')}")
            inputs[name] = "" if value is None else value
        return inputs

    def needs_of(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            need: {"result": self.results[need].result, "outputs": self.results[need].outputs}
            for need in as_list(spec.get("needs"))
        }

    def ancestors(self, job_id: str) -> set[str]:
        jobs = self.workflow["jobs"]
        found, todo = set(), list(as_list(jobs[job_id].get("needs")))
        while todo:
            need = todo.pop()
            if need not in found:
                found.add(need)
                todo.extend(as_list(jobs[need].get("needs")))
        return found


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow.get("on")
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {name: {} for name in on}
    return {name: (spec or {}) for name, spec in (on or {}).items()}


def handles(workflow: dict[str, Any], event: Event) -> bool:
    """Whether the workflow's `on:` starts a run for this event (branch filters and types included)."""
    from fnmatch import fnmatchcase

    spec = triggers(workflow).get(event.name)
    if spec is None:
        return False
    if event.name == "push":
        branch = event.ref.removeprefix("refs/heads/")
        if "branches" in spec:
            return any(fnmatchcase(branch, pattern) for pattern in spec["branches"])
        if "branches-ignore" in spec:
            return not any(fnmatchcase(branch, pattern) for pattern in spec["branches-ignore"])
        return "tags" not in spec
    if event.name == "pull_request":
        action = event.payload["action"]
        if action not in spec.get("types", ["opened", "synchronize", "reopened"]):
            return False
        base = event.base_ref
        return not spec.get("branches") or any(fnmatchcase(base, pattern) for pattern in spec["branches"])
    if event.name == "schedule":
        return any(entry.get("cron") == event.payload["schedule"] for entry in spec)
    return True


class Rehearsal:
    """Runs workflows of one repository; keeps the API state and caches across runs."""

    def __init__(self, repo: Repository, root: Path, host: Host) -> None:
        self.repo, self.root, self.host = repo, root, host
        root.mkdir(parents=True, exist_ok=True)
        self.state = GitHubState(root / "github-state.json", repo.full_name)
        self.expressions = Expressions(host.node)
        self.run_ids = itertools.count(7000)
        self.bin = root / "bin"
        self.bin.mkdir(exist_ok=True)
        gh = self.bin / "gh"
        gh.write_text(
            "#!/bin/sh\n"
            f"exec '{sys.executable}' '{Path(__file__).with_name('gh.py')}' --state '{self.state.path}' "
            f"--origin '{repo.origin}' --default-branch '{repo.default_branch}' -- \"$@\"\n",
            encoding="utf-8",
        )
        gh.chmod(0o755)
        hook = repo.origin / "hooks" / "pre-receive"
        hook.write_text(
            f"#!/bin/sh\nexec '{sys.executable}' '{Path(__file__).with_name('receive.py')}' '{self.state.path}'\n",
            encoding="utf-8",
        )
        hook.chmod(0o755)

    def close(self) -> None:
        self.expressions.close()

    def workflow(self, name: str, sha: str) -> dict[str, Any]:
        """The workflow file as it is at the event's commit (GitHub reads it from there)."""
        return load_yaml(git(self.repo.origin, "show", f"{sha}:.github/workflows/{name}"))

    def run(self, workflow_file: str, event: Event) -> RunResult:
        workflow = self.workflow(workflow_file, event.sha)
        if not handles(workflow, event):
            raise NotRehearsable(f"{workflow_file} does not run on this {event.name} event")
        run = RunState(self, workflow_file, workflow, event, next(self.run_ids))
        vars_ = {} if event.fork else dict(self.repo.variables)
        secrets = {} if event.fork else dict(self.repo.secrets)
        base_contexts = {"github": run.github, "secrets": {**secrets}, "inputs": run.inputs, "vars": vars_}
        workflow_env = {
            key: self.expressions.render_string(value, base_contexts)
            for key, value in (workflow.get("env") or {}).items()
        }
        for job_id in self.order(workflow["jobs"]):
            run.results[job_id] = self.run_job(run, job_id, workflow, workflow_env, vars_, secrets)
        return RunResult(workflow_file, event, run.run_id, run.results, run.artifacts)

    @staticmethod
    def order(jobs: dict[str, Any]) -> list[str]:
        done: list[str] = []
        while len(done) < len(jobs):
            ready = [j for j in jobs if j not in done and set(as_list(jobs[j].get("needs"))) <= set(done)]
            if not ready:
                raise NotRehearsable(f"jobs with unknown or circular needs: {sorted(set(jobs) - set(done))}")
            done.append(ready[0])
        return done

    def run_job(self, run: RunState, job_id: str, workflow, workflow_env, vars_, secrets) -> JobResult:
        spec = workflow["jobs"][job_id]
        unknown = set(spec) - JOB_KEYS
        if unknown:
            raise NotRehearsable(f"job {job_id}: keys not modelled: {sorted(unknown)}")
        ancestors = run.ancestors(job_id)
        ancestor_failed = any(run.results[a].result == "failure" for a in ancestors)
        ancestor_ok = all(run.results[a].result == "success" for a in ancestors)
        job = JobRun(self, run, job_id, spec)
        job.vars, job.secrets = dict(vars_), dict(secrets)
        status = {"success": ancestor_ok, "failure": ancestor_failed, "cancelled": False}
        if not self.expressions.condition(spec.get("if"), job.contexts(AT_JOB_IF), status):
            return JobResult(job_id, "skipped")
        if "strategy" not in spec:
            return self.run_instance(job, workflow, workflow_env)
        # A matrix: one job per combination, run one after another here (GitHub may run them at
        # once); the job's result is failure if any of them failed, as `needs` sees it.
        combinations, strategy = self.matrix(job_id, spec, job.contexts(AT_JOB_IF))
        instances = []
        for index, combination in enumerate(combinations):
            context = {**strategy, "job-index": index, "job-total": len(combinations)}
            instance = JobRun(self, run, job_id, spec, combination, context, index)
            instance.vars, instance.secrets = dict(vars_), dict(secrets)
            instances.append(self.run_instance(instance, workflow, workflow_env))
            if instances[-1].result == "failure" and strategy["fail-fast"]:
                break
        failed = any(instance.result == "failure" for instance in instances)
        outputs = {key: value for instance in instances for key, value in instance.outputs.items() if value}
        return JobResult(job_id, "failure" if failed else "success", outputs, instances=instances)

    def matrix(self, job_id: str, spec: dict[str, Any], contexts: dict[str, Any]) -> tuple[list[dict], dict]:
        """The combinations of a job's matrix (lists of values, no include or exclude) and its strategy context."""
        strategy = spec["strategy"]
        unknown = set(strategy) - STRATEGY_KEYS
        matrix = strategy.get("matrix")
        if unknown or not isinstance(matrix, dict) or not matrix or {"include", "exclude"} & set(matrix):
            raise NotRehearsable(f"job {job_id}: strategy {strategy!r}: only a matrix of lists is modelled")
        values = {key: self.expressions.render(value, contexts) for key, value in matrix.items()}
        for key, value in values.items():
            if not isinstance(value, list) or not value:
                raise NotRehearsable(f"job {job_id}: matrix.{key} is {value!r}; GitHub needs a non-empty list")
        combinations = [dict(zip(values, chosen, strict=True)) for chosen in itertools.product(*values.values())]
        if len(combinations) > 256:
            raise NotRehearsable(f"job {job_id}: {len(combinations)} combinations; GitHub allows 256")
        fail_fast = strategy.get("fail-fast", True)
        fail_fast = fail_fast if isinstance(fail_fast, bool) else str(fail_fast).lower() == "true"
        return combinations, {"fail-fast": fail_fast, "max-parallel": strategy.get("max-parallel", len(combinations))}

    def run_instance(self, job: JobRun, workflow: dict[str, Any], workflow_env: dict[str, str]) -> JobResult:
        """Run one job (or one combination of a matrix) whose `if:` allowed it to start."""
        run, job_id, spec = job.run, job.id, job.spec
        job.env = dict(workflow_env)
        if "timeout-minutes" not in spec:
            raise NotRehearsable(f"job {job_id}: no timeout-minutes (the default is six hours)")
        settings = job.contexts(AT_JOB_SETTING)
        # The label picks a machine on GitHub; here every job runs on this host, an ubuntu stand-in,
        # so only the value is checked and kept: a label, or a list of labels, never empty.
        runs_on = self.expressions.render(spec.get("runs-on"), settings)
        labels = [runs_on] if isinstance(runs_on, str) else runs_on
        if not (isinstance(labels, list) and labels and all(isinstance(x, str) and x.strip() for x in labels)):
            raise NotRehearsable(f"job {job_id}: runs-on {spec.get('runs-on')!r} gives {runs_on!r}, not a runner label")
        environment = self.expressions.render(spec.get("environment"), settings)
        if isinstance(environment, dict):
            environment = environment.get("name")
        if environment:
            job.environment = environment
            configured = self.repo.environments.get(environment)
            branch = run.event.head_ref or run.github["ref_name"]
            if configured is not None and configured.branches is not None and branch not in configured.branches:
                job.results.append(StepResult("__setup", "Set up job", "failure", "failure", log=(
                    f'Branch "{branch}" is not allowed to deploy to {environment} due to environment protection rules.'
                )))  # fmt: skip
                job.failed = True
                configured = None
            if configured is not None and not run.event.fork:
                job.vars.update(configured.variables)
                job.secrets.update(configured.secrets)
            data = self.state.load()  # what `gh api .../environments` answers
            data["environments"] = {name: {"branches": env.branches} for name, env in self.repo.environments.items()}
            self.state.save(data)
        concurrency = spec.get("concurrency")
        if concurrency is not None:
            concurrency = {
                "group": self.expressions.render_string(concurrency.get("group"), settings),
                "cancel-in-progress": self.expressions.render(concurrency.get("cancel-in-progress", False), settings),
            }
        job.permissions = permissions_of(spec.get("permissions", workflow.get("permissions")), run.event.fork)
        self.state.grant(job.token, job.permissions, job_id)
        job.deadline = time.monotonic() + float(self.expressions.render(spec["timeout-minutes"], settings)) * 60
        for key, value in (spec.get("env") or {}).items():
            job.env[key] = self.expressions.render_string(value, job.contexts(AT_JOB_ENV, env=dict(job.env)))
        try:
            self.check_pins(spec.get("steps") or [])
            job.run_steps(spec.get("steps") or [], Scope(job))
        except StepFailure as error:
            job.results.append(StepResult("__setup", "Set up job", "failure", "failure", log=str(error)))
            job.failed = True
        outputs = {}
        for name, value in (spec.get("outputs") or {}).items():
            outputs[name] = self.expressions.render_string(value, job.contexts(AT_JOB_OUTPUTS))
        result = "failure" if job.failed and not spec.get("continue-on-error") else "success"
        return JobResult(
            job_id, result, outputs, job.results, "".join(job.summary), job.permissions, environment, concurrency,
            runs_on, matrix=job.matrix,
        )  # fmt: skip

    @staticmethod
    def check_pins(steps: list[dict[str, Any]]) -> None:
        """GitHub resolves every action of a job before its first step: an unknown pin fails the job."""
        for step in steps:
            uses = step.get("uses")
            if not uses or uses.startswith("./") or "${{" in uses:
                continue
            action, _, ref = uses.partition("@")
            if PINS.get(action, {}).get("sha") != ref:
                raise StepFailure(f"Unable to resolve action `{uses}`: not a verified pin (harness/actions/pins.json)")
