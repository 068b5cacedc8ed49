// One IMAP connection's life: log in, open the mailbox, catch up on every UID
// after the cursor, then wait in IDLE (with a fallback poll) and catch up
// again, until the connection fails or the bridge stops. A new ImapFlow for
// every connection: imapflow never reconnects by itself, and the reader
// (mailbox-reader.ts) decides when to try again.
//
// What went wrong elsewhere, and what this does instead:
// - sequence numbers skip mail when another client expunges (osTicket #6979):
//   positions are UIDs, under UIDVALIDITY;
// - \Seen as the "done" mark hides mail a person opened (FreeScout #3406):
//   the cursor says what was read; \Seen is set only to be kind to people;
// - flagging in a separate step doubles or loses mail (Zammad #1662, #243):
//   the cursor commits in the same transaction as the mails' results, and the
//   mailbox is told (\Seen or a move) only after that commit;
// - a fetcher that hangs silently (Zammad #2321): every command has a
//   deadline, and a dropped socket ends the session at once.
import { ImapFlow } from 'imapflow';
import type { Knex } from 'knex';
import { DeskbridgeError } from '../errors';
import type { BridgeMetrics } from '../http/metrics';
import type { Logger } from '../log';
import type { IncomingMail, MailResult, Pipeline } from '../pipeline';
import { advanceCursor, readCursor } from '../store/cursors';
import { afterSuccess, afterTimeout, BATCH_BYTES, fetchDeadlineMs, type FetchState } from './fetch-plan';
import type { MailboxProgress } from './health';
import type { MailboxSpec } from './mailbox-spec';
import { recordUnfetchable } from './unfetchable';

export const COMMAND_TIMEOUT_MS = 60_000; // commands other than a fetch of mail (that deadline scales: fetch-plan.ts)
const CONNECT_TIMEOUT_MS = 30_000;
const AUTO_IDLE_DELAY_MS = 50; // back in IDLE right after a catch-up: new mail is announced at once
const MAX_IDLE_MS = 4 * 60_000; // re-issue IDLE before NAT boxes and the 5 min socket timeout forget us
const PREFETCH_BATCHES = 2; // fetched and parsed ahead of the one being written; bounds memory at 3 batches

/** What a mailbox reader is given (mailbox-reader.ts), and passes on to each session. */
export interface MailboxOptions {
  spec: MailboxSpec;
  pipeline: Pipeline;
  knex: Knex;
  instance: string;
  /** `seen`, or the folder processed mail is moved to. */
  processed: string;
  pollMs: number;
  batchSize: number;
  maxMessageBytes: number;
  log: Logger;
  metrics: BridgeMetrics;
  /** Called after each committed batch (the outbox worker sends what it queued at once). */
  onCommitted?: () => void;
}

export interface SessionOptions extends MailboxOptions {
  /** The lease holder's id: the cursor moves only while it still holds the lease. */
  owner: string;
  /** The reader's, kept across connections: the backlog for /healthz, and how much to fetch at once. */
  progress: MailboxProgress;
  fetchState: FetchState;
  signal: AbortSignal;
  onConnected(): void;
}

