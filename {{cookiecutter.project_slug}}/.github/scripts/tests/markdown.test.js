'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { BODY_LIMIT, codeBlock, runUrl, withinBodyLimit } = require('../markdown.js');
const { fakeContext } = require('./fake-github.js');

/** The text a CommonMark fenced block shows: lines after the opening fence up to a closing one. */
function fencedContent(block) {
  const [opening, ...lines] = block.split('\n');
  const fence = opening.match(/^`+/)[0];
  const end = lines.findIndex((line) => new RegExp(`^ {0,3}\`{${fence.length},}\\s*$`).test(line));
  assert.equal(end, lines.length - 1, 'the block closes only at its last line');
  return lines.slice(0, end).join('\n');
}

test('a code block shows text with backtick fences in it unchanged', () => {
  for (const text of ['plain', '```\n# heading', '`````', 'a ``` b\n```\n````', '<b>@octo</b>']) {
    assert.equal(fencedContent(codeBlock(text)), text);
  }
});

test('a long text is cut in its code block, saying how much is left out', () => {
  const block = codeBlock('x'.repeat(5000), 100);
  assert.equal(fencedContent(block), `${'x'.repeat(100)}\n... (4900 more characters in the run log)`);
});

test('a body GitHub would refuse is cut and says where the rest is', () => {
  assert.equal(withinBodyLimit('short', 'elsewhere'), 'short');
  const cut = withinBodyLimit('y'.repeat(BODY_LIMIT + 10), 'in the job summary');
  assert.ok(cut.length < 65536 - 2000);
  assert.ok(cut.endsWith('cut to fit a GitHub comment: in the job summary.'));
});

test('the run link is the run page of this repository', () => {
  assert.equal(runUrl(fakeContext()), 'https://github.com/octo/churn/actions/runs/4242');
});
