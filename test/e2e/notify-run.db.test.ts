// End to end through `deskbridge run`, the whole round trip: a remote
// notification APPENDed to the bridge's mailbox (Dovecot) reaches the
// department's staff at a real SMTP server; the staff member's Gmail-style
// reply (quote, signature, attachment) APPENDed to the mailbox reaches the
// SMTP server as a relay to the system, in the system's form; a reply from
// someone not on the staff relays nothing. Production policies throughout:
// the system is `--auth dmarc`, the department `--staff-auth dmarc`, and the
// mailbox's receiving server (mx.support.example, DESKBRIDGE_AUTHSERV_ID)
// stamps each mail's Authentication-Results as an MTA would before Dovecot
// stores it; a forged staff reply (dmarc=fail at the receiver, with Anna's
// own token) relays nothing.
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editDepartment } from '../../src/admin/departments';
import { editSystem } from '../../src/admin/systems';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { addUser, appendMails, eventually, privateDovecot, startBridge } from '../helpers/imap';
import { fixture } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';
import { startSmtpSink } from '../helpers/smtp';

let dovecot: Awaited<ReturnType<typeof privateDovecot>>;
beforeAll(async () => {
  dovecot = await privateDovecot();
});
afterAll(async () => {
  await dovecot?.remove();
});

describe(`deskbridge run notifies staff on ${BACKEND}`, () => {
  it('notification in → staff mail out → staff reply in → relay out; a non-staff reply relays nothing', async () => {
    const db = await openTestDatabase('notify-run');
    await seedRouting(db);
    await editSystem(db, 'test', 'acme', { auth: 'dmarc' });
    await editDepartment(db, 'test', 'hosting', { staffAuth: 'dmarc' });
    const stamped = (dmarc: 'pass' | 'fail', domain: string, raw: Buffer | string) =>
      Buffer.concat([Buffer.from(`Authentication-Results: mx.support.example;\r\n\tdkim=${dmarc} header.d=${domain};\r\n\tdmarc=${dmarc} (p=REJECT) header.from=${domain}\r\n`), Buffer.from(raw)]);
    const sink = await startSmtpSink();
    const user = addUser(dovecot);
    const bridge = startBridge({ DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_IMAP: user.url(), DESKBRIDGE_SMTP: sink.url, DESKBRIDGE_ADDRESS: 'bridge@support.example', DESKBRIDGE_AUTHSERV_ID: 'mx.support.example' });
    try {
      await appendMails(dovecot, user, [stamped('pass', 'billing.acme.example', fixture('whmcs-new.eml'))]);
      await eventually(async () => sink.received.length === 1, 20_000, 'the staff notification at the SMTP server');
      const mail = await simpleParser(sink.received[0]!.raw);
      const ticket = await db.knex('tickets').first();
      expect(sink.received[0]!.to).toEqual(['anna@support.example']);
      expect(mail.subject).toBe(`[DB#${ticket.id}] Server down since midnight`);
      expect(mail.replyTo!.value[0]!.address).toMatch(new RegExp(`^bridge\\+${ticket.id}-[a-z2-7]{12}@support\\.example$`));
      await eventually(async () => (await db.knex('outbox').where({ state: 'sent' })).length === 1, 10_000, 'the row marked sent');

      const reply = (from: string, id: string) =>
        [
          `From: ${from}`,
          `To: ${mail.replyTo!.value[0]!.address}`,
          `Subject: Re: ${mail.subject}`,
          `Message-ID: <${id}@mail.support.example>`,
          `In-Reply-To: ${mail.messageId}`,
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary="gm"',
          '',
          '--gm',
          'Content-Type: text/plain; charset=UTF-8',
          '',
          'The hypervisor was rebooted; your server is up again.',
          '',
          '-- ',
          'Anna Admin | Support',
          '',
          `On Wed, Nov 25, 2026 at 10:00 AM Deskbridge <bridge@support.example> wrote:`,
          '> Acme WHMCS ticket 482913',
          '> The server is unreachable since midnight.',
          '',
          '--gm',
          'Content-Type: text/plain; name="uptime.txt"',
          'Content-Disposition: attachment; filename="uptime.txt"',
          '',
          'up 2 min, load average: 0.10',
          '--gm--',
          '',
        ].join('\r\n');
      await appendMails(dovecot, user, [
        stamped('pass', 'else.example', reply('Mallory <mallory@else.example>', 'not-staff')),
        stamped('fail', 'support.example', reply('Anna Admin <anna@support.example>', 'forged-1')),
        stamped('pass', 'support.example', reply('Anna Admin <anna@support.example>', 'staff-1')),
      ]);
      await eventually(async () => sink.received.length === 2, 20_000, 'the relay at the SMTP server');
      const relay = await simpleParser(sink.received[1]!.raw);
      expect(sink.received[1]!.to).toEqual(['support@billing.acme.example']);
      expect(relay.subject).toBe('Re: [Ticket ID: 482913] Server down since midnight');
      expect(relay.inReplyTo).toBe('<whmcs-482913-1@billing.acme.example>');
      expect(relay.text).toContain('The hypervisor was rebooted; your server is up again.');
      expect(relay.text).not.toContain('unreachable since midnight');
      expect(relay.text).not.toContain('Anna Admin | Support');
      expect(relay.headers.get('auto-submitted')).toBeUndefined();
      expect(relay.attachments.map((a) => a.filename)).toEqual(['uptime.txt']);
      const states = (await db.knex('inbound').select('state').orderBy('id')).map((r: { state: string }) => r.state);
      expect(states).toEqual(['ticket_created', 'rejected_staff', 'rejected_staff', 'staff_reply']);
      await new Promise((r) => setTimeout(r, 500));
      expect(sink.received).toHaveLength(2); // nothing for Mallory
      expect(await bridge.stop('SIGTERM')).toBe(0);
    } finally {
      await bridge.stop('SIGKILL');
      await sink.close();
      await db.drop();
    }
  });
});
