// Parses mail on a worker thread, so the one full parse of each mail
// (mailparser, the costliest step per mail) runs on a second core while the
// main thread writes the previous mails to the database. Profiled on the
// ingest and IMAP backlogs: parsing and the database each took about half
// of the main thread; side by side the batch takes as long as the slower.
// The worker also does the mail's other unbounded work (mail-work.ts: HTML
// sanitising, profile extraction), each mail under a deadline: a mail that
// overruns it is rejected as final ("took longer than N s": it would overrun
// again, so it is parked, not retried), the worker is terminated (a regex in
// a loop cannot be interrupted any other way) and a new one takes over the
// mails that were queued behind it. Results come back in the order asked. A
// worker that dies fails the mails it held (they are `failed`, retried later).
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DeskbridgeError } from '../errors';
import type { ProfileCandidate } from './mail-work';
import type { MailFacts } from './mail-facts';

export const DEFAULT_MAIL_DEADLINE_MS = 10_000; // one mail's parse and extraction; real mail takes milliseconds

interface Pending {
  raw: Buffer;
  candidates: readonly ProfileCandidate[];
  resolve(facts: MailFacts): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | null;
}

/** Structured clone turns Buffers into plain Uint8Arrays: make them Buffers again. */
function revive(facts: MailFacts): MailFacts {
  for (const a of facts.attachments) a.content = Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength);
  return facts;
}

/** The error of a mail that overran its deadline: final, so it is parked rather than retried. */
export function overrunError(ms: number): Error {
  return Object.assign(new Error(`took longer than ${ms / 1000} s to parse and read; parked without retries (it would overrun again)`), { code: 'ETIMEOUT', final: true });
}

const WORKER_FILE = join(__dirname, 'parse-worker.js');
let early: Worker | null = null;

/**
 * Starts a parse worker now, for the next createParsePool to take over. The
 * worker's start (a thread, then the parser's libraries) is the longest step
 * of a single-mail `ingest`: an MTA pipe's call starts it before its command
 * line is even built, so it loads on the second core meanwhile.
 */
export function startWorkerEarly(): void {
  if (early) return;
  const w = new Worker(WORKER_FILE, { workerData: { single: true } });
  w.unref();
  // a worker that fails before it is taken over is only dropped: the pool starts its own
  const drop = () => {
    if (early === w) early = null;
  };
  w.once('error', drop);
  w.once('exit', drop);
  early = w;
}

export function createParsePool(options: { deadlineMs?: number } = {}) {
  const deadlineMs = options.deadlineMs ?? DEFAULT_MAIL_DEADLINE_MS;
  let worker: Worker | null = null;
  let seq = 0;
  let sentCandidates: readonly ProfileCandidate[] | null = null; // what the current worker holds: sent with a batch's first mail, not with each

  /**
   * Hands a mail to the worker. The bytes go as a copy of their own, transferred:
   * a Buffer read from a file is often a view on a shared 8 KiB slab, which
   * postMessage would clone whole (profiled: 0.3 ms of the main thread a mail,
   * with the candidates sent every time).
   */
  function post(w: Worker, id: number, raw: Buffer, candidates: readonly ProfileCandidate[]): void {
    const bytes = new Uint8Array(raw);
    const same = candidates === sentCandidates;
    w.postMessage({ id, raw: bytes, ...(same ? {} : { candidates }) }, [bytes.buffer]);
    sentCandidates = candidates; // only once they went: candidates that could not be sent are not what the worker holds
  }
  const pending = new Map<number, Pending>(); // in the order posted: the worker works through them in that order

  /** Posts a pending mail; one that cannot be posted fails alone and leaves no entry behind (to be timed or sent again). */
  function send(w: Worker, id: number, p: Pending): void {
    try {
      post(w, id, p.raw, p.candidates);
    } catch (err) {
      settle(id)?.reject(err as Error);
    }
  }

  const settle = (id: number) => {
    const p = pending.get(id);
    if (!p) return undefined;
    pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    return p;
  };

  /**
   * The deadline runs from the moment the worker starts on the mail — it says so for a mail it takes up after a pause,
   * and takes up the next at once when it answers one — so a worker's start-up and the mails before it do not count.
   */
  function arm(id: number): void {
    const p = pending.get(id);
    if (!p || p.timer) return;
    // When the timer fires, answers the worker sent meanwhile may still wait in this thread's queue (it was busy:
    // a large batch written synchronously, a slow disk), and timers run before messages are delivered: the
    // verdict waits for one turn of the event loop, in which they are, so an answer in time is not an overrun.
    p.timer = setTimeout(() => setImmediate(() => pending.get(id) === p && overrun(id)), deadlineMs);
    p.timer.unref();
  }

  function overrun(id: number): void {
    const p = settle(id);
    const w = worker;
    worker = null;
    if (w) void w.terminate();
    p?.reject(overrunError(deadlineMs));
    // the mails queued behind it go to a new worker
    if (pending.size > 0) {
      const w2 = start();
      worker = w2;
      for (const [qid, q] of [...pending]) send(w2, qid, q);
    }
  }

  function start(): Worker {
    sentCandidates = null; // a new worker holds none yet
    const w = early ?? new Worker(WORKER_FILE);
    early = null;
    w.removeAllListeners();
    w.unref(); // an idle pool never keeps the process alive
    w.on('message', (m: { id: number; started?: boolean; facts?: MailFacts; error?: { message: string; code?: string } }) => {
      if (worker !== w) return; // terminated for an overrun: its mails went to the new worker, which answers for them
      if (m.started) return arm(m.id);
      const p = settle(m.id);
      if (!p) return;
      // the worker goes straight on to the next mail it holds (it says `started` only after a pause): its deadline runs from now
      const next = pending.keys().next();
      if (!next.done) arm(next.value);
      if (m.facts) p.resolve(revive(m.facts));
      else p.reject(Object.assign(new Error(m.error?.message ?? 'parse failed'), m.error?.code ? { code: m.error.code } : {}));
    });
    const fail = (err: Error) => {
      if (worker !== w) return; // terminated for an overrun: its mails moved on already
      worker = null;
      for (const id of [...pending.keys()]) settle(id)!.reject(new Error(`the parse worker stopped: ${err.message}`, { cause: err }));
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    return w;
  }

  // Started now, not at the first mail: loading the worker's modules takes a moment, which the caller's
  // own start-up (database, IMAP login) hides, instead of the first mail waiting for it.
  worker = start();

  return {
    deadlineMs,
    /** Parses one mail and does its bounded work (mail-work.ts) for the sender's system among `candidates`. */
    parse(raw: Buffer, candidates: readonly ProfileCandidate[] = []): Promise<MailFacts> {
      worker ??= start();
      const id = ++seq;
      return new Promise<MailFacts>((resolve, reject) => {
        const p: Pending = { raw, candidates, resolve, reject, timer: null };
        pending.set(id, p);
        send(worker!, id, p);
      });
    },
    /** Stops the worker; mails it still held fail (their callers record them `failed`, retried later). */
    async close(): Promise<void> {
      const w = worker;
      worker = null;
      for (const id of [...pending.keys()]) settle(id)!.reject(new DeskbridgeError('ESTOPPED', 'the parse worker stopped: the pool was closed'));
      if (w) await w.terminate();
    },
  };
}

export type ParsePool = ReturnType<typeof createParsePool>;
