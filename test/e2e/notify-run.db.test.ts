// End to end through `deskbridge run`: a remote notification APPENDed to the
// bridge's mailbox (Dovecot) reaches the department's staff at a real SMTP
// server, with the ticket tag and a reply token.
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('a WHMCS notification in the mailbox → the staff notification at the SMTP server', async () => {
    const db = await openTestDatabase('notify-run');
    await seedRouting(db);
    const sink = await startSmtpSink();
    const user = addUser(dovecot);
    const bridge = startBridge({ DESKBRIDGE_DATABASE: db.url, DESKBRIDGE_IMAP: user.url(), DESKBRIDGE_SMTP: sink.url, DESKBRIDGE_ADDRESS: 'bridge@support.example' });
    try {
      await appendMails(dovecot, user, [fixture('whmcs-new.eml')]);
      await eventually(async () => sink.received.length === 1, 20_000, 'the staff notification at the SMTP server');
      const mail = await simpleParser(sink.received[0]!.raw);
      const ticket = await db.knex('tickets').first();
      expect(sink.received[0]!.to).toEqual(['anna@support.example']);
      expect(mail.subject).toBe(`[DB#${ticket.id}] Server down since midnight`);
      expect(mail.replyTo!.value[0]!.address).toMatch(new RegExp(`^bridge\\+${ticket.id}-[a-z2-7]{12}@support\\.example$`));
      await eventually(async () => (await db.knex('outbox').where({ state: 'sent' })).length === 1, 10_000, 'the row marked sent');
      expect(await bridge.stop('SIGTERM')).toBe(0);
    } finally {
      await bridge.stop('SIGKILL');
      await sink.close();
      await db.drop();
    }
  });
});
