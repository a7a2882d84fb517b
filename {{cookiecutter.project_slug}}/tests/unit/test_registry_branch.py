"""The registry branch: the embedded registry published to, and fetched from, branch mlflow-registry.

Each test has a project folder that is a git repository with a bare `origin` beside it, and
registers tiny models into the project's own sqlite registry, as `make pipeline` does.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.loop import model_file, registry_branch, registry_store, registry_transport

NAME = "test-model"
BRANCH = registry_transport.BRANCH


def git(cwd: Path, *args: str) -> str:
    found = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return found.stdout.strip()


@pytest.fixture
def repository(project: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project folder as a git repository with params.yaml committed, and its bare origin."""
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(name, "Test")
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(name, "test@example.com")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", str(origin))
    root = project.root
    (root / ".gitignore").write_text("mlflow.db\nmlflow.db.lock\nmlruns/\n")
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "params.yaml", ".gitignore")
    git(root, "commit", "--quiet", "-m", "Project")
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "--quiet", "origin", "main")
    return origin


@pytest.fixture
def tiny_model(task: str) -> Callable[[], Any]:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    def make() -> Any:
        model = DummyClassifier() if task == "classification" else DummyRegressor()
        return model.fit([[0.0], [1.0], [2.0], [3.0]], [0, 1, 0, 1])

    return make


@pytest.fixture
def registered(client: Any, register_model: Callable, tiny_model: Callable, repository: Path) -> Any:
    """Two versions, champion v2 and previous-champion v1."""
    assert [register_model(tiny_model()) for _ in range(2)] == ["1", "2"]
    client.set_registered_model_alias(NAME, "champion", "2")
    client.set_registered_model_alias(NAME, "previous-champion", "1")
    return client


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # only what the command prints
    code = registry_branch.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def branch_file(origin: Path, path: str) -> str:
    return git(origin, "show", f"{BRANCH}:{path}")


