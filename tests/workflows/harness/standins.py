"""Local stand-ins for the actions the workflows use, each faithful to its action.yml.

A stand-in gets the inputs the action would get (validated against its action.yml, defaults
applied) and does locally what the action does on GitHub, writing the same outputs, PATH
entries and variables. Options a stand-in does not model fail the step instead of being
ignored. What each one does differently from GitHub, and why that does not change what the
workflow sees:

- actions/checkout: clones the rehearsal's bare repository (file://) instead of github.com,
  with the same refspecs, depth and detached/branch checkout; needs `contents: read`.
- actions/setup-python: puts an interpreter of the requested version found on the host on
  PATH (it cannot download one); fails if the host has none.
- astral-sh/setup-uv: puts the host's uv on PATH; its GitHub cache is a cache folder kept
  across rehearsals (warm, as a restored cache is), and it fails as the action does when the
  cache-dependency-glob matches nothing.
- actions/cache/restore, actions/cache/save: a local store with GitHub's key, restore-keys,
  version (paths) and branch-scope rules (a run reads its own ref's caches and the default
  branch's; a pull request's saves stay in its ref).
- actions/upload-artifact, actions/download-artifact: a per-run store, with the action's
  search-path root, hidden-file, if-no-files-found and overwrite rules.
- actions/github-script: github-script.mjs, with a client that records REST calls (the git
  database calls write objects and refs into the stand-in repository).
- aws-actions/configure-aws-credentials: the OIDC login. It needs `id-token: write` as on
  GitHub, builds the token's subject the way GitHub does (`environment:`, `pull_request` or
  `ref:`), and asks the host's cloud (`Host.cloud`, a `Cloud`) for the role's credentials at
  the `sts-endpoint` given; the cloud checks the subject against the role's trust. It exports
  the same variables as the action.

The actions' post steps have nothing left to do here: setup-uv's cache save is the kept cache
folder itself, and checkout's credential cleanup has no credentials to remove.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Protocol

from .github import LEVELS, SERVER_URL, git
from .runner import Call, NotRehearsable, StepFailure

SCRIPT = Path(__file__).with_name("github-script.mjs")


def require(call: Call, token: str, scope: str, level: str) -> None:
    """Fail like the API does when the token the action uses lacks a permission."""
    if token != call.job.token:
        raise NotRehearsable(f"{call.action}: only the job's GITHUB_TOKEN is modelled")
    if LEVELS[call.job.permissions.get(scope, "none")] < LEVELS[level]:
        raise StepFailure(f"{call.action}: the token has no `{scope}: {level}` (job permissions)")


def refuse(call: Call, **defaults: str) -> None:
    """Refuse inputs the stand-in does not model when they are not at their default."""
    for name, default in defaults.items():
        if call.inputs.get(name, default).strip().lower() != default:
            raise NotRehearsable(f"{call.action}: input {name}={call.inputs[name]!r} is not modelled")


# --- actions/checkout ---------------------------------------------------------------------------
def checkout(call: Call) -> None:
    inputs, job = call.inputs, call.job
    repo, event = job.rehearsal.repo, job.run.event
    require(call, inputs["token"], "contents", "read")
    refuse(call, **{"ssh-key": "", "lfs": "false", "submodules": "false", "sparse-checkout": "", "filter": ""})
    if inputs["repository"] != repo.full_name:
        raise NotRehearsable("checking out another repository is not modelled")
    dest = (job.workspace / inputs["path"]).resolve() if inputs["path"] else job.workspace
    dest.mkdir(parents=True, exist_ok=True)
    ref, sha = event.ref, event.sha
    if inputs["ref"]:
        ref, sha = inputs["ref"], git(repo.origin, "rev-parse", inputs["ref"])
    if not ref.startswith("refs/") and ref != sha:
        ref = f"refs/heads/{ref}"
    depth = int(inputs["fetch-depth"] or "1")
    if ref.startswith("refs/heads/"):
        target = f"refs/remotes/origin/{ref.removeprefix('refs/heads/')}"
    elif ref.startswith("refs/pull/"):
        target = f"refs/remotes/pull/{ref.removeprefix('refs/pull/')}"
    else:
        target = ref if ref.startswith("refs/tags/") else None
    env = {**call.env, "GIT_TERMINAL_PROMPT": "0"}

    def run(*args: str) -> None:
        call.log.append(git(dest, *args, env=env))

    run("init", "--quiet")
    run("remote", "add", "origin", f"file://{repo.origin}")
    if depth == 0:
        run("fetch", "--quiet", "--prune", "--no-recurse-submodules", "origin",
            "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")  # fmt: skip
        if target and not target.startswith("refs/remotes/origin/"):
            run("fetch", "--quiet", "origin", f"+{sha}:{target}")
    else:
        run("fetch", "--quiet", "--no-tags", "--prune", "--no-recurse-submodules", f"--depth={depth}", "origin",
            f"+{sha}:{target or 'refs/remotes/origin/HEAD'}")  # fmt: skip
    if ref.startswith("refs/heads/"):
        run("checkout", "--quiet", "--force", "-B", ref.removeprefix("refs/heads/"), target)
    else:
        run("checkout", "--quiet", "--force", "--detach", sha)
    if inputs["persist-credentials"].lower() == "true":
        run("config", "--local", "http.https://github.com/.extraheader", "AUTHORIZATION: basic ***")
    call.set_output("ref", ref)
    call.set_output("commit", sha)


# --- actions/setup-python -------------------------------------------------------------------------
def setup_python(call: Call) -> None:
    inputs, job = call.inputs, call.job
    refuse(call, cache="", freethreaded="false", **{"allow-prereleases": "false", "pip-version": ""})
    if inputs["architecture"] not in ("", "x64"):
        raise NotRehearsable(f"architecture {inputs['architecture']} is not modelled")
    version = inputs["python-version"].strip()
    if not version:
        version_file = job.workspace / (inputs["python-version-file"] or ".python-version")
        if not version_file.is_file():
            raise StepFailure("The `python-version` input is not set and no .python-version file was found")
        version = version_file.read_text(encoding="utf-8").split()[0]
    found = job.rehearsal.host.python(version)
    if found is None:
        raise StepFailure(f"Version {version} was not found: the rehearsal host has no Python {version}")
    interpreter, full = found
    root = job.tool_cache / "Python" / full / "x64"
    bin_dir = root / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    minor = ".".join(full.split(".")[:2])
    for name in ("python", "python3", f"python{minor}"):
        (bin_dir / name).unlink(missing_ok=True)
        (bin_dir / name).symlink_to(interpreter)
    if inputs["update-environment"].lower() == "true":
        for name in ("pythonLocation", "Python_ROOT_DIR", "Python2_ROOT_DIR", "Python3_ROOT_DIR"):
            call.export(name, str(root))
        call.export("PKG_CONFIG_PATH", str(root / "lib" / "pkgconfig"))
        call.add_path(bin_dir)
    call.set_output("python-version", full)
    call.set_output("python-path", str(bin_dir / "python"))


# --- astral-sh/setup-uv ---------------------------------------------------------------------------
def setup_uv(call: Call) -> None:
    inputs, job = call.inputs, call.job
    host = job.rehearsal.host
    refuse(call, **{"activate-environment": "false", "cache-python": "false", "restore-cache": "true"})
    version = subprocess.run([str(host.uv), "--version"], capture_output=True, text=True, check=True).stdout.split()[1]
    wanted = inputs["version"].strip()
    if wanted not in ("", "latest") and not version.startswith(wanted):
        raise StepFailure(f"uv {wanted} requested; the rehearsal host has uv {version}")
    bin_dir = job.tool_cache / "uv" / version / "x86_64"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in ("uv", "uvx"):
        source = host.uv.with_name(tool)
        if source.exists():
            (bin_dir / tool).unlink(missing_ok=True)
            (bin_dir / tool).symlink_to(source)
    call.add_path(bin_dir)
    if inputs["python-version"]:
        call.export("UV_PYTHON", inputs["python-version"])
    enabled = inputs["enable-cache"].lower() in ("true", "auto")
    if enabled:
        workdir = Path(inputs["working-directory"] or job.workspace)
        patterns = [line.strip() for line in inputs["cache-dependency-glob"].splitlines() if line.strip()]
        matched = [path for pattern in patterns for path in glob.glob(str(workdir / pattern), recursive=True)]
        if patterns and not matched and inputs["ignore-nothing-to-cache"].lower() != "true":
            raise StepFailure(f"No file matched to [{', '.join(patterns)}]. The cache will never get invalidated.")
        digest = hashlib.sha256()
        for path in sorted(matched):
            digest.update(Path(path).read_bytes())
        host.uv_cache.mkdir(parents=True, exist_ok=True)
        call.export("UV_CACHE_DIR", str(host.uv_cache))
        call.set_output("cache-key", f"setup-uv-1-x86_64-unknown-linux-gnu-{digest.hexdigest()}")
        call.set_output("cache-hit", "true" if any(host.uv_cache.iterdir()) else "false")
    call.set_output("uv-version", version)
    call.set_output("uv-path", str(bin_dir / "uv"))
    call.set_output("uvx-path", str(bin_dir / "uvx"))


# --- actions/cache/restore and actions/cache/save ---------------------------------------------------
def cache_paths(call: Call) -> list[str]:
    return [line.strip() for line in call.inputs["path"].splitlines() if line.strip()]


def cache_version(paths: list[str], cross_os: bool) -> str:
    return hashlib.sha256("|".join([*paths, "gzip", str(cross_os).lower()]).encode()).hexdigest()


def cache_scopes(call: Call) -> list[str]:
    event, repo = call.job.run.event, call.job.rehearsal.repo
    return list(dict.fromkeys([event.ref, *([f"refs/heads/{event.base_ref}"] if event.base_ref else []),
                               f"refs/heads/{repo.default_branch}"]))  # fmt: skip


def cache_index(call: Call) -> tuple[Path, list[dict]]:
    index = call.job.rehearsal.host.actions_cache / call.job.rehearsal.repo.full_name / "index.json"
    index.parent.mkdir(parents=True, exist_ok=True)
    return index, json.loads(index.read_text(encoding="utf-8")) if index.exists() else []


def cache_restore(call: Call) -> None:
    inputs, job = call.inputs, call.job
    paths, key = cache_paths(call), inputs["key"]
    version = cache_version(paths, call.flag("enableCrossOsArchive"))
    _, entries = cache_index(call)
    restore_keys = [line.strip() for line in inputs["restore-keys"].splitlines() if line.strip()]
    match = None
    for scope in cache_scopes(call):
        candidates = [e for e in entries if e["scope"] == scope and e["version"] == version]
        exact = [e for e in candidates if e["key"] == key]
        if exact:
            match = exact[0]
            break
        for prefix in restore_keys:
            prefixed = sorted((e for e in candidates if e["key"].startswith(prefix)), key=lambda e: -e["created"])
            if prefixed:
                match = prefixed[0]
                break
        if match:
            break
    call.set_output("cache-primary-key", key)
    if match is None:
        if call.flag("fail-on-cache-miss"):
            raise StepFailure(f"Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {key}")
        call.log.append(f"Cache not found for input keys: {', '.join([key, *restore_keys])}")
        return
    if not call.flag("lookup-only"):
        with tarfile.open(match["archive"]) as archive:
            archive.extractall(job.workspace, filter="tar")
    call.set_output("cache-hit", "true" if match["key"] == key else "false")
    call.set_output("cache-matched-key", match["key"])
    call.log.append(f"Cache restored from key: {match['key']}")


def cache_save(call: Call) -> None:
    inputs, job = call.inputs, call.job
    paths, key = cache_paths(call), inputs["key"]
    version = cache_version(paths, call.flag("enableCrossOsArchive"))
    scope = job.run.event.ref
    index, entries = cache_index(call)
    if any(e["key"] == key and e["version"] == version and e["scope"] == scope for e in entries):
        call.log.append(f"::warning::Failed to save: Unable to reserve cache with key {key}, another job may be "
                        "creating this cache.")  # fmt: skip
        return
    existing = [path for path in paths if (job.workspace / path).exists()]
    if not existing:
        call.log.append("::warning::Path Validation Error: Path(s) specified in the action for caching do(es) not "
                        "exist, hence no cache is being saved.")  # fmt: skip
        return
    archive = index.parent / f"{hashlib.sha256(f'{scope}|{key}|{version}'.encode()).hexdigest()}.tar"
    with tarfile.open(archive, "w") as tar:
        for path in existing:
            tar.add(job.workspace / path, arcname=path)
    entries.append({"key": key, "version": version, "scope": scope, "archive": str(archive), "created": time.time()})
    index.write_text(json.dumps(entries, indent=2), encoding="utf-8")
    call.log.append(f"Cache saved with key: {key}")


# --- actions/upload-artifact and actions/download-artifact ------------------------------------------
GLOB_CHARS = set("*?[")


def search_path(workspace: Path, pattern: str) -> Path:
    """The part of a pattern before its first glob segment, as @actions/glob reports it."""
    parts = []
    for part in Path(pattern).parts:
        if GLOB_CHARS & set(part):
            break
        parts.append(part)
    return (workspace / Path(*parts)) if parts else workspace


def upload_artifact(call: Call) -> None:
    inputs, job = call.inputs, call.job
    run = job.run
    if inputs["archive"].lower() != "true":
        raise NotRehearsable("archive: false is not modelled")
    name = inputs["name"]
    if inputs["retention-days"] and not 1 <= int(inputs["retention-days"]) <= 90:
        raise StepFailure("retention-days must be between 1 and 90")
    lines = [line.strip() for line in inputs["path"].splitlines() if line.strip()]
    includes = [os.path.expanduser(line) for line in lines if not line.startswith("!")]
    excludes = [os.path.expanduser(line[1:]) for line in lines if line.startswith("!")]
    roots = [search_path(job.workspace, pattern) for pattern in includes]
    files: set[Path] = set()
    for pattern in includes:
        for match in glob.glob(str(job.workspace / pattern), recursive=True, include_hidden=True):
            path = Path(match)
            if path.is_dir():
                files.update(p for p in path.rglob("*") if p.is_file())
            else:
                files.add(path)
    excluded = {Path(m) for pattern in excludes for m in glob.glob(str(job.workspace / pattern), recursive=True)}
    files = {f for f in files if not any(f == e or e in f.parents for e in excluded)}
    if len(roots) == 1 and len(files) == 1 and roots[0] in files:
        root = roots[0].parent
    else:
        root = Path(os.path.commonpath(roots)) if roots else job.workspace
    if not call.flag("include-hidden-files"):
        files = {f for f in files if not any(part.startswith(".") for part in f.relative_to(root).parts)}
    if not files:
        message = f"No files were found with the provided path: {inputs['path'].strip()}. No artifact uploaded."
        if inputs["if-no-files-found"] == "error":
            raise StepFailure(message)
        if inputs["if-no-files-found"] == "warn":
            call.log.append(f"::warning::{message}")
        return
    store = run.artifacts / name
    if store.exists():
        if not call.flag("overwrite"):
            raise StepFailure(f"Failed to CreateArtifact: an artifact with this name already exists: {name}")
        shutil.rmtree(store)
    digest = hashlib.sha256()
    for path in sorted(files):
        relative = path.relative_to(root)
        (store / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, store / relative)
        digest.update(str(relative).encode() + path.read_bytes())
    artifact_id = len(list(run.artifacts.iterdir()))
    repo = job.rehearsal.repo.full_name
    call.set_output("artifact-id", str(artifact_id))
    call.set_output("artifact-url", f"{SERVER_URL}/{repo}/actions/runs/{run.run_id}/artifacts/{artifact_id}")
    call.set_output("artifact-digest", digest.hexdigest())
    call.log.append(f"Artifact {name} uploaded: {len(files)} file(s)")


def download_artifact(call: Call) -> None:
    inputs, job = call.inputs, call.job
    run = job.run
    if inputs["github-token"] or inputs["artifact-ids"] or inputs["run-id"] != job.run.github["run_id"]:
        raise NotRehearsable("downloading artifacts of another run is not modelled")
    dest = Path(os.path.expanduser(inputs["path"])) if inputs["path"] else job.workspace
    dest = dest if dest.is_absolute() else job.workspace / dest
    if inputs["name"]:
        source = run.artifacts / inputs["name"]
        if not source.is_dir():
            raise StepFailure(f"Unable to download artifact(s): Artifact not found for name: {inputs['name']}")
        shutil.copytree(source, dest, dirs_exist_ok=True)
    else:
        pattern = inputs["pattern"] or "*"
        for source in sorted(run.artifacts.glob(pattern)):
            target = dest if call.flag("merge-multiple") else dest / source.name
            shutil.copytree(source, target, dirs_exist_ok=True)
    call.set_output("download-path", str(dest))


# --- actions/github-script --------------------------------------------------------------------------
def github_script(call: Call) -> None:
    job = call.job
    found = subprocess.run(
        [job.rehearsal.host.node, str(SCRIPT), str(job.rehearsal.state.path), str(job.rehearsal.repo.origin)],
        cwd=job.workspace,
        env=call.env,
        capture_output=True,
        text=True,
        timeout=max(job.deadline - time.monotonic(), 1),
        check=False,
    )
    call.log.append(found.stdout + found.stderr)
    if found.returncode != 0:
        raise StepFailure("github-script failed (see its log)")


# --- aws-actions/configure-aws-credentials ----------------------------------------------------------
class Cloud(Protocol):
    """What an OIDC login reaches: an STS endpoint that trusts some subjects for some roles."""

    sts_endpoint: str

    def assume_role(self, role_arn: str, subject: str, audience: str) -> dict[str, str]:
        """Temporary credentials (AccessKeyId, SecretAccessKey, SessionToken) or StepFailure."""


def oidc_subject(job) -> str:
    """The `sub` claim of the job's OIDC token, in GitHub's default format."""
    repo, event = job.rehearsal.repo.full_name, job.run.event
    if job.environment:
        return f"repo:{repo}:environment:{job.environment}"
    if event.name == "pull_request":
        return f"repo:{repo}:pull_request"
    return f"repo:{repo}:ref:{event.ref}"


def configure_aws_credentials(call: Call) -> None:
    inputs, job = call.inputs, call.job
    refuse(call, **dict.fromkeys(("aws-access-key-id", "aws-secret-access-key", "aws-session-token",
                                  "web-identity-token-file", "aws-profile", "role-chaining"), ""))  # fmt: skip
    if not inputs["role-to-assume"]:
        raise NotRehearsable("only an OIDC login with role-to-assume is modelled")
    if not inputs["aws-region"]:
        raise StepFailure("Region is not valid: the aws-region input is required")
    if job.permissions.get("id-token") != "write":
        # Without the permission the runner gets no ACTIONS_ID_TOKEN_REQUEST_URL.
        raise StepFailure("Could not load credentials from any providers: the job has no `id-token: write` permission")
    cloud = job.rehearsal.host.cloud
    if cloud is None:
        raise NotRehearsable("an OIDC login needs Host.cloud")
    if inputs["sts-endpoint"] != cloud.sts_endpoint:
        raise NotRehearsable(f"sts-endpoint {inputs['sts-endpoint']!r}: only the host's cloud is reachable")
    credentials = cloud.assume_role(inputs["role-to-assume"], oidc_subject(job), inputs["audience"])
    region = inputs["aws-region"]
    exported = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    for name, value in exported.items():
        call.export(name, value)
    call.set_output("aws-account-id", inputs["role-to-assume"].split(":")[4])
    call.log.append(f"Authenticated as assumedRoleId {inputs['role-to-assume']}")


STANDINS = {
    "actions/checkout": checkout,
    "actions/setup-python": setup_python,
    "astral-sh/setup-uv": setup_uv,
    "actions/cache/restore": cache_restore,
    "actions/cache/save": cache_save,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "actions/github-script": github_script,
    "aws-actions/configure-aws-credentials": configure_aws_credentials,
}
