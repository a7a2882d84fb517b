// Evaluate GitHub Actions expressions with @actions/expressions, GitHub's own evaluator.
//
// A line-oriented JSON server: each stdin line is a request, each stdout line its answer.
//   request:  {"expr": "...", "contexts": {...}, "status": {"success": true, "failure": false},
//              "workspace": "/path"}   (status only where status functions are allowed,
//              workspace only where hashFiles is)
//   answer:   {"ok": true, "value": <JSON>, "string": "<as GitHub converts it to a string>",
//              "truthy": <bool>}  or  {"ok": false, "error": "..."}
// Only the contexts present in `contexts` are known to the parser, so an expression that uses a
// context where GitHub does not offer it fails here as it fails on GitHub.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { createInterface } from "node:readline";
import { Evaluator, Lexer, Parser, data } from "@actions/expressions";

const STATUS = ["success", "failure", "cancelled", "always"];

function toData(value) {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver);
}

function truthy(value) {
  switch (value.kind) {
    case data.Kind.Null:
      return false;
    case data.Kind.Boolean:
      return value.value;
    case data.Kind.Number:
      return !(value.value === 0 || Number.isNaN(value.value));
    case data.Kind.String:
      return value.value.length > 0;
    default:
      return true;
  }
}

// Glob as @actions/glob reads it: `**` any depth, `*` and `?` within one path segment.
function globToRegExp(pattern) {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") {
      out += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += pattern[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${out}(?:/.*)?$`);
}

function listFiles(root) {
  const files = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (stat?.isDirectory()) walk(path);
      else if (stat?.isFile()) files.push(path);
    }
  };
  walk(root);
  return files;
}

// hashFiles(patterns...): SHA-256 over the SHA-256 of each matching file, '' when none match.
function hashFiles(workspace, patterns) {
  const include = patterns.filter((p) => !p.startsWith("!")).map((p) => globToRegExp(p.replace(/^\.\//, "")));
  const exclude = patterns.filter((p) => p.startsWith("!")).map((p) => globToRegExp(p.slice(1).replace(/^\.\//, "")));
  const matched = listFiles(workspace).filter((file) => {
    const rel = relative(workspace, file).split(sep).join("/");
    return include.some((re) => re.test(rel)) && !exclude.some((re) => re.test(rel));
  });
  if (matched.length === 0) return "";
  const total = createHash("sha256");
  for (const file of matched) total.update(createHash("sha256").update(readFileSync(file)).digest());
  return total.digest("hex");
}

function evaluate(request) {
  const functions = new Map();
  const infos = [];
  if (request.status) {
    for (const name of STATUS) {
      const result = name === "always" ? true : Boolean(request.status[name]);
      functions.set(name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(result) });
      infos.push({ name, minArgs: 0, maxArgs: 0 });
    }
  }
  if (request.workspace) {
    const call = (...args) => new data.StringData(hashFiles(request.workspace, args.map((a) => a.coerceString())));
    functions.set("hashfiles", { name: "hashFiles", minArgs: 1, maxArgs: 255, call });
    infos.push({ name: "hashFiles", minArgs: 1, maxArgs: 255 });
  }
  const contexts = Object.keys(request.contexts);
  const tokens = new Lexer(request.expr).lex().tokens;
  const tree = new Parser(tokens, contexts, infos).parse();
  const context = new data.Dictionary(...contexts.map((key) => ({ key, value: toData(request.contexts[key]) })));
  const value = new Evaluator(tree, context, functions).evaluate();
  return {
    ok: true,
    value: JSON.parse(JSON.stringify(value, data.replacer) ?? "null"),
    string: value.coerceString(),
    truthy: truthy(value),
  };
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  let answer;
  try {
    answer = evaluate(JSON.parse(line));
  } catch (error) {
    answer = { ok: false, error: String(error?.message ?? error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
