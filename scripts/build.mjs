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
//     too and is slower: `--help` then parses megabytes it never runs;
//  3. each bundle is made pure ASCII (esbuild escapes strings, regular
//     expressions and names, and leaves comments as they are): Node.js reads
//     an ASCII file into a one-byte string, where a few non-ASCII characters
//     in comments cost mail.js ~25 ms of UTF-8 decoding at every start; and
//     it is written inside the CommonJS module wrapper src/vendor.ts would
//     otherwise add (joining the two made V8 copy the text once more);
//  4. the packaged templates are compiled ahead into OUT/precompiled-templates.js
//     (src/outbound/render.ts: precompiledModule());
//  5. the program's own `ingest` path (what bin/deskbridge.js runs for
//     `deskbridge ingest`, from OUT/src/cli/ingest-pipe.js: ~80 of our
//     modules) is bundled too, OUT/vendor/ingest.js, npm packages left out:
//     an MTA pipe starts one process per mail, and Node.js resolving, reading
//     and compiling those modules one by one (with no code cache on Node.js
//     20) was ~15 ms of a ~200 ms call (measured: 215 → 199 ms p50 with
//     the bundle and its cache). Each module keeps its own __dirname and
//     __filename (the folder it was compiled into), so paths made from them
//     (the parse worker's file, the vendor folder) are the same as unbundled;
//  6. OUT/src/code-cache.js runs the bundles through a piece of the program's
//     work and writes their V8 code cache beside them (NAME.js.v8cache),
//     which src/vendor.ts compiles them with.
//
// Usage: node scripts/build.mjs [--out DIR] [--no-check]
//   (the test command builds into .tmp/test-pkg/dist with --no-check: it type-checks the sources beside it)
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { build, transform } from 'esbuild';
import { startupPlugin } from './bundle-startup.mjs';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const outAt = process.argv.indexOf('--out');
const out = outAt > 0 ? resolve(process.argv[outAt + 1]) : join(root, 'dist');
const noCheck = process.argv.includes('--no-check');

// What each bundle exports; src/vendor.ts names the same, with the package itself as the fallback.
const VENDORED = {
  knex: "module.exports = require('knex');",
  handlebars: "module.exports = require('handlebars');",
  'mailauth-verify': "module.exports = { dkimVerify: require('mailauth/lib/dkim/verify').dkimVerify, dmarc: require('mailauth/lib/dmarc').dmarc };",
  // nodemailer's pieces, file by file ~60 ms of a single piped mail's main thread (mime-node alone pulls fetch, http, dns…)
  nodemailer: `module.exports = {
    get addressparser() { return require('nodemailer/lib/addressparser'); },
    get MimeNode() { return require('nodemailer/lib/mime-node'); },
    get mimeFuncs() { return require('nodemailer/lib/mime-funcs'); },
    get base64() { return require('nodemailer/lib/base64'); },
    get qp() { return require('nodemailer/lib/qp'); },
    get MailComposer() { return require('nodemailer/lib/mail-composer'); },
    get SMTPConnection() { return require('nodemailer/lib/smtp-connection'); },
    get shared() { return require('nodemailer/lib/shared'); },
  };`,
  // the parse worker's libraries, which share htmlparser2, entities and libmime: one copy of each; a package is loaded at its first use
  mail: `module.exports = {
    get mailparser() { return require('mailparser'); },
    get libmime() { return require('libmime'); },
    get htmlToText() { return require('html-to-text'); },
    get sanitizeHtml() { return require('sanitize-html'); },
  };`,
};
// Left to Node: the drivers knex names for databases we do not use, and pg (one copy, shared with our own use).
// better-sqlite3's JavaScript goes into the knex bundle (14 files less to load); its compiled addon stays where
// npm put it, and src/store/db.ts names it to the package (its own search would look beside the bundle).
const EXTERNAL = ['pg', 'pg-native', 'pg-query-stream', 'sqlite3', 'mysql', 'mysql2', 'mariadb', 'oracledb', 'tedious'];

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
      // work the packages do as they load, moved to their first use (scripts/bundle-startup.mjs)
      plugins: name === 'mail' || name === 'nodemailer' ? [startupPlugin(root, name)] : [],
      // names and lines stay readable in a stack trace; whitespace-only minifying measured no faster to load
      minify: false,
      legalComments: 'inline',
      logLevel: 'warning',
    }),
  ),
);

/**
 * Gives each of our modules in a bundle its own __dirname and __filename, where tsc compiled it (OUT/src/…,
 * OUT/migrations/…).
 * Every file bundled must be one of ours (npm packages are left out): one that is not, or is reached by another
 * path (esbuild gives real paths: OUT is compared as its real path, a folder reached through a symlink
 * included), stops the build, rather than leaving a module that takes the bundle's folder for its own.
 */
