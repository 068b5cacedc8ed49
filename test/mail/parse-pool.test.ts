import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { createParsePool, parseAheadUse, startWorkerEarly } from '../../src/mail/parse-pool';
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

  it('a mail whose answer waits while this thread is busy past the deadline is not taken for an overrun', async () => {
    // a synchronous stretch on the main thread (a large batch written to SQLite, a slow disk) longer than the deadline,
    // while the worker answered long before it: the answer is queued, and the timer must not fire first
    const html = `<div>${'<p class="x">Lorem <b>ipsum</b> <a href="https://example.com/?a=1&amp;b=2">dolor</a> sit amet</p>\n'.repeat(2_500)}</div>`;
    const mail = Buffer.from(`From: a@x.example\r\nSubject: busy\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${html}\r\n`);
    const busy = createParsePool({ deadlineMs: 2_000 });
    try {
      await busy.parse(mail); // loaded and warm
      const answer = busy.parse(mail);
      await new Promise((resolve) => setTimeout(resolve, 20)); // the worker has said it started: the deadline runs
      await new Promise((resolve) => setImmediate(resolve)); // busy from here, the end of a turn: timers are what runs next
      const until = Date.now() + 3_000;
      while (Date.now() < until); // this thread busy for 1.5 deadlines
      await expect(answer).resolves.toMatchObject({ subject: 'busy' });
    } finally {
      await busy.close();
    }
  });

  it('a mail that cannot be handed to the worker fails alone: nothing of it is left to be timed, sent again or stand for its candidates', async () => {
    const p = createParsePool({ deadlineMs: 2_000 });
    const mask = { id: 2, slug: 'acme', from: ['support@billing.acme.example'], enabled: true, profile: { name: 'mask', fields: { ticket: [{ from: 'subject' as const, pattern: 'Ticket ID: (?<value>\\d+)' }] } }, profileKey: 'mask' };
    const unsendable = [{ ...mask, profileKey: () => 'mask' }] as unknown as (typeof mask)[]; // a function: no structured clone
    try {
      const before = p.parse(fixture('whmcs-new.eml'), [mask]);
      await expect(p.parse(fixture('whmcs-new.eml'), unsendable)).rejects.toThrow(/could not be cloned/);
      await expect(p.parse(fixture('whmcs-new.eml'), unsendable)).rejects.toThrow(/could not be cloned/); // not taken as sent already
      const hostile = Buffer.from(`From: a@x.example\r\n\r\n${'a'.repeat(60)}!\r\n`);
      const evil = [{ id: 1, slug: 'x', from: ['a@x.example'], enabled: true, profile: { name: 'evil', fields: { ticket: [{ from: 'body' as const, pattern: '^(?<value>(a|aa)+)$' }] } }, profileKey: 'evil' }];
      const overrun = p.parse(hostile, evil).catch((err: Error) => ({ err, at: Date.now() }));
      const after = p.parse(fixture('whmcs-new.eml'), [mask]);
      const posted = Date.now();
      await expect(before).resolves.toMatchObject({ work: { extraction: { systemId: 2 } } });
      const { err, at } = (await overrun) as { err: Error & { final?: boolean }; at: number };
      expect(err).toMatchObject({ final: true, message: expect.stringMatching(/took longer than 2 s/) });
      // its own deadline: the refused mails before it held no timer that ran first and stopped the worker under it
      expect(at - posted).toBeLessThan(3_500);
      await expect(after).resolves.toMatchObject({ work: { extraction: { systemId: 2, fields: { ticket: { value: '482913' } } } } });
    } finally {
      await p.close();
    }
  });

  describe('a mail parsed ahead (a single piped mail, parsed while the program still loads)', () => {
    const mask = { id: 2, slug: 'acme', from: ['support@billing.acme.example'], enabled: true, profile: { name: 'mask', fields: { ticket: [{ from: 'subject' as const, pattern: 'Ticket ID: (?<value>\\d+)' }] } }, profileKey: 'mask' };
    const hostile = () => Buffer.from(`From: a@x.example\r\n\r\n${'a'.repeat(60)}!\r\n`);
    const evil = [{ id: 1, slug: 'x', from: ['a@x.example'], enabled: true, profile: { name: 'evil', fields: { ticket: [{ from: 'body' as const, pattern: '^(?<value>(a|aa)+)$' }] } }, profileKey: 'evil' }];

    it('gets the same facts as any mail, its profile applied with the candidates given when it is asked for', async () => {
      const p = createParsePool();
      try {
        const raw = fixture('whmcs-new.eml');
        const before = parseAheadUse.reused;
        p.parseAhead(raw);
        p.parseAhead(raw); // twice: parsed once ahead, and asked for once
        const facts = await p.parse(raw, [mask]);
        expect(parseAheadUse.reused - before).toBe(1); // the worker's kept facts, not a second parse
        const { work, ...rest } = facts;
        expect(rest).toEqual(await parseMail(fixture('whmcs-new.eml')));
        expect(work).toMatchObject({ extraction: { systemId: 2, fields: { ticket: { value: '482913' } } } });
        // asked for again (a retry of the same bytes): parsed as any mail, the same facts
        expect(await p.parse(raw, [mask])).toEqual(facts);
        expect(parseAheadUse.reused - before).toBe(1);
      } finally {
        await p.close();
      }
    });

    it("its profile's work is held to the deadline: a pattern that backtracks without end is an overrun, and the mail after it is read", async () => {
      const p = createParsePool({ deadlineMs: 2_000 });
      try {
        const raw = hostile();
        p.parseAhead(raw); // parsing alone is quick: the overrun comes with its profile
        await expect(p.parse(raw, evil)).rejects.toMatchObject({ final: true, message: expect.stringMatching(/took longer than 2 s/) });
        await expect(p.parse(fixture('whmcs-new.eml'), [mask])).resolves.toMatchObject({ work: { extraction: { systemId: 2 } } });
      } finally {
        await p.close();
      }
    });

    it('is parsed again when the worker that kept its facts was replaced (another mail overran), or kept too many', async () => {
      const p = createParsePool({ deadlineMs: 2_000 });
      try {
        const raw = fixture('whmcs-new.eml');
        const before = parseAheadUse.reused;
        p.parseAhead(raw);
        await expect(p.parse(hostile(), evil)).rejects.toMatchObject({ final: true }); // the worker holding its facts is terminated
        await expect(p.parse(raw, [mask])).resolves.toMatchObject({ subject: expect.stringContaining('Ticket ID'), work: { extraction: { systemId: 2, fields: { ticket: { value: '482913' } } } } });
        // more mails parsed ahead than the worker keeps: the first is no longer kept, and is parsed again when asked for
        const raws = Array.from({ length: 12 }, () => fixture('whmcs-new.eml'));
        for (const r of raws) p.parseAhead(r);
        const all = await Promise.all(raws.map((r) => p.parse(r, [mask])));
        expect(all.map((f) => f.work?.extraction?.fields.ticket?.value)).toEqual(raws.map(() => '482913'));
        expect(parseAheadUse.reused - before).toBe(8); // the last eight, as the worker kept them; the others parsed again
      } finally {
        await p.close();
      }
    });

    it('a pool closed while the mail is parsed ahead, or while its parse() waits for that, stops it as it stops a queued mail', async () => {
      const p = createParsePool();
      try {
        const raw = fixture('whmcs-new.eml');
        p.parseAhead(raw);
        const waiting = expect(p.parse(raw, [mask])).rejects.toMatchObject({ code: 'ESTOPPED' });
        await p.close();
        await waiting;
        // parsed ahead, then the pool closed before parse() was called: its parse ahead was stopped, and so is the mail
        const raw2 = fixture('whmcs-new.eml');
        p.parseAhead(raw2);
        await p.close();
        await expect(p.parse(raw2, [mask])).rejects.toMatchObject({ code: 'ESTOPPED' });
        // the next mail starts a new worker, as after any close
        await expect(p.parse(fixture('whmcs-new.eml'), [mask])).resolves.toMatchObject({ work: { extraction: { systemId: 2 } } });
      } finally {
        await p.close();
      }
    });
  });

  it('a worker that is stopped fails the mails it held, and the next call starts a new one', async () => {
    const held = expect(pool.parse(fixture('whmcs-new.eml'))).rejects.toThrow(/parse worker stopped/);
    await pool.close();
    await held;
    await expect(pool.parse(fixture('whmcs-new.eml'))).resolves.toMatchObject({ subject: expect.stringContaining('Ticket ID') });
  });
  it('a worker started before the program loaded (bin/deskbridge.js) is the one the next pool parses with; one that has stopped is passed over', async () => {
    const file = join(__dirname, '..', '..', 'src', 'mail', 'parse-worker.js');
    const given = new Worker(file, { workerData: { single: true } });
    startWorkerEarly(given);
    const adopting = createParsePool();
    expect((await adopting.parse(fixture('whmcs-new.eml'))).subject).toContain('Ticket ID');
    await adopting.close();
    expect(given.threadId).toBe(-1); // the pool's close() stopped it: it was the pool's worker
    const dead = new Worker('process.exit(3)', { eval: true });
    await new Promise((resolve) => dead.once('exit', resolve));
    startWorkerEarly(dead);
    const fresh = createParsePool();
    try {
      expect((await fresh.parse(fixture('whmcs-new.eml'))).subject).toContain('Ticket ID');
    } finally {
      await fresh.close();
    }
  });
});
