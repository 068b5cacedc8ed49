// The ingest socket's server on its own (the end-to-end tests with `run` are
// in test/e2e/ingest-socket.db.test.ts): clients that stall, send too much,
// or hold a request open while the bridge stops must cost a bounded time and
// no slot for good. Short timings stand in for the 30 s / 10 s defaults.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serveIngestSocket, type IngestSocket, type SocketOutcome } from '../../src/ingest/ingest-socket';
import { createLogger } from '../../src/log';

let dir: string;
let path: string;
let server: IngestSocket | null;
let counted: SocketOutcome[];
const open: Socket[] = [];
const log = createLogger({ level: 'silent' });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deskbridge-socktest-'));
  path = join(dir, 's.sock');
  counted = [];
  server = null;
});
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const serve = async (ingest = async (raw: Buffer) => [{ label: 'stdin', inboundId: raw.length, state: 'ticket_created', reason: null, ticketId: 1, system: null }], maxBytes = 1000) =>
  (server = await serveIngestSocket({ path, ingest, maxBytes, log, count: (o) => counted.push(o), timing: { requestMs: 400, closeGraceMs: 300, standbyMs: 100 } }));

/** A client that sends the headers and part of the body, then nothing. */
function stall(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(path, () => {
      s.write('POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nFrom: a');
      resolve(s);
    });
    s.on('error', () => undefined);
    open.push(s);
  });
}

function post(body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: path, method: 'POST', path: '/ingest', headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('ingest socket server', () => {
  it('clients that stall are cut at the request timeout and give their slots back: the 17th mail is served', async () => {
    await serve();
    await Promise.all(Array.from({ length: 16 }, stall));
    expect((await post('hello')).status).toBe(503); // all 16 slots held
    await new Promise((r) => setTimeout(r, 1_500)); // past the request timeout (and its check interval)
    const r = await post('hello');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual([expect.objectContaining({ state: 'ticket_created', inboundId: 5 })]);
    expect(counted.filter((c) => c === 'aborted')).toHaveLength(16);
    expect(counted.filter((c) => c === 'served')).toHaveLength(1);
  });

  it('a mail over the limit is answered 413, and counted refused', async () => {
    await serve();
    const r = await post('x'.repeat(5_000)).catch((err: Error) => ({ status: -1, text: err.message }));
    expect(r.status).toBe(413);
    expect(counted).toEqual(['refused']);
  });

  it('a stop with a client holding a half-sent request ends within the grace, and removes its socket', async () => {
    await serve();
    await stall();
    const t0 = Date.now();
    await server!.close();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(existsSync(path)).toBe(false);
  });

  it('a stop answers the mail being ingested first', async () => {
    let release = () => {};
    const slow = new Promise<void>((r) => (release = r));
    await serve(async () => {
      await slow;
      return [{ label: 'stdin', inboundId: 7, state: 'ticket_updated', reason: null, ticketId: 2, system: null }];
    });
    const answer = post('mail');
    await new Promise((r) => setTimeout(r, 100));
    const closing = server!.close();
    setTimeout(release, 100);
    await closing;
    expect((await answer).status).toBe(200);
    expect(counted).toEqual(['served']);
  });

  it('a second server on the path waits, and takes the path over when the first stops; the first does not delete the second\'s socket', async () => {
    const first = await serve();
    const second = await serveIngestSocket({ path, ingest: async () => [], maxBytes: 10, log, timing: { standbyMs: 100 } });
    try {
      expect(first.serving()).toBe(true);
      expect(second.serving()).toBe(false);
      await first.close();
      server = null;
      for (let i = 0; i < 50 && !second.serving(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(second.serving()).toBe(true);
      expect(existsSync(path)).toBe(true);
      await first.close(); // again: nothing of the second's is touched
      expect(existsSync(path)).toBe(true);
    } finally {
      await second.close();
    }
    expect(existsSync(path)).toBe(false);
  });

  it('clients that send a whole mail and hang up still hold their slots until their ingests end: never more than 16 at once', async () => {
    let running = 0;
    let peak = 0;
    await serve(async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 1_000));
      running -= 1;
      return [];
    }, 1e6);
    const body = 'Subject: x\r\n\r\nhi\r\n';
    for (let i = 0; i < 40; i++) {
      const s = connect(path);
      s.on('error', () => undefined);
      s.write(`POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      setTimeout(() => s.destroy(), 30);
      await new Promise((r) => setTimeout(r, 40));
    }
    await new Promise((r) => setTimeout(r, 1_100));
    expect(peak).toBe(16);
    expect(counted.filter((c) => c === 'refused').length).toBeGreaterThan(0);
  });

  it('a run stopped while it is taking the path over lets it go again (listen slowed to widen the moment)', async () => {
    const { Server } = await import('node:net');
    const first = await serve();
    const second = await serveIngestSocket({ path, ingest: async () => [], maxBytes: 10, log, timing: { standbyMs: 20 } });
    const listen = Server.prototype.listen;
    Server.prototype.listen = function (this: unknown, ...args: unknown[]) {
      setTimeout(() => listen.apply(this, args as never), 50);
      return this;
    } as never;
    try {
      await first.close();
      server = null;
      await new Promise((r) => setTimeout(r, 30)); // the second's look is listening now
      await second.close();
      await new Promise((r) => setTimeout(r, 150)); // past the slowed listen
      expect(second.serving()).toBe(false);
      expect(existsSync(path)).toBe(false);
    } finally {
      Server.prototype.listen = listen;
    }
  });
});
