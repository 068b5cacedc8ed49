// The running bridge (`deskbridge run`), composed: config → logger → db →
// one reader per mailbox, the outbox worker, plus /healthz and /metrics. Stopped through an
// AbortSignal: each reader finishes the batch in hand, commits, marks it,
// logs out and releases its lease; the outbox worker releases its claims; the
// process deregisters (membership.ts); then the HTTP server and the database close.
import { setMaxListeners } from 'node:events';
import { authenticatorFrom } from './auth/sender-auth';
import type { Server } from 'node:http';
import type { Config } from './config';
import { DeskbridgeError } from './errors';
import { createMetrics } from './http/metrics';
import { startHttpServer } from './http/server';
import { healthOf, type MailboxState } from './ingest/health';
import { createMailboxReader } from './ingest/mailbox-reader';
import { serveIngestSocket } from './ingest/ingest-socket';
import { createMembership } from './ingest/membership';
import { parseMailboxUrl } from './ingest/mailbox-spec';
import type { Logger } from './log';
import { randomUUID } from 'node:crypto';
import { createParsePool } from './mail/parse-pool';
import { outboundFrom } from './outbound/notify';
import { createOutboxWorker, openTransport } from './outbound/outbox-worker';
import { loadTemplates } from './outbound/render';
import { createPipeline } from './pipeline';
import { leaseOwner } from './store/cursors';
import type { Database } from './store/db';
import type { InboundRow } from './store/inbound';

export const BATCH_SIZE = 100; // mails per transaction: one commit for many, as the ingest benchmark showed
const RETRY_FAILED_MS = 5 * 60_000; // how often `run` retries the mails left `failed`

/** The settings `run` cannot do without, checked before anything starts. */
export function requireRunSettings(config: Config): void {
  if (config.imap.length === 0 && !config.ingestSocket) {
    throw new DeskbridgeError('ECONFIG', 'DESKBRIDGE_IMAP is not set: name the mailbox to read, e.g. imaps://user:password@imap.example.com/INBOX (or, for mail that comes through an MTA pipe only, set DESKBRIDGE_INGEST_SOCKET)');
  }
  if (!config.secret) throw new DeskbridgeError('ECONFIG', 'DESKBRIDGE_SECRET is not set: give at least 16 random characters (the key for reply tokens)');
  const keys = config.imap.map((u) => parseMailboxUrl(u).key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw new DeskbridgeError('ECONFIG', `DESKBRIDGE_IMAP names ${twice} twice`);
}

export async function startBridge(config: Config, db: Database, log: Logger, signal: AbortSignal) {
  requireRunSettings(config);
  setMaxListeners(20 + 4 * config.imap.length, signal); // every reader, its session and its waits listen for the stop
  const metrics = createMetrics(db.knex);
  const outbound = outboundFrom(config, (overrides) => {
    const templates = loadTemplates(undefined, overrides);
    templates.check(); // all of them compile now, or `run` stops naming the file and line
    return templates;
  });
  if (!outbound) log.warn('DESKBRIDGE_ADDRESS is not set: tickets are kept but staff are not notified');
  const pool = createParsePool({ deadlineMs: config.mailDeadlineSeconds * 1000 });
  const closePools = () => pool.close();
  const pipeline = createPipeline(db, { bridgeAddress: config.address ?? null, maxMessageBytes: config.maxMessageBytes, parse: pool.parse, outbound, authenticate: authenticatorFrom(config) });
  const leaseMs = config.leaseSeconds * 1000;
  const membership = createMembership({ knex: db.knex, owner: leaseOwner(config.instance, process.pid, randomUUID().slice(0, 8)), instance: config.instance, mailboxes: config.imap.map((u) => parseMailboxUrl(u).key), leaseMs, log: log.child({ component: 'membership' }) });
  const sender =
    config.smtp && config.address
      ? createOutboxWorker({ db, transport: openTransport(config.smtp), from: config.address, owner: membership.owner, leaseMs, outbound, log: log.child({ component: 'outbox' }) })
      : null;
  if (!config.smtp) log.warn('DESKBRIDGE_SMTP is not set: notifications and relays wait in the outbox');
  // An MTA pipe's `deskbridge ingest` hands its mail over here (ingest-socket.ts), committed like a one-mail batch.
  const socket = config.ingestSocket
    ? await serveIngestSocket({
        path: config.ingestSocket,
        maxBytes: config.maxMessageBytes,
        log: log.child({ component: 'ingest-socket' }),
        count: (outcome) => metrics.socketRequests.inc({ outcome }),
        ingest: async (raw, label) => {
          const results = await pipeline.ingest([{ raw, label, source: 'stdin', sourceRef: 'ingest socket' }]);
          for (const r of results) metrics.mails.inc({ state: r.state, mailbox: 'ingest-socket' });
          sender?.nudge();
          return results;
        },
      }).catch(async (err: unknown) => {
        await closePools(); // nothing else has started yet
        throw err;
      })
    : null;
  const readers = config.imap.map((url) =>
    createMailboxReader({
      membership,
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
    const progress = new Map(readers.map((r) => [r.key, r.progress()]));
    return { ...healthOf(states, Date.now(), progress, config.stallMinutes * 60_000), mailboxes: Object.fromEntries(states), process: { owner: membership.owner, liveProcesses: membership.liveProcesses() } };
  };
  let server: Server | null = null;
  const closeHttp = () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  try {
    const retried = await pipeline.retryFailed();
    for (const r of retried) log.info({ inboundId: r.inboundId, state: r.state, reason: r.reason }, 'failed mail retried');
    if (config.http) {
      server = await startHttpServer(config.http, { health, registry: metrics.registry });
      log.info({ listen: config.http }, 'health and metrics listening');
    }
    await membership.start();
  } catch (err) {
    // nothing may be left that keeps the process alive: it would neither run nor end
    await closeHttp();
    await socket?.close();
    await closePools();
    throw err;
  }
  // Failed mail (a database that refused for a moment, a template being fixed) is retried now and then, not only at
  // start, each mail backing off by its attempts (5, 10, 20 min): a passing outage does not use them up at once. Any
  // process may retry a mail; its claim by state makes them take turns, and the attempts count once.
  let retryingNow: Promise<void> | null = null;
  const due = (row: InboundRow) => !row.processedAt || Date.now() - Date.parse(row.processedAt) >= RETRY_FAILED_MS * 2 ** row.attempts;
  const retrying = setInterval(() => {
    retryingNow ??= pipeline
      .retryFailed(due)
      .then((retried) => retried.forEach((r) => log.info({ inboundId: r.inboundId, state: r.state, reason: r.reason }, 'failed mail retried')))
      .catch((err: Error) => log.warn({ err: err.message }, 'could not retry the failed mails; trying again later'))
      .finally(() => (retryingNow = null));
  }, RETRY_FAILED_MS);
  retrying.unref();
  log.info({ mailboxes: readers.map((r) => r.key), processed: config.processed, pollSeconds: config.pollSeconds, instance: config.instance, owner: membership.owner, leaseSeconds: config.leaseSeconds }, 'bridge running');
  const stopped = new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }))); // a bridge with no mailbox runs until stopped too
  const done = Promise.all([...readers.map((r) => r.run(signal)), sender?.run(signal), stopped]).finally(async () => {
    clearInterval(retrying);
    // the mailboxes are let go at once; mails handed over on the socket are answered meanwhile (for a bounded time),
    // and a retry under way finishes, before the pools it parses with close
    await Promise.all([socket?.close(), membership.stop(), retryingNow]);
    await closePools();
    await closeHttp();
  });
  return { done, health, metrics };
}
