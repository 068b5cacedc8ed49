// The ingest socket (DESKBRIDGE_INGEST_SOCKET): a running `deskbridge run`
// takes the mail of an MTA pipe's `deskbridge ingest` calls, and every way
// that hand-over can fail leaves the call ingesting the mail itself — no
// bridge running, one killed with its socket file left behind, one stopping.
// What an admin would check: the printed result, the ledger, the bridge's
// /metrics (served or not), the socket file's owner-only mode.
import { createConnection } from 'node:net';
import { chownSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFor, runCli } from '../helpers/cli';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { eventually, startBridge, type BridgeProcess } from '../helpers/imap';
import { notification } from '../helpers/notifications';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let work: string;
let socket: string;
let env: Record<string, string>;
let cli: ReturnType<typeof cliFor>;
const bridges: BridgeProcess[] = [];

beforeAll(async () => {
  db = await openTestDatabase('ingest_socket');
  await seedRouting(db);
  work = mkdtempSync(join(tmpdir(), 'deskbridge-sock-'));
  socket = join(work, 'ingest.sock');
  env = { DESKBRIDGE_INGEST_SOCKET: socket, DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'socket-test-secret-0123456789', DESKBRIDGE_SMTP: `file:${join(work, 'out')}` };
  cli = cliFor(db.url, env);
});
afterAll(async () => {
  for (const b of bridges) if (b.child.exitCode === null) b.child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  await db?.drop();
});

let port = 0;
const freePort = () => 20000 + Math.floor(Math.random() * 20000);
function bridge(extra: Record<string, string> = {}): BridgeProcess {
  port = freePort();
  const b = startBridge({ DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_IMAP: '', DESKBRIDGE_HTTP: `127.0.0.1:${port}`, ...env, ...extra });
  bridges.push(b);
  return b;
}
const served = async () => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/deskbridge_ingest_socket_requests_total\{outcome="served"\} (\d+)/.exec(text)?.[1] ?? 0);
};
type Line = { file: string; state: string; ticketId: number | null; inboundId: number };
const ingest = async (mail: string) => {
  const r = await cli(['ingest', '--json'], { input: mail });
  expect(r.code, r.stderr).toBe(0);
  return { lines: JSON.parse(r.stdout) as Line[], stderr: r.stderr };
};

