// Composes staff notifications on a worker thread. Rendering the templates,
// signing the reply tokens and building the MIME bytes took more than half of
// the main thread's time per mail on an ingest with notifications on
// (profiled: 2.0 ms a mail with notifications, 0.8 ms without), while the
// parse pool's thread sat idle most of the time. With a compose pool the
// pipeline hands each ticket event's notification over as its mail is
// written, goes on with the next mail, and queues the batch's notifications
// in one insert at the end (pipeline.ts). The worker loads the same templates
// (the shipped ones under DESKBRIDGE_TEMPLATES) and runs the same
// notificationItems as the main thread would. Results come back in the order
// asked. A worker that dies fails what it held; the pipeline then writes the
// batch again composing on the main thread, and the next job starts a new
// worker. A job that takes longer than its deadline (a hung worker would
// otherwise hold the batch's transaction open for good) stops the worker
// the same way.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { NewOutboxItem } from '../store/outbox';
import type { NotificationInput, Outbound } from './notify';

interface Pending {
  resolve(items: NewOutboxItem[]): void;
  reject(err: Error): void;
}

/** What a compose worker needs to know, passed once as its workerData. */
export interface ComposeSettings {
  address: string;
  secret: string;
  instance: string;
  templatesOverrides?: string;
}

/** Structured clone turns Buffers into plain Uint8Arrays: make them Buffers again. */
const asBuffer = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export const COMPOSE_DEADLINE_MS = 30_000; // one notification is milliseconds of work; this only catches a worker that hangs

export function createComposePool(out: Pick<Outbound, 'address' | 'secret' | 'instance' | 'templatesOverrides'>, o: { deadlineMs?: number } = {}) {
  const deadlineMs = o.deadlineMs ?? COMPOSE_DEADLINE_MS;
  const settings: ComposeSettings = { address: out.address, secret: out.secret, instance: out.instance, templatesOverrides: out.templatesOverrides };
  let worker: Worker | null = null;
  let seq = 0;
  const pending = new Map<number, Pending>();

  function start(): Worker {
    const w = new Worker(join(__dirname, 'compose-worker.js'), { workerData: settings });
    w.unref(); // an idle pool never keeps the process alive
    w.on('message', (m: { id: number; items?: NewOutboxItem[]; error?: string }) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.items) p.resolve(m.items.map((item) => ({ ...item, raw: asBuffer(item.raw) })));
      else p.reject(new Error(m.error ?? 'composing the notification failed'));
    });
    const fail = (err: Error) => {
      if (worker !== w) return;
      worker = null;
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new Error(`the compose worker stopped: ${err.message}`, { cause: err }));
      }
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    return w;
  }

  // Started now: loading nodemailer and the templates takes the worker a moment, which the caller's own start-up hides.
  worker = start();

  return {
    /** The notification's outbox items (notificationItems), composed on the worker. */
    compose(n: NotificationInput): Promise<NewOutboxItem[]> {
      worker ??= start();
      const id = ++seq;
      const w = worker;
      return new Promise<NewOutboxItem[]>((resolve, reject) => {
        const overrun = () => {
          if (!pending.has(id)) return;
          pending.delete(id);
          reject(new Error(`composing the notification took longer than ${deadlineMs} ms; the compose worker is stopped`));
          if (worker === w) worker = null; // the next job starts a new worker, not one on its way out (as the parse pool does)
          void w.terminate(); // its other jobs fail with it ('exit')
        };
        // an answer that came while this thread was busy waits in its queue, and timers run before messages are
        // delivered: the verdict waits for one turn of the event loop, in which it is (as the parse pool's does)
        const timer = setTimeout(() => setImmediate(overrun), deadlineMs);
        timer.unref();
        const settle = <T>(f: (v: T) => void) => (v: T) => (clearTimeout(timer), f(v));
        pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
        try {
          w.postMessage({ id, n });
        } catch (err) {
          // a job that cannot be posted fails alone: nothing of it is left to time out and stop the worker under the others
          pending.get(id)?.reject(err as Error);
          pending.delete(id);
        }
      });
    },
    /** Stops the worker; jobs it still held fail (the pipeline composes them on the main thread instead). */
    async close(): Promise<void> {
      const w = worker;
      worker = null;
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new Error('the compose worker stopped: the pool was closed'));
      }
      if (w) await w.terminate();
    },
  };
}

export type ComposePool = ReturnType<typeof createComposePool>;
