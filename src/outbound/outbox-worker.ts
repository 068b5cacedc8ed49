// Sends what the outbox holds: claims due rows, hands each one's stored bytes
// to the transport (pooled SMTP through nodemailer, or .eml files for demos),
// and records the result through delivery-error.ts's decision. Inside
// `deskbridge run` it loops; `deskbridge outbox flush` runs it once.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import type { Logger } from '../log';
import type { Database } from '../store/db';
import { claimDue, recordAttempt, type Claimed } from '../store/outbox';
import { decide, DEFAULT_RETRY_SCHEDULE_MS } from './delivery-error';

const CLAIM_BATCH = 20; // rows per claim; their results are written together after the sends
export const SEND_CONCURRENCY = 4; // mails in flight at once, over as many pooled SMTP connections
const CLAIM_FOR_MS = 5 * 60_000; // a worker that dies mid-send frees its rows after this
const IDLE_POLL_MS = 2_000; // how soon a queued row is noticed when nothing wakes the worker

/** Where mail goes: an SMTP server, or a folder of .eml files. */
export interface MailTransport {
  describe: string;
  send(envelope: { from: string; to: string[] }, raw: Buffer, item: Claimed): Promise<void>;
  close(): void;
}

export function openTransport(target: string): MailTransport {
  if (target.startsWith('file:')) {
    const dir = target.slice('file:'.length);
    mkdirSync(dir, { recursive: true });
    return {
      describe: `files in ${dir}`,
      async send(_envelope, raw, item) {
        writeFileSync(join(dir, `${String(item.id).padStart(6, '0')}-${item.kind}.eml`), raw);
      },
      close() {},
    };
  }
  const transport = createTransport({ url: target, pool: true, maxConnections: SEND_CONCURRENCY, connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 } as Parameters<typeof createTransport>[0]);
  return {
    describe: target.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:****@'),
    async send(envelope, raw) {
      await transport.sendMail({ envelope, raw });
    },
    close: () => transport.close(),
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

  type Attempt = Parameters<typeof recordAttempt>[2];

  /** One send; the result is recorded with the rest of its claim (no database write while mail is in flight). */
  async function sendOne(item: Claimed): Promise<Attempt> {
    try {
      await o.transport.send({ from: o.from, to: item.to }, item.raw, item);
      o.log.info({ outboxId: item.id, kind: item.kind, to: item.to, messageId: item.messageId }, 'sent');
      return { state: 'sent' };
    } catch (err) {
      const e = err as { responseCode?: number; response?: string; message?: string };
      const verdict = decide({ responseCode: e.responseCode, message: (e.response ?? e.message ?? String(err)).split('\n')[0]! }, item.attempts + 1, new Date(), new Date(item.deadlineAt), schedule);
      if (verdict.action === 'retry') {
        o.log.warn({ outboxId: item.id, retryAt: verdict.at.toISOString(), err: verdict.reason }, 'send failed; will retry');
        return { state: 'queued', nextAttemptAt: verdict.at, error: verdict.reason };
      }
      o.log.error({ outboxId: item.id, err: verdict.reason }, 'send failed for good; the row is dead');
      return { state: 'dead', error: verdict.reason };
    }
  }

  /**
   * Sends every row that is due now, once; returns the counts. A claim's
   * results are written together after its sends: while mail is in flight
   * the database is free for the pipeline (SQLite has one writer). A crash
   * between a send and that write sends the row again when its claim lapses
   * — the same bytes with the same Message-ID, which receivers drop.
   */
  async function flushOnce(): Promise<{ sent: number; retry: number; dead: number }> {
    const counts = { sent: 0, retry: 0, dead: 0 };
    for (;;) {
      const claimed = await claimDue(o.db.knex, o.db.dialect, o.owner, CLAIM_BATCH, CLAIM_FOR_MS);
      if (claimed.length === 0) return counts;
      // SEND_CONCURRENCY at a time: one slow peer round trip does not hold up the rest
      const results: Array<[number, Attempt]> = [];
      let next = 0;
      const lane = async () => {
        while (next < claimed.length) {
          const item = claimed[next++]!;
          results.push([item.id, await sendOne(item)]);
        }
      };
      await Promise.all(Array.from({ length: Math.min(SEND_CONCURRENCY, claimed.length) }, lane));
      await o.db.knex.transaction(async (trx) => {
        for (const [id, attempt] of results) await recordAttempt(trx, id, attempt);
      });
      for (const [, attempt] of results) counts[attempt.state === 'queued' ? 'retry' : attempt.state] += 1;
    }
  }

  return {
    flushOnce,
    /** Wakes the loop now (the pipeline queued something). */
    nudge: () => wake?.(),
    async run(signal: AbortSignal): Promise<void> {
      while (!signal.aborted) {
        try {
          await flushOnce();
        } catch (err) {
          o.log.error({ err: (err as Error).message }, 'outbox worker failed; trying again');
        }
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
