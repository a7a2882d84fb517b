"""`gh api` answers classified, and `github-setup` against recorded repositories: one line per failure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.loop import github_api, github_setup

PACKAGE = "{{ cookiecutter.package_name }}"
PROJECT_ROOT = Path(__file__).parents[2]
ANSWERS = Path(__file__).with_name("github_answers")
REPO = "octo/churn-model"
TUNING = f"repos/{REPO}/environments/tuning"
RATE_LIMITED = {"status": 403, "headers": {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1767225600"},
                "body": {"message": "API rate limit exceeded for user ID 1."}}  # fmt: skip


def writes(gh) -> list[tuple[str, str]]:
    return [(call["method"], call["path"]) for call in gh.calls() if call["method"] != "GET"]


def test_a_success_returns_the_json_body(gh) -> None:
    gh("public")
    assert github_api.get(f"repos/{REPO}")["default_branch"] == "main"
    assert github_api.get_all(f"repos/{REPO}/actions/secrets", "secrets") == [
        {"name": "MLFLOW_READ_TOKEN", "created_at": "2026-01-01T00:00:00Z"}
    ]


@pytest.mark.parametrize(
    ("failure", "error", "words"),
    [
        ({"status": 403, "body": {"message": "Resource not accessible by integration"}}, github_api.Forbidden,
         "the token may not do this (HTTP 403: Resource not accessible by integration)"),
        ({"status": 401, "body": {"message": "Bad credentials"}}, github_api.Forbidden, "run `gh auth login`"),
        ({"status": 404, "body": {"message": "Not Found"}}, github_api.NotFound, "not found (HTTP 404)"),
        (RATE_LIMITED, github_api.RateLimited, "rate limit is used up (HTTP 403); it resets at 00:00 UTC"),
        ({"status": 429, "body": {"message": "slow down"}}, github_api.RateLimited, "429); wait at least a minute"),
        ({"status": 429, "headers": {"retry-after": "60", "x-ratelimit-reset": "1767225600"}}, github_api.RateLimited,
         "(HTTP 429); wait 60 seconds"),
        ({"status": 403, "headers": {"x-ratelimit-remaining": "12", "x-ratelimit-reset": "1767225600"},
          "body": {"message": "You have exceeded a secondary rate limit"}}, github_api.RateLimited,
         "(HTTP 403); wait at least a minute"),
        ({"status": 500, "text": "<html><body><h1>Internal Server Error</h1>" + "x" * 500 + "</body></html>"},
         github_api.ApiError, "GitHub answered HTTP 500: Internal Server Error xxx"),
        ({"status": 502, "body": {"message": "Server Error"}}, github_api.ApiError, "GitHub answered HTTP 502"),
        ("network", github_api.ApiError, "no answer from GitHub: error connecting to api.github.com"),
    ],
)  # fmt: skip
def test_each_failure_is_one_classified_line(gh, failure, error, words) -> None:
    gh("public", {"actions/variables": failure})
    with pytest.raises(error) as raised:
        github_api.get(f"repos/{REPO}/actions/variables")
    message = str(raised.value)
    assert message.startswith(f"GET repos/{REPO}/actions/variables: ") and words in message, message
    assert "\n" not in message and raised.value.exit_code == 4 and len(message) < 200


def test_no_gh_on_path_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(github_api.ApiError, match=r"gh cannot run: .*https://cli.github.com"):
        github_api.get(f"repos/{REPO}")


def test_the_repository_comes_from_the_option_the_environment_or_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_REPO", "octo/other")
    assert github_api.repository(REPO) == REPO
    assert github_api.repository(None) == "octo/other"
    with pytest.raises(ValueError, match="not a repository"):
        github_api.repository("octo/x; rm -rf /")


@pytest.mark.parametrize(
    ("plan", "environments", "reviewers"),
    [("public", True, True), ("private-free", False, False), ("paid", True, False)],
)
def test_the_plan_says_what_the_repository_may_have(gh, plan, environments, reviewers) -> None:
    gh(plan)
    found = github_api.plan(github_api.get(f"repos/{REPO}"))
    assert (found.environments, found.reviewers) == (environments, reviewers)


def test_setup_of_a_new_repository_creates_the_environments_and_allows_pull_requests(
    github_project, gh, capsys
) -> None:
    gh("public-new")
    assert github_setup.run(REPO, dry_run=False, root=github_project) == 0
    base = f"repos/{REPO}"
    assert writes(gh) == [
        ("PUT", f"{base}/environments/model-registry"),
        ("POST", f"{base}/environments/model-registry/deployment-branch-policies"),
        ("PUT", f"{base}/environments/data-refresh"),
        ("POST", f"{base}/environments/data-refresh/deployment-branch-policies"),
        ("POST", f"{base}/environments/data-refresh/deployment-branch-policies"),
        ("PUT", f"{base}/environments/tuning"),
        ("POST", f"{base}/environments/tuning/deployment-branch-policies"),
        ("PUT", f"{base}/actions/permissions/workflow"),
    ]
    bodies = [call["body"] for call in gh.calls() if call["method"] != "GET"]
    assert bodies[0] == {"deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}}
    assert [bodies[3]["name"], bodies[4]["name"]] == ["data-refresh", "main"]
    assert bodies[-1] == {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": True}
    assert "done: allow GitHub Actions to create and approve pull requests" in capsys.readouterr().out


def test_setup_of_a_repository_set_up_already_changes_nothing(github_project, gh, capsys) -> None:
    gh("public")
    assert github_setup.run(REPO, dry_run=False, root=github_project) == 0
    assert writes(gh) == []
    out = capsys.readouterr().out
    assert "ok: environment data-refresh allows branch data-refresh" in out and "done:" not in out


def test_a_dry_run_prints_the_calls_and_changes_nothing(github_project, gh, capsys) -> None:
    gh("public-new")
    assert github_setup.run(REPO, dry_run=True, root=github_project) == 0
    assert writes(gh) == []
    out = capsys.readouterr().out
    assert (
        f"would create environment tuning to selected deployment branches:\n  gh api --method PUT {TUNING} --input -"
        in out
    )
    assert out.count("would ") == 8


def test_a_printed_call_run_in_a_shell_sends_the_same_body(gh, capsys) -> None:
    gh("public-new")
    body = {"name": 'it\'s "quoted" $HOME `x`', "value": "a\\b  two  spaces"}
    lines = github_setup.command("POST", f"repos/{REPO}/actions/variables", body)
    subprocess.run(["bash", "-c", "\n".join(lines)], check=True, capture_output=True)
    [sent] = [call for call in gh.calls() if call["method"] == "POST"]
    assert sent == {"method": "POST", "path": f"repos/{REPO}/actions/variables", "body": body}


def test_a_refused_read_is_reported_and_the_setup_goes_on(github_project, gh, capsys) -> None:
    forbidden = {"status": 403, "body": {"message": "Must have admin rights to Repository."}}
    gh("public-new", {"GET environments/model-registry": forbidden, "PUT environments/tuning": {
        "status": 422, "body": {"message": "Validation Failed"}}})  # fmt: skip
    assert github_setup.run(REPO, dry_run=False, root=github_project) == 1
    out = capsys.readouterr().out
    assert "could not read environment model-registry: GET" in out and "(needs admin)" in out
    assert ("POST", f"{TUNING}/deployment-branch-policies") not in writes(gh)  # its environment was not made
    assert ("PUT", f"repos/{REPO}/actions/permissions/workflow") in writes(gh) and "yours to add" in out


def test_setup_leaves_an_environment_limited_to_protected_branches_alone(github_project, gh, capsys) -> None:
    limited = {
        "name": "tuning",
        "deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": False},
    }
    gh("public", {"GET environments/tuning$": {"status": 200, "body": limited}})
    assert github_setup.run(REPO, dry_run=False, root=github_project) == 0
    assert writes(gh) == [] and "tuning is limited to protected branches: left as you chose" in capsys.readouterr().out


@pytest.mark.parametrize(("answer", "code", "words"), [
    ("https://mlflow.example.com", 0, "ok: variable MLFLOW_TRACKING_URI is set"),
    ("https://new.example.com", 1, "it holds another value, kept as yours"),
])  # fmt: skip
def test_setup_keeps_a_tracking_server_you_chose(gh, tmp_path, capsys, answer, code, words) -> None:
    gh("paid")
    (tmp_path / ".cookiecutter.json").write_text(json.dumps({"mlflow_tracking_uri": answer}))
    assert github_setup.run(REPO, dry_run=False, root=tmp_path) == code
    assert words in capsys.readouterr().out
    assert ("POST", f"repos/{REPO}/actions/variables") not in writes(gh)


def test_make_gives_the_repository_as_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPO", "octo/from-make")
    assert github_api.repository(None) == "octo/from-make"
    monkeypatch.setenv("REPO", "octo/x; rm -rf ~")
    with pytest.raises(ValueError, match="is not a repository"):
        github_api.repository(None)


def test_a_list_longer_than_ten_pages_says_it_was_cut(gh) -> None:
    page = {"status": 200, "body": {"secrets": [{"name": f"S{n}"} for n in range(100)]}}
    gh("public", {"actions/secrets": page})
    found = github_api.get_all(f"repos/{REPO}/actions/secrets", "secrets")
    assert len(found) == 1000 and found.complete is False


def test_setup_on_the_free_plan_says_what_it_could_not_do_and_why(github_project, gh, capsys) -> None:
    gh("private-free")
    assert github_setup.run(REPO, dry_run=False, root=github_project) == 1
    assert writes(gh) == [("PUT", f"repos/{REPO}/actions/permissions/workflow")]
    out = capsys.readouterr().out
    assert "could not create the environments model-registry, data-refresh and tuning: a private repository" in out


def test_setup_keeps_reviewers_and_adds_the_missing_branch(github_project, gh) -> None:
    gh("paid")
    assert github_setup.run(REPO, dry_run=False, root=github_project) == 0
    assert writes(gh) == [("POST", f"repos/{REPO}/environments/data-refresh/deployment-branch-policies")]
    registry = json.loads((ANSWERS / "paid/repo/environments/model-registry.json").read_text())
    assert github_setup.kept_rules(registry) == {
        "reviewers": [{"type": "User", "id": 1000}, {"type": "User", "id": 1001}],
        "prevent_self_review": False,
    }


def test_setup_refused_by_an_organisation_policy_is_one_line_and_exit_1(github_project, gh, capsys) -> None:
    policy = {"status": 409, "body": {"message": "Cannot change: the organization's policy sets it"}}
    gh("public-new", {"PUT actions/permissions/workflow": policy})
    assert github_setup.run(REPO, dry_run=False, root=github_project) == 1
    assert "could not allow GitHub Actions to create and approve pull requests: PUT" in capsys.readouterr().out


def test_the_setup_command_without_an_answer_exits_4_with_one_line(github_project, gh, monkeypatch, capsys) -> None:
    gh("public-new", {f"repos/{REPO}": RATE_LIMITED})
    monkeypatch.chdir(github_project)
    assert github_setup.main(["--repo", REPO]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: GET repos/octo/churn-model: GitHub's API rate limit") and err.count("\n") == 1


def test_the_commands_run_from_the_command_line_with_the_standard_library_only(github_project, gh) -> None:
    gh("public")
    found = subprocess.run(
        [sys.executable, "-S", "-m", PACKAGE, "github_setup", "--repo", REPO, "--dry-run"],
        cwd=github_project, env={"PATH": subprocess.os.environ["PATH"], "PYTHONPATH": str(PROJECT_ROOT / "src"),
                               **{k: subprocess.os.environ[k] for k in ("GH_ANSWERS", "GH_CALLS", "GH_FAIL")}},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert "ok: GitHub Actions may create and approve pull requests" in found.stdout
