'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const commentReport = require('../report-comment.js');
const { BOT, HttpError, fakeContext, fakeCore, fakeGitHub, issue, withEnv } = require('./fake-github.js');

const { MARKER, reportImages } = commentReport;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const context = fakeContext({ number: 7 });

/** A report folder as the train job uploads it: report.md and report-images/. */
function reportFolder(text, images = {}) {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
  fs.writeFileSync(path.join(folder, 'report.md'), text);
  fs.mkdirSync(path.join(folder, 'report-images'));
  for (const [name, data] of Object.entries(images)) fs.writeFileSync(path.join(folder, 'report-images', name), data);
  return folder;
}

function run(github, folder) {
  return withEnv({ REPORT_DIR: folder }, () => commentReport({ github, context, core: fakeCore() }));
}

test('only PNG files with plain names of 1 MB at most are published, 8 at most, by name', () => {
  const images = {
    'roc.png': PNG,
    'a.png': PNG,
    'fake.png': Buffer.from('<svg onload=alert(1)>'),
    'big.png': Buffer.concat([PNG, Buffer.alloc(1048576)]),
    'Upper.png': PNG,
    'x](http:evil).png': PNG,
    'notes.txt': PNG,
  };
  for (let i = 0; i < 10; i += 1) images[`plot_${i}.png`] = PNG;
  const found = reportImages(path.join(reportFolder('r', images), 'report-images'));
  assert.deepEqual(
    found.map((image) => image.name),
    ['a.png', 'plot_0.png', 'plot_1.png', 'plot_2.png', 'plot_3.png', 'plot_4.png', 'plot_5.png', 'plot_6.png'],
  );
  assert.deepEqual(reportImages('/nonexistent/report-images'), []);
});

test('the first report creates one comment with its images committed on refs/pr-reports/<number>', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(7, 'the pull request', { pull: true })] });
  await run(github, reportFolder('## Report\n', { 'roc.png': PNG, 'comparison.png': PNG }));
  const [comment] = state.comments;
  assert.equal(comment.issue_number, 7);
  assert.ok(comment.body.startsWith(`${MARKER}\n## Report\n`));
  const commit = state.refs['refs/pr-reports/7'];
  assert.ok(commit, 'the ref was created');
  assert.deepEqual(state.objects.get(commit).parents, []);
  const tree = state.objects.get(state.objects.get(commit).tree);
  assert.deepEqual(tree.map((entry) => entry.path), ['comparison.png', 'roc.png']);
  assert.ok(state.objects.get(tree[1].sha).equals(PNG));
  const raw = `https://github.com/octo/churn/raw/${commit}`;
  assert.ok(comment.body.endsWith(`### Plots\n\n![comparison](${raw}/comparison.png)\n![roc](${raw}/roc.png)\n`));
});

test('a later report updates the comment in place, found on a later page, and moves the ref', async () => {
  const others = Array.from({ length: 120 }, (_, i) => ({ id: i + 1, issue_number: 7, body: `comment ${i}`, user: BOT }));
  const pasted = { id: 500, issue_number: 7, body: `${MARKER}\nfake`, user: { login: 'mallory', type: 'User' } };
  const mine = { id: 501, issue_number: 7, body: `${MARKER}\nold`, user: BOT };
  const { github, state } = fakeGitHub({
    issues: [issue(7, 'the pull request', { pull: true })],
    comments: [...others, pasted, mine],
    refs: { 'refs/pr-reports/7': 'f'.repeat(40) },
  });
  await run(github, reportFolder('new', { 'roc.png': PNG }));
  assert.equal(state.comments.length, 122);
  assert.ok(mine.body.startsWith(`${MARKER}\nnew`));
  assert.equal(pasted.body, `${MARKER}\nfake`);
  const pages = state.calls.filter((call) => call.method === 'issues.listComments').map((call) => call.params.page);
  assert.deepEqual(pages, [1, 2]);
  assert.notEqual(state.refs['refs/pr-reports/7'], 'f'.repeat(40));
  assert.equal(state.calls.filter((call) => call.method === 'git.createRef').length, 0);
});

test('a report without images publishes nothing but the comment', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(7, 'the pull request', { pull: true })] });
  await run(github, reportFolder('text only'));
  assert.deepEqual(state.calls.map((call) => call.method), ['issues.listComments', 'issues.createComment']);
  assert.equal(state.comments[0].body, `${MARKER}\ntext only`);
});

test('an error other than a missing ref stops the script before it comments', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(7, 'the pull request', { pull: true })] });
  github.rest.git.updateRef = async () => {
    throw new HttpError(403, 'Resource not accessible by integration');
  };
  await assert.rejects(run(github, reportFolder('r', { 'roc.png': PNG })), /Resource not accessible/);
  assert.deepEqual(state.comments, []);
});

test('a report longer than a comment may be is cut before the plots, which stay', async () => {
  const { github, state } = fakeGitHub({ issues: [issue(7, 'the pull request', { pull: true })] });
  await run(github, reportFolder('z'.repeat(80000), { 'roc.png': PNG }));
  const body = state.comments[0].body;
  assert.ok(body.length < 65536, body.length);
  assert.match(body, /the whole report is in the job summary\.\n### Plots\n\n!\[roc\]\(/);
});
