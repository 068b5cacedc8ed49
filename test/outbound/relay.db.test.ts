// Staff replies: verified (a token issued to that staff member for that
// ticket, in --staff-auth token mode), stored with quotes and signature
// stripped, relayed to the system in its own form; refused otherwise; #close;
// the per-ticket loop limit. The dmarc mode is in test/auth/staff-auth.db.test.ts.
import { simpleParser } from 'mailparser';
import { beforeEach, afterEach, describe, expect, it } from 'vitest';
import { outboundFrom } from '../../src/outbound/notify';
import { RELAY_LIMIT_PER_HOUR } from '../../src/outbound/relay';
import { loadTemplates } from '../../src/outbound/render';
import { makeToken } from '../../src/outbound/reply-token';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { listOutbox } from '../../src/store/outbox';
import { getThread, getTicket } from '../../src/store/tickets';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { fixture } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';
import { outboxMail } from '../helpers/outbox';

const SECRET = 'relay-test-secret-0123';
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let ticketId: number;
const outbound = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'test-node' }, () => loadTemplates())!;
const pipeline = () => createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, outbound });
const mail = (raw: Buffer | string, label = 'reply'): IncomingMail => ({ raw: Buffer.from(raw), label, source: 'stdin' });

/** A Gmail-style reply: the answer, a signature, the quoted notification, and an attachment. */
function staffReply(opts: { from?: string; token?: string; body?: string; id?: string; to?: string; subject?: string; inReplyTo?: string } = {}): string {
  const token = opts.token ?? makeToken(ticketId, opts.from ?? 'anna@support.example', SECRET);
  return [
    `From: Anna Admin <${opts.from ?? 'anna@support.example'}>`,
    `To: ${opts.to ?? `bridge+${token}@support.example`}`,
    `Subject: ${opts.subject ?? `Re: [DB#${ticketId}] Server down since midnight`}`,
    `Message-ID: <${opts.id ?? 'staff-1'}@mail.support.example>`,
    ...(opts.inReplyTo ? [`In-Reply-To: ${opts.inReplyTo}`, `References: ${opts.inReplyTo}`] : []),
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? 'Rebooted the hypervisor; the server is back.',
    '',
    '-- ',
    'Anna Admin, Support',
    '',
    'On Wed, Nov 25, 2026 at 10:00 AM Deskbridge <bridge@support.example> wrote:',
    '> Acme WHMCS ticket 482913',
    '> The server is unreachable since midnight.',
    '',
    '--b1',
    'Content-Type: text/plain; name="uptime.txt"',
    'Content-Disposition: attachment; filename="uptime.txt"',
    '',
    'up 3 min',
    '--b1--',
    '',
  ].join('\r\n');
}

beforeEach(async () => {
  db = await openTestDatabase('relay');
  await seedRouting(db);
  const [created] = await pipeline().ingest([mail(fixture('whmcs-new.eml'), 'whmcs-new.eml')]);
  ticketId = created!.ticketId!;
});
afterEach(async () => db.drop());

const relays = async () => (await listOutbox(db.knex)).filter((r) => r.kind === 'relay' || r.kind === 'close');

describe(`staff replies on ${BACKEND}`, () => {
  it('a reply from the department staff to the token address is stored stripped and relayed in the system\'s own form', async () => {
    const [r] = await pipeline().ingest([mail(staffReply())]);
    expect(r).toMatchObject({ state: 'staff_reply', ticketId, reason: `anna@support.example on ticket #${ticketId}; relayed to support@billing.acme.example` });
    const thread = await getThread(db.knex, ticketId);
    expect(thread.at(-1)).toMatchObject({ direction: 'staff', event: 'reply', from: 'anna@support.example', text: 'Rebooted the hypervisor; the server is back.' });
    expect(thread.at(-1)!.attachments.map((a) => a.name)).toEqual(['uptime.txt']);
    const [relay] = await relays();
    expect(relay).toMatchObject({ kind: 'relay', state: 'queued', to: ['support@billing.acme.example'], subject: 'Re: [Ticket ID: 482913] Server down since midnight' });
    const sent = await simpleParser(await outboxMail(db.knex, relay!.id));
    expect(sent.inReplyTo).toBe('<whmcs-482913-1@billing.acme.example>');
    expect(sent.references).toBe('<whmcs-482913-1@billing.acme.example>');
    expect(sent.headers.get('auto-submitted')).toBeUndefined();
    expect(sent.headers.get('x-deskbridge-loop')).toBe('test-node');
    expect(sent.text).toContain('Rebooted the hypervisor; the server is back.');
    expect(sent.text).not.toContain('unreachable since midnight');
    expect(sent.text).not.toContain('Anna Admin, Support');
    expect(sent.attachments.map((a) => a.filename)).toEqual(['uptime.txt']);
  });

  it.each([
    ['a sender who is not on the department\'s staff', { from: 'carol@support.example' }, /carol@support\.example is not on the staff of department hosting/],
    ['a token that does not verify', { token: `${1}-aaaaaaaaaaaa` }, /the reply token does not verify/],
    ['a token issued to another staff address', { token: 'bob', from: 'anna@support.example' }, /the reply token does not verify for anna@support\.example/],
    ['the MAC of this ticket\'s token under another ticket id', { token: 'other-ticket' }, /the reply token does not verify/],
    ['a bad token, with the right [DB#id] tag and our notification in References', { token: `${1}-aaaaaaaaaaaa`, withReference: true }, /the reply token does not verify/],
  ])('%s is rejected_staff and nothing is relayed', async (_name, opts: { from?: string; token?: string; withReference?: boolean }, reason) => {
    const token = opts.token === 'bob' ? makeToken(ticketId, 'bob@support.example', SECRET) : opts.token === 'other-ticket' ? makeToken(ticketId, 'anna@support.example', SECRET).replace(/^\d+/, String(ticketId + 1)) : opts.token;
    const inReplyTo = opts.withReference ? (await listOutbox(db.knex)).find((r) => r.kind === 'notification')!.messageId : undefined;
    const [r] = await pipeline().ingest([mail(staffReply({ ...opts, token, inReplyTo }))]);
    expect(r).toMatchObject({ state: 'rejected_staff', reason: expect.stringMatching(reason) });
    expect(await relays()).toEqual([]);
    expect((await getThread(db.knex, ticketId)).filter((m) => m.direction === 'staff')).toEqual([]);
  });

  it('--staff-auth token: a reply to the plain address naming the ticket by In-Reply-To or the [DB#id] tag is rejected, whatever its From says', async () => {
    // the forged path: From is anyone's to write, ticket ids are sequential, the tag is public
    const notification = (await listOutbox(db.knex)).find((r) => r.kind === 'notification')!;
    const [byReference] = await pipeline().ingest([mail(staffReply({ to: 'bridge@support.example', subject: 'Re: Server down', inReplyTo: notification.messageId, id: 'ref-1' }))]);
    expect(byReference).toMatchObject({ state: 'rejected_staff', reason: expect.stringMatching(/only through the reply address issued to each staff member/) });
    const [byTag] = await pipeline().ingest([mail(staffReply({ to: 'bridge@support.example', id: 'tag-1', body: '#close\nDone.' }))]);
    expect(byTag).toMatchObject({ state: 'rejected_staff', reason: expect.stringMatching(/--staff-auth token/) });
    const [unknown] = await pipeline().ingest([mail(staffReply({ to: 'bridge@support.example', subject: 'Re: [DB#99999] x', id: 'tag-3' }))]);
    expect(unknown).toMatchObject({ state: 'rejected_staff', reason: expect.stringMatching(/ticket #99999 .*does not exist/) });
    expect(await relays()).toEqual([]);
    expect((await getTicket(db.knex, ticketId))!.status).toBe('open');
  });

  /** A plain-text reply to Anna's token address, with this body. */
  const plainReply = (body: string, id: string) => {
    const token = makeToken(ticketId, 'anna@support.example', SECRET);
    return [`From: Anna Admin <anna@support.example>`, `To: bridge+${token}@support.example`, `Subject: Re: [DB#${ticketId}] Server down since midnight`, `Message-ID: <${id}@mail.support.example>`, 'Content-Type: text/plain; charset=utf-8', '', body.replaceAll('{token}', `bridge+${token}@support.example`), ''].join('\r\n');
  };

  it.each([
    ['"On … wrote:" over the quoted notification and nothing under it', 'On Wed, Nov 25, 2026 at 10:00 AM <{token}> wrote:\r\n> Acme WHMCS ticket 482913\r\n> Answer by replying to this mail ({token})\r\n'],
    ['an Outlook header block with the notification under it', 'From: Deskbridge <{token}>\r\nSent: Wednesday, November 25, 2026 10:00\r\nTo: Anna Admin\r\nSubject: [DB#1] Server down\r\n\r\nAcme WHMCS ticket 482913\r\nAnswer by replying to this mail ({token})\r\n'],
    ['only > lines', '> Acme WHMCS ticket 482913\r\n> Answer by replying to this mail ({token})\r\n'],
  ])('a reply with no words of its own (%s) is refused and nothing is relayed', async (_name, body) => {
    const [r] = await pipeline().ingest([mail(plainReply(body, 'bare-quote'))]);
    expect(r).toMatchObject({ state: 'rejected_staff', reason: expect.stringMatching(/no words of its own \(only the quoted mail\), nothing relayed/) });
    expect(await relays()).toEqual([]);
    expect((await getThread(db.knex, ticketId)).filter((m) => m.direction === 'staff')).toEqual([]);
  });

  it('a reply token in the staff member\'s own words is relayed as the bare bridge address: the token is their credential', async () => {
    const [r] = await pipeline().ingest([mail(plainReply('Fixed. (If it happens again, write to {token}.)', 'token-in-text'))]);
    expect(r).toMatchObject({ state: 'staff_reply' });
    const [relay] = await relays();
    const sent = (await simpleParser(await outboxMail(db.knex, relay!.id))).text ?? '';
    expect(sent).toContain('Fixed. (If it happens again, write to bridge@support.example.)');
    expect(sent).not.toMatch(/bridge\+/);
  });

  it('#close on the first line closes the ticket and relays the close template', async () => {
    const [r] = await pipeline().ingest([mail(staffReply({ body: '#close\nAll fixed, thanks for waiting.' }))]);
    expect(r!.reason).toContain('closes it');
    expect((await getTicket(db.knex, ticketId))!.status).toBe('closed');
    const [relay] = await relays();
    expect(relay!.kind).toBe('close');
    const sent = await simpleParser(await outboxMail(db.knex, relay!.id));
    expect(sent.text).toContain('All fixed, thanks for waiting.');
    expect(sent.text).toContain('closed on our side');
    expect(sent.text).not.toContain('#close');
  });

  it('a body that looks like a template is relayed as text, never evaluated', async () => {
    await pipeline().ingest([mail(staffReply({ body: 'Use {{ticket.id}} and {{#each x}}literally{{/each}}.' }))]);
    const [relay] = await relays();
    const sent = await simpleParser(await outboxMail(db.knex, relay!.id));
    expect(sent.text).toContain('Use {{ticket.id}} and {{#each x}}literally{{/each}}.');
  });

  it(`more than ${RELAY_LIMIT_PER_HOUR} relays for one ticket within an hour: the rest are parked as loop_suspected`, async () => {
    const replies = Array.from({ length: RELAY_LIMIT_PER_HOUR + 1 }, (_, i) => mail(staffReply({ id: `loop-${i}`, body: `Answer number ${i}.` }), `loop-${i}`));
    const results = await pipeline().ingest(replies);
    expect(results.every((r) => r.state === 'staff_reply')).toBe(true);
    expect(results.at(-1)!.reason).toMatch(/relay parked: loop_suspected \(20 relays in the last hour\)/);
    const rows = await relays();
    expect(rows.filter((r) => r.state === 'queued')).toHaveLength(RELAY_LIMIT_PER_HOUR);
    expect(rows.filter((r) => r.state === 'parked').map((r) => r.lastError)).toEqual([expect.stringMatching(/^loop_suspected: 20 relays for ticket/)]);
  });
});
