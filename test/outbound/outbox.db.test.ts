// The outbox worker against a real SMTP server: accepted rows are sent, a 451
// is retried on the schedule, a 550 is dead at once, the deadline ends
// retries, and `outbox list|retry|flush` show and steer it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { createOutboxWorker, openTransport } from '../../src/outbound/outbox-worker';
import { enqueue, listOutbox } from '../../src/store/outbox';
import { cliFor } from '../helpers/cli';
import { openTestDatabase } from '../helpers/database';
import { startSmtpSink, type Verdict } from '../helpers/smtp';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let verdicts: Record<string, Verdict>;

beforeEach(async () => {
  db = await openTestDatabase('outbox');
  verdicts = {};
  sink = await startSmtpSink((rcpt) => verdicts[rcpt] ?? 'accept');
});
const transports: Array<ReturnType<typeof openTransport>> = [];
const transport = (url: string) => {
  const t = openTransport(url);
  transports.push(t);
  return t;
};
afterEach(async () => {
  for (const t of transports.splice(0)) t.close(); // pooled connections, or the server waits for them to close
  await sink.close();
  await db.drop();
});

const rawMail = (id: string, to: string) => Buffer.from(`From: bridge@support.example\r\nTo: ${to}\r\nSubject: test ${id}\r\nMessage-ID: <${id}@support.example>\r\n\r\nhello ${id}\r\n`);

async function queue(id: string, to: string, deadlineInMs = 24 * 3600_000) {
  return db.knex.transaction((trx) =>
    enqueue(trx, { kind: 'notification', ticketId: null, sourceMessageId: null, to: [to], subject: `test ${id}`, messageId: `<${id}@support.example>`, raw: rawMail(id, to), deadlineAt: new Date(Date.now() + deadlineInMs) }),
  );
}

const worker = (schedule?: number[]) =>
  createOutboxWorker({ db, transport: transport(sink.url), from: 'bridge@support.example', owner: 'test:1:x', log: createLogger({ level: 'silent', destination: process.stderr }), schedule });

describe('outbox worker', () => {
  it('sends a queued row as stored (same bytes, same Message-ID) and marks it sent', async () => {
    await queue('a1', 'anna@support.example');
    const w = worker();
    expect(await w.flushOnce()).toEqual({ sent: 1, retry: 0, dead: 0 });
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0]).toMatchObject({ from: 'bridge@support.example', to: ['anna@support.example'] });
    expect(sink.received[0]!.raw.toString()).toContain('Message-ID: <a1@support.example>');
    const [row] = await listOutbox(db.knex);
    expect(row).toMatchObject({ state: 'sent', attempts: 1, lastError: null });
    expect(await w.flushOnce()).toEqual({ sent: 0, retry: 0, dead: 0 }); // nothing twice
  });

  it('a 451 is retried on the schedule; a 550 is dead at once; past the deadline a 451 is dead too', async () => {
    verdicts = { 'later@x.example': 451, 'nobody@x.example': 550, 'late@x.example': 451 };
    await queue('t1', 'later@x.example');
    await queue('p1', 'nobody@x.example');
    await queue('d1', 'late@x.example', 30_000); // deadline before the first retry
    const before = Date.now();
    expect(await worker().flushOnce()).toEqual({ sent: 0, retry: 1, dead: 2 });
    const rows = Object.fromEntries((await listOutbox(db.knex)).map((r) => [r.messageId, r]));
    expect(rows['<t1@support.example>']).toMatchObject({ state: 'queued', attempts: 1, lastError: expect.stringMatching(/^attempt 1 failed: 451/) });
    expect(Date.parse(rows['<t1@support.example>']!.nextAttemptAt) - before).toBeGreaterThanOrEqual(60_000);
    expect(rows['<p1@support.example>']).toMatchObject({ state: 'dead', lastError: expect.stringMatching(/^rejected: 550/) });
    expect(rows['<d1@support.example>']).toMatchObject({ state: 'dead', lastError: expect.stringMatching(/past the deadline: 451/) });
    // not due yet: nothing is tried again
    expect(await worker().flushOnce()).toEqual({ sent: 0, retry: 0, dead: 0 });
    // the server is fine again and the retry comes due: sent
    verdicts = {};
    await db.knex('outbox').where({ message_id: '<t1@support.example>' }).update({ next_attempt_at: new Date(Date.now() - 1000).toISOString() });
    expect(await worker().flushOnce()).toEqual({ sent: 1, retry: 0, dead: 0 });
    expect(sink.received.map((r) => r.to[0])).toEqual(['later@x.example']);
  });

  it('a server that does not answer is a transient failure', async () => {
    await queue('c1', 'anna@support.example');
    const w = createOutboxWorker({ db, transport: transport('smtp://127.0.0.1:1'), from: 'bridge@support.example', owner: 'test:1:x', log: createLogger({ level: 'silent', destination: process.stderr }) });
    expect(await w.flushOnce()).toEqual({ sent: 0, retry: 1, dead: 0 });
    expect((await listOutbox(db.knex))[0]).toMatchObject({ state: 'queued', lastError: expect.stringMatching(/ECONNREFUSED/) });
  });
});

describe('deskbridge outbox', () => {
  it('list shows the rows; retry puts a dead one back; flush sends it', async () => {
    verdicts = { 'nobody@x.example': 550 };
    const id = await queue('r1', 'nobody@x.example');
    await worker().flushOnce();
    const cli = cliFor(db.url, { DESKBRIDGE_SMTP: sink.url, DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_SECRET: 'outbox-test-secret-0123' });
    const listed = await cli(['outbox', 'list', '--state', 'dead', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id, state: 'dead', kind: 'notification', to: ['nobody@x.example'], attempts: 1, messageId: '<r1@support.example>', lastError: expect.stringMatching(/550/) }),
    ]);
    expect((await cli(['outbox', 'retry', String(id)])).stdout).toBe(`queued #${id} again\n`);
    verdicts = {};
    // without the secret a flush could send relays but not render a notification: refused, nothing sent
    const secretless = await cliFor(db.url, { DESKBRIDGE_SMTP: sink.url, DESKBRIDGE_ADDRESS: 'bridge@support.example' })(['outbox', 'flush']);
    expect(secretless).toMatchObject({ code: 2, stderr: expect.stringMatching(/^deskbridge: DESKBRIDGE_SECRET is not set: staff notifications are rendered as they are sent/) });
    expect(sink.received).toHaveLength(0);
    const flushed = await cli(['outbox', 'flush']);
    expect(flushed).toMatchObject({ code: 0, stdout: 'sent 1, to retry 0, dead 0\n' });
    expect(sink.received).toHaveLength(1);
  });

  it.each([
    [['outbox', 'retry', '999'], /^deskbridge: outbox id 999: no such row/],
    [['outbox', 'retry', 'x'], /^deskbridge: outbox id "x" is not valid/],
    [['outbox', 'list', '--state', 'lost'], /^deskbridge: --state: "lost" is not one of queued, sent, dead, bounced, parked/],
  ])('bad input %j: exit 2, one line, nothing changed', async (args, message) => {
    const id = await queue('b1', 'anna@support.example');
    const r = await cliFor(db.url)(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect((await listOutbox(db.knex)).map((x) => [x.id, x.state])).toEqual([[id, 'queued']]);
  });
});
