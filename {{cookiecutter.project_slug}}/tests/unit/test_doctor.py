"""`doctor` against recorded repositories: a public one set up as documented, a private one on the free
plan, a paid plan's; a check the token may not read, a rate limit, and the Markdown of hostile names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.loop import doctor, doctor_checks, doctor_rows, github_api

PROJECT_ROOT = Path(__file__).parents[2]
ANSWERS = Path(__file__).with_name("github_answers")
REPO = "octo/churn-model"


def rows_of(plan_dir: str) -> dict[str, doctor_rows.Row]:
    info = github_api.get(f"repos/{REPO}")
    repo = doctor_rows.Repo(REPO, info, github_api.plan(info), {"retrain_on_drift": "no"}, PROJECT_ROOT)
    return {row.setting: row for row in doctor.diagnose(repo)}


def test_a_public_repository_set_up_as_documented_passes(github_project, gh, tmp_path, capsys) -> None:
    gh("public")
    assert doctor.run(REPO, tmp_path / "doctor.md", root=github_project) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "setting | status | expected | found | consequence | fix"
    assert out.rstrip().endswith("doctor: ok")
    assert " | off | " not in out and " | unknown | " not in out
    assert "environment model-registry reviewers | ok | optional | 1 required reviewer(s)" in out
    assert "branch mlflow-registry | ok |" in out and "7.3 MB in 4 files" in out


def test_a_private_repository_on_the_free_plan_says_what_is_unprotected(gh) -> None:
    gh("private-free")
    rows = rows_of("private-free")
    for name in ("model-registry", "data-refresh", "tuning"):
        row = rows[f"environment {name}"]
        assert row.status == "warn" and "not available (private repository, free plan)" in row.found
        assert "protects nothing" in row.consequence and "every branch's workflow can read" in row.consequence
    assert rows["secret MLFLOW_TRACKING_PASSWORD"].status == "warn"
    assert "MLFLOW_READ_PASSWORD" not in " ".join(rows)
    pulls = rows["Actions may create pull requests"]
    assert (pulls.status, pulls.fix) == ("off", "make github-setup")
    drift = rows["schedule of drift.yml"]
    assert (drift.status, drift.found, drift.fix) == ("off", "disabled_inactivity", "gh workflow enable drift.yml")
    refs = rows["refs/pr-reports/<n>"]
    assert (refs.status, refs.fix) == ("warn", "git push origin --delete refs/pr-reports/3")
    assert doctor.verdict(list(rows.values())) == "off"


def test_a_paid_plan_checks_branches_reviewers_and_the_app_token(gh) -> None:
    gh("paid")
    rows = rows_of("paid")
    assert rows["environment model-registry"].status == "ok"
    refresh = rows["environment data-refresh"]
    assert (refresh.status, refresh.found) == ("off", "deployment branches main")
    assert rows["environment model-registry reviewers"].status == "warn"  # Team: not enforced on private repositories
    token = rows["secret REFRESH_TOKEN"]
    assert token.status == "off" and "auto-merge stops" in token.consequence
    assert rows["default GITHUB_TOKEN permissions"].status == "warn"
    assert "branch mlflow-registry" not in rows  # a tracking server: no registry branch to check


def test_a_write_secret_at_repository_level_is_off_where_environments_exist(gh) -> None:
    gh("public", {"actions/secrets": {"status": 200, "body": {"secrets": [{"name": "REFRESH_TOKEN"}]}}})
    info = github_api.get(f"repos/{REPO}")
    repo = doctor_rows.Repo(REPO, info, github_api.plan(info), {}, PROJECT_ROOT)
    row = next(doctor_checks.secrets(repo))
    assert (row.setting, row.status) == ("secret REFRESH_TOKEN", "off")
    assert row.fix == "gh secret set REFRESH_TOKEN --env data-refresh; then gh secret delete REFRESH_TOKEN"


def test_a_check_the_token_may_not_read_is_unknown_and_exits_4(github_project, gh, tmp_path, capsys) -> None:
    forbidden = {"status": 403, "body": {"message": "Resource not accessible by integration"}}
    gh("public", {"actions/permissions": forbidden, "/secrets": forbidden})
    assert doctor.run(REPO, None, root=github_project) == 4
    out = capsys.readouterr().out
    assert out.count(" | unknown | ") == 2 and "as a repository admin" in out
    assert "environment tuning | ok |" in out  # the other checks still ran
    assert "Traceback" not in out


def test_the_workflows_variables_replace_the_api_call(github_project, gh, monkeypatch) -> None:
    gh("public", {"actions/variables": {"status": 403, "body": {"message": "no"}}})
    monkeypatch.setenv("VARIABLES", json.dumps({"RETRAIN_ON_DRIFT": "maybe"}))
    assert doctor.run(REPO, None, root=github_project) == 1
    assert not any("actions/variables" in call["path"] for call in gh.calls())


def test_a_variable_the_answers_imply_and_a_cloud_login(gh) -> None:
    gh("public")
    info = github_api.get(f"repos/{REPO}")
    bake = {"mlflow_tracking_uri": "https://mlflow.example.com", "dvc_remote": "gcs"}
    repo = doctor_rows.Repo(REPO, info, github_api.plan(info), bake, PROJECT_ROOT)
    rows = {row.setting: row for row in doctor_checks.variables(repo)}
    assert rows["variable MLFLOW_TRACKING_URI"].status == "off"
    assert rows["variable GCP_SERVICE_ACCOUNT"].fix.startswith("gh variable set GCP_SERVICE_ACCOUNT --body <value>")


@pytest.mark.parametrize("failure", [{"status": 429, "body": {"message": "slow"}}, "network"])
def test_no_answer_from_the_api_is_one_line_and_exit_4(
    github_project, gh, failure, capsys, monkeypatch, tmp_path
) -> None:
    gh("public", {"environments": failure})
    output = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.chdir(github_project)
    assert doctor.main(["--repo", REPO]) == 4
    err = capsys.readouterr().err
    assert err.startswith("error: GET repos/octo/churn-model/environments/") and err.count("\n") == 1
    assert output.read_text() == "verdict=error\n"  # not `unknown`: doctor.yml fails and leaves the issue alone


def test_bad_usage_exits_2(gh, capsys) -> None:
    gh("public")
    assert doctor.main(["--repo", "not a repository"]) == 2
    with pytest.raises(SystemExit) as stopped:
        doctor.main(["--colour"])
    assert stopped.value.code == 2


def test_the_markdown_table_escapes_what_github_answered(gh, tmp_path, monkeypatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    hostile = doctor_rows.Row("schedule of <img src=x>.yml", "off", "active", "@octo-org/admins | #1", "x", "gh `a|b`")
    text = doctor.markdown_table([hostile], "octo/<b>churn</b>")
    doctor.write_markdown(text, tmp_path / "doctor.md")
    assert "<img" not in text and "<b>" not in text and "@octo" not in text
    assert "@&#8203;octo-org/admins \\| #&#8203;1" in text and "`` gh `a\\|b` ``" in text
    assert summary.read_text() == (tmp_path / "doctor.md").read_text() == text
    assert text.count("\n| ") == 2  # the header and one row: nothing broke the table


FORBIDDEN = {"status": 403, "body": {"message": "Resource not accessible by integration"}}


def repo_of(bake: dict | None = None) -> doctor_rows.Repo:
    info = github_api.get(f"repos/{REPO}")
    return doctor_rows.Repo(REPO, info, github_api.plan(info), bake or {"retrain_on_drift": "no"}, PROJECT_ROOT)


def test_rows_found_before_an_unreadable_call_are_kept(gh) -> None:
    gh("paid", {"environments/tuning": FORBIDDEN, "environments/data-refresh/secrets": FORBIDDEN})
    rows = doctor.diagnose(repo_of({"mlflow_tracking_uri": "https://mlflow.example.com"}))
    found = {row.setting: row.status for row in rows}
    assert found["environment data-refresh"] == "off"  # found before tuning's refusal: still off
    assert found["environment tuning"] == "unknown" and found["secrets of environment data-refresh"] == "unknown"
    assert found["secrets"] == "ok" and doctor.verdict(rows) == "off"


def test_a_plan_the_token_cannot_see_leaves_missing_environments_and_reviewers_unknown(gh) -> None:
    gh("paid", {"orgs/octo-org": FORBIDDEN, "environments/tuning$": {"status": 404, "body": {"message": "Not Found"}}})
    rows = {row.setting: row for row in doctor.diagnose(repo_of())}
    tuning = rows["environment tuning"]
    assert (tuning.status, tuning.fix) == ("unknown", "plan not visible: run `make doctor` as an owner")
    assert rows["environment model-registry reviewers"].status == "unknown"


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("actions/variables", {"status": 200, "text": "{bad"}),
        ("branches/mlflow-registry", {"status": 200, "body": {}}),
        ("git/matching-refs", {"status": 200, "body": {"message": "x"}}),
        ("actions/workflows", {"status": 200, "body": {"workflows": [{"name": "drift", "state": "active"}]}}),
        (f"repos/{REPO}$", {"status": 200, "body": []}),
    ],
)
def test_an_unexpected_answer_is_one_line_and_exit_4(github_project, gh, path, answer, capsys, monkeypatch) -> None:
    gh("public", {path: answer})
    monkeypatch.chdir(github_project)
    assert doctor.main(["--repo", REPO]) == 4
    err = capsys.readouterr().err
    assert "unexpected answer" in err and err.count("\n") == 1 and "Traceback" not in err


def test_another_tracking_server_is_a_warning_with_the_value_the_workflows_use(gh) -> None:
    gh("paid")
    rows = {
        row.setting: row for row in doctor_checks.variables(repo_of({"mlflow_tracking_uri": "https://new.example"}))
    }
    row = rows["variable MLFLOW_TRACKING_URI"]
    assert (row.status, row.found) == ("warn", "another server than the answer")
    assert row.consequence == "the workflows use https://mlflow.example.com"
    assert row.fix.startswith("gh variable set MLFLOW_TRACKING_URI --body https://new.example")


def test_an_environment_limited_to_protected_branches_is_not_every_branch(gh) -> None:
    limited = {
        "name": "tuning",
        "deployment_branch_policy": {"protected_branches": True, "custom_branch_policies": False},
    }
    tag = {"branch_policies": [{"name": "main", "type": "tag"}], "total_count": 1}
    gh("public", {"environments/tuning$": {"status": 200, "body": limited},
                  "model-registry/deployment-branch-policies": {"status": 200, "body": tag}})  # fmt: skip
    rows = {row.setting: row for row in doctor.diagnose(repo_of())}
    assert (rows["environment tuning"].status, rows["environment tuning"].found) == ("warn", "protected branches only")
    assert "main not known to be protected" in rows["environment tuning"].consequence
    registry = rows["environment model-registry"]  # a tag named main is not the branch main
    assert (registry.status, registry.found) == ("off", "deployment branches none")
    gh("public", {"environments/tuning$": {"status": 200, "body": limited},
                  "branches/main": {"status": 200, "body": {"name": "main", "protected": True}}})  # fmt: skip
    row = {row.setting: row for row in doctor.diagnose(repo_of())}["environment tuning"]
    assert (row.status, row.found) == ("ok", "protected branches only; main protected")


def test_allowed_actions_organisation_variables_auto_merge_and_server_secrets(gh) -> None:
    local = {"status": 200, "body": {"enabled": True, "allowed_actions": "local_only"}}
    org = {"status": 200, "body": {"total_count": 1, "variables": [{"name": "RETRAIN_ON_DRIFT", "value": "maybe"}]}}
    gh("paid", {"actions/permissions$": local, "organization-variables": org})
    rows = {row.setting: row for row in doctor.diagnose(repo_of({"mlflow_tracking_uri": "https://mlflow.example.com"}))}
    assert rows["allowed actions"].status == "off" and "every workflow stops" in rows["allowed actions"].consequence
    assert rows["variable RETRAIN_ON_DRIFT"].status == "off"  # an organisation variable the workflows see
    assert rows["secrets MLFLOW_TRACKING_*"].status == "warn" and rows["secrets MLFLOW_READ_*"].status == "warn"
    gh("private-free", {"actions/variables": {"status": 200, "body": {"variables": [
        {"name": "REFRESH_AUTO_MERGE", "value": "true"}]}}})  # fmt: skip
    rows = {row.setting: row for row in doctor.diagnose(repo_of())}
    assert rows["variable REFRESH_AUTO_MERGE"].status == "warn"


def test_limits_are_said_not_passed_as_ok(gh) -> None:
    many = {"status": 200, "body": {"variables": [{"name": f"V{n}", "value": "x"} for n in range(100)]}}
    refs = [{"ref": f"refs/pr-reports/{n}"} for n in range(100, 135)]
    tree = {"sha": "x", "tree": [{"path": "mlflow.db", "type": "blob", "size": 1}], "truncated": True}
    pulls = {"status": 200, "body": {"state": "open"}}
    gh("public", {"actions/variables": many, "matching-refs": {"status": 200, "body": refs},
                  "git/trees": {"status": 200, "body": tree}, "pulls/": pulls})  # fmt: skip
    rows = {row.setting: row for row in doctor.diagnose(repo_of())}
    assert rows["list actions/variables"].found == "more than 1,000 items: not all read"
    assert rows["refs/pr-reports/<n> not looked up"].status == "unknown"
    assert rows["refs/pr-reports/<n> not looked up"].found.startswith("5 of 35 ref(s) not checked")
    assert rows["branch mlflow-registry"].status == "unknown"
