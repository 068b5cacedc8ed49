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
/** The parse pool's worker (dist/src/mail/parse-pool.js startWorkerEarly takes it over), or none when it cannot start: the pool starts its own. */
function earlyWorker() {
  try {
    const { Worker } = require('node:worker_threads');
    const worker = new Worker(join(dist, 'mail', 'parse-worker.js'), { workerData: { single: true } });
    worker.unref();
    worker.on('error', () => {}); // until taken over: a worker that fails is dropped there
    return worker;
  } catch {
    return undefined;
  }
}
/** Whether a piped mail may be handed to a running bridge (dist/src/config-file.js); a module that cannot load says yes, and the program says what is wrong. */
function socketMayBeSet() {
  try {
    return require(join(dist, 'config-file.js')).ingestSocketMayBeSet(process.env, process.cwd());
  } catch {
    return true;
  }
}
if (process.argv[2] === 'ingest') {
  // An MTA pipe runs one `ingest` per mail: the mail goes to a running `deskbridge run` when one serves
  // DESKBRIDGE_INGEST_SOCKET, before the command line is even loaded; else the parse worker, the longest
  // step of a mail ingested here, starts at once on the second core, and the plain forms (stdin, files,
  // --json) run without the rest of the command line (cli/ingest-pipe.ts)
  // The ingest path is one bundle (dist/vendor/ingest.js, compiled with its code cache: scripts/build.mjs), its
  // modules as cli/ingest-pipe.js loads them, or those modules themselves in a build without it.
  // The parse worker first, before the program loads (~35 ms of a piped mail's critical path, which runs
  // through the worker's start): for a form the fast path takes (no option but --json), files or a piped mail
  // that no running bridge may take (no ingest socket configured: a mail handed over needs no worker, and
  // starting one cost a handed-over call ~30 ms and ~50 ms of CPU); the fast path takes it over, or stops it
  // when the call goes another way.
  const args = process.argv.slice(3);
  const fastForm = args.every((a) => a === '--json' || !a.startsWith('-'));
  const piped = args.every((a) => a === '--json');
  const worker = fastForm && !(piped && socketMayBeSet()) ? earlyWorker() : undefined;
  const { vendored, REINSTALL } = require(join(dist, 'vendor.js'));
  // A damaged bundle, or a failure before the command ran (a thread that cannot start): one line, as any command
  // says it, not a stack trace. Not the command line instead: this path may have read stdin already (an MTA's
  // mail), which the command line's own modules would find empty.
  const fail = (err) => {
    process.stderr.write(`deskbridge: ${err && err.message ? err.message : err}\n`);
    process.exit(err && typeof err.exitCode === 'number' ? err.exitCode : 1);
  };
  try {
    const ingestPath = vendored('ingest', () => require(join(dist, 'cli', 'ingest-pipe.js')));
    if (typeof ingestPath.pipeFastPath !== 'function') throw new Error(`${join(dist, '..', 'vendor', 'ingest.js')} does not hold the ingest path: this installation of deskbridge is damaged; ${REINSTALL}`);
    ingestPath.pipeFastPath(args, worker).then((done) => done || run(), fail);
  } catch (err) {
    fail(err);
  }
} else {
  run();
}
