// Text that reaches a GitHub comment or issue from outside the script (data, error messages,
// files a job wrote), made safe there once, by the helpers every script uses.
'use strict';

// GitHub refuses a comment or issue body over 65,536 characters: keep room for what the scripts
// add after the text (the plots' links, the run's link).
const BODY_LIMIT = 60000;

/** Put text in a fenced code block, where nothing renders, links or mentions anyone. */
function codeBlock(text, limit = 4000) {
  let inside = String(text);
  if (inside.length > limit) {
    inside = `${inside.slice(0, limit)}\n... (${inside.length - limit} more characters in the run log)`;
  }
  // Only a fence at least as long as the opening one closes a block: make ours longer than any
  // run of backticks in the text.
  const runs = inside.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(3, ...runs.map((run) => run.length + 1)));
  return `${fence}text\n${inside}\n${fence}`;
}

/** Cut a body to what GitHub accepts, saying where the rest is. */
function withinBodyLimit(body, rest) {
  if (body.length <= BODY_LIMIT) return body;
  return `${body.slice(0, BODY_LIMIT)}\n\n... cut to fit a GitHub comment: ${rest}.`;
}

/** The address of this workflow run. */
function runUrl(context) {
  return `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/actions/runs/${context.runId}`;
}

module.exports = { BODY_LIMIT, codeBlock, runUrl, withinBodyLimit };
