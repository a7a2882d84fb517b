// The drift issue: drift.yml opens one and keeps commenting on it while it is open; the data
// refresh (refresh.yml) and the next registration (train.yml) report to it. It is found by the
// marker its body starts with, so renaming or relabelling it by hand does not lose it.
'use strict';

const MARKER = '<!-- drift-issue -->';
const AUTHOR = 'github-actions[bot]'; // issues opened with the workflows' GITHUB_TOKEN

/** The open issue whose body starts with `marker`, or null: every page of the workflows' open issues is searched. */
async function findOpenIssue({ github, context }, marker) {
  const open = await github.paginate(github.rest.issues.listForRepo, {
    ...context.repo,
    state: 'open',
    creator: AUTHOR,
    per_page: 100,
  });
  // The issues endpoint lists pull requests too.
  return open.find((issue) => !issue.pull_request && issue.body?.startsWith(marker)) ?? null;
}

/** The open drift issue, or null. */
async function findOpenDriftIssue({ github, context }) {
  return findOpenIssue({ github, context }, MARKER);
}

/** The issue number a workflow input or variable holds; anything else stops the script. */
function issueNumber(text, what) {
  if (!/^[1-9][0-9]{0,9}$/.test(text ?? '')) {
    throw new Error(`${what} must be an issue number, not ${JSON.stringify(text ?? '')}`);
  }
  return Number(text);
}

module.exports = { AUTHOR, MARKER, findOpenDriftIssue, findOpenIssue, issueNumber };
