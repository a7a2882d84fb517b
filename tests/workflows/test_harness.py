"""The rehearsal harness itself, on small synthetic workflows: GitHub's semantics, and refusals.

Each test writes a workflow into a throwaway repository and checks one behaviour the project
rehearsals rely on, so that a wrong harness cannot make a wrong workflow look right.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from textwrap import dedent

import pytest
from harness import GitHubState, Rehearsal, Repository, pull_request, push, workflow_dispatch
from harness.expressions import ExpressionError, split
from harness.runner import NotRehearsable
from workflow_support import make_host

PINS = json.loads((Path(__file__).parent / "harness" / "actions" / "pins.json").read_text(encoding="utf-8"))
CHECKOUT = f"actions/checkout@{PINS['actions/checkout']['sha']}"
UPLOAD = f"actions/upload-artifact@{PINS['actions/upload-artifact']['sha']}"
DOWNLOAD = f"actions/download-artifact@{PINS['actions/download-artifact']['sha']}"
SCRIPT = f"actions/github-script@{PINS['actions/github-script']['sha']}"
RESTORE = f"actions/cache/restore@{PINS['actions/cache/restore']['sha']}"
SAVE = f"actions/cache/save@{PINS['actions/cache/save']['sha']}"

COMPOSITE = """
name: greet
inputs:
  who: {description: who, required: true}
  punctuation: {description: end, default: "!"}
outputs:
  greeting: {description: the greeting, value: "${{ steps.say.outputs.text }}"}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      env:
        WHO: ${{ inputs.who }}
      run: echo "text=hello $WHO${{ inputs.punctuation }}" >> "$GITHUB_OUTPUT"
