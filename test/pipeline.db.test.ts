// The inbound pipeline in-process on a real database: states, tickets,
// exactly-once, per-mail atomicity, failure → retry → parked, replay.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addMap, setMapsEnabled } from '../src/admin/correspondences';
import { DeskbridgeError } from '../src/errors';
import { createPipeline, MAX_ATTEMPTS, type IncomingMail } from '../src/pipeline';
import { countByState, listInbound } from '../src/store/inbound';
import { getThread, listTickets } from '../src/store/tickets';
import { BACKEND, openTestDatabase } from './helpers/database';
import { fixture, rawMail } from './helpers/mail';
import { notification } from './helpers/notifications';
import { seedRouting } from './helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let ids: Awaited<ReturnType<typeof seedRouting>>;
const options = { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024 };

beforeEach(async () => {
  db = await openTestDatabase('pipeline');
  ids = await seedRouting(db);
});
afterEach(async () => db.drop());

const files = (...names: string[]): IncomingMail[] => names.map((n) => ({ raw: fixture(n), label: n, source: 'file', sourceRef: n }));
const count = async (table: string) => Number(((await db.knex(table).count({ n: '*' }).first()) as { n: string | number }).n);

describe(`pipeline on ${BACKEND}`, () => {
  it('a second "new" notification for a remote ticket we already have updates that ticket, in the same batch or a later one', async () => {
    const pipeline = createPipeline(db, options);
    const mail = (tag: string): IncomingMail => ({ raw: Buffer.from(notification(0, 1, tag)), label: tag, source: 'file' });
    const first = await pipeline.ingest([mail('a'), mail('b')]);
    const later = await pipeline.ingest([mail('c')]);
    expect([...first, ...later].map((r) => r.state)).toEqual(['ticket_created', 'ticket_updated', 'ticket_updated']);
    expect(new Set([...first, ...later].map((r) => r.ticketId)).size).toBe(1);
    expect(await listTickets(db.knex)).toHaveLength(1);
    expect((await getThread(db.knex, first[0]!.ticketId!)).map((m) => m.event)).toEqual(['new', 'new', 'new']);
  });

  it('ingestInTurn: a batch that cannot be read stops the run after the batch before it is written; that one is kept, the error thrown on', async () => {
    const pipeline = createPipeline(db, options);
    const mail = (i: number): IncomingMail => ({ raw: Buffer.from(notification(i, 1, 'turn')), label: `m${i}`, source: 'file' });
    const batches = [[mail(0), mail(1)], [mail(2), mail(3)]];
    const committed: string[] = [];
    let call = 0;
    const nextBatch = () => {
      if (call === batches.length) throw new DeskbridgeError('EINVALID', 'ingest: cannot read "m4": ENOENT');
      return batches[call++]!;
    };
    await expect(pipeline.ingestInTurn(nextBatch, (results) => committed.push(...results.map((r) => `${r.label}:${r.state}`)))).rejects.toThrow('cannot read "m4"');
    // the second batch was already read (and parsed) when the third failed to read: it is written, not dropped
    expect(committed).toEqual(['m0:ticket_created', 'm1:ticket_created', 'm2:ticket_created', 'm3:ticket_created']);
    expect(await count('inbound')).toBe(4);
  });

  it('ingestInTurn: two batches are read (and parsing) while one is written, no more', async () => {
    const pipeline = createPipeline(db, options);
    const mail = (i: number): IncomingMail => ({ raw: Buffer.from(notification(i, 1, 'ahead')), label: `m${i}`, source: 'file' });
    const batches = [0, 1, 2, 3, 4].map((b) => [mail(2 * b), mail(2 * b + 1)]);
    let read = 0;
    const readWhenWritten: number[] = [];
    const results = await pipeline.ingestInTurn(
      () => batches[read++] ?? null,
      () => readWhenWritten.push(Math.min(read, batches.length)),
    );
    // batch 1 is committed with batches 2 and 3 read; each later one with one more, until there are no more
    expect(readWhenWritten).toEqual([3, 4, 5, 5, 5]);
    expect(results.map((r) => r.label)).toEqual(batches.flat().map((m) => m.label));
    expect(await count('inbound')).toBe(10);
  });

  it('ingestInTurn: large batches are read one ahead only (the second ahead waits while those queued hold 32 MiB)', async () => {
    const pipeline = createPipeline(db, { ...options, maxMessageBytes: 1000 }); // recorded too_large: no parse of 17 MiB
    const big = (i: number): IncomingMail => ({ raw: Buffer.concat([Buffer.from(notification(i, 1, 'big')), Buffer.alloc(17 * 1024 * 1024, 'a')]), label: `big${i}`, source: 'file' });
    const batches = [0, 1, 2, 3].map((b) => [big(b)]);
    let read = 0;
    const readWhenWritten: number[] = [];
    await pipeline.ingestInTurn(
      () => batches[read++] ?? null,
      () => readWhenWritten.push(Math.min(read, batches.length)),
    );
    // two batches of 17 MiB hold more than 32 MiB: the one written and one ahead, never a third
    expect(readWhenWritten).toEqual([2, 3, 4, 4]);
    expect(await count('inbound')).toBe(4);
  });

  it('a ticket thread: created, updated, closed, reopened — one ticket, every message kept', async () => {
    const pipeline = createPipeline(db, options);
    const results = await pipeline.ingest(files('whmcs-new.eml', 'whmcs-reply.eml', 'whmcs-closed.eml', 'whmcs-after-close.eml'));
    expect(results.map((r) => r.state)).toEqual(['ticket_created', 'ticket_updated', 'ticket_closed', 'ticket_updated']);
    const tickets = await listTickets(db.knex);
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ system: 'acme', remoteTicketId: '482913', department: 'hosting', status: 'open', subject: 'Server down since midnight', customerEmail: 'john@customer.example', customerName: 'John Doe' });
    const thread = await getThread(db.knex, tickets[0]!.id);
    expect(thread.map((m) => `${m.direction}:${m.event}`)).toEqual(['remote:new', 'remote:reply', 'remote:closed', 'event:reopened', 'remote:reply']);
    expect(thread[0]!.text).toContain('unreachable since midnight. Can you look? — John');
    expect(thread[0]!.attachments).toEqual([
      { name: 'ping.log', type: 'text/plain', size: 75, sha256: '20eb94bf8ab0423849104977d7eab5e6609136dff402a51fb6cf1eb32b532c0c' },
    ]);
  });

  it('keeps a sanitised HTML copy: no script, no event handler, no remote load', async () => {
    const pipeline = createPipeline(db, options);
    await pipeline.ingest(files('whmcs-new.eml'));
    const [m] = await getThread(db.knex, (await listTickets(db.knex))[0]!.id);
    expect(m!.html).toContain('<b>vps-1042</b>');
    expect(m!.html).toContain('src="cid:logo@acme"');
    expect(m!.html).not.toMatch(/script|onclick|tracker\.example/);
  });

  it('routes by remote department ID, else by name (case and spaces ignored); decodes koi8-r and RFC 2047', async () => {
    const pipeline = createPipeline(db, options);
    const [byId, byName] = await pipeline.ingest(files('billmgr-new.eml', 'billmgr-by-name.eml'));
    expect(byId).toMatchObject({ state: 'ticket_created', reason: 'billmgr ticket 5521 → hosting (by department ID)' });
    expect(byName).toMatchObject({ state: 'ticket_created', reason: 'billmgr ticket 5600 → billing (by department name)' });
    const t = (await listTickets(db.knex, { departmentId: undefined })).find((x) => x.remoteTicketId === '5521')!;
    expect(t).toMatchObject({ subject: 'Новый запрос: Не работает почта', customerEmail: 'ivan@client.example', customerName: 'Иван Петров' });
    expect((await getThread(db.knex, t.id))[0]!.text).toBe('Почта не работает с утра.\n');
  });

  it('every other kind of mail ends in the ledger with its state and a reason, creating no ticket', async () => {
    const pipeline = createPipeline(db, options);
    const results = await pipeline.ingest(
      files('whmcs-sales.eml', 'billmgr-no-ticket.eml', 'staff-out-of-office.eml', 'staff-token-reply.eml', 'spoofed-display-name.eml', 'own-mail.eml', 'system-auto-replied.eml', 'dsn-for-outbox.eml'),
    );
    expect(results.map((r) => [r.label, r.state])).toEqual([
      ['whmcs-sales.eml', 'parked_unmapped'],
      ['billmgr-no-ticket.eml', 'parked_unparsed'],
      ['staff-out-of-office.eml', 'auto_reply'],
      ['staff-token-reply.eml', 'rejected_staff'],
      ['spoofed-display-name.eml', 'rejected_sender'],
      ['own-mail.eml', 'own_mail'],
      ['system-auto-replied.eml', 'auto_reply'],
      ['dsn-for-outbox.eml', 'bounce'],
    ]);
    expect(results.every((r) => r.reason)).toBe(true);
    expect(await count('tickets')).toBe(0);
    expect(await count('inbound')).toBe(8);
  });

  it('a disabled correspondence parks the mail as parked_disabled', async () => {
    await setMapsEnabled(db, 'test', [ids.techSupport], false);
    const [r] = await createPipeline(db, options).ingest(files('whmcs-new.eml'));
    expect(r).toMatchObject({ state: 'parked_disabled', reason: `correspondence #${ids.techSupport} is off` });
  });

  it('a mail unmapped and parked becomes a ticket after map add and replay', async () => {
    const pipeline = createPipeline(db, options);
    const [parked] = await pipeline.ingest(files('whmcs-sales.eml'));
    expect(parked!.state).toBe('parked_unmapped');
    await addMap(db, 'test', { system: 'acme', remoteId: 'sales@billing.acme.example', name: 'Sales', department: 'billing', enabled: true });
    const [replayed] = await pipeline.reprocess([parked!.inboundId], { resetAttempts: true });
    expect(replayed).toMatchObject({ inboundId: parked!.inboundId, state: 'ticket_created' });
    expect((await listTickets(db.knex)).map((t) => [t.remoteTicketId, t.department])).toEqual([['730012', 'billing']]);
    expect(await count('inbound')).toBe(1);
  });

  it('the same mail again — same bytes, same Message-ID from the same sender, or same mailbox UID — is a duplicate and changes nothing', async () => {
    const pipeline = createPipeline(db, options);
    await pipeline.ingest([{ raw: fixture('whmcs-new.eml'), label: 'uid 5', source: 'imap', mailbox: 'bridge@127.0.0.1/INBOX', uidvalidity: 77, uid: 5 }]);
    const before = { tickets: await count('tickets'), messages: await count('messages'), attachments: await count('attachments') };
    const resent = Buffer.concat([Buffer.from('Received: from relay.example by mx.example; Wed, 25 Nov 2026 09:15:00 +0000\r\n'), fixture('whmcs-new.eml')]);
    const results = await pipeline.ingest([
      { raw: fixture('whmcs-new.eml'), label: 'same bytes', source: 'file' },
      { raw: resent, label: 'same id', source: 'stdin' },
      { raw: fixture('whmcs-reply.eml'), label: 'same uid', source: 'imap', mailbox: 'bridge@127.0.0.1/INBOX', uidvalidity: 77, uid: 5 },
    ]);
    expect(results.map((r) => [r.state, r.reason])).toEqual([
      ['duplicate', expect.stringMatching(/^duplicate of #\d+ \(same content\)$/)],
      ['duplicate', expect.stringMatching(/same Message-ID <whmcs-482913-1@billing.acme.example>/)],
      ['duplicate', expect.stringMatching(/same mailbox UID 5/)],
    ]);
    expect({ tickets: await count('tickets'), messages: await count('messages'), attachments: await count('attachments') }).toEqual(before);
  });

  it('a mail repeated inside one batch is a duplicate of the row written earlier in that batch', async () => {
    const pipeline = createPipeline(db, options);
    const resent = Buffer.concat([Buffer.from('Received: from relay.example by mx.example; Wed, 25 Nov 2026 09:15:00 +0000\r\n'), fixture('whmcs-new.eml')]);
    const results = await pipeline.ingest([
      { raw: fixture('whmcs-new.eml'), label: 'first', source: 'file' },
      { raw: fixture('whmcs-new.eml'), label: 'same bytes', source: 'file' },
      { raw: resent, label: 'same id', source: 'stdin' },
    ]);
    expect(results.map((r) => r.state)).toEqual(['ticket_created', 'duplicate', 'duplicate']);
    expect(results[1]!.reason).toBe(`duplicate of #${results[0]!.inboundId} (same content)`);
    expect(results[2]!.reason).toMatch(new RegExp(`^duplicate of #${results[0]!.inboundId} \\(same Message-ID`));
    expect({ tickets: await count('tickets'), messages: await count('messages') }).toEqual({ tickets: 1, messages: 1 });
  });

  it('a mail whose processing throws is failed, leaves no partial effects, does not block the next mail, and is parked after 3 failures', async () => {
    // A stored custom profile that no longer parses makes every mail of that system throw.
    await db.knex('systems').where({ slug: 'billmgr' }).update({ profile_json: '{"name": "broken", "fields": ' });
    const pipeline = createPipeline(db, options);
    const [failed, fine] = await pipeline.ingest(files('billmgr-new.eml', 'whmcs-new.eml'));
    expect(failed).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^attempt 1 of 3: .*JSON/) });
    expect(fine!.state).toBe('ticket_created');
    expect((await listTickets(db.knex)).map((t) => t.system)).toEqual(['acme']);

    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
      const [retry] = await pipeline.retryFailed();
      expect(retry!.state).toBe(attempt < MAX_ATTEMPTS ? 'failed' : 'parked_failed');
    }
    expect(await pipeline.retryFailed()).toEqual([]);
    const [row] = await listInbound(db.knex, { ids: [failed!.inboundId] });
    expect(row).toMatchObject({ state: 'parked_failed', attempts: 3 });

    await db.knex('systems').where({ slug: 'billmgr' }).update({ profile_json: null });
    const [replayed] = await pipeline.reprocess([failed!.inboundId], { resetAttempts: true });
    expect(replayed!.state).toBe('ticket_created');
  });

  it('a bounce naming one of our outbox mails marks it bounced', async () => {
    const now = new Date().toISOString();
    await db.knex('outbox').insert({ kind: 'relay', state: 'sent', to_addresses: '["nobody@billing.acme.example"]', subject: 's', message_id: '<relay-42@support.example>', raw: Buffer.from('x'), next_attempt_at: now, deadline_at: now, created_at: now });
    const [r] = await createPipeline(db, options).ingest(files('dsn-for-outbox.eml'));
    expect(r).toMatchObject({ state: 'bounce', reason: 'reports on <relay-42@support.example>; outbox item bounced for nobody@billing.acme.example failed (5.1.1)' });
    expect((await db.knex('outbox').first()).state).toBe('bounced');
  });

  it('a mail over the size limit is too_large: headers and size kept, body not parsed', async () => {
    const big = rawMail({ From: 'noreply@bill.example', Subject: 'Huge', 'Message-ID': '<huge@bill.example>', 'X-Ticket-ID': '1', 'X-Department-ID': '12' }, `${'x'.repeat(5000)}\n`);
    const [r] = await createPipeline(db, { ...options, maxMessageBytes: 1000 }).ingest([{ raw: big, label: 'big', source: 'stdin' }]);
    expect(r!.state).toBe('too_large');
    const row = await db.knex('inbound').where({ id: r!.inboundId }).first();
    expect(Number(row.size)).toBe(big.length);
    expect(row.message_id).toBe('<huge@bill.example>');
    expect(Buffer.from(row.raw).toString()).not.toContain('xxxx');
    expect(await count('tickets')).toBe(0);
    // replayed, the stored headers alone must not pass for the whole mail
    const [again] = await createPipeline(db, { ...options, maxMessageBytes: 1000 }).reprocess([r!.inboundId], { resetAttempts: true });
    expect(again!.state).toBe('too_large');
    expect(await count('tickets')).toBe(0);
  });

  it('a mail an IMAP reader fetched as headers only, with its declared size over the limit, is too_large', async () => {
    const headers = rawMail({ From: 'noreply@bill.example', Subject: 'Huge', 'Message-ID': '<huge2@bill.example>', 'X-Ticket-ID': '1', 'X-Department-ID': '12' }, '');
    const [r] = await createPipeline(db, { ...options, maxMessageBytes: 1000 }).ingest([{ raw: headers, size: 40_000_000, label: 'uid 9', source: 'imap', mailbox: 'm', uidvalidity: 1, uid: 9 }]);
    expect(r).toMatchObject({ state: 'too_large', reason: expect.stringMatching(/^40000000 bytes/) });
    expect(Number((await db.knex('inbound').where({ id: r!.inboundId }).first()).size)).toBe(40_000_000);
  });

  it('an unknown charset is kept and flagged, never a crash', async () => {
    const [r] = await createPipeline(db, options).ingest(files('billmgr-odd-charset.eml'));
    expect(r).toMatchObject({ state: 'ticket_created', reason: expect.stringContaining('unknown charset x-no-such-charset kept raw') });
  });

  it('counts by state', async () => {
    await createPipeline(db, options).ingest(files('whmcs-new.eml', 'own-mail.eml', 'own-mail.eml'));
    expect(await countByState(db.knex)).toEqual({ ticket_created: 1, own_mail: 1, duplicate: 1 });
  });

  it('a mail cut off by a stop (the parse pool closed under it) is failed without using up an attempt, and a retry takes it', async () => {
    const stopping = createPipeline(db, { ...options, parse: async () => Promise.reject(new DeskbridgeError('ESTOPPED', 'the parse worker stopped: the pool was closed')) });
    const [cut] = await stopping.ingest(files('whmcs-new.eml'));
    expect(cut).toMatchObject({ state: 'failed', reason: 'stopped before it was done: the parse worker stopped: the pool was closed' });
    expect((await listInbound(db.knex, { ids: [cut!.inboundId] }))[0]).toMatchObject({ attempts: 0 });
    const [retried] = await createPipeline(db, options).retryFailed();
    expect(retried).toMatchObject({ inboundId: cut!.inboundId, state: 'ticket_created' });
  });

  it('retryFailed takes only the mails `due` names', async () => {
    const failing = createPipeline(db, { ...options, parse: async () => Promise.reject(new DeskbridgeError('ESTOPPED', 'stopped')) });
    const cut = await failing.ingest(files('whmcs-new.eml', 'billmgr-new.eml'));
    const pipeline = createPipeline(db, options);
    expect(await pipeline.retryFailed((row) => row.id === cut[1]!.inboundId)).toEqual([expect.objectContaining({ inboundId: cut[1]!.inboundId })]);
    expect((await listInbound(db.knex, { ids: [cut[0]!.inboundId] }))[0]).toMatchObject({ state: 'failed' });
  });
});
