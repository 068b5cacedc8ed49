#!/usr/bin/env node
// Entry point of the `deskbridge` command (package.json "bin"): runs the
// compiled JavaScript in dist/ (`npm run build`, run by `npm ci` through
// `prepare`, shipped in the package), so a call costs no TypeScript
// transpiling and works from any directory once installed. Development and
// tests run the sources through tsx instead (scripts/deskbridge-dev.cjs).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`deskbridge: ${main} is missing; run \`npm run build\` in ${join(__dirname, '..')} (or use scripts/deskbridge-dev.cjs to run the sources)\n`);
  process.exit(1);
}
// Node.js 22.1+ keeps compiled code between runs (module compile cache); on
// Node.js 20 this is a no-op. An MTA pipe starts one process per mail.
require('node:module').enableCompileCache?.();
require(main).main(process.argv);
