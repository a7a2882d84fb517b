'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const refreshProposed = require('../refresh-proposed.js');
const refreshStopped = require('../refresh-stopped.js');
const { MARKER } = require('../drift-issue.js');
const { fakeContext, fakeGitHub, issue, withEnv } = require('./fake-github.js');

const context = fakeContext();
const PULL = 'https://github.com/octo/churn/pull/12';

test('the drift issue links the refresh pull request', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(3, `${MARKER}\nDrift`)] });
  await withEnv({ ISSUE: '3', PULL: `${PULL}\n` }, () => refreshProposed({ github, context }));
  const [comment] = state.comments;
  assert.equal(comment.issue_number, 3);
  assert.ok(comment.body.startsWith(`The data refresh is proposed in ${PULL}:`), comment.body);
});

test('only a pull request of this repository is linked', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(3, `${MARKER}\nDrift`)] });
  const wrong = ['', 'https://github.com/evil/churn/pull/12', `${PULL}/files`, `[click](${PULL})`, 'https://github.com/octo/churn/pull/'];
  for (const pull of wrong) {
    await assert.rejects(
      withEnv({ ISSUE: '3', PULL: pull }, () => refreshProposed({ github, context })),
      /not a pull request of this repository/,
      pull,
    );
  }
  assert.deepEqual(state.comments, []);
});

test('a bad issue input stops the script before any call', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(3, `${MARKER}\nDrift`)] });
  for (const script of [refreshProposed, refreshStopped]) {
    await assert.rejects(withEnv({ ISSUE: '3 ', PULL }, () => script({ github, context })), /must be an issue number/);
  }
  assert.deepEqual(state.calls, []);
});

test('the refresh error reaches the issue as a code block nothing can close', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(3, `${MARKER}\nDrift`)] });
  const error = 'column `a` ```\n@octo <img src=x> [link](http://evil)';
  await withEnv({ ISSUE: '3', ERROR: error }, () => refreshStopped({ github, context }));
  const [comment] = state.comments;
  assert.ok(comment.body.startsWith('The data refresh stopped and proposed nothing ([run](https://github.com/octo/churn/actions/runs/4242)):'));
  assert.ok(comment.body.endsWith(`\n\n\`\`\`\`text\n${error}\n\`\`\`\``), comment.body);
});

test('without an error output the issue is sent to the run log', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(3, `${MARKER}\nDrift`)] });
  await withEnv({ ISSUE: '3', ERROR: '' }, () => refreshStopped({ github, context }));
  assert.ok(state.comments[0].body.endsWith('```text\nsee the run log\n```'));
});
