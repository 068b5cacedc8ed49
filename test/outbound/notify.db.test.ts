// Staff notifications: one outbox row per new remote message, in the mail's
// own transaction, and what arrives at a real SMTP server once it is sent —
// composed under the mail's savepoint, and composed by a compose pool and
// queued at the batch's end (the same rows, the same mail).
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { createComposePool, type ComposePool } from '../../src/outbound/compose-pool';
import { outboundFrom, type NotificationInput } from '../../src/outbound/notify';
import { createOutboxWorker, openTransport } from '../../src/outbound/outbox-worker';
import { loadTemplates } from '../../src/outbound/render';
import { verifyToken } from '../../src/outbound/reply-token';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { listOutbox } from '../../src/store/outbox';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { fixture } from '../helpers/mail';
import { notification } from '../helpers/notifications';
import { seedRouting } from '../helpers/seed';
import { startSmtpSink } from '../helpers/smtp';

const SECRET = 'notify-test-secret-0123';
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let composer: ComposePool | null = null;

beforeEach(async () => {
  db = await openTestDatabase('notify');
  await seedRouting(db);
});
afterEach(async () => {
  await composer?.close();
  composer = null;
  await db.drop();
});

const files = (...names: string[]): IncomingMail[] => names.map((n) => ({ raw: fixture(n), label: n, source: 'file', sourceRef: n }));
const outbound = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'test-node' }, () => loadTemplates())!;
const options = { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, outbound };

