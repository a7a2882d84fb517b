// drift.yml, job `issue`: open the drift issue with the report, or comment the report on the
// open one. Returns the issue's number (the step's `result`), which refresh.yml is given.
'use strict';

const fs = require('fs');
const { MARKER, findOpenDriftIssue } = require('./drift-issue.js');
const { runUrl, withinBodyLimit } = require('./markdown.js');

/** Open or update the drift issue with the report at REPORT_PATH (written by `make drift-check`). */
module.exports = async function openDriftIssue({ github, context, core }) {
  const run = runUrl(context);
  const report = withinBodyLimit(fs.readFileSync(process.env.REPORT_PATH, 'utf8'), `the full report is in run ${run}`);
  const body = `${report}\n\n[Drift run and full report](${run})`;
  const existing = await findOpenDriftIssue({ github, context });
  if (existing) {
    await github.rest.issues.createComment({ ...context.repo, issue_number: existing.number, body });
    core.info(`Commented on the open drift issue #${existing.number}`);
    return existing.number;
  }
  const created = await github.rest.issues.create({
    ...context.repo,
    title: 'Data drift detected',
    labels: ['drift'],
    body: `${MARKER}\n${body}`,
  });
  core.info(`Opened drift issue #${created.data.number}`);
  return created.data.number;
};
