// Staff are told when their reply, accepted and relayed, never reached the
// customer's system (issue 11, "its relay dead after retries"): the SMTP server
// refused it for good, or a delivery report bounced it. One templated notice
// to the staff member who wrote it, within the 10-minute window shared with
// refusal notices; the outbox row says who was told.
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { outboundFrom } from '../../src/outbound/notify';
import { createOutboxWorker, openTransport } from '../../src/outbound/outbox-worker';
import { loadTemplates } from '../../src/outbound/render';
import { makeToken } from '../../src/outbound/reply-token';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { createLogger } from '../../src/log';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { plainMail } from '../helpers/dkim';
import { fixture } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';
import { startSmtpSink } from '../helpers/smtp';

const SECRET = 'relay-dead-notice-key-0123';
const outbound = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'test-node' }, () => loadTemplates())!;
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let ticketId: number;
const pipeline = () => createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, outbound });
const mail = (raw: Buffer | string): IncomingMail => ({ raw: Buffer.from(raw), label: 'mail', source: 'stdin' });
let n = 0;
const staffReply = (subject: string) =>
  plainMail(
    ['From: Anna <anna@support.example>', `To: bridge+${makeToken(ticketId, 'anna@support.example', SECRET)}@support.example`, `Subject: Re: [DB#${ticketId}] ${subject}`, `Message-ID: <anna-${++n}@support.example>`],
    'Rebooted; it is back.\r\n',
  );
const notices = async () => db.knex('outbox').where({ kind: 'notice' }).orderBy('id');
const relays = async () => db.knex('outbox').whereIn('kind', ['relay', 'close']).orderBy('id');

beforeEach(async () => {
  db = await openTestDatabase('relay_dead');
  await seedRouting(db); // hosting: --staff-auth token, anna on staff
  const [created] = await pipeline().ingest([mail(fixture('whmcs-new.eml'))]);
  ticketId = created!.ticketId!;
});
afterEach(async () => db.drop());

describe(`a relay that never reached the remote system on ${BACKEND}`, () => {
  it('refused for good by the SMTP server: the row is dead and its author is told once, with the server\'s answer', async () => {
    const [accepted] = await pipeline().ingest([mail(staffReply('Server down')), mail(staffReply('Server down'))]);
    expect(accepted!.state).toBe('staff_reply');
    expect((await relays()).length).toBe(2);
    await db.knex('outbox').where({ kind: 'notification' }).update({ state: 'sent' }); // only the relays are due
    const sink = await startSmtpSink((rcpt) => (rcpt === 'support@billing.acme.example' ? 550 : 'accept'));
    const transport = openTransport(sink.url);
    try {
      const worker = createOutboxWorker({ db, transport, from: 'bridge@support.example', owner: 'test:1:relaydead', log: createLogger({ level: 'silent' }), outbound });
      await worker.flushOnce();
      const dead = await relays();
      expect(dead.map((r: { state: string }) => r.state)).toEqual(['dead', 'dead']);
      expect(dead[0].last_error).toMatch(/550.*; anna@support\.example told$/);
      expect(dead[1].last_error).toMatch(/; no notice \(one was sent in the last 10 minutes\)$/);
      const [notice, ...more] = await notices();
      expect(more).toEqual([]);
      expect(notice).toMatchObject({ state: 'sent', ticket_id: ticketId }); // the same flush sends it: it was due at once
      expect(JSON.parse(notice.to_addresses)).toEqual(['anna@support.example']);
      const sent = await simpleParser(Buffer.from(notice.raw));
      expect(sent.subject).toBe(`Not delivered: Re: [DB#${ticketId}] Server down`);
      expect(sent.text).toContain('was not delivered');
      expect(sent.text).toContain('No such user here');
      expect(sent.html).toContain('No such user here');
      expect(sent.inReplyTo).toBe(`<anna-${n - 1}@support.example>`);
      await worker.flushOnce(); // nothing is told twice
      expect(sink.received.filter((m) => m.to.includes('anna@support.example')).length).toBe(1);
      expect((await notices()).length).toBe(1);
    } finally {
      transport.close();
      await sink.close();
    }
  });

  it('bounced by a delivery report after it was sent: its author is told', async () => {
    await pipeline().ingest([mail(staffReply('Disk full'))]);
    const [relay] = await relays();
    await db.knex('outbox').where({ id: relay.id }).update({ state: 'sent' });
    const dsn = [
      'From: MAILER-DAEMON@billing.acme.example',
      'To: bridge@support.example',
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <dsn-1@billing.acme.example>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'Your mail could not be delivered.',
      '--b',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; billing.acme.example',
      '',
      'Final-Recipient: rfc822; support@billing.acme.example',
      'Action: failed',
      'Status: 5.1.1',
      '',
      '--b',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: ${relay.message_id}`,
      '',
      '--b--',
      '',
    ].join('\r\n');
    const [r] = await pipeline().ingest([mail(dsn)]);
    expect(r!.state).toBe('bounce');
    expect((await relays())[0]).toMatchObject({ state: 'bounced', last_error: expect.stringMatching(/anna@support\.example told$/) });
    const [notice] = await notices();
    expect(JSON.parse(notice.to_addresses)).toEqual(['anna@support.example']);
    expect((await simpleParser(Buffer.from(notice.raw))).text).toContain('bounced');
  });
});
