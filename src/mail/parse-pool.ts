// Parses mail on a worker thread, so the one full parse of each mail
// (mailparser, the costliest step per mail) runs on a second core while the
// main thread writes the previous mails to the database. Profiled on the
// ingest and IMAP backlogs: parsing and the database each took about half
// of the main thread; side by side the batch takes as long as the slower.
// Results come back in the order asked. A worker that dies fails the mails
// it held (they are `failed`, retried later) and is replaced on the next call.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { MailFacts } from './parse-mail';

interface Pending {
  resolve(facts: MailFacts): void;
  reject(err: Error): void;
}

/** Structured clone turns Buffers into plain Uint8Arrays: make them Buffers again. */
function revive(facts: MailFacts): MailFacts {
  for (const a of facts.attachments) a.content = Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength);
  return facts;
}

export function createParsePool() {
  let worker: Worker | null = null;
  let seq = 0;
  const pending = new Map<number, Pending>();

  function start(): Worker {
    const w = new Worker(join(__dirname, 'parse-worker.js'));
    w.unref(); // an idle pool never keeps the process alive
    w.on('message', (m: { id: number; facts?: MailFacts; error?: { message: string; code?: string } }) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.facts) p.resolve(revive(m.facts));
      else p.reject(Object.assign(new Error(m.error?.message ?? 'parse failed'), m.error?.code ? { code: m.error.code } : {}));
    });
    const fail = (err: Error) => {
      if (worker === w) worker = null;
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new Error(`the parse worker stopped: ${err.message}`, { cause: err }));
      }
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    return w;
  }

  return {
    parse(raw: Buffer): Promise<MailFacts> {
      worker ??= start();
      const id = ++seq;
      return new Promise<MailFacts>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker!.postMessage({ id, raw });
      });
    },
    /** Stops the worker; mails it still held fail (their callers record them `failed`, retried later). */
    async close(): Promise<void> {
      const w = worker;
      worker = null;
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new Error('the parse worker stopped: the pool was closed'));
      }
      if (w) await w.terminate();
    },
  };
}

export type ParsePool = ReturnType<typeof createParsePool>;
