// The client side of the ingest socket (ingest/ingest-socket.ts): a
// single-mail `deskbridge ingest` hands its mail to the running `deskbridge
// run` and prints what that made of it. Loads nothing but node:http, so a
// call that is served costs little more than Node's own start. Anything but
// a clean answer — no socket, a refused or dead one, a timeout, an error —
// returns null, and the caller ingests the mail in its own process.
import { request } from 'node:http';
import { INGEST_PATH, LABEL_HEADER, type ResultLine } from '../ingest/ingest-socket';

export interface HandOffOutcome {
  results: ResultLine[] | null;
  /** Why the mail was not taken, when it is worth telling the admin (not for "no bridge running"). */
  problem?: string;
}

const QUIET = new Set(['ENOENT', 'ECONNREFUSED']); // no `run` serving: the usual case without one
const MAX_ANSWER_BYTES = 64 * 1024; // one result line; anything longer is not an answer the bridge gives

const isId = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
const isTextOrNull = (v: unknown) => v === null || typeof v === 'string';

function isResultLine(v: unknown, label: string): v is ResultLine {
  const r = v as Partial<ResultLine> | null;
  return typeof r === 'object' && r !== null && r.label === label && isId(r.inboundId) && typeof r.state === 'string' && /^[a-z_]{1,40}$/.test(r.state) && isTextOrNull(r.reason) && (r.ticketId === null || isId(r.ticketId)) && isTextOrNull(r.system);
}

export function handOff(socketPath: string, raw: Buffer, label: string, timeoutMs: number): Promise<HandOffOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: HandOffOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const req = request({ socketPath, method: 'POST', path: INGEST_PATH, headers: { 'content-type': 'message/rfc822', 'content-length': raw.length, [LABEL_HEADER]: label, connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ANSWER_BYTES) return void chunks.push(c);
        req.destroy();
        done({ results: null, problem: `an answer of more than ${MAX_ANSWER_BYTES} bytes` });
      });
      res.on('error', (err) => done({ results: null, problem: err.message }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          let error = text.trim();
          try {
            error = String((JSON.parse(text) as { error?: unknown }).error ?? error);
          } catch {
            // not JSON: the text as it is
          }
          return done({ results: null, problem: res.statusCode === 503 || res.statusCode === 413 ? undefined : `HTTP ${res.statusCode}: ${error}` });
        }
        let results: unknown;
        try {
          results = JSON.parse(text);
        } catch (err) {
          return done({ results: null, problem: `an answer that is not JSON (${(err as Error).message})` });
        }
        // one result, for this mail, with a ledger row: anything else is not an answer the bridge gives
        if (!Array.isArray(results) || results.length !== 1 || !isResultLine(results[0], label)) return done({ results: null, problem: 'an answer that is not one result line for this mail' });
        done({ results: results as ResultLine[] });
      });
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy();
      done({ results: null, problem: `no answer within ${timeoutMs / 1000} s` });
    });
    req.on('error', (err: NodeJS.ErrnoException) => done({ results: null, problem: QUIET.has(err.code ?? '') ? undefined : err.message }));
    req.end(raw);
  });
}
