#!/usr/bin/env node
// `npm run build` (run by `prepare`, so by `npm ci` and `npm pack`):
//
//  1. tsc compiles src/ and migrations/ to CommonJS in OUT (default dist/):
//     OUT/src/…, OUT/migrations/…, which bin/deskbridge.js runs;
//  2. esbuild bundles the few heavy npm packages a CLI call loads into one
//     file each, OUT/vendor/NAME.js (src/vendor.ts loads them). Node reads,
//     resolves and compiles a package file by file: knex alone is ~330 files
//     (lodash's among them) and took ~85 of a ~200 ms `deskbridge map list`;
//     its bundle loads in ~30 ms. Bundling the whole program was measured
//     too and is slower: `--help` then parses megabytes it never runs.
//
// Usage: node scripts/build.mjs [--out DIR] [--no-check]
//   (the test command builds into .tmp/test-pkg/dist with --no-check: it type-checks the sources beside it)
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const outAt = process.argv.indexOf('--out');
const out = outAt > 0 ? resolve(process.argv[outAt + 1]) : join(root, 'dist');
const noCheck = process.argv.includes('--no-check');

// What each bundle exports; src/vendor.ts names the same, with the package itself as the fallback.
const VENDORED = {
  knex: "module.exports = require('knex');",
  handlebars: "module.exports = require('handlebars');",
  'mailauth-verify': "module.exports = { dkimVerify: require('mailauth/lib/dkim/verify').dkimVerify, dmarc: require('mailauth/lib/dmarc').dmarc };",
  // the parse worker's libraries, which share htmlparser2, entities and libmime: one copy of each; a package is loaded at its first use
  mail: `module.exports = {
    get mailparser() { return require('mailparser'); },
    get libmime() { return require('libmime'); },
    get htmlToText() { return require('html-to-text'); },
    get sanitizeHtml() { return require('sanitize-html'); },
  };`,
};
// Left to Node: native addons, the drivers knex names for databases we do not use, and pg (one copy, shared with our own use).
const EXTERNAL = ['better-sqlite3', 'pg', 'pg-native', 'pg-query-stream', 'sqlite3', 'mysql', 'mysql2', 'mariadb', 'oracledb', 'tedious'];

rmSync(out, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', out, ...(noCheck ? ['--noCheck'] : [])], { stdio: 'inherit', cwd: root });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const vendorDir = join(out, 'vendor');
mkdirSync(vendorDir, { recursive: true });
await Promise.all(
  Object.entries(VENDORED).map(([name, contents]) =>
    build({
      stdin: { contents, resolveDir: root, sourcefile: `vendor-${name}.js`, loader: 'js' },
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      outfile: join(vendorDir, `${name}.js`),
      external: EXTERNAL,
      // names and lines stay readable in a stack trace; whitespace-only minifying measured no faster to load
      minify: false,
      legalComments: 'inline',
      logLevel: 'warning',
    }),
  ),
);
writeFileSync(join(vendorDir, 'README'), 'Bundles of npm packages, built by scripts/build.mjs from node_modules; loaded by src/vendor.ts.\n');