/** Rejects with ETIMEOUT when `promise` does not settle in time. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeskbridgeError('ETIMEOUT', `${what}: no answer in ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

interface Listed {
  uid: number;
  size: number;
  date?: number | null;
}

/** Cuts the listing into batches of at most `count` mails and BATCH_BYTES bytes (one mail always fits). */
export function batchesOf(listed: Listed[], count: number, maxMessageBytes: number): Listed[][] {
  const batches: Listed[][] = [];
  let current: Listed[] = [];
  let bytes = 0;
  for (const m of listed) {
    const cost = Math.min(m.size, maxMessageBytes);
    if (current.length > 0 && (current.length >= count || bytes + cost > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += cost;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export async function runSession(o: SessionOptions): Promise<void> {
  const { spec, log } = o;
  const client = new ImapFlow({
    host: spec.host,
    port: spec.port,
    secure: spec.secure,
    auth: { user: spec.user, pass: spec.password },
    logger: false,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: CONNECT_TIMEOUT_MS,
    autoIdleDelay: AUTO_IDLE_DELAY_MS,
    maxIdleTime: MAX_IDLE_MS,
    disableAutoEnable: false,
  } as ConstructorParameters<typeof ImapFlow>[0]);
  let closed = false;
  const closedPromise = new Promise<void>((resolve) =>
    client.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  client.on('error', (err: Error) => log.warn({ err: err.message }, 'imap connection error'));
  // New mail may be announced while a catch-up runs (as an untagged EXISTS
  // beside a FETCH or STORE): remember it, so the wait after the catch-up
  // does not sleep through it until the next poll.
  let announced = false;
  let wake: () => void = () => {};
  client.on('exists', () => {
    announced = true;
    wake();
  });
  try {
    await withTimeout(client.connect(), CONNECT_TIMEOUT_MS + 5_000, `connect to ${spec.host}:${spec.port}`);
    const box = await withTimeout(client.mailboxOpen(spec.mailbox), COMMAND_TIMEOUT_MS, `open ${spec.mailbox}`);
    const uidvalidity = Number(box.uidValidity);
    if (o.processed !== 'seen') await ensureFolder(client, o.processed, log);
    o.onConnected();
    log.info({ uidvalidity, exists: box.exists }, 'mailbox open');
    await startPosition(o, client, uidvalidity);
    while (!o.signal.aborted && !closed) {
      announced = false;
      await catchUp(o, client, uidvalidity);
      if (o.signal.aborted || closed) break;
      if (announced) continue; // mail arrived during the catch-up: go again at once
      // Wait for IDLE's EXISTS, the fallback poll, a stop, or the connection's end.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), o.pollMs); // the poll, like every other way out, removes the abort listener
        const done = () => {
          clearTimeout(timer);
          o.signal.removeEventListener('abort', done);
          resolve();
        };
        wake = done;
        o.signal.addEventListener('abort', done);
        void closedPromise.then(done);
      });
      wake = () => {};
    }
    if (closed && !o.signal.aborted) throw new DeskbridgeError('EIMAP', `connection to ${spec.host}:${spec.port} closed`);
    await withTimeout(client.logout(), 5_000, 'logout').catch(() => client.close());
  } catch (err) {
    client.close();
    throw err;
  }
}

async function ensureFolder(client: ImapFlow, folder: string, log: Logger): Promise<void> {
  const list = await withTimeout(client.list(), COMMAND_TIMEOUT_MS, 'list folders');
  if (list.some((f) => f.path === folder)) return;
  await withTimeout(client.mailboxCreate(folder), COMMAND_TIMEOUT_MS, `create ${folder}`);
  log.info({ folder }, 'created the folder for processed mail');
}

/**
 * Before the first catch-up: a changed UIDVALIDITY resets the cursor to 0 (a
 * rescan, which the ledger's dedupe keeps from doubling anything); mail the
 * cursor covers that is still here unmarked (the previous reader stopped or
 * died between commit and mark) is flagged \Seen or moved now.
 */
async function startPosition(o: SessionOptions, client: ImapFlow, uidvalidity: number): Promise<void> {
  const cursor = await readCursor(o.knex, o.spec.key);
  if (cursor && cursor.uidvalidity !== null && cursor.uidvalidity !== uidvalidity) {
    o.log.warn({ was: cursor.uidvalidity, now: uidvalidity, lastUid: cursor.lastUid }, 'UIDVALIDITY changed: rescanning the mailbox; the ledger recognises mail it already has');
    await o.knex.transaction((trx) => advanceCursor(trx, o.spec.key, o.owner, { uidvalidity, lastUid: 0 }));
    return;
  }
  if (cursor && cursor.uidvalidity === uidvalidity && cursor.lastUid > 0 && o.processed === 'seen') {
    // committed by the previous holder (another process, or this one before a kill) but not yet flagged
    const unflagged = await withTimeout(client.search({ uid: `1:${cursor.lastUid}`, seen: false }, { uid: true }), COMMAND_TIMEOUT_MS, 'search unflagged');
    if (unflagged && unflagged.length > 0) await withTimeout(client.messageFlagsAdd(unflagged, ['\\Seen'], { uid: true }), COMMAND_TIMEOUT_MS, 'flag \\Seen');
  }
  if (cursor && cursor.uidvalidity === uidvalidity && cursor.lastUid > 0 && o.processed !== 'seen') {
    const left = await withTimeout(client.search({ uid: `1:${cursor.lastUid}` }, { uid: true }), COMMAND_TIMEOUT_MS, 'search processed');
    if (left && left.length > 0) {
      await withTimeout(client.messageMove(left, o.processed, { uid: true }), COMMAND_TIMEOUT_MS, `move to ${o.processed}`);
      o.log.info({ count: left.length, folder: o.processed }, 'moved mail processed before a stop');
    }
  }
}

async function listAfter(client: ImapFlow, lastUid: number): Promise<Listed[]> {
  const listed: Listed[] = [];
  // `N:*` also returns the highest message when N is past it (RFC 3501 ranges are unordered): filter.
  for await (const m of client.fetch(`${lastUid + 1}:*`, { uid: true, size: true, internalDate: true }, { uid: true })) {
    if (m.uid > lastUid) listed.push({ uid: m.uid, size: m.size ?? 0, date: toDate(m.internalDate)?.getTime() ?? null });
  }
  return listed.sort((a, b) => a.uid - b.uid);
}

async function fetchBatch(o: SessionOptions, client: ImapFlow, batch: Listed[], uidvalidity: number): Promise<Array<IncomingMail & { internalDate: Date | null }>> {
  const whole = batch.filter((m) => m.size <= o.maxMessageBytes).map((m) => m.uid);
  const large = batch.filter((m) => m.size > o.maxMessageBytes);
  const got = new Map<number, { raw: Buffer; internalDate: Date | null; size?: number }>();
  if (whole.length) {
    const bytes = batch.filter((m) => m.size <= o.maxMessageBytes).reduce((sum, m) => sum + m.size, 0);
    const fetched = await withTimeout(client.fetchAll(whole, { uid: true, source: true, internalDate: true }, { uid: true }), fetchDeadlineMs(whole.length, bytes), `fetch of ${whole.length} mail(s)`);
    for (const m of fetched) if (m.source) got.set(m.uid, { raw: m.source, internalDate: toDate(m.internalDate) });
  }
  for (const m of large) {
    // over the limit: the headers only; the pipeline records it as too_large with its real size
    const fetched = await withTimeout(client.fetchOne(String(m.uid), { uid: true, headers: true, internalDate: true }, { uid: true }), COMMAND_TIMEOUT_MS, 'fetch headers');
    if (fetched && fetched.headers) got.set(m.uid, { raw: fetched.headers, internalDate: toDate(fetched.internalDate), size: m.size });
  }
  const mails: Array<IncomingMail & { internalDate: Date | null }> = [];
  for (const m of batch) {
    const g = got.get(m.uid);
    if (!g) {
      o.log.warn({ uid: m.uid }, 'mail listed but gone before it was fetched (expunged by another client)');
      continue;
    }
    mails.push({ raw: g.raw, size: g.size, label: `uid ${m.uid}`, source: 'imap', sourceRef: o.spec.key, mailbox: o.spec.key, uidvalidity, uid: m.uid, internalDate: g.internalDate });
  }
  return mails;
}

const toDate = (v: unknown): Date | null => (v instanceof Date ? v : typeof v === 'string' ? new Date(v) : null);

/** Everything after the cursor, batch by batch; the next batch is fetched while this one is processed. */
async function catchUp(o: SessionOptions, client: ImapFlow, uidvalidity: number): Promise<void> {
  const cursor = await readCursor(o.knex, o.spec.key);
  const lastUid = cursor && cursor.uidvalidity === uidvalidity ? cursor.lastUid : 0;
  const listed = await withTimeout(listAfter(client, lastUid), COMMAND_TIMEOUT_MS, 'list new mail');
  noteWaiting(o.progress, listed, false);
  if (listed.length === 0) return;
  const batches = batchesOf(listed, Math.min(o.batchSize, o.fetchState.maxMails), o.maxMessageBytes);
  o.log.debug({ mails: listed.length, batches: batches.length, afterUid: lastUid }, 'catching up');
  // The next batch is fetched, and parsed on the parse pool's thread, while this one is written.
  const fetchAndParse = (batch: Listed[]) => fetchBatch(o, client, batch, uidvalidity).then((mails) => ({ mails, parsing: o.pipeline.prepareBatch(mails) }));
  // Two batches ahead: the server, the parse thread and this thread each have work at every moment.
  const ahead: Array<ReturnType<typeof fetchAndParse>> = [];
  const fill = (from: number) => {
    for (let j = from + ahead.length; j < Math.min(batches.length, from + PREFETCH_BATCHES); j++) {
      const p = fetchAndParse(batches[j]!);
      p.catch(() => {}); // a failure surfaces when it is awaited; never as an unhandled rejection
      ahead.push(p);
    }
  };
  fill(0);
  for (let i = 0; i < batches.length; i++) {
    const fetched = await ahead.shift()!.catch((err: unknown) => fetchFailed(o, batches[i]!, uidvalidity, err));
    const { mails, parsing } = fetched;
    fill(i + 1);
    const highest = batches[i]!.at(-1)!.uid; // listed mails that vanished before the fetch are passed over too
    const results = await o.pipeline.ingest(parsing, (trx) => advanceCursor(trx, o.spec.key, o.owner, { uidvalidity, lastUid: highest }));
    report(o, mails, results);
    o.fetchState.maxMails = afterSuccess(o.fetchState, o.batchSize);
    noteWaiting(o.progress, listed.slice(listed.findIndex((m) => m.uid === highest) + 1));
    o.onCommitted?.();
    await markProcessed(o, client, batches[i]!.map((m) => m.uid));
    if (o.signal.aborted) return; // the batch in hand is committed and marked: stop here
  }
}

/** The backlog after a listing or a commit; the stall clock starts when mail is first seen waiting, and restarts at each commit. */
function noteWaiting(progress: MailboxProgress, left: Listed[], committed = true): void {
  const now = Date.now();
  if (committed || progress.waiting === 0) progress.lastProgressAt = now;
  progress.waiting = left.length;
  progress.oldestWaitingAt = left.reduce<number | null>((oldest, m) => (m.date != null && (oldest === null || m.date < oldest) ? m.date : oldest), null);
}

/**
 * A fetch that failed: on a timeout, the next try fetches half as many
 * (fetch-plan.ts), and a single mail that timed out is recorded and passed
 * over. The session ends either way (the connection is in an unknown state).
 */
async function fetchFailed(o: SessionOptions, batch: Listed[], uidvalidity: number, err: unknown): Promise<never> {
  if ((err as { code?: string }).code !== 'ETIMEOUT') throw err;
  const plan = afterTimeout(batch.length);
  if (plan.action === 'retry-smaller') {
    o.fetchState.maxMails = plan.maxMails;
    o.log.warn({ mails: batch.length, next: plan.maxMails, err: (err as Error).message }, 'fetch timed out; fetching fewer mails at once');
  } else {
    const m = batch[0]!;
    const reason = `could not be fetched: ${(err as Error).message} (tried alone after smaller batches); still in the mailbox at UID ${m.uid}`;
    const id = await recordUnfetchable(o.knex, { mailbox: o.spec.key, owner: o.owner, uidvalidity, uid: m.uid, size: m.size }, reason);
    o.log.error({ uid: m.uid, inboundId: id }, 'mail could not be fetched even alone; recorded parked_failed and passed over');
  }
  throw err;
}

function report(o: SessionOptions, mails: Array<IncomingMail & { internalDate: Date | null }>, results: MailResult[]): void {
  const now = Date.now();
  results.forEach((r, i) => {
    o.metrics.mails.inc({ state: r.state, mailbox: o.spec.key });
    o.log.info({ uid: mails[i]!.uid, inboundId: r.inboundId, state: r.state, ticketId: r.ticketId, system: r.system, reason: r.reason }, 'mail');
  });
  const newest = mails.at(-1)?.internalDate;
  if (newest) o.metrics.ingestLag.set({ mailbox: o.spec.key }, Math.max(0, (now - newest.getTime()) / 1000));
}

/** After the commit: \Seen, or a move to the processed folder. Losing this step loses nothing (the cursor has moved). */
async function markProcessed(o: SessionOptions, client: ImapFlow, uids: number[]): Promise<void> {
  if (o.processed === 'seen') await withTimeout(client.messageFlagsAdd(uids, ['\\Seen'], { uid: true }), COMMAND_TIMEOUT_MS, 'flag \\Seen');
  else await withTimeout(client.messageMove(uids, o.processed, { uid: true }), COMMAND_TIMEOUT_MS, `move to ${o.processed}`);
}
