// Staff replies under --staff-auth dmarc (the default for new departments):
// the sender must be on the ticket's department's staff AND authenticated;
// then a token, References or the [DB#id] tag may name the ticket. Forged
// staff mail (exact From, look-alike domain, display name, an unaligned
// signature) is rejected; an explicit dmarc=fail from our receiving server
// rejects even with a valid token; a bad token is never rescued.
import { simpleParser } from 'mailparser';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { editDepartment } from '../../src/admin/departments';
import { createAuthenticator } from '../../src/auth/sender-auth';
import { outboundFrom } from '../../src/outbound/notify';
import { loadTemplates } from '../../src/outbound/render';
import { makeToken } from '../../src/outbound/reply-token';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { listOutbox } from '../../src/store/outbox';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { makeKey, plainMail, signMail, zoneResolver, type TestKey, type Zone } from '../helpers/dkim';
import { fixture } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';

const OLD_KEY = 'staff-auth-old-key-0123';
const SECRET = `staff-auth-new-key-4567 ${OLD_KEY}`;
const RECEIVER = 'mx.support.example';
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let ticketId: number;
let support: TestKey;
let evil: TestKey;
let zone: Zone;
const outbound = outboundFrom({ address: 'bridge@support.example', secret: SECRET, instance: 'test-node' }, () => loadTemplates())!;
const pipeline = () =>
  createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, outbound, authenticate: createAuthenticator({ authservIds: [RECEIVER], resolver: zoneResolver(zone) }) });
