// The ingest socket (DESKBRIDGE_INGEST_SOCKET): `deskbridge run` takes mail
// from `deskbridge ingest` over a Unix socket, so an MTA pipe's one process
// per mail hands its mail to the bridge that is already running (its parser
// loaded, its database open, its templates compiled) instead of starting all
// of that for one mail: the way Request Tracker's rt-mailgate hands mail to
// the running RT. The client (cli/ingest-handoff.ts) falls back to ingesting
// in its own process whenever the socket does not answer, so mail never
// depends on `run` being up; the ledger's dedupe keeps a mail that was taken
// here and then ingested again (an answer lost on the way) from counting twice.
//
// HTTP/1.1 on the socket: POST /ingest with the mail as the body, answered
// 200 with the mail's result line as JSON once it is committed. The socket
// file is the access control: created mode 0600, the bridge's own user's
// (who can write its database anyway); each side checks the other's file
// belongs to its own user, so a socket another local user put at the path
// neither steals the pipe's mail nor keeps `run` from serving.
import { chmodSync, lstatSync, unlinkSync, type Stats } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { DeskbridgeError } from '../errors';
import type { Logger } from '../log';

export const INGEST_PATH = '/ingest';
export const LABEL_HEADER = 'x-deskbridge-label';
const MAX_IN_FLIGHT = 16; // requests in hand at once; past it the client ingests in its own process
const REQUEST_TIMEOUT_MS = 30_000; // the whole request (headers and mail) must arrive within this
const HEADERS_TIMEOUT_MS = 10_000;
const CLOSE_GRACE_MS = 10_000; // on a stop, mails being ingested get this long; connections still open then are cut
const STANDBY_RETRY_MS = 5_000; // a `run` that found the path served by another looks again this often

/** One mail's result as the client prints it (the fields of pipeline.ts MailResult). */
export interface ResultLine {
  label: string;
  inboundId: number;
  state: string;
  reason: string | null;
  ticketId: number | null;
  system: string | null;
}

export type SocketOutcome = 'served' | 'refused' | 'failed' | 'aborted';

export interface IngestSocketOptions {
  path: string;
  /** Ingests one mail and returns its result lines, after they are committed. */
  ingest(raw: Buffer, label: string): Promise<ResultLine[]>;
  /** A mail larger than this is refused (413): the client ingests it itself, with its own limits. */
  maxBytes: number;
  log: Logger;
  /** Counts each request by outcome: served; refused (busy, too large), failed, aborted (the client went away): the client ingested those itself. */
  count?(outcome: SocketOutcome): void;
  /** The timings, for tests: the whole request, the grace on a stop, the standby's look. */
  timing?: { requestMs?: number; closeGraceMs?: number; standbyMs?: number };
}

export interface IngestSocket {
  /** Whether this process serves the path now (another may, and this one takes over when it stops). */
  serving(): boolean;
  close(): Promise<void>;
}

/** The user the socket file must belong to, on both sides: this process's. */
export const sameUser = (st: Stats): boolean => typeof process.getuid !== 'function' || st.uid === process.getuid();

/** Reads a request's body; null when it is larger than maxBytes or the client went away first. */
function readBody(req: IncomingMessage, maxBytes: number): Promise<{ raw: Buffer } | { tooLarge: true } | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (v: { raw: Buffer } | { tooLarge: true } | null) => {
      if (settled) return;
      settled = true;
      resolve(v);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.pause();
        return settle({ tooLarge: true });
      }
      chunks.push(chunk);
    });
    req.on('end', () => settle({ raw: Buffer.concat(chunks) }));
    req.on('error', () => settle(null));
    req.on('close', () => settle(null)); // aborted, or timed out and destroyed: no 'end' comes
  });
}

/** Whether a server answers on the socket at `path` (another `run` serving it), or the file is left over from one that died. */
export function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Listens on `path`, the socket file created owner-only (mode 0600 from the start: no moment when others may connect). */
function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const umask = process.umask(0o177); // brief, and before `run` writes any file of its own
    const done = (err?: Error) => {
      process.umask(umask);
      server.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    server.once('error', done);
    server.listen(path, () => done());
  });
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/**
 * Serves the socket. A path another live `run` of the same user serves is
 * left to it, and taken over when it stops (this one looks every few
 * seconds). A socket file left by a process that died is replaced. A path
 * that holds anything else, or another user's socket, is refused (ECONFIG),
 * never deleted.
 */
