// Sends what the outbox holds: claims due rows, hands each one's stored bytes
// to the transport (kept-open SMTP connections, smtp-sender.ts, or .eml files
// for demos),
// and records the result through delivery-error.ts's decision. Inside
// `deskbridge run` it loops; `deskbridge outbox flush` runs it once.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log';
import type { Database } from '../store/db';
import { settleAndClaim, type Attempt, type Claimed } from '../store/outbox';
import { decide, DEFAULT_RETRY_SCHEDULE_MS } from './delivery-error';
import { createSmtpSender, type SendResult } from './smtp-sender';

const CLAIM_BATCH = 100; // rows per claim; their results are written together after the sends (few, large writes: SQLite has one writer)
export const SEND_CONCURRENCY = 4; // mails in flight at once, over as many kept-open SMTP connections (smtp-sender.ts)
const CLAIM_FOR_MS = 5 * 60_000; // a worker that dies mid-send frees its rows after this
const IDLE_POLL_MS = 2_000; // how soon a queued row is noticed when nothing wakes the worker

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
        writeFileSync(join(dir, `${String(item.id).padStart(6, '0')}-${item.kind}.eml`), raw);
        return { rejected: [] };
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
  owner: string;
  log: Logger;
  schedule?: readonly number[];
}

export function createOutboxWorker(o: WorkerOptions) {
  const schedule = o.schedule ?? DEFAULT_RETRY_SCHEDULE_MS;
  let wake: (() => void) | null = null;
  let nudged = false; // a nudge while a flush runs: its last claim may have looked before the row was committed

  /** One send; the result is recorded with the rest of its claim (no database write while mail is in flight). */
  async function sendOne(item: Claimed): Promise<Attempt> {
    try {
      const { rejected } = await o.transport.send({ from: o.from, to: item.to }, item.raw, item);
      if (rejected.length > 0) o.log.warn({ outboxId: item.id, rejected }, 'the server refused some recipients and took the mail for the rest');
      o.log.info({ outboxId: item.id, kind: item.kind, to: item.to, messageId: item.messageId }, 'sent');
      return { state: 'sent' };
    } catch (err) {
      const e = err as { responseCode?: number; code?: string; response?: string; message?: string };
      const verdict = decide({ responseCode: e.responseCode, code: e.code, message: (e.response ?? e.message ?? String(err)).split('\n')[0]! }, item.attempts + 1, new Date(), new Date(item.deadlineAt), schedule);
      if (verdict.action === 'retry') {
        o.log.warn({ outboxId: item.id, retryAt: verdict.at.toISOString(), err: verdict.reason }, 'send failed; will retry');
        return { state: 'queued', nextAttemptAt: verdict.at, error: verdict.reason };
      }
      o.log.error({ outboxId: item.id, err: verdict.reason }, 'send failed for good; the row is dead');
      return { state: 'dead', error: verdict.reason };
    }
  }

  /** Sends a claim's rows, SEND_CONCURRENCY at a time (one slow peer round trip does not hold up the rest). */
  async function sendAll(claimed: Claimed[]): Promise<Array<[number, Attempt]>> {
    const results: Array<[number, Attempt]> = [];
    let next = 0;
    const lane = async () => {
      while (next < claimed.length) {
        const item = claimed[next++]!;
        results.push([item.id, await sendOne(item)]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, claimed.length) }, lane));
    return results;
  }

  /**
   * Sends every row that is due now, once; returns the counts. A claim's
   * results are written in the same transaction as the next claim, after
   * its sends: while mail is in flight the database is free for the
   * pipeline, and the sender needs one turn at it per round (SQLite has one
   * writer). A crash between a send and that write sends the row again when
   * its claim lapses — the same bytes with the same Message-ID, which
   * receivers drop.
   */
  async function flushOnce(): Promise<{ sent: number; retry: number; dead: number }> {
    const counts = { sent: 0, retry: 0, dead: 0 };
    const claim = { owner: o.owner, limit: CLAIM_BATCH, untilMs: CLAIM_FOR_MS };
    let settled: Array<[number, Attempt]> = [];
    for (;;) {
      const claimed = await settleAndClaim(o.db.knex, o.db.dialect, settled, claim);
      for (const [, attempt] of settled) counts[attempt.state === 'queued' ? 'retry' : attempt.state] += 1;
      if (claimed.length === 0) return counts;
      settled = await sendAll(claimed);
    }
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
          await flushOnce();
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
