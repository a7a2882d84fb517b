"""Proposing a branch as a pull request: commit and bundle, then push and open or update, each failure one line."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.loop import propose

PACKAGE = "{{ cookiecutter.package_name }}"
# A stand-in for gh: answers `pr list` from $GH_STATE and records every call, as GitHub would be asked.
FAKE_GH = """#!PYTHON
import json, os, sys
state_path = os.environ["GH_STATE"]
state = json.load(open(state_path))
args = sys.argv[1:]
state["calls"].append(args)
if args[:2] == ["pr", "list"]:
    assert args[args.index("--jq") + 1] == "map(select(.isCrossRepository | not)) | .[0].number"
    own = [pull for pull in state["pulls"] if pull["head"] == args[args.index("--head") + 1] and not pull["fork"]]
    print(own[0]["number"] if own else "null")
elif args[:2] == ["pr", "create"]:
    number = len(state["pulls"]) + 1
    state["pulls"].append(dict(number=number, head=args[args.index("--head") + 1], fork=False))
    print(f"https://github.com/o/r/pull/{number}")
elif args[:2] == ["pr", "edit"]:
    print(f"https://github.com/o/r/pull/{args[2]}")
elif args[:2] == ["auth", "git-credential"]:
    pass
else:
    print("not modelled: " + " ".join(args), file=sys.stderr)
    sys.exit(1)
json.dump(state, open(state_path, "w"))
"""


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clone with one commit, its origin a local bare repository, and gh a stand-in on PATH."""
    origin, clone, tools = tmp_path / "origin.git", tmp_path / "clone", tmp_path / "bin"
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(origin)], check=True)
    subprocess.run(["git", "clone", "--quiet", str(origin), str(clone)], check=True, capture_output=True)
    for key, value in {"user.name": "Test", "user.email": "test@example.com", "commit.gpgsign": "false"}.items():
        git("config", key, value, cwd=clone)
    (clone / "params.yaml").write_text("a: 1\n", encoding="utf-8")
    (clone / "notes.txt").write_text("kept\n", encoding="utf-8")
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", "first", cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)
    tools.mkdir()
    fake = tools / "gh"
    fake.write_text(FAKE_GH.replace("PYTHON", sys.executable, 1), encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    state = tmp_path / "gh.json"
    state.write_text(json.dumps({"calls": [], "pulls": []}), encoding="utf-8")
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GH_STATE", str(state))
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.chdir(clone)
    return clone


def gh_state(clone: Path) -> dict:
    return json.loads(Path(os.environ["GH_STATE"]).read_text(encoding="utf-8"))


def test_commit_bundles_only_the_named_paths_then_publish_opens_one_pull_request_and_updates_it(
    repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repository / "params.yaml").write_text("a: 2\n", encoding="utf-8")
    (repository / "notes.txt").write_text("an edit that is not part of the proposal\n", encoding="utf-8")
    bundle, body = repository / "out" / "b.bundle", repository / "out" / "body.md"
    propose.commit("tune", "Tune a", bundle, ["params.yaml"])
    git("switch", "--quiet", "main", cwd=repository)  # publish runs in another job, on a fresh checkout of main
    assert git("show", "--name-only", "--format=%s", "tune", cwd=repository).split() == ["Tune", "a", "params.yaml"]
    body.write_text("Why: a is better at 2.\n", encoding="utf-8")
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))

    assert (
        propose.main(["publish", "--branch", "tune", "--bundle", str(bundle), "--title", "Tuned", "--body", str(body)])
        == 0
    )
    assert git("--git-dir", str(tmp_path / "origin.git"), "show", "tune:params.yaml", cwd=tmp_path) == "a: 2"
    assert outputs.read_text(encoding="utf-8") == "pull=https://github.com/o/r/pull/1\n"
    assert (
        propose.main(["publish", "--branch", "tune", "--bundle", str(bundle), "--title", "Tuned", "--body", str(body)])
        == 0
    )
    calls = [call[:2] for call in gh_state(repository)["calls"] if call[0] == "pr"]
    assert calls == [["pr", "list"], ["pr", "create"], ["pr", "list"], ["pr", "edit"]]
    assert len(gh_state(repository)["pulls"]) == 1


