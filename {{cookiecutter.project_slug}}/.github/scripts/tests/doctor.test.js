'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const doctorIssue = require('../doctor-issue.js');
const deletePrReport = require('../delete-pr-report.js');
const { MARKER } = doctorIssue;
const { HttpError, fakeContext, fakeCore, fakeGitHub, issue, withEnv } = require('./fake-github.js');

const context = fakeContext();

function table(text) {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'doctor-'));
  fs.writeFileSync(path.join(folder, 'doctor.md'), text);
  return path.join(folder, 'doctor.md');
}

test('settings that are off open one issue with the table and the run link', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(1, 'Something else')] });
  const number = await withEnv({ VERDICT: 'off', REPORT_PATH: table('| setting |\n') }, () =>
    doctorIssue({ github, context, core: fakeCore() }),
  );
  assert.equal(number, 2);
  const created = state.issues[1];
  assert.equal(created.title, 'Repository settings need attention');
  assert.ok(created.body.startsWith(`${MARKER}\n| setting |`));
  assert.ok(created.body.endsWith('(https://github.com/octo/churn/actions/runs/4242)'));
});

test('a later run comments on the open issue instead of opening another', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(5, `${MARKER}\nold table`)] });
  const number = await withEnv({ VERDICT: 'off', REPORT_PATH: table('new table') }, () =>
    doctorIssue({ github, context, core: fakeCore() }),
  );
  assert.equal(number, 5);
  assert.equal(state.issues.length, 1);
  assert.ok(state.comments[0].body.startsWith('new table\n\n[Doctor run]('));
});

test('settings as expected again close the open issue; with none open nothing happens', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(5, `${MARKER}\nold table`)] });
  await withEnv({ VERDICT: 'ok' }, () => doctorIssue({ github, context, core: fakeCore() }));
  assert.equal(state.issues[0].state, 'closed');
  assert.ok(state.comments[0].body.startsWith('Every setting the workflows rely on is as expected again'));
  const empty = fakeGitHub();
  const said = await withEnv({ VERDICT: 'ok' }, () => doctorIssue({ github: empty.github, context, core: fakeCore() }));
  assert.equal(said, 'nothing to close');
  assert.deepEqual(empty.state.calls.map((call) => call.method), ['issues.listForRepo']);
});

for (const verdict of ['unknown', 'error']) {
  test(`a run with verdict ${verdict} never closes the open issue: what was not read may be off`, async () => {
    const { github, state } = fakeGitHub({ issues: [issue(5, `${MARKER}\nold table`)] });
    const said = await withEnv({ VERDICT: verdict }, () => doctorIssue({ github, context, core: fakeCore() }));
    assert.equal(said, 'left as it is');
    assert.equal(state.issues[0].state, 'open');
    assert.deepEqual(state.comments, []);
    assert.deepEqual(state.calls, []);
  });
}

test('an issue by a person, or one that quotes the marker, is not the settings issue', async () => {
  const byPerson = issue(3, `${MARKER}\ncopied`, { user: { login: 'mallory', type: 'User' } });
  const { github, state } = fakeGitHub({ issues: [byPerson, issue(4, `See ${MARKER}`)] });
  await withEnv({ VERDICT: 'off', REPORT_PATH: table('t') }, () => doctorIssue({ github, context, core: fakeCore() }));
  assert.equal(state.issues.length, 3);
});

test('a verdict other than ok or off stops the script before any call', async () => {
  for (const verdict of ['', 'OK', 'off; rm -rf /', undefined]) {
    const { github, state } = fakeGitHub();
    await assert.rejects(
      withEnv({ VERDICT: verdict ?? '' }, () => doctorIssue({ github, context, core: fakeCore() })),
      /VERDICT must be ok, off, unknown or error/,
    );
    assert.deepEqual(state.calls, []);
  }
});

test('a closed pull request loses its report ref; one without a ref is fine', async () => {
  const { github, state } = fakeGitHub({ refs: { 'refs/pr-reports/7': 'a'.repeat(40), 'refs/pr-reports/8': 'b'.repeat(40) } });
  assert.equal(await withEnv({ PULL: '7' }, () => deletePrReport({ github, context, core: fakeCore() })), 'deleted');
  assert.deepEqual(Object.keys(state.refs), ['refs/pr-reports/8']);
  assert.equal(await withEnv({ PULL: '9' }, () => deletePrReport({ github, context, core: fakeCore() })), 'none');
});

test('a refusal other than a missing ref fails, and only a number names the ref', async () => {
  const { github } = fakeGitHub();
  github.rest.git.deleteRef = async () => {
    throw new HttpError(403, 'Resource not accessible by integration');
  };
  await assert.rejects(withEnv({ PULL: '7' }, () => deletePrReport({ github, context, core: fakeCore() })), /not accessible/);
  for (const pull of ['', '0', '7/../heads/main', '07', ' 7']) {
    await assert.rejects(
      withEnv({ PULL: pull }, () => deletePrReport({ github, context, core: fakeCore() })),
      /PULL must be a pull request number/,
    );
  }
});
