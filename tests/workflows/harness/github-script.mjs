// Stand-in for actions/github-script: runs the step's script as the action does (an async
// function of require, github, context, core, ...), with a `github` client that records REST
// calls against the rehearsal's in-memory repository instead of sending them.
//
// Usage: node github-script.mjs STATE.json ORIGIN.git   (inputs arrive as INPUT_* variables, like the action)
// Faithful to actions/github-script v8: `context` is built from GITHUB_* and the event payload as
// @actions/github builds it, the result is set as the `result` output (JSON unless
// result-encoding is string), and a thrown error fails the step. The GITHUB_TOKEN's permissions
// are enforced: a call the job's `permissions:` do not allow fails with 403, as on GitHub.
// The git database endpoints (blobs, trees, commits, refs) write real objects and refs into the
// stand-in repository ORIGIN.git, so a test reads back what a script published.
// `require` resolves "./" ids against the workspace as the action's does, so a step that loads
// `.github/scripts/<file>.js` runs the checked-out file itself; list endpoints serve pages and
// `github.paginate` follows their link header, as Octokit does.
// Anything the rehearsal does not model (other endpoints, exec, glob, io) throws, so a script
// cannot pass by calling something that was not rehearsed.
import { execFileSync } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { resolve } from "node:path";

const stateFile = process.argv[2];
const origin = process.argv[3];
const env = process.env;
const LEVELS = { none: 0, read: 1, write: 2 };
const BOT = { login: "github-actions[bot]", id: 41898282, type: "Bot" };

const load = () => JSON.parse(readFileSync(stateFile, "utf8"));
const save = (state) => writeFileSync(stateFile, JSON.stringify(state, null, 2));

class RequestError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

function input(name) {
  return (env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
}

function unsupported(what) {
  return new Proxy(
    {},
    {
      get(_, prop) {
        if (prop === "then") return undefined;
        throw new Error(`${what}.${String(prop)} is not modelled by the rehearsal`);
      },
    },
  );
}

// --- @actions/github's Context -------------------------------------------------------------
const payload = env.GITHUB_EVENT_PATH ? JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, "utf8")) : {};
const context = {
  payload,
  eventName: env.GITHUB_EVENT_NAME,
  sha: env.GITHUB_SHA,
  ref: env.GITHUB_REF,
  workflow: env.GITHUB_WORKFLOW,
  action: env.GITHUB_ACTION,
  actor: env.GITHUB_ACTOR,
  job: env.GITHUB_JOB,
  runAttempt: parseInt(env.GITHUB_RUN_ATTEMPT, 10),
  runNumber: parseInt(env.GITHUB_RUN_NUMBER, 10),
  runId: parseInt(env.GITHUB_RUN_ID, 10),
  apiUrl: env.GITHUB_API_URL ?? "https://api.github.com",
  serverUrl: env.GITHUB_SERVER_URL ?? "https://github.com",
  graphqlUrl: env.GITHUB_GRAPHQL_URL ?? "https://api.github.com/graphql",
  get repo() {
    const [owner, repo] = env.GITHUB_REPOSITORY.split("/");
    return { owner, repo };
  },
  get issue() {
    return { ...this.repo, number: (payload.issue || payload.pull_request || payload).number };
  },
};

// --- the REST API, against the in-memory repository ----------------------------------------
const token = input("github-token");

function record(state, method, params) {
  state.calls.push({ method, params, job: state.tokens[token]?.job ?? null });
}

function allow(state, scopes, level) {
  const granted = state.tokens[token]?.permissions;
  if (!granted) throw new RequestError(401, "Bad credentials");
  if (!scopes.some((scope) => LEVELS[granted[scope] ?? "none"] >= LEVELS[level])) {
    throw new RequestError(403, "Resource not accessible by integration");
  }
}

function checkRepo(state, params) {
  if (`${params.owner}/${params.repo}` !== state.repository) throw new RequestError(404, "Not Found");
}

function findIssue(state, number) {
  const issue = state.issues.find((i) => i.number === Number(number));
  if (!issue) throw new RequestError(404, "Not Found");
  return issue;
}

// Comments on a pull request can be written with either permission; on an issue only with `issues`.
const scopesFor = (issue) => (issue.pull_request ? ["issues", "pull-requests"] : ["issues"]);
const now = () => new Date().toISOString();
const response = (data, status = 200) => ({ status, data, headers: {}, url: "" });

// One page of a list endpoint as the API serves it: `per_page` items (30 unless asked, 100 at
// most) from `page`, with a `link` header naming the next page while there is one.
function listPage(items, params) {
  const size = Math.min(Number(params.per_page ?? 30), 100);
  const page = Number(params.page ?? 1);
  const more = page * size < items.length;
  const headers = more ? { link: `<${context.apiUrl}/next?page=${page + 1}>; rel="next"` } : {};
  return { status: 200, data: items.slice((page - 1) * size, page * size), headers, url: "" };
}

