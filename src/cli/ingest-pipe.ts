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
import type { Worker } from 'node:worker_threads';
import type { Config } from '../config';
import { MAX_HEADER_BYTES } from '../mail/header-bound';
import { lazy } from './lazy';

let stdin: Promise<StdinMail> | null = null;
let handOffTried = false;

/** The mail on stdin: its bytes, or for one past the size limit its head alone, and its full size. */
export interface StdinMail {
  raw: Buffer;
  size: number;
}

/**
 * stdin, read once (the fast path may have read it before the command runs).
 * Held whole up to `maxBytes` (DESKBRIDGE_MAX_MESSAGE_BYTES); past it only
 * the first MAX_HEADER_BYTES are kept and the rest is read and counted, so
 * the mail is recorded too_large with its headers and its full size, as a
 * file or an IMAP mail over the limit is. Held whole, a pipe of 4 GiB took
 * 4 GiB and then failed with no ledger row.
 */
export function readStdinOnce(maxBytes: number): Promise<StdinMail> {
  stdin ??= (async () => {
    let chunks: Buffer[] = [];
    let size = 0;
    let head: Buffer | null = null;
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (head) continue; // past the limit: counted, not kept
      chunks.push(chunk);
      if (size > maxBytes) {
        head = Buffer.concat(chunks, Math.min(size, MAX_HEADER_BYTES)); // the first bytes alone, copied: the chunks can go
        chunks = [];
      }
    }
    return { raw: head ?? Buffer.concat(chunks), size };
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
  const mail = await readStdinOnce(config.maxMessageBytes);
  if (mail.size === 0 || mail.size > config.maxMessageBytes) return false; // nothing to hand over; one over the limit is recorded here
  const outcome = await lazy.ingestHandoff().handOff(socket, mail.raw, 'stdin', (config.mailDeadlineSeconds + 60) * 1000);
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
 * name that starts with "-") is left to the command line. `worker` is a
 * parse worker bin/deskbridge.js started before it loaded this (for a form it
 * took for one of these): the parse pool takes it over, and it is stopped when
 * the call goes another way. Else the worker is started here — for these
 * forms only: this runs from the ingest bundle (dist/vendor/ingest.js), and
 * the command line loads its own copy of the parse pool, which would not take
 * over a worker started by the bundle's.
 */
export async function pipeFastPath(args: readonly string[], worker?: Worker): Promise<boolean> {
  const files = args.filter((a, i) => a !== '--json' || args.indexOf('--json') !== i);
  const json = files.length < args.length;
  if (files.some((a) => a.startsWith('-'))) {
    void worker?.terminate();
    return false;
  }
  if (files.length === 0) {
    let config: Config | null = null;
    try {
      config = lazy.config().loadConfig();
    } catch {
      // the command below says what is wrong with it, in its own words
    }
    if (config && (await handOffStdin(config, json))) {
      void worker?.terminate();
      return true;
    }
  }
  lazy.parsePool().startWorkerEarly(worker);
  const { runCommand } = require('./run-command') as typeof import('./run-command'); // eslint-disable-line @typescript-eslint/no-require-imports
  const { ingestCommand } = require('./ingest') as typeof import('./ingest'); // eslint-disable-line @typescript-eslint/no-require-imports
  await runCommand((ctx) => ingestCommand(ctx, files, { json }));
  return true;
}