describe(`ingest socket on ${BACKEND}`, () => {
  it('a running bridge with no mailbox serves the socket: the mail becomes a ticket there, once, and the notification is queued', async () => {
    const b = bridge();
    await b.waitForLog((l) => l.msg === 'ingest socket listening');
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const { lines, stderr } = await ingest(notification(0, 1, 'sock'));
    expect(stderr).toBe('');
    expect(lines).toEqual([expect.objectContaining({ file: 'stdin', state: 'ticket_created', ticketId: expect.any(Number) })]);
    expect(await served()).toBe(1);
    expect(await db.knex('outbox').where({ kind: 'notification', ticket_id: lines[0]!.ticketId })).toHaveLength(1);
    // the same mail again: the bridge finds it in the ledger
    const again = await ingest(notification(0, 1, 'sock'));
    expect(again.lines).toEqual([expect.objectContaining({ state: 'duplicate' })]);
    expect(await served()).toBe(2);
    expect((await cli(['doctor'])).stdout).toContain(`${socket}: served by a running bridge`);
  });

  it('a request the socket refuses (not POST /ingest, a body over the size limit) changes nothing', async () => {
    const before = Number((await db.knex('inbound').count({ n: '*' }).first())!.n);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const c = createConnection(socket);
        let out = '';
        c.on('data', (d) => (out += d));
        c.on('end', () => resolve(out));
        c.on('error', reject);
        c.end(request);
      });
    expect(await raw('GET /ingest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 405/);
    expect(await raw('POST /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx')).toMatch(/^HTTP\/1\.1 404/);
    expect(Number((await db.knex('inbound').count({ n: '*' }).first())!.n)).toBe(before);
  });

  it('a bridge stopping removes its socket; a call then ingests the mail itself, without a word', async () => {
    const b = bridges.at(-1)!;
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
    const { lines, stderr } = await ingest(notification(1, 1, 'sock'));
    expect(stderr).toBe('');
    expect(lines).toEqual([expect.objectContaining({ state: 'ticket_created' })]);
  });

  it('a bridge killed leaves its socket file: calls ingest themselves, and the next bridge takes the path over', async () => {
    const b = bridge();
    await b.waitForLog((l) => l.msg === 'ingest socket listening');
    b.child.kill('SIGKILL');
    await b.exited;
    expect(existsSync(socket)).toBe(true); // nobody answers on it
    expect((await cli(['doctor'])).stdout).toContain(`${socket}: left by a bridge that stopped`);
    const { lines, stderr } = await ingest(notification(2, 1, 'sock'));
    expect(stderr).toBe('');
    expect(lines).toEqual([expect.objectContaining({ state: 'ticket_created' })]);
    const next = bridge();
    await next.waitForLog((l) => l.msg === 'ingest socket listening');
    expect((await ingest(notification(3, 1, 'sock'))).lines).toEqual([expect.objectContaining({ state: 'ticket_created' })]);
    expect(await served()).toBe(1);
    // a second bridge on the same path leaves it to the first, runs on, and takes the path over when the first stops
    const nextPort = port;
    const second = bridge();
    await second.waitForLog((l) => l.msg === 'ingest socket served by another process already; this one takes it over when that one stops');
    expect(second.child.exitCode).toBe(null);
    expect((await ingest(notification(4, 1, 'sock'))).lines).toEqual([expect.objectContaining({ state: 'ticket_created' })]);
    expect(await served()).toBe(0); // the second's own /metrics: the first served it
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
    await second.waitForLog((l) => l.msg === 'ingest socket listening', 20_000);
    expect((await ingest(notification(5, 1, 'sock'))).lines).toEqual([expect.objectContaining({ state: 'ticket_created' })]);
    expect(await served()).toBe(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(existsSync(socket)).toBe(false);
    expect(nextPort).not.toBe(port);
  });

  it.runIf(process.getuid?.() === 0)("another user's socket at the path: the call does not hand its mail over, and run refuses the path", async () => {
    const { createServer } = await import('node:net');
    let received = 0;
    const impostor = createServer((c) => {
      received += 1;
      c.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[{"label":"stdin","inboundId":1,"state":"ticket_created","reason":null,"ticketId":1,"system":null}]\n');
    });
    await new Promise<void>((resolve) => impostor.listen(socket, resolve));
    try {
      chownSync(socket, 65534, 65534); // nobody's
      const { lines, stderr } = await ingest(notification(6, 1, 'sock'));
      expect(stderr).toBe(`deskbridge: DESKBRIDGE_INGEST_SOCKET: ${socket} is not a socket of this user (uid 65534); ingesting the mail here\n`);
      expect(lines).toEqual([expect.objectContaining({ state: 'ticket_created' })]);
      expect(received).toBe(0);
      const r = await runCli(['run'], { env: { DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_CONFIG: undefined, ...env, DESKBRIDGE_IMAP: undefined } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^deskbridge: DESKBRIDGE_INGEST_SOCKET: .* is a socket of another user \(uid 65534\)/);
    } finally {
      await new Promise<void>((resolve) => impostor.close(() => resolve()));
      rmSync(socket, { force: true });
    }
  });

  it('a path that is not a socket is refused at start, named, and never deleted', async () => {
    const file = join(work, 'not-a-socket');
    writeFileSync(file, 'keep me');
    const r = await runCli(['run'], { env: { DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_CONFIG: undefined, ...env, DESKBRIDGE_IMAP: undefined, DESKBRIDGE_INGEST_SOCKET: file } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`deskbridge: DESKBRIDGE_INGEST_SOCKET: ${file} exists and is not a socket; name a free path\n`);
    expect(existsSync(file)).toBe(true);
    // and with neither a mailbox nor a socket, `run` has nothing to do
    const none = await runCli(['run'], { env: { DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_CONFIG: undefined, DESKBRIDGE_SECRET: env.DESKBRIDGE_SECRET, DESKBRIDGE_IMAP: undefined, DESKBRIDGE_INGEST_SOCKET: undefined } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^deskbridge: DESKBRIDGE_IMAP is not set: .*DESKBRIDGE_INGEST_SOCKET/);
  });

  it('every mail of these calls is in the ledger exactly once', async () => {
    const rows: Array<{ message_id: string; state: string }> = await db.knex('inbound').select('message_id', 'state').orderBy('id');
    const expected = process.getuid?.() === 0 ? [0, 1, 2, 3, 4, 5, 6] : [0, 1, 2, 3, 4, 5];
    expect(rows.filter((r) => r.state !== 'duplicate').map((r) => r.message_id)).toEqual(expected.map((i) => `<sock-${i}@bill.example>`));
  });
});