const ownPaths = (roots, bundleDir) => ({
  name: 'own-paths',
  setup(b) {
    b.onLoad({ filter: /.*/ }, (args) => {
      if (!roots.some((root) => args.path.startsWith(root + sep)) || !args.path.endsWith('.js')) return { errors: [{ text: `${args.path} is not one of the compiled modules under ${roots.join(' or ')}: not bundled into the program (an npm package must stay external)` }] };
      const text = readFileSync(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(text)) return undefined;
      const dir = relative(bundleDir, dirname(args.path)).split(sep).join('/');
      // __deskbridge_bundle_dir: the bundle's own folder (the banner below), as the module wrapper gives it
      const head = `var __dirname = require("node:path").join(__deskbridge_bundle_dir, ${JSON.stringify(dir)}), __filename = require("node:path").join(__dirname, ${JSON.stringify(basename(args.path))});`;
      return { contents: `${head} ${text}`, loader: 'js' }; // on the module's first line: its other lines keep their order
    });
  },
});
const realOut = realpathSync(out);
// the CLI's `ingest` path (step 5): the same modules as OUT/src/cli/ingest-pipe.js loads, in one file
const PROGRAM = 'ingest';
await build({
  entryPoints: [join(out, 'src', 'cli', 'ingest-pipe.js')],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: join(vendorDir, `${PROGRAM}.js`),
  packages: 'external', // npm packages: their own bundles (src/vendor.ts), or Node's require (pg, imapflow, commander)
  // strict, as tsc's modules are (esbuild's own "use strict" comes after the banner, where it is no directive)
  banner: { js: '"use strict"; var __deskbridge_bundle_dir = __dirname;' },
  plugins: [ownPaths([join(realOut, 'src'), join(realOut, 'migrations')], join(realOut, 'vendor'))],
  absWorkingDir: realOut, // the bundle names its modules src/…, wherever it was built
  minify: false,
  logLevel: 'warning',
  // render.ts requires the precompiled templates by a path made at run time: left to Node, as intended
  logOverride: { 'unsupported-require-call': 'silent' },
});
const BUNDLES = [...Object.keys(VENDORED), PROGRAM];
writeFileSync(join(vendorDir, 'README'), 'Bundles of npm packages and of the CLI\'s ingest path, built by scripts/build.mjs from node_modules and dist/src; loaded by src/vendor.ts.\n');

/**
 * Escapes the non-ASCII characters esbuild left (in comments) as \\u{…} text.
 * Checked, not assumed: esbuild must print the same program for both (a
 * U+2028 ends a line comment, and escaped it would not; a raw template's
 * text would change), else the build stops.
 */
async function asciiOnly(file) {
  const text = readFileSync(file, 'utf8');
  if (!/[^\0-\x7f]/.test(text)) return;
  const ascii = text.replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  // legal comments dropped too: escaped or not, a `/*! ... */` notice is no part of the program
  const program = async (code) => (await transform(code, { minifyWhitespace: true, legalComments: 'none', charset: 'ascii', loader: 'js', logLevel: 'silent' })).code;
  if ((await program(text)) !== (await program(ascii))) {
    console.error(`build: ${file} has non-ASCII characters outside comments that cannot be escaped as text (see asciiOnly in scripts/build.mjs)`);
    process.exit(1);
  }
  writeFileSync(file, ascii);
}
// (not the program's: its text-matching patterns hold words in other scripts inside String.raw, which cannot be
// escaped; read as UTF-8, its ~0.4 MB cost ~1 ms more)
await Promise.all(Object.keys(VENDORED).map((name) => asciiOnly(join(vendorDir, `${name}.js`))));

// each bundle inside the CommonJS module wrapper src/vendor.ts compiles it with (the text is then the script itself)
const { BUNDLE_HEAD, BUNDLE_TAIL } = createRequire(import.meta.url)(join(out, 'src', 'vendor.js'));
for (const name of BUNDLES) {
  const file = join(vendorDir, `${name}.js`);
  writeFileSync(file, `${BUNDLE_HEAD}${readFileSync(file, 'latin1')}${BUNDLE_TAIL}`, 'latin1');
}

// the packaged templates, compiled ahead with the options the program compiles them with (src/outbound/render.ts)
const templates = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(join(out, 'src', 'outbound', 'render.js'))}).precompiledModule())`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (templates.status !== 0 || !templates.stdout.startsWith('// Written by')) {
  console.error('build: compiling the templates ahead failed (above)');
  process.exit(templates.status || 1);
}
writeFileSync(join(out, 'precompiled-templates.js'), templates.stdout);

// The code cache, made by the compiled program itself (src/code-cache.ts), with the Node.js that builds and
// without the caller's NODE_OPTIONS: V8 refuses a cache written under other flags (an `npm ci` run with
// --max-old-space-size would write caches no plain run takes). Optional: without it the bundles compile
// from source at each start, so a failure here is told, not fatal.
const { NODE_OPTIONS: _callerNodeOptions, ...env } = process.env;
const cache = spawnSync(process.execPath, [join(out, 'src', 'code-cache.js')], { stdio: ['ignore', 'ignore', 'inherit'], cwd: root, env: { ...env, DESKBRIDGE_LOG_LEVEL: 'warn' } });
if (cache.status !== 0) console.error(`build: WARNING: the vendor bundles' code cache was not written (above); they will compile from source at each start (\`node ${join(out, 'src', 'code-cache.js')}\` writes it)`);
