// The bundles scripts/build.mjs makes of heavy npm packages (dist/vendor/,
// src/vendor.ts) must behave as the packages do: the compiled program runs
// them, every other test runs the packages. Under `npm test` the fresh test
// build (dist/ beside DESKBRIDGE_TEST_BIN's bin/) holds them; vitest alone has none.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeKey, plainMail, signMail, zoneResolver } from './helpers/dkim';

const dir = process.env.DESKBRIDGE_TEST_BIN ? join(dirname(process.env.DESKBRIDGE_TEST_BIN), '..', 'dist', 'vendor') : null;
const present = dir !== null && existsSync(join(dir, 'knex.js'));
if (!present) console.warn('!! test/vendor.test.ts: no test build (run `npm test`, which makes one): the vendor bundles are NOT checked');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = <T>(name: string) => require(join(dir!, `${name}.js`)) as T;

describe.runIf(present)('vendor bundles', () => {
  it('knex: opens SQLite through better-sqlite3 (left outside the bundle) and runs a query', async () => {
    const work = mkdtempSync(join(tmpdir(), 'deskbridge-vendor-'));
    const knex = load<typeof import('knex')>('knex').knex({ client: 'better-sqlite3', connection: { filename: join(work, 'v.sqlite') }, useNullAsDefault: true });
    try {
      await knex.schema.createTable('t', (t) => {
        t.increments('id');
        t.string('name');
      });
      await knex('t').insert([{ name: 'a' }, { name: 'b' }]);
      expect(await knex('t').count({ n: '*' }).first()).toEqual({ n: 2 });
    } finally {
      await knex.destroy();
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('handlebars: compiles strictly and escapes', () => {
    const hb = load<typeof import('handlebars')>('handlebars').create();
    expect(hb.compile('<p>{{a}}</p>', { strict: true })({ a: '<b>' })).toBe('<p>&lt;b&gt;</p>');
    expect(() => hb.compile('{{b}}', { strict: true })({})).toThrow(/"b" not defined/);
  });

  it('mailauth: verifies a real DKIM signature and DMARC alignment', async () => {
    const v = load<{ dkimVerify: typeof import('mailauth/lib/dkim/verify').dkimVerify; dmarc: typeof import('mailauth/lib/dmarc').dmarc }>('mailauth-verify');
    const key = makeKey();
    const raw = Buffer.from(await signMail(plainMail(['From: a@bill.example', 'To: b@support.example', 'Subject: hi', 'Message-ID: <v1@bill.example>']), 'bill.example', key));
    const resolver = zoneResolver({ 'sel._domainkey.bill.example': key.record, '_dmarc.bill.example': 'v=DMARC1; p=reject' });
    const checked = await v.dkimVerify(raw, { resolver });
    expect(checked.results.map((r) => r.status.result)).toEqual(['pass']);
    const tampered = Buffer.from(raw.toString('latin1').replace('Subject: hi', 'Subject: ho'), 'latin1');
    expect((await v.dkimVerify(tampered, { resolver })).results.map((r) => r.status.result)).toEqual(['fail']);
  });

  it('mail: mailparser, libmime, html-to-text and sanitize-html, each from the one bundle', async () => {
    const mail = load<{ mailparser: typeof import('mailparser'); libmime: { decodeWords(s: string): string }; htmlToText: typeof import('html-to-text'); sanitizeHtml: typeof import('sanitize-html') }>('mail');
    const parsed = await mail.mailparser.simpleParser(Buffer.from('From: a@x.example\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hi<script>x</script></p>\r\n'));
    expect(parsed.subject).toBe('café');
    expect(mail.libmime.decodeWords('=?iso-8859-1?q?caf=E9?=')).toBe('café');
    expect(mail.htmlToText.htmlToText('<p>Hi</p>')).toBe('Hi');
    expect(mail.sanitizeHtml(String(parsed.html))).toBe('<p>Hi</p>\n');
  });
});
