// A relay is queued with its words rendered and composed by the worker that
// first claims it (outbound/relay-mail.ts): the bytes are stored before the
// first send, so a retry is the same mail; the staff member's attachments
// come from the stored message; a worker without templates, address or
// secret still sends it; one whose attachments are gone is not sent without
// them.
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log';
import { outboundFrom } from '../../src/outbound/notify';
import { createOutboxWorker, openTransport } from '../../src/outbound/outbox-worker';
import { loadTemplates } from '../../src/outbound/render';
import { makeToken } from '../../src/outbound/reply-token';
import { createPipeline } from '../../src/pipeline';
import { listOutbox } from '../../src/store/outbox';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { fixture } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';
import { startSmtpSink, type Verdict } from '../helpers/smtp';

const SECRET = 'relay-compose-secret-0123';
const outbound = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'compose-node' }, () => loadTemplates())!;
const log = createLogger({ level: 'silent', destination: process.stderr });
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let sink: Awaited<ReturnType<typeof startSmtpSink>> | null = null;
let ticketId: number;

const pipeline = () => createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, outbound });

function staffReply(body: string, attachment = true): Buffer {
  return Buffer.from(
    [
      'From: Anna Admin <anna@support.example>',
      `To: bridge+${makeToken(ticketId, 'anna@support.example', SECRET)}@support.example`,
      `Subject: Re: [DB#${ticketId}] Server down since midnight`,
      `Message-ID: <compose-${Math.random()}@mail.support.example>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '',
      ...(attachment ? ['--b1', 'Content-Type: text/plain; name="uptime.txt"', 'Content-Disposition: attachment; filename="uptime.txt"', '', 'up 3 min'] : []),
      '--b1--',
      '',
    ].join('\r\n'),
  );
}

beforeEach(async () => {
  db = await openTestDatabase('relay_compose');
  await seedRouting(db);
  const [created] = await pipeline().ingest([{ raw: fixture('whmcs-new.eml'), label: 'whmcs-new.eml', source: 'stdin' }]);
  ticketId = created!.ticketId!;
  await db.knex('outbox').where({ kind: 'notification' }).delete(); // only the relays are sent here
});
afterEach(async () => {
  await sink?.close();
  sink = null;
  await db.drop();
});

const worker = (o: { outbound?: typeof outbound | null } = {}) => createOutboxWorker({ db, transport: openTransport(sink!.url), from: 'bridge@support.example', owner: 'compose:1', log, outbound: o.outbound === undefined ? outbound : o.outbound });
const relayRow = async () => (await db.knex('outbox').where({ kind: 'relay' }).first()) as { id: number; raw: unknown; render_input: string | null; state: string; attempts: number; last_error: string | null };

describe(`relays composed as they are sent on ${BACKEND}`, () => {
  it('queued with its words, not its bytes; the first worker composes it, stores the bytes before the send, and a retry sends those very bytes', async () => {
    await pipeline().ingest([{ raw: staffReply('Rebooted the hypervisor; the server is back.'), label: 'reply', source: 'stdin' }]);
    const queued = await relayRow();
    expect(queued.render_input).toContain('Rebooted the hypervisor');
    let verdict: Verdict = 451;
    sink = await startSmtpSink(() => verdict);
    expect(await worker().flushOnce()).toEqual({ sent: 0, retry: 1, dead: 0 });
    const stored = await relayRow();
    expect(stored).toMatchObject({ state: 'queued', render_input: null, attempts: 1 });
    const bytes = Buffer.from(stored.raw as Uint8Array);
    const mail = await simpleParser(bytes);
    expect(mail.subject).toBe('Re: [Ticket ID: 482913] Server down since midnight');
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').toBe('support@billing.acme.example');
    expect(mail.inReplyTo).toBe('<whmcs-482913-1@billing.acme.example>');
    expect(mail.headers.get('x-deskbridge-loop')).toBe('compose-node');
    expect(mail.headers.get('auto-submitted')).toBeUndefined();
    expect(mail.text).toContain('Rebooted the hypervisor; the server is back.');
    expect(mail.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['uptime.txt', 'up 3 min']]);
    // the retry, due now: the same bytes reach the server (same Date, same boundaries), and only then is it sent
    verdict = 'accept';
    await db.knex('outbox').where({ id: stored.id }).update({ next_attempt_at: new Date(Date.now() - 1000).toISOString() });
    expect(await worker().flushOnce()).toEqual({ sent: 1, retry: 0, dead: 0 });
    expect(sink.received).toHaveLength(1);
    const lines = (b: Buffer) => b.toString('latin1').replace(/\r\n/g, '\n').trimEnd(); // SMTP writes every line end as CRLF
    expect(lines(sink.received[0]!.raw)).toBe(lines(bytes));
    expect((await relayRow()).state).toBe('sent');
  });

  it('a worker without address, secret or templates sends the relays and leaves the notifications waiting for them', async () => {
    await pipeline().ingest([{ raw: staffReply('Done.', false), label: 'reply', source: 'stdin' }]);
    const [notification] = await pipeline().ingest([{ raw: fixture('whmcs-reply.eml'), label: 'whmcs-reply.eml', source: 'stdin' }]);
    expect(notification!.state).toBe('ticket_updated');
    sink = await startSmtpSink();
    expect(await worker({ outbound: null }).flushOnce()).toEqual({ sent: 1, retry: 1, dead: 0 });
    const rows = await listOutbox(db.knex);
    expect(rows.find((r) => r.kind === 'relay')).toMatchObject({ state: 'sent' });
    expect(rows.find((r) => r.kind === 'notification')).toMatchObject({ state: 'queued', attempts: 0, lastError: expect.stringMatching(/^waiting for a configuration fix: a staff notification is rendered as it is sent, and this process has no DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET/) });
  });

  it('a relay that cannot be composed is dead and its author is told, as of one the server refused', async () => {
    await pipeline().ingest([{ raw: staffReply('Broken on the way.', false), label: 'reply', source: 'stdin' }]);
    await db.knex('outbox').where({ kind: 'relay' }).update({ render_input: JSON.stringify({ relay: null }) }); // an input it cannot read
    sink = await startSmtpSink();
    expect(await worker().flushOnce()).toEqual({ sent: 1, retry: 0, dead: 1 }); // the notice goes out in the same flush
    const relay = await relayRow();
    expect(relay.state).toBe('dead');
    expect(relay.last_error).toMatch(/^could not be rendered: outbox row #\d+ holds no relay to compose; .*anna@support\.example/);
    const notice = (await listOutbox(db.knex)).find((r) => r.kind === 'notice');
    expect(notice).toMatchObject({ to: ['anna@support.example'], state: 'sent' });
    expect(sink.received.map((m) => m.to)).toEqual([['anna@support.example']]);
  });

  it('a relay whose stored attachments are gone is dead with the reason, never sent without them; one that had none is sent', async () => {
    await pipeline().ingest([{ raw: staffReply('With the log.'), label: 'with', source: 'stdin' }]);
    await pipeline().ingest([{ raw: staffReply('Without a file.', false), label: 'without', source: 'stdin' }]);
    // the messages the relays carry are gone (as a deleted ticket's are): source_message_id is set null
    await db.knex('outbox').where({ kind: 'relay' }).update({ source_message_id: null });
    sink = await startSmtpSink();
    expect(await worker().flushOnce()).toEqual({ sent: 1, retry: 0, dead: 1 });
    const rows = await db.knex('outbox').where({ kind: 'relay' }).orderBy('id').select('state', 'last_error');
    expect(rows).toEqual([
      { state: 'dead', last_error: 'could not be rendered: the staff message it carries is gone with its 1 attachment(s) (its ticket was deleted)' },
      { state: 'sent', last_error: null },
    ]);
    expect(sink.received.map((m) => m.raw.toString())).toEqual([expect.stringContaining('Without a file.')]);
  });
});
