// `deskbridge ingest` with one mail on stdin, as an MTA pipe runs it: one
// process per mail, so what it loads before it is done is its cost.
//
// bin/deskbridge.js calls pipeFastPath() before it loads the command line:
// with DESKBRIDGE_INGEST_SOCKET served by a running `deskbridge run`, the
// mail is handed over there (ingest-handoff.ts) and the call ends having
// loaded little more than the configuration; otherwise the parse worker is
// started at once (the longest step of a mail ingested here) and the normal
// command takes over, with stdin as read so far. The `ingest` command itself
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
 * call was dealt with here. Only the plain pipe forms (`ingest`, `ingest
 * --json`) are: the mail handed over, or else ingested by the `ingest`
 * command's own code without the rest of the command line (commander and
 * every other command: a fifth of a call's start-up). Any other form (files,
 * --help, a typo) is left to the command line, with the parse worker started.
 */
export async function pipeFastPath(args: readonly string[]): Promise<boolean> {
  const pipe = args.length === 0 || (args.length === 1 && args[0] === '--json');
  if (!pipe) {
    lazy.parsePool().startWorkerEarly();
    return false;
  }
  const json = args[0] === '--json';
  let config: Config | null = null;
  try {
    config = lazy.config().loadConfig();
  } catch {
    // the command below says what is wrong with it, in its own words
  }
  if (config && (await handOffStdin(config, json))) return true;
  lazy.parsePool().startWorkerEarly();
  const { runCommand } = require('./run-command') as typeof import('./run-command'); // eslint-disable-line @typescript-eslint/no-require-imports
  const { ingestCommand } = require('./ingest') as typeof import('./ingest'); // eslint-disable-line @typescript-eslint/no-require-imports
  await runCommand((ctx) => ingestCommand(ctx, [], { json }));
  return true;
}