const endpoints = {
  issues: {
    async listComments(params) {
      const state = load();
      checkRepo(state, params);
      const issue = findIssue(state, params.issue_number);
      allow(state, scopesFor(issue), "read");
      record(state, "issues.listComments", { issue_number: issue.number });
      save(state);
      return listPage(state.comments.filter((c) => c.issue_number === issue.number), params);
    },
    async createComment(params) {
      const state = load();
      checkRepo(state, params);
      const issue = findIssue(state, params.issue_number);
      allow(state, scopesFor(issue), "write");
      const comment = {
        id: state.next_id++,
        issue_number: issue.number,
        body: String(params.body),
        user: BOT,
        created_at: now(),
        updated_at: now(),
      };
      state.comments.push(comment);
      record(state, "issues.createComment", { issue_number: issue.number, comment_id: comment.id });
      save(state);
      return response(comment, 201);
    },
    async updateComment(params) {
      const state = load();
      checkRepo(state, params);
      const comment = state.comments.find((c) => c.id === Number(params.comment_id));
      if (!comment) throw new RequestError(404, "Not Found");
      allow(state, scopesFor(findIssue(state, comment.issue_number)), "write");
      comment.body = String(params.body);
      comment.updated_at = now();
      record(state, "issues.updateComment", { issue_number: comment.issue_number, comment_id: comment.id });
      save(state);
      return response(comment);
    },
    async listForRepo(params) {
      const state = load();
      checkRepo(state, params);
      allow(state, ["issues"], "read");
      record(state, "issues.listForRepo", { state: params.state, creator: params.creator, labels: params.labels });
      save(state);
      const wanted = params.state ?? "open";
      const labels = params.labels ? String(params.labels).split(",").map((l) => l.trim()) : [];
      const found = state.issues.filter(
        (i) =>
          (wanted === "all" || i.state === wanted) &&
          (!params.creator || i.user.login === params.creator) &&
          labels.every((l) => i.labels.some((have) => have.name === l)),
      );
      return listPage(found, params);
    },
    async update(params) {
      const state = load();
      checkRepo(state, params);
      const issue = findIssue(state, params.issue_number);
      allow(state, scopesFor(issue), "write");
      if (params.state !== undefined) {
        if (!["open", "closed"].includes(params.state)) throw new RequestError(422, "Validation Failed: state");
        issue.state = params.state;
      }
      record(state, "issues.update", { issue_number: issue.number, state: params.state });
      save(state);
      return response(issue);
    },
    async create(params) {
      const state = load();
      checkRepo(state, params);
      allow(state, ["issues"], "write");
      if (!params.title) throw new RequestError(422, "Validation Failed: title");
      const issue = {
        number: state.next_number++,
        title: String(params.title),
        body: String(params.body ?? ""),
        state: "open",
        labels: (params.labels ?? []).map((name) => ({ name: typeof name === "string" ? name : name.name })),
        user: BOT,
        created_at: now(),
      };
      state.issues.push(issue);
      record(state, "issues.create", { number: issue.number, title: issue.title });
      save(state);
      return response(issue, 201);
    },
  },
};

// --- the git database API, on the stand-in repository ---------------------------------------
function gitIn(args, input) {
  return execFileSync("git", args, {
    cwd: origin,
    input,
    env: { ...env, GIT_AUTHOR_NAME: BOT.login, GIT_AUTHOR_EMAIL: "41898282+github-actions[bot]@users.noreply.github.com",
           GIT_COMMITTER_NAME: "GitHub", GIT_COMMITTER_EMAIL: "noreply@github.com" },
  }).toString().trim();
}

function refExists(ref) {
  try {
    gitIn(["rev-parse", "--verify", "--quiet", ref]);
    return true;
  } catch {
    return false;
  }
}

function gitCall(params, method, level, details) {
  const state = load();
  checkRepo(state, params);
  allow(state, ["contents"], level);
  record(state, method, details);
  save(state);
}

