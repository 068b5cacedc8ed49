// Sends what the outbox holds: claims a few due rows, renders the staff
// notifications and composes the relays among them (queued unrendered,
// outbound/outbox-render.ts) and stores
// their bytes before their first send, hands each one's stored bytes to the transport (kept-open SMTP connections, smtp-sender.ts, or .eml
// files for demos), and records each result (send-outcome.ts, per recipient)
// the moment the server has answered. Inside `deskbridge run` it loops;
// `deskbridge outbox flush` runs it once.
//
// What went wrong before, and what this does instead: claims of 100 rows held
// for 5 minutes and sent 4 at a time outlasted their claim on a slow server,
// and another worker sent the tail again; results waited for the next claim,
// so a kill mid-batch resent everything the batch had delivered; a stop kept
// claiming. Now a claim is small and owned, a heartbeat extends it while its
// sends are in flight, results are written only by the claim's owner, and a
// stop claims nothing more and releases what it has not sent. The one double
// left: a kill between the server's "250 accepted" and the commit of that
// result (a few milliseconds: one group-committed UPDATE), after which the
// row is sent again with the same Message-ID.
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { Logger } from '../log';
import type { Database } from '../store/db';
import { claimDue, extendClaims, recordAttempts, releaseClaims, renderClaimedRows, type Attempt, type Claimed } from '../store/outbox';
import { DEFAULT_RETRY_SCHEDULE_MS } from './delivery-error';
import type { Outbound } from './notify';
import { outboxRenderer } from './outbox-render';
import { sendOutcome } from './send-outcome';
import { noticeUndelivered } from './staff-notice';
import { createSmtpSender, refusalsOf, type SendResult } from './smtp-sender';

export const SEND_CONCURRENCY = 4; // mails in flight at once, over as many kept-open SMTP connections (smtp-sender.ts)
const CLAIM_SIZE = SEND_CONCURRENCY * 2; // rows per claim: few, so each is sent soon after it is claimed; the heartbeat keeps them while in flight
export const DEFAULT_LEASE_MS = 30_000; // a dead worker's claims are free again within this (the claim lives half of it; the heartbeat renews it six times per period)
const IDLE_POLL_MS = 2_000; // how soon a queued row is noticed when nothing wakes the worker
const STOP_GRACE_MS = 5_000; // on a stop, sends in flight get this long to finish; then their connections are cut and the rows released

/** Where mail goes: an SMTP server, or a folder of .eml files. */
export interface MailTransport {
  send(envelope: { from: string; to: string[] }, raw: Buffer, item: Claimed): Promise<SendResult>;
  close(): void;
}

export function openTransport(target: string): MailTransport {
  if (target.startsWith('file:')) {
    const dir = target.slice('file:'.length);
    mkdirSync(dir, { recursive: true });
    return {
      async send(_envelope, raw, item) {
        // off the event loop: creating a file costs the kernel ~0.65 ms on some disks (measured on ext4 here),
        // which written synchronously held up the mailboxes and the database for every notification sent
        await writeFile(join(dir, `${String(item.id).padStart(6, '0')}-${item.kind}.eml`), raw);
        return { refusals: [] };
      },
      close() {},
    };
  }
  const sender = createSmtpSender(target);
  return {
    send: (envelope, raw) => sender.send(envelope, raw),
    close: () => sender.close(),
  };
}

export interface WorkerOptions {
  db: Database;
  transport: MailTransport;
  from: string;
  /** This process's owner id (membership.ts): claims and results carry it. */
  owner: string;
  log: Logger;
  schedule?: readonly number[];
  /** The lease period (DESKBRIDGE_LEASE_SECONDS): claims live half of it and are renewed every sixth. */
  leaseMs?: number;
  /** Templates, address and secret: to render the staff notifications queued unrendered, and for the notice to a staff member whose relay is dead (none: neither; such notifications wait in the queue). */
  outbound?: Outbound | null;
}

type Counts = { sent: number; retry: number; dead: number };

/**
 * Writes send results as they come, several at once when they arrive while a
 * write is under way or in the same turn of the event loop (the servers'
 * answers read in one poll: group commit, one statement or transaction, not
 * one per mail, which SQLite's one writer needs). `record` resolves when the
 * result is committed.
 */
