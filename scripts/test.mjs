#!/usr/bin/env node
// The test command (`npm test`): type-checks, then runs vitest on SQLite and,
// when it answers, PostgreSQL. Without PostgreSQL it says so loudly and runs
// the SQLite half; under CI (CI=true) an unreachable PostgreSQL is a failure.
// It ends with one plain line "tests: N passed, N failed, N skipped".
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const pgUrl = process.env.DESKBRIDGE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const ci = process.env.CI === 'true' || process.env.CI === '1';

async function postgresAnswers() {
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (err) {
    return err.message || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

const banner = (lines) => {
  const bar = '!'.repeat(78);
  console.error(`\n${bar}\n${lines.map((l) => `!! ${l}`).join('\n')}\n${bar}\n`);
};

// The type check (sources and tests) and a build of the sources for the
// tests' CLI calls, side by side: the tests that run `deskbridge` as a child
// process run this fresh build (a start without tsx's transpiling, as an
// installed deskbridge runs), never a dist/ that may be stale. Vitest run on
// its own, without this script, runs the sources through tsx instead.
const out = join(root, '.tmp');
const testPackage = join(out, 'test-pkg'); // laid out as the package is: bin/deskbridge.js beside dist/
const testBuild = join(testPackage, 'dist');
mkdirSync(out, { recursive: true });
rmSync(testPackage, { recursive: true, force: true });
rmSync(join(out, 'test-dist'), { recursive: true, force: true }); // where an older test command built
const nodeRun = (args) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root });
    child.on('close', (code) => resolve(code));
  });
// the same build as `npm run build` (tsc, then the vendor bundles), into .tmp/test-pkg/dist
const [checked, built] = await Promise.all([nodeRun([join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')]), nodeRun([join(root, 'scripts/build.mjs'), '--out', testBuild, '--no-check'])]);
if (checked !== 0 || built !== 0) {
  console.error(checked !== 0 ? 'type check failed' : 'build for the CLI tests failed');
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}
// the installed entry point itself, so the tests take the paths it takes (an MTA pipe's `ingest` starts there)
const testBin = join(testPackage, 'bin', 'deskbridge.js');
mkdirSync(dirname(testBin), { recursive: true });
copyFileSync(join(root, 'bin', 'deskbridge.js'), testBin);

const pgError = await postgresAnswers();
const args = process.argv.slice(2);
if (pgError) {
  if (ci) {
    banner([`PostgreSQL at ${pgUrl} does not answer: ${pgError}`, 'CI=true: the PostgreSQL half must run. Failing.']);
    console.log('tests: 0 passed, 1 failed');
    process.exit(1);
  }
  banner([`PostgreSQL at ${pgUrl} does not answer: ${pgError}`, 'ONLY THE SQLITE HALF RUNS. Set DESKBRIDGE_TEST_PG or start PostgreSQL to run both.']);
  args.unshift('--project', 'unit', '--project', 'sqlite', '--project', 'sqlite-e2e');
}

const report = join(out, 'vitest-report.json');
rmSync(report, { force: true });
const run = spawnSync(
  process.execPath,
  [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
  { stdio: 'inherit', cwd: root, env: { ...process.env, DESKBRIDGE_TEST_PG: pgUrl, DESKBRIDGE_TEST_BIN: testBin } },
);
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  // a file whose setup failed fails no single test: count it, so the line never says 0 failed on a red run
  const failed = r.numFailedTests > 0 ? r.numFailedTests : run.status !== 0 ? Math.max(1, r.numFailedTestSuites) : 0;
  console.log(`tests: ${r.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
} catch {
  console.log('tests: 0 passed, 1 failed');
}
process.exit(run.status ?? 1);
