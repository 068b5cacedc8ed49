// DESKBRIDGE_DNS: the resolver asks the servers it is given (a DNS server on
// loopback here), a signed mail verifies through them, answers are cached,
// and a server that fails makes a temporary error, never a pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeSender } from '../../src/auth/policy';
import { createResolver } from '../../src/auth/resolver';
import { authenticatorFrom } from '../../src/auth/sender-auth';
import { startDnsServer } from '../helpers/dns-server';
import { makeKey, plainMail, signMail, type TestKey } from '../helpers/dkim';

let key: TestKey;
let good: Awaited<ReturnType<typeof startDnsServer>>;
let broken: Awaited<ReturnType<typeof startDnsServer>>;
beforeAll(async () => {
  key = makeKey();
  good = await startDnsServer({ 'sel._domainkey.bill.example': key.record, '_dmarc.bill.example': 'v=DMARC1; p=reject' });
  broken = await startDnsServer({ 'sel._domainkey.bill.example': 'SERVFAIL', '_dmarc.bill.example': 'SERVFAIL' });
});
afterAll(async () => {
  await good?.close();
  await broken?.close();
});

const mail = () => signMail(plainMail(['From: noreply@bill.example', 'To: bridge@support.example', 'Subject: x', 'Message-ID: <r1@bill.example>']), 'bill.example', key);

describe('DESKBRIDGE_DNS', () => {
  it('asks the configured server, and asks it once per name (cache)', async () => {
    const resolve = createResolver([good.address]);
    expect(await resolve('_dmarc.bill.example', 'TXT')).toEqual([['v=DMARC1; p=reject']]);
    await resolve('_dmarc.bill.example', 'TXT');
    await expect(resolve('_dmarc.nowhere.example', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(good.asked.filter((n) => n === '_dmarc.bill.example')).toHaveLength(1);
  });

  it('a signed mail verifies through it; through a failing server it is a temporary error', async () => {
    const raw = await mail();
    const ok = await authenticatorFrom({ dns: [good.address] })(raw);
    expect(ok).toMatchObject({ dkim: 'pass', dmarc: 'pass', domain: 'bill.example', source: 'verified' });
    const failing = await authenticatorFrom({ dns: [broken.address] })(raw);
    expect(judgeSender(failing).kind).toBe('temporary');
  });
});
