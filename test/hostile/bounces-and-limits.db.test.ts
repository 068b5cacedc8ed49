// Issue 10 on a real database: delivery reports by structure (a delay marks
// nothing, a failure marks its outbox row naming the recipient, a ticket mail
// carrying a bounce is a ticket) and MIME shape limits landing in a ledger
// state that names the limit.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_PARTS } from '../../src/mail/mime-read';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { listTickets } from '../../src/store/tickets';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { dsn, whmcsQuotingDsn, whmcsWithAttachedBounce } from '../helpers/hostile-mail';
import { rawMail } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
const options = { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024 };

beforeEach(async () => {
  db = await openTestDatabase('bounces');
  await seedRouting(db);
});
afterEach(async () => db.drop());

const mail = (label: string, raw: Buffer): IncomingMail => ({ raw, label, source: 'file', sourceRef: label });
async function sentOutboxRow(messageId: string) {
  const now = new Date().toISOString();
  await db.knex('outbox').insert({ kind: 'notification', state: 'sent', to_addresses: '["anna@support.example","bob@support.example"]', subject: 's', message_id: messageId, raw: Buffer.from('x'), next_attempt_at: now, deadline_at: now, created_at: now });
}
const outboxRow = (messageId: string) => db.knex('outbox').where({ message_id: messageId }).first();

describe(`delivery reports on ${BACKEND}`, () => {
  it('a delayed DSN is a bounce with "delayed" in its reason and marks nothing', async () => {
    await sentOutboxRow('<n-1@support.example>');
    const [r] = await createPipeline(db, options).ingest([mail('delayed', dsn('<n-1@support.example>', [['anna@support.example', 'delayed', '4.4.7']], 'Delayed Mail (still being retried)'))]);
    expect(r).toMatchObject({ state: 'bounce', reason: expect.stringContaining('delayed') });
    expect((await outboxRow('<n-1@support.example>')).state).toBe('sent');
  });

  it('a failed DSN marks its outbox row bounced, naming the recipient that failed', async () => {
    await sentOutboxRow('<n-2@support.example>');
    const [r] = await createPipeline(db, options).ingest([mail('failed', dsn('<n-2@support.example>', [['bob@support.example', 'failed', '5.1.1'], ['anna@support.example', 'delayed', '4.4.1']]))]);
    expect(r).toMatchObject({ state: 'bounce', reason: expect.stringContaining('outbox item bounced for bob@support.example') });
    const row = await outboxRow('<n-2@support.example>');
    expect(row.state).toBe('bounced');
    expect(row.last_error).toContain('bob@support.example');
    expect(row.last_error).not.toContain('anna@support.example');
  });

  it('a ticket notification carrying a bounce, attached or quoted, is a ticket', async () => {
    const results = await createPipeline(db, options).ingest([mail('attached', whmcsWithAttachedBounce()), mail('quoted', whmcsQuotingDsn())]);
    expect(results.map((r) => r.state)).toEqual(['ticket_created', 'ticket_created']);
    expect((await listTickets(db.knex)).map((t) => t.remoteTicketId)).toEqual(['771204', '771205']);
  });
});

describe(`MIME shape limits on ${BACKEND}`, () => {
  it('too many parts, too deep, too big a header: too_large with the limit named; the next mail is fine', async () => {
    const parts = Array.from({ length: MAX_PARTS + 5 }, (_, i) => `--p\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('') + '--p--\r\n';
    let nested = 'innermost\r\n';
    for (let i = 0; i < 40; i++) nested = `Content-Type: multipart/mixed; boundary="n${i}"\r\n\r\n--n${i}\r\n${nested}\r\n--n${i}--\r\n`;
    const results = await createPipeline(db, options).ingest([
      mail('parts', rawMail({ From: 'x@y.example', 'Content-Type': 'multipart/mixed; boundary="p"' }, parts)),
      mail('deep', Buffer.from(`From: x@y.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\n${nested}`)),
      mail('header', rawMail({ From: 'x@y.example', 'X-Huge': 'h'.repeat(300 * 1024) })),
      mail('fine', rawMail({ From: 'x@y.example', Subject: 'fine' })),
    ]);
    expect(results.map((r) => [r.label, r.state])).toEqual([
      ['parts', 'too_large'],
      ['deep', 'too_large'],
      ['header', 'too_large'],
      ['fine', 'rejected_sender'],
    ]);
    expect(results[0]!.reason).toMatch(/limit of 1000 MIME parts/);
    expect(results[1]!.reason).toMatch(/nested \d+ deep, over the limit of 32/);
    expect(results[2]!.reason).toMatch(/header block is over the limit/);
  });
});
