// Outbox claims that cannot double-send (issue 12): a result is written the
// moment the server accepted the mail, only by the claim's owner; a dead
// worker's claims free up within the lease; a stop claims nothing more and
// releases what it has not sent; a recipient refused for now is retried
// alone, one refused for good is reported.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { createOutboxWorker, openTransport } from '../../src/outbound/outbox-worker';
import { claimDue, enqueue, listOutbox, recordAttempts } from '../../src/store/outbox';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { startSmtpSink, type Verdict } from '../helpers/smtp';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let sink: Awaited<ReturnType<typeof startSmtpSink>> | null = null;
const transports: Array<ReturnType<typeof openTransport>> = [];
beforeEach(async () => {
  db = await openTestDatabase('claims');
});
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await sink?.close();
  sink = null;
  await db.drop();
});

const log = createLogger({ level: 'silent', destination: process.stderr });
const worker = (owner: string, leaseMs?: number) => {
  const transport = openTransport(sink!.url);
  transports.push(transport);
  return createOutboxWorker({ db, transport, from: 'bridge@support.example', owner, log, leaseMs });
};

async function queue(id: string, to: string[]) {
  const raw = Buffer.from(`From: bridge@support.example\r\nTo: ${to.join(', ')}\r\nSubject: ${id}\r\nMessage-ID: <${id}@support.example>\r\n\r\nhello\r\n`);
  return db.knex.transaction((trx) => enqueue(trx, { kind: 'notification', ticketId: null, sourceMessageId: null, to, subject: id, messageId: `<${id}@support.example>`, raw, deadlineAt: new Date(Date.now() + 24 * 3600_000) }));
}
const sentRows = async () => (await listOutbox(db.knex, { states: ['sent'] })).length;

describe(`outbox claims on ${BACKEND}`, () => {
  it('each send is recorded as soon as the server accepted it, not after the rest of its claim', async () => {
    for (let i = 0; i < 8; i++) await queue(`m${i}`, ['anna@support.example']);
    const seenAtFifth: number[] = [];
    // the first four are accepted at once; the fifth's arrival is where a lane has moved on from its first mail
    sink = await startSmtpSink(() => 'accept', { acceptAfterMs: (n) => (n < 4 ? 0 : 300), onMail: (n) => void (n === 4 && sentRows().then((c) => seenAtFifth.push(c))) });
    expect(await worker('w1').flushOnce()).toEqual({ sent: 8, retry: 0, dead: 0 });
    expect(seenAtFifth[0]).toBeGreaterThanOrEqual(1);
  });

  it('results are written only by the claim owner: a worker overtaken after a pause changes nothing', async () => {
    await queue('p1', ['anna@support.example']);
    const [claimed] = await claimDue(db.knex, db.dialect, { owner: 'paused', limit: 8, ttlMs: 60_000 });
    await db.knex('outbox').where({ id: claimed!.id }).update({ claimed_by: 'newer' }); // the claim lapsed and another worker took the row
    expect(await recordAttempts(db.knex, 'paused', [[claimed!.id, { state: 'dead', error: 'late verdict' }]])).toEqual([]);
    expect(await recordAttempts(db.knex, 'paused', [[claimed!.id, { state: 'sent' }]])).toEqual([]); // the usual result, written by one statement
    expect((await listOutbox(db.knex))[0]).toMatchObject({ state: 'queued', lastError: null, attempts: 0, sentAt: null });
    expect(await recordAttempts(db.knex, 'newer', [[claimed!.id, { state: 'sent' }]])).toEqual([claimed!.id]);
    expect((await listOutbox(db.knex))[0]).toMatchObject({ state: 'sent', attempts: 1, sentAt: expect.any(String) });
  });

  it("a dead worker's claims are free again once its lease lapses, not 5 minutes later", async () => {
    await queue('d1', ['anna@support.example']);
    expect(await claimDue(db.knex, db.dialect, { owner: 'dead', limit: 8, ttlMs: 400 })).toHaveLength(1);
    expect(await claimDue(db.knex, db.dialect, { owner: 'live', limit: 8, ttlMs: 400 })).toHaveLength(0); // held
    await new Promise((r) => setTimeout(r, 600));
    expect(await claimDue(db.knex, db.dialect, { owner: 'live', limit: 8, ttlMs: 400 })).toHaveLength(1);
  });

  it('a stop claims nothing more, lets the sends in flight finish, and releases the rows it did not send', async () => {
    for (let i = 0; i < 12; i++) await queue(`s${i}`, ['anna@support.example']);
    const stop = new AbortController();
    sink = await startSmtpSink(() => 'accept', { acceptAfterMs: () => 200, onMail: (n) => n === 0 && stop.abort() });
    const counts = await worker('stopping').flushOnce(stop.signal);
    const rows = await listOutbox(db.knex);
    expect(counts.sent).toBeLessThanOrEqual(4); // the sends already in flight, nothing started after the stop
    expect(rows.filter((r) => r.state === 'sent')).toHaveLength(counts.sent);
    expect(sink.received).toHaveLength(counts.sent);
    expect(Number(((await db.knex('outbox').whereNotNull('claimed_by').count({ n: '*' }).first()) as { n: unknown }).n)).toBe(0);
    // another worker sends the rest at once: released, not waiting for a claim to lapse
    expect((await worker('next').flushOnce()).sent).toBe(12 - counts.sent);
    expect(sink.received.map((m) => /Message-ID: <(.*?)>/.exec(m.raw.toString())![1]).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `s${i}@support.example`).sort());
  });

  it('a recipient refused for now is retried alone; one refused for good is reported; the one who got it is not sent it again', async () => {
    const verdicts: Record<string, Verdict> = { 'later@x.example': 451, 'nobody@x.example': 550 };
    sink = await startSmtpSink((rcpt) => verdicts[rcpt] ?? 'accept');
    await queue('r1', ['anna@support.example', 'later@x.example', 'nobody@x.example']);
    expect(await worker('w').flushOnce()).toEqual({ sent: 0, retry: 1, dead: 0 });
    const [row] = await listOutbox(db.knex);
    expect(row).toMatchObject({ state: 'queued', to: ['later@x.example'], lastError: expect.stringMatching(/delivered to anna@support.example; refused for good: nobody@x.example \(550.*deferred: later@x.example \(451/) });
    delete verdicts['later@x.example'];
    await db.knex('outbox').update({ next_attempt_at: new Date(Date.now() - 1000).toISOString() });
    expect(await worker('w').flushOnce()).toEqual({ sent: 1, retry: 0, dead: 0 });
    expect(sink.received.map((m) => m.to)).toEqual([['anna@support.example'], ['later@x.example']]);
  });

  it('a recipient refused for good beside one who got the mail: sent, with the refusal reported', async () => {
    sink = await startSmtpSink((rcpt) => (rcpt === 'nobody@x.example' ? 550 : 'accept'));
    await queue('r2', ['anna@support.example', 'nobody@x.example']);
    expect(await worker('w').flushOnce()).toEqual({ sent: 1, retry: 0, dead: 0 });
    expect((await listOutbox(db.knex))[0]).toMatchObject({ state: 'sent', lastError: expect.stringMatching(/refused for good: nobody@x.example \(550/) });
  });
});