endpoints.git = {
  async createBlob(params) {
    gitCall(params, "git.createBlob", "write", { encoding: params.encoding });
    const content = Buffer.from(String(params.content), params.encoding === "base64" ? "base64" : "utf8");
    return response({ sha: gitIn(["hash-object", "-w", "--stdin"], content) }, 201);
  },
  async createTree(params) {
    if (params.base_tree || params.tree.some((entry) => entry.path.includes("/") || !entry.sha)) {
      throw new Error("git.createTree: only a flat tree of existing blobs is modelled");
    }
    gitCall(params, "git.createTree", "write", { paths: params.tree.map((entry) => entry.path) });
    const listing = params.tree.map((entry) => `${entry.mode} ${entry.type} ${entry.sha}\t${entry.path}\n`).join("");
    return response({ sha: gitIn(["mktree"], listing) }, 201);
  },
  async createCommit(params) {
    gitCall(params, "git.createCommit", "write", { parents: params.parents ?? [] });
    const parents = (params.parents ?? []).flatMap((parent) => ["-p", parent]);
    return response({ sha: gitIn(["commit-tree", params.tree, ...parents, "-m", String(params.message)]) }, 201);
  },
  async createRef(params) {
    gitCall(params, "git.createRef", "write", { ref: params.ref });
    if (!/^refs\/.+\/.+/.test(params.ref)) throw new RequestError(422, "Reference name is not valid");
    if (refExists(params.ref)) throw new RequestError(422, "Reference already exists");
    gitIn(["update-ref", params.ref, params.sha]);
    return response({ ref: params.ref, object: { sha: params.sha, type: "commit" } }, 201);
  },
  async deleteRef(params) {
    const ref = `refs/${params.ref}`;
    gitCall(params, "git.deleteRef", "write", { ref });
    if (!refExists(ref)) throw new RequestError(422, "Reference does not exist");
    gitIn(["update-ref", "-d", ref]);
    return response(undefined, 204);
  },
  async updateRef(params) {
    const ref = `refs/${params.ref}`;
    gitCall(params, "git.updateRef", "write", { ref, force: Boolean(params.force) });
    if (!refExists(ref)) throw new RequestError(422, "Reference does not exist");
    if (!params.force) {
      try {
        gitIn(["merge-base", "--is-ancestor", ref, params.sha]);
      } catch {
        throw new RequestError(422, "Update is not a fast forward");
      }
    }
    gitIn(["update-ref", ref, params.sha]);
    return response({ ref, object: { sha: params.sha, type: "commit" } });
  },
};

const rest = new Proxy(
  {},
  {
    get(_, namespace) {
      if (!(namespace in endpoints)) return unsupported(`github.rest.${String(namespace)}`);
      return new Proxy(endpoints[namespace], {
        get(target, method) {
          if (!(method in target)) throw new Error(`github.rest.${String(namespace)}.${String(method)} is not modelled by the rehearsal`);
          return target[method];
        },
      });
    },
  },
);

// Octokit's paginate: the method called page after page while the `link` header names a next one.
async function paginate(method, params = {}) {
  const all = [];
  for (let page = Number(params.page ?? 1); ; page += 1) {
    const { data, headers } = await method({ ...params, page });
    all.push(...(Array.isArray(data) ? data : data.items ?? []));
    if (!/rel="next"/.test(headers.link ?? "")) return all;
  }
}

const github = new Proxy(
  { rest, paginate },
  {
    get(target, prop) {
      if (prop in target) return target[prop];
      if (prop === "then") return undefined;
      throw new Error(`github.${String(prop)} is not modelled by the rehearsal`);
    },
  },
);

// --- @actions/core, writing the runner's files ---------------------------------------------
function fileCommand(file, name, value) {
  const delimiter = `ghadelimiter_${randomUUID()}`;
  appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
}

const core = new Proxy(
  {
    getInput: (name) => input(name),
    setOutput: (name, value) =>
      fileCommand(env.GITHUB_OUTPUT, name, typeof value === "string" ? value : JSON.stringify(value ?? "")),
    exportVariable: (name, value) => fileCommand(env.GITHUB_ENV, name, String(value)),
    setFailed: (message) => {
      process.exitCode = 1;
      console.log(`::error::${message}`);
    },
    info: (message) => console.log(message),
    debug: (message) => console.log(`::debug::${message}`),
    notice: (message) => console.log(`::notice::${message}`),
    warning: (message) => console.log(`::warning::${message}`),
    error: (message) => console.log(`::error::${message}`),
  },
  {
    get(target, prop) {
      if (prop in target) return target[prop];
      throw new Error(`core.${String(prop)} is not modelled by the rehearsal`);
    },
  },
);

// --- run the script as the action does -------------------------------------------------------
// The action's `require` (wrapRequire in actions/github-script): an id starting with "." is
// resolved against the working directory, the workspace, so
// `require('./.github/scripts/x.js')` loads that file of the checked-out repository as Node
// would (CommonJS, its own requires relative to itself); other ids resolve from the workspace.
const nodeRequire = createRequire(import.meta.url);
function workspaceRequire(id) {
  if (id.startsWith(".")) return nodeRequire(resolve(id));
  return nodeRequire(nodeRequire.resolve(id, { paths: [process.cwd()] }));
}
const AsyncFunction = Object.getPrototypeOf(async () => null).constructor;
const names = ["require", "__original_require__", "github", "octokit", "context", "core", "exec", "glob", "io"];
const values = [
  workspaceRequire,
  workspaceRequire,
  github,
  github,
  context,
  core,
  unsupported("exec"),
  unsupported("glob"),
  unsupported("io"),
];
try {
  const result = await new AsyncFunction(...names, input("script"))(...values);
  const encoding = input("result-encoding") || "json";
  core.setOutput("result", encoding === "string" ? String(result ?? "") : JSON.stringify(result) ?? "");
} catch (error) {
  core.setFailed(`Unhandled error: ${error.name === "HttpError" ? `HttpError: ${error.message}` : error.stack}`);
}
