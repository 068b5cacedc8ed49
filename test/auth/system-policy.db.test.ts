// A system's --auth policy on a real database: forged notifications are
// parked as parked_unauthenticated with the results in the reason, authentic
// ones flow, a DNS failure is `failed` (retried), and a replay judges the
// stored result against the policy in force at replay time.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { editSystem } from '../../src/admin/systems';
import { createAuthenticator } from '../../src/auth/sender-auth';
import { createPipeline, type IncomingMail } from '../../src/pipeline';
import { listInbound } from '../../src/store/inbound';
import { listTickets } from '../../src/store/tickets';
import { BACKEND, openTestDatabase } from '../helpers/database';
import { makeKey, signMail, zoneResolver, type TestKey, type Zone } from '../helpers/dkim';
import { fixture } from '../helpers/mail';
import { seedRouting } from '../helpers/seed';

let db: Awaited<ReturnType<typeof openTestDatabase>>;
let bill: TestKey;
let evil: TestKey;
let zone: Zone;
const RECEIVER = 'mx.support.example';

beforeAll(() => {
  bill = makeKey();
  evil = makeKey();
  zone = { 'sel._domainkey.bill.example': bill.record, '_dmarc.bill.example': 'v=DMARC1; p=reject', 'sel._domainkey.evil.example': evil.record };
});
beforeEach(async () => {
  db = await openTestDatabase('system_auth');
  await seedRouting(db);
  await editSystem(db, 'test', 'billmgr', { auth: 'dmarc' }); // the seed's systems are `none`; this file is about `dmarc`
});
afterEach(async () => db.drop());

const pipeline = (z: Zone = zone) => createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, authenticate: createAuthenticator({ authservIds: [RECEIVER], resolver: zoneResolver(z) }) });
const mail = (raw: Buffer | string, label = 'm'): IncomingMail => ({ raw: Buffer.from(raw), label, source: 'stdin' });
/** billmgr-new.eml with another Message-ID (so it is not a duplicate) and headers of our choosing on top. */
const notification = (id: string, top: string[] = [], transform = (s: string) => s) =>
  Buffer.from([...top, transform(fixture('billmgr-new.eml').toString('latin1').replace('<bm-5521@bill.example>', `<${id}@bill.example>`).replace('X-Ticket-ID: 5521', `X-Ticket-ID: ${id}`))].join('\r\n'), 'latin1');

describe(`system --auth dmarc on ${BACKEND}`, () => {
  it('an authentic notification (signed by bill.example) makes its ticket and keeps its auth with the ledger row', async () => {
    const [r] = await pipeline().ingest([mail(await signMail(notification('1'), 'bill.example', bill))]);
    expect(r).toMatchObject({ state: 'ticket_created' });
    const [row] = await listInbound(db.knex);
    expect(row!.auth).toMatchObject({ dkim: 'pass', spf: 'none', dmarc: 'pass', domain: 'bill.example', source: 'verified' });
  });

  it.each([
    ['the exact From of the system, unsigned', async () => notification('2')],
    ['signed by an unaligned domain', async () => signMail(notification('3'), 'evil.example', evil)],
    ['signed, then its subject altered', async () => Buffer.from((await signMail(notification('4'), 'bill.example', bill)).toString('latin1').replace('Subject: =?utf-8?B?', 'Subject: =?utf-8?B?0J3'), 'latin1')],
    ['a forged pass below our receiver\'s fail', async () => notification('5', [`Authentication-Results: ${RECEIVER}; dkim=none; spf=fail smtp.mailfrom=bill.example; dmarc=fail header.from=bill.example`], (s) => `Authentication-Results: ${RECEIVER}; dkim=pass header.d=bill.example; dmarc=pass header.from=bill.example\r\n${s}`)],
    ['a pass stamped by another server', async () => notification('6', ['Authentication-Results: mx.attacker.example; dkim=pass header.d=bill.example; dmarc=pass header.from=bill.example'])],
  ])('%s is parked_unauthenticated with the results in the reason, and makes no ticket', async (_name, make) => {
    const [r] = await pipeline().ingest([mail(await make())]);
    expect(r).toMatchObject({ state: 'parked_unauthenticated', system: 'billmgr', reason: expect.stringMatching(/^billmgr requires --auth dmarc; not authenticated.*dkim=.*dmarc=/) });
    expect(await listTickets(db.knex)).toEqual([]);
  });

  it('a trusted receiver\'s pass lets the notification through without any DNS', async () => {
    const resolver = zoneResolver({});
    const p = createPipeline(db, { bridgeAddress: 'bridge@support.example', maxMessageBytes: 25 * 1024 * 1024, authenticate: createAuthenticator({ authservIds: [RECEIVER], resolver }) });
    const [r] = await p.ingest([mail(notification('7', [`Authentication-Results: ${RECEIVER.toUpperCase()}; spf=pass smtp.mailfrom=noreply@bill.example; dkim=none; dmarc=pass header.from=bill.example`]))]);
    expect(r!.state).toBe('ticket_created');
    expect(resolver.asked).toEqual([]);
    expect((await listInbound(db.knex))[0]!.auth).toMatchObject({ spf: 'pass', dmarc: 'pass', domain: 'bill.example', source: 'authentication-results' });
  });

  it('a DNS failure is `failed` (tried again), and the retry once DNS answers makes the ticket', async () => {
    const signed = await signMail(notification('8'), 'bill.example', bill);
    const [r] = await pipeline({ ...zone, 'sel._domainkey.bill.example': 'SERVFAIL', '_dmarc.bill.example': 'SERVFAIL' }).ingest([mail(signed)]);
    expect(r).toMatchObject({ state: 'failed', reason: expect.stringMatching(/attempt 1 of 3: authentication could not finish \(DNS\)/) });
    const [again] = await pipeline().retryFailed();
    expect(again).toMatchObject({ state: 'ticket_created' });
  });

  it('a parked mail replayed after `system edit --auth none` is accepted; replayed under dmarc it stays parked', async () => {
    const [r] = await pipeline().ingest([mail(notification('9'))]);
    expect(r!.state).toBe('parked_unauthenticated');
    const [still] = await pipeline().reprocess([r!.inboundId], { resetAttempts: true });
    expect(still!.state).toBe('parked_unauthenticated');
    await editSystem(db, 'test', 'billmgr', { auth: 'none' });
    const [replayed] = await pipeline().reprocess([r!.inboundId], { resetAttempts: true });
    expect(replayed).toMatchObject({ state: 'ticket_created', inboundId: r!.inboundId });
  });

  it('a system left at `none` takes the unsigned mail, and its auth is still recorded', async () => {
    const [r] = await pipeline().ingest([mail(fixture('whmcs-new.eml'))]);
    expect(r!.state).toBe('ticket_created');
    expect((await listInbound(db.knex))[0]!.auth).toMatchObject({ dkim: 'none', dmarc: 'none', domain: null, source: 'verified' });
  });
});
