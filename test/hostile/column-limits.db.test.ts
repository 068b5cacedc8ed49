// Defect 1 of issue 10: values longer than a column holds. PostgreSQL refuses
// them where SQLite stores them whole; either way such a mail must get the
// outcome it would get with short values, the value cut to the column (its
// beginning kept), the same on both backends. And a mail whose write fails
// anyway costs only itself: `failed`, with the batch going on.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { getThread, listTickets } from '../../src/store/tickets';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { fixture, rawMail } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
const options = { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024 };

beforeEach(async () => {
  db = await openTestDatabase('limits');
  await seedRouting(db);
});
afterEach(async () => db.drop());

const mail = (label: string, raw: Buffer): IncomingMail => ({ raw, label, source: 'file', sourceRef: label });
const billmgr = (extra: Record<string, string>, body?: string) =>
  rawMail({ From: 'BILLmanager <noreply@bill.example>', Subject: 'New ticket', 'Message-ID': `<m${Math.random()}@bill.example>`, 'X-Ticket-ID': '7001', 'X-Department-ID': '12', ...extra }, body);
const long = (n: number, c = 'a') => c.repeat(n);

describe(`values longer than their column on ${BACKEND}`, () => {
  it('a 400-character From address from an unknown sender is rejected_sender, the address cut to 320', async () => {
    const from = `${long(390)}@x.example`;
    const [r] = await createPipeline(db, options).ingest([mail('long-from', rawMail({ From: from, Subject: 'hi', 'Message-ID': '<lf@x.example>' }))]);
    expect(r!.state).toBe('rejected_sender');
    const row = await db.knex('inbound').where({ id: r!.inboundId }).first();
    expect(row.from_address).toBe(from.slice(0, 320));
  });

  it('a Message-ID over 998 characters is kept cut, on the ledger row and the message', async () => {
    const id = `<${long(1200, 'm')}@bill.example>`;
    const [r] = await createPipeline(db, options).ingest([mail('long-id', billmgr({ 'Message-ID': id }))]);
    expect(r!.state).toBe('ticket_created');
    expect((await db.knex('inbound').where({ id: r!.inboundId }).first()).message_id).toBe(id.slice(0, 998));
    const [t] = await listTickets(db.knex);
    expect(t!.lastRemoteMessageId).toBe(id.slice(0, 998));
    expect((await getThread(db.knex, t!.id))[0]!.messageId).toBe(id.slice(0, 998));
  });

  it('the same over-long Message-ID arriving again in other bytes (a second mailbox, another Received line) is a duplicate, each time', async () => {
    const id = `<${long(1200, 'm')}@bill.example>`;
    const results = await createPipeline(db, options).ingest([mail('first', billmgr({ 'Message-ID': id })), mail('again', billmgr({ 'Message-ID': id, Received: 'from mx2' }))]);
    const [later] = await createPipeline(db, options).ingest([mail('third', billmgr({ 'Message-ID': id, Received: 'from mx3' }))]);
    expect([...results, later].map((r) => r!.state)).toEqual(['ticket_created', 'duplicate', 'duplicate']);
    expect(later!.reason).toContain('same Message-ID');
  });

  it('a 250-character display name on a known system is a ticket; names cut to 200 on the message and the ticket', async () => {
    const name = `${'Ж'.repeat(249)}X`;
    const [r] = await createPipeline(db, options).ingest([mail('long-name', billmgr({ From: `"${name}" <noreply@bill.example>`, 'X-Customer-Name': name, 'X-Customer-Email': `${long(330, 'c')}@client.example` }))]);
    expect(r!.state).toBe('ticket_created');
    const [t] = await listTickets(db.knex);
    expect(t!.customerName).toBe('Ж'.repeat(200));
    expect(t!.customerEmail).toBe(`${long(320, 'c')}`);
    expect((await getThread(db.knex, t!.id))[0]!.fromName).toBe('Ж'.repeat(200));
  });

  it('a reply that fills in the customer later is cut the same way', async () => {
    const pipeline = createPipeline(db, options);
    await pipeline.ingest([mail('first', billmgr({}))]);
    const [r] = await pipeline.ingest([mail('second', billmgr({ 'X-Customer-Name': long(300, 'n'), 'X-Customer-Email': `${long(400, 'e')}@c.example` }))]);
    expect(r!.state).toBe('ticket_updated');
    const [t] = await listTickets(db.knex);
    expect([t!.customerName, t!.customerEmail]).toEqual([long(200, 'n'), long(320, 'e')]);
  });

  it('a remote ticket ID over 200 characters is one ticket, found again by the same long ID', async () => {
    const ticket = long(260, '9');
    const pipeline = createPipeline(db, options);
    const results = await pipeline.ingest([mail('a', billmgr({ 'X-Ticket-ID': ticket })), mail('b', billmgr({ 'X-Ticket-ID': ticket }))]);
    expect(results.map((r) => r.state)).toEqual(['ticket_created', 'ticket_updated']);
    expect((await listTickets(db.knex)).map((t) => t.remoteTicketId)).toEqual([ticket.slice(0, 200)]);
  });

  it('an attachment with a 600-character file name, a long type and Content-ID is kept, the values cut', async () => {
    const filename = `${long(596, 'f')}.txt`;
    const type = `application/${long(250, 't')}`;
    const cid = `<${long(1100, 'c')}@x>`;
    const body = [
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'see attached',
      '--b1',
      `Content-Type: ${type}; name="${filename}"`,
      `Content-Disposition: attachment; filename="${filename}"`,
      `Content-ID: ${cid}`,
      '',
      'data',
      '--b1--',
      '',
    ].join('\r\n');
    const raw = billmgr({ 'Content-Type': 'multipart/mixed; boundary="b1"' }, body);
    const [r] = await createPipeline(db, options).ingest([mail('attach', raw)]);
    expect(r!.state).toBe('ticket_created');
    const [a] = await db.knex('attachments').select('filename', 'content_type', 'content_id');
    expect(a.filename).toBe(filename.slice(0, 500));
    expect(a.content_type).toBe(type.slice(0, 200));
    expect(String(a.content_id).length).toBeLessThanOrEqual(998);
  });

  it('a duplicate with over-long values is recorded duplicate', async () => {
    const from = `${long(390)}@x.example`;
    const raw = rawMail({ From: from, Subject: 'hi', 'Message-ID': '<dup@x.example>' });
    const results = await createPipeline(db, options).ingest([mail('one', raw), mail('two', raw)]);
    expect(results.map((r) => r.state)).toEqual(['rejected_sender', 'duplicate']);
  });

  it('a mail whose ledger write fails is recorded failed, and the mails after it in the batch go on', async () => {
    // A database that refuses this one mail's row, whatever the pipeline cuts: the failure must stay the mail's own.
    if (BACKEND === 'sqlite') {
      await db.knex.raw("CREATE TRIGGER refuse_boom BEFORE INSERT ON inbound WHEN NEW.subject LIKE '%boom%' BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END");
    } else {
      await db.knex.raw("CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN IF NEW.subject LIKE '%boom%' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql");
      await db.knex.raw('CREATE TRIGGER refuse_boom BEFORE INSERT ON inbound FOR EACH ROW EXECUTE FUNCTION refuse_boom()');
    }
    const results = await createPipeline(db, options).ingest([
      mail('plain', rawMail({ From: 'someone@x.example', Subject: 'boom plain', 'Message-ID': '<b1@x.example>' })),
      mail('ticket', billmgr({ Subject: 'boom ticket' })),
      mail('after', fixture('whmcs-new.eml')),
    ]);
    expect(results.map((r) => [r.label, r.state])).toEqual([
      ['plain', 'failed'],
      ['ticket', 'failed'],
      ['after', 'ticket_created'],
    ]);
    expect(results[0]!.reason).toContain('refused by test trigger');
    expect((await listTickets(db.knex)).map((t) => t.system)).toEqual(['acme']);
    const rows = await db.knex('inbound').select('state').orderBy('id');
    expect(rows.map((r) => r.state)).toEqual(['failed', 'failed', 'ticket_created']);
  });
});
