import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createParsePool } from '../../src/mail/parse-pool';
import { parseMail } from '../../src/mail/parse-mail';
import { fixture } from '../helpers/mail';

const pool = createParsePool();
afterAll(() => pool.close());

describe('parse pool', () => {
  it('gives the same facts as parseMail in this thread, attachments as Buffers, in the order asked', async () => {
    const files = readdirSync(join(__dirname, '..', 'fixtures', 'mail')).filter((f) => f.endsWith('.eml')).sort();
    const raws = files.map((f) => fixture(f));
    const viaPool = await Promise.all(raws.map((r) => pool.parse(r)));
    const here = await Promise.all(raws.map((r) => parseMail(r)));
    // the pool also did the mail's bounded work (mail-work.ts); the facts are the same
    expect(viaPool.map(({ work, ...facts }) => facts)).toEqual(here);
    expect(viaPool.every((f) => f.work !== undefined)).toBe(true);
    expect(viaPool.flatMap((f) => f.attachments).every((a) => Buffer.isBuffer(a.content))).toBe(true);
    expect(viaPool.flatMap((f) => f.attachments).length).toBeGreaterThan(0);
  });

  it('a mail that overruns its deadline is rejected as final, and the mails queued behind it are parsed by a new worker', async () => {
    const slow = createParsePool({ deadlineMs: 3_000 });
    try {
      const evil = [{ id: 1, slug: 'x', from: ['a@x.example'], enabled: true, profile: { name: 'evil', fields: { ticket: [{ from: 'body' as const, pattern: '^(?<value>(a|aa)+)$' }] } }, profileKey: 'evil' }];
      const hostile = Buffer.from(`From: a@x.example\r\n\r\n${'a'.repeat(60)}!\r\n`);
      const [overrun, next] = await Promise.allSettled([slow.parse(hostile, evil), slow.parse(fixture('whmcs-new.eml'), evil)]);
      expect(overrun).toMatchObject({ status: 'rejected', reason: { final: true, message: expect.stringMatching(/took longer than 3 s/) } });
      expect(next).toMatchObject({ status: 'fulfilled', value: { subject: expect.stringContaining('Ticket ID') } });
    } finally {
      await slow.close();
    }
  });

  it('a worker that is stopped fails the mails it held, and the next call starts a new one', async () => {
    const held = expect(pool.parse(fixture('whmcs-new.eml'))).rejects.toThrow(/parse worker stopped/);
    await pool.close();
    await held;
    await expect(pool.parse(fixture('whmcs-new.eml'))).resolves.toMatchObject({ subject: expect.stringContaining('Ticket ID') });
  });
});
