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
    expect(viaPool).toEqual(here);
    expect(viaPool.flatMap((f) => f.attachments).every((a) => Buffer.isBuffer(a.content))).toBe(true);
    expect(viaPool.flatMap((f) => f.attachments).length).toBeGreaterThan(0);
  });

  it('a worker that is stopped fails the mails it held, and the next call starts a new one', async () => {
    const held = expect(pool.parse(fixture('whmcs-new.eml'))).rejects.toThrow(/parse worker stopped/);
    await pool.close();
    await held;
    await expect(pool.parse(fixture('whmcs-new.eml'))).resolves.toMatchObject({ subject: expect.stringContaining('Ticket ID') });
  });
});
