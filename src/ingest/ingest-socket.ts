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
// 200 with the mail's result lines as JSON once they are committed. The
// socket file is the access control: mode 0600, the bridge's own user (who
// can write its database anyway) and root only.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { DeskbridgeError } from '../errors';
import type { Logger } from '../log';

export const INGEST_PATH = '/ingest';
export const LABEL_HEADER = 'x-deskbridge-label';
const MAX_IN_FLIGHT = 16; // mails being ingested at once; past it the client ingests in its own process
const BODY_TIMEOUT_MS = 30_000; // a client that stops sending mid-mail is dropped

/** One mail's result as the client prints it (the fields of pipeline.ts MailResult). */
export interface ResultLine {
  label: string;
  inboundId: number;
  state: string;
  reason: string | null;
  ticketId: number | null;
  system: string | null;
}

export interface IngestSocketOptions {
  path: string;
  /** Ingests one mail and returns its result lines, after they are committed. */
  ingest(raw: Buffer, label: string): Promise<ResultLine[]>;
  /** A mail larger than this is refused (413): the client ingests it itself, with its own limits. */
  maxBytes: number;
  log: Logger;
  /** Counts each request by outcome (served, refused, failed). */
  count?(outcome: 'served' | 'refused' | 'failed'): void;
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Whether a server answers on the socket at `path` (another `run` serving it), or the file is left over from one that died. */
function answers(path: string): Promise<boolean> {
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
    const umask = process.umask(0o177); // at start, before anything else of `run` creates files
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

/**
 * Serves the socket; null when another live process serves it already (one
 * `run` of several sharing the path: the mail reaches the bridge either way).
 * A socket file left behind by a process that died is replaced; a path that
 * holds anything but a socket is refused, never deleted.
 */
export async function serveIngestSocket(o: IngestSocketOptions): Promise<{ close(): Promise<void> } | null> {
  let inFlight = 0;
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    if (req.url !== INGEST_PATH) return reply(404, { error: `not found: POST ${INGEST_PATH}` });
    if (req.method !== 'POST') return reply(405, { error: 'POST only' });
    if (inFlight >= MAX_IN_FLIGHT) {
      o.count?.('refused');
      return reply(503, { error: `${MAX_IN_FLIGHT} mails in hand already` });
    }
    inFlight += 1;
    req.setTimeout(BODY_TIMEOUT_MS, () => req.destroy());
    const label = String(req.headers[LABEL_HEADER] ?? 'stdin').slice(0, 200);
    readBody(req, o.maxBytes)
      .then(async (raw) => {
        if (raw === null) {
          o.count?.('refused');
          return reply(413, { error: `larger than ${o.maxBytes} bytes` });
        }
        req.setTimeout(0); // the body is in: the client waits for the commit, however long the database takes
        const results = await o.ingest(raw, label);
        o.count?.('served');
        reply(200, results);
      })
      .catch((err: Error) => {
        o.count?.('failed');
        o.log.warn({ err: err.message }, 'ingest socket: a mail was not taken; the client ingests it itself');
        if (!res.headersSent && !res.destroyed) reply(500, { error: err.message });
      })
      .finally(() => (inFlight -= 1));
  });
  try {
    await listen(server, o.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw new DeskbridgeError('ECONFIG', `DESKBRIDGE_INGEST_SOCKET: cannot listen on ${o.path}: ${(err as Error).message}`, { cause: err });
    if (!lstatSync(o.path).isSocket()) throw new DeskbridgeError('ECONFIG', `DESKBRIDGE_INGEST_SOCKET: ${o.path} exists and is not a socket; name a free path`);
    if (await answers(o.path)) {
      o.log.info({ socket: o.path }, 'ingest socket served by another process already; this one does not serve it');
      return null;
    }
    unlinkSync(o.path); // left by a process that died
    await listen(server, o.path);
  }
  server.on('error', (err) => o.log.error({ err: err.message }, 'ingest socket error')); // after the listen: never the end of `run`
  chmodSync(o.path, 0o600); // whatever the umask did
  o.log.info({ socket: o.path }, 'ingest socket listening');
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        try {
          unlinkSync(o.path); // new clients find no socket and ingest themselves; those connected are answered
        } catch {
          // gone already
        }
      }),
  };
}
