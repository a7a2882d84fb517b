// A fake of what actions/github-script hands a script: `github` (Octokit, with REST methods and
// paginate that follows pages the way Octokit does), `context` and `core`. It keeps issues,
// comments and git objects in memory and records every call, so a test reads what a script did.
'use strict';

const BOT = { login: 'github-actions[bot]', type: 'Bot' };

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

/** One page of `items` as the REST API returns it, with a `link` header when more follow. */
function page(items, params) {
  const size = params.per_page ?? 30;
  const number = params.page ?? 1;
  const more = number * size < items.length;
  return {
    status: 200,
    data: items.slice((number - 1) * size, number * size),
    headers: more ? { link: `<https://api.github.com/next?page=${number + 1}>; rel="next"` } : {},
  };
}

function fakeGitHub({ issues = [], comments = [], refs = {} } = {}) {
  const state = { issues, comments, refs, objects: new Map(), calls: [], nextId: 1000 };
  const sha = () => (state.nextId++).toString(16).padStart(40, '0');
  const call = (method, params) => state.calls.push({ method, params });
  const issueOf = (number) => {
    const found = state.issues.find((issue) => issue.number === number);
    if (!found) throw new HttpError(404, 'Not Found');
    return found;
  };
  const rest = {
    issues: {
      async listForRepo(params) {
        call('issues.listForRepo', params);
        const found = state.issues.filter(
          (issue) => (params.state ?? 'open') === issue.state && (!params.creator || issue.user.login === params.creator),
        );
        return page(found, params);
      },
      async listComments(params) {
        call('issues.listComments', params);
        issueOf(params.issue_number);
        return page(state.comments.filter((comment) => comment.issue_number === params.issue_number), params);
      },
      async create(params) {
        call('issues.create', params);
        const issue = { number: state.issues.length + 1, state: 'open', user: BOT, ...params };
        state.issues.push(issue);
        return { status: 201, data: issue };
      },
      async createComment(params) {
        call('issues.createComment', params);
        issueOf(params.issue_number);
        const comment = { id: state.nextId++, issue_number: params.issue_number, body: params.body, user: BOT };
        state.comments.push(comment);
        return { status: 201, data: comment };
      },
      async update(params) {
        call('issues.update', params);
        const found = issueOf(params.issue_number);
        Object.assign(found, params.state ? { state: params.state } : {});
        return { status: 200, data: found };
      },
      async updateComment(params) {
        call('issues.updateComment', params);
        const comment = state.comments.find((found) => found.id === params.comment_id);
        if (!comment) throw new HttpError(404, 'Not Found');
        comment.body = params.body;
        return { status: 200, data: comment };
      },
    },
    git: {
      async createBlob(params) {
        call('git.createBlob', params);
        const made = sha();
        state.objects.set(made, Buffer.from(params.content, params.encoding));
        return { status: 201, data: { sha: made } };
      },
      async createTree(params) {
        call('git.createTree', params);
        const made = sha();
        state.objects.set(made, params.tree);
        return { status: 201, data: { sha: made } };
      },
      async createCommit(params) {
        call('git.createCommit', params);
        const made = sha();
        state.objects.set(made, { tree: params.tree, parents: params.parents, message: params.message });
        return { status: 201, data: { sha: made } };
      },
      async updateRef(params) {
        call('git.updateRef', params);
        if (!(`refs/${params.ref}` in state.refs)) throw new HttpError(422, 'Reference does not exist');
        state.refs[`refs/${params.ref}`] = params.sha;
        return { status: 200, data: {} };
      },
      async deleteRef(params) {
        call('git.deleteRef', params);
        if (!(`refs/${params.ref}` in state.refs)) throw new HttpError(422, 'Reference does not exist');
        delete state.refs[`refs/${params.ref}`];
        return { status: 204, data: undefined };
      },
      async createRef(params) {
        call('git.createRef', params);
        if (params.ref in state.refs) throw new HttpError(422, 'Reference already exists');
        state.refs[params.ref] = params.sha;
        return { status: 201, data: {} };
      },
    },
  };
  async function paginate(method, params) {
    const all = [];
    for (let number = 1; ; number += 1) {
      const response = await method({ ...params, page: number });
      all.push(...response.data);
      if (!response.headers.link?.includes('rel="next"')) return all;
    }
  }
  return { github: { rest, paginate }, state };
}

function fakeContext({ number = 7 } = {}) {
  return {
    repo: { owner: 'octo', repo: 'churn' },
    issue: { owner: 'octo', repo: 'churn', number },
    serverUrl: 'https://github.com',
    runId: 4242,
    sha: 'a'.repeat(40),
  };
}

function fakeCore() {
  const lines = [];
  return { lines, info: (line) => lines.push(line), warning: (line) => lines.push(`warning: ${line}`) };
}

/** Run `body` with environment variables set, restoring them afterwards. */
async function withEnv(variables, body) {
  const before = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** An issue (or, with pull_request, a pull request) as the REST API lists it. */
function issue(number, body, { user = BOT, pull = false } = {}) {
  return { number, body, state: 'open', user, ...(pull ? { pull_request: {} } : {}) };
}

module.exports = { BOT, HttpError, fakeContext, fakeCore, fakeGitHub, issue, withEnv };
