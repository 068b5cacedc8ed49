// `deskbridge ingest` with one mail on stdin, as an MTA pipe runs it: one
// process per mail, so what it loads before it is done is its cost.
//
// bin/deskbridge.js calls pipeFastPath() before it loads the command line:
// with DESKBRIDGE_INGEST_SOCKET served by a running `deskbridge run`, the
// mail is handed over there (ingest-handoff.ts) and the call ends having
// loaded little more than the configuration; otherwise the parse worker is
// started at once (the longest step of a mail ingested here) and the
// `ingest` command runs without commander, with stdin as read so far. The
// plain files form (`ingest FILE…`, as xargs calls it) takes the same short
// way. The `ingest` command itself
// tries the same hand-over when it runs without bin/deskbridge.js (the
// sources through tsx), so the two paths behave alike.
import { lstatSync, type Stats } from 'node:fs';
import type { Config } from '../config';
import { lazy } from './lazy';

let stdin: Promise<Buffer> | null = null;
let handOffTried = false;

/** stdin, read whole once (the fast path may have read it before the command runs). */
export function readStdinOnce(): Promise<Buffer> {
  stdin ??= (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
  return stdin;
}

/**
 * Hands the mail on stdin to the running bridge, once per process; true when
 * it was taken and its result printed. False (and the caller ingests the mail
 * itself) without a socket file, for an empty or too-large mail, and for any
 * failure, which is told on stderr unless it only means no bridge is running.
 */
export async function handOffStdin(config: Config, json: boolean): Promise<boolean> {
  if (handOffTried) return false;
  handOffTried = true;
  const socket = config.ingestSocket;
  if (!socket) return false;
  let st: Stats;
  try {
    st = lstatSync(socket);
  } catch {
    return false; // no bridge serving it: the usual case without one
  }
  // only a socket of this user: one another local user put there would receive the mail (and could answer anything)
  if (!st.isSocket() || !lazy.ingestSocket().sameUser(st)) {
    process.stderr.write(`deskbridge: DESKBRIDGE_INGEST_SOCKET: ${socket} is not a socket of this user (uid ${st.uid}); ingesting the mail here\n`);
    return false;
  }
  const raw = await readStdinOnce();
  if (raw.length === 0 || raw.length > config.maxMessageBytes) return false;
  const outcome = await lazy.ingestHandoff().handOff(socket, raw, 'stdin', (config.mailDeadlineSeconds + 60) * 1000);
  if (outcome.results) {
    lazy.ingestOutput().printResults(outcome.results, json);
    return true;
  }
  if (outcome.problem) process.stderr.write(`deskbridge: the running bridge did not take the mail (${outcome.problem}); ingesting it here\n`);
  return false;
}

/**
 * For bin/deskbridge.js, given the arguments after `ingest`: true when the
 * call was dealt with here. The plain forms — a mail on stdin (`ingest`,
 * `ingest --json`) or files (`ingest FILE… [--json]`) — are: a piped mail
 * handed over, or else ingested by the `ingest` command's own code without
 * the rest of the command line (commander and every other command: a fifth
 * of a single mail's start-up, and what the parse worker waited for before
 * its first file). Any other form (--help, another option, a typo, a file
 * name that starts with "-") is left to the command line, with the parse
 * worker started.
 */
export async function pipeFastPath(args: readonly string[]): Promise<boolean> {
  const files = args.filter((a, i) => a !== '--json' || args.indexOf('--json') !== i);
  const json = files.length < args.length;
  if (files.some((a) => a.startsWith('-'))) {
    lazy.parsePool().startWorkerEarly();
    return false;
  }
  if (files.length === 0) {
    let config: Config | null = null;
    try {
      config = lazy.config().loadConfig();
    } catch {
      // the command below says what is wrong with it, in its own words
    }
    if (config && (await handOffStdin(config, json))) return true;
  }
  lazy.parsePool().startWorkerEarly();
  const { runCommand } = require('./run-command') as typeof import('./run-command'); // eslint-disable-line @typescript-eslint/no-require-imports
  const { ingestCommand } = require('./ingest') as typeof import('./ingest'); // eslint-disable-line @typescript-eslint/no-require-imports
  await runCommand((ctx) => ingestCommand(ctx, files, { json }));
  return true;
}
