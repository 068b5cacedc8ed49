// The running bridge (`deskbridge run`), composed: config → logger → db →
// one reader per mailbox, the outbox worker, plus /healthz and /metrics. Stopped through an
// AbortSignal: each reader finishes the batch in hand, commits, marks it,
// logs out and releases its lease; then the HTTP server and the database close.
import type { Server } from 'node:http';
import type { Config } from './config';
import { DeskbridgeError } from './errors';
import { createMetrics } from './http/metrics';
import { startHttpServer } from './http/server';
import { healthOf, type MailboxState } from './ingest/health';
import { createMailboxReader } from './ingest/mailbox-reader';
import { parseMailboxUrl } from './ingest/mailbox-spec';
import type { Logger } from './log';
import { randomUUID } from 'node:crypto';
import { createParsePool } from './mail/parse-pool';
import { outboundFrom } from './outbound/notify';
import { createOutboxWorker, openTransport } from './outbound/outbox-worker';
import { loadTemplates } from './outbound/render';
import { createPipeline } from './pipeline';
import type { Database } from './store/db';

export const BATCH_SIZE = 100; // mails per transaction: one commit for many, as the ingest benchmark showed

/** The settings `run` cannot do without, checked before anything starts. */
export function requireRunSettings(config: Config): void {
  if (config.imap.length === 0) throw new DeskbridgeError('ECONFIG', 'DESKBRIDGE_IMAP is not set: name the mailbox to read, e.g. imaps://user:password@imap.example.com/INBOX');
  if (!config.secret) throw new DeskbridgeError('ECONFIG', 'DESKBRIDGE_SECRET is not set: give at least 16 random characters (the key for reply tokens)');
  const keys = config.imap.map((u) => parseMailboxUrl(u).key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw new DeskbridgeError('ECONFIG', `DESKBRIDGE_IMAP names ${twice} twice`);
}

export async function startBridge(config: Config, db: Database, log: Logger, signal: AbortSignal) {
  requireRunSettings(config);
  const metrics = createMetrics(db.knex);
  const outbound = outboundFrom(config, (overrides) => loadTemplates(undefined, overrides)); // templates compile now, or `run` stops naming the file and line
  if (!outbound) log.warn('DESKBRIDGE_ADDRESS is not set: tickets are kept but staff are not notified');
  const pool = createParsePool();
  const pipeline = createPipeline(db, { bridgeAddress: config.address ?? null, maxMessageBytes: config.maxMessageBytes, parse: pool.parse, outbound });
  const sender =
    config.smtp && config.address
      ? createOutboxWorker({ db, transport: openTransport(config.smtp), from: config.address, owner: `${config.instance}:${process.pid}:${randomUUID().slice(0, 8)}`, log: log.child({ component: 'outbox' }) })
      : null;
  if (!config.smtp) log.warn('DESKBRIDGE_SMTP is not set: notifications and relays wait in the outbox');
  const retried = await pipeline.retryFailed();
  for (const r of retried) log.info({ inboundId: r.inboundId, state: r.state, reason: r.reason }, 'failed mail retried');
  const readers = config.imap.map((url) =>
    createMailboxReader({
      spec: parseMailboxUrl(url),
      pipeline,
      knex: db.knex,
      instance: config.instance,
      processed: config.processed,
      pollMs: config.pollSeconds * 1000,
      batchSize: BATCH_SIZE,
      maxMessageBytes: config.maxMessageBytes,
      log,
      metrics,
      onCommitted: () => sender?.nudge(),
    }),
  );
  const health = () => {
    const states = new Map<string, MailboxState>(readers.map((r) => [r.key, r.state()]));
    return { ...healthOf(states, Date.now()), mailboxes: Object.fromEntries(states) };
  };
  let server: Server | null = null;
  if (config.http) {
    server = await startHttpServer(config.http, { health, registry: metrics.registry });
    log.info({ listen: config.http }, 'health and metrics listening');
  }
  log.info({ mailboxes: readers.map((r) => r.key), processed: config.processed, pollSeconds: config.pollSeconds, instance: config.instance }, 'bridge running');
  const done = Promise.all([...readers.map((r) => r.run(signal)), sender?.run(signal)]).finally(async () => {
    await pool.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });
  return { done, health, metrics };
}
