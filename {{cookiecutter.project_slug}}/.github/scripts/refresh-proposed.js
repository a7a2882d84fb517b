// refresh.yml, job `pull-request`: link the data-refresh pull request from the drift issue.
'use strict';

const { issueNumber } = require('./drift-issue.js');

/** The address of a pull request of this repository (what `make refresh-pr` printed), checked. */
function pullRequestUrl(text, context) {
  const base = `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/pull/`;
  const url = (text ?? '').trim();
  if (!url.startsWith(base) || !/^[1-9][0-9]*$/.test(url.slice(base.length))) {
    throw new Error(`not a pull request of this repository: ${JSON.stringify(text ?? '')}`);
  }
  return url;
}

/** Comment on drift issue ISSUE that the refresh is proposed in pull request PULL. */
module.exports = async function refreshProposed({ github, context }) {
  const issue = issueNumber(process.env.ISSUE, 'input issue');
  const pull = pullRequestUrl(process.env.PULL, context);
  await github.rest.issues.createComment({
    ...context.repo,
    issue_number: issue,
    body: `The data refresh is proposed in ${pull}: it trains and gates like any pull request, and merging it registers the new model.`,
  });
};

module.exports.pullRequestUrl = pullRequestUrl;