function createRecorder(write: (batch: Array<[number, Attempt]>) => Promise<void>) {
  let queue: Array<{ result: [number, Attempt]; done: () => void }> = [];
  let writing: Promise<void> | null = null;
  const drain = async () => {
    await new Promise<void>((resolve) => setImmediate(resolve)); // the answers read in this poll join the batch
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await write(batch.map((b) => b.result));
      } finally {
        batch.forEach((b) => b.done());
      }
    }
    writing = null;
  };
  return {
    record: (result: [number, Attempt]) =>
      new Promise<void>((resolve) => {
        queue.push({ result, done: resolve });
        writing ??= drain();
      }),
  };
}

export function createOutboxWorker(o: WorkerOptions) {
  const schedule = o.schedule ?? DEFAULT_RETRY_SCHEDULE_MS;
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  const claimTtlMs = Math.round(leaseMs / 2);
  const heartbeatMs = Math.max(100, Math.round(leaseMs / 6));
  let wake: (() => void) | null = null;
  let nudged = false; // a nudge while a flush runs: its last claim may have looked before the row was committed
  const outbound = o.outbound;
  const tell = outbound ? (trx: Knex, deadIds: number[]) => noticeUndelivered(trx, outbound, deadIds) : undefined; // a dead relay's author is told
  const render = outboxRenderer(outbound); // a notification is rendered, a relay composed, by the worker that first claims it
  const recorder = createRecorder(async (batch) => {
    try {
      const written = new Set(await recordAttempts(o.db.knex, o.owner, batch, tell));
      const lost = batch.filter(([id]) => !written.has(id)).map(([id]) => id);
      if (lost.length) o.log.warn({ outboxIds: lost }, 'results not recorded: these rows are no longer claimed by this worker (settled by a bounce, or taken over after a pause)');
    } catch (err) {
      o.log.error({ err: (err as Error).message, outboxIds: batch.map(([id]) => id) }, 'could not record send results; the rows are sent again when their claim lapses');
    }
  });

  /** One send, and what it came to. */
  async function sendOne(item: Claimed): Promise<Attempt> {
    const context = { to: item.to, attempts: item.attempts, deadline: new Date(item.deadlineAt), now: new Date(), schedule };
    let result: SendResult;
    try {
      result = await o.transport.send({ from: o.from, to: item.to }, item.raw, item);
    } catch (err) {
      const e = err as { responseCode?: number; code?: string; response?: string; message?: string };
      const attempt = sendOutcome(context, refusalsOf(err), { responseCode: e.responseCode, code: e.code, message: (e.response ?? e.message ?? String(err)).split('\n')[0]! });
      if (attempt.state === 'queued') o.log.warn({ outboxId: item.id, retryAt: attempt.nextAttemptAt.toISOString(), err: attempt.error }, 'send failed; will retry');
      else o.log.error({ outboxId: item.id, err: attempt.state === 'dead' ? attempt.error : '' }, 'send failed for good; the row is dead');
      return attempt;
    }
    const attempt = sendOutcome(context, result.refusals);
    if (result.refusals.length > 0) o.log.warn({ outboxId: item.id, refusals: result.refusals, state: attempt.state }, 'the server refused some recipients and took the mail for the rest');
    o.log.info({ outboxId: item.id, kind: item.kind, to: item.to, messageId: item.messageId }, 'sent');
    return attempt;
  }

  /**
   * The rows of a claim ready to send: those queued unrendered are rendered (or composed)
   * and their bytes stored (renderClaimedRows, one transaction for the
   * claim's rows) before any lane sends them. A row left out could not be
   * rendered (counted: dead; waiting for a configuration fix, or put back
   * after a database error, as a retry) or is no longer this worker's.
   */
  async function ready(claimed: Claimed[], counts: Counts): Promise<Claimed[]> {
    const unrendered = claimed.filter((c) => c.renderInput !== null);
    if (unrendered.length === 0) return claimed;
    const outcomes = await renderClaimedRows(o.db.knex, o.owner, unrendered, render, claimTtlMs, tell); // a relay that cannot be composed is told as a refused one is
    const dropped = new Set<Claimed>();
    unrendered.forEach((item, i) => {
      const rendered = outcomes[i]!;
      if (rendered.state === 'rendered') {
        item.raw = rendered.raw;
        item.renderInput = null;
        return;
      }
      dropped.add(item);
      if (rendered.state === 'lost') o.log.warn({ outboxId: item.id }, 'not sent: this worker no longer holds the row (taken over after a pause, bounced or discarded)');
      else if (rendered.state === 'waiting' || rendered.state === 'retry') {
        counts.retry += 1;
        o.log.warn({ outboxId: item.id, err: rendered.error }, 'could not render the mail; it waits in the queue');
      } else {
        counts.dead += 1;
        o.log.error({ outboxId: item.id, err: rendered.error }, 'could not render the mail; the row is dead');
      }
    });
    return claimed.filter((c) => !dropped.has(c));
  }

  /**
   * Sends every row that is due now, SEND_CONCURRENCY at a time, until none
   * is left or `signal` stops it; returns the counts. Rows are claimed a
   * small batch at a time, the next claim made while the last rows of the one
   * before are still being sent (lanes never wait for a claim's slowest send).
   * Each result is recorded as soon as the server has answered (a kill after
   * that does not resend it). While it runs, a heartbeat extends this
   * worker's claims (database clock), so a slow server never lets a row in
   * flight look abandoned, and a dead worker's rows are free within the
   * lease. On a stop no new send starts, sends in flight get STOP_GRACE_MS,
   * and the rows claimed and not sent are released.
   */
  async function flushOnce(signal?: AbortSignal): Promise<Counts> {
    const counts: Counts = { sent: 0, retry: 0, dead: 0 };
    const heartbeat = setInterval(() => {
      extendClaims(o.db.knex, o.owner, claimTtlMs).catch((err: Error) => o.log.warn({ err: err.message }, 'could not extend the outbox claims'));
    }, heartbeatMs);
    const queue: Claimed[] = [];
    let exhausted = false;
    let claimError: unknown = null;
    let claiming: Promise<void> | null = null;
    // A claim that fails (the database refused for a moment) ends the flush for every lane: the rows in hand are
    // still sent and recorded under the heartbeat, then the error is thrown (and `run` flushes again).
    const claimMore = () =>
      (claiming ??= claimDue(o.db.knex, o.db.dialect, { owner: o.owner, limit: CLAIM_SIZE, ttlMs: claimTtlMs })
        .then(async (claimed) => {
          if (claimed.length === 0) exhausted = true;
          queue.push(...(await ready(claimed, counts)));
        })
        .catch((err: unknown) => {
          claimError ??= err;
          exhausted = true;
        })
        .finally(() => (claiming = null)));
    const lane = async () => {
      while (!signal?.aborted) {
        if (queue.length < SEND_CONCURRENCY && !exhausted) void claimMore(); // the next rows, while these are sent
        if (queue.length === 0) {
          if (exhausted) return;
          await claimMore();
          continue;
        }
        const item = queue.shift()!;
        const attempt = await sendOne(item);
        counts[attempt.state === 'queued' ? 'retry' : attempt.state] += 1;
        await recorder.record([item.id, attempt]);
        if (!claimError) exhausted = false; // recording may have queued a row (the notice of a dead relay): ask again before ending
      }
    };
    try {
      const lanes = Promise.all(Array.from({ length: SEND_CONCURRENCY }, lane));
      if (!signal) await lanes;
      else {
        let timer: NodeJS.Timeout | undefined;
        let start = () => {};
        const graceAfterStop = new Promise<void>((resolve) => {
          start = () => (timer = setTimeout(resolve, STOP_GRACE_MS));
          if (signal.aborted) start();
          else signal.addEventListener('abort', start, { once: true });
        });
        await Promise.race([lanes, graceAfterStop]);
        signal.removeEventListener('abort', start); // one flush after another on the same signal: no listener may stay behind
        clearTimeout(timer);
        if (signal.aborted) {
          o.transport.close(); // cuts what is still in flight; those rows are released below and sent again later
          await lanes;
        }
      }
      await (claiming as Promise<void> | null); // a claim still under way as a stop ended the lanes: its rows are released below
      if (claimError) throw claimError;
    } finally {
      clearInterval(heartbeat);
      if (signal?.aborted) {
        const released = await releaseClaims(o.db.knex, o.owner).catch(() => 0);
        if (released > 0) o.log.info({ released }, 'stopping: outbox rows released unsent');
      }
    }
    return counts;
  }

  return {
    flushOnce,
    /** Wakes the loop now (the pipeline queued something). */
    nudge: () => {
      nudged = true;
      wake?.();
    },
    async run(signal: AbortSignal): Promise<void> {
      while (!signal.aborted) {
        nudged = false;
        try {
          await flushOnce(signal);
        } catch (err) {
          o.log.error({ err: (err as Error).message }, 'outbox worker failed; trying again');
        }
        if (nudged && !signal.aborted) continue;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            wake = null;
            resolve();
          };
          const timer = setTimeout(done, IDLE_POLL_MS);
          wake = done;
          signal.addEventListener('abort', done);
        });
      }
      o.transport.close();
    },
  };
}
