// Sender authentication end to end over real DKIM signatures (mailauth signs
// in the test) and an in-process DNS zone; the policy verdict on each result.
import { beforeAll, describe, expect, it } from 'vitest';
import { judgeSender } from '../../src/auth/policy';
import { authView, createAuthenticator } from '../../src/auth/sender-auth';
import { makeKey, plainMail, signMail, zoneResolver, type TestKey, type Zone } from '../helpers/dkim';

let bill: TestKey;
let evil: TestKey;
let zone: Zone;
beforeAll(() => {
  bill = makeKey();
  evil = makeKey();
  zone = {
    'sel._domainkey.bill.example': bill.record,
    'sel._domainkey.mail.bill.example': bill.record,
    '_dmarc.bill.example': 'v=DMARC1; p=reject',
    'sel._domainkey.evil.example': evil.record,
    'sel._domainkey.bi11.example': evil.record,
    'sel._domainkey.nodmarc.example': bill.record,
  };
});

const notification = (from: string, extra: string[] = [], body?: string) => plainMail([`From: ${from}`, 'To: bridge@support.example', 'Subject: [Ticket ID: 1] hi', 'Message-ID: <n1@bill.example>', ...extra], body);
const auth = (z: Zone = zone, authservIds: string[] = []) => createAuthenticator({ authservIds, resolver: zoneResolver(z) });
const verdict = async (raw: Buffer | string, z?: Zone, ids?: string[]) => judgeSender(await auth(z, ids)(Buffer.from(raw)));

describe('verified here (DKIM and DMARC by mailauth)', () => {
  it('a mail signed by its From domain passes, and shows what authenticated it', async () => {
    const raw = await signMail(notification('Billing <noreply@bill.example>'), 'bill.example', bill);
    const a = await auth()(raw);
    expect(authView(a)).toEqual({ dkim: 'pass', spf: 'none', dmarc: 'pass', domain: 'bill.example', source: 'verified' });
    expect(judgeSender(a).kind).toBe('pass');
  });

  it('a signature of a subdomain aligns (relaxed), with and without a DMARC record', async () => {
    expect((await verdict(await signMail(notification('noreply@bill.example'), 'mail.bill.example', bill))).kind).toBe('pass');
    expect((await verdict(await signMail(notification('noreply@nodmarc.example'), 'nodmarc.example', bill))).kind).toBe('pass');
  });

  it.each([
    ['an exact-From spoof with no signature', async () => notification('noreply@bill.example')],
    ['a DKIM pass for an unaligned domain', async () => signMail(notification('noreply@bill.example'), 'evil.example', evil)],
    ['a look-alike domain signing for itself, From the real one', async () => signMail(notification('noreply@bill.example'), 'bi11.example', evil)],
    ['a display name that looks like the real address', async () => signMail(notification('"noreply@bill.example" <x@evil.example>'), 'evil.example', evil).then((r) => ({ r, from: 'evil.example' }))],
    ['a signed mail with an altered body', async () => Buffer.from((await signMail(notification('noreply@bill.example'), 'bill.example', bill)).toString().replace('Hello.', 'Pay to IBAN X.'))],
    ['a second From header', async () => signMail(notification('noreply@bill.example', ['From: x@evil.example']), 'bill.example', bill)],
    ['a signature with l= and text appended after it', async () => Buffer.concat([await signMail(notification('noreply@bill.example'), 'bill.example', bill, { maxBodyLength: 8 }), Buffer.from('Pay to IBAN X.\r\n')])],
    ['a signature made with another key than the published one', async () => signMail(notification('noreply@bill.example'), 'bill.example', evil)],
  ])('%s is not authenticated as bill.example', async (_name, make) => {
    const made = await make();
    const raw = Buffer.isBuffer(made) || typeof made === 'string' ? made : made.r;
    const a = await auth()(Buffer.from(raw));
    const v = judgeSender(a);
    if (!(Buffer.isBuffer(made) || typeof made === 'string')) {
      // the display-name trick authenticates evil.example, never bill.example
      expect(a.from).toBe(made.from);
      return;
    }
    expect(v.kind).toBe('fail');
    expect(a.domain === 'bill.example' && a.from === 'bill.example').toBe(false);
  });

  it('reads the From domain the same on every mail (a value seen before is parsed once), however long it is', async () => {
    const long = `"${'A very long display name '.repeat(20)}" <noreply@bill.example>`;
    for (const from of ['Billing <noreply@bill.example>', 'Billing <noreply@bill.example>', long, long]) {
      expect(await auth()(Buffer.from(notification(from)))).toMatchObject({ from: 'bill.example', note: expect.stringMatching(/^no DKIM/) });
    }
    const two = await auth()(Buffer.from(notification('noreply@bill.example', ['From: x@evil.example'])));
    expect(two).toMatchObject({ from: null, note: expect.stringContaining('2 From addresses') });
    const none = await auth()(Buffer.from(notification('undisclosed-recipients:;')));
    expect(none).toMatchObject({ from: null, note: expect.stringContaining('no From address') });
  });

  it('a mail with no signature asks no DNS at all', async () => {
    const resolver = zoneResolver(zone);
    const a = await createAuthenticator({ authservIds: [], resolver })(Buffer.from(notification('noreply@bill.example')));
    expect(resolver.asked).toEqual([]);
    expect(a).toMatchObject({ dkim: 'none', dmarc: 'none', note: 'no DKIM signature and no trusted Authentication-Results' });
  });

  it('a DNS failure is a temporary error, never a pass', async () => {
    const raw = await signMail(notification('noreply@bill.example'), 'bill.example', bill);
    const v = await verdict(raw, { ...zone, 'sel._domainkey.bill.example': 'SERVFAIL', '_dmarc.bill.example': 'SERVFAIL' });
    expect(v).toMatchObject({ kind: 'temporary', reason: expect.stringMatching(/dkim=temperror/) });
  });
});

