// Staff notifications: one outbox row per new remote message, in the mail's
// own transaction, queued unrendered and rendered by the worker that first
// claims it; what arrives at a real SMTP server once it is sent.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { notificationRenderer, outboundFrom } from '../../src/outbound/notify';
import { createOutboxWorker, openTransport } from '../../src/outbound/outbox-worker';
import { loadTemplates } from '../../src/outbound/render';
import { verifyToken } from '../../src/outbound/reply-token';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { claimDue, enqueue, listOutbox, outboxBytes, releaseClaims, renderClaimedRows, type Claimed, type Render } from '../../src/store/outbox';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { fixture } from '../helpers/mail';
import { notification } from '../helpers/notifications';
import { seedRouting } from '../helpers/seed';
import { startSmtpSink } from '../helpers/smtp';

const SECRET = 'notify-test-secret-0123';
let db: Awaited<ReturnType<typeof openTestDatabase>>;

beforeEach(async () => {
  db = await openTestDatabase('notify');
  await seedRouting(db);
});
afterEach(async () => {
  await db.drop();
});

const files = (...names: string[]): IncomingMail[] => names.map((n) => ({ raw: fixture(n), label: n, source: 'file', sourceRef: n }));
const outbound = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'test-node' }, () => loadTemplates())!;
const options = { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, outbound };

const render = notificationRenderer(outbound);

/** Flushes the outbox once into a real SMTP server (with `withOutbound` false, a worker that has no outbound settings); returns the counts and what arrived. */
async function flushToSink(withOutbound = true) {
  const sink = await startSmtpSink();
  const transport = openTransport(sink.url);
  try {
    const worker = createOutboxWorker({ db, transport, from: 'bridge@support.example', owner: 't:1:x', ...(withOutbound && { outbound }), log });
    return { counts: await worker.flushOnce(), received: sink.received };
  } finally {
    transport.close();
    await sink.close();
  }
}

/** A transport that records the ids of the rows it was given, and takes every mail. */
const recordingTransport = (sent: number[]) => ({ send: async (_e: unknown, _raw: Buffer, item: { id: number }) => (sent.push(item.id), { refusals: [] }), close() {} });

/** Seven more staff in hosting: eight in all, so one mail's notifications fill a whole claim. */
async function eightStaff() {
  const hosting = (await db.knex('departments').where({ slug: 'hosting' }).first()).id;
  await db.knex('department_staff').insert(['b', 'c', 'd', 'e', 'f', 'g', 'h'].map((n, i) => ({ department_id: hosting, address: `${n}@support.example`, position: i + 1 })));
}

/** A relay to the WHMCS system, queued rendered, as a staff reply queues one. */
async function queueRelay(tag: string) {
  const raw = Buffer.from(`From: bridge@support.example\r\nTo: support@billing.acme.example\r\nSubject: r\r\nMessage-ID: <${tag}@support.example>\r\n\r\nhello\r\n`);
  await db.knex.transaction((trx) => enqueue(trx, { kind: 'relay', ticketId: null, sourceMessageId: null, to: ['support@billing.acme.example'], subject: 'r', messageId: `<${tag}@support.example>`, raw, deadlineAt: new Date(Date.now() + 3600_000) }));
}
/** One claimed row through the worker's render (renderClaimedRows takes a claim's worth). */
const renderClaimed = async (knex: typeof db.knex, owner: string, item: Claimed, r: Render, ttlMs: number) => (await renderClaimedRows(knex, owner, [item], r, ttlMs))[0]!;
const log = createLogger({ level: 'silent', destination: process.stderr });

