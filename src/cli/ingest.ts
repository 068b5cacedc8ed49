// `deskbridge ingest [FILE…]`: .eml files, or stdin when no file is named (the
// form an MTA pipe uses), through the same pipeline as the IMAP listener.
import type { Command } from 'commander';
import { accessSync, constants, statSync } from 'node:fs';
import { DeskbridgeError, isDeskbridgeError } from '../errors';
import type { Outbound } from '../outbound/notify';
import type { IncomingMail, MailResult } from '../pipeline';
import type { InboundRow } from '../store/inbound';
import { WAITING_FOR_CONFIG } from '../store/savepoint';
import { lazy, outboundOf } from './lazy';
import type { CliContext } from './context';
import { LONG_RUN_MAILS, tuneHeapForLongRun } from '../heap-tuning';
import { fileBatches } from './ingest-files';
import { handOffStdin, readStdinOnce } from './ingest-pipe';
import { printResults } from './ingest-results';
import { terminalText, warnNoNotifications } from './output';

/** Every file readable and a file, before anything is ingested (a bad one changes nothing). */
function checkFiles(files: string[]): void {
  for (const file of files) {
    try {
      accessSync(file, constants.R_OK);
      if (!statSync(file).isFile()) throw new Error('not a file');
    } catch (err) {
      throw new DeskbridgeError('EINVALID', `ingest: cannot read "${terminalText(file)}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

export function registerIngest(program: Command, ctx: CliContext): void {
  program
    .command('ingest [file...]')
    .description('run .eml files (or one mail on stdin) through the pipeline; retries earlier failed mails first')
    .option('--json', 'print one object per mail')
    .addHelpText(
      'after',
      '\nOne mail on stdin goes to a running `deskbridge run` when DESKBRIDGE_INGEST_SOCKET names the socket it serves;\nwhen that does not answer, it is ingested here.\n\nExamples:\n  $ deskbridge ingest examples/*.eml\n  $ deskbridge ingest < message.eml          # as an MTA pipe: "|/path/to/deskbridge ingest"',
    )
    .action((files: string[], opts: { json?: boolean }) => ingestCommand(ctx, files, opts));
}

function templatesCompile(outbound: Outbound): boolean {
  try {
    outbound.templates.check();
    return true;
  } catch {
    return false;
  }
}

/** `deskbridge ingest [FILE…] [--json]`: what the command does, also run without commander for an MTA pipe (ingest-pipe.ts). */
export async function ingestCommand(ctx: CliContext, files: string[], opts: { json?: boolean }): Promise<void> {
  checkFiles(files);
  // One mail on stdin (an MTA pipe) and a running `run` serving DESKBRIDGE_INGEST_SOCKET: it takes the mail
  // (ingest-pipe.ts, which bin/deskbridge.js runs before this); without an answer, this process ingests it, below.
  if (files.length === 0 && (await handOffStdin(ctx.config, Boolean(opts.json)))) return;
  // Always a worker thread: it holds each mail to its deadline (and pays off once there is a next batch to parse while
  // one is written). Started first, so that its start-up (a thread, the parser's modules) runs on the second core while
  // this one opens the database: for a single mail on stdin (an MTA pipe) the worker was the last to be ready.
  const pool = lazy.parsePool().createParsePool({ deadlineMs: ctx.config.mailDeadlineSeconds * 1000 });
  const outbound = outboundOf(ctx.config);
  if (!outbound) warnNoNotifications(ctx.config);
  const results: MailResult[] = [];
  try {
    // the mail on stdin is read (and an empty one refused) before anything is written: the failed mails retried
    // below were committed before an empty stdin said "bad input", which is to change nothing
    const piped = files.length === 0 ? await readStdinOnce(ctx.config.maxMessageBytes) : null;
    if (piped && piped.size === 0) throw new DeskbridgeError('EINVALID', 'ingest: no file named and nothing on stdin');
    // parsed now, on the worker's core, while this thread opens the database and loads the pipeline; its profile is
    // applied once the systems are read (a mail past the limit is parsed as its headers alone, later)
    if (piped && piped.size === piped.raw.length && piped.size <= ctx.config.maxMessageBytes) pool.parseAhead(piped.raw);
    const db = await ctx.database();
    const pipeline = lazy.pipeline().createPipeline(db, {
      bridgeAddress: ctx.config.address ?? null,
      maxMessageBytes: ctx.config.maxMessageBytes,
      parse: pool.parse,
      outbound,
      authenticate: lazy.auth().authenticatorFrom(ctx.config),
    });
    // earlier failed mails first; those waiting for a configuration fix only once the templates compile again
    let configWorks: boolean | undefined;
    const due = (row: InboundRow) => {
      if (!outbound || !row.reason?.startsWith(WAITING_FOR_CONFIG)) return true;
      configWorks ??= templatesCompile(outbound);
      return configWorks;
    };
    results.push(...(await pipeline.retryFailed(due)));
    // a mail past the limit comes as its head with its full size (readStdinOnce), as a file's does
    if (piped) results.push(...(await pipeline.ingest([{ raw: piped.raw, size: piped.size > piped.raw.length ? piped.size : undefined, label: 'stdin', source: 'stdin' }])));
    // the next batch is read and parsed (on the pool's thread) while this one is written; batches are bounded in
    // files and bytes, a file past the message limit is read for its headers alone (ingest-files.ts)
    const nextFiles = fileBatches(files, ctx.config.maxMessageBytes);
    const nextBatch = () => nextFiles()?.map(({ file, raw, size }): IncomingMail => ({ raw, size, label: file, source: 'file', sourceRef: file })) ?? null;
    const before = results.length;
    try {
      await pipeline.ingestInTurn(nextBatch, (committed) => {
        results.push(...committed);
        if (results.length >= LONG_RUN_MAILS) tuneHeapForLongRun(); // a long call: its heap bounded from here on (heap-tuning.ts)
      });
    } catch (err) {
      // a file gone (or changed into something else) since it was checked: the batches before it are committed
      const done = results.length - before;
      if (!isDeskbridgeError(err) || err.code !== 'EINVALID' || done === 0) throw err;
      printResults(results, opts.json);
      throw new DeskbridgeError('EINVALID', `${err.message}; the ${done} mail(s) before it are ingested (above), and the same command again ingests the rest (those as duplicates)`);
    }
  } finally {
    await pool.close();
  }
  printResults(results, opts.json);
}
