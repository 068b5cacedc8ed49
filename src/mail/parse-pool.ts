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
// mails that were queued behind it. Results come back in the order asked,
// but for a mail parsed ahead (parseAhead: a single piped mail, parsed while
// the program still loads), which is answered when its work is done. A
// worker that dies fails the mails it held (they are `failed`, retried later).
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DeskbridgeError } from '../errors';
import type { ProfileCandidate } from './mail-work';
import type { MailFacts } from './mail-facts';

export const DEFAULT_MAIL_DEADLINE_MS = 10_000; // one mail's parse and extraction; real mail takes milliseconds

interface Pending {
  raw: Buffer;
  /** What the mail's work reads it against; null for a mail parsed ahead (no work yet: its candidates come with parse()). */
  candidates: readonly ProfileCandidate[] | null;
  /** Parsed ahead of its turn (parseAhead): the worker keeps the facts and answers that it has them. */
  keep?: true;
  /** The id under which the worker keeps this mail's facts from a parse ahead: it does the mail's work on them. */
  reuse?: number;
  /** What is left of the mail's deadline when its parse ahead took part of it (the deadline covers parse and work together). */
  budgetMs?: number;
  resolve(facts: MailFacts): void;
  /** A parse ahead's answer: the facts are kept, the parse took `ms`. */
  keptFor?(ms: number): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | null;
}

/** Mails whose facts came from their parse ahead, not from a second parse (tests). */
export const parseAheadUse = { reused: 0 };

/** How a parse ahead ended: the id its facts are kept under in the worker and how long the parse took there, or its error. */
type Ahead = { kept: number; ms: number } | { error: Error };

/** Structured clone turns Buffers into plain Uint8Arrays: make them Buffers again. */
function revive(facts: MailFacts): MailFacts {
  for (const a of facts.attachments) a.content = Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength);
  return facts;
}

/** The error of a mail that overran its deadline: final, so it is parked rather than retried. */
export function overrunError(ms: number): Error {
  return Object.assign(new Error(`took longer than ${ms / 1000} s to parse and read; parked without retries (it would overrun again)`), { code: 'ETIMEOUT', final: true });
}

const stopped = () => new DeskbridgeError('ESTOPPED', 'the parse worker stopped: the pool was closed');

const WORKER_FILE = join(__dirname, 'parse-worker.js');
let early: Worker | null = null;

/**
 * Starts a parse worker now, for the next createParsePool to take over; or
 * takes over `started`, one bin/deskbridge.js started (WORKER_FILE with
 * workerData `{ single: true }`) before it loaded the program. The worker's
 * start (a thread, then the parser's libraries) is the longest step of a
 * single-mail `ingest`: an MTA pipe's call starts it before its command line
 * is even built, so it loads on the second core meanwhile.
 */