describe.each([
  ['composed under the mail\'s savepoint', false],
  ['composed by a compose pool, queued at the batch\'s end', true],
])(`staff notifications on ${BACKEND}, %s`, (_how, pooled) => {
  const pipeline = () => {
    if (pooled) composer ??= createComposePool(outbound);
    return createPipeline(db, { ...options, composeNotification: composer?.compose });
  };

  it('each new remote message queues one notification to the department staff; auto-replies, bounces and rejected mail queue none', async () => {
    const results = await pipeline().ingest(files('whmcs-new.eml', 'whmcs-reply.eml', 'staff-out-of-office.eml', 'dsn-for-outbox.eml', 'spoofed-display-name.eml', 'whmcs-sales.eml'));
    expect(results.map((r) => r.state)).toEqual(['ticket_created', 'ticket_updated', 'auto_reply', 'bounce', 'rejected_sender', 'parked_unmapped']);
    const rows = await listOutbox(db.knex);
    expect(rows.map((r) => ({ kind: r.kind, state: r.state, to: r.to, ticketId: r.ticketId }))).toEqual([
      { kind: 'notification', state: 'queued', to: ['anna@support.example'], ticketId: results[0]!.ticketId },
      { kind: 'notification', state: 'queued', to: ['anna@support.example'], ticketId: results[0]!.ticketId },
    ]);
    expect(rows[0]!.subject).toBe(`[DB#${results[0]!.ticketId}] Server down since midnight`);
    expect(new Set(rows.map((r) => r.messageId)).size).toBe(2);
  });

  it('what arrives at the SMTP server: From the bridge, Reply-To a token for this ticket, Auto-Submitted, the loop header, text, HTML and the attachment', async () => {
    const [created] = await pipeline().ingest(files('whmcs-new.eml'));
    const sink = await startSmtpSink();
    const transport = openTransport(sink.url);
    try {
      const worker = createOutboxWorker({ db, transport, from: 'bridge@support.example', owner: 't:1:x', log: createLogger({ level: 'silent', destination: process.stderr }) });
      expect(await worker.flushOnce()).toEqual({ sent: 1, retry: 0, dead: 0 });
    } finally {
      transport.close();
      await sink.close();
    }
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0]).toMatchObject({ from: 'bridge@support.example', to: ['anna@support.example'] });
    const mail = await simpleParser(sink.received[0]!.raw);
    const ticketId = created!.ticketId!;
    expect(mail.subject).toBe(`[DB#${ticketId}] Server down since midnight`);
    const replyTo = mail.replyTo!.value[0]!.address!;
    expect(replyTo).toMatch(new RegExp(`^bridge\\+${ticketId}-[a-z2-7]{12}@support\\.example$`));
    expect(verifyToken(replyTo.slice('bridge+'.length, replyTo.indexOf('@')), 'anna@support.example', SECRET)).toBe(ticketId);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.headers.get('x-deskbridge-loop')).toBe('test-node');
    expect(mail.text).toContain('unreachable since midnight');
    expect(mail.text).toContain('Acme WHMCS ticket 482913');
    expect(mail.html).toContain('unreachable since midnight');
    expect(mail.html).toContain('John Doe &lt;john@customer.example&gt;'); // the customer's address, visible as text
    expect(mail.attachments.map((a) => [a.filename, a.size])).toEqual([['ping.log', 75]]);
    expect((await listOutbox(db.knex))[0]).toMatchObject({ state: 'sent', messageId: mail.messageId });
  });

  it('each staff member gets a notification of their own, with a Reply-To token only they can use', async () => {
    await db.knex('department_staff').insert({ department_id: (await db.knex('departments').where({ slug: 'hosting' }).first()).id, address: 'bob@support.example', position: 1 });
    const [created] = await pipeline().ingest(files('whmcs-new.eml'));
    const rows = await listOutbox(db.knex);
    expect(rows.map((r) => r.to)).toEqual([['anna@support.example'], ['bob@support.example']]);
    const tokens = await Promise.all(
      rows.map(async (r) => {
        const parsed = await simpleParser(Buffer.from((await db.knex('outbox').where({ id: r.id }).first()).raw));
        const address = parsed.replyTo!.value[0]!.address!;
        return address.slice('bridge+'.length, address.indexOf('@'));
      }),
    );
    expect(tokens[0]).not.toBe(tokens[1]);
    expect(verifyToken(tokens[1]!, 'bob@support.example', SECRET)).toBe(created!.ticketId);
    expect(verifyToken(tokens[1]!, 'anna@support.example', SECRET)).toBeNull();
  });

  it('a department without staff keeps the ticket and says no one was notified', async () => {
    await db.knex('department_staff').del();
    const [r] = await pipeline().ingest(files('whmcs-new.eml'));
    expect(r).toMatchObject({ state: 'ticket_created', reason: expect.stringMatching(/no staff in department hosting to notify$/) });
    expect(await listOutbox(db.knex)).toEqual([]);
  });

  it('a batch of many ticket mails queues one notification each, every one for its own ticket', async () => {
    const mails: IncomingMail[] = [0, 1, 2, 3, 4].map((i) => ({ raw: Buffer.from(notification(i, 2, 'batch')), label: `n${i}`, source: 'file' }));
    mails.splice(2, 0, ...files('staff-out-of-office.eml'));
    const results = await pipeline().ingest(mails);
    expect(results.map((r) => r.state)).toEqual(['ticket_created', 'ticket_updated', 'auto_reply', 'ticket_created', 'ticket_updated', 'ticket_created']);
    const rows = await listOutbox(db.knex);
    expect(rows.map((r) => [r.ticketId, r.to])).toEqual([0, 1, 3, 4, 5].map((i) => [results[i]!.ticketId, ['anna@support.example']]));
    expect(rows.map((r) => r.subject)).toEqual([0, 1, 3, 4, 5].map((i) => `[DB#${results[i]!.ticketId}] Ticket ${100000 + Math.floor([0, 1, 0, 2, 3, 4][i]! / 2)}: slow server`));
  });

  it('without an address and secret no notification is queued', async () => {
    const [r] = await createPipeline(db, { bridgeAddress: null, maxMessageBytes: 25 * 1024 * 1024 }).ingest(files('whmcs-new.eml'));
    expect(r!.state).toBe('ticket_created');
    expect(await listOutbox(db.knex)).toEqual([]);
  });
});

describe(`a compose pool that fails, on ${BACKEND}`, () => {
  it('the batch is written again with each notification composed under its mail\'s savepoint: nothing lost, nothing twice', async () => {
    let asked = 0;
    const broken = (_n: NotificationInput) => {
      asked++;
      return Promise.reject(new Error('the compose worker stopped: exit code 1'));
    };
    const results = await createPipeline(db, { ...options, composeNotification: broken }).ingest(files('whmcs-new.eml', 'whmcs-reply.eml'));
    expect(asked).toBe(2);
    expect(results.map((r) => r.state)).toEqual(['ticket_created', 'ticket_updated']);
    expect(results[0]!.inboundId).toBe(results[1]!.inboundId - 1); // the first attempt was rolled back whole: its rows left no trace
    expect(Number(((await db.knex('inbound').count({ n: '*' }).first()) as { n: number | string }).n)).toBe(2);
    expect((await listOutbox(db.knex)).map((r) => r.ticketId)).toEqual([results[0]!.ticketId, results[0]!.ticketId]);
  });
});