describe(`staff notifications on ${BACKEND}`, () => {
  const pipeline = () => createPipeline(db, options);

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
    const sink = await flushToSink();
    expect(sink.counts).toEqual({ sent: 1, retry: 0, dead: 0 });
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
        const parsed = await simpleParser((await outboxBytes(db.knex, r.id, render))!.raw);
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

describe(`notifications rendered by the worker that first claims them, on ${BACKEND}`, () => {
  const stored = async (id: number) => (await db.knex('outbox').select('raw', 'render_input', 'state', 'attempts', 'last_error', 'claimed_by').where({ id }).first()) as { raw: unknown; render_input: string | null; state: string; attempts: number; last_error: string | null; claimed_by: string | null };
  const claim = (owner: string, ttlMs = 60_000) => claimDue(db.knex, db.dialect, { owner, limit: 8, ttlMs });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('queued without bytes (nothing a worker from before could send); rendered after its claim from the ticket as it was, its bytes stored and sent on every later attempt', async () => {
    const [created] = await createPipeline(db, options).ingest(files('whmcs-new.eml'));
    const [row] = await listOutbox(db.knex);
    const before = await stored(row!.id);
    expect(before.raw).toBe(BACKEND === 'postgres' ? null : 0);
    expect(() => Buffer.from(before.raw as Uint8Array)).toThrow(); // what the claim before this version did with it
    // the ticket changes before the notification is sent: the mail still tells what came
    await db.knex('tickets').where({ id: created!.ticketId }).update({ subject: 'renamed since', status: 'closed' });
    const [first] = await claim('a');
    expect(first).toMatchObject({ id: row!.id, raw: Buffer.alloc(0) });
    const rendered = await renderClaimed(db.knex, 'a', first!, render, 60_000);
    expect(rendered.state).toBe('rendered');
    const raw = (rendered as { raw: Buffer }).raw;
    expect(raw.toString()).toContain(`Message-ID: ${row!.messageId}`);
    expect(raw.toString()).not.toContain('renamed since');
    expect(Buffer.from((await stored(row!.id)).raw as Uint8Array).equals(raw)).toBe(true);
    // given back unsent and claimed again (a retry, another worker): the same bytes, nothing left to render
    await releaseClaims(db.knex, 'a');
    const [again] = await claim('b');
    expect(again).toMatchObject({ renderInput: null });
    expect(again!.raw.equals(raw)).toBe(true);
    expect(await outboxBytes(db.knex, row!.id, render)).toEqual({ raw, preview: false });
  });

  it('outbox show --raw of one not sent yet is a preview: it writes nothing', async () => {
    await createPipeline(db, options).ingest(files('whmcs-new.eml'));
    const [row] = await listOutbox(db.knex);
    const preview = (await outboxBytes(db.knex, row!.id, render))!;
    expect(preview.preview).toBe(true);
    expect((await simpleParser(preview.raw)).text).toContain('unreachable since midnight');
    expect(await stored(row!.id)).toMatchObject({ render_input: expect.any(String), claimed_by: null });
  });

  it('a render slower than the claim: stored only while the worker still holds the row, the claim renewed; once another worker took it, the first sends nothing', async () => {
    await createPipeline(db, options).ingest(files('whmcs-new.eml', 'whmcs-reply.eml'));
    const slow: Render = async (row) => {
      await sleep(500);
      return render(row);
    };
    // worker a claims for 300 ms and renders for 500: nobody took the row meanwhile, so a stores it and holds it anew
    const [mineA] = await claim('a', 300);
    expect(await renderClaimed(db.knex, 'a', mineA!, slow, 60_000)).toMatchObject({ state: 'rendered' });
    expect(await claim('b')).toEqual([expect.objectContaining({ id: mineA!.id + 1 })]); // b gets the other row only
    // worker c claims for 300 ms; its claim lapses, d takes the row and renders it; c's render is then not stored, nor sent
    await releaseClaims(db.knex, 'b');
    const [mineC] = await claim('c', 300);
    const cRenders = renderClaimed(db.knex, 'c', mineC!, slow, 60_000);
    await sleep(350);
    const [mineD] = await claim('d');
    expect(mineD!.id).toBe(mineC!.id);
    expect(await renderClaimed(db.knex, 'd', mineD!, render, 60_000)).toMatchObject({ state: 'rendered' });
    expect(await cRenders).toEqual({ state: 'lost' });
    expect(await stored(mineC!.id)).toMatchObject({ claimed_by: 'd', render_input: null });
  });

  it('rows that cannot be rendered cost only themselves: counted dead or waiting, and the rows behind them are sent in the same flush', async () => {
    await eightStaff();
    await createPipeline(db, options).ingest(files('whmcs-new.eml')); // 8 staff: 8 notifications, a whole claim
    await createPipeline(db, options).ingest([{ raw: Buffer.from(notification(1, 1, 'behind')), label: 'n', source: 'file' }]);
    const rows = await listOutbox(db.knex);
    expect(rows).toHaveLength(16);
    const firstSource = (await db.knex('outbox').where({ id: rows[0]!.id }).first()).source_message_id;
    await db.knex('messages').where({ id: firstSource }).del(); // the first eight: their message is gone
    const sink = await flushToSink();
    expect(sink.counts).toEqual({ sent: 8, retry: 0, dead: 8 });
    expect(sink.received).toHaveLength(8);
    expect(await stored(rows[0]!.id)).toMatchObject({ state: 'dead', last_error: 'could not be rendered: the message it is about is gone (its ticket was deleted)' });
  });

  it('a worker with no secret to render with leaves notifications waiting, counted, and still sends the relays behind them', async () => {
    await createPipeline(db, options).ingest(files('whmcs-new.eml'));
    await queueRelay('relay-1');
    const sink = await flushToSink(false);
    expect(sink.counts).toEqual({ sent: 1, retry: 1, dead: 0 });
    expect(sink.received.map((m) => m.to)).toEqual([['support@billing.acme.example']]);
    const [notice] = await listOutbox(db.knex, { states: ['queued'] });
    expect(notice).toMatchObject({ kind: 'notification', attempts: 0, lastError: expect.stringMatching(/^waiting for a configuration fix: .*DESKBRIDGE_SECRET/) });
  });

  it('a database error while it renders: the row is put back for later at once, not held by the heartbeat of a busy worker', async () => {
    await createPipeline(db, options).ingest(files('whmcs-new.eml'));
    const [notice] = await listOutbox(db.knex);
    let failures = 1;
    const knex = new Proxy(db.knex, {
      apply(target, thisArg, args: unknown[]) {
        if (args[0] === 'messages' && failures-- > 0) throw new Error('simulated: database is locked');
        return Reflect.apply(target as never, thisArg, args);
      },
    });
    const sent: number[] = [];
    const transport = recordingTransport(sent);
    const worker = createOutboxWorker({ db: { ...db, knex }, transport, from: 'bridge@support.example', owner: 'w1', outbound, log });
    expect(await worker.flushOnce()).toEqual({ sent: 0, retry: 1, dead: 0 });
    expect(failures).toBe(0); // the failing read did happen
    // given back at once (not held), uncounted, and behind the rows that are due: an error that lasts stops nothing else
    expect(await stored(notice!.id)).toMatchObject({ state: 'queued', attempts: 0, claimed_by: null, last_error: expect.stringMatching(/^could not be rendered now \(database: simulated: database is locked\)/) });
    expect(await worker.flushOnce()).toEqual({ sent: 0, retry: 0, dead: 0 }); // not due yet
    await db.knex('outbox').where({ id: notice!.id }).update({ next_attempt_at: new Date(0).toISOString() });
    expect(await worker.flushOnce()).toEqual({ sent: 1, retry: 0, dead: 0 });
    expect(sent).toEqual([notice!.id]);
    expect(await stored(notice!.id)).toMatchObject({ state: 'sent', attempts: 1 });
  });

  it('one row the database refuses to store costs only itself: the rest of its claim and the rows behind are sent', async () => {
    await eightStaff();
    await createPipeline(db, options).ingest(files('whmcs-new.eml')); // 8 staff: 8 notifications, a whole claim
    await queueRelay('relay-2');
    const [poisoned] = await listOutbox(db.knex);
    if (BACKEND === 'postgres') {
      await db.knex.raw(`create function poison() returns trigger as $$ begin if new.id = ${poisoned!.id} and new.render_input is null then raise exception 'simulated: row-specific store failure'; end if; return new; end $$ language plpgsql`);
      await db.knex.raw('create trigger poison before update on outbox for each row execute function poison()');
    } else {
      await db.knex.raw(`create trigger poison before update of raw on outbox when new.id = ${poisoned!.id} begin select raise(abort, 'simulated: row-specific store failure'); end`);
    }
    const sent: number[] = [];
    const transport = recordingTransport(sent);
    const worker = createOutboxWorker({ db, transport, from: 'bridge@support.example', owner: 'w1', outbound, log });
    expect(await worker.flushOnce()).toEqual({ sent: 8, retry: 1, dead: 0 });
    expect(sent).not.toContain(poisoned!.id);
    expect(await stored(poisoned!.id)).toMatchObject({ state: 'queued', attempts: 0, claimed_by: null, last_error: expect.stringMatching(/^could not be rendered now \(database: .*simulated: row-specific store failure/) });
  });

  it('a stop that comes while a notification renders: it is not sent, and is given back uncounted', async () => {
    await createPipeline(db, options).ingest(files('whmcs-new.eml'));
    const [notice] = await listOutbox(db.knex);
    const stop = new AbortController();
    const knex = new Proxy(db.knex, {
      apply(target, thisArg, args: unknown[]) {
        const query = Reflect.apply(target as never, thisArg, args) as { then: (a: unknown, b: unknown) => unknown };
        if (args[0] === 'messages') {
          stop.abort(); // the stop comes as the lane reads the message it renders from
          const then = query.then.bind(query);
          query.then = (resolve: unknown, reject: unknown) => sleep(300).then(() => then(resolve, reject));
        }
        return query;
      },
    });
    const sent: number[] = [];
    const transport = recordingTransport(sent);
    const worker = createOutboxWorker({ db: { ...db, knex }, transport, from: 'bridge@support.example', owner: 'w1', outbound, log });
    expect(await worker.flushOnce(stop.signal)).toEqual({ sent: 0, retry: 0, dead: 0 });
    expect(stop.signal.aborted).toBe(true);
    expect(sent).toEqual([]);
    expect(await stored(notice!.id)).toMatchObject({ state: 'queued', attempts: 0, claimed_by: null });
  });

  it('a template at fault at send time leaves the row queued, its attempt uncounted, waiting for the fix', async () => {
    await createPipeline(db, options).ingest(files('whmcs-new.eml'));
    const [a] = await listOutbox(db.knex);
    const dir = mkdtempSync(join(tmpdir(), 'deskbridge-notify-templates-'));
    try {
      writeFileSync(join(dir, 'notification.txt.hbs'), '{{ticket.nosuch}}\n');
      const broken = notificationRenderer(outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'test-node', templates: dir }, (o) => loadTemplates(undefined, o))!);
      const [mine] = await claim('a');
      expect(await renderClaimed(db.knex, 'a', mine!, broken, 60_000)).toMatchObject({ state: 'waiting' });
      expect(await stored(a!.id)).toMatchObject({ state: 'queued', attempts: 0, claimed_by: null, last_error: expect.stringMatching(/^waiting for a configuration fix: template .*notification\.txt\.hbs line 1: "nosuch" not defined/) });
      expect(await claim('a')).toEqual([]); // it waits RENDER_RETRY_MS
      await db.knex('outbox').where({ id: a!.id }).update({ next_attempt_at: new Date(0).toISOString() }); // the wait is over, the template fixed
      const [again] = await claim('a');
      const fixed = await renderClaimed(db.knex, 'a', again!, render, 60_000);
      expect((await simpleParser((fixed as { raw: Buffer }).raw)).text).toContain('unreachable since midnight');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a system whose notification template does not compile: its mail is recorded failed, waiting for the fix, and the rest of the batch goes through, nothing twice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deskbridge-notify-templates-'));
    try {
      mkdirSync(join(dir, 'systems', 'billmgr'), { recursive: true });
      writeFileSync(join(dir, 'systems', 'billmgr', 'notification.txt.hbs'), '{{ticket.nosuch}}\n');
      const partlyBroken = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'test-node', templates: dir }, (o) => loadTemplates(undefined, o))!;
      const results = await createPipeline(db, { ...options, outbound: partlyBroken }).ingest(files('whmcs-new.eml', 'billmgr-new.eml', 'whmcs-reply.eml'));
      expect(results.map((r) => r.state)).toEqual(['ticket_created', 'failed', 'ticket_updated']);
      expect(results[1]!.reason).toMatch(/^waiting for a configuration fix: template .*systems\/billmgr\/notification\.txt\.hbs line 1/);
      // the first attempt was rolled back whole: its rows left no trace (one ledger row a mail, one ticket, one message each)
      expect(Number(((await db.knex('inbound').count({ n: '*' }).first()) as { n: number | string }).n)).toBe(3);
      expect(Number(((await db.knex('messages').where({ direction: 'remote' }).count({ n: '*' }).first()) as { n: number | string }).n)).toBe(2);
      expect((await listOutbox(db.knex)).map((r) => r.ticketId)).toEqual([results[0]!.ticketId, results[0]!.ticketId]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
