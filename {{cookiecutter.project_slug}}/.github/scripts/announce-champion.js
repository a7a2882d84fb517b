// train.yml, job `announce`: the loop closes where it started, on the open drift issue, with the
// version that answered it.
'use strict';

const { findOpenDriftIssue } = require('./drift-issue.js');
const { runUrl } = require('./markdown.js');

/** Tell the open drift issue, if there is one, that model VERSION is the champion now. */
module.exports = async function announceChampion({ github, context, core }) {
  const version = process.env.VERSION ?? '';
  if (!/^[1-9][0-9]*$/.test(version)) throw new Error(`register gave no version number: ${JSON.stringify(version)}`);
  const issue = await findOpenDriftIssue({ github, context });
  if (!issue) {
    core.info('No open drift issue: nothing to tell');
    return 'no open drift issue';
  }
  await github.rest.issues.createComment({
    ...context.repo,
    issue_number: issue.number,
    body:
      `Version ${version} is the champion now, trained and gated on commit ${context.sha} ([run](${runUrl(context)})). ` +
      'The next drift check compares the new data with it; close this issue when it finds no drift.',
  });
  return issue.number;
};
