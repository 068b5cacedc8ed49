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

  it('a mail that overruns its deadline is rejected as final, and the mails queued behind it are parsed by a new worker, against their candidates', async () => {
    const slow = createParsePool({ deadlineMs: 3_000 });
    try {
      const candidates = [
        { id: 1, slug: 'x', from: ['a@x.example'], enabled: true, profile: { name: 'evil', fields: { ticket: [{ from: 'body' as const, pattern: '^(?<value>(a|aa)+)$' }] } }, profileKey: 'evil' },
        { id: 2, slug: 'acme', from: ['support@billing.acme.example'], enabled: true, profile: { name: 'mask', fields: { ticket: [{ from: 'subject' as const, pattern: 'Ticket ID: (?<value>\\d+)' }] } }, profileKey: 'mask' },
      ];
      const hostile = Buffer.from(`From: a@x.example\r\n\r\n${'a'.repeat(60)}!\r\n`);
      // the same candidates for both: the pool sends them with the first mail only, and again to the worker that replaces it
      const [overrun, next] = await Promise.allSettled([slow.parse(hostile, candidates), slow.parse(fixture('whmcs-new.eml'), candidates)]);
      expect(overrun).toMatchObject({ status: 'rejected', reason: { final: true, message: expect.stringMatching(/took longer than 3 s/) } });
      expect(next).toMatchObject({ status: 'fulfilled', value: { subject: expect.stringContaining('Ticket ID'), work: { extraction: { systemId: 2, fields: { ticket: { value: '482913' } } } } } });
      // the same behind another mail in one batch: the worker takes it up after that one, and its deadline still runs
      const [before, overrun2, after] = await Promise.allSettled([slow.parse(fixture('whmcs-new.eml'), candidates), slow.parse(hostile, candidates), slow.parse(fixture('whmcs-new.eml'), candidates)]);
      expect([before.status, overrun2.status, after.status]).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(overrun2).toMatchObject({ reason: { final: true, message: expect.stringMatching(/took longer than 3 s/) } });
    } finally {
      await slow.close();
    }
  });

  it("each mail's deadline runs from when the worker starts on it: a batch that takes longer than the deadline overruns none", async () => {
    // mails that each take tens of milliseconds (HTML to sanitise and turn to text); the deadline and the batch are
    // sized from this machine's speed: the deadline far above one mail, the batch ~2.5 deadlines long
    const html = `<div>${'<p class="x" style="color:red">Lorem <b>ipsum</b> <a href="https://example.com/?a=1&amp;b=2">dolor</a> sit amet</p>\n'.repeat(2_500)}</div>`;
    const mail = (i: number) => Buffer.from(`From: a@x.example\r\nMessage-ID: <big-${i}@x.example>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}\r\n`);
    const timing = createParsePool();
    let perMail: number;
    try {
      await timing.parse(mail(-1)); // the worker loaded and warm
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        await timing.parse(mail(-2 - i));
        times.push(Date.now() - t0);
      }
      perMail = Math.max(1, times.sort((a, b) => a - b)[2]!);
    } finally {
      await timing.close();
    }
    const deadlineMs = Math.max(1_000, 10 * perMail);
    const count = Math.min(400, Math.ceil((2.5 * deadlineMs) / perMail));
    const pool2 = createParsePool({ deadlineMs });
    try {
      await pool2.parse(mail(-1));
      const started = Date.now();
      const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => pool2.parse(mail(i))));
      const took = Date.now() - started;
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(took, `${count} mails at ~${perMail} ms, deadline ${deadlineMs} ms`).toBeGreaterThan(deadlineMs); // else the batch proves nothing
    } finally {
      await pool2.close();
    }
  });

  it('a worker that is stopped fails the mails it held, and the next call starts a new one', async () => {
    const held = expect(pool.parse(fixture('whmcs-new.eml'))).rejects.toThrow(/parse worker stopped/);
    await pool.close();
    await held;
    await expect(pool.parse(fixture('whmcs-new.eml'))).resolves.toMatchObject({ subject: expect.stringContaining('Ticket ID') });
  });
});