export async function serveIngestSocket(o: IngestSocketOptions): Promise<IngestSocket> {
  const ingesting = new Set<Promise<unknown>>(); // the requests in hand, until their mail is done with (answered or not)
  const requestMs = o.timing?.requestMs ?? REQUEST_TIMEOUT_MS;
  const server = createServer({ requestTimeout: requestMs, headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestMs), connectionsCheckingInterval: Math.min(1_000, requestMs) }, (req, res) => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(`${JSON.stringify(body)}\n`);
    if (req.url !== INGEST_PATH) return reply(404, { error: `not found: POST ${INGEST_PATH}` });
    if (req.method !== 'POST') return reply(405, { error: 'POST only' });
    if (ingesting.size >= MAX_IN_FLIGHT) {
      o.count?.('refused');
      return reply(503, { error: `${MAX_IN_FLIGHT} mails in hand already` });
    }
    const label = String(req.headers[LABEL_HEADER] ?? 'stdin').slice(0, 200);
    const work = readBody(req, o.maxBytes).then(async (body) => {
      if (body === null) return o.count?.('aborted');
      if ('tooLarge' in body) {
        o.count?.('refused');
        res.once('finish', () => req.destroy()); // the rest of the body is not read
        return reply(413, { error: `larger than ${o.maxBytes} bytes` });
      }
      let results: ResultLine[];
      try {
        results = await o.ingest(body.raw, label);
      } catch (err) {
        o.count?.('failed');
        o.log.warn({ err: (err as Error).message }, 'ingest socket: a mail was not taken; the client ingests it itself');
        if (!res.destroyed) reply(500, { error: (err as Error).message });
        return;
      }
      if (res.destroyed) return o.count?.('aborted'); // committed, but the client gave up: its own ingest finds the mail a duplicate
      res.once('finish', () => o.count?.('served'));
      reply(200, results);
    });
    ingesting.add(work); // a client that hangs up does not end its ingest: the slot is held until the mail is done with
    void work.finally(() => ingesting.delete(work));
  });
  server.on('error', (err) => o.log.error({ err: err.message }, 'ingest socket error')); // after the listen: never the end of `run`

  let serving = false;
  let ours: { dev: number; ino: number } | null = null;
  let standby: NodeJS.Timeout | null = null;
  let taking: Promise<boolean> | null = null; // a take-over under way: close() waits for it
  let closed = false;

  /** Serves the path when it is free or stale; false when another live process of ours serves it. Throws ECONFIG for a path that is not ours to take. */
  async function take(): Promise<boolean> {
    const st = lstatOrNull(o.path);
    if (st) {
      if (!st.isSocket()) throw new DeskbridgeError('ECONFIG', `DESKBRIDGE_INGEST_SOCKET: ${o.path} exists and is not a socket; name a free path`);
      if (!sameUser(st)) throw new DeskbridgeError('ECONFIG', `DESKBRIDGE_INGEST_SOCKET: ${o.path} is a socket of another user (uid ${st.uid}); name a path in a folder only the bridge's user can write`);
      if (await answers(o.path)) return false;
      unlinkSync(o.path); // left by a process that died
    }
    try {
      await listen(server, o.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return false; // another process took it this moment
      throw new DeskbridgeError('ECONFIG', `DESKBRIDGE_INGEST_SOCKET: cannot listen on ${o.path}: ${(err as Error).message}`, { cause: err });
    }
    chmodSync(o.path, 0o600); // whatever the umask did
    const mine = lstatSync(o.path);
    ours = { dev: mine.dev, ino: mine.ino };
    serving = true;
    if (closed) return true; // stopped while this take-over listened: close() (waiting on it) lets the path go again
    o.log.info({ socket: o.path }, 'ingest socket listening');
    return true;
  }

  if (!(await take())) {
    o.log.info({ socket: o.path }, 'ingest socket served by another process already; this one takes it over when that one stops');
    standby = setInterval(() => {
      if (taking || closed) return;
      taking = take()
        .then((taken) => {
          if (taken && standby) clearInterval(standby);
          return taken;
        })
        .catch((err: Error) => {
          o.log.warn({ err: err.message }, 'ingest socket: cannot take the path over');
          return false;
        })
        .finally(() => (taking = null));
    }, o.timing?.standbyMs ?? STANDBY_RETRY_MS);
    standby.unref();
  }

  return {
    serving: () => serving,
    async close() {
      if (closed) return;
      closed = true;
      if (standby) clearInterval(standby);
      await taking;
      if (!serving) return;
      serving = false;
      // new clients find no socket (or a dead one) and ingest themselves; the file goes only if it is still this one's
      const st = lstatOrNull(o.path);
      if (st && ours && st.dev === ours.dev && st.ino === ours.ino) unlinkSync(o.path);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // mails being ingested are answered; a client that is still sending (or silent) is cut after the grace
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...ingesting]), new Promise<void>((resolve) => (timer = setTimeout(resolve, o.timing?.closeGraceMs ?? CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      await stopped;
    },
  };
}