"""


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    return make_host(tmp_path_factory.mktemp("host"))


def repository(root: Path, workflows: dict[str, str], files: dict[str, str] | None = None) -> Repository:
    project = root / "project"
    for name, text in {**{f".github/workflows/{k}": v for k, v in workflows.items()}, **(files or {})}.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(dedent(text).lstrip(), encoding="utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "init"], cwd=project, check=True)
    return Repository.from_project(project, root)


@pytest.fixture
def rehearse(tmp_path, host):
    made = []

    def make(workflows: dict[str, str], files: dict[str, str] | None = None, **settings) -> Rehearsal:
        repo = repository(tmp_path, workflows, files)
        for key, value in settings.items():
            setattr(repo, key, value)
        made.append(Rehearsal(repo, tmp_path / "rehearsal", host))
        return made[-1]

    yield make
    for rehearsal in made:
        rehearsal.close()


def test_templates_split_on_expressions_not_on_braces_inside_strings():
    assert split("a-${{ x }}-b") == [(False, "a-"), (True, "x"), (False, "-b")]
    assert split("${{ format('}}{0}', y) }}") == [(True, "format('}}{0}', y)")]
    with pytest.raises(ExpressionError):
        split("${{ unclosed")


def test_steps_share_outputs_env_path_and_summary_and_jobs_pass_outputs(rehearse):
    rehearsal = rehearse(
        {
            "w.yml": """
            on: push
            permissions: {}
            jobs:
              first:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                outputs:
                  value: ${{ steps.make.outputs.value }}
                steps:
                  - id: make
                    run: |
                      echo "value=42" >> "$GITHUB_OUTPUT"
                      echo "GREETING=hi" >> "$GITHUB_ENV"
                      mkdir -p "$RUNNER_TEMP/tools"
                      printf '#!/bin/sh\\necho tool-ran\\n' > "$RUNNER_TEMP/tools/mytool"
                      chmod +x "$RUNNER_TEMP/tools/mytool" && echo "$RUNNER_TEMP/tools" >> "$GITHUB_PATH"
                  - run: |
                      test "$GREETING" = hi
                      mytool
                      echo "### summary line" >> "$GITHUB_STEP_SUMMARY"
                      test "${{ env.GREETING }}" = hi
              second:
                needs: first
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                  - run: test "${{ needs.first.outputs.value }}" = 42 && test "$GITHUB_EVENT_NAME" = push
            """
        }
    )
    run = rehearsal.run("w.yml", push(rehearsal.repo))
    assert run.conclusion == "success", run.log
    assert "tool-ran" in run.jobs["first"].steps[1].log
    assert "### summary line" in run.jobs["first"].summary
    assert run.jobs["first"].outputs == {"value": "42"}


def test_failure_skips_later_steps_and_dependent_jobs_unless_their_condition_says_otherwise(rehearse):
    rehearsal = rehearse(
        {
            "w.yml": """
            on: push
            jobs:
              build:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                  - id: soft
                    continue-on-error: true
                    run: exit 3
                  - run: test "${{ steps.soft.outcome }}" = failure && test "${{ steps.soft.conclusion }}" = success
                  - run: exit 1
                  - id: skipped
                    run: echo never
                  - if: ${{ !cancelled() }}
                    run: echo "cleanup ran"
                  - if: failure()
                    run: echo "failure ran"
              after:
                needs: build
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                  - run: echo never
              report:
                needs: after
                if: always()
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                  - run: test "${{ needs.after.result }}" = skipped
            """
        }
    )
    run = rehearsal.run("w.yml", push(rehearsal.repo))
    build = run.jobs["build"]
    assert build.result == "failure"
    assert [s.outcome for s in build.steps] == ["failure", "success", "failure", "skipped", "success", "success"]
    assert run.jobs["after"].result == "skipped"
    assert run.jobs["report"].result == "success", run.log


def test_composite_actions_get_inputs_defaults_and_give_outputs(rehearse):
    rehearsal = rehearse(
        {
            "w.yml": f"""
            on: push
            jobs:
              greet:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                permissions:
                  contents: read
                steps:
                  - uses: {CHECKOUT}
                    with:
                      persist-credentials: false
                  - id: greet
                    uses: ./.github/actions/greet
                    with:
                      who: octocat
                  - run: test "${{{{ steps.greet.outputs.greeting }}}}" = "hello octocat!"
            """
        },
        {".github/actions/greet/action.yml": COMPOSITE},
    )
    run = rehearsal.run("w.yml", push(rehearsal.repo))
    assert run.conclusion == "success", run.log


REPORTER = """
name: report
outputs:
  wrote: {description: the report step's outcome, value: "${{ steps.write.outcome }}"}
runs:
  using: composite
  steps:
    - id: write
      if: ${{ !cancelled() }}
      shell: bash
      run: echo written
    - id: only-on-success
      shell: bash
      run: echo never
"""


def test_a_composite_after_a_failure_sees_it_but_succeeds_on_its_own_steps(rehearse):
    rehearsal = rehearse(
        {
            "w.yml": f"""
            on: push
            jobs:
              build:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                permissions:
                  contents: read
                outputs:
                  wrote: ${{{{ steps.report.outputs.wrote }}}}
                steps:
                  - uses: {CHECKOUT}
                    with:
                      persist-credentials: false
                  - run: exit 1
                  - id: report
                    if: ${{{{ !cancelled() }}}}
                    uses: ./.github/actions/report
            """
        },
        {".github/actions/report/action.yml": REPORTER},
    )
    run = rehearsal.run("w.yml", push(rehearsal.repo))
    build = run.jobs["build"]
    assert build.result == "failure"
    assert [s.outcome for s in build.steps] == ["success", "failure", "success"], run.log
    assert "[success] echo written" in build.step("report").log and "[skipped] echo never" in build.step("report").log
    assert build.outputs == {"wrote": "success"}


def test_contexts_are_only_where_github_offers_them(rehearse):
    composite = COMPOSITE.replace("${{ inputs.who }}", "${{ vars.WHO }}")
    rehearsal = rehearse(
        {
            "w.yml": f"""
            on: push
            jobs:
              greet:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                permissions:
                  contents: read
                steps:
                  - uses: {CHECKOUT}
                  - uses: ./.github/actions/greet
                    with:
                      who: octocat
            """
        },
        {".github/actions/greet/action.yml": composite},
        variables={"WHO": "x"},
    )
    run = rehearsal.run("w.yml", push(rehearsal.repo))
    assert run.conclusion == "failure"
    assert "Unrecognized named-value: 'vars'" in run.log


def test_actions_must_be_verified_pins_and_inputs_must_exist(rehearse):
    rehearsal = rehearse(
        {
            "unpinned.yml": """
            on: push
            jobs:
              a:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                  - uses: actions/checkout@v4
            """,
            "typo.yml": f"""
            on: push
            jobs:
              a:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                  - uses: {CHECKOUT}
                    with:
                      persist-credential: false
            """,
            "no-token.yml": f"""
            on: push
            permissions: {{}}
            jobs:
              a:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                  - uses: {CHECKOUT}
            """,
        }
    )
    event = push(rehearsal.repo)
    assert "not a verified pin" in rehearsal.run("unpinned.yml", event).log
    assert "Unexpected input(s) ['persist-credential']" in rehearsal.run("typo.yml", event).log
    assert "no `contents: read`" in rehearsal.run("no-token.yml", event).log


def test_artifacts_keep_paths_below_the_common_root_and_skip_hidden_files(rehearse):
    rehearsal = rehearse(
        {
            "w.yml": f"""
            on: push
            jobs:
              make:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                outputs:
                  url: ${{{{ steps.up.outputs.artifact-url }}}}
                steps:
                  - run: mkdir -p out/a out/b && echo 1 > out/a/one && echo 2 > out/b/two && echo h > out/a/.hidden
                  - id: up
                    uses: {UPLOAD}
                    with:
                      name: out
                      path: |
                        out/a/
                        out/b/two
                  - id: none
                    uses: {UPLOAD}
                    with:
                      name: empty
                      path: nothing/
                      if-no-files-found: ignore
                  - run: test -z "${{{{ steps.none.outputs.artifact-url }}}}"
              use:
                needs: make
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                  - uses: {DOWNLOAD}
                    with:
                      name: out
                      path: got
                  - run: test "$(cat got/a/one got/b/two)" = "$(printf '1\\n2')" && test ! -e got/a/.hidden
                  - uses: {DOWNLOAD}
                    with:
                      name: missing
            """
        }
    )
    run = rehearsal.run("w.yml", push(rehearsal.repo))
    assert run.jobs["make"].result == "success", run.log
    assert run.jobs["make"].outputs["url"].endswith(f"/actions/runs/{run.run_id}/artifacts/1")
    use = run.jobs["use"]
    assert [s.outcome for s in use.steps] == ["success", "success", "failure"], run.log
    assert "Artifact not found for name: missing" in use.log


def test_caches_restore_by_prefix_and_pull_requests_cannot_write_the_default_branch_scope(rehearse):
    workflow = f"""
    on: [push, pull_request]
    jobs:
      c:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        permissions:
          contents: read
        steps:
          - uses: {CHECKOUT}
          - id: restore
            uses: {RESTORE}
            with:
              path: store
              key: k-${{{{ hashFiles('lock.txt') }}}}
              restore-keys: k-
          - run: mkdir -p store && echo "${{{{ github.event_name }}}}" >> store/log && cat store/log
          - uses: {SAVE}
            with:
              path: store
              key: k-${{{{ hashFiles('lock.txt') }}}}
    """
    rehearsal = rehearse({"w.yml": workflow}, {"lock.txt": "1\n"})
    first = rehearsal.run("w.yml", push(rehearsal.repo))
    assert first.jobs["c"].steps[1].outputs.get("cache-hit") is None
    rehearsal.repo.commit("feature", "change lock", {"lock.txt": "2\n"})
    pr = rehearsal.run("w.yml", pull_request(rehearsal.repo, rehearsal.state, "feature", 1))
    restored = pr.jobs["c"].steps[1].outputs
    assert restored["cache-hit"] == "false" and restored["cache-matched-key"].startswith("k-"), pr.log
    again = rehearsal.run("w.yml", push(rehearsal.repo))
    assert again.jobs["c"].steps[1].outputs["cache-hit"] == "true"
    assert "push\npush" in again.jobs["c"].steps[2].log  # the pull request's save stayed in its own scope


def test_github_script_records_calls_and_a_fork_gets_a_read_only_token(rehearse):
    workflow = f"""
    on: pull_request
    jobs:
      comment:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        permissions:
          pull-requests: write
        steps:
          - uses: {SCRIPT}
            with:
              script: |
                const issue = {{ ...context.repo, issue_number: context.issue.number }};
                const all = await github.paginate(github.rest.issues.listComments, issue);
                const found = all.find((c) => c.body.startsWith('x'));
                const repo = context.repo;
                if (found) await github.rest.issues.updateComment({{ ...repo, comment_id: found.id, body: 'x2' }});
                else await github.rest.issues.createComment({{ ...issue, body: 'x1' }});
                return context.issue.number;
    """
    rehearsal = rehearse({"w.yml": workflow})
    rehearsal.repo.commit("feature", "change", {"a.txt": "a"})
    state: GitHubState = rehearsal.state
    for action in ("opened", "synchronize"):
        run = rehearsal.run("w.yml", pull_request(rehearsal.repo, state, "feature", 5, action=action))
        assert run.conclusion == "success", run.log
        assert run.jobs["comment"].steps[0].outputs["result"] == "5"
    assert [c["body"] for c in state.comments(5)] == ["x2"]
    fork = rehearsal.run("w.yml", pull_request(rehearsal.repo, state, "feature", 5, action="synchronize", fork=True))
    assert fork.conclusion == "failure"
    assert "Resource not accessible by integration" in fork.log


def test_github_script_requires_script_files_of_the_checkout_and_paginates_like_octokit(rehearse):
    workflow = f"""
    on: pull_request
    jobs:
      comment:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        permissions:
          contents: read
          pull-requests: write
        steps:
          - uses: {CHECKOUT}
            with:
              persist-credentials: false
          - uses: {SCRIPT}
            env:
              WORD: x
            with:
              script: |
                const run = require('./.github/scripts/count.js');
                return await run({{ github, context, core }});
    """
    count = """
    const { word } = require('./word.js');
    module.exports = async ({ github, context }) => {
      const issue = { ...context.repo, issue_number: context.issue.number };
      const pages = [];
      const all = await github.paginate((params) => {
        pages.push(params.page);
        return github.rest.issues.listComments(params);
      }, { ...issue, per_page: 2 });
      await github.rest.issues.createComment({ ...issue, body: word() });
      return `${all.length} on pages ${pages}`;
    };
    """
    word = "exports.word = () => process.env.WORD + require('path').sep;\n"
    files = {".github/scripts/count.js": dedent(count), ".github/scripts/word.js": word}
    rehearsal = rehearse({"w.yml": workflow}, files)
    rehearsal.repo.commit("feature", "change", {"a.txt": "a"})
    results = []
    for action in ("opened", "synchronize", "synchronize", "synchronize"):
        run = rehearsal.run("w.yml", pull_request(rehearsal.repo, rehearsal.state, "feature", 5, action=action))
        assert run.conclusion == "success", run.log
        results.append(run.jobs["comment"].steps[1].outputs["result"])
    # A next page only while the link header names one: two comments fill page 1 and end there.
    assert results == ['"0 on pages 1"', '"1 on pages 1"', '"2 on pages 1"', '"3 on pages 1,2"']
    assert [c["body"] for c in rehearsal.state.comments(5)] == ["x/"] * 4


def test_fake_gh_dispatches_only_workflows_that_accept_it_with_the_right_permission(rehearse):
    job = """
    on: workflow_dispatch
    jobs:
      go:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        permissions:
          actions: %s
        steps:
          - env:
              GH_TOKEN: ${{ github.token }}
              GH_REPO: ${{ github.repository }}
            run: gh workflow run %s
    """
    rehearsal = rehearse(
        {
            "ok.yml": job % ("write", "target.yml"),
            "no-trigger.yml": job % ("write", "push-only.yml"),
            "read-only.yml": job % ("read", "target.yml"),
            "target.yml": "on: workflow_dispatch\njobs: {}\n",
            "push-only.yml": "on: push\njobs: {}\n",
        }
    )
    dispatch = lambda name: rehearsal.run(name, workflow_dispatch(rehearsal.repo, name))  # noqa: E731
    assert dispatch("ok.yml").conclusion == "success"
    assert "does not have 'workflow_dispatch' trigger" in dispatch("no-trigger.yml").log
    assert "Resource not accessible by integration" in dispatch("read-only.yml").log
    assert [(d["workflow"], d["job"]) for d in rehearsal.state.dispatches()] == [("target.yml", "go")]


def test_fake_gh_api_include_answers_recorded_files_with_their_status(rehearse, tmp_path):
    job = """
    on: workflow_dispatch
    jobs:
      go:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        permissions:
          contents: %s
        steps:
          - env:
              GH_TOKEN: ${{ github.token }}
            run: gh api --include --method GET "repos/${{ github.repository }}/%s?per_page=100" > "$RUNNER_TEMP/out"
          - if: ${{ always() }}
            run: cat "$RUNNER_TEMP/out"
    """
    rehearsal = rehearse(
        {
            "found.yml": job % ("read", "actions/variables"),
            "missing.yml": job % ("read", "environments/tuning"),
            "failing.yml": job % ("read", "actions/secrets"),
            "no-token.yml": job % ("none", "actions/variables"),
        }
    )
    answers = tmp_path / "answers"
    (answers / "repo" / "actions").mkdir(parents=True)
    (answers / "repo" / "actions" / "variables.json").write_text('{"variables": [{"name": "RUNNER"}]}')
    data = rehearsal.state.load()
    data["api_answers"] = str(answers)
    data["api_failures"] = {"actions/secrets": {"status": 429, "body": {"message": "slow down"}}}
    rehearsal.state.save(data)
    dispatch = lambda name: rehearsal.run(name, workflow_dispatch(rehearsal.repo, name))  # noqa: E731
    found = dispatch("found.yml")
    assert found.conclusion == "success" and "HTTP/2.0 200 -" in found.log and '"name": "RUNNER"' in found.log
    missing = dispatch("missing.yml")
    assert (
        missing.conclusion == "failure"
        and "HTTP/2.0 404 -" in missing.log
        and "gh: Not Found (HTTP 404)" in missing.log
    )
    assert "HTTP/2.0 429 -" in dispatch("failing.yml").log
    assert "Resource not accessible by integration" in dispatch("no-token.yml").log


def test_workflows_only_run_on_events_they_handle(rehearse):
    rehearsal = rehearse({"w.yml": "on:\n  push:\n    branches: [main]\njobs: {}\n"})
    rehearsal.repo.commit("feature", "change", {"a.txt": "a"})
    with pytest.raises(NotRehearsable):
        rehearsal.run("w.yml", push(rehearsal.repo, branch="feature"))


PUSH_BRANCH = """
on: push
permissions: {}
jobs:
  publish:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions:
      contents: %s
    steps:
      - uses: %s
        with:
          persist-credentials: false
      - env:
          GITHUB_TOKEN: %s
        run: |
          git -c user.name=bot -c user.email=bot@example.com commit --quiet --allow-empty -m note
          git push --quiet origin HEAD:refs/heads/notes
"""


@pytest.mark.parametrize(
    ("contents", "token", "result"),
    [
        ("write", "${{ github.token }}", "success"),
        ("read", "${{ github.token }}", "failure"),
        ("write", "''", "failure"),
    ],
)
def test_a_job_pushes_only_with_a_token_that_may_write_contents(rehearse, contents, token, result):
    rehearsal = rehearse({"push.yml": PUSH_BRANCH % (contents, CHECKOUT, token)})
    run = rehearsal.run("push.yml", push(rehearsal.repo))
    assert run.jobs["publish"].result == result, run.log
    pushed = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "refs/heads/notes"], cwd=rehearsal.repo.origin)
    assert (pushed.returncode == 0) == (result == "success")


def test_a_matrix_runs_one_job_per_combination_with_its_matrix_and_strategy(rehearse):
    rehearsal = rehearse(
        {
            "m.yml": """
            on: push
            permissions: {}
            jobs:
              plan:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                outputs:
                  workers: ${{ steps.plan.outputs.workers }}
                steps:
                  - id: plan
                    run: echo "workers=[1, 2, 3]" >> "$GITHUB_OUTPUT"
              work:
                needs: plan
                runs-on: ubuntu-latest
                timeout-minutes: 5
                strategy:
                  fail-fast: false
                  matrix:
                    worker: ${{ fromJSON(needs.plan.outputs.workers) }}
                    size: [small]
                env:
                  TOTAL: ${{ strategy.job-total }}
                steps:
                  - run: |
                      echo "worker ${{ matrix.worker }} ${{ matrix.size }} of $TOTAL, index ${{ strategy.job-index }}"
                      test "${{ matrix.worker }}" != 2
              after:
                needs: work
                if: always()
                runs-on: ubuntu-latest
                timeout-minutes: 5
                steps:
                  - run: test "${{ needs.work.result }}" = failure
            """,
            "bad.yml": """
            on: push
            permissions: {}
            jobs:
              work:
                runs-on: ubuntu-latest
                timeout-minutes: 5
                strategy:
                  matrix:
                    include: [{worker: 1}]
                steps:
                  - run: "true"
            """,
        }
    )
    run = rehearsal.run("m.yml", push(rehearsal.repo))
    instances = run.jobs["work"].instances
    assert [job.matrix for job in instances] == [{"worker": n, "size": "small"} for n in (1, 2, 3)]
    assert [job.result for job in instances] == ["success", "failure", "success"]  # fail-fast: false
    assert "worker 3 small of 3, index 2" in instances[2].log
    assert run.jobs["work"].result == "failure" and run.jobs["after"].result == "success"
    with pytest.raises(NotRehearsable, match="only a matrix of lists is modelled"):
        rehearsal.run("bad.yml", push(rehearsal.repo))
