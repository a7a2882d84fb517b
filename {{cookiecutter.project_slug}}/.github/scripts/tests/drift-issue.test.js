'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const { MARKER, findOpenDriftIssue, issueNumber } = require('../drift-issue.js');
const openDriftIssue = require('../open-drift-issue.js');
const announceChampion = require('../announce-champion.js');
const { fakeContext, fakeCore, fakeGitHub, issue, withEnv } = require('./fake-github.js');

const context = fakeContext();
const other = (number) => issue(number, 'Something else');

function report(text) {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'drift-'));
  fs.writeFileSync(path.join(folder, 'drift.md'), text);
  return path.join(folder, 'drift.md');
}

test('the drift issue is found on a later page of open issues', async () => {
  const issues = [...Array.from({ length: 150 }, (_, i) => other(i + 1)), issue(151, `${MARKER}\nDrift`)];
  const { github, state } = fakeGitHub({ issues });
  const found = await findOpenDriftIssue({ github, context });
  assert.equal(found.number, 151);
  const pages = state.calls.filter((call) => call.method === 'issues.listForRepo');
  assert.deepEqual(pages.map((call) => call.params.page), [1, 2]);
  assert.equal(pages[0].params.creator, 'github-actions[bot]');
  assert.equal(pages[0].params.state, 'open');
});

test('pull requests, closed issues and issues by people are not the drift issue', async () => {
  const closed = { ...issue(2, `${MARKER}\nold`), state: 'closed' };
  const byPerson = issue(3, `${MARKER}\ncopied`, { user: { login: 'mallory', type: 'User' } });
  const pull = issue(4, `${MARKER}\na pull request`, { pull: true });
  const quoted = issue(5, `See ${MARKER}`);
  const { github } = fakeGitHub({ issues: [closed, byPerson, pull, quoted] });
  assert.equal(await findOpenDriftIssue({ github, context }), null);
});

test('a first drift opens the issue with the marker, the label and the run link', async () => {
  const { github, state } = fakeGitHub({ issues: [other(1)] });
  const number = await withEnv({ REPORT_PATH: report('## Drift in `age`\n') }, () =>
    openDriftIssue({ github, context, core: fakeCore() }),
  );
  assert.equal(number, 2);
  const [created] = state.calls.filter((call) => call.method === 'issues.create');
  assert.equal(created.params.title, 'Data drift detected');
  assert.deepEqual(created.params.labels, ['drift']);
  assert.ok(created.params.body.startsWith(`${MARKER}\n## Drift in \`age\``));
  assert.ok(created.params.body.endsWith('(https://github.com/octo/churn/actions/runs/4242)'));
});

test('a later drift comments on the open issue instead of opening another', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(9, `${MARKER}\nfirst`)] });
  const number = await withEnv({ REPORT_PATH: report('again') }, () =>
    openDriftIssue({ github, context, core: fakeCore() }),
  );
  assert.equal(number, 9);
  assert.equal(state.issues.length, 1);
  const [comment] = state.comments;
  assert.equal(comment.issue_number, 9);
  assert.ok(comment.body.startsWith('again\n\n[Drift run and full report]('));
});

test('a report longer than GitHub accepts is cut, with the link to the run kept', async () => {
  const { github, state } = fakeGitHub();
  await withEnv({ REPORT_PATH: report('x'.repeat(70000)) }, () => openDriftIssue({ github, context, core: fakeCore() }));
  const body = state.issues[0].body;
  assert.ok(body.length < 65536, body.length);
  assert.ok(body.endsWith('(https://github.com/octo/churn/actions/runs/4242)'));
});

test('the new champion is announced on the open drift issue', async () => {
  const { github, state } = fakeGitHub({ issues: [other(1), issue(2, `${MARKER}\nDrift`)] });
  const number = await withEnv({ VERSION: '3' }, () => announceChampion({ github, context, core: fakeCore() }));
  assert.equal(number, 2);
  const [comment] = state.comments;
  assert.equal(comment.issue_number, 2);
  assert.ok(comment.body.startsWith(`Version 3 is the champion now, trained and gated on commit ${context.sha}`));
});

test('with no open drift issue the champion is announced nowhere', async () => {
  const { github, state } = fakeGitHub({ issues: [other(1)] });
  const said = await withEnv({ VERSION: '3' }, () => announceChampion({ github, context, core: fakeCore() }));
  assert.equal(said, 'no open drift issue');
  assert.deepEqual(state.comments, []);
});

test('a version that is not a number stops the announcement before any call', async () => {
  for (const version of ['', '0', '3; rm -rf /', '1e3', ' 3']) {
    const { github, state } = fakeGitHub({ issues: [issue(2, `${MARKER}\nDrift`)] });
    await assert.rejects(
      withEnv({ VERSION: version }, () => announceChampion({ github, context, core: fakeCore() })),
      /register gave no version number/,
    );
    assert.deepEqual(state.calls, []);
  }
});

test('an issue number is digits only', () => {
  assert.equal(issueNumber('12', 'input issue'), 12);
  for (const text of ['', ' 12', '0', '012', '0x10', '1e3', '12abc', '-1', undefined]) {
    assert.throws(() => issueNumber(text, 'input issue'), /input issue must be an issue number/, String(text));
  }
});