def clone(origin: Path, where: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh clone of the project, made the working directory, with its own embedded registry."""
    git(where.parent, "clone", "--quiet", "-b", "main", str(origin), str(where))
    enter(where, monkeypatch)
    return where


def enter(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work in `folder` with its mlflow.db as the registry.

    The path is absolute: MLflow keeps one database engine per tracking URI in a process, so a
    relative URI would reach the first folder's file from every other folder.
    """
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{(folder / 'mlflow.db').as_posix()}")


def stored_versions(database: Path = Path("mlflow.db")) -> list[str]:
    """The versions in a registry file, read with sqlite itself (no engine MLflow may have cached)."""
    with sqlite3.connect(database) as connection:
        query = "SELECT version FROM model_versions WHERE name = ? AND current_stage != 'Deleted_Internal'"
        rows = connection.execute(query, (NAME,)).fetchall()
    connection.close()
    return sorted(str(row[0]) for row in rows)


def test_push_then_a_fresh_clone_pulls_and_loads_the_champion(
    registered: Any, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    code, out, err = run(capsys, "push")
    assert code == 0, err
    assert "champion v2, previous-champion v1" in out
    assert git(repository, "rev-list", "--count", BRANCH) == "1"  # one commit, no history
    manifest = json.loads(branch_file(repository, "registry.json"))
    assert manifest["aliases"] == {"champion": "2", "previous-champion": "1"}
    assert sorted(manifest["versions"]) == ["1", "2"]

    where = clone(repository, tmp_path / "clone", monkeypatch)
    code, out, err = run(capsys, "pull")
    assert code == 0, err
    assert f"fetched {BRANCH}" in out and "champion v2" in out
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{(where / 'mlflow.db').as_posix()}")
    assert str(mlflow.MlflowClient().get_model_version_by_alias(NAME, "champion").version) == "2"
    with sqlite3.connect(where / "mlflow.db") as connection:
        locations = [row[0] for row in connection.execute("SELECT storage_location FROM model_versions")]
    connection.close()
    assert all(Path(loc.removeprefix("file://")).is_relative_to(where) for loc in locations), locations
    champion = mlflow.MlflowClient().get_model_version_by_alias(NAME, "champion")
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{NAME}/2", dst_path=str(tmp_path / "download")))
    model = model_file.read_model(local, champion.tags[model_file.MODEL_SHA256], "the pulled champion")
    assert len(model.predict([[0.5], [1.5]])) == 2
    assert git(where, "status", "--porcelain") == ""  # nothing of the store shows up in git


def test_pull_without_a_branch_starts_empty(repository: Path, capsys) -> None:
    code, out, err = run(capsys, "pull")
    assert code == 0, err
    assert "does not exist" in out and "starts empty" in out
    assert not Path("mlflow.db").exists()


def test_pull_keeps_local_registrations_unless_forced(
    registered: Any, repository: Path, register_model: Callable, tiny_model: Callable, capsys
) -> None:
    assert run(capsys, "push")[0] == 0
    register_model(tiny_model())  # version 3, only here
    before = Path("mlflow.db").read_bytes()
    code, _, err = run(capsys, "pull")
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "changed since it was fetched" in err and "registry-push" in err and "FORCE=1" in err
    assert Path("mlflow.db").read_bytes() == before
    code, _, err = run(capsys, "pull", "--force")
    assert code == 0, err
    assert stored_versions() == ["1", "2"]


def test_a_push_from_a_stale_store_is_refused_and_the_branch_kept(
    registered: Any, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    first = tmp_path / "project"
    assert run(capsys, "push")[0] == 0
    clone(repository, tmp_path / "other", monkeypatch)
    assert run(capsys, "pull")[0] == 0
    assert run(capsys, "push")[0] == 0  # the branch moves on
    moved = git(repository, "rev-parse", BRANCH)
    enter(first, monkeypatch)
    code, _, err = run(capsys, "push")
    assert code == 2
    assert "run `make registry-pull` first" in err and err.count("\n") == 1
    assert git(repository, "rev-parse", BRANCH) == moved


def test_the_push_itself_carries_a_lease(
    registered: Any, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A writer that checked the branch just before another one pushed cannot overwrite it."""
    first = tmp_path / "project"
    assert run(capsys, "push")[0] == 0
    seen = git(repository, "rev-parse", BRANCH)
    clone(repository, tmp_path / "other", monkeypatch)
    assert run(capsys, "pull")[0] == 0
    assert run(capsys, "push")[0] == 0
    moved = git(repository, "rev-parse", BRANCH)
    enter(first, monkeypatch)
    # The check saw the old commit, and so did the fetch: only the push's lease is left to refuse.
    monkeypatch.setattr(registry_transport.Remote, "head", lambda self: seen)
    monkeypatch.setattr(registry_transport.Remote, "fetch", lambda self, commit: None)
    code, _, err = run(capsys, "push")
    assert code == 4
    assert "pushing mlflow-registry" in err and "Traceback" not in err
    assert git(repository, "rev-parse", BRANCH) == moved


def test_push_prunes_old_versions_without_an_alias(
    client: Any, register_model: Callable, tiny_model: Callable, repository: Path, capsys
) -> None:
    assert [register_model(tiny_model()) for _ in range(6)] == ["1", "2", "3", "4", "5", "6"]
    client.set_registered_model_alias(NAME, "champion", "6")
    client.set_registered_model_alias(NAME, "previous-champion", "1")
    with sqlite3.connect(Path("mlflow.db")) as connection:
        query = "SELECT storage_location FROM model_versions WHERE name = ? AND version IN (2, 3)"
        doomed = [row[0] for row in connection.execute(query, (NAME,))]
    connection.close()
    assert len(doomed) == 2
    code, out, err = run(capsys, "push", "--keep", "2")
    assert code == 0, err
    assert "pruned version(s) 2, 3 from the branch" in out
    assert json.loads(branch_file(repository, "registry.json"))["versions"] == ["1", "4", "5", "6"]
    stored = git(repository, "ls-tree", "-r", "--name-only", BRANCH).splitlines()
    assert not [path for path in stored if any(f"/{Path(loc).parent.name}/" in path for loc in doomed)]
    # Pruning happens in the published copy: the project's own store keeps everything until a pull.
    assert stored_versions() == ["1", "2", "3", "4", "5", "6"]
    assert all(Path(location.removeprefix("file://")).is_dir() for location in doomed)
    database = Path("published.db")
    database.write_bytes(subprocess.run(["git", "show", f"{BRANCH}:mlflow.db"], cwd=repository,
                                        capture_output=True, check=True).stdout)  # fmt: skip
    assert stored_versions(database) == ["1", "4", "5", "6"]


def test_a_push_without_the_model_files_is_refused(registered: Any, repository: Path, tmp_path: Path, capsys) -> None:
    assert run(capsys, "push")[0] == 0
    before = git(repository, "rev-parse", BRANCH)
    Path("mlruns").rename(tmp_path / "elsewhere")
    code, _, err = run(capsys, "push")
    assert code == 4
    assert "files are missing" in err and err.count("\n") == 1
    assert git(repository, "rev-parse", BRANCH) == before  # the models on the branch are kept


def model_files(client: Any, version: str) -> Path:
    from urllib.parse import urlparse

    return Path(urlparse(client.get_model_version_download_uri(NAME, version)).path)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda folder: (folder / "model.skops").unlink(), "the model file 'model.skops' is missing"),
        (lambda folder: (folder / "model.skops").write_bytes(b"PK\x03\x04"), "does not have the sha256 recorded"),
    ],
)
def test_a_push_is_refused_unless_every_model_file_is_the_one_registered(
    registered: Any, repository: Path, capsys, damage: Callable[[Path], None], expected: str
) -> None:
    assert run(capsys, "push")[0] == 0
    before = git(repository, "rev-parse", BRANCH)
    damage(model_files(registered, "2"))
    code, _, err = run(capsys, "push")
    assert code == 4 and expected in err and err.count("\n") == 1, err
    assert git(repository, "rev-parse", BRANCH) == before  # the branch keeps the published models


def hostile_branch(repository: Path, tmp_path: Path, change: Callable[[Path], None]) -> None:
    """Rewrite the published branch the way anyone who can push it could."""
    other = tmp_path / "attacker"
    git(tmp_path, "clone", "--quiet", "-b", BRANCH, str(repository), str(other))
    change(other)
    git(other, "add", "--all", "--force", ".")
    git(other, "commit", "--quiet", "-m", "Changed")
    git(other, "push", "--quiet", "origin", BRANCH)


def in_store(statement: str, *values: str) -> Callable[[Path], None]:
    """A change for hostile_branch: one SQL statement run on the branch's mlflow.db."""

    def change(checkout: Path) -> None:
        with sqlite3.connect(checkout / "mlflow.db") as connection:
            connection.execute(statement, values)
        connection.close()

    return change


def test_a_pull_refuses_a_store_that_would_write_outside_the_project(
    registered: Any, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(capsys, "push")[0] == 0
    elsewhere = in_store("UPDATE experiments SET artifact_location = ?", str(tmp_path / "outside"))
    hostile_branch(repository, tmp_path, elsewhere)
    clone(repository, tmp_path / "clone", monkeypatch)
    code, _, err = run(capsys, "pull")
    assert code == 4 and "experiments.artifact_location is" in err and "MLflow would write files there" in err
    assert err.count("\n") == 1 and not Path("mlflow.db").exists()


def test_a_pull_refuses_a_store_of_a_newer_mlflow_in_one_line(
    registered: Any, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(capsys, "push")[0] == 0
    hostile_branch(repository, tmp_path, in_store("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    clone(repository, tmp_path / "clone", monkeypatch)
    code, _, err = run(capsys, "pull")
    assert code == 4 and "MLflow schema 'f00dfeedbeef', unknown to this project's MLflow" in err
    assert err.count("\n") == 1 and not Path("mlflow.db").exists()


def test_a_pull_upgrades_a_store_of_an_older_mlflow(
    registered: Any, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(capsys, "push")[0] == 0

    def older(checkout: Path) -> None:  # one migration back, as the MLflow before this one left it
        from alembic import command
        from mlflow.store.db.utils import _get_alembic_config

        command.downgrade(_get_alembic_config(f"sqlite:///{(checkout / 'mlflow.db').as_posix()}"), "-1")

    hostile_branch(repository, tmp_path, older)
    clone(repository, tmp_path / "clone", monkeypatch)
    code, out, err = run(capsys, "pull")
    assert code == 0, err
    assert out.startswith("registry: mlflow.db of mlflow-registry upgraded from MLflow schema ") and "fetched" in out
    assert stored_versions() == ["1", "2"]


def test_a_pull_refuses_a_file_over_the_size_limit(
    registered: Any, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(capsys, "push")[0] == 0
    hostile_branch(repository, tmp_path, lambda checkout: (checkout / "padding.bin").write_bytes(b"0" * (6 << 20)))
    clone(repository, tmp_path / "clone", monkeypatch)
    monkeypatch.setattr(registry_store, "MAX_FILE_BYTES", 5 << 20)  # a 1 GiB limit, scaled down
    code, _, err = run(capsys, "pull")
    assert code == 4 and "'padding.bin' is" in err and "refused" in err and err.count("\n") == 1
    assert not Path("mlflow.db").exists()


def killed_at(point: str, action: str) -> None:
    """Run `registry <action>` in its own process and SIGKILL it at `point`, as a cancelled runner would."""
    import os
    import sys

    package = "{{ cookiecutter.package_name }}"
    environment = {**os.environ, registry_store.KILL_SWITCH: point}
    done = subprocess.run([sys.executable, "-m", package, "registry", action], env=environment, capture_output=True)
    assert done.returncode == -9, done.stderr  # killed there, not finished


@pytest.mark.slow
@pytest.mark.parametrize("point", [point for point in registry_store.KILL_POINTS if point.startswith("push")])
def test_a_push_killed_anywhere_is_finished_by_the_next_command(
    point: str, registered: Any, repository: Path, capsys, register_model: Callable, tiny_model: Callable
) -> None:
    assert run(capsys, "push")[0] == 0
    register_model(tiny_model())  # v3: something to publish
    killed_at(point, "push")
    code, _, err = run(capsys, "push")
    assert code == 0, err
    assert "3" in json.loads(branch_file(repository, "registry.json"))["versions"]
    code, out, err = run(capsys, "pull")
    assert code == 0 and "up to date" in out, err


@pytest.mark.slow
@pytest.mark.parametrize("point", [point for point in registry_store.KILL_POINTS if point.startswith("pull")])
def test_a_pull_killed_anywhere_is_finished_by_the_next_command(
    point: str, registered: Any, repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(capsys, "push")[0] == 0
    clone(repository, tmp_path / "clone", monkeypatch)
    assert run(capsys, "pull")[0] == 0  # a store to be replaced
    # Another runner's push: the same versions, one described.
    hostile_branch(repository, tmp_path, in_store("UPDATE model_versions SET description = 'newer' WHERE version = 2"))
    killed_at(point, "pull")
    code, out, err = run(capsys, "pull")  # fetches again, or finds the new store already whole
    assert code == 0 and ("fetched" in out or "up to date" in out), err
    assert stored_versions() == ["1", "2"] and Path("mlruns").is_dir()
    with sqlite3.connect("mlflow.db") as connection:
        assert connection.execute("SELECT description FROM model_versions WHERE version = 2").fetchone() == ("newer",)
    connection.close()
    code, _, err = run(capsys, "push")
    assert code == 0, err


def test_a_moved_project_is_relocated_and_pushes_again(registered: Any, repository: Path, project: Any, capsys) -> None:
    """MLflow records absolute paths: a store written in another folder is pointed at this one."""
    assert run(capsys, "push")[0] == 0
    database, root, old = project.root / "mlflow.db", str(project.root), "/somewhere/else/project"
    pushed = registry_store.read_state()
    registry_store.rewrite_paths(database, root, old)  # what the store holds after `mv old here`
    registry_store.write_state(pushed["commit"], registry_store.digest(database))
    before = git(repository, "rev-parse", BRANCH)
    code, _, err = run(capsys, "push")
    assert code == 4 and err.count("\n") == 1
    assert f"recorded at {old}/mlruns/" in err and "run `make relocate` first" in err
    assert git(repository, "rev-parse", BRANCH) == before
    code, out, err = run(capsys, "relocate")
    assert code == 0, err
    assert out.startswith(f"registry: mlflow.db moved from {old}")
    assert out.endswith(f" to {root}: model files are read from {root}/mlruns\n")
    assert registry_store.recorded_roots(database) == {root}
    code, out, err = run(capsys, "push")  # still the store as pushed: no pull needed first
    assert code == 0, err
    assert run(capsys, "relocate")[1] == f"registry: mlflow.db already points at {root}\n"


def test_relocating_without_the_model_files_changes_nothing(
    registered: Any, project: Any, tmp_path: Path, capsys
) -> None:
    database = project.root / "mlflow.db"
    registry_store.rewrite_paths(database, str(project.root), "/somewhere/else/project")
    Path("mlruns").rename(tmp_path / "elsewhere")
    before = registry_store.digest(database)
    code, _, err = run(capsys, "relocate")
    assert code == 4 and "files are not in" in err and err.count("\n") == 1
    assert registry_store.digest(database) == before


def test_a_pull_brings_back_missing_model_files(registered: Any, repository: Path, tmp_path: Path, capsys) -> None:
    assert run(capsys, "push")[0] == 0
    Path("mlruns").rename(tmp_path / "elsewhere")
    code, out, err = run(capsys, "pull")
    assert code == 0, err
    assert f"fetched {BRANCH}" in out and Path("mlruns").is_dir()


def test_a_branch_whose_name_only_ends_like_the_registry_is_ignored(registered: Any, repository: Path, capsys) -> None:
    decoy = git(repository, "rev-parse", "main")
    git(repository, "update-ref", f"refs/heads/a/refs/heads/{BRANCH}", decoy)
    code, _, err = run(capsys, "push")
    assert code == 0, err
    assert git(repository, "rev-parse", f"refs/heads/a/refs/heads/{BRANCH}") == decoy
    assert run(capsys, "pull")[0] == 0


def test_a_project_pre_push_hook_does_not_run(registered: Any, repository: Path, project: Any, capsys) -> None:
    hook = project.root / ".git" / "hooks" / "pre-push"
    hook.write_text("#!/bin/sh\necho hook ran >&2\nexit 1\n")
    hook.chmod(0o755)
    code, _, err = run(capsys, "push")
    assert code == 0, err


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ({"format": 1, "aliases": {}}, "root None is not the absolute path"),
        ({"format": 1, "root": "/", "aliases": {}}, "root '/' is not the absolute path"),
        ({"format": 1, "root": "relative/path", "aliases": {}}, "is not the absolute path"),
        ({"format": 1, "root": "/x", "aliases": ["champion"]}, "aliases must map"),
        ([1], "format 'list' is not 1"),
    ],
)
def test_a_malformed_manifest_is_one_line(repository: Path, tmp_path: Path, capsys, manifest, expected) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(repository), str(other))
    git(other, "checkout", "--quiet", "--orphan", BRANCH)
    git(other, "rm", "-r", "--quiet", "--cached", "--ignore-unmatch", ".")
    (other / "registry.json").write_text(json.dumps(manifest))
    (other / "mlflow.db").write_bytes(b"not a database")
    git(other, "add", "registry.json", "mlflow.db")
    git(other, "commit", "--quiet", "-m", "Hand-made")
    git(other, "push", "--quiet", "origin", BRANCH)
    code, _, err = run(capsys, "pull")
    assert code == 4
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert not Path("mlflow.db").exists()


def test_a_corrupt_state_file_is_one_line(registered: Any, repository: Path, project: Any, capsys) -> None:
    assert run(capsys, "push")[0] == 0
    (project.root / ".git" / "mlflow-registry.json").write_text("")
    code, _, err = run(capsys, "pull")
    assert code == 2
    assert "is not readable" in err and "delete it" in err and err.count("\n") == 1


def test_a_separate_registry_uri_is_refused(repository: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "sqlite:////tmp/another.db")
    code, _, err = run(capsys, "push")
    assert code == 2
    assert "MLFLOW_REGISTRY_URI" in err and err.count("\n") == 1


def test_every_push_appends_to_the_log_of_moves(registered: Any, repository: Path, client: Any, capsys) -> None:
    assert run(capsys, "push")[0] == 0
    client.set_registered_model_alias(NAME, "champion", "1")
    assert run(capsys, "push")[0] == 0
    lines = [json.loads(line) for line in branch_file(repository, "moves.jsonl").splitlines()]
    assert [line["aliases"]["champion"] for line in lines] == ["2", "1"]
    assert git(repository, "rev-list", "--count", BRANCH) == "1"


def test_a_server_is_the_registry_and_both_commands_refuse(
    repository: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://user:s3cret@mlflow.example.com")
    for action in ("pull", "push"):
        code, _, err = run(capsys, action)
        assert code == 2
        assert err.count("\n") == 1 and "s3cret" not in err
        assert "keeps the embedded store only" in err


def test_an_unreachable_remote_is_an_error_not_an_empty_registry(repository: Path, project: Any, capsys) -> None:
    git(project.root, "remote", "set-url", "origin", str(project.root / "no-such-repository.git"))
    code, _, err = run(capsys, "pull")
    assert code == 4
    assert err.startswith("error: cannot read branch mlflow-registry") and err.count("\n") == 1
    assert not Path("mlflow.db").exists()


def test_a_branch_not_written_by_push_is_refused(repository: Path, project: Any, tmp_path: Path, capsys) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(repository), str(other))
    git(other, "checkout", "--quiet", "--orphan", BRANCH)
    (other / "notes.txt").write_text("not a registry\n")
    git(other, "add", "notes.txt")
    git(other, "commit", "--quiet", "-m", "Something else")
    git(other, "push", "--quiet", "origin", BRANCH)
    code, _, err = run(capsys, "pull")
    assert code == 4
    assert "has no readable registry.json" in err and err.count("\n") == 1
    assert not Path("mlflow.db").exists()


def test_a_symbolic_link_on_the_branch_is_refused(repository: Path, tmp_path: Path, capsys) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(repository), str(other))
    git(other, "checkout", "--quiet", "--orphan", BRANCH)
    git(other, "rm", "-r", "--quiet", "--cached", "--ignore-unmatch", ".")
    (other / "registry.json").write_text(json.dumps({"format": 1, "root": "/x", "aliases": {}}))
    (other / "mlflow.db").symlink_to(tmp_path / "outside.db")
    git(other, "add", "registry.json", "mlflow.db")
    git(other, "commit", "--quiet", "-m", "A link")
    git(other, "push", "--quiet", "origin", BRANCH)
    code, _, err = run(capsys, "pull")
    assert code == 4
    assert "'mlflow.db' is not a regular file" in err and err.count("\n") == 1
    assert not Path("mlflow.db").exists() and not (tmp_path / "outside.db").exists()


def test_the_token_goes_to_the_github_server_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")
    monkeypatch.delenv("GITHUB_SERVER_URL", raising=False)
    sent = registry_transport.auth_env("https://github.com/octo-org/churn.git")
    assert sent["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    assert "ghs_secret" not in json.dumps(sent)  # base64 in a header, never in a command line
    assert registry_transport.auth_env("https://github.com.evil.example/octo-org/churn.git") == {}
    assert registry_transport.auth_env("/srv/git/churn.git") == {}
