// doctor.yml, job `issue`: one issue for the repository's settings. When `make doctor` found
// something off, the issue is opened with its table, or the open one gets the new table as a
// comment; only when everything was read and is as expected (`ok`) is the open issue closed.
// `unknown` (some rows unread) and `error` (the API did not answer) leave it as it is: what was
// not read may still be off. The issue is found by the marker its body starts with, so renaming
// or relabelling it does not lose it.
'use strict';

const fs = require('fs');
const { findOpenIssue } = require('./drift-issue.js');
const { runUrl, withinBodyLimit } = require('./markdown.js');

const MARKER = '<!-- doctor-issue -->';
const VERDICTS = ['ok', 'off', 'unknown', 'error'];

/** The open settings issue, or null (searched the way the drift issue is, by its marker). */
function findOpenDoctorIssue({ github, context }) {
  return findOpenIssue({ github, context }, MARKER);
}

/** Open, update or close the settings issue for VERDICT (ok, off, unknown or error) with the table at REPORT_PATH. */
async function doctorIssue({ github, context, core }) {
  const verdict = process.env.VERDICT;
  if (!VERDICTS.includes(verdict)) {
    throw new Error(`VERDICT must be ok, off, unknown or error, not ${JSON.stringify(verdict ?? '')}`);
  }
  if (verdict === 'unknown' || verdict === 'error') {
    core.info(`Verdict ${verdict}: not everything was read, so the settings issue is left as it is`);
    return 'left as it is';
  }
  const run = runUrl(context);
  const existing = await findOpenDoctorIssue({ github, context });
  if (verdict === 'ok') {
    if (!existing) return 'nothing to close';
    const body = `Every setting the workflows rely on is as expected again ([doctor run](${run})).`;
    await github.rest.issues.createComment({ ...context.repo, issue_number: existing.number, body });
    await github.rest.issues.update({ ...context.repo, issue_number: existing.number, state: 'closed' });
    core.info(`Closed settings issue #${existing.number}`);
    return existing.number;
  }
  // The table was escaped by the doctor command (loop/markdown.py); it is only cut to fit here.
  const table = withinBodyLimit(fs.readFileSync(process.env.REPORT_PATH, 'utf8'), `the full table is in run ${run}`);
  const body = `${table}\n\n[Doctor run](${run})`;
  if (existing) {
    await github.rest.issues.createComment({ ...context.repo, issue_number: existing.number, body });
    core.info(`Commented on the open settings issue #${existing.number}`);
    return existing.number;
  }
  const created = await github.rest.issues.create({
    ...context.repo,
    title: 'Repository settings need attention',
    body: `${MARKER}\n${body}`,
  });
  core.info(`Opened settings issue #${created.data.number}`);
  return created.data.number;
}

module.exports = doctorIssue;
module.exports.MARKER = MARKER;
module.exports.findOpenDoctorIssue = findOpenDoctorIssue;
