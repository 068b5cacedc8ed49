#!/usr/bin/env node
// Entry point of the `deskbridge` command (package.json "bin"): runs the
// compiled JavaScript in dist/ (`npm run build`, run by `npm ci` through
// `prepare`, shipped in the package), so a call costs no TypeScript
// transpiling and works from any directory once installed. Development and
// tests run the sources through tsx instead (scripts/deskbridge-dev.cjs).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const dist = join(__dirname, '..', 'dist', 'src');
const main = join(dist, 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`deskbridge: ${main} is missing; run \`npm run build\` in ${join(__dirname, '..')} (or use scripts/deskbridge-dev.cjs to run the sources)\n`);
  process.exit(1);
}
// Node.js 22.1+ keeps compiled code between runs (module compile cache); on
// Node.js 20 this is a no-op. An MTA pipe starts one process per mail.
require('node:module').enableCompileCache?.();
// An MTA pipe runs one `ingest` per mail, and the parse worker's start is the
// longest step of it: it starts first, on the second core, while the command
// line is built and the database opened (parse-pool.ts startWorkerEarly).
if (process.argv[2] === 'ingest') require(join(dist, 'mail', 'parse-pool.js')).startWorkerEarly();
require(main).main(process.argv);
