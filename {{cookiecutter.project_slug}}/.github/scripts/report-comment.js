// train.yml, job `comment`: the pull request's report as one comment, created once and then
// updated in place, with the report's plots. The images (PNG files with plain names, 1 MB at
// most, 8 at most) become one commit with no parent on refs/pr-reports/<number>, linked by its
// SHA: no image host is needed, and private repositories work too.
'use strict';

const fs = require('fs');
const path = require('path');
const { withinBodyLimit } = require('./markdown.js');

const MARKER = '<!-- train-report -->';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IMAGE_NAME = /^[a-z0-9_-]{1,40}\.png$/; // the alt text and the link need no escaping
const MAX_IMAGE_BYTES = 1048576;
const MAX_IMAGES = 8;

/** The report's images worth publishing: [{name, data}], by name; anything else is skipped. */
function reportImages(folder) {
  if (!fs.existsSync(folder)) return [];
  const images = [];
  for (const name of fs.readdirSync(folder).filter((found) => IMAGE_NAME.test(found)).sort()) {
    const file = path.join(folder, name);
    if (!fs.lstatSync(file).isFile() || fs.statSync(file).size > MAX_IMAGE_BYTES) continue;
    const data = fs.readFileSync(file);
    if (data.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE)) images.push({ name, data });
    if (images.length === MAX_IMAGES) break;
  }
  return images;
}

/** Commit the images to refs/pr-reports/<number>; return the Markdown that shows them ('' for none). */
async function publishImages({ github, context }, images) {
  if (!images.length) return '';
  const tree = [];
  for (const { name, data } of images) {
    const blob = await github.rest.git.createBlob({ ...context.repo, content: data.toString('base64'), encoding: 'base64' });
    tree.push({ path: name, mode: '100644', type: 'blob', sha: blob.data.sha });
  }
  const made = await github.rest.git.createTree({ ...context.repo, tree });
  const message = `Report images of pull request #${context.issue.number}, run ${context.runId}`;
  const commit = await github.rest.git.createCommit({ ...context.repo, message, tree: made.data.sha, parents: [] });
  const ref = `pr-reports/${context.issue.number}`;
  try {
    await github.rest.git.updateRef({ ...context.repo, ref, sha: commit.data.sha, force: true });
  } catch (error) {
    if (error.status !== 422) throw error; // 422: the ref does not exist yet
    await github.rest.git.createRef({ ...context.repo, ref: `refs/${ref}`, sha: commit.data.sha });
  }
  const raw = `${context.serverUrl}/${context.repo.owner}/${context.repo.repo}/raw/${commit.data.sha}`;
  const links = tree.map((entry) => `![${entry.path.slice(0, -'.png'.length)}](${raw}/${entry.path})`);
  return `\n### Plots\n\n${links.join('\n')}\n`;
}

/** Update the workflows' report comment on the pull request, or create it; return its id. */
async function upsertComment({ github, context }, body) {
  const issue = { ...context.repo, issue_number: context.issue.number };
  const comments = await github.paginate(github.rest.issues.listComments, { ...issue, per_page: 100 });
  // Only a bot's comment: anyone can paste the marker into a comment of their own.
  const mine = comments.find((comment) => comment.user?.type === 'Bot' && comment.body?.startsWith(MARKER));
  if (mine) {
    await github.rest.issues.updateComment({ ...context.repo, comment_id: mine.id, body });
    return mine.id;
  }
  const created = await github.rest.issues.createComment({ ...issue, body });
  return created.data.id;
}

/** Comment the report in REPORT_DIR (report.md, report-images/) on the pull request. */
module.exports = async function commentReport({ github, context, core }) {
  const folder = process.env.REPORT_DIR;
  const report = fs.readFileSync(path.join(folder, 'report.md'), 'utf8');
  const plots = await publishImages({ github, context }, reportImages(path.join(folder, 'report-images')));
  const body = `${withinBodyLimit(`${MARKER}\n${report}`, 'the whole report is in the job summary')}${plots}`;
  const id = await upsertComment({ github, context }, body);
  core.info(`Report comment ${id} on pull request #${context.issue.number}`);
  return id;
};

Object.assign(module.exports, { MARKER, publishImages, reportImages, upsertComment });