export function startWorkerEarly(started?: Worker): void {
  if (early) {
    if (started && started !== early) void started.terminate(); // one early worker is enough
    return;
  }
  // one that stopped before this (a damaged installation, a thread that could not start) is left: the pool starts its own
  if (started && started.threadId === -1) started = undefined;
  const w = started ?? new Worker(WORKER_FILE, { workerData: { single: true } });
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
  function post(w: Worker, id: number, p: Pending): void {
    const candidates = p.candidates === null || p.candidates === sentCandidates ? {} : { candidates: p.candidates };
    if (p.reuse !== undefined) {
      w.postMessage({ id, reuse: p.reuse, ...candidates }); // the worker holds the facts: no bytes
    } else {
      const bytes = new Uint8Array(p.raw);
      w.postMessage({ id, raw: bytes, ...(p.keep ? { keep: true } : {}), ...candidates }, [bytes.buffer]);
    }
    if (p.candidates !== null) sentCandidates = p.candidates; // only once they went: candidates that could not be sent are not what the worker holds
  }
  const pending = new Map<number, Pending>(); // in the order posted: the worker works through them in that order
  const ahead = new WeakMap<Buffer, Promise<Ahead>>(); // mails parsed ahead, by their bytes (the Buffer parse() is given)
  let closings = 0; // close() calls: a parse() waiting for its parse ahead across one is stopped, as a queued mail is

  /** Queues a mail for the worker: what parse() and parseAhead() share. */
  function enqueue(p: Omit<Pending, 'timer'>): number {
    worker ??= start();
    const id = ++seq;
    const entry: Pending = { ...p, timer: null };
    pending.set(id, entry);
    send(worker, id, entry);
    return id;
  }

  /** Posts a pending mail; one that cannot be posted fails alone and leaves no entry behind (to be timed or sent again). */
  function send(w: Worker, id: number, p: Pending): void {
    try {
      post(w, id, p);
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
    p.timer = setTimeout(() => setImmediate(() => pending.get(id) === p && overrun(id)), p.budgetMs ?? deadlineMs);
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
    w.on('message', (m: { id: number; started?: boolean; facts?: MailFacts; kept?: true; ms?: number; reused?: true; missing?: true; error?: { message: string; code?: string } }) => {
      if (worker !== w) return; // terminated for an overrun: its mails went to the new worker, which answers for them
      if (m.started) return arm(m.id);
      const p = settle(m.id);
      if (!p) return;
      // the worker goes straight on to the next mail it holds (it says `started` only after a pause): its deadline runs from now
      const next = pending.keys().next();
      if (!next.done) arm(next.value);
      if (m.reused) parseAheadUse.reused++;
      if (m.facts) p.resolve(revive(m.facts));
      else if (m.kept) p.keptFor?.(m.ms ?? 0);
      // facts kept by a worker since replaced (another mail overran), or dropped to keep a few: parsed as any mail,
      // under a whole deadline (the part its parse ahead took was spent on facts that are gone)
      else if (m.missing) {
        try {
          enqueue({ raw: p.raw, candidates: p.candidates, resolve: p.resolve, reject: p.reject });
        } catch (err) {
          p.reject(err as Error); // no worker could be started: the mail fails, as a parse() would
        }
      }
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
    /**
     * Parses one mail and does its bounded work (mail-work.ts) for the sender's system among `candidates`.
     * A mail parsed ahead (the same Buffer) has only its work done, on the facts the worker kept; one whose
     * parse ahead overran its deadline is rejected with that verdict at once, not held to a second deadline.
     */
    async parse(raw: Buffer, candidates: readonly ProfileCandidate[] = []): Promise<MailFacts> {
      const earlier = ahead.get(raw);
      if (!earlier) return new Promise<MailFacts>((resolve, reject) => enqueue({ raw, candidates, resolve, reject }));
      ahead.delete(raw);
      const closedBefore = closings;
      const outcome = await earlier;
      // its parse ahead's failure is its own (an overrun, a limit, a worker it crashed): the mail is not parsed twice
      if ('error' in outcome) throw outcome.error;
      if (closings !== closedBefore) throw stopped();
      // one deadline for parse and work together: a hostile mail gets no second one for its profile's patterns
      const budgetMs = deadlineMs - outcome.ms;
      if (budgetMs <= 0) throw overrunError(deadlineMs);
      return new Promise<MailFacts>((resolve, reject) => enqueue({ raw, candidates, reuse: outcome.kept, budgetMs, resolve, reject }));
    },
    /**
     * Starts parsing a mail before its candidates are known: a single piped mail, parsed while this thread
     * still loads the program and opens the database. Its later parse() does the mail's work alone. The worker
     * keeps the facts of a few mails parsed ahead; one it no longer holds (or a worker replaced meanwhile) is
     * parsed again. The mail is known by its Buffer: parse() must be given that same Buffer, its bytes unchanged
     * (ingest hands the bytes it read from stdin on as they are).
     */
    parseAhead(raw: Buffer): void {
      if (ahead.has(raw)) return;
      let id = 0; // the worker keeps the facts under the id the mail is sent with
      const outcome = new Promise<Ahead>((resolve) => {
        const done = { resolve: () => {}, keptFor: (ms: number) => resolve({ kept: id, ms }), reject: (error: Error) => resolve({ error }) };
        try {
          id = enqueue({ raw, candidates: null, keep: true, ...done });
        } catch (err) {
          resolve({ error: err as Error }); // no worker could be started: parse() says so, as it would have
        }
      });
      ahead.set(raw, outcome);
    },
    /** Stops the worker; mails it still held fail (their callers record them `failed`, retried later). */
    async close(): Promise<void> {
      const w = worker;
      worker = null;
      closings++;
      for (const id of [...pending.keys()]) settle(id)!.reject(stopped());
      if (w) await w.terminate();
    },
  };
}

export type ParsePool = ReturnType<typeof createParsePool>;