const mail = (raw: Buffer | string): IncomingMail => ({ raw: Buffer.from(raw), label: 'reply', source: 'stdin' });
let n = 0;
const reply = (o: { from?: string; to?: string; subject?: string; top?: string[]; inReplyTo?: string; body?: string } = {}) =>
  plainMail(
    [
      ...(o.top ?? []),
      `From: ${o.from ?? 'Anna <anna@support.example>'}`,
      `To: ${o.to ?? 'bridge@support.example'}`,
      `Subject: ${o.subject ?? `Re: [DB#${ticketId}] Server down since midnight`}`,
      `Message-ID: <reply-${++n}@support.example>`,
      ...(o.inReplyTo ? [`In-Reply-To: ${o.inReplyTo}`] : []),
    ],
    o.body ?? 'Rebooted; it is back.\r\n',
  );
const token = (staff = 'anna@support.example', key = SECRET, id = ticketId) => `bridge+${makeToken(id, staff, key)}@support.example`;

beforeAll(() => {
  support = makeKey();
  evil = makeKey();
  zone = { 'sel._domainkey.support.example': support.record, '_dmarc.support.example': 'v=DMARC1; p=none', 'sel._domainkey.supp0rt.example': evil.record, 'sel._domainkey.evil.example': evil.record };
});
beforeEach(async () => {
  db = await openTestDatabase('staff_auth');
  await seedRouting(db);
  await editDepartment(db, 'test', 'hosting', { staffAuth: 'dmarc' });
  const [created] = await pipeline().ingest([mail(fixture('whmcs-new.eml'))]);
  ticketId = created!.ticketId!;
});
afterEach(async () => db.drop());

const relays = async () => (await listOutbox(db.knex)).filter((r) => r.kind === 'relay' || r.kind === 'close');
const notices = async () => (await listOutbox(db.knex)).filter((r) => r.kind === 'notice');

describe(`--staff-auth dmarc on ${BACKEND}`, () => {
  it('a signed reply from staff is relayed, whether it names the ticket by token, References or the tag', async () => {
    const notification = (await listOutbox(db.knex)).find((r) => r.kind === 'notification')!;
    const results = await pipeline().ingest([
      mail(await signMail(reply({ to: token() }), 'support.example', support)),
      mail(await signMail(reply({ subject: 'Re: Server down', inReplyTo: notification.messageId }), 'support.example', support)),
      mail(await signMail(reply(), 'support.example', support)),
    ]);
    expect(results.map((r) => r.state)).toEqual(['staff_reply', 'staff_reply', 'staff_reply']);
    expect(await relays()).toHaveLength(3);
  });

  it('a reply through a token signed with the old key (rotated, still listed) is relayed', async () => {
    const [r] = await pipeline().ingest([mail(await signMail(reply({ to: token('anna@support.example', OLD_KEY) }), 'support.example', support))]);
    expect(r!.state).toBe('staff_reply');
  });

  it.each([
    ['an exact-From spoof of staff, unsigned, with the tag', async () => reply(), /needs authenticated staff mail.*not authenticated/],
    ['an exact-From spoof of staff with a valid-looking token but no signature', async () => reply({ to: token() }), /not authenticated/],
    ['a look-alike domain signing for itself', async () => signMail(reply({ from: 'anna@supp0rt.example' }), 'supp0rt.example', evil), /anna@supp0rt\.example is not on the staff/],
    ['a display name showing the staff address', async () => signMail(reply({ from: '"anna@support.example" <x@evil.example>' }), 'evil.example', evil), /x@evil\.example is not on the staff/],
    ['staff From signed by an unaligned domain', async () => signMail(reply(), 'evil.example', evil), /not authenticated/],
    ['a signed staff mail with its body altered', async () => Buffer.from((await signMail(reply(), 'support.example', support)).toString().replace('Rebooted', '#close\r\nRebooted')), /not authenticated/],
    ['this ticket\'s MAC under another ticket id', async () => signMail(reply({ to: token().replace(`+${ticketId}-`, `+${ticketId + 1}-`) }), 'support.example', support), /does not verify/],
    ['a token issued to another staff address', async () => signMail(reply({ to: token('bob@support.example') }), 'support.example', support), /does not verify for anna@support\.example/],
    ['a token signed with a key no longer listed', async () => signMail(reply({ to: token('anna@support.example', 'a-key-dropped-long-ago-42') }), 'support.example', support), /does not verify/],
    ['a bad token, not rescued by the right tag', async () => signMail(reply({ to: `bridge+${ticketId}-aaaaaaaaaaaa@support.example` }), 'support.example', support), /does not verify/],
    ['a valid token and signature, but our receiver says dmarc=fail', async () => signMail(reply({ to: token(), top: [`Authentication-Results: ${RECEIVER}; dkim=fail header.d=support.example; dmarc=fail header.from=support.example`] }), 'support.example', support), /our receiving server says dmarc=fail/],
  ])('%s is rejected_staff and nothing is relayed', async (_name, make, reason) => {
    const [r] = await pipeline().ingest([mail(await make())]);
    expect(r).toMatchObject({ state: 'rejected_staff', reason: expect.stringMatching(reason) });
    expect(await relays()).toEqual([]);
  });

  it('authenticated staff whose reply was refused are told once per 10 minutes, with the reason; a forged From is never told', async () => {
    const refused = await pipeline().ingest([
      mail(reply({ to: token() })), // unsigned: could be anyone → no notice (no backscatter)
      mail(await signMail(reply({ to: token('bob@support.example'), subject: 'Re: first' }), 'support.example', support)),
      mail(await signMail(reply({ to: token('bob@support.example'), subject: 'Re: second' }), 'support.example', support)),
    ]);
    expect(refused.map((r) => r.state)).toEqual(['rejected_staff', 'rejected_staff', 'rejected_staff']);
    expect(refused.map((r) => r.reason!.split('; ').at(-1))).toEqual(['no notice (sender not authenticated)', 'anna@support.example told', 'no notice (one was sent in the last 10 minutes)']);
    const [notice] = await notices();
    expect(notice).toMatchObject({ to: ['anna@support.example'], subject: 'Not relayed: Re: first', state: 'queued' });
    const sent = await simpleParser(Buffer.from((await db.knex('outbox').where({ id: notice!.id }).first()).raw));
    expect(sent.text).toContain('does not verify for anna@support.example');
    expect(sent.html).toContain('does not verify for anna@support.example');
    expect(sent.headers.get('auto-submitted')).toBe('auto-generated');
  });

  it('under --staff-auth token, a receiver\'s dmarc=fail still rejects a valid token', async () => {
    await editDepartment(db, 'test', 'hosting', { staffAuth: 'token' });
    const [ok] = await pipeline().ingest([mail(reply({ to: token() }))]);
    expect(ok!.state).toBe('staff_reply');
    const [r] = await pipeline().ingest([mail(reply({ to: token(), top: [`Authentication-Results: ${RECEIVER}; spf=fail smtp.mailfrom=support.example; dmarc=fail header.from=support.example`] }))]);
    expect(r).toMatchObject({ state: 'rejected_staff', reason: expect.stringMatching(/dmarc=fail/) });
  });
});
