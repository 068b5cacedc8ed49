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
const run = () => require(main).main(process.argv);
if (process.argv[2] === 'ingest') {
  // An MTA pipe runs one `ingest` per mail: the mail goes to a running `deskbridge run` when one serves
  // DESKBRIDGE_INGEST_SOCKET, before the command line is even loaded; else the parse worker, the longest
  // step of a mail ingested here, starts at once on the second core, and the plain forms (stdin, files,
  // --json) run without the rest of the command line (cli/ingest-pipe.ts)
  require(join(dist, 'cli', 'ingest-pipe.js'))
    .pipeFastPath(process.argv.slice(3))
    .then((done) => done || run(), run);
} else {
  run();
}