describe('a trusted Authentication-Results header', () => {
  const ID = 'mx.support.example';
  const ar = (v: string) => `Authentication-Results: ${v}`;
  it('is used instead of verifying (no DNS), and an SPF pass for the From domain counts', async () => {
    const resolver = zoneResolver({});
    const raw = notification('noreply@bill.example', [ar(`${ID}; spf=pass smtp.mailfrom=bounce@bill.example; dkim=none; dmarc=pass header.from=bill.example`)]);
    const a = await createAuthenticator({ authservIds: [ID], resolver })(Buffer.from(raw));
    expect(authView(a)).toEqual({ dkim: 'none', spf: 'pass', dmarc: 'pass', domain: 'bill.example', source: 'authentication-results' });
    expect(resolver.asked).toEqual([]);
  });

  it('a forged pass below our receiver\'s fail is ignored, and so is one from another authserv-id', async () => {
    const raw = notification('noreply@bill.example', [
      ar('mx.attacker.example; dkim=pass header.d=bill.example; dmarc=pass header.from=bill.example'),
      ar(`${ID}; dkim=none; spf=softfail smtp.mailfrom=x@evil.example; dmarc=fail header.from=bill.example`),
      ar(`${ID}; dkim=pass header.d=bill.example; dmarc=pass header.from=bill.example`),
    ]);
    expect(await verdict(raw, zone, [ID])).toMatchObject({ kind: 'fail', reason: expect.stringMatching(/dmarc=fail/) });
  });

  it('dmarc=none with no aligned pass is unauthenticated; an aligned DKIM pass without a DMARC record is enough', async () => {
    expect((await verdict(notification('noreply@bill.example', [ar(`${ID}; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example; dmarc=none`)]), zone, [ID])).kind).toBe('fail');
    expect((await verdict(notification('noreply@bill.example', [ar(`${ID}; dkim=pass header.i=@mail.bill.example; dmarc=none header.from=bill.example`)]), zone, [ID])).kind).toBe('pass');
  });

  it('a DMARC pass for another From than the mail shows is not a pass for this one', async () => {
    const raw = notification('noreply@bill.example', [ar(`${ID}; dmarc=pass header.from=evil.example`)]);
    expect(await verdict(raw, zone, [ID])).toMatchObject({ kind: 'fail', reason: expect.stringMatching(/not bill\.example/) });
  });

  it('without a trusted header, verification decides: a forged A-R of our id on an unsigned mail with no id configured counts for nothing', async () => {
    const raw = notification('noreply@bill.example', [ar(`${ID}; dmarc=pass header.from=bill.example`)]);
    expect((await verdict(raw, zone, [])).kind).toBe('fail');
  });
});