def test_a_forks_pull_request_of_the_same_branch_is_never_edited(repository: Path) -> None:
    state_path = Path(os.environ["GH_STATE"])
    state_path.write_text(json.dumps({"calls": [], "pulls": [{"number": 7, "head": "tune", "fork": True}]}))
    (repository / "params.yaml").write_text("a: 3\n", encoding="utf-8")
    bundle, body = repository / "b.bundle", repository / "body.md"
    body.write_text("text\n", encoding="utf-8")
    propose.commit("tune", "Tune a", bundle, ["params.yaml"])
    git("switch", "--quiet", "main", cwd=repository)
    assert propose.publish("tune", bundle, "Tuned", body).endswith("/pull/2")
    assert ["pr", "edit", "7"] not in [call[:3] for call in gh_state(repository)["calls"]]


def test_nothing_changed_is_one_line_and_no_bundle(repository: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            PACKAGE,
            "propose",
            "commit",
            "--branch",
            "tune",
            "--message",
            "m",
            "--bundle",
            "x.bundle",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "error: nothing to propose on branch tune: no file changed\n"
    assert not (repository / "x.bundle").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--bundle", "missing.bundle"],
            "error: missing.bundle: no bundle; the job that commits the branch did not write one\n",
        ),
        (["--bundle", "notes.txt"], "error: reading notes.txt: "),
    ],
)
def test_publish_without_a_usable_bundle_is_one_line_and_pushes_nothing(
    repository: Path, tmp_path: Path, arguments: list[str], message: str
) -> None:
    (repository / "body.md").write_text("text\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", PACKAGE, "propose", "publish", "--branch", "tune", "--title", "T", "--body", "body.md",
         *arguments],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not git("--git-dir", str(tmp_path / "origin.git"), "branch", "--list", "tune", cwd=tmp_path)
    assert gh_state(repository)["calls"] == []


def test_a_refused_push_is_one_line_and_opens_no_pull_request(repository: Path, tmp_path: Path) -> None:
    (repository / "params.yaml").write_text("a: 4\n", encoding="utf-8")
    bundle, body = repository / "b.bundle", repository / "body.md"
    body.write_text("text\n", encoding="utf-8")
    propose.commit("tune", "Tune a", bundle, ["params.yaml"])
    git("switch", "--quiet", "main", cwd=repository)
    hook = tmp_path / "origin.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    with pytest.raises(propose.GitError, match=r"^pushing branch tune: .*pre-receive hook declined"):
        propose.publish("tune", bundle, "Tuned", body)
    assert [call for call in gh_state(repository)["calls"] if call[0] == "pr"] == []


def test_propose_needs_only_the_standard_library(repository: Path) -> None:
    """The publishing jobs install nothing: the command runs from src/ on the runner's Python."""
    source = Path(propose.__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-S", "-m", PACKAGE, "propose", "publish", "--help"],
        env={**os.environ, "PYTHONPATH": str(source)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--bundle" in done.stdout


def test_publish_without_gh_is_one_line_and_pushes_nothing(
    repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repository / "params.yaml").write_text("a: 5\n", encoding="utf-8")
    bundle, body = repository / "b.bundle", repository / "body.md"
    body.write_text("text\n", encoding="utf-8")
    propose.commit("tune", "Tune a", bundle, ["params.yaml"])
    git("switch", "--quiet", "main", cwd=repository)
    monkeypatch.setattr(propose.shutil, "which", lambda name: None)
    with pytest.raises(propose.ProposeError, match=r"^GitHub's gh is not on PATH"):
        propose.publish("tune", bundle, "Tuned", body)
    assert not git("--git-dir", str(tmp_path / "origin.git"), "branch", "--list", "tune", cwd=tmp_path)
