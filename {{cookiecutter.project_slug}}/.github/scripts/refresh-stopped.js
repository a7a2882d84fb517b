// refresh.yml, job `failed`: tell the drift issue why the data refresh proposed nothing.
'use strict';

const { issueNumber } = require('./drift-issue.js');
const { codeBlock, runUrl } = require('./markdown.js');

/** Comment on drift issue ISSUE with the refresh's error (ERROR, the refresh job's output). */
module.exports = async function refreshStopped({ github, context }) {
  const issue = issueNumber(process.env.ISSUE, 'input issue');
  // The error quotes the source and the data (column names, values): a code block shows it as
  // it is, with no Markdown, HTML or @mention taking effect.
  const why = codeBlock(process.env.ERROR || 'see the run log');
  await github.rest.issues.createComment({
    ...context.repo,
    issue_number: issue,
    body: `The data refresh stopped and proposed nothing ([run](${runUrl(context)})):\n\n${why}`,
  });
};
